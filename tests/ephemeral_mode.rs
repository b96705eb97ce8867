//! `--ephemeral` keeps logs and metadata in memory: the broker serves
//! clients as usual and writes nothing to disk, not even its data directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use rdkafka::producer::FutureRecord;
use sluice::{Broker, Config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ephemeral_broker_serves_clients_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("never-created");
    let broker = Broker::start(Config {
        listen: "127.0.0.1:0".into(),
        data_dir: data_dir.clone(),
        ephemeral: true,
        segment_bytes: 4096,
        ..Config::default()
    })
    .await
    .unwrap();
    let bootstrap = broker.local_addr().to_string();
    create_topic(&bootstrap, "mem", 2, &[]).await;
    let producer = producer(&bootstrap, &[]);
    for i in 0..200 {
        producer
            .send(
                FutureRecord::to("mem")
                    .key(&format!("k{i}"))
                    .payload(&format!("v{i}")),
                Duration::from_secs(30),
            )
            .await
            .unwrap();
    }
    let consumer = consumer_from_start(&bootstrap, "mem", 2, &[]);
    let got = tokio::task::block_in_place(|| consume(&consumer, 200, Duration::from_secs(30)));
    assert_eq!(got.len(), 200);
    drop(consumer);
    drop(producer);
    broker.shutdown().await;
    assert!(!data_dir.exists(), "nothing was written to disk");
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}
