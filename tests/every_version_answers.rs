//! Every advertised version of every API gets a decodable answer to a
//! request a client could send at that version — no version closes the
//! connection because a response field cannot be encoded there.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::raw::Raw;
use common::*;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

fn tn(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_advertised_version_answers() {
    let broker = TestBroker::start().await;
    let addr = broker.bootstrap();
    tokio::task::spawn_blocking(move || {
        let mut raw = Raw::connect(&addr);
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

        for v in 0..=13 {
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
        for v in 3..=13 {
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
            assert_eq!(p.base_offset, (v - 3) as i64, "Produce v{v} offset");
        }

        for v in 4..=18 {
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
            assert_eq!(p.high_watermark, 11, "Fetch v{v} high watermark");
            assert!(
                !p.records.as_ref().unwrap().is_empty(),
                "Fetch v{v} records"
            );
        }

        for v in 1..=10 {
            let req = ListOffsetsRequest::default()
                .with_replica_id((-1).into())
                .with_topics(vec![ListOffsetsTopic::default()
                    .with_name(tn(topic))
                    .with_partitions(vec![ListOffsetsPartition::default()
                        .with_partition_index(0)
                        .with_timestamp(-1)])]);
            let resp = raw.call(v, &req);
            let p = &resp.topics[0].partitions[0];
            assert_eq!((p.error_code, p.offset), (0, 11), "ListOffsets v{v}");
        }

        for v in 2..=7 {
            let name = format!("created-v{v}");
            let req = CreateTopicsRequest::default()
                .with_timeout_ms(5000)
                .with_topics(vec![CreatableTopic::default()
                    .with_name(tn(&name))
                    .with_num_partitions(2)
                    .with_replication_factor(1)]);
            let resp = raw.call(v, &req);
            assert_eq!(resp.topics[0].error_code, 0, "CreateTopics v{v}");
        }

        for v in 0..=3 {
            let req = CreatePartitionsRequest::default().with_timeout_ms(5000).with_topics(vec![
                kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic::default()
                    .with_name(tn(&format!("created-v{}", v + 2)))
                    .with_count(3 + v as i32),
            ]);
            let resp = raw.call(v, &req);
            assert_eq!(resp.results[0].error_code, 0, "CreatePartitions v{v}");
        }

        for v in 1..=6 {
            let name = format!("created-v{}", v + 1);
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
