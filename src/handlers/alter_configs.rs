//! AlterConfigs (key 33), v0–v2: the given configs become the resource's
//! whole set (what is not given returns to its default).
//!
//! TOPIC, BROKER (this node's id or `""`, the cluster default) and GROUP
//! resources; BROKER_LOGGER is refused as Kafka refuses it
//! (INVALID_REQUEST: the legacy API has no such resource). Errors per
//! resource as IncrementalAlterConfigs' (`incremental_alter_configs.rs`):
//! a resource or key given twice and null values are INVALID_REQUEST,
//! unknown configs and bad values INVALID_CONFIG. `validate_only` checks
//! and changes nothing. The work is in `config_admin.rs`.

use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse};
use kafka_protocol::protocol::StrBytes;

use super::{HandlerOutput, RequestContext};
use crate::config_admin::{self, AlterOp, ConfigChange, Mode};
use crate::error::ErrorCode;

pub const VERSIONS: (i16, i16) = (0, 2);

pub async fn handle(
    ctx: RequestContext,
    req: AlterConfigsRequest,
) -> HandlerOutput<AlterConfigsResponse> {
    let resources = req
        .resources
        .iter()
        .map(|r| {
            let changes = r
                .configs
                .iter()
                .map(|c| ConfigChange {
                    name: c.name.to_string(),
                    op: AlterOp::Set,
                    value: c.value.as_ref().map(|v| v.to_string()),
                })
                .collect();
            (r.resource_type, r.resource_name.to_string(), Ok(changes))
        })
        .collect();
    let outcomes = config_admin::alter_resources(
        std::sync::Arc::clone(&ctx.state),
        resources,
        Mode::Replace,
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
    HandlerOutput::Respond(AlterConfigsResponse::default().with_responses(responses))
}
