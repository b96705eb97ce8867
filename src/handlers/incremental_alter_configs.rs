//! IncrementalAlterConfigs (key 44), v0–v1.
//!
//! SET, DELETE, APPEND and SUBTRACT (the last two for list configs) on
//! TOPIC, BROKER (this node's id or `""`, the cluster default),
//! BROKER_LOGGER (this node's log levels; SET and DELETE) and GROUP
//! resources. Each resource succeeds or fails on its own, with Kafka's
//! errors: INVALID_REQUEST for a resource named twice, a key given twice,
//! a null value, an unknown operation or resource type, another broker's
//! id, or a read-only broker config; INVALID_CONFIG for an unknown config
//! or a bad value; UNKNOWN_TOPIC_OR_PARTITION; POLICY_VIOLATION where the
//! broker's policy refuses (internal topics stay compacted).
//! `validate_only` checks and changes nothing. Changes are durable and in
//! force when answered (`config_admin.rs`); CLIENT_METRICS is not served.

use kafka_protocol::messages::incremental_alter_configs_request::AlterConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse};
use kafka_protocol::protocol::StrBytes;

use super::{HandlerOutput, RequestContext};
use crate::config_admin::{self, AlterOp, ConfigChange, Mode};
use crate::error::{ErrorCode, TopicError};

pub const VERSIONS: (i16, i16) = (0, 1);

pub async fn handle(
    ctx: RequestContext,
    req: IncrementalAlterConfigsRequest,
) -> HandlerOutput<IncrementalAlterConfigsResponse> {
    let resources = req
        .resources
        .iter()
        .map(|r| (r.resource_type, r.resource_name.to_string(), changes(r)))
        .collect();
    let outcomes = config_admin::alter_resources(
        std::sync::Arc::clone(&ctx.state),
        resources,
        Mode::Incremental,
        req.validate_only,
    )
    .await;
    let responses = req
        .resources
        .iter()
        .zip(outcomes)
        .map(|(resource, outcome)| {
            let response = AlterConfigsResourceResponse::default()
                .with_resource_type(resource.resource_type)
                .with_resource_name(resource.resource_name.clone())
                // Kafka answers success with a null message (kafka-protocol's
                // default is the empty string).
                .with_error_message(None);
            match outcome {
                Ok(()) => response,
                Err(e) => response
                    .with_error_code(e.code())
                    .with_error_message(Some(StrBytes::from_string(e.to_string()))),
            }
        })
        .collect();
    HandlerOutput::Respond(IncrementalAlterConfigsResponse::default().with_responses(responses))
}

fn changes(resource: &AlterConfigsResource) -> Result<Vec<ConfigChange>, TopicError> {
    resource
        .configs
        .iter()
        .map(|c| {
            let op = AlterOp::from_code(c.config_operation).ok_or_else(|| {
                TopicError::InvalidRequest(format!(
                    "Unknown operations type {}",
                    c.config_operation
                ))
            })?;
            Ok(ConfigChange {
                name: c.name.to_string(),
                op,
                value: c.value.as_ref().map(|v| v.to_string()),
            })
        })
        .collect()
}
