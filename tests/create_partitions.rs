//! CreatePartitions through librdkafka's admin client: a topic grows, the new
//! partitions take writes at once and the count survives a restart; shrinking
//! is INVALID_PARTITIONS.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use rdkafka::admin::{AdminOptions, NewPartitions};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::FutureRecord;
use rdkafka::types::RDKafkaErrorCode;

fn partition_count(bootstrap: &str, topic: &str) -> usize {
    let consumer: BaseConsumer = client_config(bootstrap).create().unwrap();
    let md = tokio::task::block_in_place(|| {
        consumer.fetch_metadata(Some(topic), Duration::from_secs(10))
    })
    .unwrap();
    md.topics()[0].partitions().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_partitions_grows_a_topic() {
    let mut broker = TestBroker::start().await;
    let topic = unique_topic("grow");
    create_topic(&broker.bootstrap(), &topic, 2, &[]).await;
    let admin = admin(&broker.bootstrap());
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));

    let res = admin
        .create_partitions(&[NewPartitions::new(&topic, 5)], &opts)
        .await
        .unwrap();
    assert_eq!(res[0], Ok(topic.clone()));
    assert_eq!(partition_count(&broker.bootstrap(), &topic), 5);
    let producer = producer(&broker.bootstrap(), &[]);
    let d = producer
        .send(
            FutureRecord::to(&topic)
                .partition(4)
                .key("k")
                .payload("new partition"),
            Duration::from_secs(30),
        )
        .await
        .expect("the new partition takes writes");
    assert_eq!((d.partition, d.offset), (4, 0));

    let res = admin
        .create_partitions(&[NewPartitions::new(&topic, 3)], &opts)
        .await
        .unwrap();
    assert_eq!(
        res[0],
        Err((topic.clone(), RDKafkaErrorCode::InvalidPartitions))
    );
    let res = admin
        .create_partitions(&[NewPartitions::new("no-such-topic", 3)], &opts)
        .await
        .unwrap();
    assert_eq!(
        res[0],
        Err((
            "no-such-topic".to_string(),
            RDKafkaErrorCode::UnknownTopicOrPartition
        ))
    );

    if !ephemeral_mode() {
        drop(producer);
        broker.restart().await;
        assert_eq!(
            partition_count(&broker.bootstrap(), &topic),
            5,
            "the count survives a restart"
        );
        let consumer = consumer_from_start(&broker.bootstrap(), &topic, 5, &[]);
        let got = tokio::task::block_in_place(|| consume(&consumer, 1, Duration::from_secs(30)));
        assert_eq!(got[0].partition, 4);
    }
}

fn topic_name(s: &str) -> kafka_protocol::messages::TopicName {
    kafka_protocol::messages::TopicName(kafka_protocol::protocol::StrBytes::from_string(
        s.to_string(),
    ))
}

/// CreateTopics of `name` with `partitions` over raw frames; its error code.
fn raw_create_topic(raw: &mut raw::Raw, name: &str, partitions: i32) -> i16 {
    use kafka_protocol::messages::create_topics_request::CreatableTopic;
    use kafka_protocol::messages::CreateTopicsRequest;
    let resp = raw.call(
        7,
        &CreateTopicsRequest::default()
            .with_topics(vec![CreatableTopic::default()
                .with_name(topic_name(name))
                .with_num_partitions(partitions)
                .with_replication_factor(1)])
            .with_timeout_ms(30_000),
    );
    resp.topics[0].error_code
}

/// CreatePartitions of `name` to `count` over raw frames: error code and message.
fn raw_create_partitions(raw: &mut raw::Raw, name: &str, count: i32) -> (i16, Option<String>) {
    use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
    use kafka_protocol::messages::CreatePartitionsRequest;
    let resp = raw.call(
        3,
        &CreatePartitionsRequest::default()
            .with_topics(vec![CreatePartitionsTopic::default()
                .with_name(topic_name(name))
                .with_count(count)])
            .with_timeout_ms(30_000),
    );
    let r = &resp.results[0];
    (
        r.error_code,
        r.error_message.as_ref().map(|m| m.to_string()),
    )
}

/// Metadata for `name` (no auto-create): error code and partition count.
fn raw_metadata(raw: &mut raw::Raw, name: &str) -> (i16, usize) {
    use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
    use kafka_protocol::messages::MetadataRequest;
    let md = raw.call(
        12,
        &MetadataRequest::default()
            .with_allow_auto_topic_creation(false)
            .with_topics(Some(vec![
                MetadataRequestTopic::default().with_name(Some(topic_name(name)))
            ])),
    );
    (md.topics[0].error_code, md.topics[0].partitions.len())
}

/// Names of the entries in `dir` that start with `prefix`.
fn entries_starting_with(dir: &std::path::Path, prefix: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix))
        .collect();
    names.sort();
    names
}

/// Defect: CreatePartitions with count 2,147,483,647 made a worker loop
/// opening partitions for minutes (no answer, SIGTERM ignored) after writing
/// the new count to the metadata log. Kafka refuses a request that would
/// add more than 10,000 partitions (POLICY_VIOLATION) before doing anything.
#[test]
fn create_partitions_of_i32_max_is_refused_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let broker = child::ChildBroker::start(tmp.path(), &[]);
    let mut raw = raw::Raw::connect(&broker.addr);
    // Today's broker never answers; a short read timeout turns that into a failure.
    raw.stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    assert_eq!(raw_create_topic(&mut raw, "huge", 1), 0);
    let started = std::time::Instant::now();
    let (code, message) = raw_create_partitions(&mut raw, "huge", i32::MAX);
    assert_eq!(code, 44, "POLICY_VIOLATION: {message:?}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "answered at once, not after {:?}",
        started.elapsed()
    );
    assert_eq!(
        message.as_deref(),
        Some("Unable to perform excessively large batch operation.")
    );
    // 10,001 more partitions is one too many; nothing was added.
    let (code, _) = raw_create_partitions(&mut raw, "huge", 10_002);
    assert_eq!(code, 44);
    assert_eq!(raw_metadata(&mut raw, "huge"), (0, 1));
    assert_eq!(entries_starting_with(tmp.path(), "huge-"), vec!["huge-0"]);
    // The broker stays responsive and SIGTERM stops it at once.
    let mut other = raw::Raw::connect(&broker.addr);
    assert_eq!(raw_create_topic(&mut other, "small", 2), 0);
    broker.stop_within(Duration::from_secs(20));
    let topics = std::fs::read_to_string(tmp.path().join("__sluice_metadata/topics.log")).unwrap();
    assert!(
        !topics.contains("partitions "),
        "no partition count was recorded: {topics}"
    );
    let broker = child::ChildBroker::start(tmp.path(), &[]);
    let mut raw = raw::Raw::connect(&broker.addr);
    assert_eq!(raw_metadata(&mut raw, "huge"), (0, 1));
    broker.stop_within(Duration::from_secs(20));
}

/// Defect: with the process short of file descriptors, CreatePartitions
/// answered KAFKA_STORAGE_ERROR yet the new count stayed in the metadata
/// log, Metadata reported it, and the broker could not restart. Adding
/// partitions is all or nothing.
#[test]
fn failed_create_partitions_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let broker = child::ChildBroker::start_with_fd_limit(tmp.path(), &[], 200);
    let mut raw = raw::Raw::connect(&broker.addr);
    assert_eq!(raw_create_topic(&mut raw, "grows", 1), 0);
    let (code, message) = raw_create_partitions(&mut raw, "grows", 2_000);
    assert_eq!(code, 56, "KAFKA_STORAGE_ERROR: {message:?}");
    assert_eq!(
        raw_metadata(&mut raw, "grows"),
        (0, 1),
        "Metadata reports only what was created"
    );
    assert_eq!(entries_starting_with(tmp.path(), "grows-"), vec!["grows-0"]);
    // The broker still works: a small growth succeeds.
    assert_eq!(raw_create_partitions(&mut raw, "grows", 3).0, 0);
    assert_eq!(raw_metadata(&mut raw, "grows"), (0, 3));
    broker.stop_within(Duration::from_secs(20));
    let topics = std::fs::read_to_string(tmp.path().join("__sluice_metadata/topics.log")).unwrap();
    assert!(
        !topics.contains(" 2000"),
        "the failed count is not in the metadata log: {topics}"
    );
    // It restarts cleanly, under the same limit.
    let broker = child::ChildBroker::start_with_fd_limit(tmp.path(), &[], 200);
    let mut raw = raw::Raw::connect(&broker.addr);
    assert_eq!(raw_metadata(&mut raw, "grows"), (0, 3));
    broker.stop_within(Duration::from_secs(20));
}

/// Defect: CreatePartitions removed a directory in the way of a new
/// partition (data the broker does not know, e.g. of a topic whose metadata
/// line was lost). Unknown data is set aside as `<dir>.orphaned`, never deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_partitions_sets_aside_an_unknown_directory_in_its_way() {
    if ephemeral_mode() {
        return;
    }
    let broker = TestBroker::start().await;
    let topic = unique_topic("aside");
    create_topic(&broker.bootstrap(), &topic, 1, &[]).await;
    let stray = broker.dir.join(format!("{topic}-1"));
    std::fs::create_dir(&stray).unwrap();
    std::fs::write(stray.join("precious.txt"), b"not the broker's to delete").unwrap();
    let admin = admin(&broker.bootstrap());
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let res = admin
        .create_partitions(&[NewPartitions::new(&topic, 2)], &opts)
        .await
        .unwrap();
    assert_eq!(res[0], Ok(topic.clone()));
    let kept = broker.dir.join(format!("{topic}-1.orphaned/precious.txt"));
    assert_eq!(
        std::fs::read(&kept).expect("the unknown directory was set aside"),
        b"not the broker's to delete"
    );
    assert!(!stray.join("precious.txt").exists());
    assert_eq!(partition_count(&broker.bootstrap(), &topic), 2);
}
