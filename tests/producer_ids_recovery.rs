//! `__sluice_metadata/producer-ids` is a small state file like any other: if
//! it is lost or damaged, the broker must still start and must never hand out
//! a producer id that a partition (or the transaction coordinator) already
//! knows. A reused id makes a new producer's first batches look like retries
//! of an old producer's (same id, epoch 0, sequence 0...), so the broker
//! acknowledges them with the old offsets and writes nothing: acknowledged
//! messages silently lost. Reproduced as found: real idempotent librdkafka
//! producers, the file deleted or overwritten between runs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::child::ChildBroker;
use common::*;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{
    BaseRecord, DefaultProducerContext, FutureRecord, Producer, ThreadedProducer,
};

const T: Duration = Duration::from_secs(30);

fn ids_file(dir: &Path) -> std::path::PathBuf {
    dir.join("__sluice_metadata").join("producer-ids")
}

/// Sends `values` to partition 0 of `topic` one at a time (one batch each),
/// with an idempotent producer; returns the offsets the broker acknowledged.
async fn send_idempotent(bootstrap: &str, topic: &str, values: &[String]) -> Vec<i64> {
    let producer = producer(
        bootstrap,
        &[("enable.idempotence", "true"), ("linger.ms", "0")],
    );
    let mut offsets = Vec::new();
    for v in values {
        let delivery = producer
            .send(FutureRecord::to(topic).partition(0).key("k").payload(v), T)
            .await
            .unwrap_or_else(|(e, _)| panic!("delivery of {v}: {e}"));
        offsets.push(delivery.offset);
    }
    offsets
}

fn values(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i}")).collect()
}

fn consumed_values(bootstrap: &str, topic: &str, expected: usize) -> Vec<String> {
    let consumer = consumer_from_start(
        bootstrap,
        topic,
        1,
        &[("isolation.level", "read_committed")],
    );
    let got = tokio::task::block_in_place(|| consume(&consumer, expected, T));
    got.into_iter()
        .map(|g| String::from_utf8(g.value.unwrap_or_default()).unwrap())
        .collect()
}

/// Clean shutdown (producer state comes back from the snapshot), file deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_producer_ids_file_never_reuses_an_id() {
    if ephemeral_mode() {
        return;
    }
    let mut broker = TestBroker::start().await;
    let topic = unique_topic("lost-pids");
    create_topic(&broker.bootstrap(), &topic, 1, &[]).await;
    let old = values("old", 3);
    assert_eq!(
        send_idempotent(&broker.bootstrap(), &topic, &old).await,
        vec![0, 1, 2]
    );

    broker.broker.take().unwrap().shutdown().await;
    std::fs::remove_file(ids_file(&broker.dir)).expect("the producer-ids file existed");
    broker.restart().await;

    // A new producer: its batches are new data, not retries of the old one's.
    let new = values("new", 3);
    assert_eq!(
        send_idempotent(&broker.bootstrap(), &topic, &new).await,
        vec![3, 4, 5],
        "the new producer's batches were appended, not taken for retries"
    );
    let all: Vec<String> = old.iter().chain(&new).cloned().collect();
    assert_eq!(consumed_values(&broker.bootstrap(), &topic, 6), all);
}

/// SIGKILL (producer state comes back from the log itself), file garbage.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_producer_ids_file_does_not_stop_start() {
    let dir = tempfile::tempdir().unwrap();
    let topic = "garbage-pids";
    let old = values("old", 3);
    {
        let broker = ChildBroker::start(dir.path(), &["--fsync", "always"]);
        create_topic(&broker.addr, topic, 1, &[]).await;
        assert_eq!(
            send_idempotent(&broker.addr, topic, &old).await,
            vec![0, 1, 2]
        );
        broker.kill();
    }
    for garbage in [&b"xyz\n"[..], b"-7\n", b"", b"\x00\xff\x13garbage"] {
        std::fs::write(ids_file(dir.path()), garbage).unwrap();
        // Starts (the old code refused to: "invalid digit found in string").
        // Killed, not stopped: no snapshot, the next start replays the log.
        ChildBroker::start(dir.path(), &["--fsync", "always"]).kill();
    }
    std::fs::write(ids_file(dir.path()), b"not a number").unwrap();
    let broker = ChildBroker::start(dir.path(), &["--fsync", "always"]);
    let new = values("new", 3);
    assert_eq!(
        send_idempotent(&broker.addr, topic, &new).await,
        vec![3, 4, 5],
        "the new producer's batches were appended, not taken for retries"
    );
    let all: Vec<String> = old.iter().chain(&new).cloned().collect();
    assert_eq!(consumed_values(&broker.addr, topic, 6), all);
    broker.stop();
}

type TxnProducer = ThreadedProducer<DefaultProducerContext>;

fn txn_producer(bootstrap: &str, transactional_id: &str) -> TxnProducer {
    let mut c: ClientConfig = client_config(bootstrap);
    c.set("transactional.id", transactional_id)
        .set("linger.ms", "0")
        .set("message.timeout.ms", "60000");
    let p: TxnProducer = c.create().expect("transactional producer");
    p.init_transactions(T).expect("init_transactions");
    p
}

/// The only trace of an id may be the transaction coordinator's: a
/// transactional id that got its producer id but has not written to any
/// partition yet. A new idempotent producer given that same id is fenced
/// as soon as the transactional producer writes (its epoch is newer), and
/// its acknowledged-looking writes fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_producer_ids_file_never_reuses_a_transactional_id_s_producer_id() {
    if ephemeral_mode() {
        return;
    }
    let mut broker = TestBroker::start().await;
    let topic = unique_topic("lost-pids-txn");
    create_topic(&broker.bootstrap(), &topic, 1, &[]).await;
    // Gets a producer id (recorded in __transaction_state), writes no data.
    drop(txn_producer(&broker.bootstrap(), "lost-pids-tx"));

    broker.broker.take().unwrap().shutdown().await;
    std::fs::remove_file(ids_file(&broker.dir)).expect("the producer-ids file existed");
    broker.restart().await;
    let bootstrap = broker.bootstrap();

    let idempotent = producer(
        &bootstrap,
        &[("enable.idempotence", "true"), ("linger.ms", "0")],
    );
    let send = |value: String| {
        let idempotent = &idempotent;
        let topic = &topic;
        async move {
            idempotent
                .send(
                    FutureRecord::to(topic)
                        .partition(0)
                        .key("k")
                        .payload(&value),
                    T,
                )
                .await
                .map(|d| d.offset)
                .map_err(|(e, _)| e.to_string())
        }
    };
    assert_eq!(send("idem-0".into()).await, Ok(0));

    // The transactional id comes back (epoch bump of its recorded id) and
    // commits a transaction.
    let tx = txn_producer(&bootstrap, "lost-pids-tx");
    tx.begin_transaction().unwrap();
    tx.send(BaseRecord::to(&topic).partition(0).key("k").payload("tx-0"))
        .map_err(|(e, _)| e)
        .unwrap();
    tx.commit_transaction(T).expect("commit");

    // The idempotent producer is unaffected: it never shared an id.
    let next = send("idem-1".into()).await;
    assert!(
        next.is_ok(),
        "the idempotent producer was fenced by a transactional producer with its id: {next:?}"
    );
    let got = consumed_values(&bootstrap, &topic, 3);
    assert_eq!(got, vec!["idem-0", "tx-0", "idem-1"]);
}
