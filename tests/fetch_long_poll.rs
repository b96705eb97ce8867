//! A long-poll fetch is answered when data arrives, not when max_wait runs
//! out: with max_wait 20 s, a produce wakes the waiting fetch right away.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::raw::Raw;
use common::*;
use kafka_protocol::messages::FetchRequest;
use rdkafka::producer::FutureRecord;

const MAX_WAIT_MS: i32 = 20_000;

fn fetch_request(topic: &str, offset: i64, min_bytes: i32) -> FetchRequest {
    common::raw::fetch_request(topic, offset, MAX_WAIT_MS, min_bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_poll_fetch_is_woken_by_a_produce() {
    let broker = TestBroker::start().await;
    let topic = unique_topic("longpoll");
    create_topic(&broker.bootstrap(), &topic, 1, &[]).await;
    let addr = broker.bootstrap();
    let t = topic.clone();
    let waiting = tokio::task::spawn_blocking(move || {
        let mut raw = Raw::connect(&addr);
        let started = Instant::now();
        let resp = raw.call(11, &fetch_request(&t, 0, 1));
        (started.elapsed(), resp)
    });
    // Let the fetch reach the broker and start waiting.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let producer = producer(&broker.bootstrap(), &[("linger.ms", "0")]);
    producer
        .send(
            FutureRecord::to(&topic).key("k").payload("wake up"),
            Duration::from_secs(10),
        )
        .await
        .expect("delivered");
    let (elapsed, resp) = waiting.await.unwrap();
    let part = &resp.responses[0].partitions[0];
    assert_eq!(part.error_code, 0);
    assert_eq!(part.high_watermark, 1);
    assert!(
        !part.records.as_ref().unwrap().is_empty(),
        "the new batch is in the response"
    );
    assert!(
        elapsed < Duration::from_millis(MAX_WAIT_MS as u64 / 2),
        "answered on produce ({elapsed:?}), not after max_wait"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_poll_without_data_waits_then_answers_empty() {
    let broker = TestBroker::start().await;
    let topic = unique_topic("longpoll-empty");
    create_topic(&broker.bootstrap(), &topic, 1, &[]).await;
    let addr = broker.bootstrap();
    let resp = tokio::task::spawn_blocking(move || {
        let mut raw = Raw::connect(&addr);
        let mut req = fetch_request(&topic, 0, 1);
        req.max_wait_ms = 300;
        let started = Instant::now();
        let resp = raw.call(11, &req);
        assert!(
            started.elapsed() >= Duration::from_millis(250),
            "waited for max_wait"
        );
        resp
    })
    .await
    .unwrap();
    let part = &resp.responses[0].partitions[0];
    assert_eq!(part.error_code, 0);
    assert!(part.records.as_ref().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_keep_request_order_behind_a_waiting_fetch() {
    let broker = TestBroker::start().await;
    let topic = unique_topic("order");
    create_topic(&broker.bootstrap(), &topic, 1, &[]).await;
    let addr = broker.bootstrap();
    tokio::task::spawn_blocking(move || {
        let mut raw = Raw::connect(&addr);
        let mut slow = fetch_request(&topic, 0, 1);
        slow.max_wait_ms = 500;
        let first = raw.send(11, &slow);
        let meta = kafka_protocol::messages::MetadataRequest::default();
        let second = raw.send(12, &meta);
        // The fetch answers after ~500 ms, the metadata at once, yet the
        // fetch's response must come first.
        let _fetch = raw.recv::<FetchRequest>(11, first);
        let _meta = raw.recv::<kafka_protocol::messages::MetadataRequest>(12, second);
    })
    .await
    .unwrap();
}
