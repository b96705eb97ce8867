//! EndTxn (key 26), v0–v4.
//!
//! Commits or aborts the producer's transaction: the coordinator records
//! PrepareCommit/PrepareAbort, writes a marker to every partition of the
//! transaction (committing or dropping TxnOffsetCommit offsets), records
//! CompleteCommit/CompleteAbort, and answers once all of it is written
//! (with `--fsync always`: the markers once the Prepare record is fsynced, so
//! that a power loss never keeps a marker of a transaction whose Prepare
//! record it lost; the answer once the markers are; the Complete record after
//! that, so a power loss never keeps it without the markers). A retry of an end that already
//! happened succeeds; the other end is INVALID_TXN_STATE. Not
//! implemented: v5 (KIP-890 transaction version 2, which bumps the epoch
//! at every end).

use kafka_protocol::messages::{EndTxnRequest, EndTxnResponse};

use super::{HandlerOutput, RequestContext};
use crate::error::{ErrorCode, TxnError, NONE};

pub const VERSIONS: (i16, i16) = (0, 4);

pub async fn handle(ctx: RequestContext, req: EndTxnRequest) -> HandlerOutput<EndTxnResponse> {
    let state = &ctx.state;
    let pending = state.txns.end_txn(
        std::sync::Arc::clone(state) as std::sync::Arc<dyn crate::txn::TxnParticipants>,
        req.transactional_id.as_str(),
        req.producer_id.0,
        req.producer_epoch,
        req.committed,
    );
    // The Complete record must be written even if the client goes away
    // before its answer: a task of its own, not the reply's future.
    let finishing = tokio::spawn(pending.wait());
    HandlerOutput::Pending(Box::pin(async move {
        let code = match finishing.await {
            Ok(Ok(())) => NONE,
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "EndTxn refused");
                e.code()
            }
            Err(_) => TxnError::CoordinatorNotAvailable.code(),
        };
        EndTxnResponse::default().with_error_code(code)
    }))
}
