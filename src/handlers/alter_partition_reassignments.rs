//! AlterPartitionReassignments (key 45), v0–v1.
//!
//! This node is the only broker, so the only valid target is this node
//! alone, which already holds the one replica: the reassignment is a no-op
//! and complete at once (Kafka's controller writes no change for a target
//! equal to the current replicas, and nothing is left in progress). The
//! checks are Kafka's, in its order: an unknown topic or partition is
//! UNKNOWN_TOPIC_OR_PARTITION; an empty replica list, a broker that is not
//! registered (any id but this node's) or one named twice is
//! INVALID_REPLICA_ASSIGNMENT; v1's `allow_replication_factor_change`
//! (KIP-860) is echoed and never matters, since every valid target keeps
//! the replication factor of 1. Cancelling (null replicas) finds nothing in
//! progress: NO_REASSIGNMENT_IN_PROGRESS.

use kafka_protocol::messages::alter_partition_reassignments_response::{
    ReassignablePartitionResponse, ReassignableTopicResponse,
};
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, BrokerId,
};
use kafka_protocol::protocol::StrBytes;

use super::{HandlerOutput, RequestContext};
use crate::error::{ClusterError, ErrorCode};
use crate::metadata::TopicMeta;

pub const VERSIONS: (i16, i16) = (0, 1);

pub async fn handle(
    ctx: RequestContext,
    req: AlterPartitionReassignmentsRequest,
) -> HandlerOutput<AlterPartitionReassignmentsResponse> {
    let state = &ctx.state;
    let node_id = state.config.node_id;
    let responses = req
        .topics
        .into_iter()
        .map(|topic| {
            let meta = state.metadata.topic(topic.name.as_str());
            let partitions = topic
                .partitions
                .iter()
                .map(|p| {
                    let outcome = reassign(
                        topic.name.as_str(),
                        meta.as_deref(),
                        p.partition_index,
                        p.replicas.as_deref(),
                        node_id,
                    );
                    let response = ReassignablePartitionResponse::default()
                        .with_partition_index(p.partition_index);
                    match outcome {
                        Ok(()) => response.with_error_message(None),
                        Err(e) => response
                            .with_error_code(e.code())
                            .with_error_message(Some(StrBytes::from_string(e.to_string()))),
                    }
                })
                .collect();
            ReassignableTopicResponse::default()
                .with_name(topic.name)
                .with_partitions(partitions)
        })
        .collect();
    HandlerOutput::Respond(
        AlterPartitionReassignmentsResponse::default()
            .with_error_message(None)
            .with_allow_replication_factor_change(req.allow_replication_factor_change)
            .with_responses(responses),
    )
}

/// One partition's reassignment to `replicas` (None: cancel), on a cluster
/// whose only broker is `node_id`.
fn reassign(
    topic: &str,
    meta: Option<&TopicMeta>,
    partition: i32,
    replicas: Option<&[BrokerId]>,
    node_id: i32,
) -> Result<(), ClusterError> {
    let Some(meta) = meta else {
        return Err(ClusterError::UnknownTopicOrPartition(format!(
            "Unable to find a topic named {topic}."
        )));
    };
    if partition < 0 || partition >= meta.partitions {
        return Err(ClusterError::UnknownTopicOrPartition(format!(
            "Unable to find partition {topic}:{partition}."
        )));
    }
    let Some(replicas) = replicas else {
        return Err(ClusterError::NoReassignmentInProgress);
    };
    if replicas.is_empty() {
        return Err(ClusterError::InvalidReplicaAssignment(
            "The manual partition assignment includes an empty replica list.".to_string(),
        ));
    }
    let mut sorted: Vec<i32> = replicas.iter().map(|b| b.0).collect();
    sorted.sort_unstable();
    let mut previous = None;
    for broker in sorted {
        if broker != node_id {
            return Err(ClusterError::InvalidReplicaAssignment(format!(
                "The manual partition assignment includes broker {broker}, but no such broker is registered."
            )));
        }
        if previous == Some(broker) {
            return Err(ClusterError::InvalidReplicaAssignment(format!(
                "The manual partition assignment includes the broker {broker} more than once."
            )));
        }
        previous = Some(broker);
    }
    // The target is [this node]: the current replicas. Nothing to move.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic() -> TopicMeta {
        TopicMeta {
            name: "t".into(),
            id: uuid::Uuid::nil(),
            partitions: 2,
            configs: Default::default(),
            internal: false,
        }
    }

    fn code(r: Result<(), ClusterError>) -> i16 {
        r.map_or_else(|e| e.code(), |()| 0)
    }

    #[test]
    fn kafka_checks_in_kafka_order() {
        use kafka_protocol::ResponseError as K;
        let t = topic();
        let b = |ids: &[i32]| ids.iter().map(|&i| BrokerId(i)).collect::<Vec<_>>();
        assert_eq!(code(reassign("t", Some(&t), 0, Some(&b(&[1])), 1)), 0);
        assert_eq!(
            code(reassign("x", None, 0, Some(&b(&[1])), 1)),
            K::UnknownTopicOrPartition.code()
        );
        assert_eq!(
            code(reassign("t", Some(&t), 2, Some(&b(&[1])), 1)),
            K::UnknownTopicOrPartition.code()
        );
        assert_eq!(
            code(reassign("t", Some(&t), 0, None, 1)),
            K::NoReassignmentInProgress.code()
        );
        assert_eq!(
            code(reassign("t", Some(&t), 0, Some(&[]), 1)),
            K::InvalidReplicaAssignment.code()
        );
        assert_eq!(
            code(reassign("t", Some(&t), 0, Some(&b(&[1, 7])), 1)),
            K::InvalidReplicaAssignment.code()
        );
        assert_eq!(
            code(reassign("t", Some(&t), 0, Some(&b(&[1, 1])), 1)),
            K::InvalidReplicaAssignment.code()
        );
    }
}
