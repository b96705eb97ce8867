//! The embedded broker as a downstream crate's test file would use it —
//! only Sluice's public API, and `rdkafka` (librdkafka) as the client under
//! test. Copy it into your crate's `tests/` with these dev-dependencies:
//!
//! ```toml
//! [dev-dependencies]
//! sluice = "..."
//! rdkafka = "0.39"
//! tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
//! ```
//!
//! `docs/embedding.md` walks through it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use sluice::Broker;

/// One broker for the test: in memory, on a free port, its topics created
/// before `start` returns.
async fn broker() -> Broker {
    Broker::builder()
        .topic("orders", 3)
        .topics("audit:1:cleanup.policy=compact")
        .start()
        .await
        .expect("the broker starts")
}

fn producer(bootstrap: &str) -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "true")
        .create()
        .unwrap()
}

fn group_consumer(bootstrap: &str, group: &str) -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap()
}

/// Polls until `n` messages arrived (at most 30 s).
fn receive(consumer: &BaseConsumer, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut got = Vec::new();
    while got.len() < n && Instant::now() < deadline {
        if let Some(message) = consumer.poll(Duration::from_millis(100)) {
            let message = message.unwrap();
            got.push(String::from_utf8_lossy(message.payload().unwrap_or_default()).into_owned());
        }
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_consume_and_reset_between_tests() {
    let broker = broker().await;
    let bootstrap = broker.bootstrap_servers();

    // The code under test produces...
    let producer = producer(&bootstrap);
    for i in 0..10 {
        producer
            .send(
                FutureRecord::to("orders")
                    .key(&format!("customer-{i}"))
                    .payload(&format!("order {i}")),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| e)
            .unwrap();
    }
    // ...and consumes, in a group (which rebalances at once: the broker is
    // ephemeral, so group.initial.rebalance.delay.ms is 0).
    let consumer = group_consumer(&bootstrap, "billing");
    consumer.subscribe(&["orders"]).unwrap();
    let got = tokio::task::block_in_place(|| receive(&consumer, 10));
    assert_eq!(got.len(), 10);
    consumer.commit_consumer_state(CommitMode::Sync).unwrap();

    // The test looks at the broker without a Kafka client.
    let admin = broker.admin();
    assert_eq!(admin.describe_topic("orders").unwrap().partitions, 3);
    let committed: i64 = admin
        .committed_offsets("billing")
        .unwrap()
        .iter()
        .map(|o| o.offset)
        .sum();
    assert_eq!(committed, 10);
    drop(consumer);

    // Next test: the broker as it started (orders and audit back, empty;
    // groups and offsets gone).
    let reset = broker.reset().await.unwrap();
    assert_eq!(reset.created_topics, ["orders", "audit"]);
    assert!(admin.committed_offsets("billing").unwrap().is_empty());
    let consumer = group_consumer(&bootstrap, "billing");
    consumer.subscribe(&["orders"]).unwrap();
    producer
        .send(
            FutureRecord::<(), str>::to("orders").payload("after the reset"),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(e, _)| e)
        .unwrap();
    let got = tokio::task::block_in_place(|| receive(&consumer, 1));
    assert_eq!(got, ["after the reset"]);

    drop(consumer);
    drop(producer);
    broker.shutdown().await;
}
