//! Fetch (key 1), v4–v18.
//!
//! Sessionless: a request with session id 0 gets a full response and no
//! session is created (we answer session id 0, which KIP-227 allows), so
//! every client works in full-fetch mode; a non-zero session id gets
//! FETCH_SESSION_ID_NOT_FOUND. Long poll: when fewer than `min_bytes` are
//! ready the response waits up to `max_wait_ms`, woken by appends to the
//! fetched partitions (not by polling), or at once when the broker begins to
//! shut down. `partition_max_bytes` and
//! `max_bytes` are honoured except that the first batch found is always
//! returned whole (KIP-74); a fetch from the middle of a batch returns the
//! whole batch. v13+ names topics by id. read_committed (isolation level 1)
//! reads stop at the last stable offset and carry the aborted transactions
//! that overlap the range; read_uncommitted gets no aborted list (null).
//! A consumer over its `consumer_byte_rate` quota gets an empty response
//! with `throttle_time_ms` (KIP-219; the bytes it would have got are not
//! counted), and asks for no more than its quota allows in one window.
//! Not implemented: incremental fetch sessions, follower fetching, racks.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::fetch_response::{
    AbortedTransaction, FetchableTopicResponse, PartitionData,
};
use kafka_protocol::messages::{FetchRequest, FetchResponse, ProducerId, TopicName};
use kafka_protocol::protocol::Encodable;
use tokio::sync::Notify;
use tokio::time::Instant;
use uuid::Uuid;

use super::{HandlerOutput, RequestContext};
use crate::error::{self, ErrorCode, PartitionError};
use crate::metadata::client_quotas::QuotaKind;
use crate::partition::Partition;
use crate::quota::QuotaClient;

pub const VERSIONS: (i16, i16) = (4, 18);

/// isolation_level 1 = read_committed.
const READ_COMMITTED: i8 = 1;

/// Upper bound on a long poll, whatever the client asks.
const MAX_WAIT_CAP: Duration = Duration::from_secs(60);

struct Target {
    index: i32,
    fetch_offset: i64,
    partition_max_bytes: usize,
    partition: Result<Arc<Partition>, i16>,
}

struct TopicTarget {
    name: TopicName,
    id: Uuid,
    partitions: Vec<Target>,
}

struct Pass {
    topics: Vec<FetchableTopicResponse>,
    bytes: usize,
    has_error: bool,
}

pub async fn handle(ctx: RequestContext, req: FetchRequest) -> HandlerOutput<FetchResponse> {
    if req.session_id != 0 {
        return HandlerOutput::Respond(
            FetchResponse::default().with_error_code(error::request::fetch_session_id_not_found()),
        );
    }
    let targets = resolve(&ctx, &req);
    let mut max_bytes = usize::try_from(req.max_bytes).unwrap_or(0);
    let quota = FetchQuota::of(&ctx);
    if let Some(q) = &quota {
        max_bytes = q.cap(max_bytes);
    }
    let min_bytes = usize::try_from(req.min_bytes).unwrap_or(0);
    let wait = Duration::from_millis(u64::try_from(req.max_wait_ms).unwrap_or(0)).min(MAX_WAIT_CAP);
    let committed = req.isolation_level == READ_COMMITTED;

    let first = read_pass(&targets, max_bytes, committed);
    if wait.is_zero() || first.has_error || first.bytes >= min_bytes || targets.is_empty() {
        return HandlerOutput::Respond(throttled(quota, response(first), ctx.api_version));
    }
    let version = ctx.api_version;
    let deadline = Instant::now() + wait;
    let state = Arc::clone(&ctx.state);
    HandlerOutput::Pending(Box::pin(async move {
        let waiter = Arc::new(Notify::new());
        loop {
            for t in targets.iter().flat_map(|t| &t.partitions) {
                if let Ok(p) = &t.partition {
                    p.register_waiter(&waiter);
                }
            }
            // Read after registering, so an append in between is not missed.
            let pass = read_pass(&targets, max_bytes, committed);
            // On shutdown a parked fetch answers with what there is now.
            if pass.has_error || pass.bytes >= min_bytes || state.partitions.shutting_down() {
                return throttled(quota, response(pass), version);
            }
            if tokio::time::timeout_at(deadline, waiter.notified())
                .await
                .is_err()
            {
                let pass = read_pass(&targets, max_bytes, committed);
                return throttled(quota, response(pass), version);
            }
        }
    }))
}

fn resolve(ctx: &RequestContext, req: &FetchRequest) -> Vec<TopicTarget> {
    let state = &ctx.state;
    req.topics
        .iter()
        .map(|topic| {
            let meta = if ctx.api_version >= 13 {
                state
                    .metadata
                    .topic_by_id(&topic.topic_id)
                    .ok_or(PartitionError::UnknownTopicId)
            } else {
                state
                    .metadata
                    .topic(topic.topic.as_str())
                    .ok_or(PartitionError::UnknownTopicOrPartition)
            };
            let partitions = topic
                .partitions
                .iter()
                .map(|p| {
                    let partition = match &meta {
                        Err(e) => Err(e.code()),
                        Ok(meta) => state
                            .partitions
                            .leader(meta, p.partition, p.current_leader_epoch)
                            .map_err(|e| e.code()),
                    };
                    Target {
                        index: p.partition,
                        fetch_offset: p.fetch_offset,
                        partition_max_bytes: usize::try_from(p.partition_max_bytes).unwrap_or(0),
                        partition,
                    }
                })
                .collect();
            TopicTarget {
                name: topic.topic.clone(),
                id: topic.topic_id,
                partitions,
            }
        })
        .collect()
}

/// Reads every target once within the byte budgets.
fn read_pass(targets: &[TopicTarget], max_bytes: usize, committed: bool) -> Pass {
    let mut remaining = max_bytes;
    // KIP-74: until something is returned, one whole batch is returned even
    // if it is larger than the limits, so that consumers always progress.
    let mut min_one = true;
    let mut pass = Pass {
        topics: Vec::with_capacity(targets.len()),
        bytes: 0,
        has_error: false,
    };
    for topic in targets {
        let mut partitions = Vec::with_capacity(topic.partitions.len());
        for t in &topic.partitions {
            let data = PartitionData::default().with_partition_index(t.index);
            let partition = match &t.partition {
                Ok(p) => p,
                Err(code) => {
                    pass.has_error = true;
                    partitions.push(error_data(data, *code));
                    continue;
                }
            };
            let marks = partition.watermarks();
            let limit = t.partition_max_bytes.min(remaining);
            let records = if limit == 0 && !min_one {
                Ok((Bytes::new(), committed.then(Vec::new)))
            } else if committed {
                partition
                    .read_committed(t.fetch_offset, limit)
                    .map(|(records, aborted)| (records, Some(aborted)))
            } else {
                partition.read(t.fetch_offset, limit).map(|r| (r, None))
            };
            match records {
                Ok((mut records, aborted)) => {
                    if !min_one && records.len() > limit {
                        records = Bytes::new();
                    }
                    if !records.is_empty() {
                        min_one = false;
                        remaining = remaining.saturating_sub(records.len());
                        pass.bytes += records.len();
                    }
                    partitions.push(
                        data.with_high_watermark(marks.high_watermark)
                            .with_last_stable_offset(marks.last_stable_offset)
                            .with_log_start_offset(marks.log_start_offset)
                            .with_aborted_transactions(aborted.map(|list| {
                                list.iter()
                                    .map(|a| {
                                        AbortedTransaction::default()
                                            .with_producer_id(ProducerId(a.producer_id))
                                            .with_first_offset(a.first_offset)
                                    })
                                    .collect()
                            }))
                            .with_records(Some(records)),
                    );
                }
                Err(e) => {
                    pass.has_error = true;
                    tracing::debug!(topic = %partition.topic, partition = t.index, error = %e, "fetch refused");
                    partitions.push(error_data(data, e.code()));
                }
            }
        }
        pass.topics.push(
            FetchableTopicResponse::default()
                .with_topic(topic.name.clone())
                .with_topic_id(topic.id)
                .with_partitions(partitions),
        );
    }
    pass
}

fn error_data(data: PartitionData, code: i16) -> PartitionData {
    data.with_error_code(code)
        .with_high_watermark(-1)
        .with_last_stable_offset(-1)
        .with_log_start_offset(-1)
        .with_aborted_transactions(None)
        .with_records(Some(Bytes::new()))
}

fn response(pass: Pass) -> FetchResponse {
    FetchResponse::default()
        .with_session_id(0)
        .with_responses(pass.topics)
}

/// The fetching client's `consumer_byte_rate` quota, when one applies.
struct FetchQuota {
    state: Arc<crate::BrokerState>,
    session: Arc<crate::session::Session>,
    client_id: Option<String>,
}

impl FetchQuota {
    fn of(ctx: &RequestContext) -> Option<FetchQuota> {
        ctx.state
            .metadata
            .client_quotas()
            .enabled(QuotaKind::Fetch)
            .then(|| FetchQuota {
                state: Arc::clone(&ctx.state),
                session: Arc::clone(&ctx.session),
                client_id: ctx.client_id.clone(),
            })
    }

    fn client(&self) -> QuotaClient<'_> {
        QuotaClient::of(&self.session, self.client_id.as_deref())
    }

    /// `max_bytes` bounded by what the quota allows over one window span
    /// (Kafka's `getMaxValueInQuotaWindow`).
    fn cap(&self, max_bytes: usize) -> usize {
        let store = self.state.metadata.client_quotas();
        match self
            .state
            .quotas
            .max_value_in_window(store, QuotaKind::Fetch, self.client())
        {
            Some(most) if most < max_bytes as f64 => most as usize,
            _ => max_bytes,
        }
    }
}

/// Counts the response against the client's quota; over it, the client
/// gets an empty response with the throttle time instead, and the bytes
/// are taken back off its rate (they were not sent).
fn throttled(quota: Option<FetchQuota>, resp: FetchResponse, version: i16) -> FetchResponse {
    let Some(q) = quota else { return resp };
    let store = q.state.metadata.client_quotas();
    let size = resp.compute_size(version).unwrap_or(0) as f64;
    let throttle = q
        .state
        .quotas
        .record(store, QuotaKind::Fetch, q.client(), size);
    if throttle == 0 {
        return resp;
    }
    q.state
        .quotas
        .unrecord(store, QuotaKind::Fetch, q.client(), size);
    FetchResponse::default()
        .with_session_id(0)
        .with_throttle_time_ms(throttle)
}
