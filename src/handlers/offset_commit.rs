//! OffsetCommit (key 8), v2–v9.
//!
//! Commits from members of the current generation, and from consumers
//! outside group management (generation -1, no member id) while the group
//! is empty. Offsets are answered once written to `__consumer_offsets`
//! (and fsynced with `--fsync always`). v6+ leader epoch, v7+ static
//! members, v9 GROUP_ID_NOT_FOUND for an unknown group. Partitions of
//! unknown topics get UNKNOWN_TOPIC_OR_PARTITION. Not implemented: the
//! per-commit `retention_time_ms` of v2–v4 (ignored, as Kafka does since
//! KIP-211 for expiry of offsets of active groups).

use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::{OffsetCommitRequest, OffsetCommitResponse};

use super::{HandlerOutput, RequestContext};
use crate::error::{group_code, GroupError};
use crate::group::operations::{CommitPartition, CommitRequest};
use crate::BrokerState;

pub const VERSIONS: (i16, i16) = (2, 9);

pub async fn handle(
    ctx: RequestContext,
    req: OffsetCommitRequest,
) -> HandlerOutput<OffsetCommitResponse> {
    let state = &ctx.state;
    let partitions: Vec<CommitPartition> = req
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(|p| CommitPartition {
                topic: t.name.to_string(),
                partition: p.partition_index,
                offset: p.committed_offset,
                leader_epoch: p.committed_leader_epoch,
                metadata: p.committed_metadata.as_ref().map(|s| s.to_string()),
                precheck: topic_partition_check(state, &t.name, p.partition_index),
            })
        })
        .collect();
    let count = partitions.len();
    let commit = CommitRequest {
        group_id: req.group_id.to_string(),
        generation_id: req.generation_id_or_member_epoch,
        member_id: req.member_id.to_string(),
        group_instance_id: req.group_instance_id.as_ref().map(|s| s.to_string()),
        group_id_not_found_supported: ctx.api_version >= 9,
        partitions,
    };
    let pending = state.groups.commit(commit);
    HandlerOutput::Pending(Box::pin(async move {
        let errors = match pending.wait().await {
            Ok(errors) => errors,
            Err(e) => vec![Some(e); count],
        };
        let mut errors = errors.into_iter();
        let topics = req
            .topics
            .into_iter()
            .map(|t| {
                let partitions = t
                    .partitions
                    .iter()
                    .map(|p| {
                        OffsetCommitResponsePartition::default()
                            .with_partition_index(p.partition_index)
                            .with_error_code(group_code(errors.next().flatten()))
                    })
                    .collect();
                OffsetCommitResponseTopic::default()
                    .with_name(t.name)
                    .with_partitions(partitions)
            })
            .collect();
        OffsetCommitResponse::default().with_topics(topics)
    }))
}

/// UNKNOWN_TOPIC_OR_PARTITION for a partition the broker does not have.
pub fn topic_partition_check(
    state: &BrokerState,
    topic: &str,
    partition: i32,
) -> Option<GroupError> {
    state.unknown_partition(topic, partition)
}
