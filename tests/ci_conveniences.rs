//! The CI conveniences: `--topics` (the binary and the builder), the ready
//! file (its content, and that it exists only once the broker serves),
//! `group.initial.rebalance.delay.ms` 0 when ephemeral unless set, and the
//! reset between tests (HTTP and Rust) while clients stay connected.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::child::ChildBroker;
use common::http::{get, request};
use common::raw::Raw;
use common::*;
use kafka_protocol::messages::MetadataRequest;
use kafka_protocol::protocol::StrBytes;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::FutureRecord;
use rdkafka::Message;
use serde_json::json;
use sluice::admin::ConfigSource;
use sluice::{Broker, Config, StartError};

/// (partition count, error code) of `topic` in a Metadata v12 answer on a
/// new connection.
fn metadata_of(addr: &str, topic: &str) -> (usize, i16) {
    let mut raw = Raw::connect(addr);
    let req = MetadataRequest::default()
        .with_allow_auto_topic_creation(false)
        .with_topics(Some(vec![
            kafka_protocol::messages::metadata_request::MetadataRequestTopic::default().with_name(
                Some(kafka_protocol::messages::TopicName(StrBytes::from_string(
                    topic.to_string(),
                ))),
            ),
        ]));
    let resp = raw.call(12, &req);
    let t = &resp.topics[0];
    let served = t.partitions.iter().filter(|p| p.error_code == 0).count();
    (served, t.error_code)
}

fn topic_config(broker: &Broker, topic: &str, key: &str) -> (Option<String>, ConfigSource) {
    let entry = broker
        .admin()
        .describe_topic_configs(topic)
        .unwrap()
        .into_iter()
        .find(|e| e.name == key)
        .unwrap();
    (entry.value, entry.source)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_builder_creates_its_topics_before_start_returns() {
    let broker = Broker::builder()
        .option("num.partitions", "2")
        .topic("orders", 3)
        .topics("payments:1:cleanup.policy=compact:retention.ms=60000, events:cleanup.policy=[compact,delete]")
        .start()
        .await
        .unwrap();
    let admin = broker.admin();
    assert_eq!(admin.describe_topic("orders").unwrap().partitions, 3);
    assert_eq!(admin.describe_topic("payments").unwrap().partitions, 1);
    assert_eq!(
        admin.describe_topic("events").unwrap().partitions,
        2,
        "no count: num.partitions"
    );
    assert_eq!(
        topic_config(&broker, "payments", "cleanup.policy"),
        (Some("compact".into()), ConfigSource::Topic)
    );
    assert_eq!(
        topic_config(&broker, "payments", "retention.ms"),
        (Some("60000".into()), ConfigSource::Topic)
    );
    assert_eq!(
        topic_config(&broker, "events", "cleanup.policy"),
        (Some("compact,delete".into()), ConfigSource::Topic)
    );
    // A client sees them at once, every partition served.
    let addr = broker.bootstrap_servers();
    assert_eq!(metadata_of(&addr, "orders"), (3, 0));
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_topic_specs_stop_the_start_with_a_clear_message() {
    for (spec, says) in [
        ("orders:x", "the partition count \"x\" is not a number"),
        ("orders:3:compact", "is not KEY=VALUE"),
        ("bad name!:1", "invalid topic name"),
        ("t:1:retention.ms=abc", "retention.ms"),
        (
            "t:1:no.such.config=1",
            "Unknown topic config name: no.such.config",
        ),
        ("__consumer_offsets:1", "internal topic"),
        (
            "t:1:min.compaction.lag.ms=10:max.compaction.lag.ms=5",
            "max.compaction.lag.ms",
        ),
    ] {
        let Err(e) = Broker::builder().topics(spec).start().await else {
            panic!("{spec} was taken");
        };
        let message = e.to_string();
        assert!(message.contains(says), "{spec}: {message}");
        assert!(
            matches!(e, StartError::Config(_) | StartError::TopicSpec { .. }),
            "{spec}: {e:?}"
        );
    }
    // The binary: exit status and the message on stderr, before it listens.
    let dir = tempfile::tempdir().unwrap();
    for (spec, says) in [
        ("orders:0", "at least 1"),
        ("t:1:cleanup.policy=bogus", "cleanup.policy"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args([
                "--listen",
                "127.0.0.1:0",
                "--http-listen",
                "none",
                "--ephemeral",
            ])
            .arg("--data-dir")
            .arg(dir.path())
            .args(["--topics", spec])
            .env("SLUICE_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{spec}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("topics") && stderr.contains(says),
            "{spec}: {stderr}"
        );
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("listening on"),
            "{spec}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_creates_topics_from_the_environment_and_writes_the_ready_file() {
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready");
    let mut command = Command::new(env!("CARGO_BIN_EXE_sluice"));
    command
        .env(
            "SLUICE_TOPICS",
            "orders:3,payments:1:cleanup.policy=compact",
        )
        .env("SLUICE_READY_FILE", &ready)
        .env("SLUICE_EPHEMERAL", "1")
        .env("SLUICE_LOG", "warn")
        .args(["--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = command.spawn().unwrap();
    // Polled from the spawn on: when the file appears the broker serves,
    // its --topics included.
    let deadline = Instant::now() + Duration::from_secs(60);
    let content = loop {
        assert!(Instant::now() < deadline, "no ready file");
        if let Ok(content) = std::fs::read_to_string(&ready) {
            break content;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let addr = content.strip_suffix('\n').expect("one line").to_string();
    assert_eq!(metadata_of(&addr, "orders"), (3, 0));
    assert_eq!(metadata_of(&addr, "payments"), (1, 0));
    assert!(!dir.path().join("ready.tmp").exists());
    // The same address as the ready line.
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
    let listening = lines
        .find_map(|l| l.ok()?.strip_prefix("listening on ").map(str::to_string))
        .unwrap();
    assert_eq!(listening, addr);
    // A clean stop removes it.
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert!(!ready.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ready_file_appears_only_once_the_broker_serves() {
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready");
    std::fs::write(&ready, "stale from an earlier run\n").unwrap();
    let config = Config {
        listen: "127.0.0.1:0".into(),
        http_listen: Some("127.0.0.1:0".into()),
        ephemeral: true,
        ready_file: Some(ready.clone()),
        topics: sluice::config::parse_topics("orders:2").unwrap(),
        ..Config::default()
    };
    let (mut broker, hold) = Broker::start_held(config).await.unwrap();
    assert!(!ready.exists(), "an old file is removed at start");
    let http = broker.http_addr().unwrap();
    assert_eq!(get(http, "/readyz").await.0, 503);
    assert!(!ready.exists(), "not while the broker loads");
    hold.release();
    broker.ready().await.unwrap();
    assert_eq!(
        std::fs::read_to_string(&ready).unwrap(),
        format!("{}\n", broker.bootstrap_servers())
    );
    assert_eq!(get(http, "/readyz").await.0, 200);
    assert_eq!(
        broker.admin().describe_topic("orders").unwrap().partitions,
        2
    );
    broker.shutdown().await;
    assert!(!ready.exists(), "removed at shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_that_exists_is_left_as_it_is() {
    if ephemeral_mode() {
        return;
    }
    let specs = |s: &str| sluice::config::parse_topics(s).unwrap();
    let mut broker = TestBroker::start_with(|c| c.topics = specs("kept:2")).await;
    produce_batches(&broker.bootstrap(), "kept", 3, None).await;
    broker
        .restart_with(|c| c.topics = specs("kept:4:retention.ms=1000,added:1"))
        .await;
    let b = broker.broker.as_ref().unwrap();
    let kept = b.admin().describe_topic("kept").unwrap();
    assert_eq!(kept.partitions, 2, "not grown");
    assert_ne!(
        topic_config(b, "kept", "retention.ms").1,
        ConfigSource::Topic,
        "configs untouched"
    );
    assert_eq!(b.admin().describe_topic("added").unwrap().partitions, 1);
    let consumer = consumer_from_start(&broker.bootstrap(), "kept", 2, &[]);
    let records: i64 = (0..2)
        .map(|p| {
            tokio::task::block_in_place(|| {
                consumer
                    .fetch_watermarks("kept", p, Duration::from_secs(10))
                    .unwrap()
                    .1
            })
        })
        .sum();
    assert_eq!(records, 3, "data kept");
}

/// How long a new consumer of `group` takes from subscribing to having its
/// partitions assigned.
async fn time_to_assignment(bootstrap: &str, topic: &str, group: &str) -> Duration {
    let consumer: BaseConsumer = client_config(bootstrap)
        .set("group.id", group)
        .set("session.timeout.ms", "10000")
        .create()
        .unwrap();
    let topic = topic.to_string();
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        consumer.subscribe(&[&topic]).unwrap();
        while consumer.assignment().unwrap().count() == 0 {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "never assigned"
            );
            consumer.poll(Duration::from_millis(20));
        }
        started.elapsed()
    })
    .await
    .unwrap()
}

fn broker_config(broker: &Broker, key: &str) -> Option<String> {
    broker
        .admin()
        .describe_broker_configs()
        .into_iter()
        .find(|e| e.name == key)
        .and_then(|e| e.value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ephemeral_broker_rebalances_at_once_unless_the_delay_is_set() {
    let delay = "group.initial.rebalance.delay.ms";
    let broker = Broker::builder().topic("t", 1).start().await.unwrap();
    assert_eq!(broker_config(&broker, delay).as_deref(), Some("0"));
    let took = time_to_assignment(&broker.bootstrap_servers(), "t", "fast").await;
    assert!(
        took < Duration::from_secs(3),
        "first join delayed: {took:?}"
    );
    broker.shutdown().await;

    let broker = Broker::builder()
        .topic("t", 1)
        .option(delay, "3000")
        .start()
        .await
        .unwrap();
    assert_eq!(broker_config(&broker, delay).as_deref(), Some("3000"));
    let took = time_to_assignment(&broker.bootstrap_servers(), "t", "slow").await;
    assert!(took >= Duration::from_secs(3), "set explicitly: {took:?}");
    broker.shutdown().await;

    // Not ephemeral: Kafka's default.
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::builder()
        .data_dir(dir.path())
        .start()
        .await
        .unwrap();
    assert_eq!(broker_config(&broker, delay).as_deref(), Some("3000"));
    broker.shutdown().await;
}

async fn send(producer: &rdkafka::producer::FutureProducer, topic: &str, value: &str) {
    producer
        .send(
            FutureRecord::<(), str>::to(topic).payload(value),
            Duration::from_secs(30),
        )
        .await
        .unwrap();
}

/// Polls `consumer` (on a blocking thread) until it has received `value`.
async fn receive(consumer: BaseConsumer, value: &'static str) -> BaseConsumer {
    tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            assert!(Instant::now() < deadline, "{value} never arrived");
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
                if m.payload() == Some(value.as_bytes()) {
                    return consumer;
                }
            }
        }
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_empties_the_broker_while_clients_stay_connected() {
    let broker = Broker::builder()
        .http_listen("127.0.0.1:0")
        .topics("orders:2")
        .start()
        .await
        .unwrap();
    let http = broker.http_addr().unwrap();
    let bootstrap = broker.bootstrap_servers();
    let admin = broker.admin();
    admin
        .create_topic(sluice::admin::NewTopic::new("scratch", 1))
        .await
        .unwrap();
    let producer = producer(&bootstrap, &[("linger.ms", "0")]);
    for v in ["one", "two", "before"] {
        send(&producer, "orders", v).await;
    }
    let consumer: BaseConsumer = client_config(&bootstrap)
        .set("group.id", "g1")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("topic.metadata.refresh.interval.ms", "500")
        .create()
        .unwrap();
    consumer.subscribe(&["orders"]).unwrap();
    let consumer = receive(consumer, "before").await;
    let consumer = tokio::task::spawn_blocking(move || {
        consumer.commit_consumer_state(CommitMode::Sync).unwrap();
        consumer
    })
    .await
    .unwrap();
    assert!(!admin.committed_offsets("g1").unwrap().is_empty());

    let (status, summary) = request(http, "POST", "/v1/reset", None).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(
        summary,
        json!({
            "deleted_topics": ["orders", "scratch"],
            "deleted_groups": ["g1"],
            "created_topics": ["orders"],
        })
    );
    let topics = admin.list_topics();
    assert!(!topics.contains(&"scratch".to_string()), "{topics:?}");
    assert!(topics.contains(&"__consumer_offsets".to_string()));
    assert_eq!(admin.describe_topic("orders").unwrap().partitions, 2);
    assert!(
        admin.committed_offsets("g1").unwrap().is_empty(),
        "offsets gone"
    );
    let check = consumer_from_start(&bootstrap, "orders", 2, &[]);
    for p in 0..2 {
        let (low, high) = tokio::task::block_in_place(|| {
            check
                .fetch_watermarks("orders", p, Duration::from_secs(10))
                .unwrap()
        });
        assert_eq!((low, high), (0, 0), "orders-{p} is empty");
    }

    // The same producer and consumer carry on: the consumer rejoins g1 (a
    // new, empty group) and reads what is produced now.
    send(&producer, "orders", "after").await;
    let consumer = receive(consumer, "after").await;
    drop(consumer);

    // The Rust handle does the same.
    let summary = broker.reset().await.unwrap();
    assert_eq!(summary.deleted_topics, ["orders"]);
    assert_eq!(summary.created_topics, ["orders"]);
    assert!(broker.admin().committed_offsets("g1").unwrap().is_empty());
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_through_the_binary_brings_back_its_topics() {
    let dir = tempfile::tempdir().unwrap();
    let child = ChildBroker::start(dir.path(), &["--topics", "orders:3"]);
    let http = child.http.expect("an HTTP server");
    let addr = child.addr.clone();
    create_topic(&addr, "scratch", 1, &[]).await;
    let (status, body) = request(http, "POST", "/v1/reset", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["created_topics"], json!(["orders"]));
    assert_eq!(metadata_of(&addr, "orders"), (3, 0));
    assert_eq!(
        metadata_of(&addr, "scratch").1,
        3,
        "UNKNOWN_TOPIC_OR_PARTITION"
    );
    child.stop();
}

/// `docs/snippets/ci-shell.sh` (the shell snippet of the docs) runs as
/// written, with the binary on PATH and kcat and curl as clients.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ci_shell_snippet_runs() {
    for tool in ["kcat", "curl"] {
        if Command::new(tool).arg("-V").output().is_err() {
            eprintln!("skipped: {tool} is not installed");
            return;
        }
    }
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_sluice")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/snippets/ci-shell.sh");
    let mut child = Command::new("sh")
        .arg(script)
        .env("PATH", path)
        .env("SLUICE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the snippet did not finish");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    assert!(status.success(), "{status}: {out}");
    assert!(out.lines().any(|l| l == "hello"), "{out}");
    assert!(
        out.contains(r#""created_topics":["orders","payments"]"#),
        "{out}"
    );
}

/// Resets while a producer keeps writing (and auto-creating the topics it
/// writes to): each reset succeeds, the spec's topics come back as the spec
/// says, and the producer keeps being served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resets_while_a_producer_keeps_writing() {
    let broker = Broker::builder().topics("busy:2").start().await.unwrap();
    let bootstrap = broker.bootstrap_servers();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = std::sync::Arc::clone(&stop);
        let producer = producer(
            &bootstrap,
            &[("linger.ms", "0"), ("message.timeout.ms", "5000")],
        );
        tokio::spawn(async move {
            let mut delivered = 0u32;
            let mut i = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && i < 100_000 {
                i += 1;
                for topic in ["busy", "scratch-auto"] {
                    let record = FutureRecord::<(), str>::to(topic).payload("x");
                    if producer.send(record, Duration::from_secs(5)).await.is_ok() {
                        delivered += 1;
                    }
                }
            }
            delivered
        })
    };
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let summary = broker.reset().await.expect("a reset with a busy client");
        assert_eq!(summary.created_topics, ["busy"]);
        assert_eq!(broker.admin().describe_topic("busy").unwrap().partitions, 2);
    }
    // Served after the last reset too.
    let p = producer(&bootstrap, &[]);
    p.send(
        FutureRecord::<(), str>::to("busy").payload("last"),
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let delivered = writer.await.unwrap();
    assert!(delivered > 0);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ready_file_that_cannot_be_written_fails_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-dir").join("ready");
    let started = Broker::builder()
        .with_config(|c| c.ready_file = Some(path.clone()))
        .start()
        .await;
    let Err(e) = started else {
        panic!("started without its ready file");
    };
    assert!(matches!(e, StartError::ReadyFile { .. }), "{e:?}");
    assert!(e.to_string().contains("no-such-dir"), "{e}");
}
