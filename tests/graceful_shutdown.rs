//! SIGTERM to the real binary (found: a parked long-poll fetch delayed exit
//! by its max wait, 59 s; a client that did not read kept the broker alive
//! for good). Shutdown answers parked fetches at once, gives connections a
//! bounded time to write what they owe, and always closes the logs cleanly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

use common::child::ChildBroker;
use common::raw::Raw;
use common::*;
use kafka_protocol::messages::FetchRequest;

fn fetch(topic: &str, max_wait_ms: i32, min_bytes: i32) -> FetchRequest {
    common::raw::fetch_request(topic, 0, max_wait_ms, min_bytes)
}

/// (tx_queue, rx_queue) of the TCP socket from local port `local` to
/// remote port `remote` on 127.0.0.1, from /proc/net/tcp.
fn socket_queues(local: u16, remote: u16) -> Option<(u64, u64)> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let (l, r) = (format!(":{local:04X}"), format!(":{remote:04X}"));
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() > 4 && fields[1].ends_with(&l) && fields[2].ends_with(&r) {
            let (tx, rx) = fields[4].split_once(':')?;
            Some((
                u64::from_str_radix(tx, 16).ok()?,
                u64::from_str_radix(rx, 16).ok()?,
            ))
        } else {
            None
        }
    })
}

/// Waits until the condition on the broker's side (`broker`) and the
/// client's side (`client`) of the connection holds.
fn wait_socket(raw: &Raw, what: &str, cond: impl Fn((u64, u64), (u64, u64)) -> bool) {
    let client = raw.stream.local_addr().unwrap().port();
    let server = raw.stream.peer_addr().unwrap().port();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let (Some(b), Some(c)) = (socket_queues(server, client), socket_queues(client, server)) {
            if cond(b, c) {
                return;
            }
        }
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn sigterm(broker: &ChildBroker) {
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(broker.child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits at most `limit` for the broker to exit; it must exit cleanly.
fn exits_within(broker: &mut ChildBroker, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        if let Some(status) = broker.child.try_wait().unwrap() {
            assert!(status.success(), "clean shutdown: {status}");
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "the broker was still running {limit:?} after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_answers_parked_fetch_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = ChildBroker::start(dir.path(), &[]);
    let topic = unique_topic("parked");
    create_topic(&broker.addr, &topic, 1, &[]).await;
    let addr = broker.addr.clone();
    tokio::task::spawn_blocking(move || {
        let mut raw = Raw::connect(&addr);
        raw.stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        // Nothing to read: the fetch parks for up to 60 s.
        let id = raw.send(12, &fetch(&topic, 60_000, 1));
        wait_socket(
            &raw,
            "the broker has read the fetch",
            |(_, b_rx), (c_tx, _)| b_rx == 0 && c_tx == 0,
        );
        let asked = Instant::now();
        sigterm(&broker);
        let response = raw.recv::<FetchRequest>(12, id);
        let answered = asked.elapsed();
        let part = &response.responses[0].partitions[0];
        assert_eq!(part.error_code, 0);
        assert_eq!(part.records.as_ref().map_or(0, |r| r.len()), 0);
        assert!(
            answered < Duration::from_secs(10),
            "the parked fetch was answered {answered:?} after SIGTERM"
        );
        exits_within(&mut broker, Duration::from_secs(20));
        assert!(
            dir.path()
                .join(format!("{topic}-0"))
                .join(".clean-shutdown")
                .exists(),
            "the log was closed cleanly"
        );
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_with_a_client_not_reading_exits_within_the_timeout_and_marks_logs_clean() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = ChildBroker::start(dir.path(), &["--shutdown-timeout-ms", "1000"]);
    let topic = unique_topic("unread");
    create_topic(&broker.addr, &topic, 1, &[]).await;
    fill_partition_zero(&broker.addr, &topic, 1200).await;
    let addr = broker.addr.clone();
    tokio::task::spawn_blocking(move || {
        let mut raw = Raw::connect(&addr);
        let request = fetch(&topic, 0, 0);
        let all: Vec<u8> = (0..40)
            .flat_map(|_| raw.frame(12, &request).1.to_vec())
            .collect();
        raw.stream.write_all(&all).unwrap();
        // Replies pile up in both socket buffers: the broker's writer is stuck.
        wait_socket(
            &raw,
            "unread replies fill the socket buffers",
            |(b_tx, _), (_, c_rx)| b_tx > 0 && c_rx > 30_000,
        );
        sigterm(&broker);
        let took = exits_within(&mut broker, Duration::from_secs(30));
        assert!(took < Duration::from_secs(15), "exit took {took:?}");
        assert!(
            dir.path()
                .join(format!("{topic}-0"))
                .join(".clean-shutdown")
                .exists(),
            "the log was closed cleanly despite the stuck connection"
        );
        drop(raw);
    })
    .await
    .unwrap();
}

/// A SIGTERM sent the moment the broker says "listening on" used to end the
/// process by the signal's default action (the handler was installed only
/// after that line): no clean shutdown, exit by signal. Every round must exit
/// with success.
#[test]
fn sigterm_right_after_listening_shuts_down_cleanly() {
    for round in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let broker = ChildBroker::start(dir.path(), &[]);
        let pid = broker.child.id().to_string();
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status();
        let mut broker = broker;
        let status = broker.child.wait().unwrap();
        assert!(
            status.success(),
            "round {round}: exit after SIGTERM: {status}"
        );
    }
}

/// Shutdown used to close the logs while a CreateTopics was still making its
/// partitions on the blocking pool (its connection already gone): the new
/// partitions were never closed, so they had no `.clean-shutdown`, and the
/// creation ran on after the data-directory lock was released. Now shutdown
/// waits for a topic change in progress, and none starts after it began.
#[test]
fn shutdown_waits_for_a_topic_creation_in_progress() {
    use kafka_protocol::messages::create_topics_request::CreatableTopic;
    use kafka_protocol::messages::{CreateTopicsRequest, TopicName};
    use kafka_protocol::protocol::StrBytes;
    const PARTITIONS: i32 = 3000;
    let dir = tempfile::tempdir().unwrap();
    let topic = "wide";
    // One descriptor per partition, whatever the machine's default limit.
    let broker =
        ChildBroker::start_with_fd_limit(dir.path(), &["--shutdown-timeout-ms", "0"], 8000);
    let mut raw = Raw::connect(&broker.addr);
    raw.send(
        7,
        &CreateTopicsRequest::default()
            .with_topics(vec![CreatableTopic::default()
                .with_name(TopicName(StrBytes::from_static_str(topic)))
                .with_num_partitions(PARTITIONS)
                .with_replication_factor(1)])
            .with_timeout_ms(60_000),
    );
    let partition_dirs = || {
        std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.strip_prefix("wide-"))
                    .is_some_and(|n| n.parse::<i32>().is_ok())
            })
            .collect::<Vec<_>>()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while partition_dirs().is_empty() {
        assert!(Instant::now() < deadline, "the creation never began");
        std::thread::sleep(Duration::from_millis(2));
    }
    let mut broker = broker;
    sigterm(&broker);
    exits_within(&mut broker, Duration::from_secs(60));
    let dirs = partition_dirs();
    assert_eq!(
        dirs.len(),
        PARTITIONS as usize,
        "the creation was cut short"
    );
    let unclean: Vec<_> = dirs
        .iter()
        .filter(|d| !d.join(".clean-shutdown").exists())
        .collect();
    assert!(
        unclean.is_empty(),
        "{} of {PARTITIONS} new partitions were not closed cleanly, e.g. {:?}",
        unclean.len(),
        unclean.first()
    );
}
