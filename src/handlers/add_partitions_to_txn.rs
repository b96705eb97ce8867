//! AddPartitionsToTxn (key 24), v0–v3: the client versions.
//!
//! Adds partitions to the producer's open transaction (starting one if
//! none is open). Partitions of unknown topics are
//! UNKNOWN_TOPIC_OR_PARTITION and the others of the request
//! OPERATION_NOT_ATTEMPTED, as Kafka answers. Coordinator errors
//! (INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED, CONCURRENT_TRANSACTIONS,
//! INVALID_TXN_STATE) are reported for every partition. Not implemented:
//! v4+ (broker-to-broker batches and `verify_only`, KIP-890), internal
//! topics as transaction members.

use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::messages::{AddPartitionsToTxnRequest, AddPartitionsToTxnResponse};

use super::{HandlerOutput, RequestContext};
use crate::coordinator::Pending;
use crate::error::{ErrorCode, TxnError, NONE};

pub const VERSIONS: (i16, i16) = (0, 3);

pub async fn handle(
    ctx: RequestContext,
    req: AddPartitionsToTxnRequest,
) -> HandlerOutput<AddPartitionsToTxnResponse> {
    let state = &ctx.state;
    let requested: Vec<(String, i32)> = req
        .v3_and_below_topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(|p| (t.name.to_string(), *p)))
        .collect();
    let unknown = |topic: &str, p: i32| {
        state
            .metadata
            .topic(topic)
            .is_none_or(|t| t.internal || !(0..t.partitions).contains(&p))
    };
    let unknown_partitions: Vec<(String, i32)> = requested
        .iter()
        .filter(|(t, p)| unknown(t, *p))
        .cloned()
        .collect();
    let pending = if !unknown_partitions.is_empty() {
        Pending::failed(TxnError::OperationNotAttempted)
    } else {
        state.txns.add_partitions(
            req.v3_and_below_transactional_id.as_str(),
            req.v3_and_below_producer_id.0,
            req.v3_and_below_producer_epoch,
            &requested,
        )
    };
    HandlerOutput::Pending(Box::pin(async move {
        let error = pending.wait().await.err();
        if let Some(e) = &error {
            tracing::debug!(error = %e, "AddPartitionsToTxn refused");
        }
        let code = |topic: &str, p: i32| match &error {
            None => NONE,
            Some(TxnError::OperationNotAttempted)
                if unknown_partitions
                    .iter()
                    .any(|(t, q)| t == topic && *q == p) =>
            {
                TxnError::UnknownTopicOrPartition.code()
            }
            Some(e) => e.code(),
        };
        let results = req
            .v3_and_below_topics
            .iter()
            .map(|t| {
                let partitions = t
                    .partitions
                    .iter()
                    .map(|p| {
                        AddPartitionsToTxnPartitionResult::default()
                            .with_partition_index(*p)
                            .with_partition_error_code(code(t.name.as_str(), *p))
                    })
                    .collect();
                AddPartitionsToTxnTopicResult::default()
                    .with_name(t.name.clone())
                    .with_results_by_partition(partitions)
            })
            .collect();
        AddPartitionsToTxnResponse::default().with_results_by_topic_v3_and_below(results)
    }))
}
