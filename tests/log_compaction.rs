//! Log compaction with real clients: topics with `cleanup.policy=compact`
//! are cleaned in the background (every 50 ms here) and a consumer from
//! offset 0 sees exactly the latest record of every key, at the offset it
//! was produced at; tombstones go after `delete.retention.ms`; aborted
//! transactions go, committed ones stay.
//!
//! Every check waits on its condition (a fresh consumer reads the whole
//! partition until it sees the expected records), bounded at 120 s.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::*;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};

/// (offset, value) of the record each key should keep; `None` = tombstone.
type Expected = BTreeMap<String, (i64, Option<String>)>;

async fn compacting_broker() -> TestBroker {
    logs::capture();
    TestBroker::start_with(|c| {
        c.cleaner_backoff_ms = 50;
    })
    .await
}

async fn compacted_topic(broker: &TestBroker, prefix: &str, extra: &[(&str, &str)]) -> String {
    let topic = unique_topic(prefix);
    let mut configs = vec![("cleanup.policy", "compact"), ("segment.bytes", "100000")];
    configs.extend_from_slice(extra);
    create_topic(&broker.bootstrap(), &topic, 1, &configs).await;
    topic
}

async fn send(producer: &FutureProducer, topic: &str, key: &str, value: Option<&str>) -> i64 {
    let mut record = FutureRecord::<str, str>::to(topic).partition(0).key(key);
    if let Some(value) = value {
        record = record.payload(value);
    }
    producer
        .send(record, Duration::from_secs(30))
        .await
        .expect("delivered")
        .offset
}

/// A record larger than segment.bytes (even compressed: pseudo-random
/// letters) goes into a segment of its own: all before it is sealed, so
/// cleanable.
async fn roll(producer: &FutureProducer, topic: &str) -> i64 {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let big: String = (0..400_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'!' + (x % 90) as u8)
        })
        .collect();
    send(producer, topic, "roll", Some(&big)).await
}

/// Everything a read_uncommitted consumer reads from offset 0 up to and
/// including `last`: key -> every (offset, value) seen.
fn read_all(
    bootstrap: &str,
    topic: &str,
    last: i64,
) -> BTreeMap<String, Vec<(i64, Option<String>)>> {
    let consumer = consumer_from_start(
        bootstrap,
        topic,
        1,
        &[("isolation.level", "read_uncommitted")],
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen: BTreeMap<String, Vec<(i64, Option<String>)>> = BTreeMap::new();
    loop {
        let got = consume(&consumer, 1, Duration::from_millis(200));
        for g in got {
            let key = String::from_utf8(g.key.unwrap_or_default()).unwrap();
            let value = g.value.map(|v| String::from_utf8(v).unwrap());
            let done = g.offset >= last;
            seen.entry(key).or_default().push((g.offset, value));
            if done {
                return seen;
            }
        }
        assert!(Instant::now() < deadline, "offset {last} never came");
    }
}

/// Waits until the partition holds exactly `expected` (plus the roll
/// records, whatever they are).
async fn wait_for_exactly(bootstrap: &str, topic: &str, expected: &Expected, last: i64) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (b, t) = (bootstrap.to_string(), topic.to_string());
        let mut seen = tokio::task::spawn_blocking(move || read_all(&b, &t, last))
            .await
            .unwrap();
        seen.remove("roll");
        let exact = seen.len() == expected.len()
            && expected.iter().all(|(k, want)| {
                seen.get(k)
                    .is_some_and(|got| got.as_slice() == [want.clone()])
            });
        if exact {
            return;
        }
        let versions: usize = seen.values().map(Vec::len).sum();
        assert!(
            Instant::now() < deadline,
            "never compacted to the latest record per key: {} keys, {versions} records seen; {:?} {:?}",
            seen.len(),
            logs::lines_with(&["clean", topic]),
            logs::lines_with(&["failed"]),
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn latest_of_each_key(codec: &str) {
    let broker = compacting_broker().await;
    let topic = compacted_topic(&broker, &format!("compact-{codec}"), &[]).await;
    let producer = producer(
        &broker.bootstrap(),
        &[("compression.codec", codec), ("linger.ms", "5")],
    );
    let mut expected = Expected::new();
    for version in 0..100 {
        let sends: Vec<_> = (0..100)
            .map(|k| {
                let key = format!("key-{k:03}");
                let value = format!("v{version:03}-{k:03}-{}", "p".repeat(40));
                let record = FutureRecord::to(&topic)
                    .partition(0)
                    .key(&key)
                    .payload(&value);
                let future = producer.send_result(record).expect("queued");
                (key, value, future)
            })
            .collect();
        for (key, value, future) in sends {
            let offset = future.await.unwrap().expect("delivered").offset;
            expected.insert(key, (offset, Some(value)));
        }
    }
    let last = roll(&producer, &topic).await;
    wait_for_exactly(&broker.bootstrap(), &topic, &expected, last).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uncompressed_keeps_the_latest_value_of_every_key_at_its_offset() {
    latest_of_each_key("none").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_keeps_the_latest_value_of_every_key_at_its_offset() {
    latest_of_each_key("gzip").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snappy_keeps_the_latest_value_of_every_key_at_its_offset() {
    latest_of_each_key("snappy").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lz4_keeps_the_latest_value_of_every_key_at_its_offset() {
    latest_of_each_key("lz4").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zstd_keeps_the_latest_value_of_every_key_at_its_offset() {
    latest_of_each_key("zstd").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tombstoned_keys_disappear_after_delete_retention() {
    let broker = compacting_broker().await;
    let topic = compacted_topic(&broker, "tombstones", &[("delete.retention.ms", "300")]).await;
    let producer = producer(&broker.bootstrap(), &[]);
    let mut expected = Expected::new();
    for version in 0..3 {
        for k in 0..20 {
            let (key, value) = (format!("key-{k:02}"), format!("v{version}"));
            let offset = send(&producer, &topic, &key, Some(&value)).await;
            expected.insert(key, (offset, Some(value)));
        }
    }
    for k in 0..10 {
        let key = format!("key-{k:02}");
        send(&producer, &topic, &key, None).await;
        expected.remove(&key);
    }
    let last = roll(&producer, &topic).await;
    wait_for_exactly(&broker.bootstrap(), &topic, &expected, last).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aborted_transactions_are_removed_and_committed_ones_kept() {
    let broker = compacting_broker().await;
    let topic = compacted_topic(&broker, "compact-txn", &[]).await;
    let bootstrap = broker.bootstrap();
    let txn_producer: FutureProducer = client_config(&bootstrap)
        .set("transactional.id", unique_topic("compaction-txn"))
        .set("linger.ms", "5")
        .create()
        .expect("transactional producer");
    tokio::task::block_in_place(|| txn_producer.init_transactions(Duration::from_secs(30)))
        .unwrap();
    let mut expected = Expected::new();
    for round in 0..10 {
        tokio::task::block_in_place(|| txn_producer.begin_transaction()).unwrap();
        let mut sent = Vec::new();
        for k in 0..20 {
            let (key, value) = (format!("key-{k:02}"), format!("committed-{round}"));
            let offset = send(&txn_producer, &topic, &key, Some(&value)).await;
            sent.push((key, (offset, Some(value))));
        }
        tokio::task::block_in_place(|| txn_producer.commit_transaction(Duration::from_secs(30)))
            .unwrap();
        expected.extend(sent);
        // An aborted transaction over the same keys (and one key of its own).
        tokio::task::block_in_place(|| txn_producer.begin_transaction()).unwrap();
        for k in 0..21 {
            send(
                &txn_producer,
                &topic,
                &format!("key-{k:02}"),
                Some("aborted"),
            )
            .await;
        }
        tokio::task::block_in_place(|| txn_producer.abort_transaction(Duration::from_secs(30)))
            .unwrap();
    }
    let plain = producer(&bootstrap, &[]);
    let last = roll(&plain, &topic).await;
    wait_for_exactly(&bootstrap, &topic, &expected, last).await;
}

/// `__consumer_offsets-0`'s segments on disk: (count, bytes).
fn offsets_segments(broker: &TestBroker) -> (usize, u64) {
    let dir = broker.dir.join("__consumer_offsets-0");
    let mut count = 0;
    let mut bytes = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "log") {
            count += 1;
            bytes += std::fs::metadata(&path).map_or(0, |m| m.len());
        }
    }
    (count, bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_offsets_stays_bounded_under_100000_commits_of_one_group() {
    use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
    use rdkafka::{Offset, TopicPartitionList};
    if ephemeral_mode() {
        return;
    }
    let tweak = |c: &mut sluice::Config| {
        c.cleaner_backoff_ms = 50;
        c.offsets_topic_segment_bytes = 100_000;
        c.fsync = sluice::config::FsyncMode::Never;
    };
    let mut broker = TestBroker::start_with(tweak).await;
    let topic = unique_topic("offsets-bounded");
    create_topic(&broker.bootstrap(), &topic, 1, &[]).await;
    let group = unique_topic("one-group");
    let consumer: BaseConsumer = client_config(&broker.bootstrap())
        .set("group.id", &group)
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let commits = 100_000i64;
    tokio::task::block_in_place(|| {
        for i in 1..=commits {
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition_offset(&topic, 0, Offset::Offset(i))
                .unwrap();
            // Every 500th waits, so that at most 500 are in flight.
            let mode = if i % 500 == 0 {
                CommitMode::Sync
            } else {
                CommitMode::Async
            };
            consumer.commit(&tpl, mode).unwrap();
            if i % 500 != 0 {
                consumer.poll(Duration::ZERO);
            }
        }
    });
    // 100,000 commit records are several MB; compacted, a few segments of
    // at most 100 KB each.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (count, bytes) = offsets_segments(&broker);
        if count <= 4 && bytes <= 400_000 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "__consumer_offsets not compacted: {count} segments, {bytes} bytes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(consumer);
    broker.restart_with(tweak).await;
    let consumer: BaseConsumer = client_config(&broker.bootstrap())
        .set("group.id", &group)
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition(&topic, 0);
    let committed =
        tokio::task::block_in_place(|| consumer.committed_offsets(tpl, Duration::from_secs(30)))
            .unwrap();
    assert_eq!(
        committed.find_partition(&topic, 0).unwrap().offset(),
        Offset::Offset(commits),
        "the last commit survives compaction and a restart"
    );
}

/// What a read_uncommitted consumer reads up to `last`: key -> latest value.
fn latest_values(bootstrap: &str, topic: &str, last: i64) -> BTreeMap<String, Option<String>> {
    read_all(bootstrap, topic, last)
        .into_iter()
        .filter_map(|(k, v)| Some((k, v.last()?.1.clone())))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_during_cleaning_loses_nothing() {
    if ephemeral_mode() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // The cleaner runs whenever a segment rolls (every ~20 KB here), so kills
    // land in passes at whatever step they are.
    let args = ["--cleaner-backoff-ms", "1"];
    let mut child = child::ChildBroker::start(dir.path(), &args);
    let topic = unique_topic("compact-kill");
    create_topic(
        &child.addr,
        &topic,
        1,
        &[("cleanup.policy", "compact"), ("segment.bytes", "20000")],
    )
    .await;
    let mut expected: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut last = 0;
    for round in 0..3 {
        let producer = producer(&child.addr, &[("linger.ms", "1")]);
        for version in 0..20 {
            for k in 0..50 {
                let (key, value) = (
                    format!("key-{k:02}"),
                    format!("r{round}-v{version:02}-{}", "x".repeat(50)),
                );
                last = send(&producer, &topic, &key, Some(&value)).await;
                expected.insert(key, Some(value));
            }
        }
        drop(producer);
        child.kill();
        child = child::ChildBroker::start(dir.path(), &args);
        let (addr, t) = (child.addr.clone(), topic.clone());
        let seen = tokio::task::spawn_blocking(move || latest_values(&addr, &t, last))
            .await
            .unwrap();
        assert_eq!(
            seen, expected,
            "round {round}: every key's latest value survives the kill"
        );
    }
    let producer = producer(&child.addr, &[]);
    let last = roll(&producer, &topic).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (addr, t) = (child.addr.clone(), topic.clone());
        let mut seen = tokio::task::spawn_blocking(move || read_all(&addr, &t, last))
            .await
            .unwrap();
        seen.remove("roll");
        let compacted = seen.values().all(|v| v.len() == 1);
        let latest: BTreeMap<_, _> = seen
            .into_iter()
            .filter_map(|(k, v)| Some((k, v.last()?.1.clone())))
            .collect();
        assert_eq!(latest, expected);
        if compacted {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never fully compacted after the kills"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    child.stop();
}
