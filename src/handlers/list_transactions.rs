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
use crate::txn::state::TxnState;

pub const VERSIONS: (i16, i16) = (0, 1);

const STATES: [TxnState; 8] = [
    TxnState::Empty,
    TxnState::Ongoing,
    TxnState::PrepareCommit,
    TxnState::PrepareAbort,
    TxnState::CompleteCommit,
    TxnState::CompleteAbort,
    TxnState::Dead,
    TxnState::PrepareEpochFence,
];

pub async fn handle(
    ctx: RequestContext,
    req: ListTransactionsRequest,
) -> HandlerOutput<ListTransactionsResponse> {
    let unknown: Vec<StrBytes> = req
        .state_filters
        .iter()
        .filter(|f| !STATES.iter().any(|s| s.name() == f.as_str()))
        .cloned()
        .collect();
    let now = ctx.state.txns.now_ms();
    let min_duration = if ctx.api_version >= 1 {
        req.duration_filter
    } else {
        -1
    };
    let listed = ctx
        .state
        .txns
        .list()
        .into_iter()
        .filter(|m| {
            req.state_filters.is_empty()
                || req
                    .state_filters
                    .iter()
                    .any(|f| f.as_str() == m.state.name())
        })
        .filter(|m| {
            req.producer_id_filters.is_empty()
                || req.producer_id_filters.contains(&ProducerId(m.producer_id))
        })
        .filter(|m| {
            min_duration < 0
                || (m.state == TxnState::Ongoing
                    && m.txn_start_ms >= 0
                    && now.saturating_sub(m.txn_start_ms) > min_duration)
        })
        .map(|m| {
            TransactionState::default()
                .with_transactional_id(TransactionalId(StrBytes::from_string(m.transactional_id)))
                .with_producer_id(ProducerId(m.producer_id))
                .with_transaction_state(StrBytes::from_static_str(m.state.name()))
        })
        .collect();
    HandlerOutput::Respond(
        ListTransactionsResponse::default()
            .with_unknown_state_filters(unknown)
            .with_transaction_states(listed),
    )
}
