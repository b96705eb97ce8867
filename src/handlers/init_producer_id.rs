//! InitProducerId (key 22), v0–v5.
//!
//! Idempotent producers (null transactional id) always get a fresh producer
//! id at epoch 0, whatever producer id and epoch they send (v3+): this is
//! also how Kafka answers a KIP-360 epoch bump request from an idempotent
//! producer. Ids are never reused, across restarts included.
//!
//! Transactional producers go to the transaction coordinator: a new
//! transactional id gets a new producer id at epoch 0, a known one the
//! next epoch (fencing older producers with the same id); an open
//! transaction is aborted first and answered CONCURRENT_TRANSACTIONS, so
//! that the client retries. v3+ may name the producer id and epoch to
//! recover (KIP-360); for an id the coordinator does not know (new, or
//! expired by `transactional.id.expiration.ms`) it starts afresh with a new
//! producer id, as Kafka. INVALID_TRANSACTION_TIMEOUT outside
//! 1..=`--transaction-max-timeout-ms`. Not implemented: v6 two-phase commit.

use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};

use super::{HandlerOutput, RequestContext};
use crate::error::{ErrorCode, TxnError};

pub const VERSIONS: (i16, i16) = (0, 5);

pub async fn handle(
    ctx: RequestContext,
    req: InitProducerIdRequest,
) -> HandlerOutput<InitProducerIdResponse> {
    let Some(transactional_id) = &req.transactional_id else {
        let outcome = ctx.state.producer_ids.next_id().map(|id| (id, 0));
        return HandlerOutput::Respond(response(outcome));
    };
    let expected = (req.producer_id.0 >= 0 && req.producer_epoch >= 0)
        .then_some((req.producer_id.0, req.producer_epoch));
    let state = std::sync::Arc::clone(&ctx.state);
    let transactional_id = transactional_id.to_string();
    let timeout_ms = req.transaction_timeout_ms;
    HandlerOutput::Pending(Box::pin(async move {
        // On the blocking pool: fencing an open transaction writes its abort
        // markers and waits for their fsync under the coordinator shard's lock,
        // which must not hold up a runtime worker.
        let outcome = match tokio::task::spawn_blocking(move || {
            state
                .txns
                .init_producer_id(&*state, &transactional_id, timeout_ms, expected)
        })
        .await
        {
            Ok(pending) => pending.wait().await,
            Err(_) => Err(TxnError::CoordinatorNotAvailable),
        };
        response(outcome)
    }))
}

fn response(outcome: Result<(i64, i16), TxnError>) -> InitProducerIdResponse {
    let response = InitProducerIdResponse::default();
    match outcome {
        Ok((id, epoch)) => response
            .with_producer_id(ProducerId(id))
            .with_producer_epoch(epoch),
        Err(e) => {
            tracing::debug!(error = %e, "InitProducerId refused");
            response
                .with_error_code(e.code())
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1)
        }
    }
}
