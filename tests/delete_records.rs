//! DeleteRecords through librdkafka's admin client moves the log start
//! offset: ListOffsets earliest follows, and a consumer reading below it gets
//! OFFSET_OUT_OF_RANGE and resets per its auto.offset.reset policy.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use rdkafka::admin::AdminOptions;
use rdkafka::consumer::Consumer;
use rdkafka::producer::FutureRecord;
use rdkafka::{Offset, TopicPartitionList};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_records_moves_the_log_start_offset() {
    let broker = TestBroker::start().await;
    let topic = unique_topic("delrec");
    create_topic(&broker.bootstrap(), &topic, 1, &[]).await;
    let producer = producer(&broker.bootstrap(), &[]);
    for i in 0..100 {
        producer
            .send(
                FutureRecord::to(&topic).key("k").payload(&format!("v{i}")),
                Duration::from_secs(30),
            )
            .await
            .unwrap();
    }
    let admin = admin(&broker.bootstrap());
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(&topic, 0, Offset::Offset(40))
        .unwrap();
    let res = admin
        .delete_records(
            &tpl,
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .expect("delete_records");
    let p = res.find_partition(&topic, 0).unwrap();
    assert_eq!(p.offset(), Offset::Offset(40), "new low watermark");
    assert!(p.error().is_ok());

    let consumer = consumer_from_start(
        &broker.bootstrap(),
        &topic,
        1,
        &[("auto.offset.reset", "earliest")],
    );
    let (low, high) = tokio::task::block_in_place(|| {
        consumer
            .fetch_watermarks(&topic, 0, Duration::from_secs(10))
            .unwrap()
    });
    assert_eq!(
        (low, high),
        (40, 100),
        "earliest follows the log start offset"
    );
    // Assigned at offset 10 (below the start): the broker answers
    // OFFSET_OUT_OF_RANGE and the consumer resets to the earliest offset.
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(&topic, 0, Offset::Offset(10))
        .unwrap();
    consumer.assign(&tpl).unwrap();
    let got = tokio::task::block_in_place(|| consume(&consumer, 60, Duration::from_secs(30)));
    assert_eq!(got.len(), 60);
    assert_eq!(got[0].offset, 40, "reset to the new log start offset");
    assert_eq!(got[0].value.as_deref(), Some(&b"v40"[..]));

    // Beyond the high watermark is refused.
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(&topic, 0, Offset::Offset(1000))
        .unwrap();
    let res = admin
        .delete_records(&tpl, &AdminOptions::new())
        .await
        .expect("delete_records");
    assert!(
        res.find_partition(&topic, 0).unwrap().error().is_err(),
        "OFFSET_OUT_OF_RANGE"
    );
}
