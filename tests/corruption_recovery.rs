//! Damage on disk after a crash: a flipped byte or a torn tail in the active
//! segment, and truncated or garbled index files. The broker starts, serves
//! every intact batch, never serves the damaged one, and keeps appending.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use rdkafka::consumer::Consumer;
use rdkafka::producer::FutureRecord;

const COUNT: usize = 50;

/// A broker with one topic holding COUNT single-record batches, stopped.
async fn stopped_broker_with_batches(topic: &str) -> (TestBroker, i64) {
    let mut broker = TestBroker::start().await;
    create_topic(&broker.bootstrap(), topic, 1, &[]).await;
    let producer = producer(&broker.bootstrap(), &[("linger.ms", "0")]);
    let t0 = now_ms() - 3_600_000;
    for i in 0..COUNT {
        producer
            .send(
                FutureRecord::to(topic)
                    .key("k")
                    .payload(&format!("value-{i:04}"))
                    .timestamp(t0 + i as i64 * 1000),
                Duration::from_secs(30),
            )
            .await
            .unwrap();
    }
    drop(producer);
    broker.broker.take().unwrap().shutdown().await;
    (broker, t0)
}

fn partition_dir(broker: &TestBroker, topic: &str) -> PathBuf {
    broker.dir.join(format!("{topic}-0"))
}

/// Makes the stop look like a crash: no clean-shutdown marker.
fn forget_clean_shutdown(dir: &Path) {
    let _ = std::fs::remove_file(dir.join(".clean-shutdown"));
}

fn file_with_ext(dir: &Path, ext: &str) -> PathBuf {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    files.sort();
    files.pop().expect("segment file")
}

async fn read_all(broker: &TestBroker, topic: &str) -> (i64, Vec<Got>) {
    let consumer = consumer_from_start(&broker.bootstrap(), topic, 1, &[]);
    let (_, high) = tokio::task::block_in_place(|| {
        consumer
            .fetch_watermarks(topic, 0, Duration::from_secs(10))
            .unwrap()
    });
    let got =
        tokio::task::block_in_place(|| consume(&consumer, high as usize, Duration::from_secs(30)));
    (high, got)
}

fn assert_intact_prefix(got: &[Got], n: usize) {
    assert_eq!(got.len(), n);
    for (i, g) in got.iter().enumerate() {
        assert_eq!(g.offset, i as i64);
        assert_eq!(g.value.as_deref(), Some(format!("value-{i:04}").as_bytes()));
    }
}

async fn next_offset_after_restart(broker: &TestBroker, topic: &str) -> i64 {
    let producer = producer(&broker.bootstrap(), &[]);
    producer
        .send(
            FutureRecord::to(topic).key("k").payload("after"),
            Duration::from_secs(30),
        )
        .await
        .expect("appends work after recovery")
        .offset
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flipped_byte_in_the_last_batch_is_cut_off_not_served() {
    let topic = "flip";
    let (mut broker, _t0) = stopped_broker_with_batches(topic).await;
    let dir = partition_dir(&broker, topic);
    forget_clean_shutdown(&dir);
    let log = file_with_ext(&dir, "log");
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&log)
        .unwrap();
    let len = f.metadata().unwrap().len();
    // Inside the last record's value: the batch still frames, but its CRC fails.
    f.seek(SeekFrom::Start(len - 3)).unwrap();
    let mut b = [0u8; 1];
    f.read_exact(&mut b).unwrap();
    f.seek(SeekFrom::Start(len - 3)).unwrap();
    f.write_all(&[b[0] ^ 0x5a]).unwrap();
    drop(f);

    broker.restart().await;
    let (high, got) = read_all(&broker, topic).await;
    assert_eq!(high, COUNT as i64 - 1, "the damaged last batch is gone");
    assert_intact_prefix(&got, COUNT - 1);
    assert_eq!(
        next_offset_after_restart(&broker, topic).await,
        COUNT as i64 - 1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn torn_tail_of_the_active_segment_is_truncated() {
    let topic = "torn";
    let (mut broker, _t0) = stopped_broker_with_batches(topic).await;
    let dir = partition_dir(&broker, topic);
    forget_clean_shutdown(&dir);
    let log = file_with_ext(&dir, "log");
    let f = OpenOptions::new().write(true).open(&log).unwrap();
    let len = f.metadata().unwrap().len();
    f.set_len(len - 7).unwrap();
    drop(f);

    broker.restart().await;
    let (high, got) = read_all(&broker, topic).await;
    assert_eq!(high, COUNT as i64 - 1);
    assert_intact_prefix(&got, COUNT - 1);
    assert_eq!(
        next_offset_after_restart(&broker, topic).await,
        COUNT as i64 - 1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_index_files_are_rebuilt() {
    let topic = "index";
    let (mut broker, t0) = stopped_broker_with_batches(topic).await;
    let dir = partition_dir(&broker, topic);
    forget_clean_shutdown(&dir);
    let index = file_with_ext(&dir, "index");
    let f = OpenOptions::new().write(true).open(&index).unwrap();
    f.set_len(3).unwrap();
    drop(f);
    let timeindex = file_with_ext(&dir, "timeindex");
    std::fs::write(&timeindex, [0xffu8; 30]).unwrap();

    broker.restart().await;
    let (high, got) = read_all(&broker, topic).await;
    assert_eq!(high, COUNT as i64);
    assert_intact_prefix(&got, COUNT);
    // The rebuilt time index still answers offsets by time.
    let consumer = consumer_from_start(&broker.bootstrap(), topic, 1, &[]);
    let mut tpl = rdkafka::TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, rdkafka::Offset::Offset(t0 + 20_000))
        .unwrap();
    let res =
        tokio::task::block_in_place(|| consumer.offsets_for_times(tpl, Duration::from_secs(10)))
            .unwrap();
    assert_eq!(
        res.find_partition(topic, 0).unwrap().offset(),
        rdkafka::Offset::Offset(20)
    );
    assert_eq!(
        next_offset_after_restart(&broker, topic).await,
        COUNT as i64
    );
}
