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
use crate::admin::{self, ConfigEntry, ConfigSource};
use crate::error::{ErrorCode, TopicError};
use crate::metadata::{config_type, ConfigSource as WireSource};

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
                TOPIC => admin::topic_configs(state, name),
                BROKER if name.is_empty() || name == state.config.node_id.to_string() => {
                    Ok(admin::broker_config_entries(state))
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
                        .filter(|e| wanted(&e.name))
                        .map(|e| entry(ctx.api_version, req.include_synonyms, e))
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

fn entry(version: i16, synonyms: bool, e: ConfigEntry) -> DescribeConfigsResourceResult {
    let source = wire_source(e.source);
    let mut result = DescribeConfigsResourceResult::default()
        .with_name(StrBytes::from_string(e.name.clone()))
        .with_value(Some(StrBytes::from_string(e.value.clone())))
        .with_config_source(source);
    if version >= 3 {
        result = result.with_config_type(config_type(&e.name));
    }
    if synonyms {
        result = result.with_synonyms(vec![DescribeConfigsSynonym::default()
            .with_name(StrBytes::from_string(e.name))
            .with_value(Some(StrBytes::from_string(e.value)))
            .with_source(source)]);
    }
    result
}

/// Kafka's `ConfigSource` code for where a value comes from.
fn wire_source(source: ConfigSource) -> i8 {
    let source = match source {
        ConfigSource::Topic => WireSource::Topic,
        ConfigSource::Broker => WireSource::Broker,
        ConfigSource::Default => WireSource::Default,
    };
    source as i8
}
