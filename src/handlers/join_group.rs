//! JoinGroup (key 11), v0–v9.
//!
//! Classic group membership through the coordinator in `crate::group`: the
//! answer waits until the rebalance completes. v4+ new members first get
//! MEMBER_ID_REQUIRED with their id; v5+ static members
//! (`group.instance.id`); v9 `skip_assignment` for a static leader that
//! rejoins a stable group. v0 has no rebalance timeout: the session timeout
//! serves as both. Not implemented: `group.max.size`, the client host (empty).

use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::{JoinGroupRequest, JoinGroupResponse};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use super::{HandlerOutput, RequestContext};
use crate::error::group_code;
use crate::group::operations::{JoinRequest, JoinResult};

pub const VERSIONS: (i16, i16) = (0, 9);

pub async fn handle(
    ctx: RequestContext,
    req: JoinGroupRequest,
) -> HandlerOutput<JoinGroupResponse> {
    let version = ctx.api_version;
    let client_id = ctx.client_id.clone().unwrap_or_default();
    let group_instance_id = req.group_instance_id.as_ref().map(|s| s.to_string());
    // Kafka's member ids: "<group.instance.id or client id>-<uuid>".
    let prefix = group_instance_id.as_deref().unwrap_or(&client_id);
    let join = JoinRequest {
        group_id: req.group_id.to_string(),
        member_id: req.member_id.to_string(),
        new_member_id: format!("{prefix}-{}", Uuid::new_v4()),
        group_instance_id,
        client_id,
        // Kafka's form: the peer's address after a slash ("/127.0.0.1").
        client_host: format!("/{}", ctx.session.peer().ip()),
        session_timeout_ms: req.session_timeout_ms,
        rebalance_timeout_ms: if version == 0 {
            req.session_timeout_ms
        } else {
            req.rebalance_timeout_ms
        },
        protocol_type: req.protocol_type.to_string(),
        protocols: req
            .protocols
            .iter()
            .map(|p| (p.name.to_string(), p.metadata.clone()))
            .collect(),
        require_known_member_id: version >= 4,
        supports_skip_assignment: version >= 9,
        reason: req.reason.as_ref().map(|s| s.to_string()),
    };
    let member_id = join.member_id.clone();
    let pending = ctx.state.groups.join(join);
    HandlerOutput::Pending(Box::pin(async move {
        let result = pending
            .wait()
            .await
            .unwrap_or_else(|e| JoinResult::error(e, &member_id));
        response(version, result)
    }))
}

fn response(version: i16, r: JoinResult) -> JoinGroupResponse {
    let s = StrBytes::from_string;
    let members = r
        .members
        .into_iter()
        .map(|m| {
            JoinGroupResponseMember::default()
                .with_member_id(s(m.member_id))
                .with_group_instance_id(m.group_instance_id.filter(|_| version >= 5).map(s))
                .with_metadata(m.metadata)
        })
        .collect();
    JoinGroupResponse::default()
        .with_error_code(group_code(r.error))
        .with_generation_id(r.generation_id)
        .with_protocol_type(r.protocol_type.filter(|_| version >= 7).map(s))
        // Before v7 the protocol name cannot be null: "" stands for none.
        .with_protocol_name(match r.protocol_name {
            Some(name) => Some(s(name)),
            None if version < 7 => Some(StrBytes::default()),
            None => None,
        })
        .with_leader(s(r.leader))
        .with_skip_assignment(version >= 9 && r.skip_assignment)
        .with_member_id(s(r.member_id))
        .with_members(members)
}
