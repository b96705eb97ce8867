//! Regression: a compacted topic (cleanup.policy=compact) stored records
//! without a key, which compaction cannot keep or drop by key; Kafka refuses
//! them with INVALID_RECORD (librdkafka's 0011 produce_batch counts them).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use rdkafka::consumer::Consumer;
use rdkafka::error::KafkaError;
use rdkafka::producer::FutureRecord;
use rdkafka::types::RDKafkaErrorCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compacted_topics_refuse_records_without_a_key() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let topic = unique_topic("compacted");
    create_topic(&bootstrap, &topic, 1, &[("cleanup.policy", "compact")]).await;
    let producer = producer(&bootstrap, &[("linger.ms", "0")]);
    let keyless = producer
        .send(
            FutureRecord::<(), str>::to(&topic)
                .partition(0)
                .payload("no key"),
            Duration::from_secs(30),
        )
        .await;
    match keyless {
        Err((KafkaError::MessageProduction(code), _)) => {
            assert_eq!(code, RDKafkaErrorCode::InvalidRecord)
        }
        other => panic!("a keyless record was accepted: {other:?}"),
    }
    producer
        .send(
            FutureRecord::to(&topic)
                .partition(0)
                .key("k")
                .payload("keyed"),
            Duration::from_secs(30),
        )
        .await
        .expect("keyed records are accepted");
    let consumer = consumer_from_start(&bootstrap, &topic, 1, &[]);
    let (low, high) = tokio::task::block_in_place(|| {
        consumer
            .fetch_watermarks(&topic, 0, Duration::from_secs(10))
            .unwrap()
    });
    assert_eq!(
        (low, high),
        (0, 1),
        "nothing of the refused batch was stored"
    );
    // A topic with the default policy takes keyless records.
    let plain = unique_topic("not-compacted");
    create_topic(&bootstrap, &plain, 1, &[]).await;
    producer
        .send(
            FutureRecord::<(), str>::to(&plain)
                .partition(0)
                .payload("no key"),
            Duration::from_secs(30),
        )
        .await
        .expect("delete-policy topics take keyless records");
}
