//! DescribeConfigs through librdkafka's admin client and at every version:
//! a topic's explicit configs show as set on the topic, the rest as defaults;
//! the broker resource answers; an unknown topic is an error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::raw::Raw;
use common::*;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::DescribeConfigsRequest;
use kafka_protocol::protocol::StrBytes;
use rdkafka::admin::{AdminOptions, ConfigSource, ResourceSpecifier};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_configs_reports_topic_and_broker_configs() {
    let broker = TestBroker::start().await;
    let topic = unique_topic("cfg");
    create_topic(
        &broker.bootstrap(),
        &topic,
        1,
        &[("retention.ms", "123456")],
    )
    .await;
    let admin = admin(&broker.bootstrap());
    let res = admin
        .describe_configs(
            &[
                ResourceSpecifier::Topic(&topic),
                ResourceSpecifier::Broker(0),
            ],
            &AdminOptions::new().request_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .unwrap();
    let topic_res = res[0].as_ref().expect("topic resource");
    let retention = topic_res.get("retention.ms").expect("retention.ms listed");
    assert_eq!(retention.value.as_deref(), Some("123456"));
    assert_eq!(retention.source, ConfigSource::DynamicTopic);
    let cleanup = topic_res
        .get("cleanup.policy")
        .expect("cleanup.policy listed");
    assert_eq!(cleanup.value.as_deref(), Some("delete"));
    assert_eq!(cleanup.source, ConfigSource::Default);
    let broker_res = res[1].as_ref().expect("broker resource");
    assert!(broker_res.get("num.partitions").is_some());

    let addr = broker.bootstrap();
    tokio::task::spawn_blocking(move || {
        let mut raw = Raw::connect(&addr);
        for v in 1..=4 {
            let req = DescribeConfigsRequest::default()
                .with_include_synonyms(true)
                .with_resources(vec![
                    DescribeConfigsResource::default()
                        .with_resource_type(2)
                        .with_resource_name(StrBytes::from_string(topic.clone()))
                        .with_configuration_keys(Some(vec![StrBytes::from_static_str(
                            "retention.ms",
                        )])),
                    DescribeConfigsResource::default()
                        .with_resource_type(2)
                        .with_resource_name(StrBytes::from_static_str("no-such-topic")),
                ]);
            let resp = raw.call(v, &req);
            assert_eq!(resp.results[0].error_code, 0, "v{v}");
            assert_eq!(resp.results[0].configs.len(), 1, "only the requested key");
            assert_eq!(
                resp.results[0].configs[0].value.as_ref().unwrap().as_str(),
                "123456"
            );
            assert_eq!(
                resp.results[1].error_code, 3,
                "v{v}: UNKNOWN_TOPIC_OR_PARTITION"
            );
        }
    })
    .await
    .unwrap();
}
