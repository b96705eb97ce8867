//! Storage failures are never silent: a full disk and failing reads answer
//! KAFKA_STORAGE_ERROR and are logged at the default level, rate-limited (the first at
//! once, then a count), and writes resume once a write that wrote nothing can
//! succeed again. Failures are injected with `sluice_storage::faults` on the test's
//! own partition directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::raw::Raw;
use common::*;
use kafka_protocol::messages::delete_records_request::{
    DeleteRecordsPartition, DeleteRecordsTopic,
};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{DeleteRecordsRequest, FetchRequest, ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use sluice_storage::faults::{self, Op};

const KAFKA_STORAGE_ERROR: i16 = 56;
/// Linux errno values (no libc dependency in the broker crate).
const ENOSPC: i32 = 28;
const EIO: i32 = 5;

fn name(topic: &str) -> TopicName {
    TopicName(StrBytes::from_string(topic.to_string()))
}

/// One raw Produce (v8, acks=all): the error code and base offset.
fn produce(raw: &mut Raw, topic: &str, value: &str) -> (i16, i64) {
    let batch = batch::one_record_batch(b"k", value.as_bytes());
    let resp = raw.call(
        8,
        &ProduceRequest::default()
            .with_acks(-1)
            .with_timeout_ms(10_000)
            .with_topic_data(vec![TopicProduceData::default()
                .with_name(name(topic))
                .with_partition_data(vec![PartitionProduceData::default()
                    .with_index(0)
                    .with_records(Some(batch.into()))])]),
    );
    let p = &resp.responses[0].partition_responses[0];
    (p.error_code, p.base_offset)
}

/// One raw Fetch (v11, no wait): the error code and the bytes of records.
fn fetch(raw: &mut Raw, topic: &str, offset: i64) -> (i16, usize) {
    let req = FetchRequest::default()
        .with_max_wait_ms(0)
        .with_min_bytes(0)
        .with_max_bytes(1 << 20)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(name(topic))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(offset)
                .with_partition_max_bytes(1 << 20)])]);
    let resp = raw.call(11, &req);
    let p = &resp.responses[0].partitions[0];
    (p.error_code, p.records.as_ref().map_or(0, |r| r.len()))
}

/// The failures logged about `dir`: the "storage error" lines (each is one), and the
/// sum of the counts of those not logged one by one that lines carry.
fn failures_logged(dir: &str) -> (usize, u64) {
    let lines = logs::lines_with(&[dir, "storage error"]).len();
    let unlogged: u64 = logs::lines_with(&[dir, "unlogged_since_last_report="])
        .iter()
        .filter_map(|l| l.split("unlogged_since_last_report=").nth(1))
        .filter_map(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    (lines, unlogged)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_full_errors_are_logged_rate_limited_and_writes_resume() {
    logs::capture();
    let mut broker = TestBroker::start().await;
    let topic = unique_topic("disk-full");
    create_topic(&broker.bootstrap(), &topic, 1, &[]).await;
    let dir = broker.dir.join(format!("{topic}-0"));
    let dir = dir.to_string_lossy().into_owned();
    let addr = broker.bootstrap();

    faults::fail(Op::Write, &dir, ENOSPC, None);
    let t = topic.clone();
    let errors = tokio::task::block_in_place(|| {
        let mut raw = Raw::connect(&addr);
        (0..250)
            .map(|i| produce(&mut raw, &t, &format!("lost-{i}")).0)
            .collect::<Vec<_>>()
    });
    assert!(
        errors.iter().all(|e| *e == KAFKA_STORAGE_ERROR),
        "{errors:?}"
    );
    let (lines, _) = failures_logged(&dir);
    assert!(lines >= 1, "the disk-full errors are logged");
    assert!(lines < 50, "rate-limited, not one line per error: {lines}");
    assert!(!logs::lines_with(&[&dir, "No space left on device"]).is_empty());

    // Space is freed: the writes wrote nothing, so writing resumes.
    faults::clear(&dir);
    let t = topic.clone();
    let (error, offset) = tokio::task::block_in_place(|| {
        let mut raw = Raw::connect(&addr);
        produce(&mut raw, &t, "after")
    });
    assert_eq!((error, offset), (0, 0));

    // Closing the log sums up what was not logged one by one: every failure counted.
    broker.restart().await;
    let (lines, unlogged) = failures_logged(&dir);
    assert_eq!(lines as u64 + unlogged, 250);
    let consumer = consumer_from_start(&broker.bootstrap(), &topic, 1, &[]);
    let got =
        tokio::task::block_in_place(|| consume(&consumer, 1, std::time::Duration::from_secs(30)));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].value.as_deref(), Some(&b"after"[..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_reads_are_logged_and_answer_storage_error() {
    logs::capture();
    let broker = TestBroker::start().await;
    let topic = unique_topic("failing-reads");
    create_topic(&broker.bootstrap(), &topic, 1, &[]).await;
    let dir = broker.dir.join(format!("{topic}-0"));
    let dir = dir.to_string_lossy().into_owned();
    let addr = broker.bootstrap();
    let t = topic.clone();
    tokio::task::block_in_place(|| {
        let mut raw = Raw::connect(&addr);
        for i in 0..5 {
            assert_eq!(produce(&mut raw, &t, &format!("v{i}")), (0, i));
        }
    });

    faults::fail(Op::Read, &dir, EIO, None);
    let t = topic.clone();
    let answers = tokio::task::block_in_place(|| {
        let mut raw = Raw::connect(&addr);
        (0..20)
            .map(|_| fetch(&mut raw, &t, 0).0)
            .collect::<Vec<_>>()
    });
    assert!(
        answers.iter().all(|e| *e == KAFKA_STORAGE_ERROR),
        "{answers:?}"
    );
    let (lines, _) = failures_logged(&dir);
    assert!(lines >= 1, "the failing reads are logged");
    assert!(lines < 20, "rate-limited: {lines}");
    assert!(!logs::lines_with(&[&dir, "Input/output error"]).is_empty());

    faults::clear(&dir);
    let t = topic.clone();
    let (error, bytes) = tokio::task::block_in_place(|| {
        let mut raw = Raw::connect(&addr);
        fetch(&mut raw, &t, 0)
    });
    assert_eq!(error, 0);
    assert!(bytes > 0);
}

/// One raw DeleteRecords (v2) up to `offset`: the error code.
fn delete_records(raw: &mut Raw, topic: &str, offset: i64) -> i16 {
    let req = DeleteRecordsRequest::default()
        .with_timeout_ms(10_000)
        .with_topics(vec![DeleteRecordsTopic::default()
            .with_name(name(topic))
            .with_partitions(vec![DeleteRecordsPartition::default()
                .with_partition_index(0)
                .with_offset(offset)])]);
    raw.call(2, &req).topics[0].partitions[0].error_code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_fsync_refuses_writes_until_restart() {
    logs::capture();
    let mut broker = TestBroker::start().await;
    let topic = unique_topic("failed-fsync");
    create_topic(&broker.bootstrap(), &topic, 1, &[]).await;
    let dir = broker.dir.join(format!("{topic}-0"));
    let addr = broker.bootstrap();
    let t = topic.clone();
    tokio::task::block_in_place(|| {
        let mut raw = Raw::connect(&addr);
        for i in 0..5 {
            assert_eq!(produce(&mut raw, &t, &format!("v{i}")), (0, i));
        }
    });

    // The fsync of the data (--fsync always: before the produce is acknowledged),
    // then, after a restart, the fsync of log-start-offset (DeleteRecords): each
    // failure leaves the partition refusing writes after the disk is healthy again.
    for (round, fault) in [
        dir.to_string_lossy().into_owned(),
        dir.join("log-start-offset").to_string_lossy().into_owned(),
    ]
    .into_iter()
    .enumerate()
    {
        faults::fail(Op::Fsync, &fault, EIO, None);
        let t = topic.clone();
        let addr = broker.bootstrap();
        tokio::task::block_in_place(|| {
            let mut raw = Raw::connect(&addr);
            if round == 0 {
                assert_eq!(produce(&mut raw, &t, "unsure").0, KAFKA_STORAGE_ERROR);
            } else {
                assert_eq!(delete_records(&mut raw, &t, 2), KAFKA_STORAGE_ERROR);
            }
            faults::clear(&fault);
            for _ in 0..3 {
                assert_eq!(
                    produce(&mut raw, &t, "refused").0,
                    KAFKA_STORAGE_ERROR,
                    "round {round}: refused until restart"
                );
            }
            assert_eq!(delete_records(&mut raw, &t, 1), KAFKA_STORAGE_ERROR);
            // Reads go on.
            assert_eq!(fetch(&mut raw, &t, 0).0, 0);
        });
        broker.restart().await;
        let t = topic.clone();
        let addr = broker.bootstrap();
        tokio::task::block_in_place(|| {
            let mut raw = Raw::connect(&addr);
            let (error, _) = produce(&mut raw, &t, "after restart");
            assert_eq!(error, 0, "round {round}: writes again after restart");
        });
    }
    let poisoned = logs::lines_with(&[&dir.to_string_lossy(), "poisoned"]);
    assert!(!poisoned.is_empty(), "the poisoning is logged");
}
