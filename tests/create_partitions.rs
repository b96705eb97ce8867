//! CreatePartitions through librdkafka's admin client: a topic grows, the new
//! partitions take writes at once and the count survives a restart; shrinking
//! is INVALID_PARTITIONS.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use rdkafka::admin::{AdminOptions, NewPartitions};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::FutureRecord;
use rdkafka::types::RDKafkaErrorCode;

fn partition_count(bootstrap: &str, topic: &str) -> usize {
    let consumer: BaseConsumer = client_config(bootstrap).create().unwrap();
    let md = tokio::task::block_in_place(|| {
        consumer.fetch_metadata(Some(topic), Duration::from_secs(10))
    })
    .unwrap();
    md.topics()[0].partitions().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_partitions_grows_a_topic() {
    let mut broker = TestBroker::start().await;
    let topic = unique_topic("grow");
    create_topic(&broker.bootstrap(), &topic, 2, &[]).await;
    let admin = admin(&broker.bootstrap());
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));

    let res = admin
        .create_partitions(&[NewPartitions::new(&topic, 5)], &opts)
        .await
        .unwrap();
    assert_eq!(res[0], Ok(topic.clone()));
    assert_eq!(partition_count(&broker.bootstrap(), &topic), 5);
    let producer = producer(&broker.bootstrap(), &[]);
    let d = producer
        .send(
            FutureRecord::to(&topic)
                .partition(4)
                .key("k")
                .payload("new partition"),
            Duration::from_secs(30),
        )
        .await
        .expect("the new partition takes writes");
    assert_eq!((d.partition, d.offset), (4, 0));

    let res = admin
        .create_partitions(&[NewPartitions::new(&topic, 3)], &opts)
        .await
        .unwrap();
    assert_eq!(
        res[0],
        Err((topic.clone(), RDKafkaErrorCode::InvalidPartitions))
    );
    let res = admin
        .create_partitions(&[NewPartitions::new("no-such-topic", 3)], &opts)
        .await
        .unwrap();
    assert_eq!(
        res[0],
        Err((
            "no-such-topic".to_string(),
            RDKafkaErrorCode::UnknownTopicOrPartition
        ))
    );

    if !ephemeral_mode() {
        drop(producer);
        broker.restart().await;
        assert_eq!(
            partition_count(&broker.bootstrap(), &topic),
            5,
            "the count survives a restart"
        );
        let consumer = consumer_from_start(&broker.bootstrap(), &topic, 5, &[]);
        let got = tokio::task::block_in_place(|| consume(&consumer, 1, Duration::from_secs(30)));
        assert_eq!(got[0].partition, 4);
    }
}
