//! Produce (key 0), v3–v13.
//!
//! acks 0 (no response), 1 and -1 (both answered once the batch is in the
//! log; there are no followers to wait for; under `--fsync always` once it is
//! fsynced too). Each partition's batch goes through the partition layer's
//! one append path ([`crate::partition::Partitions::produce`]), which holds
//! every check (see `partition/validator.rs`: one v2 batch, CRC, size
//! against `max.message.bytes`, timestamps, compression vs the request
//! version, keys on compacted topics, transactional batches vs AddPartitionsToTxn,
//! idempotence). v13 names topics by id. Compacted topics' keyless records
//! are INVALID_RECORD with the record indexes in `record_errors`.
//! A producer over its `producer_byte_rate` quota has its batches
//! appended all the same and gets `throttle_time_ms` (see `quota/`).

use std::sync::Arc;

use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use kafka_protocol::protocol::StrBytes;

use super::{HandlerOutput, RequestContext};
use crate::config::FsyncMode;
use crate::error::{ErrorCode, PartitionError};
use crate::metadata::client_quotas::QuotaKind;
use crate::partition::validator::check_acks;
use crate::partition::{AppendInfo, ProducedBatch};
use crate::quota::QuotaClient;

pub const VERSIONS: (i16, i16) = (3, 13);

pub async fn handle(ctx: RequestContext, req: ProduceRequest) -> HandlerOutput<ProduceResponse> {
    let state = &ctx.state;
    let now = state.clock.now_ms();
    let wait_for_fsync = req.acks != 0 && state.config.fsync == FsyncMode::Always;
    // (topic index, partition index, partition, offset that must be durable)
    let mut pending_fsync = Vec::new();
    let mut responses = Vec::with_capacity(req.topic_data.len());
    for (ti, topic) in req.topic_data.iter().enumerate() {
        let meta = if ctx.api_version >= 13 {
            state
                .metadata
                .topic_by_id(&topic.topic_id)
                .ok_or(PartitionError::UnknownTopicId)
        } else {
            state
                .metadata
                .topic(topic.name.as_str())
                .ok_or(PartitionError::UnknownTopicOrPartition)
        };
        let mut partition_responses = Vec::with_capacity(topic.partition_data.len());
        for (pi, p) in topic.partition_data.iter().enumerate() {
            let produced = ProducedBatch {
                records: p.records.as_deref(),
                produce_version: ctx.api_version,
            };
            let outcome = check_acks(req.acks).and_then(|()| match &meta {
                Ok(meta) => state
                    .partitions
                    .produce(meta, p.index, produced, &state.txns, now),
                Err(PartitionError::UnknownTopicId) => Err(PartitionError::UnknownTopicId),
                Err(_) => Err(PartitionError::UnknownTopicOrPartition),
            });
            if let (true, Ok((partition, info))) = (wait_for_fsync, &outcome) {
                pending_fsync.push((ti, pi, Arc::clone(partition), info.end_offset));
            }
            partition_responses.push(partition_response(p.index, outcome.map(|(_, info)| info)));
        }
        responses.push(
            TopicProduceResponse::default()
                .with_name(topic.name.clone())
                .with_topic_id(topic.topic_id)
                .with_partition_responses(partition_responses),
        );
    }
    // Kafka appends first, then throttles: the request's bytes count
    // against the producer's quota, and a producer over it is told how
    // long to back off (and its connection is muted that long).
    let throttle = state.quotas.record(
        state.metadata.client_quotas(),
        QuotaKind::Produce,
        QuotaClient::of(&ctx.session, ctx.client_id.as_deref()),
        ctx.request_bytes as f64,
    );
    if req.acks == 0 {
        ctx.session.throttle_for(throttle);
        return HandlerOutput::NoResponse;
    }
    let response = ProduceResponse::default()
        .with_responses(responses)
        .with_throttle_time_ms(throttle);
    if pending_fsync.is_empty() {
        return HandlerOutput::Respond(response);
    }
    // The batches are in the log, in request order; the answer waits for
    // their fsync so that nothing is acknowledged that a crash could lose.
    // They are registered with the broker's flusher now, not when this
    // reply's turn to be sent comes: the requests in flight on every
    // connection share one filesystem commit, whichever partitions they
    // wrote to (librdkafka sends one partition per request).
    let durable = state.partitions.flusher.durable(
        pending_fsync
            .iter()
            .map(|(_, _, p, end)| (Arc::clone(p), *end))
            .collect(),
    );
    HandlerOutput::Pending(Box::pin(async move {
        let mut response = response;
        let outcomes = durable.await;
        for ((ti, pi, _, _), outcome) in pending_fsync.into_iter().zip(outcomes) {
            if let Err(e) = outcome {
                if let Some(r) = response
                    .responses
                    .get_mut(ti)
                    .and_then(|t| t.partition_responses.get_mut(pi))
                {
                    *r = partition_response(r.index, Err(e));
                }
            }
        }
        response
    }))
}

fn partition_response(
    index: i32,
    outcome: Result<AppendInfo, PartitionError>,
) -> PartitionProduceResponse {
    let resp = PartitionProduceResponse::default().with_index(index);
    match outcome {
        Ok(info) => resp
            .with_base_offset(info.base_offset)
            .with_log_append_time_ms(info.log_append_time)
            .with_log_start_offset(info.log_start_offset),
        Err(e) => {
            tracing::debug!(partition = index, error = %e, "produce refused");
            let record_errors = match &e {
                PartitionError::KeylessRecordsInCompactedTopic { indexes } => indexes
                    .iter()
                    .map(|&i| {
                        BatchIndexAndErrorMessage::default()
                            .with_batch_index(i)
                            .with_batch_index_error_message(Some(StrBytes::from_static_str(
                                "Compacted topic cannot accept message without key",
                            )))
                    })
                    .collect(),
                _ => Vec::new(),
            };
            resp.with_error_code(e.code())
                .with_record_errors(record_errors)
                .with_error_message(Some(StrBytes::from_string(e.to_string())))
                .with_base_offset(-1)
                .with_log_append_time_ms(-1)
                .with_log_start_offset(-1)
        }
    }
}
