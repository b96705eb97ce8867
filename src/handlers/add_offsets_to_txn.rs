//! AddOffsetsToTxn (key 25), v0–v4.
//!
//! Adds the `__consumer_offsets` partition of the group to the producer's
//! transaction, so that the transaction's marker reaches the offsets that
//! TxnOffsetCommit writes there. Errors as for AddPartitionsToTxn, for the
//! whole request.

use kafka_protocol::messages::{AddOffsetsToTxnRequest, AddOffsetsToTxnResponse};

use super::{HandlerOutput, RequestContext};
use crate::coordinator::Pending;
use crate::error::{ErrorCode, TxnError, NONE};
use crate::group::OFFSETS_TOPIC;

pub const VERSIONS: (i16, i16) = (0, 4);

pub async fn handle(
    ctx: RequestContext,
    req: AddOffsetsToTxnRequest,
) -> HandlerOutput<AddOffsetsToTxnResponse> {
    let state = &ctx.state;
    let pending = if req.group_id.is_empty() {
        Pending::failed(TxnError::InvalidRequest("empty group id".into()))
    } else {
        let partition = (
            OFFSETS_TOPIC.to_string(),
            state.groups.partition_of(req.group_id.as_str()),
        );
        state.txns.add_partitions(
            req.transactional_id.as_str(),
            req.producer_id.0,
            req.producer_epoch,
            &[partition],
        )
    };
    HandlerOutput::Pending(Box::pin(async move {
        let code = match pending.wait().await {
            Ok(()) => NONE,
            Err(e) => {
                tracing::debug!(error = %e, "AddOffsetsToTxn refused");
                e.code()
            }
        };
        AddOffsetsToTxnResponse::default().with_error_code(code)
    }))
}
