//! With `--fsync always`, a broker killed with SIGKILL at random points
//! while a real client produces with acks=all loses no acknowledged
//! message: after each restart every acknowledged message is present exactly
//! once, at the offset it was acknowledged with, in order, and the log keeps
//! accepting writes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::child::ChildBroker;
use common::*;
use rdkafka::consumer::Consumer;
use rdkafka::producer::{FutureProducer, FutureRecord};

const ROUNDS: usize = 4;

fn crash_producer(addr: &str) -> FutureProducer {
    // No retries: a retried request could append twice, and this test is
    // about what the broker keeps, not about idempotence.
    producer(
        addr,
        &[
            ("acks", "all"),
            ("linger.ms", "2"),
            ("retries", "0"),
            ("message.timeout.ms", "8000"),
            ("request.timeout.ms", "5000"),
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_messages_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let topic = "crash";
    // value -> acknowledged offset
    let acked: Arc<Mutex<HashMap<String, i64>>> = Arc::new(Mutex::new(HashMap::new()));
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for round in 0..ROUNDS {
        let broker = ChildBroker::start(dir.path(), &["--fsync", "always"]);
        if round == 0 {
            create_topic(&broker.addr, topic, 1, &[]).await;
        }
        let producer = crash_producer(&broker.addr);
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let kill_after = Duration::from_millis(150 + seed % 600);
        let started = Instant::now();
        let mut pending = Vec::new();
        let mut i = 0u64;
        // Produce until the kill point (bounded in count and time).
        while started.elapsed() < kill_after && i < 60_000 {
            let value = format!("r{round}-m{i}");
            match producer.send_result(FutureRecord::<(), _>::to(topic).payload(&value)) {
                Ok(f) => pending.push((value, f)),
                Err(_) => tokio::time::sleep(Duration::from_millis(1)).await,
            }
            i += 1;
            if i.is_multiple_of(200) {
                tokio::task::yield_now().await;
            }
        }
        broker.kill();
        for (value, f) in pending {
            if let Ok(Ok(d)) = f.await {
                acked.lock().unwrap().insert(value, d.offset);
            }
        }
        eprintln!(
            "round {round}: killed after {kill_after:?}, {} acknowledged in total",
            acked.lock().unwrap().len()
        );
    }

    // Restart once more and read everything back.
    let broker = ChildBroker::start(dir.path(), &["--fsync", "always"]);
    let consumer = consumer_from_start(&broker.addr, topic, 1, &[]);
    let (_, high) = tokio::task::block_in_place(|| {
        consumer
            .fetch_watermarks(topic, 0, Duration::from_secs(30))
            .unwrap()
    });
    let got =
        tokio::task::block_in_place(|| consume(&consumer, high as usize, Duration::from_secs(120)));
    assert_eq!(
        got.len() as i64,
        high,
        "every offset below the high watermark is readable"
    );
    let mut seen: HashMap<String, i64> = HashMap::new();
    for g in &got {
        let value = String::from_utf8(g.value.clone().unwrap()).unwrap();
        assert!(
            seen.insert(value.clone(), g.offset).is_none(),
            "{value} stored twice"
        );
    }
    let acked = acked.lock().unwrap().clone();
    assert!(!acked.is_empty(), "some messages were acknowledged");
    for (value, offset) in acked.iter() {
        assert_eq!(
            seen.get(value),
            Some(offset),
            "acknowledged {value} at offset {offset} is there"
        );
    }
    // Order: within each round, acknowledged messages keep send order.
    let mut by_round: HashMap<&str, Vec<(u64, i64)>> = HashMap::new();
    for (value, offset) in acked.iter() {
        let (r, m) = value.split_once('-').unwrap();
        by_round
            .entry(r)
            .or_default()
            .push((m[1..].parse().unwrap(), *offset));
    }
    for list in by_round.values_mut() {
        list.sort();
        assert!(list.windows(2).all(|w| w[0].1 < w[1].1), "send order kept");
    }

    // The recovered log accepts new writes after its last offset.
    let producer = crash_producer(&broker.addr);
    let d = producer
        .send(
            FutureRecord::<(), _>::to(topic).payload("after"),
            Duration::from_secs(30),
        )
        .await
        .expect("write after recovery");
    assert_eq!(d.offset, high);
}
