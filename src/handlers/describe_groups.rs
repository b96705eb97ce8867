//! DescribeGroups (key 15), v0–v6.
//!
//! State, protocol type, and members (client id, instance id v4+); member
//! metadata, assignments and the selected protocol only for Stable groups,
//! as Kafka. An unknown group is state "Dead" before v6 and
//! GROUP_ID_NOT_FOUND from v6. Not implemented: authorized operations
//! (always "not requested"), client hosts (empty).

use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::{DescribeGroupsRequest, DescribeGroupsResponse};
use kafka_protocol::protocol::StrBytes;

use super::{HandlerOutput, RequestContext};
use crate::error::{ErrorCode, GroupError};

pub const VERSIONS: (i16, i16) = (0, 6);

pub async fn handle(
    ctx: RequestContext,
    req: DescribeGroupsRequest,
) -> HandlerOutput<DescribeGroupsResponse> {
    let version = ctx.api_version;
    let s = StrBytes::from_string;
    let groups = req
        .groups
        .iter()
        .map(|id| {
            let described = crate::admin::describe_group(&ctx.state, id.as_str());
            let group = DescribedGroup::default().with_group_id(id.clone());
            match described {
                Ok(d) => group
                    .with_group_state(s(d.state))
                    .with_protocol_type(s(d.protocol_type))
                    .with_protocol_data(s(d.protocol))
                    .with_members(
                        d.members
                            .into_iter()
                            .map(|m| {
                                DescribedGroupMember::default()
                                    .with_member_id(s(m.member_id))
                                    .with_group_instance_id(
                                        m.group_instance_id.filter(|_| version >= 4).map(s),
                                    )
                                    .with_client_id(s(m.client_id))
                                    .with_client_host(s(m.client_host))
                                    .with_member_metadata(m.metadata.into())
                                    .with_member_assignment(m.assignment.into())
                            })
                            .collect(),
                    ),
                Err(GroupError::GroupIdNotFound) if version < 6 => {
                    group.with_group_state(StrBytes::from_static_str("Dead"))
                }
                Err(e) => group
                    .with_error_code(e.code())
                    .with_error_message(
                        (version >= 6).then(|| s(format!("group {}: {e}", id.as_str()))),
                    )
                    .with_group_state(StrBytes::from_static_str("Dead")),
            }
        })
        .collect();
    HandlerOutput::Respond(DescribeGroupsResponse::default().with_groups(groups))
}
