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
    let duplicates = config_admin::duplicate_resources(
        req.resources
            .iter()
            .map(|r| (r.resource_type, r.resource_name.as_str())),
    );
    let mut responses = Vec::with_capacity(req.resources.len());
    for resource in &req.resources {
        let key = (resource.resource_type, resource.resource_name.to_string());
        let outcome = if duplicates.contains(&key) {
            Err(TopicError::InvalidRequest(
                config_admin::DUPLICATE_RESOURCE.into(),
            ))
        } else {
            match changes(resource) {
                Ok(changes) => {
                    let state = std::sync::Arc::clone(&ctx.state);
                    let (t, name, validate_only) = (key.0, key.1.clone(), req.validate_only);
                    tokio::task::spawn_blocking(move || {
                        state.alter_configs(t, &name, &changes, Mode::Incremental, validate_only)
                    })
                    .await
                    .unwrap_or_else(|e| Err(e.into()))
                }
                Err(e) => Err(e),
            }
        };
        let mut response = AlterConfigsResourceResponse::default()
            .with_resource_type(resource.resource_type)
            .with_resource_name(resource.resource_name.clone())
            // Kafka answers success with a null message (kafka-protocol's
            // default is the empty string).
            .with_error_message(None);
        if let Err(e) = outcome {
            response = response
                .with_error_code(e.code())
                .with_error_message(Some(StrBytes::from_string(e.to_string())));
        }
        responses.push(response);
    }
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
