//! FindCoordinator (key 10), v0–v6.
//!
//! This broker coordinates every group and every transactional id: a group
//! key (key type 0) or transaction key (key type 1) always names this node.
//! Several keys at once from v4 (KIP-699). Any other key type (share
//! groups) is INVALID_REQUEST.

use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};
use kafka_protocol::protocol::StrBytes;

use super::{HandlerOutput, RequestContext};
use crate::error::{ErrorCode, GroupError};

pub const VERSIONS: (i16, i16) = (0, 6);

const GROUP_KEY: i8 = 0;
const TRANSACTION_KEY: i8 = 1;

pub async fn handle(
    ctx: RequestContext,
    req: FindCoordinatorRequest,
) -> HandlerOutput<FindCoordinatorResponse> {
    let (host, port) = &ctx.state.advertised();
    let node = ctx.state.config.node_id;
    let lookup = |key: StrBytes| -> Coordinator {
        let found = Coordinator::default()
            .with_key(key)
            .with_error_message(None);
        let error = match req.key_type {
            GROUP_KEY | TRANSACTION_KEY => {
                return found
                    .with_node_id(BrokerId(node))
                    .with_host(StrBytes::from_string(host.clone()))
                    .with_port(i32::from(*port));
            }
            _ => GroupError::InvalidRequest,
        };
        found
            .with_error_code(error.code())
            .with_error_message(Some(StrBytes::from_string(error.to_string())))
            .with_node_id(BrokerId(-1))
            .with_host(StrBytes::default())
            .with_port(-1)
    };
    let response = FindCoordinatorResponse::default().with_error_message(None);
    if ctx.api_version >= 4 {
        let coordinators = req.coordinator_keys.iter().cloned().map(lookup).collect();
        return HandlerOutput::Respond(response.with_coordinators(coordinators));
    }
    let c = lookup(req.key.clone());
    HandlerOutput::Respond(
        response
            .with_error_code(c.error_code)
            .with_error_message(if ctx.api_version >= 1 {
                c.error_message
            } else {
                None
            })
            .with_node_id(c.node_id)
            .with_host(c.host)
            .with_port(c.port),
    )
}
