//! Expiry of idle transactional ids (`transactional.id.expiration.ms`) and
//! idle producer ids (`producer.id.expiration.ms`) with real librdkafka
//! producers, driven by an injected clock: the id leaves ListTransactions
//! and DescribeTransactions, the producer leaves DescribeProducers, a later
//! batch of the expired producer is accepted (KIP-360), InitProducerId
//! starts afresh, and a restart brings none of them back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{client_config, ephemeral_mode, now_ms};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use sluice::admin::{NewTopic, TransactionFilter};
use sluice::clock::ManualClock;
use sluice::Broker;

const T: Duration = Duration::from_secs(30);
const EXPIRATION_MS: i64 = 600_000;
/// Past the expiration, with room for the real time a test takes (client
/// timestamps follow the system clock, which moves on under the manual one).
const PAST_EXPIRATION_MS: i64 = EXPIRATION_MS + 300_000;

type Client = ThreadedProducer<DefaultProducerContext>;

async fn start(dir: &Path, clock: &Arc<ManualClock>, expiration_ms: i64, check_ms: i64) -> Broker {
    let (expiration, check) = (expiration_ms.to_string(), check_ms.to_string());
    Broker::builder()
        .data_dir(dir)
        .listen("127.0.0.1:0")
        .clock(clock.clone())
        .option("transactional.id.expiration.ms", &expiration)
        .option(
            "transaction.remove.expired.transaction.cleanup.interval.ms",
            &check,
        )
        .option("producer.id.expiration.ms", &expiration)
        .option("producer.id.expiration.check.interval.ms", &check)
        .start()
        .await
        .expect("broker starts")
}

/// Polls `check` (every 20 ms, up to 30 s) until it holds.
async fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + T;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A transactional producer that commits one record to `topic`/0.
async fn commit_one(bootstrap: String, transactional_id: &'static str, topic: &'static str) {
    tokio::task::spawn_blocking(move || {
        let p: Client = client_config(&bootstrap)
            .set("transactional.id", transactional_id)
            .set("linger.ms", "5")
            .create()
            .unwrap();
        p.init_transactions(T).unwrap();
        p.begin_transaction().unwrap();
        p.send(BaseRecord::to(topic).partition(0).key("k").payload("v"))
            .map_err(|(e, _)| e)
            .unwrap();
        p.commit_transaction(T).unwrap();
    })
    .await
    .unwrap();
}

/// An idempotent producer that has delivered one record to `topic`/0.
async fn idempotent_sends_one(bootstrap: String, topic: &'static str) -> Client {
    tokio::task::spawn_blocking(move || {
        let p: Client = client_config(&bootstrap)
            .set("enable.idempotence", "true")
            .set("linger.ms", "5")
            .create()
            .unwrap();
        send_one(&p, topic);
        p
    })
    .await
    .unwrap()
}

fn send_one(p: &Client, topic: &str) {
    p.send(BaseRecord::to(topic).partition(0).key("k").payload("v"))
        .map_err(|(e, _)| e)
        .unwrap();
    p.flush(T).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_transactional_ids_and_producers_expire_and_stay_gone_after_a_restart() {
    if ephemeral_mode() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(now_ms());
    let broker = start(tmp.path(), &clock, EXPIRATION_MS, 50).await;
    let admin = broker.admin();
    admin
        .create_topic(NewTopic::new("payments", 1))
        .await
        .unwrap();
    // Stamped by the broker's (manual) clock: a batch sent after the clock
    // moved is recent, not already expired by its client's timestamp.
    admin
        .create_topic(NewTopic::new("events", 1).config("message.timestamp.type", "LogAppendTime"))
        .await
        .unwrap();
    let bootstrap = broker.bootstrap_servers();
    commit_one(bootstrap.clone(), "payer", "payments").await;
    let idempotent = idempotent_sends_one(bootstrap.clone(), "events").await;
    wait_until("the commit to complete", || {
        admin
            .describe_transaction("payer")
            .is_ok_and(|d| d.state == "CompleteCommit")
    })
    .await;
    let old = admin.describe_transaction("payer").unwrap();
    assert_eq!(admin.describe_producers("payments", 0).unwrap().len(), 1);
    let before = admin.describe_producers("events", 0).unwrap();
    assert_eq!(before.len(), 1);
    assert_eq!(before[0].last_sequence, 0);

    clock.advance(PAST_EXPIRATION_MS);
    wait_until("the transactional id to expire", || {
        admin
            .list_transactions(&TransactionFilter::all())
            .is_empty()
    })
    .await;
    assert_eq!(
        admin.describe_transaction("payer").unwrap_err().name(),
        "TRANSACTIONAL_ID_NOT_FOUND"
    );
    wait_until("the producers to expire", || {
        admin.describe_producers("payments", 0).unwrap().is_empty()
            && admin.describe_producers("events", 0).unwrap().is_empty()
    })
    .await;

    // The expired idempotent producer goes on with sequence 1: accepted, as
    // Kafka does since KIP-360 (no UNKNOWN_PRODUCER_ID), and tracked anew.
    let idempotent = tokio::task::spawn_blocking(move || {
        send_one(&idempotent, "events");
        idempotent
    })
    .await
    .unwrap();
    let after = admin.describe_producers("events", 0).unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].producer_id, before[0].producer_id);
    assert_eq!(after[0].last_sequence, 1);
    drop(idempotent);
    clock.advance(PAST_EXPIRATION_MS);
    wait_until("the idempotent producer to expire again", || {
        admin.describe_producers("events", 0).unwrap().is_empty()
    })
    .await;
    broker.shutdown().await;

    // A restart with expiry out of reach replays the tombstone and the
    // snapshot: nothing comes back.
    let broker = start(tmp.path(), &clock, i64::from(i32::MAX), 3_600_000).await;
    let admin = broker.admin();
    assert!(admin
        .list_transactions(&TransactionFilter::all())
        .is_empty());
    assert_eq!(
        admin.describe_transaction("payer").unwrap_err().name(),
        "TRANSACTIONAL_ID_NOT_FOUND"
    );
    assert!(admin.describe_producers("payments", 0).unwrap().is_empty());
    assert!(admin.describe_producers("events", 0).unwrap().is_empty());

    // InitProducerId with the expired id starts afresh: a new producer id.
    commit_one(broker.bootstrap_servers(), "payer", "payments").await;
    let fresh = admin.describe_transaction("payer").unwrap();
    assert_ne!(fresh.producer_id, old.producer_id);
    assert_eq!(fresh.producer_epoch, 0);
    let producers = admin.describe_producers("payments", 0).unwrap();
    assert_eq!(producers.len(), 1);
    assert_eq!(producers[0].producer_id, fresh.producer_id);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producers_past_their_expiration_are_dropped_when_the_broker_starts() {
    if ephemeral_mode() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(now_ms());
    // The periodic checks are an hour apart: only loading can expire here.
    let broker = start(tmp.path(), &clock, EXPIRATION_MS, 3_600_000).await;
    let admin = broker.admin();
    admin
        .create_topic(NewTopic::new("events", 1))
        .await
        .unwrap();
    drop(idempotent_sends_one(broker.bootstrap_servers(), "events").await);
    assert_eq!(admin.describe_producers("events", 0).unwrap().len(), 1);
    // A clean shutdown writes the producer into the snapshot.
    broker.shutdown().await;
    let snapshot = std::fs::read_dir(tmp.path().join("events-0"))
        .unwrap()
        .filter_map(Result::ok)
        .any(|e| e.file_name().to_string_lossy().ends_with(".snapshot"));
    assert!(snapshot, "a producer state snapshot was written");

    clock.advance(PAST_EXPIRATION_MS);
    let broker = start(tmp.path(), &clock, EXPIRATION_MS, 3_600_000).await;
    assert!(broker
        .admin()
        .describe_producers("events", 0)
        .unwrap()
        .is_empty());
    broker.shutdown().await;

    // Without a snapshot the whole log is replayed, which holds the
    // producer's batch: it is dropped all the same.
    remove_snapshots(&tmp.path().join("events-0"));
    let broker = start(tmp.path(), &clock, EXPIRATION_MS, 3_600_000).await;
    assert!(broker
        .admin()
        .describe_producers("events", 0)
        .unwrap()
        .is_empty());
    broker.shutdown().await;

    // The control: with an expiration not yet passed, the replayed log
    // brings the producer back, so above it was dropped for its age.
    remove_snapshots(&tmp.path().join("events-0"));
    let broker = start(tmp.path(), &clock, i64::from(i32::MAX), 3_600_000).await;
    assert_eq!(
        broker
            .admin()
            .describe_producers("events", 0)
            .unwrap()
            .len(),
        1
    );
    broker.shutdown().await;
}

fn remove_snapshots(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "snapshot") {
            std::fs::remove_file(path).unwrap();
        }
    }
}
