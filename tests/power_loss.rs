//! Durability under power loss, which a SIGKILL cannot show (the page cache
//! survives a killed process, so those tests pass with `--fsync never` too).
//!
//! Each test runs a real broker (`--fsync always`, the default) on a data
//! directory watched by `sluice_storage::durable::PowerLossSim`, drives it
//! with real clients over TCP, lets the power go at a random sync (the
//! `n`-th, `n` drawn from a seed that is printed; set
//! `SLUICE_POWER_LOSS_SEED` to replay one), and starts the next broker on
//! the durable image: only what was fsynced, with new files and renames
//! whose directory was not fsynced undone, and in some rounds a random
//! prefix of each file's unsynced tail kept (torn writes). Once the power is
//! gone every sync fails, so whatever the dying broker still acknowledges
//! rests on an fsync that happened. After every round, everything that was
//! acknowledged must be there, exactly once: records produced with
//! acks=all, committed consumer offsets, created topics, committed
//! transactions. A skipped fsync on any of those paths fails a test.
//!
//! The simulator also injects one failed fsync, for the metadata log's
//! refusal to write after a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::{
    BaseRecord, DefaultProducerContext, FutureProducer, FutureRecord, Producer, ThreadedProducer,
};
use rdkafka::{Offset, TopicPartitionList};
use sluice::{Broker, Config};
use sluice_storage::durable::PowerLossSim;
use tempfile::TempDir;

const T: Duration = Duration::from_secs(30);

/// Rounds of a test: `default` (chosen to keep each test well under a
/// minute in a debug build), or `SLUICE_POWER_LOSS_ROUNDS`.
fn rounds(default: usize) -> usize {
    std::env::var("SLUICE_POWER_LOSS_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// xorshift64 from a seed that is printed, so that a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn new(test: &str) -> Rng {
        let seed = std::env::var("SLUICE_POWER_LOSS_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            });
        eprintln!("{test}: seed {seed} (SLUICE_POWER_LOSS_SEED={seed} replays it)");
        Rng(seed | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

async fn start_broker(dir: &Path) -> Broker {
    let config = Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.to_path_buf(),
        ..Config::default()
    };
    Broker::start(config)
        .await
        .expect("the broker starts on the durable image")
}

/// A broker whose data directory is under a power-loss simulation.
struct Life {
    sim: PowerLossSim,
    broker: Broker,
    dir: TempDir,
}

impl Life {
    /// Starts a broker on `dir`; in half the rounds it makes writes durable
    /// as on a kernel without a usable `syncfs` (one fsync per file and
    /// directory), so that those fsyncs are checked too.
    async fn start(dir: TempDir, rng: &mut Rng) -> Life {
        let sim = PowerLossSim::start(dir.path()).unwrap();
        if rng.below(2) == 0 {
            sim.without_syncfs();
        }
        let broker = start_broker(dir.path()).await;
        Life { sim, broker, dir }
    }

    fn addr(&self) -> String {
        self.broker.local_addr().to_string()
    }

    /// The power goes at the `n`-th sync from now.
    fn fail_at_sync(&self, n: u64) {
        self.sim.fail_at_sync(n);
    }

    fn powered_off(&self) -> bool {
        self.sim.powered_off()
    }

    /// Loses the power (if the n-th sync has not yet), stops the dying
    /// broker (its syncs all fail; it writes to the old directory only) and
    /// returns a fresh directory holding the durable image, in some rounds
    /// with torn tails.
    async fn lose_power(self, rng: &mut Rng) -> TempDir {
        self.sim.lose_power();
        self.broker.shutdown().await;
        let image = tempfile::tempdir().unwrap();
        let torn = (rng.below(2) == 0).then(|| rng.next());
        self.sim.durable_image(image.path(), torn).unwrap();
        drop(self.sim);
        drop(self.dir);
        image
    }
}

fn blocking<R>(f: impl FnOnce() -> R) -> R {
    tokio::task::block_in_place(f)
}

fn producer_for_power_loss(addr: &str) -> FutureProducer {
    // No retries: a retried request could append twice, and these tests are
    // about what the broker keeps, not about idempotence.
    producer(
        addr,
        &[
            ("acks", "all"),
            ("linger.ms", "2"),
            ("retries", "0"),
            ("message.timeout.ms", "10000"),
            ("request.timeout.ms", "5000"),
        ],
    )
}

/// Every record of `topic` (partitions `0..partitions`) as value → (partition, offset),
/// failing on a value stored twice.
fn read_everything(
    addr: &str,
    topic: &str,
    partitions: i32,
    isolation: &str,
) -> HashMap<String, (i32, i64)> {
    let consumer = consumer_from_start(addr, topic, partitions, &[("isolation.level", isolation)]);
    let mut highs = Vec::new();
    for p in 0..partitions {
        highs.push(consumer.fetch_watermarks(topic, p, T).unwrap().1);
    }
    if isolation == "read_committed" {
        // Wait until no transaction is open (the last stable offset is the
        // high watermark): markers may still be on their way.
        let uncommitted = consumer_from_start(addr, topic, partitions, &[]);
        let deadline = Instant::now() + T;
        for p in 0..partitions {
            loop {
                let stable = consumer.fetch_watermarks(topic, p, T).unwrap().1;
                let high = uncommitted.fetch_watermarks(topic, p, T).unwrap().1;
                if stable == high {
                    highs[p as usize] = stable;
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "{topic}/{p}: the last stable offset {stable} reaches the high watermark {high}"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
    let deadline = Instant::now() + T;
    let mut seen = HashMap::new();
    let caught_up = |c: &BaseConsumer| {
        let position = c.position().unwrap();
        (0..partitions).all(|p| {
            let high = highs[p as usize];
            high == 0
                || matches!(position.find_partition(topic, p).map(|e| e.offset()),
                    Some(Offset::Offset(o)) if o >= high)
        })
    };
    while !caught_up(&consumer) {
        assert!(Instant::now() < deadline, "read {topic} to its end in time");
        for g in consume(&consumer, 1, Duration::from_millis(200)) {
            let value = String::from_utf8(g.value.unwrap_or_default()).unwrap();
            let at = (g.partition, g.offset);
            if let Some(before) = seen.insert(value.clone(), at) {
                panic!("{value} is stored twice, at {before:?} and {at:?}");
            }
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_records_survive_power_loss() {
    if ephemeral_mode() {
        return;
    }
    let mut rng = Rng::new("acknowledged_records_survive_power_loss");
    let topic = "power";
    // Small segments: rolls (new files, directory fsyncs) happen on the way.
    let configs = [("segment.bytes", "4096")];
    let mut acked: HashMap<String, (i32, i64)> = HashMap::new();
    let mut dir = tempfile::tempdir().unwrap();
    for round in 0..rounds(30) {
        let life = Life::start(dir, &mut rng).await;
        let addr = life.addr();
        if round == 0 {
            create_topic(&addr, topic, 2, &configs).await;
        }
        let stored = blocking(|| read_everything(&addr, topic, 2, "read_uncommitted"));
        for (value, at) in &acked {
            assert_eq!(
                stored.get(value),
                Some(at),
                "round {round}: acknowledged {value} at {at:?} survived the power loss"
            );
        }
        let fail_at = 1 + rng.below(30);
        life.fail_at_sync(fail_at);
        let producer = producer_for_power_loss(&addr);
        let mut sent = 0u64;
        while !life.powered_off() && sent < 2000 {
            let mut wave = Vec::new();
            for _ in 0..1 + rng.below(60) {
                let value = format!("r{round}-m{sent}");
                let partition = (sent % 2) as i32;
                let record = FutureRecord::<(), _>::to(topic)
                    .partition(partition)
                    .payload(&value);
                if let Ok(f) = producer.send_result(record) {
                    wave.push((value, f));
                }
                sent += 1;
            }
            for (value, f) in wave {
                if let Ok(Ok(d)) = f.await {
                    acked.insert(value, (d.partition, d.offset));
                }
            }
        }
        drop(producer);
        eprintln!(
            "round {round}: power lost at sync {fail_at}, {} acknowledged in total",
            acked.len()
        );
        dir = life.lose_power(&mut rng).await;
    }

    let broker = start_broker(dir.path()).await;
    let addr = broker.local_addr().to_string();
    let stored = blocking(|| read_everything(&addr, topic, 2, "read_uncommitted"));
    assert!(!acked.is_empty(), "some records were acknowledged");
    for (value, at) in &acked {
        assert_eq!(
            stored.get(value),
            Some(at),
            "acknowledged {value} at {at:?} is there"
        );
    }
    // The recovered log takes writes after its end.
    let producer = producer_for_power_loss(&addr);
    producer
        .send(
            FutureRecord::<(), _>::to(topic)
                .partition(0)
                .payload("after"),
            T,
        )
        .await
        .expect("a write after recovery");
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_offsets_survive_power_loss() {
    if ephemeral_mode() {
        return;
    }
    let mut rng = Rng::new("committed_offsets_survive_power_loss");
    let topic = "power-offsets";
    let group = "power-group";
    let partitions = 3;
    let group_consumer = |addr: &str| -> BaseConsumer {
        let mut c = client_config(addr);
        c.set("group.id", group).set("enable.auto.commit", "false");
        c.create().unwrap()
    };
    let offsets_tpl = |value: i64| {
        let mut tpl = TopicPartitionList::new();
        for p in 0..partitions {
            tpl.add_partition_offset(topic, p, Offset::Offset(value + i64::from(p)))
                .unwrap();
        }
        tpl
    };
    // The last commit acknowledged, and the one that failed after it (which
    // may or may not have become durable).
    let mut last_acked: Option<i64> = None;
    let mut failed: Option<i64> = None;
    let mut next = 1i64;
    let mut dir = tempfile::tempdir().unwrap();
    for round in 0..rounds(24) {
        let life = Life::start(dir, &mut rng).await;
        let addr = life.addr();
        if round == 0 {
            create_topic(&addr, topic, partitions, &[]).await;
        }
        let consumer = group_consumer(&addr);
        if let Some(acked) = last_acked {
            let committed = blocking(|| consumer.committed_offsets(offsets_tpl(0), T).unwrap());
            for p in 0..partitions {
                let got = committed.find_partition(topic, p).unwrap().offset();
                let allowed: Vec<Offset> = [Some(acked), failed]
                    .into_iter()
                    .flatten()
                    .map(|v| Offset::Offset(v + i64::from(p)))
                    .collect();
                assert!(
                    allowed.contains(&got),
                    "round {round}: partition {p} has committed offset {got:?}, \
                     but the last acknowledged commit was {:?} (a failed one: {failed:?})",
                    acked + i64::from(p)
                );
            }
            // What is there now is durable (this directory is the image): a
            // commit that failed but was kept counts as the last one.
            if let Offset::Offset(o) = committed.find_partition(topic, 0).unwrap().offset() {
                last_acked = Some(o);
            }
        }
        let fail_at = 1 + rng.below(12);
        life.fail_at_sync(fail_at);
        failed = None;
        for _ in 0..200 {
            if life.powered_off() {
                break;
            }
            let value = next;
            next += 10;
            match blocking(|| consumer.commit(&offsets_tpl(value), CommitMode::Sync)) {
                Ok(()) => last_acked = Some(value),
                Err(_) => {
                    failed = Some(value);
                    break;
                }
            }
        }
        drop(consumer);
        eprintln!(
            "round {round}: power lost at sync {fail_at}, last acknowledged commit {last_acked:?}"
        );
        dir = life.lose_power(&mut rng).await;
    }
    assert!(last_acked.is_some(), "some commits were acknowledged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn created_topics_survive_power_loss() {
    if ephemeral_mode() {
        return;
    }
    let mut rng = Rng::new("created_topics_survive_power_loss");
    // Topic → partition count, for every creation acknowledged.
    let mut created: BTreeMap<String, i32> = BTreeMap::new();
    // A record written right after a creation, in its last partition (its
    // directory must be durable too): (topic, partition) → value, if acknowledged.
    let mut first_writes: BTreeMap<(String, i32), String> = BTreeMap::new();
    let check = |addr: &str, created: &BTreeMap<String, i32>, round: usize| {
        let producer = producer_for_power_loss(addr);
        let metadata = blocking(|| producer.client().fetch_metadata(None, T).unwrap());
        let found: HashMap<&str, usize> = metadata
            .topics()
            .iter()
            .filter(|t| t.error().is_none())
            .map(|t| (t.name(), t.partitions().len()))
            .collect();
        for (name, partitions) in created {
            assert_eq!(
                found.get(name.as_str()).copied(),
                Some(*partitions as usize),
                "round {round}: created topic {name} with {partitions} partitions survived"
            );
        }
    };
    let mut dir = tempfile::tempdir().unwrap();
    for round in 0..rounds(20) {
        let life = Life::start(dir, &mut rng).await;
        let addr = life.addr();
        check(&addr, &created, round);
        let fail_at = 1 + rng.below(16);
        life.fail_at_sync(fail_at);
        let admin = admin(&addr);
        let producer = producer_for_power_loss(&addr);
        for i in 0..10 {
            if life.powered_off() {
                break;
            }
            let name = format!("created-{round}-{i}");
            let partitions = 1 + rng.below(3) as i32;
            let new = NewTopic::new(&name, partitions, TopicReplication::Fixed(1));
            let outcome = admin
                .create_topics(&[new], &AdminOptions::new().operation_timeout(Some(T)))
                .await;
            match outcome.as_deref() {
                Ok([Ok(_)]) => {
                    created.insert(name.clone(), partitions);
                }
                _ => break,
            }
            let value = format!("first-{name}");
            let record = FutureRecord::<(), _>::to(&name)
                .partition(partitions - 1)
                .payload(&value);
            if producer.send(record, T).await.is_ok() {
                first_writes.insert((name, partitions - 1), value);
            }
        }
        drop(producer);
        drop(admin);
        eprintln!(
            "round {round}: power lost at sync {fail_at}, {} topics created in total",
            created.len()
        );
        dir = life.lose_power(&mut rng).await;
    }
    assert!(!created.is_empty(), "some topics were created");
    let broker = start_broker(dir.path()).await;
    let addr = broker.local_addr().to_string();
    check(&addr, &created, rounds(20));
    // Every write acknowledged right after a creation is there.
    blocking(|| {
        let mut c = client_config(&addr);
        c.set("group.id", "power-topics-reader")
            .set("enable.auto.commit", "false");
        let consumer: BaseConsumer = c.create().unwrap();
        let mut tpl = TopicPartitionList::new();
        for (name, p) in first_writes.keys() {
            tpl.add_partition_offset(name, *p, Offset::Beginning)
                .unwrap();
        }
        consumer.assign(&tpl).unwrap();
        let mut missing: HashSet<&String> = first_writes.values().collect();
        let deadline = Instant::now() + T;
        while !missing.is_empty() && Instant::now() < deadline {
            for g in consume(&consumer, 1, Duration::from_millis(200)) {
                missing.remove(&String::from_utf8(g.value.unwrap_or_default()).unwrap());
            }
        }
        assert!(
            missing.is_empty(),
            "acknowledged first writes lost: {missing:?}"
        );
    });
    // Every partition of every created topic opens and takes a write.
    let producer = producer_for_power_loss(&addr);
    for (name, partitions) in &created {
        for p in 0..*partitions {
            producer
                .send(FutureRecord::<(), _>::to(name).partition(p).payload("x"), T)
                .await
                .unwrap_or_else(|e| panic!("write to {name}/{p}: {e:?}"));
        }
    }
    broker.shutdown().await;
}

type TxnProducer = ThreadedProducer<DefaultProducerContext>;

fn txn_producer(addr: &str) -> TxnProducer {
    let mut c = client_config(addr);
    c.set("transactional.id", "power-txn")
        .set("linger.ms", "2")
        .set("message.timeout.ms", "10000")
        .set("request.timeout.ms", "5000");
    let p: TxnProducer = c.create().expect("transactional producer");
    p.init_transactions(T).expect("init_transactions");
    p
}

fn txn_send(p: &TxnProducer, topic: &str, partition: i32, value: &str) -> Result<(), KafkaError> {
    let deadline = Instant::now() + T;
    loop {
        match p.send(
            BaseRecord::<(), _>::to(topic)
                .partition(partition)
                .payload(value),
        ) {
            Ok(()) => return Ok(()),
            Err((
                KafkaError::MessageProduction(rdkafka::types::RDKafkaErrorCode::QueueFull),
                _,
            )) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Err((e, _)) => return Err(e),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_transactions_survive_power_loss() {
    if ephemeral_mode() {
        return;
    }
    let mut rng = Rng::new("committed_transactions_survive_power_loss");
    let topic = "power-txn";
    let partitions = 2;
    // Each transaction's values; committed ones must all be visible to a
    // read_committed consumer, one whose commit failed all or none.
    let mut committed: Vec<Vec<String>> = Vec::new();
    let mut unsure: Vec<Vec<String>> = Vec::new();
    let check = |addr: &str, committed: &[Vec<String>], unsure: &[Vec<String>], round: usize| {
        let visible = read_everything(addr, topic, partitions, "read_committed");
        let mut expected = HashSet::new();
        for txn in committed {
            for value in txn {
                assert!(
                    visible.contains_key(value),
                    "round {round}: {value} of a committed transaction is visible"
                );
                expected.insert(value.clone());
            }
        }
        for txn in unsure {
            let present = txn.iter().filter(|v| visible.contains_key(*v)).count();
            assert!(
                present == 0 || present == txn.len(),
                "round {round}: a transaction is all or nothing: {present} of {txn:?} visible"
            );
            expected.extend(txn.iter().cloned());
        }
        for value in visible.keys() {
            assert!(
                expected.contains(value),
                "round {round}: {value} is visible, though its transaction was never committed"
            );
        }
    };
    let mut dir = tempfile::tempdir().unwrap();
    for round in 0..rounds(16) {
        let life = Life::start(dir, &mut rng).await;
        let addr = life.addr();
        if round == 0 {
            create_topic(&addr, topic, partitions, &[]).await;
        }
        // A new producer with the same transactional.id ends whatever the
        // last one left open, so that the last stable offset reaches the end.
        let producer = blocking(|| txn_producer(&addr));
        blocking(|| check(&addr, &committed, &unsure, round));
        let fail_at = 1 + rng.below(40);
        life.fail_at_sync(fail_at);
        blocking(|| {
            for t in 0..20 {
                if life.powered_off() {
                    break;
                }
                let values: Vec<String> = (0..1 + rng.below(5))
                    .map(|k| format!("r{round}-t{t}-k{k}"))
                    .collect();
                producer.begin_transaction().unwrap();
                let sent = values
                    .iter()
                    .enumerate()
                    .try_for_each(|(k, v)| txn_send(&producer, topic, (k as i32) % partitions, v));
                // A commit the power loss interrupted is retried by the client
                // until this timeout (the coordinator is unavailable now).
                let outcome =
                    sent.and_then(|()| producer.commit_transaction(Duration::from_secs(1)));
                match outcome {
                    Ok(()) => committed.push(values),
                    Err(_) => {
                        unsure.push(values);
                        break;
                    }
                }
            }
        });
        blocking(|| drop(producer));
        eprintln!(
            "round {round}: power lost at sync {fail_at}, {} transactions committed in total",
            committed.len()
        );
        dir = life.lose_power(&mut rng).await;
    }
    assert!(!committed.is_empty(), "some transactions were committed");
    let broker = start_broker(dir.path()).await;
    let addr = broker.local_addr().to_string();
    let producer = blocking(|| txn_producer(&addr));
    blocking(|| check(&addr, &committed, &unsure, rounds(16)));
    blocking(|| drop(producer));
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_log_refuses_writes_after_failed_write() {
    if ephemeral_mode() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("__sluice_metadata").join("topics.log");
    let create = |addr: String, name: &'static str| async move {
        let admin = admin(&addr);
        let new = NewTopic::new(name, 1, TopicReplication::Fixed(1));
        let outcome = admin
            .create_topics(&[new], &AdminOptions::new().operation_timeout(Some(T)))
            .await
            .expect("CreateTopics answered");
        outcome.into_iter().next().unwrap()
    };
    {
        let sim = PowerLossSim::start(dir.path()).unwrap();
        let broker = start_broker(dir.path()).await;
        let addr = broker.local_addr().to_string();
        create(addr.clone(), "before")
            .await
            .expect("created before the failure");
        sim.fail_next_sync_of(&log).unwrap();
        let failed = create(addr.clone(), "failed").await;
        assert!(
            failed.is_err(),
            "a creation whose fsync failed is refused: {failed:?}"
        );
        // The next fsync would succeed, but the log must not be trusted (nor
        // appended to after a possibly torn line) until restart.
        let refused = create(addr.clone(), "refused").await;
        assert!(
            refused.is_err(),
            "the metadata log refuses writes after a failed one: {refused:?}"
        );
        broker.shutdown().await;
    }
    // The restart reads a consistent log and takes changes again.
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.ends_with('\n'), "no torn last line: {text:?}");
    assert!(!text.contains(" refused "), "{text:?}");
    let broker = start_broker(dir.path()).await;
    let addr = broker.local_addr().to_string();
    create(addr.clone(), "after")
        .await
        .expect("created after the restart");
    let producer = producer_for_power_loss(&addr);
    let metadata = blocking(|| producer.client().fetch_metadata(None, T).unwrap());
    let names: HashSet<&str> = metadata
        .topics()
        .iter()
        .filter(|t| t.error().is_none())
        .map(|t| t.name())
        .collect();
    assert!(
        names.contains("before") && names.contains("after"),
        "{names:?}"
    );
    assert!(!names.contains("refused"), "{names:?}");
    assert!(
        !names.contains("failed"),
        "a refused creation is not in the log: {names:?}"
    );
    broker.shutdown().await;
}
