//! Produce (key 0), v3–v13.
//!
//! acks 0 (no response), 1 and -1 (both answered once the batch is in the
//! log; there are no followers to wait for). Each partition must carry
//! exactly one v2 record batch, as Kafka requires since v3. The batch is
//! validated (framing, CRC-32C, offsets vs record count, size against
//! `max.message.bytes`, timestamps against `message.timestamp.*.max.ms`),
//! given its offsets and stored as it came, or stamped with broker time for
//! `message.timestamp.type=LogAppendTime` topics. v13 names topics by id.
//! Batches of idempotent producers are checked for sequence and epoch by the
//! partition's producer state (see `txn::producer_state`); a retried
//! duplicate is answered with its original offsets. A transactional batch
//! must come from a producer whose open transaction holds the partition
//! (AddPartitionsToTxn first), or it is INVALID_TXN_STATE (KIP-890 part 1).
//! Compacted topics refuse keyless records (INVALID_RECORD with the
//! record indexes in `record_errors`; uncompressed batches only).

use std::borrow::Cow;
use std::sync::Arc;

use kafka_protocol::messages::produce_request::PartitionProduceData;
use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use kafka_protocol::protocol::StrBytes;
use sluice_protocol::records;

use crate::config::FsyncMode;
use crate::dispatch::{HandlerOutput, RequestContext};
use crate::error::{ErrorCode, PartitionError};
use crate::metadata::TopicMeta;
use crate::partitions::{AppendInfo, Partition};
use crate::BrokerState;

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
            let outcome = if !matches!(req.acks, -1..=1) {
                Err(PartitionError::InvalidRequiredAcks(req.acks))
            } else {
                match &meta {
                    Ok(meta) => append(state, meta, p, now, ctx.api_version),
                    Err(PartitionError::UnknownTopicId) => Err(PartitionError::UnknownTopicId),
                    Err(_) => Err(PartitionError::UnknownTopicOrPartition),
                }
            };
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
    if req.acks == 0 {
        return HandlerOutput::NoResponse;
    }
    let response = ProduceResponse::default().with_responses(responses);
    if pending_fsync.is_empty() {
        return HandlerOutput::Respond(response);
    }
    // The batches are in the log, in request order; the answer waits for
    // their fsync so that nothing is acknowledged that a crash could lose.
    // They are registered with the broker's flusher now, not when this
    // reply's turn to be sent comes: the requests in flight on every
    // connection share one filesystem commit, whichever partitions they
    // wrote to (librdkafka sends one partition per request).
    let durable = state.partitions.group_commit.durable(
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

fn append(
    state: &BrokerState,
    meta: &Arc<TopicMeta>,
    data: &PartitionProduceData,
    now: i64,
    version: i16,
) -> Result<(Arc<Partition>, AppendInfo), PartitionError> {
    // Only the broker writes its internal topics (__consumer_offsets, ...).
    if meta.internal {
        return Err(PartitionError::InternalTopic(meta.name.clone()));
    }
    let partition = state
        .partitions
        .get(&meta.name, data.index)
        .ok_or(PartitionError::UnknownTopicOrPartition)?;
    let records = data
        .records
        .as_ref()
        .filter(|r| !r.is_empty())
        .ok_or_else(|| {
            PartitionError::InvalidRecord("a produce request must carry one record batch".into())
        })?;
    let max_message_bytes = topic_number(state, meta, "max.message.bytes").unwrap_or(i64::MAX);
    // A batch that large is refused before its CRC is computed. (More than
    // one batch is refused below anyway, so the whole input is the batch.)
    if records.len() as i64 > max_message_bytes {
        return Err(PartitionError::MessageTooLarge {
            size: records.len(),
            max: max_message_bytes as usize,
        });
    }
    let batches = records::split_batches(records)?;
    let [batch] = batches.as_slice() else {
        return Err(PartitionError::InvalidRecord(format!(
            "a produce request must carry exactly one record batch per partition, got {}",
            batches.len()
        )));
    };
    let header = &batch.header;
    if header.is_control() {
        return Err(PartitionError::InvalidRecord(
            "clients may not write control batches".into(),
        ));
    }
    if header.is_transactional() {
        // KIP-890 part 1: a transactional batch must belong to an open
        // transaction that holds this partition, or it could leave the
        // partition's last stable offset stuck behind a transaction that
        // never gets a marker.
        state
            .txns
            .verify(
                header.producer_id,
                header.producer_epoch,
                &meta.name,
                data.index,
            )
            .map_err(|e| crate::error::produce_txn_error(header.producer_id, e))?;
    }
    if header.compression() == records::Compression::None
        && topic_config(state, meta, "cleanup.policy").is_some_and(|p| p.contains("compact"))
    {
        check_keys(batch.bytes)?;
    }
    if header.compression() == records::Compression::Zstd && version < 7 {
        return Err(PartitionError::UnsupportedCompressionType(
            "zstd needs Produce v7 or later".into(),
        ));
    }
    let log_append_time =
        topic_config(state, meta, "message.timestamp.type") == Some("LogAppendTime");
    let mut header = *header;
    let mut bytes = Cow::Borrowed(batch.bytes);
    if !log_append_time {
        // Kafka takes a batch's max timestamp from its records, not from the
        // header (sarama, for one, leaves the header's at -1). Only then is
        // the batch copied (its CRC changes); otherwise the partition writes
        // the records straight from the request. LogAppendTime replaces the
        // max timestamp anyway.
        let max_timestamp = record_max_timestamp(batch);
        if max_timestamp != header.max_timestamp {
            records::set_max_timestamp(bytes.to_mut(), max_timestamp)?;
            header.max_timestamp = max_timestamp;
        }
        check_timestamps(
            state,
            meta,
            header.base_timestamp,
            header.max_timestamp,
            now,
        )?;
    }
    let info = partition.append(&bytes, &header, log_append_time.then_some(now))?;
    Ok((partition, info))
}

/// The largest record timestamp: exact for uncompressed batches; for
/// compressed ones (not decompressed) the larger of the header's max and
/// first timestamps.
fn record_max_timestamp(batch: &records::BatchRef<'_>) -> i64 {
    let header = &batch.header;
    match batch.record_max_timestamp {
        Some(max) => max,
        None => header.max_timestamp.max(header.base_timestamp),
    }
}

/// Compaction keeps the latest record of each key, so a compacted topic
/// refuses records without one (Kafka's log validator): the partition gets
/// INVALID_RECORD with the index of each keyless record, and nothing of the
/// batch is written. Only uncompressed batches are checked (compressed ones
/// are stored without being decompressed).
fn check_keys(batch: &[u8]) -> Result<(), PartitionError> {
    let Ok(iter) = records::records(batch) else {
        return Ok(()); // validated already; cannot happen
    };
    let indexes: Vec<i32> = iter
        .enumerate()
        .filter(|(_, r)| r.as_ref().is_ok_and(|r| r.key.is_none()))
        .map(|(i, _)| i32::try_from(i).unwrap_or(i32::MAX))
        .collect();
    if indexes.is_empty() {
        Ok(())
    } else {
        Err(PartitionError::KeylessRecordsInCompactedTopic { indexes })
    }
}

/// CreateTime records must lie within `message.timestamp.before.max.ms`
/// before and `message.timestamp.after.max.ms` after the broker's clock.
fn check_timestamps(
    state: &BrokerState,
    meta: &TopicMeta,
    first: i64,
    max: i64,
    now: i64,
) -> Result<(), PartitionError> {
    let before = topic_number(state, meta, "message.timestamp.before.max.ms").unwrap_or(i64::MAX);
    let after = topic_number(state, meta, "message.timestamp.after.max.ms").unwrap_or(i64::MAX);
    if max > now.saturating_add(after) {
        return Err(PartitionError::InvalidTimestamp { timestamp: max });
    }
    if first >= 0 && first < now.saturating_sub(before) {
        return Err(PartitionError::InvalidTimestamp { timestamp: first });
    }
    Ok(())
}

fn topic_config<'a>(state: &'a BrokerState, meta: &'a TopicMeta, key: &str) -> Option<&'a str> {
    meta.config(key, &state.topic_defaults)
}

fn topic_number(state: &BrokerState, meta: &TopicMeta, key: &str) -> Option<i64> {
    topic_config(state, meta, key)?.parse().ok()
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
