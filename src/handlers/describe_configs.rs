//! DescribeConfigs (key 32), v1–v4.
//!
//! Every resource Kafka 4.1 describes but CLIENT_METRICS: TOPIC (every
//! topic config of Kafka's with its value and source: set on the topic, a
//! dynamic broker config of this node or the cluster default, a broker
//! option, or Kafka's default), BROKER (this node's id: every config Sluice
//! has, read-only where it cannot change at run time; `""`: the dynamic
//! cluster defaults set), BROKER_LOGGER (this node's loggers and levels)
//! and GROUP (the group configs, even of a group that does not exist, with
//! their defaults). Synonyms (v1+) in Kafka's order when asked, config
//! types and documentation (v3+, documentation when asked). The requested
//! keys only when keys are given. Errors are per resource, as Kafka's:
//! UNKNOWN_TOPIC_OR_PARTITION, INVALID_REQUEST for another broker's id.
//! The work is in `config_admin.rs`.

use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};
use kafka_protocol::protocol::StrBytes;

use super::{HandlerOutput, RequestContext};
use crate::error::ErrorCode;
use crate::metadata::Described;

pub const VERSIONS: (i16, i16) = (1, 4);

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
            let result = DescribeConfigsResult::default()
                .with_resource_type(resource.resource_type)
                .with_resource_name(resource.resource_name.clone());
            match state.describe_configs(resource.resource_type, name) {
                Ok(entries) => {
                    // Kafka: no keys, or an empty list, asks for every config.
                    let wanted = |key: &str| {
                        resource
                            .configuration_keys
                            .as_ref()
                            .filter(|keys| !keys.is_empty())
                            .is_none_or(|keys| keys.iter().any(|k| k.as_str() == key))
                    };
                    let configs = entries
                        .into_iter()
                        .filter(|e| wanted(&e.name))
                        .map(|e| {
                            entry(
                                ctx.api_version,
                                req.include_synonyms,
                                req.include_documentation,
                                e,
                            )
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

fn entry(version: i16, synonyms: bool, docs: bool, e: Described) -> DescribeConfigsResourceResult {
    let mut result = DescribeConfigsResourceResult::default()
        .with_name(StrBytes::from_string(e.name))
        .with_value(e.value.map(StrBytes::from_string))
        .with_read_only(e.read_only)
        .with_is_sensitive(false)
        .with_config_source(e.source.code());
    if version >= 3 {
        result = result.with_config_type(e.ty.map_or(0, |t| t.code()));
        if docs && !e.doc.is_empty() {
            result = result.with_documentation(Some(StrBytes::from_string(e.doc)));
        }
    }
    if synonyms {
        result = result.with_synonyms(
            e.synonyms
                .into_iter()
                .map(|s| {
                    DescribeConfigsSynonym::default()
                        .with_name(StrBytes::from_string(s.name))
                        .with_value(Some(StrBytes::from_string(s.value)))
                        .with_source(s.source.code())
                })
                .collect(),
        );
    }
    result
}
