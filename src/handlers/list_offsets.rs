//! ListOffsets (key 2), v1–v10.
//!
//! Timestamps: -2 earliest (log start offset), -1 latest (high watermark, or
//! the last stable offset for read_committed), -3 the record with the
//! largest timestamp (v7+), -4 earliest local (v8+; the log start offset, as
//! nothing is tiered), -5 earliest pending upload (v9+; no such offset, -1),
//! and a real timestamp: the first record at or after it, found through the
//! time index. The leader epoch (v4+) is this broker's epoch.
//! Not implemented: the v0 API, tiered storage.

use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};

use super::{HandlerOutput, RequestContext};
use crate::error::{ErrorCode, PartitionError};
use crate::partition::{Partition, LEADER_EPOCH};

pub const VERSIONS: (i16, i16) = (1, 10);

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;
const EARLIEST_LOCAL: i64 = -4;
const EARLIEST_PENDING_UPLOAD: i64 = -5;

/// isolation_level 1 = read_committed.
const READ_COMMITTED: i8 = 1;

pub async fn handle(
    ctx: RequestContext,
    req: ListOffsetsRequest,
) -> HandlerOutput<ListOffsetsResponse> {
    let state = &ctx.state;
    let topics = req
        .topics
        .iter()
        .map(|topic| {
            let meta = state.metadata.topic(topic.name.as_str());
            let partitions = topic
                .partitions
                .iter()
                .map(|p| {
                    let resp = ListOffsetsPartitionResponse::default()
                        .with_partition_index(p.partition_index);
                    let outcome = meta
                        .as_ref()
                        .ok_or(PartitionError::UnknownTopicOrPartition)
                        .and_then(|meta| {
                            state
                                .partitions
                                .leader(meta, p.partition_index, p.current_leader_epoch)
                        })
                        .and_then(|part| {
                            lookup(&part, p.timestamp, req.isolation_level, ctx.api_version)
                        });
                    match outcome {
                        // The leader epoch exists from v4; older versions
                        // cannot carry it (the codec refuses a set value).
                        Ok((offset, timestamp)) => resp
                            .with_offset(offset)
                            .with_timestamp(timestamp)
                            .with_leader_epoch(if offset >= 0 && ctx.api_version >= 4 {
                                LEADER_EPOCH
                            } else {
                                -1
                            }),
                        Err(e) => resp
                            .with_error_code(e.code())
                            .with_offset(-1)
                            .with_timestamp(-1)
                            .with_leader_epoch(-1),
                    }
                })
                .collect();
            ListOffsetsTopicResponse::default()
                .with_name(topic.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    HandlerOutput::Respond(ListOffsetsResponse::default().with_topics(topics))
}

/// (offset, timestamp) for one partition; (-1, -1) when there is none.
fn lookup(
    partition: &Partition,
    timestamp: i64,
    isolation: i8,
    version: i16,
) -> Result<(i64, i64), PartitionError> {
    let marks = partition.watermarks();
    let not_found = (-1, -1);
    Ok(match timestamp {
        EARLIEST => (marks.log_start_offset, -1),
        EARLIEST_LOCAL if version >= 8 => (marks.log_start_offset, -1),
        EARLIEST_PENDING_UPLOAD if version >= 9 => not_found,
        LATEST if isolation == READ_COMMITTED => (marks.last_stable_offset, -1),
        LATEST => (marks.high_watermark, -1),
        MAX_TIMESTAMP if version >= 7 => partition
            .max_timestamp()?
            .map_or(not_found, |(o, t)| (o, t)),
        ts if ts >= 0 => partition.offset_for_timestamp(ts)?.unwrap_or(not_found),
        _ => not_found,
    })
}
