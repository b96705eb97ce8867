//! ListOffsets through librdkafka: earliest, latest and by timestamp.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::raw::Raw;
use common::*;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{ListOffsetsRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use rdkafka::consumer::Consumer;
use rdkafka::producer::FutureRecord;
use rdkafka::{Offset, TopicPartitionList};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn earliest_latest_and_by_time_are_right() {
    let broker = TestBroker::start().await;
    let topic = unique_topic("offsets");
    #[allow(non_snake_case)]
    let T0 = now_ms() - 3_600_000;
    create_topic(&broker.bootstrap(), &topic, 1, &[]).await;
    // 100 records one second apart, sent together so that several records
    // share a batch and the lookup must find the record inside it.
    let producer = producer(&broker.bootstrap(), &[("linger.ms", "50")]);
    let mut futures = Vec::new();
    for i in 0..100i64 {
        let value = format!("v{i}");
        futures.push(
            producer
                .send_result(
                    FutureRecord::to(&topic)
                        .key("k")
                        .payload(&value)
                        .timestamp(T0 + i * 1000),
                )
                .expect("queued"),
        );
    }
    for f in futures {
        f.await.unwrap().unwrap();
    }
    let consumer = consumer_from_start(&broker.bootstrap(), &topic, 1, &[]);
    let (low, high) = tokio::task::block_in_place(|| {
        consumer
            .fetch_watermarks(&topic, 0, Duration::from_secs(10))
            .unwrap()
    });
    assert_eq!((low, high), (0, 100));

    let lookup = |ts: i64| -> Offset {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(&topic, 0, Offset::Offset(ts))
            .unwrap();
        let res = tokio::task::block_in_place(|| {
            consumer.offsets_for_times(tpl, Duration::from_secs(10))
        })
        .unwrap();
        res.find_partition(&topic, 0).unwrap().offset()
    };
    assert_eq!(lookup(T0), Offset::Offset(0));
    assert_eq!(lookup(T0 + 50_000), Offset::Offset(50));
    assert_eq!(
        lookup(T0 + 49_500),
        Offset::Offset(50),
        "first record at or after the time"
    );
    assert_eq!(lookup(T0 - 1_000_000), Offset::Offset(0));
    assert_eq!(lookup(T0 + 99_000), Offset::Offset(99));
    assert_eq!(lookup(T0 + 100_000), Offset::End, "nothing that late");

    // Max timestamp (-3) and the leader epoch, over the raw protocol.
    let addr = broker.bootstrap();
    let resp = tokio::task::spawn_blocking(move || {
        let mut raw = Raw::connect(&addr);
        let req = ListOffsetsRequest::default()
            .with_replica_id((-1).into())
            .with_topics(vec![ListOffsetsTopic::default()
                .with_name(TopicName(StrBytes::from_string(topic)))
                .with_partitions(vec![
                    ListOffsetsPartition::default()
                        .with_partition_index(0)
                        .with_timestamp(-3),
                    ListOffsetsPartition::default()
                        .with_partition_index(0)
                        .with_timestamp(-2),
                    ListOffsetsPartition::default()
                        .with_partition_index(0)
                        .with_timestamp(-1),
                    ListOffsetsPartition::default()
                        .with_partition_index(7)
                        .with_timestamp(-1),
                ])]);
        raw.call(8, &req)
    })
    .await
    .unwrap();
    let parts = &resp.topics[0].partitions;
    assert_eq!(
        (parts[0].offset, parts[0].timestamp),
        (99, T0 + 99_000),
        "max timestamp"
    );
    assert_eq!(parts[0].leader_epoch, 0);
    assert_eq!(parts[1].offset, 0, "earliest");
    assert_eq!(parts[2].offset, 100, "latest");
    assert_eq!(
        parts[3].error_code, 3,
        "UNKNOWN_TOPIC_OR_PARTITION for a partition that does not exist"
    );
}
