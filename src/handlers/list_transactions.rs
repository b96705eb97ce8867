//! ListTransactions (key 66), v0–v1.
//!
//! Every transactional id with its producer id and state, filtered by
//! state names (unknown names are echoed in `unknown_state_filters`), by
//! producer ids, and (v1) by transactions running longer than
//! `duration_filter` ms. Not implemented: v2's transactional id pattern.

use kafka_protocol::messages::list_transactions_response::TransactionState;
use kafka_protocol::messages::{
    ListTransactionsRequest, ListTransactionsResponse, ProducerId, TransactionalId,
};
use kafka_protocol::protocol::StrBytes;

use super::{HandlerOutput, RequestContext};
use crate::admin::{is_transaction_state, list_transactions, TransactionFilter};
use crate::error::{ErrorCode, TxnError};

pub const VERSIONS: (i16, i16) = (0, 1);

pub async fn handle(
    ctx: RequestContext,
    req: ListTransactionsRequest,
) -> HandlerOutput<ListTransactionsResponse> {
    let unknown: Vec<StrBytes> = req
        .state_filters
        .iter()
        .filter(|f| !is_transaction_state(f.as_str()))
        .cloned()
        .collect();
    if !ctx.state.txns.is_loaded() {
        // Still loading at start: not an empty list, which would be wrong.
        return HandlerOutput::Respond(
            ListTransactionsResponse::default()
                .with_error_code(TxnError::CoordinatorLoadInProgress.code())
                .with_unknown_state_filters(unknown),
        );
    }
    let filter = TransactionFilter {
        states: req.state_filters.iter().map(|f| f.to_string()).collect(),
        producer_ids: req.producer_id_filters.iter().map(|p| p.0).collect(),
        min_duration_ms: (ctx.api_version >= 1).then_some(req.duration_filter),
    };
    let listed = list_transactions(&ctx.state, &filter)
        .into_iter()
        .map(|m| {
            TransactionState::default()
                .with_transactional_id(TransactionalId(StrBytes::from_string(m.transactional_id)))
                .with_producer_id(ProducerId(m.producer_id))
                .with_transaction_state(StrBytes::from_string(m.state))
        })
        .collect();
    HandlerOutput::Respond(
        ListTransactionsResponse::default()
            .with_unknown_state_filters(unknown)
            .with_transaction_states(listed),
    )
}
