//! DeleteGroups (key 42), v0–v2.
//!
//! Deletes empty groups with all their offsets (tombstones in
//! `__consumer_offsets`); NON_EMPTY_GROUP while members remain,
//! GROUP_ID_NOT_FOUND for unknown groups.

use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::{DeleteGroupsRequest, DeleteGroupsResponse};

use super::{HandlerOutput, RequestContext};
use crate::error::group_code;

pub const VERSIONS: (i16, i16) = (0, 2);

pub async fn handle(
    ctx: RequestContext,
    req: DeleteGroupsRequest,
) -> HandlerOutput<DeleteGroupsResponse> {
    let pending: Vec<_> = req
        .groups_names
        .iter()
        .map(|id| {
            let pending = ctx.state.groups.delete_group(id.as_str());
            (id.clone(), pending)
        })
        .collect();
    HandlerOutput::Pending(Box::pin(async move {
        let mut results = Vec::with_capacity(pending.len());
        for (id, pending) in pending {
            let error = pending.wait().await.unwrap_or_else(Some);
            results.push(
                DeletableGroupResult::default()
                    .with_group_id(id)
                    .with_error_code(group_code(error)),
            );
        }
        DeleteGroupsResponse::default().with_results(results)
    }))
}
