//! DescribeConfigs (key 32), v1–v4.
//!
//! Topics: every topic config Sluice knows, with its effective value and
//! source (set on the topic, a broker option, or Kafka's default); the
//! requested keys only when keys are given. Brokers (this node's id, or the
//! empty name for cluster defaults): the broker settings that map to Kafka
//! broker configs. Synonyms (v1+) list the entry's own source when asked;
//! documentation (v3+) is not provided. Broker loggers are not supported.

use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};
use kafka_protocol::protocol::StrBytes;

use super::{HandlerOutput, RequestContext};
use crate::error::{ErrorCode, TopicError};
use crate::metadata::{config_type, topic_config_entries, ConfigSource};
use crate::BrokerState;

pub const VERSIONS: (i16, i16) = (1, 4);

const TOPIC: i8 = 2;
const BROKER: i8 = 4;

pub async fn handle(
    ctx: RequestContext,
    req: DescribeConfigsRequest,
) -> HandlerOutput<DescribeConfigsResponse> {
    let state = &ctx.state;
    let results = req
        .resources
        .iter()
        .map(|resource| {
            let name = resource.resource_name.as_str();
            let entries = match resource.resource_type {
                TOPIC => state
                    .metadata
                    .topic(name)
                    .map(|meta| topic_config_entries(&meta, &state.topic_defaults))
                    .ok_or(TopicError::UnknownTopicOrPartition),
                BROKER if name.is_empty() || name == state.config.node_id.to_string() => {
                    Ok(broker_entries(state))
                }
                BROKER => Err(TopicError::InvalidRequest(format!(
                    "broker {name} is not this broker"
                ))),
                other => Err(TopicError::InvalidRequest(format!(
                    "resource type {other} is not supported"
                ))),
            };
            let result = DescribeConfigsResult::default()
                .with_resource_type(resource.resource_type)
                .with_resource_name(resource.resource_name.clone());
            match entries {
                Ok(entries) => {
                    let wanted = |key: &str| {
                        resource
                            .configuration_keys
                            .as_ref()
                            .is_none_or(|keys| keys.iter().any(|k| k.as_str() == key))
                    };
                    let configs = entries
                        .into_iter()
                        .filter(|(key, _, _)| wanted(key))
                        .map(|(key, value, source)| {
                            entry(ctx.api_version, req.include_synonyms, key, value, source)
                        })
                        .collect();
                    result.with_configs(configs)
                }
                Err(e) => result
                    .with_error_code(e.code())
                    .with_error_message(Some(StrBytes::from_string(e.to_string()))),
            }
        })
        .collect();
    HandlerOutput::Respond(DescribeConfigsResponse::default().with_results(results))
}

fn entry(
    version: i16,
    synonyms: bool,
    key: String,
    value: String,
    source: ConfigSource,
) -> DescribeConfigsResourceResult {
    let mut result = DescribeConfigsResourceResult::default()
        .with_name(StrBytes::from_string(key.clone()))
        .with_value(Some(StrBytes::from_string(value.clone())))
        .with_config_source(source as i8);
    if version >= 3 {
        result = result.with_config_type(config_type(&key));
    }
    if synonyms {
        result = result.with_synonyms(vec![DescribeConfigsSynonym::default()
            .with_name(StrBytes::from_string(key))
            .with_value(Some(StrBytes::from_string(value)))
            .with_source(source as i8)]);
    }
    result
}

/// The broker settings that have a Kafka broker config name.
fn broker_entries(state: &BrokerState) -> Vec<(String, String, ConfigSource)> {
    let c = &state.config;
    let d = |k: &str, v: String| (k.to_string(), v, ConfigSource::Broker);
    vec![
        d(
            "auto.create.topics.enable",
            c.auto_create_topics.to_string(),
        ),
        d("broker.id", c.node_id.to_string()),
        d("log.retention.bytes", c.retention_bytes.to_string()),
        d("log.retention.ms", c.retention_ms.to_string()),
        d("log.segment.bytes", c.segment_bytes.to_string()),
        d("message.max.bytes", c.max_message_bytes.to_string()),
        d("node.id", c.node_id.to_string()),
        d("num.partitions", c.default_partitions.to_string()),
        d("socket.request.max.bytes", c.max_frame_bytes.to_string()),
    ]
}
