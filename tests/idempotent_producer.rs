//! Idempotent producers: librdkafka with `enable.idempotence=true` and five
//! requests in flight, while the broker keeps closing its connection right
//! after writing a batch (so the acknowledgement is lost and the batch is
//! retried), writes every message exactly once and in order. Raw-protocol
//! scenarios pin the broker's answers: duplicate → original offsets, gap →
//! OUT_OF_ORDER_SEQUENCE_NUMBER, stale epoch → INVALID_PRODUCER_EPOCH, and
//! producer state and ids survive a restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::raw::Raw;
use common::*;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ApiKey, InitProducerIdRequest, ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use rdkafka::producer::FutureRecord;
use sluice::faults::{Action, Rule};
use sluice_protocol::records::builder::BatchBuilder;

const MESSAGES: usize = 100_000;
const PARTITIONS: i32 = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idempotent_producer_survives_dropped_connections_exactly_once_in_order() {
    let broker = TestBroker::start_with(|c| c.fault_injection = true).await;
    let bootstrap = broker.bootstrap();
    let topic = unique_topic("idempotent");
    create_topic(&bootstrap, &topic, PARTITIONS, &[]).await;
    let producer = producer(
        &bootstrap,
        &[
            ("enable.idempotence", "true"),
            ("max.in.flight.requests.per.connection", "5"),
            ("batch.num.messages", "250"),
            ("linger.ms", "2"),
            ("retry.backoff.ms", "10"),
            ("reconnect.backoff.ms", "10"),
            ("reconnect.backoff.max.ms", "100"),
            ("message.timeout.ms", "120000"),
        ],
    );
    // Warm up (metadata, producer id) before the faults start.
    producer
        .send(
            FutureRecord::to(&topic)
                .partition(0)
                .key("warmup")
                .payload("warmup"),
            Duration::from_secs(30),
        )
        .await
        .expect("warm-up delivery");
    // Every 23rd Produce is written, then its connection closed unanswered.
    let faults = broker.broker.as_ref().unwrap().faults().unwrap();
    let rule = faults
        .add(
            Rule::new(ApiKey::Produce, Action::CloseAfter)
                .keep()
                .every(23),
        )
        .unwrap();

    let mut deliveries = Vec::with_capacity(MESSAGES);
    for i in 0..MESSAGES {
        let payload = i.to_string();
        let record = FutureRecord::to(&topic)
            .partition((i % PARTITIONS as usize) as i32)
            .key("k")
            .payload(&payload);
        loop {
            match producer.send_result(record_clone(&record)) {
                Ok(fut) => {
                    deliveries.push(fut);
                    break;
                }
                // Queue full: let deliveries drain.
                Err((_, _)) => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
    }
    for d in deliveries {
        d.await.expect("delivery not cancelled").expect("delivered");
    }
    let dropped = faults.fired(rule);
    assert!(dropped >= 5, "only {dropped} connections dropped");
    faults.clear();

    // Every partition holds its messages once each, in send order.
    let consumer = consumer_from_start(&bootstrap, &topic, PARTITIONS, &[]);
    let got = consume(&consumer, MESSAGES + 1, Duration::from_secs(120));
    assert_eq!(got.len(), MESSAGES + 1, "every message, none twice");
    let mut last: Vec<Option<usize>> = vec![None; PARTITIONS as usize];
    let mut seen = vec![false; MESSAGES];
    for g in &got {
        let value = String::from_utf8(g.value.clone().unwrap()).unwrap();
        if value == "warmup" {
            continue;
        }
        let n: usize = value.parse().unwrap();
        assert_eq!(n % PARTITIONS as usize, g.partition as usize);
        assert!(!seen[n], "message {n} twice");
        seen[n] = true;
        let slot = &mut last[g.partition as usize];
        assert!(
            slot.is_none_or(|prev| prev < n),
            "partition {} out of order: {n} after {slot:?}",
            g.partition
        );
        *slot = Some(n);
    }
    assert!(seen.iter().all(|s| *s));
}

/// `FutureRecord` is not `Clone`; rebuild it for a retry after QueueFull.
fn record_clone<'a>(r: &FutureRecord<'a, str, String>) -> FutureRecord<'a, str, String> {
    let mut out = FutureRecord::to(r.topic).payload(r.payload.unwrap());
    if let Some(p) = r.partition {
        out = out.partition(p);
    }
    if let Some(k) = r.key {
        out = out.key(k);
    }
    out
}

fn produce(raw: &mut Raw, topic: &str, batch: Vec<u8>) -> (i16, i64) {
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
    let p = &resp.responses[0].partition_responses[0];
    (p.error_code, p.base_offset)
}

fn batch(pid: i64, epoch: i16, seq: i32, count: usize) -> Vec<u8> {
    let now = now_ms();
    let mut b = BatchBuilder::new().producer(pid, epoch, seq);
    for i in 0..count {
        b = b.record(now, None, Some(format!("v{i}").as_bytes()), &[]);
    }
    b.build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_producer_id_answers_every_version() {
    let broker = TestBroker::start().await;
    let addr = broker.bootstrap();
    tokio::task::spawn_blocking(move || {
        let mut raw = Raw::connect(&addr);
        let mut last = -1;
        for v in 0..=5 {
            let resp = raw.call(
                v,
                &InitProducerIdRequest::default()
                    .with_transactional_id(None)
                    .with_transaction_timeout_ms(60_000)
                    .with_producer_id((-1).into())
                    .with_producer_epoch(-1),
            );
            assert_eq!(resp.error_code, 0, "InitProducerId v{v}");
            assert!(resp.producer_id.0 > last, "InitProducerId v{v}");
            assert_eq!(resp.producer_epoch, 0);
            last = resp.producer_id.0;
        }
    })
    .await
    .unwrap();
}

fn init_producer_id(raw: &mut Raw) -> (i64, i16) {
    let resp = raw.call(
        4,
        &InitProducerIdRequest::default().with_transactional_id(None),
    );
    assert_eq!(resp.error_code, 0);
    (resp.producer_id.0, resp.producer_epoch)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_gaps_stale_epochs_and_restart() {
    let mut broker = TestBroker::start().await;
    let topic = unique_topic("idem-raw");
    create_topic(&broker.bootstrap(), &topic, 1, &[]).await;
    let addr = broker.bootstrap();
    let t = topic.clone();
    let pid = tokio::task::spawn_blocking(move || {
        let mut raw = Raw::connect(&addr);
        let (pid, epoch) = init_producer_id(&mut raw);
        assert_eq!(epoch, 0);
        let (pid2, _) = init_producer_id(&mut raw);
        assert_ne!(pid, pid2, "every idempotent producer gets its own id");

        assert_eq!(produce(&mut raw, &t, batch(pid, 0, 0, 3)), (0, 0));
        assert_eq!(produce(&mut raw, &t, batch(pid, 0, 3, 2)), (0, 3));
        // Retries of either batch: the original offsets, nothing written.
        assert_eq!(produce(&mut raw, &t, batch(pid, 0, 0, 3)), (0, 0));
        assert_eq!(produce(&mut raw, &t, batch(pid, 0, 3, 2)), (0, 3));
        // A gap.
        let (code, _) = produce(&mut raw, &t, batch(pid, 0, 6, 1));
        assert_eq!(code, ResponseError::OutOfOrderSequenceNumber.code());
        // The next in sequence lands right after the first two batches.
        assert_eq!(produce(&mut raw, &t, batch(pid, 0, 5, 1)), (0, 5));
        // A new epoch must start at sequence 0 ...
        let (code, _) = produce(&mut raw, &t, batch(pid, 1, 6, 1));
        assert_eq!(code, ResponseError::OutOfOrderSequenceNumber.code());
        assert_eq!(produce(&mut raw, &t, batch(pid, 1, 0, 1)), (0, 6));
        // ... and fences the old one.
        let (code, _) = produce(&mut raw, &t, batch(pid, 0, 6, 1));
        assert_eq!(code, ResponseError::InvalidProducerEpoch.code());
        // Negative sequences from a producer with an id are invalid.
        let (code, _) = produce(&mut raw, &t, batch(pid2, 0, -1, 1));
        assert_eq!(code, ResponseError::InvalidRecord.code());
        pid
    })
    .await
    .unwrap();

    if ephemeral_mode() {
        return;
    }
    broker.restart().await;
    let addr = broker.bootstrap();
    tokio::task::spawn_blocking(move || {
        let mut raw = Raw::connect(&addr);
        // Producer state was rebuilt from the log.
        assert_eq!(produce(&mut raw, &topic, batch(pid, 1, 0, 1)), (0, 6));
        assert_eq!(produce(&mut raw, &topic, batch(pid, 1, 1, 1)), (0, 7));
        let (code, _) = produce(&mut raw, &topic, batch(pid, 0, 9, 1));
        assert_eq!(code, ResponseError::InvalidProducerEpoch.code());
        // Ids handed out before the restart are not handed out again.
        let (next, _) = init_producer_id(&mut raw);
        assert!(
            next > pid + 1,
            "{next} reused an id at or below {}",
            pid + 1
        );
    })
    .await
    .unwrap();
}
