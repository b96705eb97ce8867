//! Each compression codec librdkafka offers (gzip, snappy, lz4, zstd) is
//! produced, stored as sent and consumed back intact.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use rdkafka::producer::FutureRecord;

async fn round_trip(codec: &str) {
    let broker = TestBroker::start().await;
    let topic = unique_topic(&format!("codec-{codec}"));
    create_topic(&broker.bootstrap(), &topic, 1, &[]).await;
    let producer = producer(
        &broker.bootstrap(),
        &[("compression.codec", codec), ("linger.ms", "20")],
    );
    let count = 500;
    let mut futures = Vec::new();
    for i in 0..count {
        // Repetitive values so that every codec really compresses.
        let value = format!("{codec} message {i} {}", "abcdefgh".repeat(20));
        let key = format!("k{i}");
        futures.push(
            producer
                .send_result(FutureRecord::to(&topic).key(&key).payload(&value))
                .expect("queued"),
        );
    }
    for f in futures {
        f.await.expect("delivered").expect("acknowledged");
    }
    let consumer = consumer_from_start(&broker.bootstrap(), &topic, 1, &[]);
    let got = tokio::task::block_in_place(|| consume(&consumer, count, Duration::from_secs(30)));
    assert_eq!(got.len(), count, "{codec}: all consumed");
    for (i, g) in got.iter().enumerate() {
        assert_eq!(g.offset, i as i64);
        assert_eq!(g.key.as_deref(), Some(format!("k{i}").as_bytes()));
        let value = format!("{codec} message {i} {}", "abcdefgh".repeat(20));
        assert_eq!(
            g.value.as_deref(),
            Some(value.as_bytes()),
            "{codec}: value {i}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_round_trips() {
    round_trip("gzip").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snappy_round_trips() {
    round_trip("snappy").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lz4_round_trips() {
    round_trip("lz4").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zstd_round_trips() {
    round_trip("zstd").await;
}
