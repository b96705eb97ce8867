//! CreateTopics / DeleteTopics / Metadata through librdkafka's admin client
//! and the raw protocol: errors where Kafka gives them, configs stored,
//! validate_only creates nothing, deletion by name and by id, auto-create.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::raw::Raw;
use common::*;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    CreateTopicsRequest, DeleteTopicsRequest, MetadataRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::Consumer;
use rdkafka::types::RDKafkaErrorCode;

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_create_and_delete_topics() {
    let broker = TestBroker::start().await;
    let admin = admin(&broker.bootstrap());
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let t = unique_topic("admin");
    let res = admin
        .create_topics(
            &[NewTopic::new(&t, 4, TopicReplication::Fixed(1)).set("retention.ms", "12345")],
            &opts,
        )
        .await
        .unwrap();
    assert_eq!(res[0], Ok(t.clone()));

    let again = admin
        .create_topics(&[NewTopic::new(&t, 4, TopicReplication::Fixed(1))], &opts)
        .await
        .unwrap();
    assert_eq!(
        again[0],
        Err((t.clone(), RDKafkaErrorCode::TopicAlreadyExists))
    );

    let bad_rf = unique_topic("admin-rf");
    let res = admin
        .create_topics(
            &[NewTopic::new(&bad_rf, 1, TopicReplication::Fixed(3))],
            &opts,
        )
        .await
        .unwrap();
    assert_eq!(
        res[0],
        Err((bad_rf, RDKafkaErrorCode::InvalidReplicationFactor))
    );

    let res = admin
        .create_topics(
            &[NewTopic::new("bad name!", 1, TopicReplication::Fixed(1))],
            &opts,
        )
        .await
        .unwrap();
    assert_eq!(
        res[0],
        Err(("bad name!".to_string(), RDKafkaErrorCode::InvalidTopic))
    );

    let bad_cfg = unique_topic("admin-cfg");
    let res = admin
        .create_topics(
            &[NewTopic::new(&bad_cfg, 1, TopicReplication::Fixed(1)).set("no.such.config", "1")],
            &opts,
        )
        .await
        .unwrap();
    assert_eq!(res[0], Err((bad_cfg, RDKafkaErrorCode::InvalidConfig)));

    let consumer: rdkafka::consumer::BaseConsumer =
        client_config(&broker.bootstrap()).create().unwrap();
    let md =
        tokio::task::block_in_place(|| consumer.fetch_metadata(Some(&t), Duration::from_secs(10)))
            .unwrap();
    assert_eq!(md.topics()[0].partitions().len(), 4);
    assert_eq!(md.topics()[0].partitions()[3].leader(), 0);

    let res = admin.delete_topics(&[&t], &opts).await.unwrap();
    assert_eq!(res[0], Ok(t.clone()));
    let res = admin.delete_topics(&[&t], &opts).await.unwrap();
    assert_eq!(
        res[0],
        Err((t.clone(), RDKafkaErrorCode::UnknownTopicOrPartition))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_only_configs_delete_by_id_and_persistence() {
    let mut broker = TestBroker::start_with(|c| c.default_partitions = 3).await;
    let addr = broker.bootstrap();
    let t = unique_topic("raw");
    let t2 = t.clone();
    let created_id = tokio::task::spawn_blocking(move || {
        let mut raw = Raw::connect(&addr);
        let topic = |n: &str| {
            CreatableTopic::default()
                .with_name(name(n))
                .with_num_partitions(-1)
                .with_replication_factor(-1)
                .with_configs(vec![CreatableTopicConfig::default()
                    .with_name(StrBytes::from_static_str("message.timestamp.type"))
                    .with_value(Some(StrBytes::from_static_str("LogAppendTime")))])
        };
        let resp = raw.call(
            7,
            &CreateTopicsRequest::default()
                .with_topics(vec![topic(&t2)])
                .with_validate_only(true)
                .with_timeout_ms(5000),
        );
        assert_eq!(resp.topics[0].error_code, 0);
        assert_eq!(
            resp.topics[0].num_partitions, 3,
            "-1 means the broker default"
        );
        let md = raw.call(
            12,
            &MetadataRequest::default()
                .with_allow_auto_topic_creation(false)
                .with_topics(Some(vec![
                    MetadataRequestTopic::default().with_name(Some(name(&t2)))
                ])),
        );
        assert_eq!(md.topics[0].error_code, 3, "validate_only created nothing");

        let resp = raw.call(
            7,
            &CreateTopicsRequest::default()
                .with_topics(vec![topic(&t2)])
                .with_timeout_ms(5000),
        );
        let result = &resp.topics[0];
        assert_eq!(result.error_code, 0);
        assert!(!result.topic_id.is_nil());
        let configs = result.configs.as_ref().unwrap();
        let ts_type = configs
            .iter()
            .find(|c| c.name.as_str() == "message.timestamp.type")
            .unwrap();
        assert_eq!(ts_type.value.as_ref().unwrap().as_str(), "LogAppendTime");
        assert_eq!(ts_type.config_source, 1, "set on the topic");
        result.topic_id
    })
    .await
    .unwrap();

    // Topics, ids and configs survive a restart (on disk).
    if !ephemeral_mode() {
        broker.restart().await;
    }
    let addr = broker.bootstrap();
    tokio::task::spawn_blocking(move || {
        let mut raw = Raw::connect(&addr);
        let md = raw.call(
            12,
            &MetadataRequest::default().with_topics(Some(vec![MetadataRequestTopic::default()
                .with_topic_id(created_id)
                .with_name(None)])),
        );
        assert_eq!(md.topics[0].error_code, 0);
        assert_eq!(md.topics[0].name.as_ref().unwrap().as_str(), t);
        assert_eq!(md.topics[0].partitions.len(), 3);

        let resp = raw.call(
            6,
            &DeleteTopicsRequest::default()
                .with_topics(vec![DeleteTopicState::default()
                    .with_name(None)
                    .with_topic_id(created_id)])
                .with_timeout_ms(5000),
        );
        assert_eq!(resp.responses[0].error_code, 0);
        assert_eq!(resp.responses[0].name.as_ref().unwrap().as_str(), t);
        let md = raw.call(
            12,
            &MetadataRequest::default().with_topics(Some(vec![MetadataRequestTopic::default()
                .with_topic_id(created_id)
                .with_name(None)])),
        );
        assert_eq!(
            md.topics[0].error_code, 100,
            "UNKNOWN_TOPIC_ID after deletion"
        );
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_auto_creates_with_default_partitions() {
    let broker = TestBroker::start_with(|c| c.default_partitions = 5).await;
    let addr = broker.bootstrap();
    tokio::task::spawn_blocking(move || {
        let mut raw = Raw::connect(&addr);
        let md = raw.call(
            12,
            &MetadataRequest::default()
                .with_allow_auto_topic_creation(true)
                .with_topics(Some(vec![
                    MetadataRequestTopic::default().with_name(Some(name("auto-made")))
                ])),
        );
        assert_eq!(md.topics[0].error_code, 0);
        assert_eq!(md.topics[0].partitions.len(), 5);
        assert_eq!(md.brokers.len(), 1);
        assert_eq!(md.controller_id.0, 0);
        assert!(md.cluster_id.is_some());
        // v0: an empty list means every topic.
        let all = raw.call(0, &MetadataRequest::default().with_topics(Some(vec![])));
        assert!(all
            .topics
            .iter()
            .any(|t| t.name.as_ref().unwrap().as_str() == "auto-made"));
        let invalid = raw.call(
            12,
            &MetadataRequest::default()
                .with_allow_auto_topic_creation(true)
                .with_topics(Some(vec![
                    MetadataRequestTopic::default().with_name(Some(name("no/slashes")))
                ])),
        );
        assert_eq!(invalid.topics[0].error_code, 17, "INVALID_TOPIC_EXCEPTION");
    })
    .await
    .unwrap();
}
