//! Idle connections are closed after `connections.max.idle.ms` (found: 50
//! idle sockets shut every other client out with `--max-connections 50`).
//! Idle means no reply owed and no request received for that long, so a
//! long-poll fetch parked longer than the idle time keeps its connection;
//! a reply the client does not take (no write progress for that long)
//! does not keep a connection alive either.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::raw::Raw;
use common::*;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{ApiVersionsRequest, FetchRequest, TopicName};
use kafka_protocol::protocol::StrBytes;

/// Small so the tests are quick, with margin for a loaded machine between
/// a connect and its first request.
const MAX_IDLE_MS: u64 = 500;

fn connect(addr: &str) -> Raw {
    let raw = Raw::connect(addr);
    raw.stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    raw
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_after_max_idle() {
    let broker = TestBroker::start_with(|c| {
        c.max_connections = 2;
        c.connections_max_idle_ms = MAX_IDLE_MS;
    })
    .await;
    let addr = broker.bootstrap();
    tokio::task::spawn_blocking(move || {
        // Two clients take both connection slots, ask one thing, then idle.
        let mut idle: Vec<Raw> = (0..2).map(|_| connect(&addr)).collect();
        for raw in &mut idle {
            let resp = raw.call(0, &ApiVersionsRequest::default());
            assert_eq!(resp.error_code, 0);
        }
        // A third client is served once an idle one has been closed.
        let mut third = connect(&addr);
        let id = third.send(0, &ApiVersionsRequest::default());
        let resp = third.recv::<ApiVersionsRequest>(0, id);
        assert_eq!(resp.error_code, 0);
        for raw in &mut idle {
            assert!(
                raw.is_closed(),
                "the idle connection was closed by the broker"
            );
        }
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetch_parked_longer_than_max_idle_keeps_its_connection() {
    let broker = TestBroker::start_with(|c| c.connections_max_idle_ms = MAX_IDLE_MS).await;
    let topic = unique_topic("idle-poll");
    create_topic(&broker.bootstrap(), &topic, 1, &[]).await;
    let addr = broker.bootstrap();
    tokio::task::spawn_blocking(move || {
        let mut raw = connect(&addr);
        let wait_ms = (MAX_IDLE_MS * 3) as i32;
        let request = FetchRequest::default()
            .with_max_wait_ms(wait_ms)
            .with_min_bytes(1)
            .with_max_bytes(1 << 20)
            .with_session_epoch(-1)
            .with_topics(vec![FetchTopic::default()
                .with_topic(TopicName(StrBytes::from_string(topic)))
                .with_partitions(vec![FetchPartition::default()
                    .with_partition(0)
                    .with_fetch_offset(0)
                    .with_partition_max_bytes(1 << 20)])]);
        let started = Instant::now();
        let id = raw.send(12, &request);
        // Answered at its max wait, not cut off as idle.
        let resp = raw.recv::<FetchRequest>(12, id);
        assert_eq!(resp.responses[0].partitions[0].error_code, 0);
        assert!(started.elapsed() >= Duration::from_millis(wait_ms as u64 - 50));
        // Idle from the reply on: closed.
        assert!(raw.is_closed(), "closed once idle after the reply");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_closed_after_max_idle() {
    let broker = TestBroker::start_with(|c| {
        c.max_connections = 1;
        c.connections_max_idle_ms = MAX_IDLE_MS;
    })
    .await;
    let bootstrap = broker.bootstrap();
    let topic = unique_topic("idle-unread");
    create_topic(&bootstrap, &topic, 1, &[]).await;
    // The producer's connections (gone when it returns) held the only slot.
    fill_partition_zero(&bootstrap, &topic, 1200).await;
    tokio::task::spawn_blocking(move || {
        // This client asks for megabytes of replies and never reads them,
        // so the broker's writes to it stall.
        let mut stuck = connect(&bootstrap);
        let request = FetchRequest::default()
            .with_max_wait_ms(0)
            .with_min_bytes(0)
            .with_max_bytes(1 << 20)
            .with_session_epoch(-1)
            .with_topics(vec![FetchTopic::default()
                .with_topic(TopicName(StrBytes::from_string(topic)))
                .with_partitions(vec![FetchPartition::default()
                    .with_partition(0)
                    .with_fetch_offset(0)
                    .with_partition_max_bytes(1 << 20)])]);
        let all: Vec<u8> = (0..40)
            .flat_map(|_| stuck.frame(12, &request).1.to_vec())
            .collect();
        stuck.stream.write_all(&all).unwrap();
        // Another client is served once the stalled one has been closed.
        let mut next = connect(&bootstrap);
        let id = next.send(0, &ApiVersionsRequest::default());
        let resp = next.recv::<ApiVersionsRequest>(0, id);
        assert_eq!(resp.error_code, 0);
    })
    .await
    .unwrap();
}
