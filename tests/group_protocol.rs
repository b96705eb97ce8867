//! The group APIs over raw frames: every advertised version answers, and the
//! error codes Kafka returns come back exactly where Kafka returns them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::raw::Raw;
use common::*;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_delete_request::{
    OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

const NONE: i16 = 0;
const ILLEGAL_GENERATION: i16 = 22;
const UNKNOWN_MEMBER_ID: i16 = 25;
const REBALANCE_IN_PROGRESS: i16 = 27;
const NON_EMPTY_GROUP: i16 = 68;
const GROUP_ID_NOT_FOUND: i16 = 69;
const MEMBER_ID_REQUIRED: i16 = 79;
const FENCED_INSTANCE_ID: i16 = 82;
const GROUP_SUBSCRIBED_TO_TOPIC: i16 = 86;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}
fn gid(v: &str) -> GroupId {
    GroupId(s(v))
}
fn tn(v: &str) -> TopicName {
    TopicName(s(v))
}

async fn broker() -> TestBroker {
    TestBroker::start_with(|c| c.group_initial_rebalance_delay_ms = Some(0)).await
}

fn join_req(
    v: i16,
    group: &str,
    member: &str,
    instance: Option<&str>,
    topic: &str,
) -> JoinGroupRequest {
    let protocol = JoinGroupRequestProtocol::default()
        .with_name(s("range"))
        .with_metadata(subscription(&[topic]));
    let req = JoinGroupRequest::default()
        .with_group_id(gid(group))
        .with_session_timeout_ms(10_000)
        .with_member_id(s(member))
        .with_protocol_type(s("consumer"))
        .with_protocols(vec![protocol]);
    let req = if v >= 1 {
        req.with_rebalance_timeout_ms(10_000)
    } else {
        req
    };
    if v >= 5 {
        req.with_group_instance_id(instance.map(s))
    } else {
        req
    }
}

/// Joins `group` as a new dynamic member at JoinGroup `v`; returns the
/// answer (after MEMBER_ID_REQUIRED from v4).
fn join_new(raw: &mut Raw, v: i16, group: &str, topic: &str) -> JoinGroupResponse {
    let first = raw.call(v, &join_req(v, group, "", None, topic));
    if v < 4 {
        return first;
    }
    assert_eq!(first.error_code, MEMBER_ID_REQUIRED, "JoinGroup v{v}");
    assert!(!first.member_id.is_empty());
    raw.call(v, &join_req(v, group, &first.member_id, None, topic))
}

fn sync_req(
    v: i16,
    group: &str,
    generation: i32,
    member: &str,
    assignments: &[(&str, &[u8])],
) -> SyncGroupRequest {
    let req = SyncGroupRequest::default()
        .with_group_id(gid(group))
        .with_generation_id(generation)
        .with_member_id(s(member))
        .with_assignments(
            assignments
                .iter()
                .map(|(m, a)| {
                    SyncGroupRequestAssignment::default()
                        .with_member_id(s(m))
                        .with_assignment(Bytes::copy_from_slice(a))
                })
                .collect(),
        );
    if v >= 5 {
        req.with_protocol_type(Some(s("consumer")))
            .with_protocol_name(Some(s("range")))
    } else {
        req
    }
}

fn heartbeat(
    raw: &mut Raw,
    v: i16,
    group: &str,
    member: &str,
    generation: i32,
    instance: Option<&str>,
) -> i16 {
    let req = HeartbeatRequest::default()
        .with_group_id(gid(group))
        .with_generation_id(generation)
        .with_member_id(s(member));
    let req = if v >= 3 {
        req.with_group_instance_id(instance.map(s))
    } else {
        req
    };
    raw.call(v, &req).error_code
}

fn commit_req(
    group: &str,
    topic: &str,
    partition: i32,
    offset: i64,
    generation: i32,
    member: &str,
) -> OffsetCommitRequest {
    OffsetCommitRequest::default()
        .with_group_id(gid(group))
        .with_generation_id_or_member_epoch(generation)
        .with_member_id(s(member))
        .with_topics(vec![OffsetCommitRequestTopic::default()
            .with_name(tn(topic))
            .with_partitions(vec![OffsetCommitRequestPartition::default()
                .with_partition_index(partition)
                .with_committed_offset(offset)
                .with_committed_metadata(Some(s("meta")))])])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_advertised_group_version_answers() {
    let broker = broker().await;
    let topic = unique_topic("gv");
    create_topic(&broker.bootstrap(), &topic, 2, &[]).await;
    let addr = broker.bootstrap();
    let port = broker.broker.as_ref().unwrap().local_addr().port() as i32;
    tokio::task::spawn_blocking(move || {
        let mut raw = Raw::connect(&addr);
        for v in 0..=6 {
            let req = if v >= 4 {
                FindCoordinatorRequest::default().with_coordinator_keys(vec![s("a"), s("b")])
            } else {
                FindCoordinatorRequest::default().with_key(s("a"))
            };
            let resp = raw.call(v, &req);
            if v >= 4 {
                assert_eq!(
                    resp.coordinators.len(),
                    2,
                    "FindCoordinator v{v}: one per key"
                );
                assert!(resp
                    .coordinators
                    .iter()
                    .all(|c| c.error_code == NONE && c.port == port));
            } else {
                assert_eq!(
                    (resp.error_code, resp.port),
                    (NONE, port),
                    "FindCoordinator v{v}"
                );
            }
        }
        // A full membership cycle at every JoinGroup version, with the
        // matching versions of the other member APIs.
        for v in 0..=9 {
            let group = format!("cycle-v{v}");
            let joined = join_new(&mut raw, v, &group, &topic);
            assert_eq!(joined.error_code, NONE, "JoinGroup v{v}");
            assert_eq!(
                (joined.generation_id, &joined.leader),
                (1, &joined.member_id),
                "JoinGroup v{v}"
            );
            assert_eq!(joined.members.len(), 1);
            assert_eq!(joined.protocol_name.as_deref(), Some("range"));
            let me = joined.member_id.to_string();
            let sv = v.min(5);
            let synced = raw.call(sv, &sync_req(sv, &group, 1, &me, &[(&me, b"assigned")]));
            assert_eq!(
                (synced.error_code, &synced.assignment[..]),
                (NONE, &b"assigned"[..]),
                "SyncGroup v{sv}"
            );
            let hv = v.min(4);
            assert_eq!(
                heartbeat(&mut raw, hv, &group, &me, 1, None),
                NONE,
                "Heartbeat v{hv}"
            );
            let lv = v.min(5);
            let leave = if lv >= 3 {
                LeaveGroupRequest::default()
                    .with_group_id(gid(&group))
                    .with_members(vec![MemberIdentity::default().with_member_id(s(&me))])
            } else {
                LeaveGroupRequest::default()
                    .with_group_id(gid(&group))
                    .with_member_id(s(&me))
            };
            let left = raw.call(lv, &leave);
            assert_eq!(left.error_code, NONE, "LeaveGroup v{lv}");
            if lv >= 3 {
                assert_eq!(left.members[0].error_code, NONE);
            }
        }
        for v in 2..=9 {
            let resp = raw.call(
                v,
                &commit_req("offsets", &topic, 0, 100 + i64::from(v), -1, ""),
            );
            assert_eq!(
                resp.topics[0].partitions[0].error_code, NONE,
                "OffsetCommit v{v}"
            );
        }
        for v in 1..=9 {
            let (offset, metadata) = if v >= 8 {
                let req = OffsetFetchRequest::default().with_groups(vec![
                    OffsetFetchRequestGroup::default()
                        .with_group_id(gid("offsets"))
                        .with_topics(Some(vec![OffsetFetchRequestTopics::default()
                            .with_name(tn(&topic))
                            .with_partition_indexes(vec![0])])),
                ]);
                let resp = raw.call(v, &req);
                let p = &resp.groups[0].topics[0].partitions[0];
                (p.committed_offset, p.metadata.clone())
            } else {
                let req = OffsetFetchRequest::default()
                    .with_group_id(gid("offsets"))
                    .with_topics(Some(vec![OffsetFetchRequestTopic::default()
                        .with_name(tn(&topic))
                        .with_partition_indexes(vec![0])]));
                let resp = raw.call(v, &req);
                let p = &resp.topics[0].partitions[0];
                (p.committed_offset, p.metadata.clone())
            };
            assert_eq!(
                (offset, metadata.as_deref()),
                (109, Some("meta")),
                "OffsetFetch v{v}"
            );
        }
        for v in 0..=5 {
            let resp = raw.call(v, &ListGroupsRequest::default());
            let found = resp
                .groups
                .iter()
                .find(|g| g.group_id.as_str() == "offsets");
            assert!(found.is_some(), "ListGroups v{v}");
            if v >= 4 {
                assert_eq!(found.unwrap().group_state.as_str(), "Empty");
            }
        }
        for v in 0..=6 {
            let resp = raw.call(
                v,
                &DescribeGroupsRequest::default().with_groups(vec![gid("cycle-v9")]),
            );
            assert_eq!(
                (
                    resp.groups[0].error_code,
                    resp.groups[0].group_state.as_str()
                ),
                (NONE, "Empty"),
                "DescribeGroups v{v}"
            );
        }
        let resp = raw.call(
            0,
            &OffsetDeleteRequest::default()
                .with_group_id(gid("offsets"))
                .with_topics(vec![OffsetDeleteRequestTopic::default()
                    .with_name(tn(&topic))
                    .with_partitions(vec![
                        OffsetDeleteRequestPartition::default().with_partition_index(0)
                    ])]),
        );
        assert_eq!(
            (resp.error_code, resp.topics[0].partitions[0].error_code),
            (NONE, NONE),
            "OffsetDelete v0"
        );
        for v in 0..=2 {
            let group = format!("cycle-v{}", v + 7);
            let resp = raw.call(
                v,
                &DeleteGroupsRequest::default().with_groups_names(vec![gid(&group)]),
            );
            assert_eq!(resp.results[0].error_code, NONE, "DeleteGroups v{v}");
        }
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_codes_where_kafka_returns_them() {
    let broker = broker().await;
    let topic = unique_topic("errors");
    create_topic(&broker.bootstrap(), &topic, 2, &[]).await;
    let addr = broker.bootstrap();
    tokio::task::spawn_blocking(move || {
        let mut a = Raw::connect(&addr);
        let g = "errors";
        // This node coordinates transactions too.
        let resp = a.call(
            4,
            &FindCoordinatorRequest::default()
                .with_key_type(1)
                .with_coordinator_keys(vec![s("txn")]),
        );
        assert_eq!(resp.coordinators[0].error_code, 0);
        assert_eq!(resp.coordinators[0].node_id.0, 0);

        assert_eq!(
            heartbeat(&mut a, 4, g, "nobody", 0, None),
            UNKNOWN_MEMBER_ID,
            "no such group"
        );
        let joined = join_new(&mut a, 5, g, &topic);
        let (ma, gen) = (joined.member_id.to_string(), joined.generation_id);
        let synced = a.call(3, &sync_req(3, g, gen, &ma, &[(&ma, b"x")]));
        assert_eq!(synced.error_code, NONE);
        assert_eq!(
            heartbeat(&mut a, 4, g, &ma, gen + 5, None),
            ILLEGAL_GENERATION
        );
        assert_eq!(
            heartbeat(&mut a, 4, g, "stranger", gen, None),
            UNKNOWN_MEMBER_ID
        );
        let resp = a.call(8, &commit_req(g, &topic, 0, 1, gen + 1, &ma));
        assert_eq!(resp.topics[0].partitions[0].error_code, ILLEGAL_GENERATION);
        let resp = a.call(8, &commit_req(g, &topic, 0, 1, -1, ""));
        assert_eq!(
            resp.topics[0].partitions[0].error_code, UNKNOWN_MEMBER_ID,
            "simple commits only into empty groups"
        );
        let resp = a.call(9, &commit_req("no-such-group", &topic, 0, 1, 3, "m"));
        assert_eq!(
            resp.topics[0].partitions[0].error_code, GROUP_ID_NOT_FOUND,
            "v9"
        );
        let resp = a.call(8, &commit_req(g, "no-such-topic", 0, 1, gen, &ma));
        assert_eq!(
            resp.topics[0].partitions[0].error_code, 3,
            "UNKNOWN_TOPIC_OR_PARTITION"
        );
        let resp = a.call(
            2,
            &DeleteGroupsRequest::default().with_groups_names(vec![gid(g), gid("ghost")]),
        );
        assert_eq!(resp.results[0].error_code, NON_EMPTY_GROUP);
        assert_eq!(resp.results[1].error_code, GROUP_ID_NOT_FOUND);
        let del = OffsetDeleteRequest::default()
            .with_group_id(gid(g))
            .with_topics(vec![OffsetDeleteRequestTopic::default()
                .with_name(tn(&topic))
                .with_partitions(vec![OffsetDeleteRequestPartition::default()])]);
        assert_eq!(
            a.call(0, &del).topics[0].partitions[0].error_code,
            GROUP_SUBSCRIBED_TO_TOPIC
        );

        // A second member joins from another connection: the first one's
        // heartbeat says REBALANCE_IN_PROGRESS, its commit still works.
        let addr2 = addr.clone();
        let topic2 = topic.clone();
        let second = std::thread::spawn(move || {
            let mut b = Raw::connect(&addr2);
            join_new(&mut b, 5, "errors", &topic2)
        });
        let mut saw_rebalance = false;
        for _ in 0..100 {
            if heartbeat(&mut a, 4, g, &ma, gen, None) == REBALANCE_IN_PROGRESS {
                saw_rebalance = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert!(saw_rebalance);
        let resp = a.call(8, &commit_req(g, &topic, 1, 5, gen, &ma));
        assert_eq!(
            resp.topics[0].partitions[0].error_code, NONE,
            "commits of the current generation during a rebalance"
        );
        let resp = a.call(3, &sync_req(3, g, gen, &ma, &[]));
        assert_eq!(resp.error_code, REBALANCE_IN_PROGRESS);
        let rejoined = a.call(5, &join_req(5, g, &ma, None, &topic));
        let b = second.join().unwrap();
        assert_eq!((rejoined.error_code, b.error_code), (NONE, NONE));
        assert_eq!(rejoined.generation_id, gen + 1);

        // DescribeGroups of an unknown group: Dead before v6, GROUP_ID_NOT_FOUND from v6.
        let d5 = a.call(
            5,
            &DescribeGroupsRequest::default().with_groups(vec![gid("ghost")]),
        );
        assert_eq!(
            (d5.groups[0].error_code, d5.groups[0].group_state.as_str()),
            (NONE, "Dead")
        );
        let d6 = a.call(
            6,
            &DescribeGroupsRequest::default().with_groups(vec![gid("ghost")]),
        );
        assert_eq!(d6.groups[0].error_code, GROUP_ID_NOT_FOUND);
        let listed = a.call(
            4,
            &ListGroupsRequest::default().with_states_filter(vec![s("completingrebalance")]),
        );
        assert_eq!(listed.groups.len(), 1, "state filter");
        let listed = a.call(
            4,
            &ListGroupsRequest::default().with_states_filter(vec![s("Stable")]),
        );
        assert!(listed.groups.is_empty());
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_members_fencing_and_batch_leave() {
    let broker = broker().await;
    let topic = unique_topic("fence");
    create_topic(&broker.bootstrap(), &topic, 2, &[]).await;
    let addr = broker.bootstrap();
    tokio::task::spawn_blocking(move || {
        let mut a = Raw::connect(&addr);
        let g = "fence";
        // Static members skip MEMBER_ID_REQUIRED.
        let first = a.call(5, &join_req(5, g, "", Some("instance-1"), &topic));
        assert_eq!(first.error_code, NONE);
        let (old, gen) = (first.member_id.to_string(), first.generation_id);
        let synced = a.call(3, &sync_req(3, g, gen, &old, &[(&old, b"mine")]));
        assert_eq!(synced.error_code, NONE);
        // The same instance id again (a restart): same generation, old assignment.
        let again = a.call(5, &join_req(5, g, "", Some("instance-1"), &topic));
        assert_eq!((again.error_code, again.generation_id), (NONE, gen));
        let new = again.member_id.to_string();
        assert_ne!(new, old);
        let req = sync_req(3, g, gen, &new, &[]).with_group_instance_id(Some(s("instance-1")));
        assert_eq!(&a.call(3, &req).assignment[..], b"mine");
        // The old one is fenced everywhere.
        assert_eq!(
            heartbeat(&mut a, 3, g, &old, gen, Some("instance-1")),
            FENCED_INSTANCE_ID
        );
        let req = sync_req(3, g, gen, &old, &[]).with_group_instance_id(Some(s("instance-1")));
        assert_eq!(a.call(3, &req).error_code, FENCED_INSTANCE_ID);
        let commit =
            commit_req(g, &topic, 0, 1, gen, &old).with_group_instance_id(Some(s("instance-1")));
        assert_eq!(
            a.call(7, &commit).topics[0].partitions[0].error_code,
            FENCED_INSTANCE_ID
        );
        // An admin removes static members by instance id, several at once.
        let leave = LeaveGroupRequest::default()
            .with_group_id(gid(g))
            .with_members(vec![
                MemberIdentity::default().with_group_instance_id(Some(s("instance-1"))),
                MemberIdentity::default().with_group_instance_id(Some(s("instance-9"))),
            ]);
        let left = a.call(4, &leave);
        assert_eq!(left.error_code, NONE);
        let codes: Vec<i16> = left.members.iter().map(|m| m.error_code).collect();
        assert_eq!(codes, vec![NONE, UNKNOWN_MEMBER_ID]);
        let d = a.call(
            5,
            &DescribeGroupsRequest::default().with_groups(vec![gid(g)]),
        );
        assert_eq!(d.groups[0].group_state.as_str(), "Empty");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_topic_is_internal_and_holds_kafka_records() {
    let broker = broker().await;
    let topic = unique_topic("internal");
    create_topic(&broker.bootstrap(), &topic, 1, &[]).await;
    let addr = broker.bootstrap();
    tokio::task::spawn_blocking(move || {
        let mut raw = Raw::connect(&addr);
        let md = raw.call(12, &MetadataRequest::default().with_topics(None));
        let internal = md
            .topics
            .iter()
            .find(|t| t.name.as_ref().map(|n| n.as_str()) == Some("__consumer_offsets"))
            .expect("listed");
        assert!(internal.is_internal);
        let resp = raw.call(8, &commit_req("tools", &topic, 0, 77, -1, ""));
        assert_eq!(resp.topics[0].partitions[0].error_code, NONE);
        // Several groups in one OffsetFetch, all topics (null) for each.
        let req = OffsetFetchRequest::default().with_groups(vec![
            OffsetFetchRequestGroup::default()
                .with_group_id(gid("tools"))
                .with_topics(None),
            OffsetFetchRequestGroup::default()
                .with_group_id(gid("unknown"))
                .with_topics(None),
        ]);
        let resp = raw.call(8, &req);
        assert_eq!(resp.groups[0].topics[0].partitions[0].committed_offset, 77);
        assert!(resp.groups[1].topics.is_empty());
        // What a Kafka tool reading __consumer_offsets would find.
        let fetch = FetchRequest::default()
            .with_max_wait_ms(0)
            .with_max_bytes(1 << 20)
            .with_topics(vec![
                kafka_protocol::messages::fetch_request::FetchTopic::default()
                    .with_topic(tn("__consumer_offsets"))
                    .with_partitions(vec![
                        kafka_protocol::messages::fetch_request::FetchPartition::default()
                            .with_partition(0)
                            .with_partition_max_bytes(1 << 20),
                    ]),
            ]);
        let resp = raw.call(12, &fetch);
        let bytes = resp.responses[0].partitions[0].records.clone().unwrap();
        let batches = sluice_protocol::records::split_batches(&bytes).unwrap();
        let mut found = false;
        for b in &batches {
            for r in sluice_protocol::records::records(b.bytes).unwrap() {
                let r = r.unwrap();
                if let (Some((group, _topic, _partition)), Some(offset)) = (
                    offset_commit_key(r.key.unwrap()),
                    r.value.and_then(offset_commit_value),
                ) {
                    found |= group == "tools" && offset == 77;
                    assert_eq!(&r.key.unwrap()[..2], &[0, 1], "OffsetCommitKey v1");
                    assert_eq!(&r.value.unwrap()[..2], &[0, 3], "OffsetCommitValue v3");
                }
            }
        }
        assert!(found, "the commit is a record of __consumer_offsets");
        // Clients cannot delete it.
        let del = raw.call(
            6,
            &DeleteTopicsRequest::default().with_topics(vec![
                kafka_protocol::messages::delete_topics_request::DeleteTopicState::default()
                    .with_name(Some(tn("__consumer_offsets"))),
            ]),
        );
        assert_ne!(del.responses[0].error_code, NONE);
    })
    .await
    .unwrap();
}

/// Regression: a static member's session ended, but the coordinator only
/// noticed at its next 100 ms sweep, so DeleteGroups right after the
/// deadline got NON_EMPTY_GROUP (librdkafka's 0081 DescribeConsumerGroups).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_right_after_a_session_deadline_sees_the_member_gone() {
    let broker = TestBroker::start_with(|c| {
        c.group_initial_rebalance_delay_ms = Some(0);
        c.group_min_session_timeout_ms = 100;
    })
    .await;
    let topic = unique_topic("deadline");
    create_topic(&broker.bootstrap(), &topic, 1, &[]).await;
    let addr = broker.bootstrap();
    tokio::task::spawn_blocking(move || {
        let mut a = Raw::connect(&addr);
        for round in 0..5 {
            let g = format!("deadline-{round}");
            let join = join_req(5, &g, "", Some("static-1"), &topic).with_session_timeout_ms(1_000);
            let first = a.call(5, &join);
            assert_eq!(first.error_code, NONE);
            let member = first.member_id.to_string();
            let synced = a.call(
                3,
                &sync_req(3, &g, first.generation_id, &member, &[(&member, b"a")]),
            );
            assert_eq!(synced.error_code, NONE);
            // The session ends 1 s after the last contact; ask just after.
            std::thread::sleep(Duration::from_millis(1_010));
            let deleted = a.call(
                2,
                &DeleteGroupsRequest::default().with_groups_names(vec![gid(&g)]),
            );
            assert_eq!(deleted.results[0].error_code, NONE, "round {round}");
        }
    })
    .await
    .unwrap();
}

/// A v0 ConsumerProtocolSubscription to `topics`, as a Java consumer sends.
fn subscription(topics: &[&str]) -> Bytes {
    use kafka_protocol::protocol::Encodable;
    let subscription =
        ConsumerProtocolSubscription::default().with_topics(topics.iter().map(|t| s(t)).collect());
    let mut out = bytes::BytesMut::new();
    out.extend_from_slice(&0i16.to_be_bytes());
    subscription.encode(&mut out, 0).unwrap();
    out.freeze()
}

/// A `__consumer_offsets` key as Kafka's tools read it: an offset commit
/// (key versions 0 and 1: group, topic, partition), or `None` for another
/// record (group metadata is version 2).
fn offset_commit_key(key: &[u8]) -> Option<(String, String, i32)> {
    let version = i16::from_be_bytes(key.get(..2)?.try_into().ok()?);
    if version > 1 {
        return None;
    }
    let mut rest = &key[2..];
    let mut string = || {
        let len = usize::try_from(i16::from_be_bytes(rest.get(..2)?.try_into().ok()?)).ok()?;
        let text = String::from_utf8(rest.get(2..2 + len)?.to_vec()).ok()?;
        rest = &rest[2 + len..];
        Some(text)
    };
    let group = string()?;
    let topic = string()?;
    let partition = i32::from_be_bytes(rest.get(..4)?.try_into().ok()?);
    Some((group, topic, partition))
}

/// The committed offset of an OffsetCommitValue (every version starts
/// with it after the version).
fn offset_commit_value(value: &[u8]) -> Option<i64> {
    Some(i64::from_be_bytes(value.get(2..10)?.try_into().ok()?))
}
