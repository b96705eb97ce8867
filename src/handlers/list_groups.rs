//! ListGroups (key 16), v0–v5.
//!
//! Every classic group with its protocol type; v4+ its state and a state
//! filter, v5 its type ("classic") and a type filter. Filters are
//! case-insensitive, as in Kafka.

use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{GroupId, ListGroupsRequest, ListGroupsResponse};
use kafka_protocol::protocol::StrBytes;

use super::{HandlerOutput, RequestContext};
use crate::error::{ErrorCode, GroupError};

pub const VERSIONS: (i16, i16) = (0, 5);

pub async fn handle(
    ctx: RequestContext,
    req: ListGroupsRequest,
) -> HandlerOutput<ListGroupsResponse> {
    let version = ctx.api_version;
    if !ctx.state.groups.is_loaded() {
        // Still loading at start: not an empty list, which would be wrong.
        return HandlerOutput::Respond(
            ListGroupsResponse::default()
                .with_error_code(GroupError::CoordinatorLoadInProgress.code()),
        );
    }
    let states: Vec<String> = req.states_filter.iter().map(|s| s.to_string()).collect();
    let types: Vec<String> = req.types_filter.iter().map(|s| s.to_string()).collect();
    let groups = crate::admin::list_groups(&ctx.state, &states, &types)
        .into_iter()
        .map(|g| {
            let listed = ListedGroup::default()
                .with_group_id(GroupId(StrBytes::from_string(g.group_id)))
                .with_protocol_type(StrBytes::from_string(g.protocol_type));
            let listed = if version >= 4 {
                listed.with_group_state(StrBytes::from_string(g.state))
            } else {
                listed
            };
            if version >= 5 {
                listed.with_group_type(StrBytes::from_static_str("classic"))
            } else {
                listed
            }
        })
        .collect();
    HandlerOutput::Respond(ListGroupsResponse::default().with_groups(groups))
}
