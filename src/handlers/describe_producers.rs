//! DescribeProducers (key 61), v0.
//!
//! The producers each partition remembers (idempotent and transactional):
//! producer id, epoch, last sequence, last timestamp and the first offset
//! of the open transaction (-1 if none). Unknown partitions get
//! UNKNOWN_TOPIC_OR_PARTITION. The coordinator epoch is always 0 (one
//! broker).

use kafka_protocol::messages::describe_producers_response::{
    PartitionResponse, ProducerState, TopicResponse,
};
use kafka_protocol::messages::{DescribeProducersRequest, DescribeProducersResponse, ProducerId};

use super::{HandlerOutput, RequestContext};
use crate::error::{ErrorCode, PartitionError};

pub const VERSIONS: (i16, i16) = (0, 0);

pub async fn handle(
    ctx: RequestContext,
    req: DescribeProducersRequest,
) -> HandlerOutput<DescribeProducersResponse> {
    let topics = req
        .topics
        .into_iter()
        .map(|t| {
            let partitions = t
                .partition_indexes
                .iter()
                .map(|&index| {
                    let response = PartitionResponse::default()
                        .with_partition_index(index)
                        .with_error_message(None);
                    let Some(partition) = ctx.state.partitions.get(t.name.as_str(), index) else {
                        return response
                            .with_error_code(PartitionError::UnknownTopicOrPartition.code());
                    };
                    let producers = partition
                        .producers()
                        .into_iter()
                        .map(|p| {
                            ProducerState::default()
                                .with_producer_id(ProducerId(p.producer_id))
                                .with_producer_epoch(i32::from(p.epoch))
                                .with_last_sequence(p.last_sequence)
                                .with_last_timestamp(p.last_timestamp)
                                .with_coordinator_epoch(0)
                                .with_current_txn_start_offset(p.current_txn_start_offset)
                        })
                        .collect();
                    response.with_active_producers(producers)
                })
                .collect();
            TopicResponse::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    HandlerOutput::Respond(DescribeProducersResponse::default().with_topics(topics))
}
