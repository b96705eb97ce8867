//! Metadata (key 3), v0–v13.
//!
//! One broker (this node) that leads every partition, is its only replica and
//! its whole ISR, and is the controller. A null topic list (v1+; an empty one
//! in v0) means all topics. Unknown topics are created when the request
//! allows it (always before v4) and the broker's auto-create is on; they are
//! returned ready to use. Topics can be asked for by id (v10+).
//! Authorized operations (v8+), when asked for, are every operation the
//! resource supports, as Kafka reports without an authorizer.
//! While the broker loads at start, every partition is LEADER_NOT_AVAILABLE
//! with leader -1 (clients retry), and an unknown topic is not created yet
//! (LEADER_NOT_AVAILABLE, as Kafka answers for a topic being created).
//! Not implemented: racks.

use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use uuid::Uuid;

use super::{HandlerOutput, RequestContext};
use crate::error::{ErrorCode, TopicError};
use crate::metadata::{validate_topic_name, TopicMeta};
use crate::partition::LEADER_EPOCH;

pub const VERSIONS: (i16, i16) = (0, 13);

/// Kafka's ACL operation bits a topic supports: READ, WRITE, CREATE, DELETE,
/// ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS.
pub(crate) const TOPIC_OPERATIONS: i32 =
    (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 10) | (1 << 11);
/// The cluster's: CREATE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS,
/// IDEMPOTENT_WRITE, ALTER, DESCRIBE.
pub(crate) const CLUSTER_OPERATIONS: i32 =
    (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12);
/// "Not requested" in Kafka's encoding.
pub(crate) const NOT_REQUESTED: i32 = i32::MIN;

pub async fn handle(ctx: RequestContext, req: MetadataRequest) -> HandlerOutput<MetadataResponse> {
    let state = &ctx.state;
    let node_id = state.config.node_id;
    let allow_auto_create = ctx.api_version < 4 || req.allow_auto_topic_creation;
    let all_topics = match &req.topics {
        None => true,
        Some(list) => ctx.api_version == 0 && list.is_empty(),
    };
    let topic_ops = if ctx.api_version >= 8 && req.include_topic_authorized_operations {
        TOPIC_OPERATIONS
    } else {
        NOT_REQUESTED
    };
    let serving = state.partitions.serving();
    let mut topics = Vec::new();
    if all_topics {
        for meta in state.metadata.topics() {
            topics.push(
                describe(&meta, node_id, serving).with_topic_authorized_operations(topic_ops),
            );
        }
    } else {
        for requested in req.topics.iter().flatten() {
            let topic = match &requested.name {
                Some(name) => by_name(&ctx, name.as_str(), allow_auto_create).await,
                None => match state.metadata.topic_by_id(&requested.topic_id) {
                    Some(meta) => Ok(meta),
                    None => Err(TopicError::UnknownTopicId),
                },
            };
            topics.push(match topic {
                Ok(meta) => {
                    describe(&meta, node_id, serving).with_topic_authorized_operations(topic_ops)
                }
                // Kafka sets the operations on unknown-topic entries too
                // (kafka-python decodes them either way).
                Err(e) => MetadataResponseTopic::default()
                    .with_topic_authorized_operations(topic_ops)
                    .with_error_code(match e {
                        TopicError::Loading => ResponseError::LeaderNotAvailable.code(),
                        e => e.code(),
                    })
                    .with_name(requested.name.clone())
                    .with_topic_id(if requested.name.is_some() {
                        Uuid::nil()
                    } else {
                        requested.topic_id
                    }),
            });
        }
    }
    let (host, port) = &state.advertised();
    let broker = MetadataResponseBroker::default()
        .with_node_id(BrokerId(node_id))
        .with_host(StrBytes::from_string(host.clone()))
        .with_port(i32::from(*port));
    // The cluster field exists in v8-v10 only.
    let cluster_ops =
        if (8..=10).contains(&ctx.api_version) && req.include_cluster_authorized_operations {
            CLUSTER_OPERATIONS
        } else {
            NOT_REQUESTED
        };
    HandlerOutput::Respond(
        MetadataResponse::default()
            .with_cluster_authorized_operations(cluster_ops)
            .with_brokers(vec![broker])
            .with_cluster_id(Some(StrBytes::from_string(
                state.metadata.cluster_id().to_string(),
            )))
            .with_controller_id(BrokerId(node_id))
            .with_topics(topics),
    )
}

async fn by_name(
    ctx: &RequestContext,
    name: &str,
    allow_auto_create: bool,
) -> Result<std::sync::Arc<TopicMeta>, TopicError> {
    let state = &ctx.state;
    if let Some(meta) = state.metadata.topic(name) {
        return Ok(meta);
    }
    validate_topic_name(name)?;
    if allow_auto_create && state.config.auto_create_topics {
        // Creation waits for any other topic change and does file I/O: on
        // the blocking pool, not a runtime worker.
        let state = std::sync::Arc::clone(state);
        let name = name.to_string();
        return tokio::task::spawn_blocking(move || state.auto_create_topic(&name))
            .await
            .unwrap_or_else(|e| Err(e.into()));
    }
    Err(TopicError::UnknownTopicOrPartition)
}

/// `serving`: false while the broker loads (no leader yet).
fn describe(meta: &TopicMeta, node_id: i32, serving: bool) -> MetadataResponseTopic {
    let (error, leader) = if serving {
        (0, node_id)
    } else {
        (ResponseError::LeaderNotAvailable.code(), -1)
    };
    let partitions = (0..meta.partitions)
        .map(|index| {
            MetadataResponsePartition::default()
                .with_error_code(error)
                .with_partition_index(index)
                .with_leader_id(BrokerId(leader))
                .with_leader_epoch(LEADER_EPOCH)
                .with_replica_nodes(vec![BrokerId(node_id)])
                .with_isr_nodes(vec![BrokerId(node_id)])
        })
        .collect();
    MetadataResponseTopic::default()
        .with_name(Some(TopicName(StrBytes::from_string(meta.name.clone()))))
        .with_topic_id(meta.id)
        .with_is_internal(meta.internal)
        .with_partitions(partitions)
}
