//! Every API in dispatch's one table answers every version it advertises:
//! a request a client could send at that version gets a response that
//! decodes at that version, with its correlation id — no version closes
//! the connection because a field cannot be decoded or encoded there. The
//! list comes from ApiVersions, which is built from the table (a unit test
//! in `handlers/api_versions.rs` holds the two equal); the versions served
//! are what the broker says, never a copy kept here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::ops::RangeInclusive;
use std::time::Duration;

use common::raw::Raw;
use common::*;
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Request, StrBytes};
use uuid::Uuid;

fn tn(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

/// The versions the broker advertises, by api key.
fn advertised(raw: &mut Raw) -> Vec<(ApiKey, RangeInclusive<i16>)> {
    let resp = raw.call(3, &ApiVersionsRequest::default());
    assert_eq!(resp.error_code, 0);
    resp.api_keys
        .iter()
        .map(|k| {
            let key = ApiKey::try_from(k.api_key).expect("a known api key");
            (key, k.min_version..=k.max_version)
        })
        .collect()
}

/// Sends `req` at `version` and checks that the answer is a whole response
/// of that version to this request.
fn answers<R: Request>(raw: &mut Raw, key: ApiKey, version: i16, req: R) {
    let correlation_id = raw.send(version, &req);
    let mut body = raw
        .read_frame()
        .unwrap_or_else(|| panic!("{key:?} v{version}: the broker closed the connection"));
    let header = ResponseHeader::decode(&mut body, key.response_header_version(version))
        .unwrap_or_else(|e| panic!("{key:?} v{version}: response header: {e}"));
    assert_eq!(header.correlation_id, correlation_id, "{key:?} v{version}");
    R::Response::decode(&mut body, version)
        .unwrap_or_else(|e| panic!("{key:?} v{version}: response body: {e}"));
    assert!(
        body.is_empty(),
        "{key:?} v{version}: {} bytes after the response",
        body.len()
    );
}

/// Sends a plain request of `key` (defaults, with what every version needs
/// to get an answer at all) at `version`.
fn sample(raw: &mut Raw, key: ApiKey, version: i16) {
    macro_rules! plain {
        ($req:ty) => {
            answers(raw, key, version, <$req>::default())
        };
    }
    match key {
        // acks 0 would get no answer at all.
        ApiKey::Produce => answers(
            raw,
            key,
            version,
            ProduceRequest::default()
                .with_acks(-1)
                .with_timeout_ms(1000),
        ),
        ApiKey::Fetch => plain!(FetchRequest),
        ApiKey::ListOffsets => plain!(ListOffsetsRequest),
        ApiKey::Metadata => plain!(MetadataRequest),
        ApiKey::OffsetCommit => plain!(OffsetCommitRequest),
        ApiKey::OffsetFetch => plain!(OffsetFetchRequest),
        ApiKey::FindCoordinator => plain!(FindCoordinatorRequest),
        ApiKey::JoinGroup => plain!(JoinGroupRequest),
        ApiKey::Heartbeat => plain!(HeartbeatRequest),
        ApiKey::LeaveGroup => plain!(LeaveGroupRequest),
        ApiKey::SyncGroup => plain!(SyncGroupRequest),
        ApiKey::DescribeGroups => plain!(DescribeGroupsRequest),
        ApiKey::ListGroups => plain!(ListGroupsRequest),
        ApiKey::ApiVersions => plain!(ApiVersionsRequest),
        ApiKey::CreateTopics => plain!(CreateTopicsRequest),
        ApiKey::DeleteTopics => plain!(DeleteTopicsRequest),
        ApiKey::DeleteRecords => plain!(DeleteRecordsRequest),
        ApiKey::InitProducerId => plain!(InitProducerIdRequest),
        ApiKey::AddPartitionsToTxn => plain!(AddPartitionsToTxnRequest),
        ApiKey::AddOffsetsToTxn => plain!(AddOffsetsToTxnRequest),
        ApiKey::EndTxn => plain!(EndTxnRequest),
        ApiKey::TxnOffsetCommit => plain!(TxnOffsetCommitRequest),
        ApiKey::DescribeConfigs => plain!(DescribeConfigsRequest),
        ApiKey::AlterConfigs => plain!(AlterConfigsRequest),
        ApiKey::CreatePartitions => plain!(CreatePartitionsRequest),
        ApiKey::DeleteGroups => plain!(DeleteGroupsRequest),
        ApiKey::IncrementalAlterConfigs => plain!(IncrementalAlterConfigsRequest),
        ApiKey::OffsetDelete => plain!(OffsetDeleteRequest),
        ApiKey::DescribeClientQuotas => plain!(DescribeClientQuotasRequest),
        ApiKey::AlterClientQuotas => plain!(AlterClientQuotasRequest),
        ApiKey::DescribeProducers => plain!(DescribeProducersRequest),
        ApiKey::DescribeTransactions => plain!(DescribeTransactionsRequest),
        ApiKey::ListTransactions => plain!(ListTransactionsRequest),
        ApiKey::OffsetForLeaderEpoch => plain!(OffsetForLeaderEpochRequest),
        ApiKey::DescribeLogDirs => plain!(DescribeLogDirsRequest),
        ApiKey::ElectLeaders => plain!(ElectLeadersRequest),
        ApiKey::AlterPartitionReassignments => plain!(AlterPartitionReassignmentsRequest),
        ApiKey::ListPartitionReassignments => plain!(ListPartitionReassignmentsRequest),
        ApiKey::UpdateFeatures => plain!(UpdateFeaturesRequest),
        ApiKey::DescribeCluster => plain!(DescribeClusterRequest),
        ApiKey::DescribeTopicPartitions => plain!(DescribeTopicPartitionsRequest),
        other => panic!(
            "{other:?} is advertised: add a sample request for it to tests/every_version_answers.rs"
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_api_in_the_table_answers_every_advertised_version() {
    let broker = TestBroker::start().await;
    let addr = broker.bootstrap();
    tokio::task::spawn_blocking(move || {
        let mut raw = Raw::connect(&addr);
        // A request that hangs fails the test instead of stalling it.
        raw.stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let apis = advertised(&mut raw);
        assert!(apis.len() > 20, "{apis:?}");
        for (key, versions) in apis {
            for version in versions {
                sample(&mut raw, key, version);
            }
        }
    })
    .await
    .unwrap();
}

/// Beyond answering: the data APIs do their work at every advertised version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_advertised_version_works() {
    let broker = TestBroker::start().await;
    let addr = broker.bootstrap();
    tokio::task::spawn_blocking(move || {
        let mut raw = Raw::connect(&addr);
        let apis = advertised(&mut raw);
        let versions = |key: ApiKey| {
            let found = apis.iter().find(|(k, _)| *k == key);
            found.map(|(_, v)| v.clone()).expect("advertised")
        };
        let topic = "every-version";
        let md = raw.call(
            12,
            &MetadataRequest::default()
                .with_allow_auto_topic_creation(true)
                .with_topics(Some(vec![
                    MetadataRequestTopic::default().with_name(Some(tn(topic)))
                ])),
        );
        let topic_id: Uuid = md.topics[0].topic_id;

        for v in versions(ApiKey::Metadata) {
            let topics = if v >= 10 {
                vec![MetadataRequestTopic::default()
                    .with_topic_id(topic_id)
                    .with_name(None)]
            } else {
                vec![MetadataRequestTopic::default().with_name(Some(tn(topic)))]
            };
            let resp = raw.call(v, &MetadataRequest::default().with_topics(Some(topics)));
            assert_eq!(resp.topics[0].error_code, 0, "Metadata v{v}");
        }

        let batch = common::batch::one_record_batch(b"k", b"v");
        let mut produced = 0;
        for v in versions(ApiKey::Produce) {
            let data = TopicProduceData::default().with_partition_data(vec![
                PartitionProduceData::default()
                    .with_index(0)
                    .with_records(Some(batch.clone().into())),
            ]);
            let data = if v >= 13 {
                data.with_topic_id(topic_id)
            } else {
                data.with_name(tn(topic))
            };
            let resp = raw.call(
                v,
                &ProduceRequest::default()
                    .with_acks(-1)
                    .with_timeout_ms(5000)
                    .with_topic_data(vec![data]),
            );
            let p = &resp.responses[0].partition_responses[0];
            assert_eq!(p.error_code, 0, "Produce v{v}");
            assert_eq!(p.base_offset, produced, "Produce v{v} offset");
            produced += 1;
        }

        for v in versions(ApiKey::Fetch) {
            let part = FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(1)
                .with_partition_max_bytes(1 << 20);
            let t = FetchTopic::default().with_partitions(vec![part]);
            let t = if v >= 13 {
                t.with_topic_id(topic_id)
            } else {
                t.with_topic(tn(topic))
            };
            let req = FetchRequest::default()
                .with_max_wait_ms(0)
                .with_max_bytes(1 << 20)
                .with_session_epoch(-1)
                .with_topics(vec![t]);
            let resp = raw.call(v, &req);
            let p = &resp.responses[0].partitions[0];
            assert_eq!(p.error_code, 0, "Fetch v{v}");
            assert_eq!(p.high_watermark, produced, "Fetch v{v} high watermark");
            assert!(
                !p.records.as_ref().unwrap().is_empty(),
                "Fetch v{v} records"
            );
        }

        for v in versions(ApiKey::ListOffsets) {
            let req = ListOffsetsRequest::default()
                .with_replica_id((-1).into())
                .with_topics(vec![ListOffsetsTopic::default()
                    .with_name(tn(topic))
                    .with_partitions(vec![ListOffsetsPartition::default()
                        .with_partition_index(0)
                        .with_timestamp(-1)])]);
            let resp = raw.call(v, &req);
            let p = &resp.topics[0].partitions[0];
            assert_eq!((p.error_code, p.offset), (0, produced), "ListOffsets v{v}");
        }

        let create_versions = versions(ApiKey::CreateTopics);
        let newest_create = *create_versions.end();
        let create = |raw: &mut Raw, v: i16, name: &str, partitions: i32| {
            let req = CreateTopicsRequest::default()
                .with_timeout_ms(5000)
                .with_topics(vec![CreatableTopic::default()
                    .with_name(tn(name))
                    .with_num_partitions(partitions)
                    .with_replication_factor(1)]);
            let resp = raw.call(v, &req);
            assert_eq!(resp.topics[0].error_code, 0, "CreateTopics v{v} {name}");
        };
        for v in create_versions {
            create(&mut raw, v, &format!("created-v{v}"), 2);
        }

        for v in versions(ApiKey::CreatePartitions) {
            let name = format!("grown-v{v}");
            create(&mut raw, newest_create, &name, 1);
            let req = CreatePartitionsRequest::default()
                .with_timeout_ms(5000)
                .with_topics(vec![CreatePartitionsTopic::default()
                    .with_name(tn(&name))
                    .with_count(3)]);
            let resp = raw.call(v, &req);
            assert_eq!(resp.results[0].error_code, 0, "CreatePartitions v{v}");
        }

        for v in versions(ApiKey::DeleteTopics) {
            let name = format!("deleted-v{v}");
            create(&mut raw, newest_create, &name, 1);
            let req = if v >= 6 {
                DeleteTopicsRequest::default()
                    .with_topics(vec![DeleteTopicState::default().with_name(Some(tn(&name)))])
            } else {
                DeleteTopicsRequest::default().with_topic_names(vec![tn(&name)])
            };
            let resp = raw.call(v, &req.with_timeout_ms(5000));
            assert_eq!(resp.responses[0].error_code, 0, "DeleteTopics v{v}");
        }
    })
    .await
    .unwrap();
}

/// Regression: a ListOffsets v2 response (what librdkafka 2.0.2, i.e.
/// kcat, sends) set the leader epoch, which only exists from v4, so the
/// response could not be encoded and the connection was closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_offsets_v2_answers_without_leader_epoch() {
    let broker = TestBroker::start().await;
    let topic = unique_topic("lo-v2");
    create_topic(&broker.bootstrap(), &topic, 1, &[]).await;
    let addr = broker.bootstrap();
    tokio::task::spawn_blocking(move || {
        let mut raw = Raw::connect(&addr);
        let req = ListOffsetsRequest::default()
            .with_replica_id((-1).into())
            .with_topics(vec![ListOffsetsTopic::default()
                .with_name(tn(&topic))
                .with_partitions(vec![ListOffsetsPartition::default()
                    .with_partition_index(0)
                    .with_timestamp(-2)])]);
        let resp = raw.call(2, &req);
        assert_eq!(resp.topics[0].partitions[0].error_code, 0);
        assert_eq!(resp.topics[0].partitions[0].offset, 0);
    })
    .await
    .unwrap();
}
