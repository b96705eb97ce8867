//! Each compression codec librdkafka offers (gzip, snappy, lz4, zstd) is
//! produced, validated inside, stored as sent and consumed back intact; a
//! topic's `compression.type` recompresses what it is sent; damaged data and
//! decompression bombs get CORRUPT_MESSAGE, keyless records inside a
//! compressed batch on a compacted topic INVALID_RECORD.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::raw::Raw;
use common::*;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::produce_response::PartitionProduceResponse;
use kafka_protocol::messages::{ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use rdkafka::consumer::Consumer;
use rdkafka::error::KafkaError;
use rdkafka::producer::FutureRecord;
use rdkafka::types::RDKafkaErrorCode;
use sluice_protocol::records::builder::BatchBuilder;
use sluice_protocol::records::{self, Compression};

/// One raw Produce (v9, acks -1) of `batch` to partition 0 of `topic`.
fn raw_produce(addr: &str, topic: &str, batch: Vec<u8>) -> PartitionProduceResponse {
    let mut raw = Raw::connect(addr);
    let resp = raw.call(
        9,
        &ProduceRequest::default()
            .with_acks(-1)
            .with_timeout_ms(5000)
            .with_topic_data(vec![TopicProduceData::default()
                .with_name(TopicName(StrBytes::from_string(topic.to_string())))
                .with_partition_data(vec![PartitionProduceData::default()
                    .with_index(0)
                    .with_records(Some(batch.into()))])]),
    );
    resp.responses[0].partition_responses[0].clone()
}

/// The stored batches of partition 0 from offset 0 to `end`, read by raw
/// Fetch: each one's header, and its records decompressed.
fn stored_batches(addr: &str, topic: &str, end: i64) -> Vec<(records::BatchHeader, Vec<u8>)> {
    let mut raw = Raw::connect(addr);
    let mut next = 0;
    let mut out = Vec::new();
    while next < end {
        let resp = raw.call(11, &common::raw::fetch_request(topic, next, 0, 0));
        let part = &resp.responses[0].partitions[0];
        assert_eq!(part.error_code, 0, "fetch at {next}");
        let data = part.records.clone().unwrap_or_default();
        let batches = records::split_batches(&data).expect("whole, valid batches");
        assert!(!batches.is_empty(), "fetch at {next} returned nothing");
        for b in batches {
            let area = records::batch_records(b.bytes, 1 << 26)
                .unwrap()
                .area()
                .to_vec();
            next = b.header.last_offset() + 1;
            out.push((b.header, area));
        }
    }
    out
}

fn value_of(prefix: &str, i: usize) -> String {
    format!("{prefix} message {i} {}", "abcdefgh".repeat(20))
}

async fn produce_all(bootstrap: &str, topic: &str, codec: &str, count: usize) {
    let producer = producer(
        bootstrap,
        &[("compression.codec", codec), ("linger.ms", "20")],
    );
    let mut futures = Vec::new();
    for i in 0..count {
        let value = value_of(codec, i);
        let key = format!("k{i}");
        futures.push(
            producer
                .send_result(FutureRecord::to(topic).key(&key).payload(&value))
                .expect("queued"),
        );
    }
    for f in futures {
        f.await.expect("delivered").expect("acknowledged");
    }
}

fn assert_consumed(bootstrap: &str, topic: &str, prefix: &str, count: usize) {
    let consumer = consumer_from_start(bootstrap, topic, 1, &[]);
    let got = tokio::task::block_in_place(|| consume(&consumer, count, Duration::from_secs(30)));
    assert_eq!(got.len(), count, "{prefix}: all consumed");
    for (i, g) in got.iter().enumerate() {
        assert_eq!(g.offset, i as i64);
        assert_eq!(g.key.as_deref(), Some(format!("k{i}").as_bytes()));
        assert_eq!(
            g.value.as_deref(),
            Some(value_of(prefix, i).as_bytes()),
            "{prefix}: value {i}"
        );
    }
}

async fn round_trip(codec: &str, id: u8) {
    let broker = TestBroker::start().await;
    let topic = unique_topic(&format!("codec-{codec}"));
    create_topic(&broker.bootstrap(), &topic, 1, &[]).await;
    let count = 500;
    produce_all(&broker.bootstrap(), &topic, codec, count).await;
    assert_consumed(&broker.bootstrap(), &topic, codec, count);
    // Stored as librdkafka sent them: its codec, its bytes.
    let addr = broker.bootstrap();
    let stored = tokio::task::block_in_place(|| stored_batches(&addr, &topic, count as i64));
    for (header, _) in &stored {
        assert_eq!(
            header.compression().id(),
            id,
            "{codec}: stored with the producer's codec"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_round_trips() {
    round_trip("gzip", 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snappy_round_trips() {
    round_trip("snappy", 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lz4_round_trips() {
    round_trip("lz4", 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zstd_round_trips() {
    round_trip("zstd", 4).await;
}

/// A topic's `compression.type` names the codec its batches are stored in,
/// whatever the producer sent; librdkafka reads what the broker wrote
/// (snappy in snappy-java's framing, as Kafka's broker writes it).
async fn topic_codec(target: &str, id: u8, sent_with: &str) {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let topic = unique_topic(&format!("topic-{target}"));
    create_topic(&bootstrap, &topic, 1, &[("compression.type", target)]).await;
    let count = 200;
    produce_all(&bootstrap, &topic, sent_with, count).await;
    assert_consumed(&bootstrap, &topic, sent_with, count);
    let stored = tokio::task::block_in_place(|| stored_batches(&bootstrap, &topic, count as i64));
    let mut offsets = 0;
    for (header, area) in &stored {
        assert_eq!(header.compression().id(), id, "{target}: stored codec");
        // The records inside are whole: as many as the header says.
        let whole = [&header_bytes(header, area.len())[..], area].concat();
        let parsed = records::batch_records(&whole, 1 << 26).unwrap();
        assert_eq!(parsed.iter().count(), header.records_count as usize);
        offsets += header.records_count;
    }
    assert_eq!(offsets as usize, count);
}

/// A header's bytes for an uncompressed batch holding `header`'s records
/// (what [`stored_batches`] decompressed), to walk those records again.
fn header_bytes(header: &records::BatchHeader, area_len: usize) -> Vec<u8> {
    let plain = BatchBuilder::new().build();
    let mut h = plain[..61].to_vec();
    h[8..12].copy_from_slice(&((49 + area_len) as i32).to_be_bytes());
    h[57..61].copy_from_slice(&header.records_count.to_be_bytes());
    h
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gzip_topic_stores_gzip_batches() {
    topic_codec("gzip", 1, "none").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snappy_topic_stores_snappy_java_batches_librdkafka_reads() {
    topic_codec("snappy", 2, "gzip").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_lz4_topic_recompresses_zstd() {
    topic_codec("lz4", 3, "zstd").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zstd_topic_recompresses_snappy() {
    topic_codec("zstd", 4, "snappy").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uncompressed_topic_stores_lz4_batches_decompressed() {
    topic_codec("uncompressed", 0, "lz4").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyless_records_in_a_compressed_batch_on_a_compacted_topic() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let topic = unique_topic("compacted-lz4");
    create_topic(&bootstrap, &topic, 1, &[("cleanup.policy", "compact")]).await;
    let producer = producer(
        &bootstrap,
        &[("compression.codec", "lz4"), ("linger.ms", "0")],
    );
    // A value that compresses, so librdkafka really sends an lz4 batch.
    let value = "keyless ".repeat(200);
    let keyless = producer
        .send(
            FutureRecord::<(), str>::to(&topic)
                .partition(0)
                .payload(&value),
            Duration::from_secs(30),
        )
        .await;
    match keyless {
        Err((KafkaError::MessageProduction(code), _)) => {
            assert_eq!(code, RDKafkaErrorCode::InvalidRecord)
        }
        other => panic!("a keyless record in an lz4 batch was accepted: {other:?}"),
    }
    // Raw: which records lack a key is reported by index.
    let batch = BatchBuilder::new()
        .compression(Compression::Gzip)
        .record(now_ms(), Some(b"k"), Some(b"v"), &[])
        .record(now_ms(), None, Some(b"v"), &[])
        .record(now_ms(), Some(b"k"), Some(b"v"), &[])
        .record(now_ms(), None, Some(b"v"), &[])
        .build();
    let addr = bootstrap.clone();
    let t = topic.clone();
    let resp = tokio::task::spawn_blocking(move || raw_produce(&addr, &t, batch))
        .await
        .unwrap();
    assert_eq!(resp.error_code, 87, "INVALID_RECORD");
    let indexes: Vec<i32> = resp.record_errors.iter().map(|e| e.batch_index).collect();
    assert_eq!(indexes, [1, 3]);
    let consumer = consumer_from_start(&bootstrap, &topic, 1, &[]);
    let (low, high) = tokio::task::block_in_place(|| {
        consumer
            .fetch_watermarks(&topic, 0, Duration::from_secs(10))
            .unwrap()
    });
    assert_eq!(
        (low, high),
        (0, 0),
        "nothing of the refused batches was stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_data_and_bombs_are_corrupt_message() {
    let broker = TestBroker::start().await;
    let addr = broker.bootstrap();
    let topic = unique_topic("damaged");
    create_topic(&addr, &topic, 1, &[]).await;
    tokio::task::spawn_blocking(move || {
        // 80 records of 1 MiB of zeros: a few KiB of zstd, 80 MiB inflated,
        // past the broker's bound for a 1 MiB max.message.bytes.
        let zeros = vec![0u8; 1 << 20];
        let mut b = BatchBuilder::new().compression(Compression::Zstd);
        for _ in 0..80 {
            b = b.record(now_ms(), Some(b"k"), Some(&zeros), &[]);
        }
        let bomb = b.build();
        assert!(bomb.len() < 1 << 20);
        assert_eq!(
            raw_produce(&addr, &topic, bomb).error_code,
            2,
            "CORRUPT_MESSAGE"
        );

        // A gzip batch whose compressed bytes are cut short (CRC fixed up).
        let good = BatchBuilder::new()
            .compression(Compression::Gzip)
            .record(now_ms(), Some(b"k"), Some(&[7u8; 5000]), &[])
            .build();
        let area = records::batch_records(&good, 1 << 20)
            .unwrap()
            .area()
            .to_vec();
        let packed = records::compress(Compression::Gzip, &area, None).unwrap();
        let cut = [&good[..61], &packed[..packed.len() / 2]].concat();
        let cut = fix_length_and_crc(cut);
        assert_eq!(
            raw_produce(&addr, &topic, cut).error_code,
            2,
            "CORRUPT_MESSAGE"
        );

        // Wrong inner offsets: INVALID_RECORD, as for uncompressed batches.
        let plain = BatchBuilder::new()
            .record(now_ms(), Some(b"a"), Some(b"1"), &[])
            .record(now_ms(), Some(b"b"), Some(b"2"), &[])
            .build();
        let mut inner = plain[61..].to_vec();
        let first_len = usize::from(inner[0] / 2) + 1;
        inner[first_len + 3] = 4; // second record's offset delta 1 → 2
        let skewed = records::with_codec(&plain, &inner, Compression::Lz4, None).unwrap();
        assert_eq!(
            raw_produce(&addr, &topic, skewed).error_code,
            87,
            "INVALID_RECORD"
        );

        // A good one after all that is stored at offset 0.
        let ok = raw_produce(&addr, &topic, good);
        assert_eq!((ok.error_code, ok.base_offset), (0, 0));
    })
    .await
    .unwrap();
}

/// Rewrites a hand-damaged batch's length and CRC so that only its records
/// are wrong.
fn fix_length_and_crc(mut batch: Vec<u8>) -> Vec<u8> {
    let len = (batch.len() - 12) as i32;
    batch[8..12].copy_from_slice(&len.to_be_bytes());
    let crc = records::compute_crc(&batch).unwrap();
    batch[17..21].copy_from_slice(&crc.to_be_bytes());
    batch
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn java_framed_snappy_is_validated_and_served_to_librdkafka() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let topic = unique_topic("java-snappy");
    create_topic(&bootstrap, &topic, 1, &[]).await;
    // snappy-java's stream as the Java producer writes it, built by hand:
    // header, then blocks of at most 32 KiB, each length-prefixed.
    let mut b = BatchBuilder::new();
    for i in 0..3 {
        b = b.record(
            now_ms(),
            Some(format!("k{i}").as_bytes()),
            Some(value_of("java", i).repeat(150).as_bytes()),
            &[],
        );
    }
    let plain = b.build();
    let area = &plain[61..];
    let mut framed = b"\x82SNAPPY\x00".to_vec();
    framed.extend_from_slice(&1i32.to_be_bytes());
    framed.extend_from_slice(&1i32.to_be_bytes());
    for block in area.chunks(32 * 1024) {
        let packed = snap::raw::Encoder::new().compress_vec(block).unwrap();
        framed.extend_from_slice(&(packed.len() as i32).to_be_bytes());
        framed.extend_from_slice(&packed);
    }
    let mut batch = [&plain[..61], &framed[..]].concat();
    batch[22] |= 2; // attributes: snappy
    let batch = fix_length_and_crc(batch);
    assert!(area.len() > 2 * 32 * 1024, "several blocks");
    let addr = bootstrap.clone();
    let t = topic.clone();
    let resp = tokio::task::spawn_blocking(move || raw_produce(&addr, &t, batch))
        .await
        .unwrap();
    assert_eq!(resp.error_code, 0);
    let consumer = consumer_from_start(&bootstrap, &topic, 1, &[]);
    let got = tokio::task::block_in_place(|| consume(&consumer, 3, Duration::from_secs(30)));
    assert_eq!(got.len(), 3);
    for (i, g) in got.iter().enumerate() {
        assert_eq!(
            g.value.as_deref(),
            Some(value_of("java", i).repeat(150).as_bytes())
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_compression_type_is_the_topics_default() {
    let broker = TestBroker::start_with(|c| c.compression_type = "zstd".into()).await;
    let bootstrap = broker.bootstrap();
    let by_default = unique_topic("broker-zstd");
    create_topic(&bootstrap, &by_default, 1, &[]).await;
    let own = unique_topic("own-producer");
    create_topic(&bootstrap, &own, 1, &[("compression.type", "producer")]).await;
    for topic in [&by_default, &own] {
        produce_all(&bootstrap, topic, "none", 20).await;
        assert_consumed(&bootstrap, topic, "none", 20);
    }
    let codecs = |topic: &str| {
        tokio::task::block_in_place(|| stored_batches(&bootstrap, topic, 20))
            .iter()
            .map(|(h, _)| h.compression())
            .collect::<Vec<_>>()
    };
    assert!(codecs(&by_default).iter().all(|c| *c == Compression::Zstd));
    assert!(codecs(&own).iter().all(|c| *c == Compression::None));
}
