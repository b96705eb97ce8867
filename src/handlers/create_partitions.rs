//! CreatePartitions (key 37), v0–v3.
//!
//! Raises a topic's partition count; new partitions start empty. Manual
//! assignments must place each new partition on this broker alone.
//! validate_only checks without changing anything. Partitions can never be
//! removed (INVALID_PARTITIONS), internal topics cannot grow. A request that
//! would add more than 10,000 partitions in all is refused whole
//! (POLICY_VIOLATION, as Kafka's controller refuses an over-large batch)
//! before anything is done, and the broker's `--max-partitions` caps what it
//! holds. Growth runs on the blocking pool, all or nothing.

use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse};
use kafka_protocol::protocol::StrBytes;

use super::{HandlerOutput, RequestContext};
use crate::error::{ErrorCode, TopicError};
use crate::{MAX_PARTITIONS_PER_REQUEST, TOO_LARGE_BATCH};

pub const VERSIONS: (i16, i16) = (0, 3);

pub async fn handle(
    ctx: RequestContext,
    req: CreatePartitionsRequest,
) -> HandlerOutput<CreatePartitionsResponse> {
    let state = &ctx.state;
    let node = state.config.node_id;
    let mut seen = std::collections::HashSet::new();
    let duplicates: std::collections::HashSet<String> = req
        .topics
        .iter()
        .filter(|t| !seen.insert(t.name.as_str()))
        .map(|t| t.name.as_str().to_string())
        .collect();
    let added: i64 = req
        .topics
        .iter()
        .filter_map(|t| {
            let current = state.metadata.topic(t.name.as_str())?.partitions;
            Some((i64::from(t.count) - i64::from(current)).max(0))
        })
        .fold(0, i64::saturating_add);
    let too_large = added > MAX_PARTITIONS_PER_REQUEST;
    let mut results = Vec::with_capacity(req.topics.len());
    for topic in &req.topics {
        let name = topic.name.as_str();
        let outcome = if too_large {
            Err(TopicError::PolicyViolation(TOO_LARGE_BATCH.into()))
        } else if duplicates.contains(name) {
            Err(TopicError::InvalidRequest(format!(
                "topic {name} is listed more than once"
            )))
        } else if topic
            .assignments
            .iter()
            .flatten()
            .any(|a| a.broker_ids.len() != 1 || a.broker_ids.first().map(|b| b.0) != Some(node))
        {
            Err(TopicError::InvalidReplicaAssignment(format!(
                "new partitions must be assigned to broker {node} alone"
            )))
        } else {
            // Opening thousands of partitions must not hold a runtime worker.
            let state = std::sync::Arc::clone(state);
            let (name, count) = (name.to_string(), topic.count);
            let validate_only = req.validate_only;
            tokio::task::spawn_blocking(move || {
                state.create_partitions(&name, count, validate_only)
            })
            .await
            .unwrap_or_else(|e| Err(e.into()))
        };
        let result = CreatePartitionsTopicResult::default().with_name(topic.name.clone());
        results.push(match outcome {
            Ok(()) => result,
            Err(e) => result
                .with_error_code(e.code())
                .with_error_message(Some(StrBytes::from_string(e.to_string()))),
        });
    }
    HandlerOutput::Respond(CreatePartitionsResponse::default().with_results(results))
}
