//! InitProducerId (key 22), v0–v5.
//!
//! Idempotent producers (null transactional id) always get a fresh producer
//! id at epoch 0, whatever producer id and epoch they send (v3+): this is
//! also how Kafka answers a KIP-360 epoch bump request from an idempotent
//! producer. Ids are never reused, across restarts included.
//! Not implemented yet: transactional ids (COORDINATOR_NOT_AVAILABLE).

use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};

use crate::dispatch::{HandlerReply, RequestContext};
use crate::error::{ErrorCode, TxnError};

pub const VERSIONS: (i16, i16) = (0, 5);

pub async fn handle(
    ctx: RequestContext,
    req: InitProducerIdRequest,
) -> HandlerReply<InitProducerIdResponse> {
    let outcome = match &req.transactional_id {
        None => ctx
            .state
            .producer_ids
            .next_id()
            .map(|id| (id, 0))
            .map_err(|e| TxnError::ProducerIdAllocation(e.to_string())),
        Some(_) => Err(TxnError::CoordinatorNotAvailable),
    };
    let response = InitProducerIdResponse::default();
    HandlerReply::Respond(match outcome {
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
    })
}
