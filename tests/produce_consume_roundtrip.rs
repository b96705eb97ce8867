//! 10,000 keyed messages with headers across 3 partitions round-trip through
//! real librdkafka clients with keys, values, headers, timestamps and
//! per-partition order intact — and again after a broker restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::*;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::FutureRecord;

const COUNT: usize = 10_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_keyed_messages_round_trip_and_survive_restart() {
    let mut broker = TestBroker::start().await;
    let topic = unique_topic("roundtrip");
    create_topic(&broker.bootstrap(), &topic, 3, &[]).await;

    let producer = producer(&broker.bootstrap(), &[]);
    let base_ts = now_ms() - 3_600_000;
    let mut sent: HashMap<(i32, i64), (String, String, i64)> = HashMap::new();
    let mut pending = Vec::with_capacity(COUNT);
    for i in 0..COUNT {
        let key = format!("key-{}", i % 97);
        let value = format!("value-{i}");
        let ts = base_ts + i as i64;
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "seq",
                value: Some(&i.to_string()),
            })
            .insert(Header {
                key: "empty",
                value: None::<&[u8]>,
            });
        let record = FutureRecord::to(&topic)
            .key(&key)
            .payload(&value)
            .timestamp(ts)
            .headers(headers);
        pending.push((
            key.clone(),
            value.clone(),
            ts,
            producer.send_result(record).expect("queued"),
        ));
    }
    for (key, value, ts, fut) in pending {
        let delivery = fut.await.expect("delivered").expect("acknowledged");
        sent.insert((delivery.partition, delivery.offset), (key, value, ts));
    }
    assert_eq!(sent.len(), COUNT, "every message got its own offset");
    let partitions_used: std::collections::HashSet<i32> = sent.keys().map(|(p, _)| *p).collect();
    assert_eq!(
        partitions_used.len(),
        3,
        "keys spread over all 3 partitions"
    );

    let check = |label: &str, got: Vec<Got>| {
        assert_eq!(got.len(), COUNT, "{label}: consumed everything");
        let mut last: HashMap<i32, i64> = HashMap::new();
        for g in &got {
            let prev = last.insert(g.partition, g.offset);
            assert_eq!(
                prev.map_or(0, |p| p + 1),
                g.offset,
                "{label}: offsets contiguous and in order"
            );
            let (key, value, ts) = sent.get(&(g.partition, g.offset)).expect("was produced");
            assert_eq!(g.key.as_deref(), Some(key.as_bytes()), "{label}: key");
            assert_eq!(g.value.as_deref(), Some(value.as_bytes()), "{label}: value");
            assert_eq!(g.timestamp, Some(*ts), "{label}: timestamp");
            let seq = value.trim_start_matches("value-");
            assert_eq!(
                g.headers,
                vec![
                    ("seq".to_string(), Some(seq.as_bytes().to_vec())),
                    ("empty".to_string(), None)
                ],
                "{label}: headers"
            );
        }
    };

    let consumer = consumer_from_start(&broker.bootstrap(), &topic, 3, &[]);
    let got = tokio::task::block_in_place(|| consume(&consumer, COUNT, Duration::from_secs(60)));
    check("before restart", got);
    drop(consumer);
    drop(producer);

    if ephemeral_mode() {
        return; // nothing survives a restart in memory-only mode
    }
    broker.restart().await;
    let consumer = consumer_from_start(&broker.bootstrap(), &topic, 3, &[]);
    let got = tokio::task::block_in_place(|| consume(&consumer, COUNT, Duration::from_secs(60)));
    check("after restart", got);

    // The restarted log keeps accepting writes at the next offsets.
    let producer = common::producer(&broker.bootstrap(), &[]);
    let d = producer
        .send(
            FutureRecord::to(&topic).key("key-0").payload("after"),
            Duration::from_secs(30),
        )
        .await
        .expect("delivered after restart");
    let (p, o) = (d.partition, d.offset);
    let before = sent.keys().filter(|(pp, _)| *pp == p).count() as i64;
    assert_eq!(o, before, "appends continue after the last offset");
}
