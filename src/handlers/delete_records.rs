//! DeleteRecords (key 21), v0–v2.
//!
//! Moves a partition's log start offset forward to the given offset (-1
//! means the high watermark). Records below it are no longer served
//! (consumers there get OFFSET_OUT_OF_RANGE); whole segments below it are
//! removed by retention. An offset above the high watermark is
//! OFFSET_OUT_OF_RANGE; one at or below the current start changes nothing.
//! The response carries the new low watermark (log start offset).

use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse};

use super::{HandlerOutput, RequestContext};
use crate::error::{ErrorCode, PartitionError};

pub const VERSIONS: (i16, i16) = (0, 2);

pub async fn handle(
    ctx: RequestContext,
    req: DeleteRecordsRequest,
) -> HandlerOutput<DeleteRecordsResponse> {
    let state = &ctx.state;
    let topics = req
        .topics
        .iter()
        .map(|topic| {
            let partitions = topic
                .partitions
                .iter()
                .map(|p| {
                    let outcome = state
                        .metadata
                        .topic(topic.name.as_str())
                        .ok_or(PartitionError::UnknownTopicOrPartition)
                        .and_then(|meta| {
                            state
                                .partitions
                                .delete_records(&meta, p.partition_index, p.offset)
                        });
                    let result = DeleteRecordsPartitionResult::default()
                        .with_partition_index(p.partition_index);
                    match outcome {
                        Ok(low_watermark) => result.with_low_watermark(low_watermark),
                        Err(e) => result.with_error_code(e.code()).with_low_watermark(-1),
                    }
                })
                .collect();
            DeleteRecordsTopicResult::default()
                .with_name(topic.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    HandlerOutput::Respond(DeleteRecordsResponse::default().with_topics(topics))
}
