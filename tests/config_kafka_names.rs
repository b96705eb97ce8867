//! A broker configured with Kafka's broker property names honours them over
//! the wire, whether they come from the config file (TOML with bare dotted
//! keys, or a `.properties` file) or from `--override`; a misspelt key stops
//! the broker with the closest known name.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::child::ChildBroker;
use common::raw::Raw;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    CreateTopicsRequest, DescribeConfigsRequest, MetadataRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;

const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
/// DescribeConfigs' STATIC_BROKER_CONFIG: a broker-wide default, not set on
/// the topic.
const STATIC_BROKER_CONFIG: i8 = 4;

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

/// Metadata for one topic: (error code, partitions).
fn metadata(raw: &mut Raw, topic: &str, auto_create: bool) -> (i16, usize) {
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

/// (value, config source) of each of `keys` of one resource (2 = topic,
/// 4 = broker).
fn describe(raw: &mut Raw, resource_type: i8, resource: &str, keys: &[&str]) -> Vec<(String, i8)> {
    let resp = raw.call(
        4,
        &DescribeConfigsRequest::default().with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(resource_type)
            .with_resource_name(StrBytes::from_string(resource.to_string()))
            .with_configuration_keys(Some(
                keys.iter()
                    .map(|k| StrBytes::from_string(k.to_string()))
                    .collect(),
            ))]),
    );
    let result = &resp.results[0];
    assert_eq!(result.error_code, 0, "{:?}", result.error_message);
    keys.iter()
        .map(|k| {
            let entry = result
                .configs
                .iter()
                .find(|c| c.name.as_str() == *k)
                .unwrap_or_else(|| panic!("{k} described"));
            (
                entry.value.as_ref().unwrap().to_string(),
                entry.config_source,
            )
        })
        .collect()
}

/// What `num.partitions = 3`, `auto.create.topics.enable = false` and
/// `log.retention.ms = 60000` promise, checked over the wire.
fn assert_kafka_settings_honoured(addr: &str) {
    let mut raw = Raw::connect(addr);
    // auto.create.topics.enable = false: a Metadata request that allows
    // auto-creation does not create the topic.
    assert_eq!(
        metadata(&mut raw, "never-created", true).0,
        UNKNOWN_TOPIC_OR_PARTITION
    );
    assert_eq!(
        metadata(&mut raw, "never-created", false).0,
        UNKNOWN_TOPIC_OR_PARTITION
    );
    // num.partitions = 3: CreateTopics with num_partitions = -1 gets 3.
    let resp = raw.call(
        7,
        &CreateTopicsRequest::default()
            .with_topics(vec![CreatableTopic::default()
                .with_name(name("by-default"))
                .with_num_partitions(-1)
                .with_replication_factor(-1)])
            .with_timeout_ms(30_000),
    );
    assert_eq!(
        resp.topics[0].error_code, 0,
        "{:?}",
        resp.topics[0].error_message
    );
    assert_eq!(metadata(&mut raw, "by-default", false), (0, 3));
    // log.retention.ms = 60000: the topic's retention.ms, not set on the
    // topic, is the broker's default.
    assert_eq!(
        describe(&mut raw, 2, "by-default", &["retention.ms"]),
        vec![("60000".to_string(), STATIC_BROKER_CONFIG)]
    );
    let broker = describe(
        &mut raw,
        4,
        "0",
        &[
            "num.partitions",
            "auto.create.topics.enable",
            "log.retention.ms",
        ],
    );
    let values: Vec<&str> = broker.iter().map(|(v, _)| v.as_str()).collect();
    assert_eq!(values, ["3", "false", "60000"]);
}

/// Starts the binary with a config file `file_name` holding `contents`.
fn assert_config_file_honoured(file_name: &str, contents: &str) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join(file_name);
    std::fs::write(&config, contents).unwrap();
    let data = dir.path().join("data");
    let broker = ChildBroker::start(&data, &["--config", config.to_str().unwrap()]);
    assert_kafka_settings_honoured(&broker.addr);
    broker.stop();
}

#[test]
fn kafka_names_in_a_toml_file_are_honoured() {
    // Bare dotted keys, as in the issue: TOML reads them as nested tables.
    assert_config_file_honoured(
        "sluice.toml",
        "num.partitions = 3\nauto.create.topics.enable = false\nlog.retention.ms = 60000\n",
    );
}

#[test]
fn kafka_names_in_a_properties_file_are_honoured() {
    assert_config_file_honoured(
        "server.properties",
        "# as in Kafka's config/server.properties\nnum.partitions=3\nauto.create.topics.enable=false\nlog.retention.ms=60000\n",
    );
}

#[test]
fn kafka_names_as_overrides_are_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let broker = ChildBroker::start(
        dir.path(),
        &[
            "--override",
            "num.partitions=3",
            "--override",
            "auto.create.topics.enable=false",
            "--override",
            "log.retention.ms=60000",
        ],
    );
    assert_kafka_settings_honoured(&broker.addr);
    broker.stop();
}

/// An `--override` beats the file, so a file's Kafka name can be overridden
/// by another Kafka name of the same option.
#[test]
fn an_override_beats_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sluice.toml");
    std::fs::write(
        &config,
        "default-partitions = 1\nauto-create-topics = true\nlog.retention.hours = 1\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    let broker = ChildBroker::start(
        &data,
        &[
            "--config",
            config.to_str().unwrap(),
            "--override",
            "num.partitions=3",
            "--override",
            "auto.create.topics.enable=0",
            "--override",
            "log.retention.ms=60000",
        ],
    );
    assert_kafka_settings_honoured(&broker.addr);
    broker.stop();
}

/// Exit status and stderr of a broker expected to stop at once; one that
/// is still running after 60 s is killed and the test fails.
fn exit_of(mut child: Child) -> (Option<i32>, String) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the broker started instead of refusing its configuration");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (status.code(), stderr)
}

/// A misspelt key stops the broker before it starts, with exit status 2 and
/// the closest known name.
#[test]
fn an_unknown_key_names_the_closest_one() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let child = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args([
                "--listen",
                "127.0.0.1:0",
                "--http-listen",
                "none",
                "--data-dir",
            ])
            .arg(dir.path())
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        exit_of(child)
    };
    let (code, stderr) = run(&["--override", "num.partition=3"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("unknown option `num.partition`; did you mean `num.partitions`?"),
        "{stderr}"
    );
    let config = dir.path().join("sluice.toml");
    std::fs::write(&config, "auto.create.topic.enable = false\n").unwrap();
    let (code, stderr) = run(&["--config", config.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("did you mean `auto.create.topics.enable`?"),
        "{stderr}"
    );
    let (code, stderr) = run(&["--override", "listeners=SSL://127.0.0.1:0"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("only PLAINTEXT"), "{stderr}");
}
