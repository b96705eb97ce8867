//! The small files in a partition directory are untrusted input: a damaged
//! `log-start-offset`, or a directory where a segment file or a state file should be,
//! must not stop the broker. It falls back to what the log itself says, sets the odd
//! entry aside with a warning, and starts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use rdkafka::consumer::Consumer;
use rdkafka::producer::FutureRecord;

const COUNT: usize = 10;

async fn produce(broker: &TestBroker, topic: &str, from: usize, count: usize) {
    let producer = producer(&broker.bootstrap(), &[("linger.ms", "0")]);
    for i in from..from + count {
        let delivered = producer
            .send(
                FutureRecord::to(topic)
                    .key("k")
                    .payload(&format!("value-{i:04}")),
                Duration::from_secs(30),
            )
            .await
            .unwrap();
        assert_eq!(delivered.offset, i as i64);
    }
}

/// A stopped broker whose topic holds COUNT records.
async fn stopped_broker_with_records(topic: &str) -> (TestBroker, PathBuf) {
    let mut broker = TestBroker::start().await;
    create_topic(&broker.bootstrap(), topic, 1, &[]).await;
    produce(&broker, topic, 0, COUNT).await;
    broker.broker.take().unwrap().shutdown().await;
    let dir = broker.dir.join(format!("{topic}-0"));
    (broker, dir)
}

/// Every record of the partition, read by a real client, is there.
async fn assert_all_records(broker: &TestBroker, topic: &str, count: usize) {
    let consumer = consumer_from_start(&broker.bootstrap(), topic, 1, &[]);
    let (low, high) = tokio::task::block_in_place(|| {
        consumer
            .fetch_watermarks(topic, 0, Duration::from_secs(10))
            .unwrap()
    });
    assert_eq!((low, high), (0, count as i64));
    let got = tokio::task::block_in_place(|| consume(&consumer, count, Duration::from_secs(30)));
    assert_eq!(got.len(), count);
    for (i, g) in got.iter().enumerate() {
        assert_eq!(g.offset, i as i64);
        assert_eq!(g.value.as_deref(), Some(format!("value-{i:04}").as_bytes()));
    }
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_log_start_offset_file_falls_back_to_log() {
    let topic = "garbage-log-start";
    let (mut broker, dir) = stopped_broker_with_records(topic).await;
    let mut produced = COUNT;
    for garbage in ["xyz", "-7\n", "", "\u{0}\u{ff}"] {
        std::fs::write(dir.join("log-start-offset"), garbage).unwrap();
        broker.restart().await;
        // The log starts at its first segment, as if the file were not there.
        assert_all_records(&broker, topic, produced).await;
        produce(&broker, topic, produced, 1).await;
        produced += 1;
        broker.broker.take().unwrap().shutdown().await;
    }
    broker.restart().await;
    assert_all_records(&broker, topic, produced).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_named_like_segment_does_not_stop_start() {
    let topic = "segment-named-dir";
    let (mut broker, dir) = stopped_broker_with_records(topic).await;
    // A directory named like a later segment, and one where the active segment's
    // offset index should be.
    std::fs::create_dir(dir.join("00000000000000000500.log")).unwrap();
    std::fs::remove_file(dir.join("00000000000000000000.index")).unwrap();
    std::fs::create_dir(dir.join("00000000000000000000.index")).unwrap();
    std::fs::write(dir.join("00000000000000000000.index/inside"), "kept").unwrap();

    broker.restart().await;
    assert_all_records(&broker, topic, COUNT).await;
    produce(&broker, topic, COUNT, 5).await;
    assert_all_records(&broker, topic, COUNT + 5).await;
    // Set aside, not deleted.
    let names = entries(&dir);
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("00000000000000000000.index.")),
        "{names:?}"
    );
    broker.restart().await;
    assert_all_records(&broker, topic, COUNT + 5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directories_where_state_files_belong_do_not_stop_start() {
    let topic = "state-file-dirs";
    let (mut broker, dir) = stopped_broker_with_records(topic).await;
    for name in [
        "log-start-offset",
        "recovery-point",
        "recovery-point.tmp",
        "log-start-offset.tmp",
        ".clean-shutdown",
    ] {
        let _ = std::fs::remove_file(dir.join(name));
        std::fs::create_dir(dir.join(name)).unwrap();
    }
    broker.restart().await;
    assert_all_records(&broker, topic, COUNT).await;
    produce(&broker, topic, COUNT, 5).await;
    // A clean stop and start again: the recovery point is written where the
    // directory was.
    broker.restart().await;
    assert_all_records(&broker, topic, COUNT + 5).await;
}

/// The cluster id the broker gives clients in Metadata (v12, raw).
fn served_cluster_id(broker: &TestBroker) -> Option<String> {
    let mut raw = common::raw::Raw::connect(&broker.bootstrap());
    let resp = raw.call(12, &kafka_protocol::messages::MetadataRequest::default());
    resp.cluster_id.map(|id| id.to_string())
}

/// A `cluster.id` holding garbage used to be served to clients as the cluster id
/// (any bytes, of any size, as long as they were UTF-8). Now it is replaced by a
/// well-formed new id, with a warning, and the broker starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_cluster_id_file_is_not_served() {
    let mut broker = TestBroker::start().await;
    let good = served_cluster_id(&broker).unwrap();
    assert_eq!(good.len(), 22);
    let path = broker.dir.join("__sluice_metadata").join("cluster.id");
    for garbage in [
        "not a cluster id at all, but long enough to be served".to_string(),
        "-7".to_string(),
        "x".repeat(1 << 20),
    ] {
        broker.broker.take().unwrap().shutdown().await;
        std::fs::write(&path, &garbage).unwrap();
        broker.restart().await;
        let id = served_cluster_id(&broker).unwrap();
        assert_eq!(
            id.len(),
            22,
            "served {id:?} from a cluster.id holding garbage"
        );
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        // The replacement is kept: the next start serves the same id.
        broker.restart().await;
        assert_eq!(served_cluster_id(&broker).as_deref(), Some(id.as_str()));
    }
}
