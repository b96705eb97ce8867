//! DescribeTransactions (key 65), v0.
//!
//! State, timeout, start time, producer id and epoch, and the partitions of
//! the open transaction of each transactional id; an unknown id gets
//! TRANSACTIONAL_ID_NOT_FOUND.

use std::collections::BTreeMap;

use kafka_protocol::messages::describe_transactions_response::{TopicData, TransactionState};
use kafka_protocol::messages::{
    DescribeTransactionsRequest, DescribeTransactionsResponse, ProducerId, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::{HandlerOutput, RequestContext};
use crate::error::ErrorCode;

pub const VERSIONS: (i16, i16) = (0, 0);

pub async fn handle(
    ctx: RequestContext,
    req: DescribeTransactionsRequest,
) -> HandlerOutput<DescribeTransactionsResponse> {
    let states = req
        .transactional_ids
        .into_iter()
        .map(|id| {
            let m = match crate::admin::describe_transaction(&ctx.state, id.as_str()) {
                Ok(m) => m,
                Err(e) => {
                    return TransactionState::default()
                        .with_transactional_id(id)
                        .with_error_code(e.code())
                        .with_transaction_state(StrBytes::default())
                        .with_producer_id(ProducerId(-1))
                        .with_producer_epoch(-1)
                        .with_transaction_start_time_ms(-1)
                }
            };
            let mut topics: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
            for (topic, p) in &m.partitions {
                topics.entry(topic).or_default().push(*p);
            }
            let topics = topics
                .into_iter()
                .map(|(t, partitions)| {
                    TopicData::default()
                        .with_topic(TopicName(StrBytes::from_string(t.to_string())))
                        .with_partitions(partitions)
                })
                .collect();
            TransactionState::default()
                .with_transactional_id(id)
                .with_transaction_state(StrBytes::from_string(m.state))
                .with_transaction_timeout_ms(m.timeout_ms)
                .with_transaction_start_time_ms(m.start_time_ms)
                .with_producer_id(ProducerId(m.producer_id))
                .with_producer_epoch(m.producer_epoch)
                .with_topics(topics)
        })
        .collect();
    HandlerOutput::Respond(DescribeTransactionsResponse::default().with_transaction_states(states))
}
