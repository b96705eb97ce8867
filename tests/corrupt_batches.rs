//! Damage on disk after a clean shutdown: a batch whose CRC no longer matches, a
//! rewritten base offset, a damaged batch header. The restarted broker never serves
//! the damaged batch (a fetch of it gets CORRUPT_MESSAGE, as Kafka answers a batch it
//! cannot read), logs it once, and keeps every intact batch after it reachable: a
//! consumer that seeks past the bad offset reads the rest.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::raw::Raw;
use common::*;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::FutureRecord;
use rdkafka::{Offset, TopicPartitionList};

const CORRUPT_MESSAGE: i16 = 2;

/// Log lines that mention `needle` and `what`.
fn log_lines_with(needle: &str, what: &str) -> usize {
    logs::lines_with(&[needle, what]).len()
}

/// A broker with `topic` holding `count` single-record batches (`value-NNNN`),
/// stopped cleanly.
async fn cleanly_stopped_broker(topic: &str, count: usize) -> TestBroker {
    logs::capture();
    let mut broker = TestBroker::start().await;
    create_topic(&broker.bootstrap(), topic, 1, &[]).await;
    let producer = producer(&broker.bootstrap(), &[("linger.ms", "0")]);
    for i in 0..count {
        producer
            .send(
                FutureRecord::to(topic)
                    .key("k")
                    .payload(&format!("value-{i:04}")),
                Duration::from_secs(30),
            )
            .await
            .unwrap();
    }
    drop(producer);
    broker.broker.take().unwrap().shutdown().await;
    broker
}

fn segment(broker: &TestBroker, topic: &str) -> PathBuf {
    let dir = broker.dir.join(format!("{topic}-0"));
    assert!(
        dir.join(".clean-shutdown").exists(),
        "the broker stopped cleanly"
    );
    dir.join("00000000000000000000.log")
}

/// (base offset, position, size) of every batch in a segment file.
fn batches_on_disk(log: &Path) -> Vec<(i64, u64, u64)> {
    let bytes = std::fs::read(log).unwrap();
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos + 61 <= bytes.len() {
        let base = i64::from_be_bytes(bytes[pos..pos + 8].try_into().unwrap());
        let size = 12 + i32::from_be_bytes(bytes[pos + 8..pos + 12].try_into().unwrap()) as usize;
        out.push((base, pos as u64, size as u64));
        pos += size;
    }
    assert_eq!(pos, bytes.len());
    out
}

fn overwrite(log: &Path, at: u64, bytes: &[u8]) {
    let f = std::fs::OpenOptions::new().write(true).open(log).unwrap();
    // No fsync: the broker reads through the same page cache.
    f.write_all_at(bytes, at).unwrap();
}

fn byte_at(log: &Path, at: u64) -> u8 {
    let f = std::fs::File::open(log).unwrap();
    let mut b = [0u8];
    f.read_exact_at(&mut b, at).unwrap();
    b[0]
}

/// One raw Fetch (v11, no wait) at `offset`: the error code and the (base, last)
/// offsets of the batches returned.
fn fetch(addr: &str, topic: &str, offset: i64) -> (i16, Vec<(i64, i64)>) {
    let mut raw = Raw::connect(addr);
    let req = common::raw::fetch_request(topic, offset, 0, 0);
    let resp = raw.call(11, &req);
    let part = &resp.responses[0].partitions[0];
    let records = part.records.clone().unwrap_or_default();
    let mut batches = Vec::new();
    let mut rest: &[u8] = &records;
    while rest.len() >= 61 {
        let base = i64::from_be_bytes(rest[0..8].try_into().unwrap());
        let size = 12 + i32::from_be_bytes(rest[8..12].try_into().unwrap()) as usize;
        let delta = i32::from_be_bytes(rest[23..27].try_into().unwrap());
        if size > rest.len() {
            break;
        }
        batches.push((base, base + i64::from(delta)));
        rest = &rest[size..];
    }
    (part.error_code, batches)
}

/// Every offset from `from` to the end, fetched batch after batch.
fn fetch_through(addr: &str, topic: &str, from: i64, end: i64) -> Vec<i64> {
    let mut next = from;
    let mut offsets = Vec::new();
    while next < end {
        let (error, batches) = fetch(addr, topic, next);
        assert_eq!(error, 0, "fetch at {next}");
        assert!(!batches.is_empty(), "fetch at {next} returned nothing");
        for (base, last) in batches {
            offsets.extend(base..=last);
            next = last + 1;
        }
    }
    offsets
}

/// A real client assigned at `offset`: the records it reads.
fn consume_from(bootstrap: &str, topic: &str, offset: i64, count: usize) -> Vec<Got> {
    let consumer = consumer_from_start(bootstrap, topic, 1, &[]);
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Offset(offset))
        .unwrap();
    consumer.assign(&tpl).unwrap();
    consume(&consumer, count, Duration::from_secs(30))
}

fn assert_values(got: &[Got], first: i64) {
    for (i, g) in got.iter().enumerate() {
        let offset = first + i as i64;
        assert_eq!(g.offset, offset);
        assert_eq!(
            g.value.as_deref(),
            Some(format!("value-{offset:04}").as_bytes())
        );
    }
}

/// A consumer reading from the start: the offsets it got before it saw an error.
fn consume_until_error(consumer: &BaseConsumer, timeout: Duration) -> (Vec<i64>, bool) {
    let deadline = Instant::now() + timeout;
    let mut offsets = Vec::new();
    while Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => offsets.push(m.offset()),
            Some(Err(_)) => return (offsets, true),
            None => {}
        }
    }
    (offsets, false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_with_bad_crc_after_clean_shutdown_is_not_served() {
    let topic = "crc-after-clean";
    let mut broker = cleanly_stopped_broker(topic, 50).await;
    let log = segment(&broker, topic);
    let batches = batches_on_disk(&log);
    let (base, pos, size) = batches[20];
    assert_eq!(base, 20);
    // The last byte of the record's value: the batch still frames, its CRC fails.
    let at = pos + size - 2;
    overwrite(&log, at, &[byte_at(&log, at) ^ 0x5a]);

    broker.restart().await;
    let addr = broker.bootstrap();
    let (error, served) = tokio::task::block_in_place(|| fetch(&addr, topic, 0));
    assert_eq!(error, 0);
    assert_eq!(
        served.last().map(|b| b.1),
        Some(19),
        "the read stops before the damaged batch"
    );
    for _ in 0..3 {
        let (error, served) = tokio::task::block_in_place(|| fetch(&addr, topic, 20));
        assert_eq!(error, CORRUPT_MESSAGE, "the damaged batch is refused");
        assert!(served.is_empty());
    }
    assert_eq!(
        log_lines_with(topic, "corrupt batch on disk"),
        1,
        "logged once, not per fetch"
    );
    let rest = tokio::task::block_in_place(|| fetch_through(&addr, topic, 21, 50));
    assert_eq!(rest, (21..50).collect::<Vec<_>>());
    let got = tokio::task::block_in_place(|| consume_from(&addr, topic, 21, 29));
    assert_eq!(got.len(), 29);
    assert_values(&got, 21);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rewritten_base_offset_is_refused_not_served() {
    let topic = "rewritten-base";
    let mut broker = cleanly_stopped_broker(topic, 50).await;
    let log = segment(&broker, topic);
    let (base, pos, _) = batches_on_disk(&log)[20];
    assert_eq!(base, 20);
    // The base offset is outside the CRC: only continuity can tell.
    overwrite(&log, pos, &40i64.to_be_bytes());

    broker.restart().await;
    let addr = broker.bootstrap();
    let (error, served) = tokio::task::block_in_place(|| fetch(&addr, topic, 0));
    assert_eq!(error, 0);
    assert_eq!(served.first(), Some(&(0, 0)));
    assert_eq!(served.last().map(|b| b.1), Some(19));
    assert!(
        served.iter().all(|b| b.0 < 20),
        "the misnumbered batch is never served: {served:?}"
    );
    let (error, _) = tokio::task::block_in_place(|| fetch(&addr, topic, 20));
    assert_eq!(error, CORRUPT_MESSAGE);
    // Nothing after it was lost: the log still ends at 50.
    let rest = tokio::task::block_in_place(|| fetch_through(&addr, topic, 21, 50));
    assert_eq!(rest, (21..50).collect::<Vec<_>>());

    // librdkafka reading from the start gets 0..=19 and then an error, instead of
    // silently jumping to offset 40.
    let consumer = consumer_from_start(&addr, topic, 1, &[]);
    let (offsets, errored) =
        tokio::task::block_in_place(|| consume_until_error(&consumer, Duration::from_secs(30)));
    assert!(errored, "the consumer is told about the damage");
    assert_eq!(offsets, (0..20).collect::<Vec<_>>());
    let got = tokio::task::block_in_place(|| consume_from(&addr, topic, 21, 29));
    assert_values(&got, 21);
    assert_eq!(got.len(), 29);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_header_does_not_strand_later_records() {
    let topic = "damaged-header";
    // Enough batches for several offset-index entries (one per 4096 bytes), so that
    // the damage lies before the tail that recovery scans.
    let count = 200;
    let mut broker = cleanly_stopped_broker(topic, count).await;
    let log = segment(&broker, topic);
    let batches = batches_on_disk(&log);
    let (base, pos, _) = batches[20];
    assert_eq!(base, 20);
    // Magic byte and length: the header no longer frames a batch.
    overwrite(&log, pos + 8, &[0xff, 0xff, 0x00, 0x07]);
    overwrite(&log, pos + 16, &[0x09]);

    broker.restart().await;
    assert_eq!(
        log_lines_with(topic, "corrupt batch on disk"),
        1,
        "recovery after the clean shutdown noticed the damaged header"
    );
    let addr = broker.bootstrap();
    let (error, _) = tokio::task::block_in_place(|| fetch(&addr, topic, 20));
    assert_eq!(error, CORRUPT_MESSAGE, "not KAFKA_STORAGE_ERROR for ever");
    let rest = tokio::task::block_in_place(|| fetch_through(&addr, topic, 21, count as i64));
    assert_eq!(rest, (21..count as i64).collect::<Vec<_>>());
    let got = tokio::task::block_in_place(|| consume_from(&addr, topic, 21, count - 21));
    assert_eq!(got.len(), count - 21);
    assert_values(&got, 21);
    assert_eq!(
        log_lines_with(topic, "corrupt batch on disk"),
        1,
        "logged once, at start"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_offsets_batch_does_not_stop_start() {
    // The group coordinator replays __consumer_offsets at start through the same
    // checked reads: a damaged commit record loses that commit, not the broker.
    use rdkafka::consumer::CommitMode;
    let topic = "offsets-damage";
    let mut broker = cleanly_stopped_broker(topic, 5).await;
    broker.restart().await;
    let group = "offsets-damage-group";
    let commit = |offset: i64| {
        let consumer = consumer_from_start(&broker.bootstrap(), topic, 1, &[("group.id", group)]);
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, 0, Offset::Offset(offset))
            .unwrap();
        consumer.commit(&tpl, CommitMode::Sync).unwrap();
    };
    tokio::task::block_in_place(|| {
        commit(2);
        commit(4);
    });
    broker.broker.take().unwrap().shutdown().await;
    // The group's __consumer_offsets partition: the one with data.
    let log = std::fs::read_dir(&broker.dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("__consumer_offsets-"))
        })
        .map(|p| p.join("00000000000000000000.log"))
        .find(|l| std::fs::metadata(l).is_ok_and(|m| m.len() > 0))
        .expect("a commit on disk");
    let batches = batches_on_disk(&log);
    assert!(batches.len() >= 2, "{batches:?}");
    // The first commit's batch fails its CRC now.
    let (_, pos, size) = batches[0];
    let at = pos + size - 1;
    overwrite(&log, at, &[byte_at(&log, at) ^ 0xff]);

    broker.restart().await;
    let consumer = consumer_from_start(&broker.bootstrap(), topic, 1, &[("group.id", group)]);
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition(topic, 0);
    let committed = tokio::task::block_in_place(|| {
        consumer
            .committed_offsets(tpl, Duration::from_secs(30))
            .unwrap()
    });
    assert_eq!(
        committed.find_partition(topic, 0).unwrap().offset(),
        Offset::Offset(4),
        "the later commit survived"
    );
}
