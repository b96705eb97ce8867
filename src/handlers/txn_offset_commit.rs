//! TxnOffsetCommit (key 28), v0–v4.
//!
//! Offsets committed inside the producer's transaction: written to the
//! group's `__consumer_offsets` partition in a transactional batch and kept
//! pending (OffsetFetch does not see them) until the transaction's marker
//! commits or drops them. From v3 a member id, instance id and generation,
//! when given, must name the group's current member (UNKNOWN_MEMBER_ID,
//! ILLEGAL_GENERATION, FENCED_INSTANCE_ID). Partitions of unknown topics get
//! UNKNOWN_TOPIC_OR_PARTITION. The producer's open transaction must hold
//! the group's `__consumer_offsets` partition (AddOffsetsToTxn first), else
//! INVALID_TXN_STATE, or INVALID_PRODUCER_EPOCH for a fenced producer
//! (KIP-890 part 1): otherwise the offsets would wait for a marker that
//! never comes. Not implemented: v5 (KIP-890 transaction version 2).

use kafka_protocol::messages::txn_offset_commit_request::TxnOffsetCommitRequestTopic;
use kafka_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kafka_protocol::messages::{TxnOffsetCommitRequest, TxnOffsetCommitResponse};

use super::offset_commit::topic_partition_check;
use super::{HandlerOutput, RequestContext};
use crate::error::{group_code, GroupError};
use crate::group::operations::{CommitPartition, TxnCommitRequest};
use crate::group::OFFSETS_TOPIC;

pub const VERSIONS: (i16, i16) = (0, 4);

pub async fn handle(
    ctx: RequestContext,
    req: TxnOffsetCommitRequest,
) -> HandlerOutput<TxnOffsetCommitResponse> {
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
    let offsets_partition = state.groups.partition_of(req.group_id.as_str());
    if let Err(e) = state.txns.verify(
        req.producer_id.0,
        req.producer_epoch,
        OFFSETS_TOPIC,
        offsets_partition,
    ) {
        tracing::debug!(error = %e, "TxnOffsetCommit outside a transaction holding the offsets");
        let error = GroupError::from(e);
        return HandlerOutput::Respond(response(req.topics, vec![Some(error); count]));
    }
    let commit = TxnCommitRequest {
        group_id: req.group_id.to_string(),
        producer_id: req.producer_id.0,
        producer_epoch: req.producer_epoch,
        generation_id: if ctx.api_version >= 3 {
            req.generation_id
        } else {
            -1
        },
        member_id: req.member_id.to_string(),
        group_instance_id: req.group_instance_id.as_ref().map(|s| s.to_string()),
        partitions,
    };
    let pending = state.groups.txn_commit(commit);
    HandlerOutput::Pending(Box::pin(async move {
        let errors = match pending.wait().await {
            Ok(errors) => errors,
            Err(e) => vec![Some(e); count],
        };
        response(req.topics, errors)
    }))
}

fn response(
    topics: Vec<TxnOffsetCommitRequestTopic>,
    errors: Vec<Option<GroupError>>,
) -> TxnOffsetCommitResponse {
    let mut errors = errors.into_iter();
    let topics = topics
        .into_iter()
        .map(|t| {
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    TxnOffsetCommitResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(group_code(errors.next().flatten()))
                })
                .collect();
            TxnOffsetCommitResponseTopic::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    TxnOffsetCommitResponse::default().with_topics(topics)
}
