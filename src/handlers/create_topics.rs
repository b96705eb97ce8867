//! CreateTopics (key 19), v2–v7.
//!
//! num_partitions -1 means the broker default; replication factor must be 1
//! or -1 (one broker). Manual assignments are accepted when every partition
//! is placed on this node alone. Configs are validated and stored with the
//! topic; v5+ responses list the topic's effective configs. validate_only
//! checks everything and creates nothing. As in Kafka's controller, a
//! request whose topics add up to more than 10,000 partitions is refused
//! whole (POLICY_VIOLATION for each topic) before anything is created, and
//! the broker's `--max-partitions` caps what it holds. Creation runs on the
//! blocking pool, all or nothing (see `Partitions::create`).

use std::collections::BTreeMap;

use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use kafka_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use super::{HandlerOutput, RequestContext};
use crate::error::{ErrorCode, TopicError};
use crate::metadata::TopicMeta;
use crate::{BrokerState, NewTopic, MAX_PARTITIONS_PER_REQUEST, TOO_MANY_PARTITIONS_PER_REQUEST};

pub const VERSIONS: (i16, i16) = (2, 7);

pub async fn handle(
    ctx: RequestContext,
    req: CreateTopicsRequest,
) -> HandlerOutput<CreateTopicsResponse> {
    let state = &ctx.state;
    if partitions_asked(state, &req.topics) > MAX_PARTITIONS_PER_REQUEST {
        let refused = TopicError::PolicyViolation(TOO_MANY_PARTITIONS_PER_REQUEST.into());
        let results = req.topics.iter().map(|t| failed(t, &refused)).collect();
        return HandlerOutput::Respond(CreateTopicsResponse::default().with_topics(results));
    }
    let mut results = Vec::with_capacity(req.topics.len());
    let mut seen = std::collections::HashSet::new();
    let duplicates: std::collections::HashSet<String> = req
        .topics
        .iter()
        .filter(|t| !seen.insert(t.name.as_str().to_string()))
        .map(|t| t.name.as_str().to_string())
        .collect();
    for topic in &req.topics {
        let name = topic.name.as_str().to_string();
        let outcome = if duplicates.contains(&name) {
            Err(TopicError::InvalidRequest(format!(
                "topic {name} is listed more than once"
            )))
        } else {
            new_topic(state, topic)
        };
        let outcome = match outcome {
            Ok(new) if req.validate_only => state.validate_new_topic(&new).map(|()| preview(new)),
            Ok(new) => {
                // Opening thousands of partitions must not hold a runtime worker.
                let state = std::sync::Arc::clone(state);
                tokio::task::spawn_blocking(move || state.create_topic(new).map(|m| (*m).clone()))
                    .await
                    .unwrap_or_else(|e| Err(e.into()))
            }
            Err(e) => Err(e),
        };
        let mut result = CreatableTopicResult::default().with_name(topic.name.clone());
        match outcome {
            Ok(meta) => {
                result = result
                    .with_topic_id(meta.id)
                    .with_num_partitions(meta.partitions)
                    .with_replication_factor(1)
                    .with_configs(Some(configs_of(state, &meta)));
            }
            Err(e) => result = failed(topic, &e),
        }
        results.push(result);
    }
    HandlerOutput::Respond(CreateTopicsResponse::default().with_topics(results))
}

fn failed(topic: &CreatableTopic, e: &TopicError) -> CreatableTopicResult {
    CreatableTopicResult::default()
        .with_name(topic.name.clone())
        .with_error_code(e.code())
        .with_error_message(Some(StrBytes::from_string(e.to_string())))
        .with_num_partitions(-1)
        .with_replication_factor(-1)
}

/// The partitions the request's topics would create, counted as Kafka's
/// controller does: num_partitions, the broker default for -1, or the number
/// of manual assignments; invalid counts add nothing.
fn partitions_asked(state: &BrokerState, topics: &[CreatableTopic]) -> i64 {
    topics
        .iter()
        .map(|t| {
            if !t.assignments.is_empty() {
                i64::try_from(t.assignments.len()).unwrap_or(i64::MAX)
            } else if t.num_partitions == -1 {
                i64::from(state.config.default_partitions)
            } else {
                i64::from(t.num_partitions.max(0))
            }
        })
        .fold(0i64, i64::saturating_add)
}

fn new_topic(state: &BrokerState, topic: &CreatableTopic) -> Result<NewTopic, TopicError> {
    if topic.replication_factor != -1 && topic.replication_factor != 1 {
        return Err(TopicError::InvalidReplicationFactor(format!(
            "replication factor {} is larger than the 1 available broker",
            topic.replication_factor
        )));
    }
    let node = state.config.node_id;
    let partitions = if topic.assignments.is_empty() {
        match topic.num_partitions {
            -1 => state.config.default_partitions,
            n => n,
        }
    } else {
        if topic.num_partitions != -1 || topic.replication_factor != -1 {
            return Err(TopicError::InvalidRequest(
                "with manual assignments, num_partitions and replication_factor must be -1".into(),
            ));
        }
        let mut indexes: Vec<i32> = topic
            .assignments
            .iter()
            .map(|a| a.partition_index)
            .collect();
        indexes.sort_unstable();
        if indexes.iter().enumerate().any(|(i, p)| *p != i as i32) {
            return Err(TopicError::InvalidReplicaAssignment(
                "partitions must be numbered 0..n without gaps".into(),
            ));
        }
        if let Some(a) = topic
            .assignments
            .iter()
            .find(|a| a.broker_ids.len() != 1 || a.broker_ids[0].0 != node)
        {
            return Err(TopicError::InvalidReplicaAssignment(format!(
                "partition {} must be assigned to broker {node} alone",
                a.partition_index
            )));
        }
        topic.assignments.len() as i32
    };
    let mut configs = BTreeMap::new();
    for c in &topic.configs {
        let Some(value) = &c.value else {
            return Err(TopicError::InvalidConfig(format!(
                "config {} has a null value",
                c.name.as_str()
            )));
        };
        configs.insert(c.name.as_str().to_string(), value.as_str().to_string());
    }
    Ok(NewTopic {
        name: topic.name.as_str().to_string(),
        partitions,
        configs,
    })
}

fn preview(new: NewTopic) -> TopicMeta {
    TopicMeta {
        name: new.name,
        id: Uuid::nil(),
        partitions: new.partitions,
        configs: new.configs,
        internal: false,
    }
}

fn configs_of(state: &BrokerState, meta: &TopicMeta) -> Vec<CreatableTopicConfigs> {
    state
        .topic_defaults()
        .describe_topic(meta)
        .into_iter()
        .map(|d| {
            CreatableTopicConfigs::default()
                .with_name(StrBytes::from_string(d.name))
                .with_value(d.value.map(StrBytes::from_string))
                .with_read_only(d.read_only)
                .with_config_source(d.source.code())
        })
        .collect()
}
