//! Heartbeat (key 12), v0–v4.
//!
//! Keeps a member's session alive; REBALANCE_IN_PROGRESS tells it to
//! rejoin. v3+ static members (FENCED_INSTANCE_ID for a replaced instance).

use kafka_protocol::messages::{HeartbeatRequest, HeartbeatResponse};

use super::{HandlerOutput, RequestContext};
use crate::error::group_code;
use crate::group::operations::HeartbeatRequest as Heartbeat;

pub const VERSIONS: (i16, i16) = (0, 4);

pub async fn handle(
    ctx: RequestContext,
    req: HeartbeatRequest,
) -> HandlerOutput<HeartbeatResponse> {
    let heartbeat = Heartbeat {
        group_id: req.group_id.to_string(),
        generation_id: req.generation_id,
        member_id: req.member_id.to_string(),
        group_instance_id: req.group_instance_id.as_ref().map(|s| s.to_string()),
    };
    let error = ctx.state.groups.heartbeat(heartbeat).err();
    HandlerOutput::Respond(HeartbeatResponse::default().with_error_code(group_code(error)))
}
