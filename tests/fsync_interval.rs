//! `--fsync interval=<ms>`: the background flusher makes every partition
//! with new data durable (one filesystem commit for all of them), without
//! the produce waiting for it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use rdkafka::producer::FutureRecord;
use sluice::config::FsyncMode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_interval_flusher_makes_every_written_partition_durable() {
    if ephemeral_mode() {
        return; // nothing to fsync in memory
    }
    let broker = TestBroker::start_with(|c| c.fsync = FsyncMode::Interval(50)).await;
    let bootstrap = broker.bootstrap();
    let topic = unique_topic("interval");
    create_topic(&bootstrap, &topic, 6, &[]).await;
    let producer = producer(&bootstrap, &[("linger.ms", "0")]);
    for p in 0..6 {
        producer
            .send(
                FutureRecord::to(&topic).partition(p).key("k").payload("v"),
                Duration::from_secs(30),
            )
            .await
            .unwrap();
    }
    let broker = broker.broker.as_ref().unwrap();
    let unflushed = || (0..6).any(|p| broker.has_unflushed_data(&topic, p).unwrap());
    let deadline = Instant::now() + Duration::from_secs(20);
    while unflushed() {
        assert!(Instant::now() < deadline, "the flusher did not run");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
