//! Regression: Metadata v8+ that asks for authorized operations got Kafka's
//! "not requested" value (i32::MIN) back, which kafka-python's admin client
//! cannot decode ("31 is not a valid ACLOperation"). Without an authorizer
//! Kafka reports every operation the resource supports.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::raw::Raw;
use common::*;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{MetadataRequest, TopicName};
use kafka_protocol::protocol::StrBytes;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_reports_authorized_operations_when_asked() {
    let broker = TestBroker::start().await;
    let addr = broker.bootstrap();
    tokio::task::spawn_blocking(move || {
        let mut raw = Raw::connect(&addr);
        let topic = || {
            Some(vec![MetadataRequestTopic::default().with_name(Some(
                TopicName(StrBytes::from_static_str("authz")),
            ))])
        };
        let asked = MetadataRequest::default()
            .with_topics(topic())
            .with_allow_auto_topic_creation(true)
            .with_include_cluster_authorized_operations(true)
            .with_include_topic_authorized_operations(true);
        let v8 = raw.call(8, &asked);
        assert_eq!(
            v8.topics[0].topic_authorized_operations, 0xDF8,
            "READ..ALTER_CONFIGS on the topic"
        );
        assert_eq!(v8.cluster_authorized_operations, 0x1FA0);
        let v12 = raw.call(
            12,
            &asked
                .clone()
                .with_include_cluster_authorized_operations(false),
        );
        assert_eq!(v12.topics[0].topic_authorized_operations, 0xDF8);
        // Entries for unknown topics carry them too.
        let missing = raw.call(
            8,
            &MetadataRequest::default()
                .with_allow_auto_topic_creation(false)
                .with_include_topic_authorized_operations(true)
                .with_topics(Some(vec![MetadataRequestTopic::default().with_name(Some(
                    TopicName(StrBytes::from_static_str("no-such-topic")),
                ))])),
        );
        assert_eq!(missing.topics[0].error_code, 3);
        assert_eq!(missing.topics[0].topic_authorized_operations, 0xDF8);
        let not_asked = raw.call(12, &MetadataRequest::default().with_topics(topic()));
        assert_eq!(
            not_asked.topics[0].topic_authorized_operations,
            i32::MIN,
            "not requested"
        );
    })
    .await
    .unwrap();
}
