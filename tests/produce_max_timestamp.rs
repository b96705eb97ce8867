//! Regression: the broker trusted the max timestamp in a produced batch's
//! header. sarama leaves it at -1, so its records could not be found by
//! time. Kafka takes the max from the records; so does Sluice now (exactly
//! for uncompressed batches), and rewrites the header before storing it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::raw::Raw;
use common::*;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ListOffsetsRequest, ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_timestamp_comes_from_the_records_not_the_header() {
    let broker = TestBroker::start().await;
    let topic = unique_topic("maxts");
    create_topic(&broker.bootstrap(), &topic, 1, &[]).await;
    let addr = broker.bootstrap();
    #[allow(non_snake_case)]
    let BASE = now_ms() - 3_600_000;
    tokio::task::spawn_blocking(move || {
        let mut raw = Raw::connect(&addr);
        let name = TopicName(StrBytes::from_string(topic));
        // Header max timestamp -1, records at +0, +5000, +2000.
        let batch = common::batch::batch_with(
            BASE,
            -1,
            &[(0, b"a", b"1"), (5000, b"b", b"2"), (2000, b"c", b"3")],
        );
        let resp = raw.call(
            3,
            &ProduceRequest::default()
                .with_acks(-1)
                .with_timeout_ms(5000)
                .with_topic_data(vec![TopicProduceData::default()
                    .with_name(name.clone())
                    .with_partition_data(vec![PartitionProduceData::default()
                        .with_index(0)
                        .with_records(Some(batch.into()))])]),
        );
        assert_eq!(resp.responses[0].partition_responses[0].error_code, 0);
        let lookup = |raw: &mut Raw, ts: i64| {
            let req = ListOffsetsRequest::default()
                .with_replica_id((-1).into())
                .with_topics(vec![ListOffsetsTopic::default()
                    .with_name(name.clone())
                    .with_partitions(vec![ListOffsetsPartition::default()
                        .with_partition_index(0)
                        .with_timestamp(ts)])]);
            let p = raw.call(7, &req).topics[0].partitions[0].clone();
            (p.offset, p.timestamp)
        };
        assert_eq!(
            lookup(&mut raw, 0),
            (0, BASE),
            "time 0 finds the first record"
        );
        assert_eq!(
            lookup(&mut raw, BASE + 4000),
            (1, BASE + 5000),
            "first record at or after the time"
        );
        assert_eq!(lookup(&mut raw, -3), (1, BASE + 5000), "max timestamp");
        assert_eq!(lookup(&mut raw, BASE + 6000), (-1, -1), "nothing later");
    })
    .await
    .unwrap();
}
