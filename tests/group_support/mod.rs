//! Consumer-group test helpers: group consumers polling on their own
//! threads (librdkafka only rebalances while the application polls), and
//! bounded waiting.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::message::Message;
use rdkafka::producer::FutureRecord;
use rdkafka::TopicPartitionList;

use crate::common::{client_config, producer};

/// Settings every group consumer in these tests uses: short sessions and
/// heartbeats so that failures are seen in seconds.
pub const GROUP_SETTINGS: &[(&str, &str)] = &[
    ("session.timeout.ms", "6000"),
    ("heartbeat.interval.ms", "500"),
    ("max.poll.interval.ms", "30000"),
    ("auto.offset.reset", "earliest"),
    ("enable.auto.commit", "true"),
    ("auto.commit.interval.ms", "300"),
    ("fetch.wait.max.ms", "100"),
    ("topic.metadata.refresh.interval.ms", "2000"),
];

/// What one consumer saw.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    /// Partitions assigned right now.
    pub assignment: BTreeSet<i32>,
    /// (partition, offset) of every record received.
    pub records: Vec<(i32, i64)>,
    /// Rebalance callbacks: ("assign" | "revoke", partitions).
    pub events: Vec<(&'static str, Vec<i32>)>,
    pub errors: Vec<String>,
}

struct Ctx(Arc<Mutex<Seen>>);

impl ClientContext for Ctx {}

impl ConsumerContext for Ctx {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let parts =
            |tpl: &TopicPartitionList| tpl.elements().iter().map(|e| e.partition()).collect();
        let mut seen = self.0.lock().unwrap();
        match rebalance {
            Rebalance::Assign(tpl) => seen.events.push(("assign", parts(tpl))),
            Rebalance::Revoke(tpl) => seen.events.push(("revoke", parts(tpl))),
            Rebalance::Error(e) => seen.errors.push(format!("rebalance: {e}")),
        }
    }
}

/// A group consumer polling on its own thread until stopped.
pub struct Member {
    pub name: String,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
    seen: Arc<Mutex<Seen>>,
}

impl Member {
    /// Subscribes to `topic` in `group` with [`GROUP_SETTINGS`] and `extra`.
    pub fn start(
        bootstrap: &str,
        group: &str,
        topic: &str,
        name: &str,
        extra: &[(&str, &str)],
    ) -> Member {
        let mut config = client_config(bootstrap);
        config.set("group.id", group).set("client.id", name);
        for (k, v) in GROUP_SETTINGS.iter().chain(extra) {
            config.set(*k, *v);
        }
        let seen = Arc::new(Mutex::new(Seen::default()));
        let consumer: BaseConsumer<Ctx> = config
            .create_with_context(Ctx(Arc::clone(&seen)))
            .expect("consumer");
        consumer.subscribe(&[topic]).expect("subscribe");
        let stop = Arc::new(AtomicBool::new(false));
        let handle = {
            let (seen, stop) = (Arc::clone(&seen), Arc::clone(&stop));
            std::thread::spawn(move || {
                // Bounded even if the test forgets to stop it.
                let deadline = Instant::now() + Duration::from_secs(300);
                while !stop.load(Ordering::Acquire) && Instant::now() < deadline {
                    let got = consumer.poll(Duration::from_millis(50));
                    let mut seen = seen.lock().unwrap();
                    match got {
                        Some(Ok(m)) => seen.records.push((m.partition(), m.offset())),
                        Some(Err(e)) => seen.errors.push(e.to_string()),
                        None => {}
                    }
                    if let Ok(tpl) = consumer.assignment() {
                        seen.assignment = tpl.elements().iter().map(|e| e.partition()).collect();
                    }
                }
                // Dropping closes the consumer: a dynamic member leaves the
                // group, a static one does not (KIP-345).
                drop(consumer);
            })
        };
        Member {
            name: name.to_string(),
            stop,
            handle: Some(handle),
            seen,
        }
    }

    pub fn seen(&self) -> Seen {
        self.seen.lock().unwrap().clone()
    }

    pub fn assignment(&self) -> BTreeSet<i32> {
        self.seen.lock().unwrap().assignment.clone()
    }

    /// Closes the consumer (on its thread) and waits for it.
    pub async fn stop(mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(handle) = self.handle.take() {
            tokio::task::spawn_blocking(move || handle.join())
                .await
                .unwrap()
                .unwrap();
        }
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        // A failed test: let the thread end on its own.
        self.stop.store(true, Ordering::Release);
    }
}

/// Polls `check` every 100 ms until it holds or `timeout` passes.
pub async fn wait_until(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Awaits `f` at most `timeout`.
pub async fn within<T>(timeout: Duration, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(timeout, f).await.expect("in time")
}

/// Produces `per_partition` records to each partition; returns the
/// (partition, offset) of every record.
pub async fn produce(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    per_partition: usize,
) -> BTreeSet<(i32, i64)> {
    let producer = producer(bootstrap, &[]);
    let mut pending = Vec::new();
    for i in 0..per_partition {
        for p in 0..partitions {
            let value = format!("{p}-{i}");
            let record = FutureRecord::to(topic)
                .partition(p)
                .key("k")
                .payload(&value);
            pending.push(producer.send_result(record).expect("queued"));
        }
    }
    let mut produced = BTreeSet::new();
    for fut in pending {
        let d = fut.await.expect("delivered").expect("acknowledged");
        produced.insert((d.partition, d.offset));
    }
    produced
}
