//! Test harness: a real broker on 127.0.0.1:0 in a temp dir, and real
//! librdkafka clients (the `rdkafka` crate) pointed at it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod batch;
pub mod child;
pub mod http;
pub mod logs;
pub mod raw;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::FutureProducer;
use rdkafka::{Offset, TopicPartitionList};
use sluice::{Broker, Config};

/// A broker running in this process, with its data directory.
pub struct TestBroker {
    pub broker: Option<Broker>,
    pub dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
}

impl TestBroker {
    pub async fn start() -> TestBroker {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestBroker {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let broker = start_in(&dir, tweak).await;
        TestBroker {
            broker: Some(broker),
            dir,
            _tmp: Some(tmp),
        }
    }

    pub fn bootstrap(&self) -> String {
        self.broker.as_ref().unwrap().local_addr().to_string()
    }

    /// Stops the broker and starts a new one on the same data directory.
    pub async fn restart(&mut self) {
        self.restart_with(|_| {}).await
    }

    pub async fn restart_with(&mut self, tweak: impl FnOnce(&mut Config)) {
        if let Some(b) = self.broker.take() {
            b.shutdown().await;
        }
        self.broker = Some(start_in(&self.dir, tweak).await);
    }
}

/// True when the suite runs against `--ephemeral` brokers
/// (`SLUICE_TEST_EPHEMERAL=1 cargo test`): tests about files on disk or
/// restarts skip those parts.
pub fn ephemeral_mode() -> bool {
    std::env::var_os("SLUICE_TEST_EPHEMERAL").is_some_and(|v| v != "0")
}

async fn start_in(dir: &Path, tweak: impl FnOnce(&mut Config)) -> Broker {
    let mut config = Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.to_path_buf(),
        ephemeral: ephemeral_mode(),
        ..Config::default()
    };
    tweak(&mut config);
    Broker::start(config).await.expect("broker starts")
}

pub fn client_config(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap)
        .set("broker.address.family", "v4")
        .set("socket.timeout.ms", "30000");
    c
}

pub fn producer(bootstrap: &str, extra: &[(&str, &str)]) -> FutureProducer {
    let mut c = client_config(bootstrap);
    c.set("linger.ms", "5").set("message.timeout.ms", "60000");
    for (k, v) in extra {
        c.set(*k, *v);
    }
    c.create().expect("producer")
}

/// A consumer without a group, assigned to `partitions` of `topic` from the start.
pub fn consumer_from_start(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    extra: &[(&str, &str)],
) -> BaseConsumer {
    let mut c = client_config(bootstrap);
    // librdkafka's assign() needs a group.id, though no group is joined and
    // nothing is committed: partitions are assigned by hand.
    c.set("group.id", "sluice-tests-no-group")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("fetch.wait.max.ms", "100");
    for (k, v) in extra {
        c.set(*k, *v);
    }
    let consumer: BaseConsumer = c.create().expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&tpl).unwrap();
    consumer
}

pub fn admin(bootstrap: &str) -> AdminClient<DefaultClientContext> {
    client_config(bootstrap).create().expect("admin")
}

/// Produces `count` records of 1,000 bytes to partition 0 of `topic` and waits
/// until every one is acknowledged. Batches are at most 64 KiB, so a 1 MiB
/// fetch of them always holds more than 900 KB of whole batches (librdkafka's
/// default 1 MB batches could end a fetch after a few hundred KB).
pub async fn fill_partition_zero(bootstrap: &str, topic: &str, count: usize) {
    let producer = producer(bootstrap, &[("batch.size", "65536")]);
    let value = vec![b'v'; 1000];
    let sends = (0..count).map(|_| {
        producer.send(
            rdkafka::producer::FutureRecord::<(), [u8]>::to(topic)
                .partition(0)
                .payload(&value[..]),
            Duration::from_secs(30),
        )
    });
    for delivered in futures::future::join_all(sends).await {
        delivered.unwrap();
    }
}

pub async fn create_topic(bootstrap: &str, name: &str, partitions: i32, configs: &[(&str, &str)]) {
    let admin = admin(bootstrap);
    let mut topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
    for (k, v) in configs {
        topic = topic.set(k, v);
    }
    let res = admin
        .create_topics(
            &[topic],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .expect("create_topics");
    for r in res {
        r.expect("topic created");
    }
}

/// One consumed record, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Got {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    pub timestamp: Option<i64>,
}

/// Polls until `count` records arrived or `timeout` passed.
pub fn consume(consumer: &BaseConsumer, count: usize, timeout: Duration) -> Vec<Got> {
    let deadline = Instant::now() + timeout;
    let mut out = Vec::with_capacity(count);
    while out.len() < count && Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                let headers = m
                    .headers()
                    .map(|h| {
                        h.iter()
                            .map(|h| (h.key.to_string(), h.value.map(|v| v.to_vec())))
                            .collect()
                    })
                    .unwrap_or_default();
                out.push(Got {
                    partition: m.partition(),
                    offset: m.offset(),
                    key: m.key().map(|k| k.to_vec()),
                    value: m.payload().map(|v| v.to_vec()),
                    headers,
                    timestamp: m.timestamp().to_millis(),
                });
            }
            Some(Err(e)) => panic!("consumer error: {e}"),
            None => {}
        }
    }
    out
}

/// Milliseconds since the Unix epoch. Tests stamp records relative to now:
/// records a week old would be deleted by the default retention.ms.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A topic name no other test uses.
pub fn unique_topic(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Produces `n` keyed records of about 100 bytes to partition 0's topic,
/// one request each (linger 0), with timestamps from `timestamp` on if given.
pub async fn produce_batches(bootstrap: &str, topic: &str, n: usize, timestamp: Option<i64>) {
    let producer = producer(bootstrap, &[("linger.ms", "0")]);
    for i in 0..n {
        let value = format!("{i:05}-{}", "x".repeat(100));
        let mut record = rdkafka::producer::FutureRecord::to(topic)
            .key("k")
            .payload(&value);
        if let Some(ts) = timestamp {
            record = record.timestamp(ts + i as i64);
        }
        producer
            .send(record, Duration::from_secs(30))
            .await
            .unwrap();
    }
}

/// Partition 0's (low, high) watermarks.
pub fn watermarks(consumer: &BaseConsumer, topic: &str) -> (i64, i64) {
    tokio::task::block_in_place(|| {
        consumer
            .fetch_watermarks(topic, 0, Duration::from_secs(10))
            .unwrap()
    })
}
