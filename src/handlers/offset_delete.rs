//! OffsetDelete (key 47), v0.
//!
//! Removes committed offsets of an empty group, or of topics a consumer
//! group no longer subscribes to (GROUP_SUBSCRIBED_TO_TOPIC otherwise;
//! NON_EMPTY_GROUP for active groups of other protocols). Unknown topics
//! get UNKNOWN_TOPIC_OR_PARTITION, an unknown group GROUP_ID_NOT_FOUND.

use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::{OffsetDeleteRequest, OffsetDeleteResponse};

use super::{HandlerOutput, RequestContext};
use crate::error::{group_code, ErrorCode};
use crate::group::operations::DeletePartition;
use crate::handlers::offset_commit::topic_partition_check;

pub const VERSIONS: (i16, i16) = (0, 0);

pub async fn handle(
    ctx: RequestContext,
    req: OffsetDeleteRequest,
) -> HandlerOutput<OffsetDeleteResponse> {
    let partitions: Vec<DeletePartition> = req
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(|p| DeletePartition {
                topic: t.name.to_string(),
                partition: p.partition_index,
                precheck: topic_partition_check(&ctx.state, &t.name, p.partition_index),
            })
        })
        .collect();
    let group_id = req.group_id.to_string();
    let pending = ctx.state.groups.delete_offsets(&group_id, &partitions);
    HandlerOutput::Pending(Box::pin(async move {
        let mut errors = match pending.wait().await.and_then(|answer| answer) {
            Ok(errors) => errors.into_iter(),
            Err(e) => return OffsetDeleteResponse::default().with_error_code(e.code()),
        };
        let topics = req
            .topics
            .into_iter()
            .map(|t| {
                let partitions = t
                    .partitions
                    .iter()
                    .map(|p| {
                        OffsetDeleteResponsePartition::default()
                            .with_partition_index(p.partition_index)
                            .with_error_code(group_code(errors.next().flatten()))
                    })
                    .collect();
                OffsetDeleteResponseTopic::default()
                    .with_name(t.name)
                    .with_partitions(partitions)
            })
            .collect();
        OffsetDeleteResponse::default().with_topics(topics)
    }))
}
