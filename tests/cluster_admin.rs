//! The cluster admin APIs over real TCP (rdkafka's Admin API has none of
//! them, so they are sent raw with kafka-protocol, as a Kafka admin client
//! would): DescribeCluster, DescribeLogDirs, OffsetForLeaderEpoch,
//! DescribeTopicPartitions (paging), ElectLeaders, partition reassignments
//! and UpdateFeatures, with Kafka's answers and error codes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::raw::Raw;
use common::*;
use kafka_protocol::messages::alter_partition_reassignments_request::{
    ReassignablePartition, ReassignableTopic,
};
use kafka_protocol::messages::describe_log_dirs_request::DescribableLogDirTopic;
use kafka_protocol::messages::describe_topic_partitions_request::{Cursor, TopicRequest};
use kafka_protocol::messages::elect_leaders_request::TopicPartitions;
use kafka_protocol::messages::list_partition_reassignments_request::ListPartitionReassignmentsTopics;
use kafka_protocol::messages::offset_for_leader_epoch_request::{
    OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use kafka_protocol::messages::update_features_request::FeatureUpdateKey;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError as K;
use rdkafka::producer::FutureRecord;

fn tn(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

fn s(text: &str) -> StrBytes {
    StrBytes::from_string(text.to_string())
}

/// Runs `f` with a raw connection on the blocking pool.
async fn with_raw<T: Send + 'static>(
    addr: String,
    f: impl FnOnce(&mut Raw) -> T + Send + 'static,
) -> T {
    tokio::task::spawn_blocking(move || {
        let mut raw = Raw::connect(&addr);
        raw.stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        f(&mut raw)
    })
    .await
    .unwrap()
}

async fn produce(bootstrap: &str, topic: &str, partition: i32, count: usize) {
    let producer = producer(bootstrap, &[]);
    let value = [b'x'; 200];
    for _ in 0..count {
        producer
            .send(
                FutureRecord::<(), [u8]>::to(topic)
                    .partition(partition)
                    .payload(&value[..]),
                Duration::from_secs(30),
            )
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_cluster_names_this_broker_as_kafka_does() {
    let broker = TestBroker::start().await;
    let addr = broker.bootstrap();
    with_raw(addr.clone(), move |raw| {
        let metadata = raw.call(12, &MetadataRequest::default());
        let node_id = metadata.controller_id;
        for v in 0..=2 {
            let resp = raw.call(v, &DescribeClusterRequest::default());
            assert_eq!(resp.error_code, 0, "v{v}");
            assert_eq!(Some(&resp.cluster_id), metadata.cluster_id.as_ref(), "v{v}");
            assert_eq!(resp.controller_id, node_id, "v{v}");
            assert_eq!(resp.brokers.len(), 1);
            let b = &resp.brokers[0];
            assert_eq!(b.broker_id, node_id);
            assert_eq!(format!("{}:{}", b.host, b.port), addr);
            assert!(!b.is_fenced);
            assert_eq!(resp.cluster_authorized_operations, i32::MIN, "not asked");
            assert_eq!(resp.endpoint_type, 1, "a broker endpoint");

            let asked = raw.call(
                v,
                &DescribeClusterRequest::default().with_include_cluster_authorized_operations(true),
            );
            // DESCRIBE (bit 8) and ALTER (bit 7) among them: every cluster operation.
            assert_ne!(asked.cluster_authorized_operations & (1 << 8), 0);
            assert_ne!(asked.cluster_authorized_operations & (1 << 7), 0);
        }
        // v1: asking a broker for the controllers is the wrong endpoint type.
        let controllers = raw.call(1, &DescribeClusterRequest::default().with_endpoint_type(2));
        assert_eq!(controllers.error_code, K::MismatchedEndpointType.code());
        assert!(controllers.brokers.is_empty());
        let unknown = raw.call(2, &DescribeClusterRequest::default().with_endpoint_type(9));
        assert_eq!(unknown.error_code, K::UnsupportedEndpointType.code());
        // v2 with fenced brokers asked for: there are none.
        let fenced = raw.call(
            2,
            &DescribeClusterRequest::default().with_include_fenced_brokers(true),
        );
        assert_eq!(fenced.brokers.len(), 1);
        assert!(!fenced.brokers[0].is_fenced);
    })
    .await;
}

fn log_dirs(
    raw: &mut Raw,
    v: i16,
    topics: Option<Vec<(&str, Vec<i32>)>>,
) -> DescribeLogDirsResponse {
    let topics = topics.map(|ts| {
        ts.into_iter()
            .map(|(t, ps)| {
                DescribableLogDirTopic::default()
                    .with_topic(tn(t))
                    .with_partitions(ps)
            })
            .collect()
    });
    let resp = raw.call(v, &DescribeLogDirsRequest::default().with_topics(topics));
    assert_eq!(resp.error_code, 0);
    assert_eq!(resp.results.len(), 1, "the data dir is the one log dir");
    resp
}

/// (partition, size) of `topic` in the one log dir.
fn sizes(resp: &DescribeLogDirsResponse, topic: &str) -> Vec<(i32, i64)> {
    resp.results[0]
        .topics
        .iter()
        .filter(|t| t.name.as_str() == topic)
        .flat_map(|t| {
            t.partitions
                .iter()
                .map(|p| (p.partition_index, p.partition_size))
        })
        .collect()
}

/// Bytes of the `.log` segment files of one partition directory.
fn segment_bytes(dir: &std::path::Path) -> i64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .map(|p| std::fs::metadata(p).unwrap().len() as i64)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_log_dirs_sizes_grow_with_what_is_produced() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let topic = unique_topic("logdirs");
    create_topic(&bootstrap, &topic, 2, &[]).await;

    let t = topic.clone();
    let before = with_raw(bootstrap.clone(), move |raw| {
        let resp = log_dirs(raw, 4, Some(vec![(&t, vec![0, 1])]));
        sizes(&resp, &t)
    })
    .await;
    assert_eq!(before, vec![(0, 0), (1, 0)]);

    produce(&bootstrap, &topic, 0, 20).await;

    let t = topic.clone();
    let dir = broker.dir.clone();
    with_raw(bootstrap.clone(), move |raw| {
        for v in 1..=4 {
            let resp = log_dirs(
                raw,
                v,
                Some(vec![(&t, vec![0, 1, 7]), ("no-such-topic", vec![0])]),
            );
            let result = &resp.results[0];
            assert_eq!(result.error_code, 0);
            let got = sizes(&resp, &t);
            // Partition 7 does not exist and no-such-topic is unknown: left out.
            assert_eq!(result.topics.len(), 1, "v{v}: {:?}", result.topics);
            assert_eq!(got.len(), 2);
            assert_eq!(got[1], (1, 0), "nothing produced to partition 1");
            let (p0, size0) = got[0];
            assert_eq!(p0, 0);
            assert!(
                size0 > 20 * 200,
                "v{v}: 20 records of 200 bytes, got {size0}"
            );
            if !ephemeral_mode() {
                assert_eq!(
                    size0,
                    segment_bytes(&dir.join(format!("{t}-0"))),
                    "v{v}: bytes on disk"
                );
                assert!(result
                    .log_dir
                    .as_str()
                    .ends_with(dir.file_name().unwrap().to_str().unwrap()));
            }
            for p in &result.topics[0].partitions {
                assert_eq!(p.offset_lag, 0);
                assert!(!p.is_future_key);
            }
            if v >= 4 && !ephemeral_mode() {
                assert!(result.total_bytes > 0);
                assert!(result.usable_bytes >= 0 && result.usable_bytes <= result.total_bytes);
            }
        }
        // A null topic list is every partition.
        let all = log_dirs(raw, 4, None);
        assert_eq!(sizes(&all, &t).len(), 2);
        // A topic named with no partitions has nothing to report.
        let none = log_dirs(raw, 4, Some(vec![(&t, vec![])]));
        assert!(none.results[0].topics.is_empty());
    })
    .await;
}

fn epoch_request(topic: &str, partitions: &[(i32, i32, i32)]) -> OffsetForLeaderEpochRequest {
    let partitions = partitions
        .iter()
        .map(|&(partition, current_leader_epoch, leader_epoch)| {
            OffsetForLeaderPartition::default()
                .with_partition(partition)
                .with_current_leader_epoch(current_leader_epoch)
                .with_leader_epoch(leader_epoch)
        })
        .collect();
    OffsetForLeaderEpochRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![OffsetForLeaderTopic::default()
            .with_topic(tn(topic))
            .with_partitions(partitions)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offset_for_leader_epoch_ends_the_current_epoch_at_the_log_end() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let topic = unique_topic("epochs");
    create_topic(&bootstrap, &topic, 2, &[]).await;
    produce(&bootstrap, &topic, 0, 7).await;

    with_raw(bootstrap, move |raw| {
        let metadata = raw.call(
            12,
            &MetadataRequest::default().with_topics(Some(vec![
                metadata_request::MetadataRequestTopic::default().with_name(Some(tn(&topic))),
            ])),
        );
        let epoch = metadata.topics[0].partitions[0].leader_epoch;
        for v in 2..=4 {
            let resp = raw.call(
                v,
                &epoch_request(
                    &topic,
                    &[
                        (0, -1, epoch),        // the current epoch: ends at the log end
                        (1, epoch, epoch),     // an empty partition: offset 0
                        (0, -1, epoch + 1),    // a newer epoch: undefined
                        (0, -1, -1),           // no epoch: undefined
                        (0, epoch + 1, epoch), // the client knows a newer leader
                        (0, -5, epoch),        // an older leader epoch than ours
                        (9, -1, epoch),        // no such partition
                    ],
                ),
            );
            let got: Vec<(i16, i32, i64)> = resp.topics[0]
                .partitions
                .iter()
                .map(|p| (p.error_code, p.leader_epoch, p.end_offset))
                .collect();
            assert_eq!(
                got,
                vec![
                    (0, epoch, 7),
                    (0, epoch, 0),
                    (0, -1, -1),
                    (0, -1, -1),
                    (K::UnknownLeaderEpoch.code(), -1, -1),
                    (K::FencedLeaderEpoch.code(), -1, -1),
                    (K::UnknownTopicOrPartition.code(), -1, -1),
                ],
                "v{v}"
            );
        }
        let unknown = raw.call(4, &epoch_request("no-such-topic", &[(0, -1, 0)]));
        assert_eq!(
            unknown.topics[0].partitions[0].error_code,
            K::UnknownTopicOrPartition.code()
        );
    })
    .await;
}

fn dtp(
    raw: &mut Raw,
    topics: &[&str],
    limit: i32,
    cursor: Option<(&str, i32)>,
) -> DescribeTopicPartitionsResponse {
    let req = DescribeTopicPartitionsRequest::default()
        .with_topics(
            topics
                .iter()
                .map(|t| TopicRequest::default().with_name(tn(t)))
                .collect(),
        )
        .with_response_partition_limit(limit)
        .with_cursor(cursor.map(|(t, p)| {
            Cursor::default()
                .with_topic_name(tn(t))
                .with_partition_index(p)
        }));
    raw.call(0, &req)
}

/// Follows next_cursor from the start until the last page; every
/// (topic, partition) given, in order, and the number of pages.
fn page_through(raw: &mut Raw, topics: &[&str], limit: i32) -> (Vec<(String, i32)>, usize) {
    let mut seen = Vec::new();
    let mut cursor: Option<(String, i32)> = None;
    for page in 1..=50 {
        let resp = dtp(
            raw,
            topics,
            limit,
            cursor.as_ref().map(|(t, p)| (t.as_str(), *p)),
        );
        for t in &resp.topics {
            assert_eq!(t.error_code, 0, "{t:?}");
            for p in &t.partitions {
                seen.push((t.name.as_ref().unwrap().to_string(), p.partition_index));
            }
        }
        let given: usize = resp.topics.iter().map(|t| t.partitions.len()).sum();
        assert!(
            given <= limit as usize,
            "page {page} gave {given} > {limit}"
        );
        match resp.next_cursor {
            None => return (seen, page),
            Some(c) => cursor = Some((c.topic_name.to_string(), c.partition_index)),
        }
    }
    panic!("no last page after 50 pages");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_topic_partitions_pages_by_cursor() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let prefix = unique_topic("dtp");
    let (a, b, c) = (
        format!("{prefix}-a"),
        format!("{prefix}-b"),
        format!("{prefix}-c"),
    );
    create_topic(&bootstrap, &a, 3, &[]).await;
    create_topic(&bootstrap, &b, 2, &[]).await;
    create_topic(&bootstrap, &c, 1, &[]).await;

    with_raw(bootstrap, move |raw| {
        let expected: Vec<(String, i32)> = [(&a, 3), (&b, 2), (&c, 1)]
            .iter()
            .flat_map(|(t, n)| (0..*n).map(move |p| (t.to_string(), p)))
            .collect();
        // Asked in any order, answered in name order, limit 2 per page.
        let named = [c.as_str(), a.as_str(), b.as_str()];
        let (seen, pages) = page_through(raw, &named, 2);
        assert_eq!(seen, expected);
        assert_eq!(pages, 3);

        // The first page: a-0, a-1, and the cursor at a-2.
        let first = dtp(raw, &named, 2, None);
        let cursor = first.next_cursor.unwrap();
        assert_eq!(
            (cursor.topic_name.as_str(), cursor.partition_index),
            (a.as_str(), 2)
        );
        // A page that ends with a topic points at the next topic, partition 0.
        let second = dtp(raw, &named, 3, Some((&a, 0)));
        let cursor = second.next_cursor.unwrap();
        assert_eq!(
            (cursor.topic_name.as_str(), cursor.partition_index),
            (b.as_str(), 0)
        );

        // Every topic (empty list): ours among them, in order, with a tiny limit.
        let (all, _) = page_through(raw, &[], 1);
        let ours: Vec<(String, i32)> = all
            .into_iter()
            .filter(|(t, _)| t.starts_with(&prefix))
            .collect();
        assert_eq!(ours, expected);

        // Partitions as Metadata: this node leads, is the replica and the ISR.
        let one = dtp(raw, &[b.as_str()], 100, None);
        let t = &one.topics[0];
        assert!(!t.topic_id.is_nil());
        assert_ne!(t.topic_authorized_operations, i32::MIN);
        let p = &t.partitions[0];
        assert_eq!(p.replica_nodes, vec![p.leader_id]);
        assert_eq!(p.isr_nodes, vec![p.leader_id]);
        assert!(p.offline_replicas.is_empty());

        // Unknown and invalid names are listed with their errors.
        let mixed = dtp(raw, &["no-such-topic", "bad/name", b.as_str()], 100, None);
        let codes: Vec<(String, i16)> = mixed
            .topics
            .iter()
            .map(|t| (t.name.as_ref().unwrap().to_string(), t.error_code))
            .collect();
        assert_eq!(
            codes,
            vec![
                ("bad/name".to_string(), K::InvalidTopicException.code()),
                (b.clone(), 0),
                (
                    "no-such-topic".to_string(),
                    K::UnknownTopicOrPartition.code()
                ),
            ]
        );

        // A cursor on a topic not asked for, or a negative partition: INVALID_REQUEST.
        let stray = dtp(raw, &[b.as_str()], 10, Some((&a, 0)));
        assert_eq!(stray.topics[0].error_code, K::InvalidRequest.code());
        assert!(stray.topics[0].partitions.is_empty());
        let negative = dtp(raw, &[b.as_str()], 10, Some((&b, -1)));
        assert_eq!(negative.topics[0].error_code, K::InvalidRequest.code());
        // A limit below 1 is 1.
        let zero = dtp(raw, &[a.as_str()], 0, None);
        assert_eq!(zero.topics[0].partitions.len(), 1);
        assert!(zero.next_cursor.is_some());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elections_are_never_needed_on_one_node() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let topic = unique_topic("elect");
    create_topic(&bootstrap, &topic, 2, &[]).await;

    with_raw(bootstrap, move |raw| {
        for v in 0..=2 {
            for election_type in [0, 1] {
                let req = ElectLeadersRequest::default()
                    .with_election_type(if v == 0 { 0 } else { election_type })
                    .with_topic_partitions(Some(vec![
                        TopicPartitions::default()
                            .with_topic(tn(&topic))
                            .with_partitions(vec![0, 1, 5]),
                        TopicPartitions::default()
                            .with_topic(tn("no-such-topic"))
                            .with_partitions(vec![0]),
                    ]));
                let resp = raw.call(v, &req);
                assert_eq!(resp.error_code, 0);
                let codes: Vec<Vec<i16>> = resp
                    .replica_election_results
                    .iter()
                    .map(|t| t.partition_result.iter().map(|p| p.error_code).collect())
                    .collect();
                let not_needed = K::ElectionNotNeeded.code();
                let unknown = K::UnknownTopicOrPartition.code();
                assert_eq!(
                    codes,
                    vec![vec![not_needed, not_needed, unknown], vec![unknown]],
                    "v{v}"
                );
            }
        }
        // Every partition: those that need no election are left out.
        let all = raw.call(
            2,
            &ElectLeadersRequest::default().with_topic_partitions(None),
        );
        let ours = all
            .replica_election_results
            .iter()
            .find(|t| t.topic.as_str() == topic)
            .expect("the topic is listed");
        assert!(ours.partition_result.is_empty());
        // An election type Kafka does not know: INVALID_REQUEST.
        let bad = raw.call(
            2,
            &ElectLeadersRequest::default()
                .with_election_type(7)
                .with_topic_partitions(Some(vec![TopicPartitions::default()
                    .with_topic(tn(&topic))
                    .with_partitions(vec![0])])),
        );
        assert_eq!(bad.error_code, K::InvalidRequest.code());
        assert_eq!(
            bad.replica_election_results[0].partition_result[0].error_code,
            K::InvalidRequest.code()
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reassignments_to_this_node_complete_at_once() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let topic = unique_topic("reassign");
    create_topic(&bootstrap, &topic, 1, &[]).await;

    with_raw(bootstrap, move |raw| {
        let node = raw.call(12, &MetadataRequest::default()).controller_id;
        let target = |partition: i32, replicas: Option<Vec<i32>>| {
            ReassignablePartition::default()
                .with_partition_index(partition)
                .with_replicas(replicas.map(|r| r.into_iter().map(BrokerId).collect()))
        };
        for v in 0..=1 {
            let req = AlterPartitionReassignmentsRequest::default()
                .with_allow_replication_factor_change(v == 0)
                .with_topics(vec![
                    ReassignableTopic::default()
                        .with_name(tn(&topic))
                        .with_partitions(vec![
                            target(0, Some(vec![node.0])),
                            target(0, Some(vec![node.0, node.0 + 1])),
                            target(0, Some(vec![node.0, node.0])),
                            target(0, Some(vec![])),
                            target(0, None),
                            target(3, Some(vec![node.0])),
                        ]),
                    ReassignableTopic::default()
                        .with_name(tn("no-such-topic"))
                        .with_partitions(vec![target(0, Some(vec![node.0]))]),
                ]);
            let resp = raw.call(v, &req);
            assert_eq!(resp.error_code, 0);
            let codes: Vec<Vec<i16>> = resp
                .responses
                .iter()
                .map(|t| t.partitions.iter().map(|p| p.error_code).collect())
                .collect();
            let invalid = K::InvalidReplicaAssignment.code();
            let unknown = K::UnknownTopicOrPartition.code();
            assert_eq!(
                codes,
                vec![
                    vec![
                        0,
                        invalid,
                        invalid,
                        invalid,
                        K::NoReassignmentInProgress.code(),
                        unknown
                    ],
                    vec![unknown]
                ],
                "v{v}"
            );
            assert!(resp.responses[0].partitions[0].error_message.is_none());
            assert!(resp.responses[0].partitions[1].error_message.is_some());

            // Nothing is left in progress, whether every topic or ours is asked for.
            let all = raw.call(
                0,
                &ListPartitionReassignmentsRequest::default().with_topics(None),
            );
            assert_eq!(all.error_code, 0);
            assert!(all.error_message.is_none());
            assert!(all.topics.is_empty());
            let ours = raw.call(
                0,
                &ListPartitionReassignmentsRequest::default().with_topics(Some(vec![
                    ListPartitionReassignmentsTopics::default()
                        .with_name(tn(&topic))
                        .with_partition_indexes(vec![0]),
                    ListPartitionReassignmentsTopics::default()
                        .with_name(tn("no-such-topic"))
                        .with_partition_indexes(vec![0]),
                ])),
            );
            assert_eq!(ours.error_code, 0);
            assert!(ours.topics.is_empty());
        }
    })
    .await;
}

fn update(feature: &str, level: i16, upgrade_type: i8) -> FeatureUpdateKey {
    FeatureUpdateKey::default()
        .with_feature(s(feature))
        .with_max_version_level(level)
        .with_upgrade_type(upgrade_type)
}

fn finalized(raw: &mut Raw) -> Vec<(String, i16)> {
    let resp = raw.call(4, &ApiVersionsRequest::default());
    resp.finalized_features
        .iter()
        .map(|f| (f.name.to_string(), f.max_version_level))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feature_updates_are_checked_as_kafka_and_change_nothing() {
    let mut broker = TestBroker::start().await;
    let before = with_raw(broker.bootstrap(), |raw| {
        let before = finalized(raw);
        assert_eq!(before, vec![("metadata.version".to_string(), 27)]);

        // The current levels: accepted, one result each (v0-v1), none in v2.
        let same = UpdateFeaturesRequest::default().with_feature_updates(vec![
            update("metadata.version", 27, 1),
            update("group.version", 0, 1),
        ]);
        for v in 0..=2 {
            let resp = raw.call(v, &same);
            assert_eq!(resp.error_code, 0, "v{v}: {:?}", resp.error_message);
            let expected = if v <= 1 { 2 } else { 0 };
            assert_eq!(resp.results.len(), expected, "v{v}");
            assert!(resp
                .results
                .iter()
                .all(|r| r.error_code == 0 && r.error_message.is_none()));
            assert!(resp.error_message.is_none(), "null on success, as Kafka");
        }

        // KIP-848 (group.version 1) and transaction version 2 are not served;
        // an upgrade beyond what is supported fails the whole request.
        for (feature, level, upgrade_type) in [
            ("group.version", 1, 1),
            ("transaction.version", 2, 1),
            ("metadata.version", 28, 1),
            ("metadata.version", 26, 2),
            ("kraft.version", -1, 1),
            ("group.version", 0, 9),
            ("no.such.feature", 1, 1),
        ] {
            for v in 1..=2 {
                let req = UpdateFeaturesRequest::default()
                    .with_validate_only(v == 2)
                    .with_feature_updates(vec![
                        update("metadata.version", 27, 1),
                        update(feature, level, upgrade_type),
                    ]);
                let resp = raw.call(v, &req);
                assert_eq!(
                    resp.error_code,
                    K::InvalidUpdateVersion.code(),
                    "{feature} {level} v{v}"
                );
                assert!(resp.results.is_empty());
                let message = resp.error_message.unwrap();
                assert!(message.contains(feature), "{message}");
            }
        }
        // v0's allow_downgrade to a lower metadata.version: not supported.
        let v0 = raw.call(
            0,
            &UpdateFeaturesRequest::default().with_feature_updates(vec![
                FeatureUpdateKey::default()
                    .with_feature(s("metadata.version"))
                    .with_max_version_level(20)
                    .with_allow_downgrade(true),
            ]),
        );
        assert_eq!(v0.error_code, K::InvalidUpdateVersion.code());
        assert_eq!(finalized(raw), before, "nothing changed");
        before
    })
    .await;
    if !ephemeral_mode() {
        broker.restart().await;
        let after = with_raw(broker.bootstrap(), finalized).await;
        assert_eq!(after, before, "the same levels after a restart");
    }
}
