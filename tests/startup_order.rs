//! Start-up order: the listener is bound before the data directory is
//! touched, the broker serves while it loads (answering with Kafka's
//! retriable errors for what is not loaded yet), a failed load still ends
//! start with its error, shutdown during load is clean, and recovery logs
//! a summary instead of a line per partition.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::raw::Raw;
use common::*;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use rdkafka::producer::FutureRecord;
use sluice::{Broker, Config, StartError};

const NONE: i16 = 0;
const LEADER_NOT_AVAILABLE: i16 = 5;
const NOT_LEADER_OR_FOLLOWER: i16 = 6;
const COORDINATOR_LOAD_IN_PROGRESS: i16 = 14;
const NOT_CONTROLLER: i16 = 41;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// A broker on a free port over `dir`, with few internal partitions.
fn config(dir: &Path) -> Config {
    Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.to_path_buf(),
        offsets_topic_partitions: 2,
        transaction_state_partitions: 2,
        group_initial_rebalance_delay_ms: Some(0),
        ..Config::default()
    }
}

/// Starts a broker on `dir`, creates `topic` with `partitions` partitions
/// and one record in partition 0, and shuts it down cleanly.
async fn prepare(dir: &Path, topic: &str, partitions: i32) {
    let broker = Broker::start(config(dir)).await.expect("broker starts");
    let bootstrap = broker.local_addr().to_string();
    create_topic(&bootstrap, topic, partitions, &[]).await;
    producer(&bootstrap, &[])
        .send(
            FutureRecord::to(topic)
                .partition(0)
                .key("k")
                .payload("before"),
            Duration::from_secs(30),
        )
        .await
        .expect("produced");
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listener_is_bound_before_the_data_directory_is_touched() {
    let tmp = tempfile::tempdir().unwrap();
    // The directory is locked by a running broker...
    let holder = Broker::start(config(tmp.path()))
        .await
        .expect("first broker");
    // ...and the port is taken by someone else.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut second = config(tmp.path());
    second.listen = taken.local_addr().unwrap().to_string();
    let began = Instant::now();
    let outcome = Broker::start(second).await;
    let took = began.elapsed();
    // The listen error, not the lock's: the bind came first.
    match outcome {
        Err(StartError::Listen { addr, .. }) => {
            assert_eq!(addr, taken.local_addr().unwrap().to_string())
        }
        Err(other) => panic!("expected the listen error first, got: {other}"),
        Ok(_) => panic!("a second broker started on a port in use"),
    }
    eprintln!("a port in use failed start in {took:?}");
    holder.shutdown().await;
}

fn metadata(raw: &mut Raw, topic: &str) -> MetadataResponse {
    raw.call(
        12,
        &MetadataRequest::default()
            .with_allow_auto_topic_creation(true)
            .with_topics(Some(vec![
                MetadataRequestTopic::default().with_name(Some(TopicName(s(topic))))
            ])),
    )
}

fn produce(raw: &mut Raw, topic: &str) -> i16 {
    let resp = raw.call(
        9,
        &ProduceRequest::default()
            .with_acks(-1)
            .with_timeout_ms(5000)
            .with_topic_data(vec![TopicProduceData::default()
                .with_name(TopicName(s(topic)))
                .with_partition_data(vec![PartitionProduceData::default()
                    .with_index(0)
                    .with_records(Some(
                        common::batch::one_record_batch(b"k", b"v").into(),
                    ))])]),
    );
    resp.responses[0].partition_responses[0].error_code
}

fn find_coordinator(raw: &mut Raw, group: &str) -> (i16, i32) {
    let resp = raw.call(
        3,
        &FindCoordinatorRequest::default()
            .with_key(s(group))
            .with_key_type(0),
    );
    (resp.error_code, resp.node_id.0)
}

fn join(raw: &mut Raw, group: &str) -> i16 {
    let protocol = JoinGroupRequestProtocol::default()
        .with_name(s("range"))
        .with_metadata(bytes::Bytes::from_static(&[0, 0, 0, 0, 0, 0, 0, 0]));
    raw.call(
        5,
        &JoinGroupRequest::default()
            .with_group_id(GroupId(s(group)))
            .with_session_timeout_ms(10_000)
            .with_rebalance_timeout_ms(10_000)
            .with_member_id(s(""))
            .with_protocol_type(s("consumer"))
            .with_protocols(vec![protocol]),
    )
    .error_code
}

fn init_producer_id(raw: &mut Raw, transactional_id: Option<&str>) -> i16 {
    raw.call(
        4,
        &InitProducerIdRequest::default()
            .with_transactional_id(transactional_id.map(|t| TransactionalId(s(t))))
            .with_transaction_timeout_ms(60_000)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1),
    )
    .error_code
}

fn create(raw: &mut Raw, topic: &str) -> i16 {
    raw.call(
        7,
        &CreateTopicsRequest::default()
            .with_topics(vec![CreatableTopic::default()
                .with_name(TopicName(s(topic)))
                .with_num_partitions(1)
                .with_replication_factor(1)])
            .with_timeout_ms(30_000),
    )
    .topics[0]
        .error_code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_during_load_get_retriable_errors_then_everything_works() {
    let tmp = tempfile::tempdir().unwrap();
    let topic = unique_topic("loading");
    prepare(tmp.path(), &topic, 2).await;

    let (mut broker, hold) = Broker::start_held(config(tmp.path()))
        .await
        .expect("serving");
    let addr = broker.local_addr().to_string();
    let (raw_addr, raw_topic) = (addr.clone(), topic.clone());
    tokio::task::spawn_blocking(move || {
        let (addr, topic) = (raw_addr, raw_topic);
        let mut raw = Raw::connect(&addr);
        let md = metadata(&mut raw, &topic);
        assert_eq!(md.topics[0].error_code, NONE, "the topic is known");
        assert_eq!(md.topics[0].partitions.len(), 2);
        for p in &md.topics[0].partitions {
            assert_eq!(p.error_code, LEADER_NOT_AVAILABLE);
            assert_eq!(p.leader_id.0, -1);
        }
        // An unknown topic is not auto-created while loading.
        let unknown = metadata(&mut raw, "not-yet");
        assert_eq!(unknown.topics[0].error_code, LEADER_NOT_AVAILABLE);
        assert_eq!(produce(&mut raw, &topic), NOT_LEADER_OR_FOLLOWER);
        let (error, node) = find_coordinator(&mut raw, "g");
        assert_eq!((error, node), (NONE, 0), "FindCoordinator answers as usual");
        assert_eq!(join(&mut raw, "g"), COORDINATOR_LOAD_IN_PROGRESS);
        assert_eq!(
            init_producer_id(&mut raw, None),
            COORDINATOR_LOAD_IN_PROGRESS
        );
        assert_eq!(
            init_producer_id(&mut raw, Some("tx")),
            COORDINATOR_LOAD_IN_PROGRESS
        );
        assert_eq!(create(&mut raw, "during-load"), NOT_CONTROLLER);
        let groups = raw.call(4, &ListGroupsRequest::default());
        assert_eq!(groups.error_code, COORDINATOR_LOAD_IN_PROGRESS);
    })
    .await
    .unwrap();

    hold.release();
    broker.ready().await.expect("loaded");

    let (raw_addr, raw_topic) = (addr.clone(), topic.clone());
    tokio::task::spawn_blocking(move || {
        let mut raw = Raw::connect(&raw_addr);
        let md = metadata(&mut raw, &raw_topic);
        assert!(md.topics[0]
            .partitions
            .iter()
            .all(|p| p.error_code == NONE && p.leader_id.0 == 0));
        assert_eq!(init_producer_id(&mut raw, None), NONE);
    })
    .await
    .unwrap();
    producer(&addr, &[("enable.idempotence", "true")])
        .send(
            FutureRecord::to(&topic)
                .partition(0)
                .key("k")
                .payload("after"),
            Duration::from_secs(30),
        )
        .await
        .expect("produced after the load");
    let consumer = consumer_from_start(&addr, &topic, 1, &[]);
    let got = consume(&consumer, 2, Duration::from_secs(30));
    let values: Vec<_> = got.iter().map(|g| g.value.clone().unwrap()).collect();
    assert_eq!(values, vec![b"before".to_vec(), b"after".to_vec()]);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_during_load_is_clean() {
    let tmp = tempfile::tempdir().unwrap();
    let topic = unique_topic("stopped");
    prepare(tmp.path(), &topic, 1).await;
    let (broker, _hold) = Broker::start_held(config(tmp.path()))
        .await
        .expect("serving");
    broker.shutdown().await;
    // The lock is released and nothing was damaged: a new start sees the record.
    let broker = Broker::start(config(tmp.path())).await.expect("restarts");
    let addr = broker.local_addr().to_string();
    let consumer = consumer_from_start(&addr, &topic, 1, &[]);
    let got = consume(&consumer, 1, Duration::from_secs(30));
    assert_eq!(got[0].value.as_deref(), Some(&b"before"[..]));
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_that_cannot_open_ends_start_with_its_error() {
    let tmp = tempfile::tempdir().unwrap();
    let topic = unique_topic("unopenable");
    prepare(tmp.path(), &topic, 1).await;
    // A file where the partition's directory must be.
    let dir = tmp.path().join(format!("{topic}-0"));
    let aside = tmp.path().join("aside");
    std::fs::rename(&dir, &aside).unwrap();
    std::fs::write(&dir, b"not a directory").unwrap();
    match Broker::start(config(tmp.path())).await {
        Err(StartError::Partitions { topic: t, .. }) => assert_eq!(t, topic),
        Err(other) => panic!("expected the partition's error, got: {other}"),
        Ok(_) => panic!("started with a partition that cannot open"),
    }
    // The failed start let go of the directory: put it back and start.
    std::fs::remove_file(&dir).unwrap();
    std::fs::rename(&aside, &dir).unwrap();
    let broker = Broker::start(config(tmp.path())).await.expect("restarts");
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_logs_one_summary_not_a_line_per_partition() {
    logs::capture();
    let tmp = tempfile::tempdir().unwrap();
    let topic = unique_topic("summary");
    prepare(tmp.path(), &topic, 50).await;
    // As after a crash: no partition of the topic was closed cleanly.
    for index in 0..50 {
        let marker = tmp.path().join(format!("{topic}-{index}/.clean-shutdown"));
        std::fs::remove_file(&marker).unwrap();
    }
    let broker = Broker::start(config(tmp.path())).await.expect("restarts");
    broker.shutdown().await;
    // 50 of the topic, 2 + 2 internal; only the topic's were recovered.
    let summaries =
        lines_with_summary("loaded 54 partitions (50 recovered after an unclean shutdown");
    assert_eq!(summaries.len(), 1, "one summary line: {summaries:?}");
    assert!(logs::lines_with(&["recovered partition log"]).is_empty());
    let naming_topic = logs::lines_with(&["INFO", &topic]);
    assert!(
        naming_topic.len() < 10,
        "INFO lines for each partition: {naming_topic:?}"
    );
    // The first start created every partition: none of them "recovered".
    assert!(
        !lines_with_summary("loaded 4 partitions (0 recovered after an unclean shutdown")
            .is_empty()
    );
}

fn lines_with_summary(needle: &str) -> Vec<String> {
    logs::lines_with(&["INFO", needle])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_metadata_log_ends_start_with_its_error_and_frees_the_port() {
    let tmp = tempfile::tempdir().unwrap();
    // A directory where the metadata log must be: it cannot be read.
    std::fs::create_dir_all(tmp.path().join("__sluice_metadata/topics.log")).unwrap();
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let mut config = config(tmp.path());
    config.listen = format!("127.0.0.1:{port}");
    match Broker::start(config).await {
        Err(StartError::DataDir { dir, .. }) => assert_eq!(dir, tmp.path()),
        Err(other) => panic!("expected the data directory's error, got: {other}"),
        Ok(_) => panic!("started with an unreadable metadata log"),
    }
    // The listener bound before the failure is closed again.
    std::net::TcpListener::bind(("127.0.0.1", port)).expect("the port is free again");
}
