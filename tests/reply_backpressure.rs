//! A client that sends requests and never reads the replies must not make
//! the broker queue replies without bound (found: 64 queued fetch replies
//! per connection, 3.2 GB). The broker stops reading such a connection's
//! requests once its unwritten replies reach the per-connection bound, or
//! the broker-wide bound while it has any reply unwritten, and resumes when
//! the client reads.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::raw::Raw;
use common::*;
use kafka_protocol::messages::FetchRequest;
use sluice::ConnectionStats;

/// Fetch requests each connection sends before reading any reply.
const REQUESTS: usize = 60;

fn fetch_all(topic: &str) -> FetchRequest {
    common::raw::fetch_request(topic, 0, 0, 0)
}

/// Fills partition 0 of a new topic with about 1.2 MB.
async fn topic_with_a_megabyte(bootstrap: &str) -> String {
    let topic = unique_topic("unread");
    create_topic(bootstrap, &topic, 1, &[]).await;
    fill_partition_zero(bootstrap, &topic, 1200).await;
    topic
}

/// Sends `REQUESTS` fetches on a new connection without reading; returns
/// the connection and the correlation ids. Also returns the size of one
/// reply frame, read first.
fn flood(addr: &str, topic: &str) -> (Raw, Vec<i32>, usize) {
    let mut raw = Raw::connect(addr);
    let request = fetch_all(topic);
    let one = raw.send(12, &request);
    let reply = raw.read_frame().expect("first reply");
    assert_eq!(common::raw::correlation_of(&reply), one);
    let frames: Vec<_> = (0..REQUESTS).map(|_| raw.frame(12, &request)).collect();
    let all: Vec<u8> = frames.iter().flat_map(|(_, f)| f.to_vec()).collect();
    // Small requests: the socket buffers take them all at once.
    raw.stream.write_all(&all).unwrap();
    (
        raw,
        frames.iter().map(|(id, _)| *id).collect(),
        reply.len() + 4,
    )
}

/// Waits until `paused` readers wait for their replies to be written,
/// checking all along that the queued bytes never pass `limit`.
fn wait_paused(stats: &ConnectionStats, paused: usize, limit: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let queued = stats.queued_reply_bytes();
        assert!(
            queued <= limit,
            "{queued} bytes of unread replies queued, more than the bound allows ({limit})"
        );
        if stats.paused_readers() == paused {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the broker kept reading requests of connections that read no replies \
             ({} paused, {queued} bytes queued)",
            stats.paused_readers()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Reads every reply, in order, each a full one.
fn read_all(raw: &mut Raw, ids: &[i32]) {
    for id in ids {
        let response = raw.recv::<FetchRequest>(12, *id);
        let records = response.responses[0].partitions[0]
            .records
            .as_ref()
            .map_or(0, |r| r.len());
        assert!(records > 500_000, "a full reply, got {records} bytes");
    }
}

fn wait_drained(stats: &ConnectionStats) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while stats.queued_reply_bytes() != 0 || stats.paused_readers() != 0 {
        assert!(
            Instant::now() < deadline,
            "queued figures did not return to zero: {} bytes, {} paused",
            stats.queued_reply_bytes(),
            stats.paused_readers()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unread_fetch_replies_do_not_grow_memory_without_bound() {
    const BOUND: usize = 2 << 20;
    let broker = TestBroker::start_with(|c| c.max_queued_reply_bytes_per_connection = BOUND).await;
    let bootstrap = broker.bootstrap();
    let topic = topic_with_a_megabyte(&bootstrap).await;
    let stats = Arc::clone(broker.broker.as_ref().unwrap().connection_stats());
    tokio::task::spawn_blocking(move || {
        let (mut raw, ids, reply) = flood(&bootstrap, &topic);
        // The reply that reaches the bound is queued whole, nothing after it.
        wait_paused(&stats, 1, BOUND + reply);
        // The client reads: the broker resumes and answers every request.
        read_all(&mut raw, &ids);
        wait_drained(&stats);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unread_replies_across_connections_stay_under_the_broker_wide_bound() {
    const TOTAL: usize = 3 << 20;
    let broker = TestBroker::start_with(|c| c.max_queued_reply_bytes = TOTAL).await;
    let bootstrap = broker.bootstrap();
    let topic = topic_with_a_megabyte(&bootstrap).await;
    let stats = Arc::clone(broker.broker.as_ref().unwrap().connection_stats());
    tokio::task::spawn_blocking(move || {
        let (mut a, a_ids, reply) = flood(&bootstrap, &topic);
        let (mut b, b_ids, _) = flood(&bootstrap, &topic);
        // Over the total, each connection holds at most one more reply.
        wait_paused(&stats, 2, TOTAL + 2 * reply);
        read_all(&mut a, &a_ids);
        read_all(&mut b, &b_ids);
        wait_drained(&stats);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_goes_away_while_its_replies_wait_frees_them() {
    const BOUND: usize = 2 << 20;
    let broker = TestBroker::start_with(|c| c.max_queued_reply_bytes_per_connection = BOUND).await;
    let bootstrap = broker.bootstrap();
    let topic = topic_with_a_megabyte(&bootstrap).await;
    let stats = Arc::clone(broker.broker.as_ref().unwrap().connection_stats());
    tokio::task::spawn_blocking(move || {
        let (raw, _, reply) = flood(&bootstrap, &topic);
        wait_paused(&stats, 1, BOUND + reply);
        // Closed with replies unread: the broker's writes fail, and the
        // paused reader must notice and let the connection go.
        drop(raw);
        wait_drained(&stats);
    })
    .await
    .unwrap();
}
