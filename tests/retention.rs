//! Retention by size and by time deletes whole segments in the background;
//! the log start offset moves, ListOffsets earliest follows, and a consumer
//! behind it resets per auto.offset.reset.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::FutureRecord;

async fn produce_batches(bootstrap: &str, topic: &str, n: usize, timestamp: Option<i64>) {
    let producer = producer(bootstrap, &[("linger.ms", "0")]);
    for i in 0..n {
        let value = format!("{i:05}-{}", "x".repeat(100));
        let mut record = FutureRecord::to(topic).key("k").payload(&value);
        if let Some(ts) = timestamp {
            record = record.timestamp(ts + i as i64);
        }
        producer
            .send(record, Duration::from_secs(30))
            .await
            .unwrap();
    }
}

fn watermarks(consumer: &BaseConsumer, topic: &str) -> (i64, i64) {
    tokio::task::block_in_place(|| {
        consumer
            .fetch_watermarks(topic, 0, Duration::from_secs(10))
            .unwrap()
    })
}

/// Polls until the log start offset passes `min`, within 30 s.
async fn wait_for_start(consumer: &BaseConsumer, topic: &str, min: i64) -> (i64, i64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let marks = watermarks(consumer, topic);
        if marks.0 > min || Instant::now() > deadline {
            return marks;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn segment_files(broker: &TestBroker, topic: &str) -> usize {
    std::fs::read_dir(broker.dir.join(format!("{topic}-0")))
        .map(|d| {
            d.filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "log")
            })
            .count()
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_bytes_deletes_old_segments() {
    let broker = TestBroker::start_with(|c| c.retention_check_interval_ms = 100).await;
    let topic = unique_topic("ret-bytes");
    create_topic(
        &broker.bootstrap(),
        &topic,
        1,
        &[("segment.bytes", "1024"), ("retention.bytes", "3000")],
    )
    .await;
    produce_batches(&broker.bootstrap(), &topic, 100, None).await;
    let consumer = consumer_from_start(
        &broker.bootstrap(),
        &topic,
        1,
        &[("auto.offset.reset", "earliest")],
    );
    // Retention may run while the batches are still arriving and delete a
    // few segments early; wait for the pass that sees all 100 records.
    let (low, high) = wait_for_start(&consumer, &topic, 50).await;
    assert_eq!(high, 100);
    assert!(low > 50, "old segments deleted, log start offset {low}");
    if !ephemeral_mode() {
        assert!(
            segment_files(&broker, &topic) <= 6,
            "only a few segments left"
        );
    }
    // A consumer from offset 0 is out of range and resets to the start.
    let got = tokio::task::block_in_place(|| {
        consume(&consumer, (high - low) as usize, Duration::from_secs(30))
    });
    assert_eq!(
        got.first().map(|g| g.offset),
        Some(low),
        "reset to the log start offset"
    );
    assert_eq!(got.last().map(|g| g.offset), Some(99));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_ms_deletes_expired_segments_and_the_log_stays_writable() {
    let broker = TestBroker::start_with(|c| c.retention_check_interval_ms = 100).await;
    let topic = unique_topic("ret-ms");
    create_topic(
        &broker.bootstrap(),
        &topic,
        1,
        &[("segment.bytes", "1024"), ("retention.ms", "60000")],
    )
    .await;
    // Records stamped a day ago are past a one-minute retention at once.
    let day_ago = produce::now_ms() - 86_400_000;
    produce_batches(&broker.bootstrap(), &topic, 40, Some(day_ago)).await;
    let consumer = consumer_from_start(
        &broker.bootstrap(),
        &topic,
        1,
        &[("auto.offset.reset", "earliest")],
    );
    let (low, high) = wait_for_start(&consumer, &topic, 39).await;
    assert_eq!(
        (low, high),
        (40, 40),
        "every expired segment is gone, the active one included"
    );
    // New data lands at offset 40 and is served.
    produce_batches(&broker.bootstrap(), &topic, 1, None).await;
    let got = tokio::task::block_in_place(|| consume(&consumer, 1, Duration::from_secs(30)));
    assert_eq!(got.first().map(|g| g.offset), Some(40));
}

mod produce {
    pub fn now_ms() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64
    }
}
