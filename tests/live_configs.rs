//! Live configs over the wire: IncrementalAlterConfigs and AlterConfigs
//! (raw requests, and librdkafka's AdminClient for AlterConfigs), then
//! DescribeConfigs with Kafka's sources and synonyms; Kafka's per-resource
//! errors; validate_only; the changes survive a restart; they take effect
//! on live partitions (retention, segment size) without one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::raw::Raw;
use common::*;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_configs_response::DescribeConfigsResult;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::{
    AlterConfigsRequest, DescribeConfigsRequest, IncrementalAlterConfigsRequest,
};
use kafka_protocol::protocol::StrBytes;
use rdkafka::admin::{AdminOptions, AlterConfig, ResourceSpecifier};
use rdkafka::consumer::BaseConsumer;

const TOPIC: i8 = 2;
const BROKER: i8 = 4;
const BROKER_LOGGER: i8 = 8;
const GROUP: i8 = 32;
const SET: i8 = 0;
const DELETE: i8 = 1;
const APPEND: i8 = 2;
const SUBTRACT: i8 = 3;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn resource(t: i8, name: &str, ops: &[(&str, i8, Option<&str>)]) -> AlterConfigsResource {
    AlterConfigsResource::default()
        .with_resource_type(t)
        .with_resource_name(s(name))
        .with_configs(
            ops.iter()
                .map(|(k, op, v)| {
                    AlterableConfig::default()
                        .with_name(s(k))
                        .with_config_operation(*op)
                        .with_value(v.map(s))
                })
                .collect(),
        )
}

/// IncrementalAlterConfigs at v1; the error code of each resource.
fn alter(raw: &mut Raw, validate_only: bool, resources: Vec<AlterConfigsResource>) -> Vec<i16> {
    let req = IncrementalAlterConfigsRequest::default()
        .with_validate_only(validate_only)
        .with_resources(resources);
    let resp = raw.call(1, &req);
    resp.responses.iter().map(|r| r.error_code).collect()
}

fn describe(raw: &mut Raw, t: i8, name: &str) -> DescribeConfigsResult {
    let req = DescribeConfigsRequest::default()
        .with_include_synonyms(true)
        .with_include_documentation(true)
        .with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(t)
            .with_resource_name(s(name))
            .with_configuration_keys(None)]);
    raw.call(4, &req).results.remove(0)
}

/// (value, source, synonyms as (name, source)) of one config.
fn entry(result: &DescribeConfigsResult, key: &str) -> (String, i8, Vec<(String, i8)>) {
    let e = result
        .configs
        .iter()
        .find(|c| c.name.as_str() == key)
        .unwrap_or_else(|| panic!("{key} is described"));
    (
        e.value.as_ref().map(|v| v.to_string()).unwrap_or_default(),
        e.config_source,
        e.synonyms
            .iter()
            .map(|s| (s.name.to_string(), s.source))
            .collect(),
    )
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alter_then_describe_shows_kafkas_sources_and_synonyms() {
    let broker = TestBroker::start().await;
    let topic = unique_topic("live-cfg");
    create_topic(&broker.bootstrap(), &topic, 2, &[]).await;
    let addr = broker.bootstrap();
    blocking(move || {
        let mut raw = Raw::connect(&addr);
        let before = describe(&mut raw, TOPIC, &topic);
        assert_eq!(before.error_code, 0);
        assert_eq!(entry(&before, "retention.ms").1, 5, "DEFAULT_CONFIG");
        assert!(before.configs.len() >= 30, "every topic config of Kafka's");
        let doc = before
            .configs
            .iter()
            .find(|c| c.name.as_str() == "segment.ms");
        assert!(
            doc.unwrap().documentation.is_some(),
            "documentation when asked"
        );

        let errors = alter(
            &mut raw,
            false,
            vec![
                resource(
                    TOPIC,
                    &topic,
                    &[
                        ("retention.ms", SET, Some("1000")),
                        ("cleanup.policy", APPEND, Some("compact")),
                    ],
                ),
                resource(BROKER, "", &[("log.retention.ms", SET, Some("5000"))]),
                resource(BROKER, "0", &[("log.segment.bytes", SET, Some("2048"))]),
            ],
        );
        assert_eq!(errors, [0, 0, 0]);
        let after = describe(&mut raw, TOPIC, &topic);
        assert_eq!(
            entry(&after, "retention.ms"),
            (
                "1000".to_string(),
                1,
                vec![
                    ("retention.ms".into(), 1),
                    ("log.retention.ms".into(), 3),
                    ("log.retention.hours".into(), 5)
                ]
            ),
            "the topic's own value, the cluster default, Kafka's default"
        );
        assert_eq!(entry(&after, "cleanup.policy").0, "delete,compact");
        let segment = entry(&after, "segment.bytes");
        assert_eq!(
            (segment.0.as_str(), segment.1),
            ("2048", 2),
            "DYNAMIC_BROKER_CONFIG"
        );
        assert_eq!(
            segment.2,
            [
                ("log.segment.bytes".to_string(), 2),
                ("log.segment.bytes".to_string(), 5)
            ]
        );

        // DELETE: the cluster default applies again; SUBTRACT takes from a list.
        let errors = alter(
            &mut raw,
            false,
            vec![resource(
                TOPIC,
                &topic,
                &[
                    ("retention.ms", DELETE, None),
                    ("cleanup.policy", SUBTRACT, Some("delete")),
                ],
            )],
        );
        assert_eq!(errors, [0]);
        let after = describe(&mut raw, TOPIC, &topic);
        assert_eq!(entry(&after, "retention.ms").0, "5000");
        assert_eq!(
            entry(&after, "retention.ms").1,
            3,
            "DYNAMIC_DEFAULT_BROKER_CONFIG"
        );
        assert_eq!(entry(&after, "cleanup.policy").0, "compact");

        // The broker resources: per node everything, "" only what is set there.
        let node = describe(&mut raw, BROKER, "0");
        assert_eq!(entry(&node, "log.retention.ms").1, 3);
        assert_eq!(entry(&node, "log.segment.bytes").1, 2);
        let ro = node
            .configs
            .iter()
            .find(|c| c.name.as_str() == "num.partitions")
            .unwrap();
        assert!(ro.read_only);
        let cluster = describe(&mut raw, BROKER, "");
        assert_eq!(cluster.configs.len(), 1);
        assert_eq!(entry(&cluster, "log.retention.ms").0, "5000");
        // APPEND to a broker list config starts from the value in force there.
        let errors = alter(
            &mut raw,
            false,
            vec![resource(
                BROKER,
                "",
                &[
                    ("log.cleanup.policy", APPEND, Some("compact")),
                    ("background.threads", SET, Some("9")),
                ],
            )],
        );
        assert_eq!(errors, [0], "names Kafka takes dynamically are kept");
        let cluster = describe(&mut raw, BROKER, "");
        assert_eq!(entry(&cluster, "log.cleanup.policy").0, "delete,compact");
        assert_eq!(entry(&cluster, "background.threads").0, "9");
        assert_eq!(
            describe(&mut raw, BROKER, "7").error_code,
            42,
            "another broker: INVALID_REQUEST"
        );

        // A group that does not exist: the group configs and their defaults.
        let group = describe(&mut raw, GROUP, "no-such-group");
        assert_eq!(group.error_code, 0);
        assert_eq!(
            entry(&group, "consumer.session.timeout.ms"),
            (
                "45000".into(),
                5,
                vec![("consumer.session.timeout.ms".into(), 5)]
            )
        );
        assert_eq!(
            alter(
                &mut raw,
                false,
                vec![resource(
                    GROUP,
                    "g1",
                    &[("consumer.session.timeout.ms", SET, Some("50000"))]
                )]
            ),
            [0]
        );
        assert_eq!(
            entry(
                &describe(&mut raw, GROUP, "g1"),
                "consumer.session.timeout.ms"
            )
            .1,
            8,
            "GROUP_CONFIG"
        );

        // Loggers: listed with levels, and a level can be set.
        let loggers = describe(&mut raw, BROKER_LOGGER, "0");
        assert_eq!(loggers.error_code, 0);
        assert_eq!(loggers.configs[0].name.as_str(), "root");
        assert_eq!(
            alter(
                &mut raw,
                false,
                vec![resource(
                    BROKER_LOGGER,
                    "0",
                    &[("sluice::partition", SET, Some("DEBUG"))]
                )]
            ),
            [0]
        );
        assert_eq!(
            entry(&describe(&mut raw, BROKER_LOGGER, "0"), "sluice::partition").0,
            "DEBUG"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafkas_errors_per_resource_and_validate_only() {
    let broker = TestBroker::start().await;
    let topic = unique_topic("cfg-err");
    create_topic(
        &broker.bootstrap(),
        &topic,
        1,
        &[("retention.ms", "123456")],
    )
    .await;
    let addr = broker.bootstrap();
    blocking(move || {
        let mut raw = Raw::connect(&addr);
        let t = topic.as_str();
        let errors = alter(
            &mut raw,
            false,
            vec![
                resource(TOPIC, t, &[("no.such.config", SET, Some("1"))]),
                resource(TOPIC, "no-such-topic", &[("retention.ms", SET, Some("1"))]),
                resource(BROKER, "5", &[("log.retention.ms", SET, Some("1"))]),
                resource(BROKER, "0", &[("num.partitions", SET, Some("3"))]),
                resource(
                    GROUP,
                    "g",
                    &[("consumer.session.timeout.ms", SET, Some("1000"))],
                ),
            ],
        );
        assert_eq!(errors, [40, 3, 42, 42, 40]);
        // One logger resource per request (a resource may appear once).
        for (ops, code) in [
            (("sluice", APPEND, Some("DEBUG")), 42),
            (("root", DELETE, None), 42),
            (("nobody.knows", SET, Some("DEBUG")), 40),
            (("sluice", SET, Some("LOUD")), 40),
        ] {
            let errors = alter(&mut raw, false, vec![resource(BROKER_LOGGER, "0", &[ops])]);
            assert_eq!(errors, [code], "{ops:?}");
        }
        let errors = alter(
            &mut raw,
            false,
            vec![
                resource(TOPIC, t, &[("retention.ms", SET, Some("soon"))]),
                resource(
                    TOPIC,
                    "__consumer_offsets",
                    &[("cleanup.policy", SET, Some("delete"))],
                ),
                resource(
                    GROUP,
                    "g2",
                    &[
                        ("consumer.session.timeout.ms", SET, Some("50000")),
                        ("consumer.session.timeout.ms", DELETE, None),
                    ],
                ),
                resource(GROUP, "g3", &[("share.session.timeout.ms", SET, None)]),
                resource(
                    GROUP,
                    "g4",
                    &[("consumer.session.timeout.ms", APPEND, Some("1"))],
                ),
            ],
        );
        assert_eq!(errors, [40, 44, 42, 42, 40]);
        // The same resource twice: both refused; the other one is done.
        let errors = alter(
            &mut raw,
            false,
            vec![
                resource(TOPIC, t, &[("segment.ms", SET, Some("100000"))]),
                resource(GROUP, "dup", &[]),
                resource(GROUP, "dup", &[]),
            ],
        );
        assert_eq!(errors, [0, 42, 42]);
        // validate_only: checked, nothing changes.
        let errors = alter(
            &mut raw,
            true,
            vec![
                resource(TOPIC, t, &[("retention.ms", SET, Some("999"))]),
                resource(TOPIC, t, &[("retention.ms", SET, Some("-7"))]),
            ],
        );
        assert_eq!(errors, [42, 42], "twice in one request");
        assert_eq!(
            alter(
                &mut raw,
                true,
                vec![resource(TOPIC, t, &[("retention.ms", SET, Some("999"))])]
            ),
            [0]
        );
        assert_eq!(
            alter(
                &mut raw,
                true,
                vec![resource(TOPIC, t, &[("retention.ms", SET, Some("-7"))])]
            ),
            [40]
        );
        let now = describe(&mut raw, TOPIC, t);
        assert_eq!(
            entry(&now, "retention.ms").0,
            "123456",
            "validate_only changed nothing"
        );
        assert_eq!(entry(&now, "segment.ms").0, "100000");
        // A key twice within a resource.
        let errors = alter(
            &mut raw,
            false,
            vec![resource(
                TOPIC,
                t,
                &[
                    ("retention.ms", SET, Some("1")),
                    ("retention.ms", SET, Some("2")),
                ],
            )],
        );
        assert_eq!(errors, [42]);
        // The legacy API has no BROKER_LOGGER.
        let req = AlterConfigsRequest::default().with_resources(vec![
            kafka_protocol::messages::alter_configs_request::AlterConfigsResource::default()
                .with_resource_type(BROKER_LOGGER)
                .with_resource_name(s("0")),
        ]);
        assert_eq!(raw.call(2, &req).responses[0].error_code, 42);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alter_configs_replaces_the_whole_set_and_changes_survive_a_restart() {
    let mut broker = TestBroker::start().await;
    let topic = unique_topic("cfg-replace");
    create_topic(
        &broker.bootstrap(),
        &topic,
        1,
        &[("retention.ms", "123456"), ("segment.bytes", "4096")],
    )
    .await;
    let admin = admin(&broker.bootstrap());
    let opts = AdminOptions::new().request_timeout(Some(Duration::from_secs(10)));
    let res = admin
        .alter_configs(
            &[
                AlterConfig::new(ResourceSpecifier::Topic(&topic)).set("max.message.bytes", "5000"),
                AlterConfig::new(ResourceSpecifier::Broker(0)).set("log.retention.bytes", "7777"),
            ],
            &opts,
        )
        .await
        .unwrap();
    assert!(res.iter().all(|r| r.is_ok()), "{res:?}");
    let addr = broker.bootstrap();
    let t = topic.clone();
    blocking(move || {
        let mut raw = Raw::connect(&addr);
        assert_eq!(
            alter(
                &mut raw,
                false,
                vec![resource(
                    GROUP,
                    "kept",
                    &[("share.record.lock.duration.ms", SET, Some("20000"))]
                )]
            ),
            [0]
        );
        let d = describe(&mut raw, TOPIC, &t);
        assert_eq!(entry(&d, "max.message.bytes").0, "5000");
        assert_eq!(
            entry(&d, "retention.ms").1,
            5,
            "not given: back to the default"
        );
        assert_eq!(entry(&d, "segment.bytes").1, 5);
        assert_eq!(
            entry(&d, "retention.bytes"),
            (
                "7777".into(),
                2,
                vec![
                    ("log.retention.bytes".into(), 2),
                    ("log.retention.bytes".into(), 5)
                ]
            )
        );
    })
    .await;
    if ephemeral_mode() {
        return;
    }
    broker.restart().await;
    let addr = broker.bootstrap();
    blocking(move || {
        let mut raw = Raw::connect(&addr);
        let d = describe(&mut raw, TOPIC, &topic);
        assert_eq!(
            entry(&d, "max.message.bytes"),
            (
                "5000".into(),
                1,
                vec![
                    ("max.message.bytes".into(), 1),
                    ("message.max.bytes".into(), 5)
                ]
            )
        );
        assert_eq!(
            entry(&d, "retention.bytes").0,
            "7777",
            "the dynamic broker config is back"
        );
        let g = describe(&mut raw, GROUP, "kept");
        assert_eq!(entry(&g, "share.record.lock.duration.ms").0, "20000");
    })
    .await;
}

async fn wait_for_start(client: &BaseConsumer, topic: &str, min: i64) -> (i64, i64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let marks = watermarks(client, topic);
        if marks.0 > min {
            return marks;
        }
        assert!(
            Instant::now() < deadline,
            "retention did not move the log start offset of {topic} past {min}: {marks:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_retention_on_a_live_topic_deletes_old_segments_within_a_pass() {
    let broker = TestBroker::start_with(|c| c.retention_check_interval_ms = 100).await;
    let own = unique_topic("live-ret");
    let by_default = unique_topic("live-ret-default");
    for t in [&own, &by_default] {
        create_topic(&broker.bootstrap(), t, 1, &[("segment.bytes", "1024")]).await;
    }
    // A day old: kept by the default week, past a minute at once.
    let day_ago = now_ms() - 86_400_000;
    produce_batches(&broker.bootstrap(), &own, 40, Some(day_ago)).await;
    produce_batches(&broker.bootstrap(), &by_default, 40, Some(day_ago)).await;
    let client: BaseConsumer = client_config(&broker.bootstrap())
        .set("group.id", "sluice-tests-no-group")
        .create()
        .unwrap();
    assert_eq!(watermarks(&client, &own), (0, 40));
    let addr = broker.bootstrap();
    let (o, d) = (own.clone(), by_default.clone());
    blocking(move || {
        let mut raw = Raw::connect(&addr);
        let errors = alter(
            &mut raw,
            false,
            vec![
                resource(TOPIC, &o, &[("retention.ms", SET, Some("60000"))]),
                // The cluster default: every topic without its own value.
                resource(BROKER, "", &[("log.retention.minutes", SET, Some("1"))]),
            ],
        );
        assert_eq!(errors, [0, 0]);
        assert_eq!(
            entry(&describe(&mut raw, TOPIC, &d), "retention.ms").0,
            "60000"
        );
    })
    .await;
    assert_eq!(wait_for_start(&client, &own, 38).await, (40, 40));
    assert_eq!(wait_for_start(&client, &by_default, 38).await, (40, 40));
}

fn segment_files(broker: &TestBroker, topic: &str) -> usize {
    std::fs::read_dir(broker.dir.join(format!("{topic}-0")))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "log")
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_segment_bytes_change_rolls_at_the_new_size() {
    if ephemeral_mode() {
        return;
    }
    let broker = TestBroker::start().await;
    let topic = unique_topic("live-seg");
    create_topic(&broker.bootstrap(), &topic, 1, &[]).await;
    produce_batches(&broker.bootstrap(), &topic, 10, None).await;
    assert_eq!(segment_files(&broker, &topic), 1);
    let addr = broker.bootstrap();
    let t = topic.clone();
    blocking(move || {
        let mut raw = Raw::connect(&addr);
        assert_eq!(
            alter(
                &mut raw,
                false,
                vec![resource(TOPIC, &t, &[("segment.bytes", SET, Some("1024"))])]
            ),
            [0]
        );
    })
    .await;
    // Each batch is ~180 bytes: 1024-byte segments hold five.
    produce_batches(&broker.bootstrap(), &topic, 20, None).await;
    let files = segment_files(&broker, &topic);
    assert!(files >= 4, "rolled at 1024 bytes: {files} segments");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedding_api_alters_and_describes_configs() {
    use sluice::admin::{ConfigOp, ConfigResource, ConfigSource, NewTopic};
    let broker = TestBroker::start().await;
    let admin = broker.broker.as_ref().unwrap().admin();
    let topic = unique_topic("admin-cfg");
    admin.create_topic(NewTopic::new(&topic, 1)).await.unwrap();
    let resource = ConfigResource::Topic(topic.clone());
    admin
        .incremental_alter_configs(
            &resource,
            &[ConfigOp::Set("retention.ms".into(), "1000".into())],
            false,
        )
        .await
        .unwrap();
    let refused = admin
        .incremental_alter_configs(
            &resource,
            &[ConfigOp::Append("retention.ms".into(), "1".into())],
            false,
        )
        .await
        .unwrap_err();
    assert_eq!(refused.code(), 40, "INVALID_CONFIG: not a list");
    let configs = admin.describe_configs(&resource).unwrap();
    let retention = configs.iter().find(|c| c.name == "retention.ms").unwrap();
    assert_eq!(
        (retention.value.as_deref(), retention.source),
        (Some("1000"), ConfigSource::Topic)
    );
    let group = admin
        .describe_configs(&ConfigResource::Group("never-seen".into()))
        .unwrap();
    assert!(group.iter().all(|c| c.source == ConfigSource::Default));
    assert!(group
        .iter()
        .any(|c| c.name == "consumer.heartbeat.interval.ms"));
}

/// Regression: the broker's describe left out `log.retention.ms` (and the
/// other broker configs with no value and no default of their own), and
/// a successful alter carried an empty error message. Kafka lists such a
/// config with a null value as DEFAULT_CONFIG, and answers success with a
/// null message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_configs_without_a_value_are_listed_null_and_success_has_no_message() {
    let broker = TestBroker::start().await;
    let topic = unique_topic("cfg-null");
    create_topic(&broker.bootstrap(), &topic, 1, &[]).await;
    let addr = broker.bootstrap();
    blocking(move || {
        let mut raw = Raw::connect(&addr);
        let node = describe(&mut raw, BROKER, "0");
        let retention = node
            .configs
            .iter()
            .find(|c| c.name.as_str() == "log.retention.ms")
            .expect("log.retention.ms is listed");
        assert_eq!(retention.value, None);
        assert_eq!(retention.config_source, 5, "DEFAULT_CONFIG");
        assert_eq!(entry(&node, "log.retention.hours").0, "168");

        let req = IncrementalAlterConfigsRequest::default().with_resources(vec![resource(
            TOPIC,
            &topic,
            &[("retention.ms", SET, Some("100000"))],
        )]);
        let resp = raw.call(1, &req);
        assert_eq!(resp.responses[0].error_code, 0);
        assert_eq!(resp.responses[0].error_message, None);
        let req = AlterConfigsRequest::default().with_resources(vec![
            kafka_protocol::messages::alter_configs_request::AlterConfigsResource::default()
                .with_resource_type(TOPIC)
                .with_resource_name(s(&topic))
                .with_configs(vec![
                    kafka_protocol::messages::alter_configs_request::AlterableConfig::default()
                        .with_name(s("retention.ms"))
                        .with_value(Some(s("200000"))),
                ]),
        ]);
        let resp = raw.call(2, &req);
        assert_eq!(resp.responses[0].error_code, 0);
        assert_eq!(resp.responses[0].error_message, None);
    })
    .await;
}
