//! LeaveGroup (key 13), v0–v5.
//!
//! v0–v2 remove one member by id; v3+ several at once, static members by
//! `group.instance.id` alone (an admin removing them), each with its own
//! error. The remaining members rebalance.

use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{LeaveGroupRequest, LeaveGroupResponse};
use kafka_protocol::protocol::StrBytes;

use super::{HandlerOutput, RequestContext};
use crate::error::{group_code, ErrorCode, NONE};
use crate::group::operations::LeavingMember;

pub const VERSIONS: (i16, i16) = (0, 5);

pub async fn handle(
    ctx: RequestContext,
    req: LeaveGroupRequest,
) -> HandlerOutput<LeaveGroupResponse> {
    let leaving: Vec<LeavingMember> = if ctx.api_version >= 3 {
        req.members
            .iter()
            .map(|m| LeavingMember {
                member_id: m.member_id.to_string(),
                group_instance_id: m.group_instance_id.as_ref().map(|s| s.to_string()),
            })
            .collect()
    } else {
        vec![LeavingMember {
            member_id: req.member_id.to_string(),
            group_instance_id: None,
        }]
    };
    let group_id = req.group_id.to_string();
    let result = ctx.state.groups.leave(&group_id, &leaving);
    let response = LeaveGroupResponse::default();
    let results = match result {
        Err(e) => return HandlerOutput::Respond(response.with_error_code(e.code())),
        Ok(results) => results,
    };
    if ctx.api_version < 3 {
        // One member: its error is the request's.
        let code = results.first().map_or(NONE, |e| group_code(*e));
        return HandlerOutput::Respond(response.with_error_code(code));
    }
    let members = leaving
        .into_iter()
        .zip(results)
        .map(|(m, error)| {
            MemberResponse::default()
                .with_member_id(StrBytes::from_string(m.member_id))
                .with_group_instance_id(m.group_instance_id.map(StrBytes::from_string))
                .with_error_code(group_code(error))
        })
        .collect();
    HandlerOutput::Respond(response.with_members(members))
}
