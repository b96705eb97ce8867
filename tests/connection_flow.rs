//! A connection keeps reading requests while a large reply is being
//! written. A client that sends big requests and reads replies only when
//! it is done sending (librdkafka can be in the middle of sending a Fetch
//! for hundreds of partitions while a large Fetch reply arrives) must not
//! deadlock with a broker that stopped reading until its write finished.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::time::Duration;

use common::raw::Raw;
use common::*;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{FetchRequest, TopicName};
use kafka_protocol::protocol::StrBytes;

const REQUESTS: usize = 40;
/// Padding per request (its rack id), so that the requests together are
/// more than the socket buffers between client and broker hold.
const PAD: usize = 512 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_requests_sent_while_big_replies_are_written_do_not_deadlock() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let topic = unique_topic("flow");
    create_topic(&bootstrap, &topic, 1, &[]).await;
    fill_partition_zero(&bootstrap, &topic, 1000).await;

    let addr = bootstrap.clone();
    tokio::task::spawn_blocking(move || {
        let mut raw = Raw::connect(&addr);
        let request = FetchRequest::default()
            .with_max_wait_ms(0)
            .with_min_bytes(0)
            .with_max_bytes(1 << 20)
            .with_session_epoch(-1)
            .with_rack_id(StrBytes::from_string("r".repeat(PAD)))
            .with_topics(vec![FetchTopic::default()
                .with_topic(TopicName(StrBytes::from_string(topic.clone())))
                .with_partitions(vec![FetchPartition::default()
                    .with_partition(0)
                    .with_fetch_offset(0)
                    .with_partition_max_bytes(1 << 20)])]);
        let frames: Vec<_> = (0..REQUESTS).map(|_| raw.frame(12, &request)).collect();
        // Every request is sent before any reply is read.
        let mut sender = raw.stream.try_clone().unwrap();
        let all: Vec<u8> = frames.iter().flat_map(|(_, f)| f.to_vec()).collect();
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = done_tx.send(sender.write_all(&all).map_err(|e| e.to_string()));
        });
        let sent = done_rx.recv_timeout(Duration::from_secs(60));
        assert!(
            matches!(sent, Ok(Ok(()))),
            "the broker stopped reading while its replies were unread: {sent:?}"
        );
        for (id, _) in &frames {
            let response = raw.recv::<FetchRequest>(12, *id);
            let records = response.responses[0].partitions[0]
                .records
                .as_ref()
                .map_or(0, |r| r.len());
            assert!(records > 500_000, "a full reply, got {records} bytes");
        }
    })
    .await
    .unwrap();
}
