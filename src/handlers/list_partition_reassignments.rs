//! ListPartitionReassignments (key 46), v0.
//!
//! No reassignment is ever in progress on a single node (a reassignment to
//! this node completes at once, see `alter_partition_reassignments.rs`), so
//! the list is empty, whether every topic is asked for (null) or some are
//! named (Kafka lists only partitions being reassigned and skips unknown
//! topics without an error).

use kafka_protocol::messages::{
    ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse,
};

use super::{HandlerOutput, RequestContext};

pub const VERSIONS: (i16, i16) = (0, 0);

pub async fn handle(
    _ctx: RequestContext,
    _req: ListPartitionReassignmentsRequest,
) -> HandlerOutput<ListPartitionReassignmentsResponse> {
    HandlerOutput::Respond(ListPartitionReassignmentsResponse::default().with_error_message(None))
}
