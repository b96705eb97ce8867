//! A 900 KiB message round-trips under the default limits; a batch over the
//! topic's max.message.bytes is refused by the broker with MESSAGE_TOO_LARGE.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::FutureRecord;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_900_kib_message_round_trips() {
    let broker = TestBroker::start().await;
    let topic = unique_topic("big");
    create_topic(&broker.bootstrap(), &topic, 1, &[]).await;
    let value: Vec<u8> = (0..900 * 1024).map(|i| (i % 251) as u8).collect();
    let producer = producer(&broker.bootstrap(), &[]);
    let d = producer
        .send(
            FutureRecord::to(&topic).key("big").payload(&value),
            Duration::from_secs(30),
        )
        .await
        .expect("delivered");
    assert_eq!(d.offset, 0);
    let consumer = consumer_from_start(&broker.bootstrap(), &topic, 1, &[]);
    let got = tokio::task::block_in_place(|| consume(&consumer, 1, Duration::from_secs(30)));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].value.as_deref(), Some(value.as_slice()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_over_max_message_bytes_is_refused_with_message_too_large() {
    let broker = TestBroker::start().await;
    let topic = unique_topic("limit");
    create_topic(
        &broker.bootstrap(),
        &topic,
        1,
        &[("max.message.bytes", "10000")],
    )
    .await;
    // The client's own limit is well above the topic's, so the refusal can
    // only come from the broker.
    let producer = producer(
        &broker.bootstrap(),
        &[
            ("message.max.bytes", "2000000"),
            ("retries", "0"),
            ("compression.codec", "none"),
        ],
    );
    let value = vec![7u8; 20_000];
    let err = producer
        .send(
            FutureRecord::to(&topic).key("k").payload(&value),
            Duration::from_secs(30),
        )
        .await
        .expect_err("refused");
    assert_eq!(
        err.0,
        KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge),
        "broker answered MESSAGE_TOO_LARGE"
    );
    // A small message still goes through afterwards.
    let d = producer
        .send(
            FutureRecord::to(&topic).key("k").payload("small"),
            Duration::from_secs(30),
        )
        .await
        .expect("small message delivered");
    assert_eq!(d.offset, 0, "the refused batch took no offset");
}
