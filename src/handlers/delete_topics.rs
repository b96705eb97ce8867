//! DeleteTopics (key 20), v1–v6.
//!
//! Deletes by name (v1–v5 `topic_names`) or by name or id (v6 `topics`).
//! Data is removed before the response is sent.

use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use super::{HandlerOutput, RequestContext};
use crate::error::{ErrorCode, TopicError};

pub const VERSIONS: (i16, i16) = (1, 6);

pub async fn handle(
    ctx: RequestContext,
    req: DeleteTopicsRequest,
) -> HandlerOutput<DeleteTopicsResponse> {
    let state = &ctx.state;
    // (name given, id given) per topic, whichever version carried them.
    let mut wanted: Vec<(Option<TopicName>, Uuid)> = req
        .topic_names
        .iter()
        .map(|n| (Some(n.clone()), Uuid::nil()))
        .collect();
    wanted.extend(req.topics.iter().map(|t| (t.name.clone(), t.topic_id)));
    let mut responses = Vec::with_capacity(wanted.len());
    for (name, id) in wanted {
        let target = match (&name, id.is_nil()) {
            (Some(n), _) => state
                .metadata
                .topic(n.as_str())
                .ok_or(TopicError::UnknownTopicOrPartition),
            (None, false) => state
                .metadata
                .topic_by_id(&id)
                .ok_or(TopicError::UnknownTopicId),
            (None, true) => Err(TopicError::InvalidRequest(
                "neither topic name nor id given".into(),
            )),
        };
        let outcome = match target {
            // Deletion waits for any other topic change (a creation of
            // thousands of partitions) and removes files: on the blocking pool.
            Ok(meta) => {
                let state = std::sync::Arc::clone(state);
                tokio::task::spawn_blocking(move || state.delete_topic(&meta.name))
                    .await
                    .unwrap_or_else(|e| Err(e.into()))
            }
            Err(e) => Err(e),
        };
        let mut result = DeletableTopicResult::default()
            .with_name(name.clone())
            .with_topic_id(id);
        match outcome {
            Ok(meta) => {
                result = result
                    .with_name(Some(TopicName(StrBytes::from_string(meta.name.clone()))))
                    .with_topic_id(meta.id);
            }
            Err(e) => {
                result = result
                    .with_error_code(e.code())
                    .with_error_message(Some(StrBytes::from_string(e.to_string())));
            }
        }
        responses.push(result);
    }
    HandlerOutput::Respond(DeleteTopicsResponse::default().with_responses(responses))
}
