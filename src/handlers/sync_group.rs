//! SyncGroup (key 14), v0–v5.
//!
//! The leader hands in the assignment; every member gets its own once the
//! leader's is stored (followers wait for it). v3+ static members; v5
//! carries protocol type and name both ways (both required from v5, as
//! Kafka requires: INCONSISTENT_GROUP_PROTOCOL otherwise).

use kafka_protocol::messages::{SyncGroupRequest, SyncGroupResponse};
use kafka_protocol::protocol::StrBytes;

use super::{HandlerOutput, RequestContext};
use crate::error::{group_code, GroupError};
use crate::group::operations::{SyncRequest, SyncResult};

pub const VERSIONS: (i16, i16) = (0, 5);

pub async fn handle(
    ctx: RequestContext,
    req: SyncGroupRequest,
) -> HandlerOutput<SyncGroupResponse> {
    let version = ctx.api_version;
    if version >= 5 && (req.protocol_type.is_none() || req.protocol_name.is_none()) {
        let error = SyncResult::error(GroupError::InconsistentGroupProtocol);
        return HandlerOutput::Respond(response(version, error));
    }
    let sync = SyncRequest {
        group_id: req.group_id.to_string(),
        generation_id: req.generation_id,
        member_id: req.member_id.to_string(),
        group_instance_id: req.group_instance_id.as_ref().map(|s| s.to_string()),
        protocol_type: req.protocol_type.as_ref().map(|s| s.to_string()),
        protocol_name: req.protocol_name.as_ref().map(|s| s.to_string()),
        assignments: req
            .assignments
            .iter()
            .map(|a| (a.member_id.to_string(), a.assignment.clone()))
            .collect(),
    };
    let pending = ctx.state.groups.sync(sync);
    HandlerOutput::Pending(Box::pin(async move {
        let result = pending.wait().await.unwrap_or_else(SyncResult::error);
        response(version, result)
    }))
}

fn response(version: i16, r: SyncResult) -> SyncGroupResponse {
    let v5 = |v: Option<String>| v.filter(|_| version >= 5).map(StrBytes::from_string);
    SyncGroupResponse::default()
        .with_error_code(group_code(r.error))
        .with_protocol_type(v5(r.protocol_type))
        .with_protocol_name(v5(r.protocol_name))
        .with_assignment(r.assignment)
}
