//! OffsetForLeaderEpoch (key 23), v2–v4 (v0–v1 were removed in Kafka 4.0,
//! KIP-896).
//!
//! Clients use it to detect log truncation after a leader change (KIP-320).
//! This node leads every partition at one leader epoch
//! ([`crate::partition::LEADER_EPOCH`], the epoch Metadata reports and
//! every stored batch is stamped with), so the answer for that epoch is its
//! log end offset; a newer epoch, or -1, is Kafka's undefined answer (epoch
//! -1, end offset -1) with no error; see
//! [`crate::partition::Partition::end_offset_for_epoch`]. The current leader
//! epoch (-1: not checked) is checked as Kafka does: newer than ours is
//! UNKNOWN_LEADER_EPOCH, older FENCED_LEADER_EPOCH. The replica id (v3+) is
//! not needed: followers and consumers get the same answer from a leader.
//! Unknown topics or partitions: UNKNOWN_TOPIC_OR_PARTITION; while the broker
//! loads: NOT_LEADER_OR_FOLLOWER.

use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse};

use super::{HandlerOutput, RequestContext};
use crate::error::{ErrorCode, PartitionError};
use crate::partition::LEADER_EPOCH;

pub const VERSIONS: (i16, i16) = (2, 4);

/// "No epoch given" in a request's current leader epoch.
const NO_EPOCH: i32 = -1;

pub async fn handle(
    ctx: RequestContext,
    req: OffsetForLeaderEpochRequest,
) -> HandlerOutput<OffsetForLeaderEpochResponse> {
    let state = &ctx.state;
    let topics = req
        .topics
        .into_iter()
        .map(|topic| {
            let meta = state.metadata.topic(topic.topic.as_str());
            let partitions = topic
                .partitions
                .iter()
                .map(|p| {
                    let answer = EpochEndOffset::default()
                        .with_partition(p.partition)
                        .with_leader_epoch(-1)
                        .with_end_offset(-1);
                    let leader = match &meta {
                        None => Err(PartitionError::UnknownTopicOrPartition),
                        Some(_)
                            if p.current_leader_epoch != NO_EPOCH
                                && p.current_leader_epoch < LEADER_EPOCH =>
                        {
                            Err(PartitionError::FencedLeaderEpoch {
                                requested: p.current_leader_epoch,
                                current: LEADER_EPOCH,
                            })
                        }
                        Some(meta) => {
                            state
                                .partitions
                                .leader(meta, p.partition, p.current_leader_epoch)
                        }
                    };
                    match leader {
                        Err(e) => answer.with_error_code(e.code()),
                        Ok(partition) => match partition.end_offset_for_epoch(p.leader_epoch) {
                            Some((epoch, end_offset)) => {
                                answer.with_leader_epoch(epoch).with_end_offset(end_offset)
                            }
                            None => answer,
                        },
                    }
                })
                .collect();
            OffsetForLeaderTopicResult::default()
                .with_topic(topic.topic)
                .with_partitions(partitions)
        })
        .collect();
    HandlerOutput::Respond(OffsetForLeaderEpochResponse::default().with_topics(topics))
}
