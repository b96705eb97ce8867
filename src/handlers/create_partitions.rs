//! CreatePartitions (key 37), v0–v3.
//!
//! Raises a topic's partition count; new partitions start empty. Manual
//! assignments must place each new partition on this broker alone.
//! validate_only checks without changing anything. Partitions can never be
//! removed (INVALID_PARTITIONS), internal topics cannot grow.

use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse};
use kafka_protocol::protocol::StrBytes;

use crate::dispatch::{HandlerReply, RequestContext};
use crate::error::{ErrorCode, TopicError};

pub const VERSIONS: (i16, i16) = (0, 3);

pub async fn handle(
    ctx: RequestContext,
    req: CreatePartitionsRequest,
) -> HandlerReply<CreatePartitionsResponse> {
    let state = &ctx.state;
    let node = state.config.node_id;
    let mut seen = std::collections::HashSet::new();
    let duplicates: std::collections::HashSet<&str> = req
        .topics
        .iter()
        .filter(|t| !seen.insert(t.name.as_str()))
        .map(|t| t.name.as_str())
        .collect();
    let results =
        req.topics
            .iter()
            .map(|topic| {
                let name = topic.name.as_str();
                let outcome = if duplicates.contains(name) {
                    Err(TopicError::InvalidRequest(format!(
                        "topic {name} is listed more than once"
                    )))
                } else if topic.assignments.iter().flatten().any(|a| {
                    a.broker_ids.len() != 1 || a.broker_ids.first().map(|b| b.0) != Some(node)
                }) {
                    Err(TopicError::InvalidReplicaAssignment(format!(
                        "new partitions must be assigned to broker {node} alone"
                    )))
                } else {
                    state.create_partitions(name, topic.count, req.validate_only)
                };
                let result = CreatePartitionsTopicResult::default().with_name(topic.name.clone());
                match outcome {
                    Ok(()) => result,
                    Err(e) => result
                        .with_error_code(e.code())
                        .with_error_message(Some(StrBytes::from_string(e.to_string()))),
                }
            })
            .collect();
    HandlerReply::Respond(CreatePartitionsResponse::default().with_results(results))
}
