//! CreateTopics / DeleteTopics / Metadata through librdkafka's admin client
//! and the raw protocol: errors where Kafka gives them, configs stored,
//! validate_only creates nothing, deletion by name and by id, auto-create.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::raw::Raw;
use common::*;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    CreateTopicsRequest, DeleteTopicsRequest, MetadataRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::Consumer;
use rdkafka::types::RDKafkaErrorCode;

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_create_and_delete_topics() {
    let broker = TestBroker::start().await;
    let admin = admin(&broker.bootstrap());
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let t = unique_topic("admin");
    let res = admin
        .create_topics(
            &[NewTopic::new(&t, 4, TopicReplication::Fixed(1)).set("retention.ms", "12345")],
            &opts,
        )
        .await
        .unwrap();
    assert_eq!(res[0], Ok(t.clone()));

    let again = admin
        .create_topics(&[NewTopic::new(&t, 4, TopicReplication::Fixed(1))], &opts)
        .await
        .unwrap();
    assert_eq!(
        again[0],
        Err((t.clone(), RDKafkaErrorCode::TopicAlreadyExists))
    );

    let bad_rf = unique_topic("admin-rf");
    let res = admin
        .create_topics(
            &[NewTopic::new(&bad_rf, 1, TopicReplication::Fixed(3))],
            &opts,
        )
        .await
        .unwrap();
    assert_eq!(
        res[0],
        Err((bad_rf, RDKafkaErrorCode::InvalidReplicationFactor))
    );

    let res = admin
        .create_topics(
            &[NewTopic::new("bad name!", 1, TopicReplication::Fixed(1))],
            &opts,
        )
        .await
        .unwrap();
    assert_eq!(
        res[0],
        Err(("bad name!".to_string(), RDKafkaErrorCode::InvalidTopic))
    );

    let bad_cfg = unique_topic("admin-cfg");
    let res = admin
        .create_topics(
            &[NewTopic::new(&bad_cfg, 1, TopicReplication::Fixed(1)).set("no.such.config", "1")],
            &opts,
        )
        .await
        .unwrap();
    assert_eq!(res[0], Err((bad_cfg, RDKafkaErrorCode::InvalidConfig)));

    let consumer: rdkafka::consumer::BaseConsumer =
        client_config(&broker.bootstrap()).create().unwrap();
    let md =
        tokio::task::block_in_place(|| consumer.fetch_metadata(Some(&t), Duration::from_secs(10)))
            .unwrap();
    assert_eq!(md.topics()[0].partitions().len(), 4);
    assert_eq!(md.topics()[0].partitions()[3].leader(), 0);

    let res = admin.delete_topics(&[&t], &opts).await.unwrap();
    assert_eq!(res[0], Ok(t.clone()));
    let res = admin.delete_topics(&[&t], &opts).await.unwrap();
    assert_eq!(
        res[0],
        Err((t.clone(), RDKafkaErrorCode::UnknownTopicOrPartition))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_only_configs_delete_by_id_and_persistence() {
    let mut broker = TestBroker::start_with(|c| c.default_partitions = 3).await;
    let addr = broker.bootstrap();
    let t = unique_topic("raw");
    let t2 = t.clone();
    let created_id = tokio::task::spawn_blocking(move || {
        let mut raw = Raw::connect(&addr);
        let topic = |n: &str| {
            CreatableTopic::default()
                .with_name(name(n))
                .with_num_partitions(-1)
                .with_replication_factor(-1)
                .with_configs(vec![CreatableTopicConfig::default()
                    .with_name(StrBytes::from_static_str("message.timestamp.type"))
                    .with_value(Some(StrBytes::from_static_str("LogAppendTime")))])
        };
        let resp = raw.call(
            7,
            &CreateTopicsRequest::default()
                .with_topics(vec![topic(&t2)])
                .with_validate_only(true)
                .with_timeout_ms(5000),
        );
        assert_eq!(resp.topics[0].error_code, 0);
        assert_eq!(
            resp.topics[0].num_partitions, 3,
            "-1 means the broker default"
        );
        let md = raw.call(
            12,
            &MetadataRequest::default()
                .with_allow_auto_topic_creation(false)
                .with_topics(Some(vec![
                    MetadataRequestTopic::default().with_name(Some(name(&t2)))
                ])),
        );
        assert_eq!(md.topics[0].error_code, 3, "validate_only created nothing");

        let resp = raw.call(
            7,
            &CreateTopicsRequest::default()
                .with_topics(vec![topic(&t2)])
                .with_timeout_ms(5000),
        );
        let result = &resp.topics[0];
        assert_eq!(result.error_code, 0);
        assert!(!result.topic_id.is_nil());
        let configs = result.configs.as_ref().unwrap();
        let ts_type = configs
            .iter()
            .find(|c| c.name.as_str() == "message.timestamp.type")
            .unwrap();
        assert_eq!(ts_type.value.as_ref().unwrap().as_str(), "LogAppendTime");
        assert_eq!(ts_type.config_source, 1, "set on the topic");
        result.topic_id
    })
    .await
    .unwrap();

    // Topics, ids and configs survive a restart (on disk).
    if !ephemeral_mode() {
        broker.restart().await;
    }
    let addr = broker.bootstrap();
    tokio::task::spawn_blocking(move || {
        let mut raw = Raw::connect(&addr);
        let md = raw.call(
            12,
            &MetadataRequest::default().with_topics(Some(vec![MetadataRequestTopic::default()
                .with_topic_id(created_id)
                .with_name(None)])),
        );
        assert_eq!(md.topics[0].error_code, 0);
        assert_eq!(md.topics[0].name.as_ref().unwrap().as_str(), t);
        assert_eq!(md.topics[0].partitions.len(), 3);

        let resp = raw.call(
            6,
            &DeleteTopicsRequest::default()
                .with_topics(vec![DeleteTopicState::default()
                    .with_name(None)
                    .with_topic_id(created_id)])
                .with_timeout_ms(5000),
        );
        assert_eq!(resp.responses[0].error_code, 0);
        assert_eq!(resp.responses[0].name.as_ref().unwrap().as_str(), t);
        let md = raw.call(
            12,
            &MetadataRequest::default().with_topics(Some(vec![MetadataRequestTopic::default()
                .with_topic_id(created_id)
                .with_name(None)])),
        );
        assert_eq!(
            md.topics[0].error_code, 100,
            "UNKNOWN_TOPIC_ID after deletion"
        );
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_auto_creates_with_default_partitions() {
    let broker = TestBroker::start_with(|c| c.default_partitions = 5).await;
    let addr = broker.bootstrap();
    tokio::task::spawn_blocking(move || {
        let mut raw = Raw::connect(&addr);
        let md = raw.call(
            12,
            &MetadataRequest::default()
                .with_allow_auto_topic_creation(true)
                .with_topics(Some(vec![
                    MetadataRequestTopic::default().with_name(Some(name("auto-made")))
                ])),
        );
        assert_eq!(md.topics[0].error_code, 0);
        assert_eq!(md.topics[0].partitions.len(), 5);
        assert_eq!(md.brokers.len(), 1);
        assert_eq!(md.controller_id.0, 0);
        assert!(md.cluster_id.is_some());
        // v0: an empty list means every topic.
        let all = raw.call(0, &MetadataRequest::default().with_topics(Some(vec![])));
        assert!(all
            .topics
            .iter()
            .any(|t| t.name.as_ref().unwrap().as_str() == "auto-made"));
        let invalid = raw.call(
            12,
            &MetadataRequest::default()
                .with_allow_auto_topic_creation(true)
                .with_topics(Some(vec![
                    MetadataRequestTopic::default().with_name(Some(name("no/slashes")))
                ])),
        );
        assert_eq!(invalid.topics[0].error_code, 17, "INVALID_TOPIC_EXCEPTION");
    })
    .await
    .unwrap();
}

/// CreateTopics over raw frames: (error code, message) per topic.
fn raw_create_topics(raw: &mut Raw, topics: &[(&str, i32)]) -> Vec<(i16, Option<String>)> {
    let resp = raw.call(
        7,
        &CreateTopicsRequest::default()
            .with_topics(
                topics
                    .iter()
                    .map(|(n, p)| {
                        CreatableTopic::default()
                            .with_name(name(n))
                            .with_num_partitions(*p)
                            .with_replication_factor(-1)
                    })
                    .collect(),
            )
            .with_timeout_ms(30_000),
    );
    resp.topics
        .iter()
        .map(|t| {
            (
                t.error_code,
                t.error_message.as_ref().map(|m| m.to_string()),
            )
        })
        .collect()
}

/// Metadata for one topic: (error code, partitions).
fn raw_metadata(raw: &mut Raw, topic: &str, auto_create: bool) -> (i16, usize) {
    let md = raw.call(
        12,
        &MetadataRequest::default()
            .with_allow_auto_topic_creation(auto_create)
            .with_topics(Some(vec![
                MetadataRequestTopic::default().with_name(Some(name(topic)))
            ])),
    );
    (md.topics[0].error_code, md.topics[0].partitions.len())
}

fn raw_create_partitions(raw: &mut Raw, topic: &str, count: i32) -> i16 {
    use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
    use kafka_protocol::messages::CreatePartitionsRequest;
    let resp = raw.call(
        3,
        &CreatePartitionsRequest::default()
            .with_topics(vec![CreatePartitionsTopic::default()
                .with_name(name(topic))
                .with_count(count)])
            .with_timeout_ms(30_000),
    );
    resp.results[0].error_code
}

fn entries_starting_with(dir: &std::path::Path, prefix: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix))
        .collect();
    names.sort();
    names
}

fn topics_log(dir: &std::path::Path) -> String {
    std::fs::read_to_string(dir.join("__sluice_metadata/topics.log")).unwrap()
}

/// Defect: CreateTopics asking for 2,147,483,647 partitions (or more than
/// 10,000 in one request) wedged a worker for minutes. Kafka's controller
/// refuses a request whose topics add up to more than 10,000 partitions
/// with POLICY_VIOLATION, for every topic of it, before creating any.
#[test]
fn create_topics_over_10000_partitions_per_request_is_refused_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let broker = child::ChildBroker::start(tmp.path(), &[]);
    let mut raw = Raw::connect(&broker.addr);
    raw.stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let started = std::time::Instant::now();
    let res = raw_create_topics(&mut raw, &[("enormous", i32::MAX)]);
    assert_eq!(res[0].0, 44, "POLICY_VIOLATION: {:?}", res[0].1);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "answered at once"
    );
    let res = raw_create_topics(
        &mut raw,
        &[("half-a", 5_000), ("half-b", 5_001), ("tiny", 1)],
    );
    for (code, message) in &res {
        assert_eq!(*code, 44);
        assert_eq!(
            message.as_deref(),
            Some("Excessively large number of partitions per request.")
        );
    }
    for t in ["enormous", "half-a", "half-b", "tiny"] {
        assert_eq!(raw_metadata(&mut raw, t, false).0, 3, "{t} was not created");
        assert!(entries_starting_with(tmp.path(), &format!("{t}-")).is_empty());
    }
    let mut other = Raw::connect(&broker.addr);
    assert_eq!(raw_create_topics(&mut other, &[("fine", 3)])[0].0, 0);
    broker.stop_within(Duration::from_secs(20));
    assert!(!topics_log(tmp.path()).contains("enormous"));
}

/// Defect: nothing bounded the number of partitions a broker takes on
/// (50,000 left it unable to restart). `--max-partitions` caps the total,
/// internal topics included; CreateTopics, CreatePartitions and auto-create
/// beyond it are POLICY_VIOLATION.
#[test]
fn partitions_beyond_max_partitions_are_a_policy_violation() {
    let tmp = tempfile::tempdir().unwrap();
    // Two internal partitions (__consumer_offsets, __transaction_state) count too.
    let broker = child::ChildBroker::start(
        tmp.path(),
        &["--max-partitions", "10", "--default-partitions", "3"],
    );
    let mut raw = Raw::connect(&broker.addr);
    assert_eq!(raw_create_topics(&mut raw, &[("a", 5)])[0].0, 0); // 7
    let res = raw_create_topics(&mut raw, &[("b", 4)]); // 11
    assert_eq!(res[0].0, 44, "POLICY_VIOLATION: {:?}", res[0].1);
    assert_eq!(raw_create_partitions(&mut raw, "a", 9), 44); // 11
    assert_eq!(raw_create_partitions(&mut raw, "a", 6), 0); // 8
    assert_eq!(raw_metadata(&mut raw, "auto", true).0, 44); // 11
    assert_eq!(raw_metadata(&mut raw, "auto", false).0, 3);
    assert_eq!(raw_create_topics(&mut raw, &[("c", 2)])[0].0, 0); // 10: at the limit
    assert_eq!(raw_create_topics(&mut raw, &[("d", 1)])[0].0, 44);
    assert!(entries_starting_with(tmp.path(), "b-").is_empty());
    assert!(entries_starting_with(tmp.path(), "auto-").is_empty());
    broker.stop_within(Duration::from_secs(20));
}

/// Defect: with the process short of file descriptors, creating a
/// 2,000-partition topic answered KAFKA_STORAGE_ERROR, yet the topic stayed
/// in the metadata log, Metadata reported it with error 0, and the broker
/// could not restart. A failed CreateTopics or auto-create leaves nothing.
#[test]
fn failed_topic_creation_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let args = ["--default-partitions", "2000"];
    let broker = child::ChildBroker::start_with_fd_limit(tmp.path(), &args, 200);
    let mut raw = Raw::connect(&broker.addr);
    let res = raw_create_topics(&mut raw, &[("wide", 2_000)]);
    assert_eq!(res[0].0, 56, "KAFKA_STORAGE_ERROR: {:?}", res[0].1);
    assert_eq!(raw_metadata(&mut raw, "wide", false).0, 3, "not reported");
    assert!(entries_starting_with(tmp.path(), "wide").is_empty());
    // Auto-create (default partitions) fails the same way and leaves nothing.
    assert_eq!(raw_metadata(&mut raw, "wide-auto", true).0, 56);
    assert_eq!(raw_metadata(&mut raw, "wide-auto", false).0, 3);
    assert!(entries_starting_with(tmp.path(), "wide").is_empty());
    // The broker still creates what fits.
    assert_eq!(raw_create_topics(&mut raw, &[("narrow", 2)])[0].0, 0);
    broker.stop_within(Duration::from_secs(20));
    let log = topics_log(tmp.path());
    assert!(!log.contains("wide"), "nothing in the metadata log: {log}");
    // It restarts cleanly, under the same limit.
    let broker = child::ChildBroker::start_with_fd_limit(tmp.path(), &args, 200);
    let mut raw = Raw::connect(&broker.addr);
    assert_eq!(raw_metadata(&mut raw, "wide", false).0, 3);
    assert_eq!(raw_metadata(&mut raw, "narrow", false), (0, 2));
    broker.stop_within(Duration::from_secs(20));
}

/// Defect: when the topics log lost a topic's line, the next auto-create of
/// that name deleted the old partition directory (and its records) without
/// a word. The broker sets unknown partition directories aside at start
/// (`<dir>.orphaned`) and never deletes them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_topic_line_sets_partition_data_aside_instead_of_deleting_it() {
    if ephemeral_mode() {
        return;
    }
    use rdkafka::producer::FutureRecord;
    let mut broker = TestBroker::start().await;
    let t = unique_topic("lost");
    create_topic(&broker.bootstrap(), &t, 1, &[]).await;
    let producer = producer(&broker.bootstrap(), &[]);
    for i in 0..10 {
        producer
            .send(
                FutureRecord::to(&t)
                    .key("k")
                    .payload(&format!("record {i}")),
                Duration::from_secs(30),
            )
            .await
            .expect("produced");
    }
    drop(producer);
    let old_dir = broker.dir.join(format!("{t}-0"));
    let old_bytes = std::fs::read(old_dir.join("00000000000000000000.log")).unwrap();
    assert!(!old_bytes.is_empty());
    // The topics log loses the topic's line.
    broker.broker.take().unwrap().shutdown().await;
    let log = topics_log(&broker.dir);
    let kept: String = log
        .lines()
        .filter(|l| !l.contains(&t))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(broker.dir.join("__sluice_metadata/topics.log"), kept).unwrap();
    broker.restart().await;
    let aside = broker.dir.join(format!("{t}-0.orphaned"));
    assert!(aside.is_dir(), "set aside at start");
    // Auto-create of the same name starts a new, empty topic.
    let addr = broker.bootstrap();
    let t2 = t.clone();
    let md = tokio::task::spawn_blocking(move || raw_metadata(&mut Raw::connect(&addr), &t2, true))
        .await
        .unwrap();
    assert_eq!(md, (0, 1));
    assert_eq!(
        std::fs::read(aside.join("00000000000000000000.log")).unwrap(),
        old_bytes,
        "the old records are kept for the operator"
    );
    let fresh = std::fs::read(old_dir.join("00000000000000000000.log")).unwrap();
    assert!(fresh.is_empty(), "the new topic starts empty");
}

/// Defect: CreateTopics removed directories in its way (leftovers of a topic
/// the broker does not know). They are set aside as `<dir>.orphaned`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_topics_sets_aside_an_unknown_directory_in_its_way() {
    if ephemeral_mode() {
        return;
    }
    let broker = TestBroker::start().await;
    let t = unique_topic("stray");
    let stray = broker.dir.join(format!("{t}-1"));
    std::fs::create_dir(&stray).unwrap();
    std::fs::write(stray.join("precious.txt"), b"keep me").unwrap();
    create_topic(&broker.bootstrap(), &t, 2, &[]).await;
    assert_eq!(
        std::fs::read(broker.dir.join(format!("{t}-1.orphaned/precious.txt")))
            .expect("set aside, not deleted"),
        b"keep me"
    );
    assert!(broker
        .dir
        .join(format!("{t}-1/00000000000000000000.log"))
        .exists());
}

/// Defect: the topic's metadata line was written before its partitions
/// existed, so a broker killed while creating a large topic tried to create
/// them all at its next start and died with "Too many open files". Killed
/// mid-creation, the broker now rolls the half-made topic back at start:
/// nothing of it is left (no directory, nothing set aside), and the broker
/// starts under a descriptor limit far below the topic's size.
#[test]
fn a_creation_killed_midway_leaves_nothing_and_the_broker_restarts() {
    let tmp = tempfile::tempdir().unwrap();
    // The internal topics' two partitions count towards the default limit of 10,000.
    let broker = child::ChildBroker::start(tmp.path(), &["--max-partitions", "10002"]);
    let mut raw = Raw::connect(&broker.addr);
    // Kill while the partitions are being made (some exist, most do not). On
    // a machine so loaded that the first look comes too late, the creation
    // is let finish, deleted, and tried again under another name.
    let mut caught = None;
    for attempt in 0..5 {
        let topic = format!("midway{attempt}");
        let id = raw.send(
            7,
            &CreateTopicsRequest::default()
                .with_topics(vec![CreatableTopic::default()
                    .with_name(name(&topic))
                    .with_num_partitions(10_000)
                    .with_replication_factor(1)])
                .with_timeout_ms(60_000),
        );
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let made = loop {
            let made = entries_starting_with(tmp.path(), &format!("{topic}-")).len();
            if made > 0 {
                break made;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "creation never started"
            );
            std::thread::sleep(Duration::from_millis(1));
        };
        if made <= 5_000 {
            caught = Some(topic);
            break;
        }
        let created = raw.recv::<CreateTopicsRequest>(7, id);
        assert_eq!(created.topics[0].error_code, 0);
        let deleted = raw.call(
            6,
            &DeleteTopicsRequest::default()
                .with_topic_names(vec![name(&topic)])
                .with_timeout_ms(30_000),
        );
        assert_eq!(deleted.responses[0].error_code, 0);
    }
    let topic = caught.expect("never caught a creation in the middle");
    broker.kill();
    let broker = child::ChildBroker::start_with_fd_limit(tmp.path(), &[], 500);
    let mut raw = Raw::connect(&broker.addr);
    assert_eq!(raw_metadata(&mut raw, &topic, false).0, 3);
    assert_eq!(
        entries_starting_with(tmp.path(), "midway"),
        Vec::<String>::new()
    );
    assert_eq!(raw_create_topics(&mut raw, &[("after", 3)])[0].0, 0);
    broker.stop_within(Duration::from_secs(20));
}

/// A crash after a DeleteTopics record but before its directories were
/// removed must not leave directories that look orphaned: the deletion
/// intent it left is finished at start (directories removed, not set aside),
/// and a deletion that completed leaves no intent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deletion_interrupted_after_its_record_is_finished_at_start() {
    if ephemeral_mode() {
        return;
    }
    let mut broker = TestBroker::start().await;
    let gone = unique_topic("gone");
    let kept = unique_topic("kept");
    create_topic(&broker.bootstrap(), &gone, 2, &[]).await;
    create_topic(&broker.bootstrap(), &kept, 1, &[]).await;
    let intent = broker.dir.join("__sluice_metadata/creating");
    assert!(!intent.exists(), "no intent outlives a creation");
    broker.broker.take().unwrap().shutdown().await;
    // What a crash right after the delete record leaves: the record, the
    // intent naming the directories, the directories.
    let log = topics_log(&broker.dir);
    let id = log
        .lines()
        .find(|l| l.split(' ').nth(2) == Some(gone.as_str()))
        .and_then(|l| l.split(' ').nth(1))
        .unwrap()
        .to_string();
    std::fs::write(
        broker.dir.join("__sluice_metadata/topics.log"),
        format!("{log}delete {id}\n"),
    )
    .unwrap();
    std::fs::write(&intent, format!("{gone} 0 2\n")).unwrap();
    broker.restart().await;
    assert_eq!(
        entries_starting_with(&broker.dir, &gone),
        Vec::<String>::new(),
        "removed, not set aside"
    );
    assert!(broker.dir.join(format!("{kept}-0")).is_dir());
    assert!(!intent.exists());
    // A deletion through the API leaves nothing either.
    let admin = admin(&broker.bootstrap());
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let res = admin.delete_topics(&[&kept], &opts).await.unwrap();
    assert_eq!(res[0], Ok(kept.clone()));
    assert_eq!(
        entries_starting_with(&broker.dir, &kept),
        Vec::<String>::new()
    );
    assert!(!intent.exists());
}
