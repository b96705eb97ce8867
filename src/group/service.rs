//! [`Groups`]: the coordinators of a running broker, one per partition of
//! `__consumer_offsets`, each behind its own lock (like Kafka's coordinator
//! shards), with the partition it writes to.
//!
//! Ownership: a shard's lock is held for a whole operation, including the
//! appends it produces and what follows them, so that records reach the
//! log in the order the state changed. Only then is it released; waiting
//! for an fsync happens afterwards, outside the lock. Lock order: shard,
//! then the partition's log (never the other way).
//!
//! Requests whose answer may come later (JoinGroup, SyncGroup, commits and
//! deletions that wait for their records) register a oneshot channel under
//! a [`RequestId`]; the coordinator's answers are delivered through it.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use sluice_protocol::records::{self, builder::BatchBuilder, ControlType};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use super::api::{Output, Reply, RequestId};
use super::records::GroupRecord;
use super::{partition_for, wall_clock_ms, Coordinator, GroupConfig, OFFSETS_TOPIC};
use crate::config::{Config, FsyncMode};
use crate::error::{GroupError, PartitionError, TopicError};
use crate::metadata::Metadata;
use crate::partition::{Partition, Partitions};
use crate::BrokerState;

/// How much of `__consumer_offsets` startup reads at a time.
const REPLAY_CHUNK: usize = 1 << 20;
/// How often deadlines are checked.
const TICK: Duration = Duration::from_millis(100);

struct Shard {
    coordinator: Coordinator,
    partition: Arc<Partition>,
    waiters: HashMap<RequestId, oneshot::Sender<Reply>>,
}

/// The group coordinators of the broker.
pub struct Groups {
    shards: Vec<Mutex<Shard>>,
    next_request: AtomicU64,
    closed: AtomicBool,
    /// `--fsync always`: answers that depend on written records wait for
    /// their fsync.
    wait_for_fsync: bool,
}

/// An answer to come.
pub struct Pending {
    rx: oneshot::Receiver<Reply>,
    durable: Option<(Arc<Partition>, i64)>,
}

impl Pending {
    /// The answer, once given and (with `--fsync always`) once the records
    /// it depends on are durable. NOT_COORDINATOR if the coordinator went
    /// away or the fsync failed.
    pub async fn wait(self) -> Result<Reply, GroupError> {
        let reply = self.rx.await.map_err(|_| GroupError::NotCoordinator)?;
        if let Some((partition, end)) = self.durable {
            partition
                .make_durable(end)
                .await
                .map_err(|_| GroupError::NotCoordinator)?;
        }
        Ok(reply)
    }
}

/// Creates `__consumer_offsets` (internal, compacted, never deleted by
/// time or size) with `--offsets-topic-partitions` partitions if it does not
/// exist yet. An existing topic keeps its partition count.
pub fn ensure_offsets_topic(metadata: &Metadata, config: &Config) -> Result<(), TopicError> {
    // Kafka's offsets.topic.segment.bytes.
    crate::metadata::ensure_internal_topic(
        metadata,
        OFFSETS_TOPIC,
        config.offsets_topic_partitions,
        "104857600",
    )
}

impl From<&Config> for GroupConfig {
    fn from(c: &Config) -> Self {
        GroupConfig {
            initial_rebalance_delay_ms: i64::try_from(c.group_initial_rebalance_delay_ms)
                .unwrap_or(i64::MAX),
            min_session_timeout_ms: c.group_min_session_timeout_ms,
            max_session_timeout_ms: c.group_max_session_timeout_ms,
            offsets_retention_ms: i64::try_from(c.offsets_retention_minutes)
                .unwrap_or(i64::MAX)
                .saturating_mul(60_000),
            ..GroupConfig::default()
        }
    }
}

impl Groups {
    /// Opens the coordinators over the (already opened) partitions of
    /// `__consumer_offsets`, replaying them.
    pub fn load(
        config: &Config,
        metadata: &Metadata,
        partitions: &Partitions,
    ) -> Result<Groups, PartitionError> {
        let count = metadata.topic(OFFSETS_TOPIC).map_or(0, |t| t.partitions);
        let opened = (0..count)
            .map(|i| partitions.get(OFFSETS_TOPIC, i))
            .collect::<Option<Vec<_>>>()
            .ok_or(PartitionError::UnknownTopicOrPartition)?;
        Groups::open(
            GroupConfig::from(config),
            opened,
            config.fsync == FsyncMode::Always,
            wall_clock_ms(),
        )
    }

    /// Loads every group from `partitions` (those of `__consumer_offsets`,
    /// in index order) by replaying their records.
    pub fn open(
        config: GroupConfig,
        partitions: Vec<Arc<Partition>>,
        wait_for_fsync: bool,
        now: i64,
    ) -> Result<Groups, PartitionError> {
        let mut shards = Vec::with_capacity(partitions.len());
        for partition in partitions {
            let mut coordinator = Coordinator::new(config.clone());
            let applied = replay(&partition, &mut coordinator)?;
            coordinator.finish_load(now);
            tracing::info!(
                partition = partition.index,
                records = applied,
                "group coordinator loaded"
            );
            shards.push(Mutex::new(Shard {
                coordinator,
                partition,
                waiters: HashMap::new(),
            }));
        }
        Ok(Groups {
            shards,
            next_request: AtomicU64::new(1),
            closed: AtomicBool::new(false),
            wait_for_fsync,
        })
    }

    fn shard(&self, group_id: &str) -> Option<MutexGuard<'_, Shard>> {
        let index = partition_for(group_id, self.shards.len());
        self.shards.get(index).map(lock_ticked)
    }

    /// Runs an operation whose answer goes through the output.
    pub fn call(
        &self,
        group_id: &str,
        op: impl FnOnce(&mut Coordinator, RequestId) -> Output,
    ) -> Pending {
        let (tx, rx) = oneshot::channel();
        let mut pending = Pending { rx, durable: None };
        if self.closed.load(Ordering::Acquire) {
            return pending; // tx dropped: NOT_COORDINATOR
        }
        let Some(mut shard) = self.shard(group_id) else {
            return pending;
        };
        let request = self.next_request.fetch_add(1, Ordering::Relaxed);
        shard.waiters.insert(request, tx);
        let out = op(&mut shard.coordinator, request);
        if let Some(end) = drive(&mut shard, out) {
            if self.wait_for_fsync {
                pending.durable = Some((Arc::clone(&shard.partition), end));
            }
        }
        pending
    }

    /// Runs an operation with an immediate result (and maybe side effects).
    pub fn run<T>(
        &self,
        group_id: &str,
        op: impl FnOnce(&mut Coordinator) -> (T, Output),
    ) -> Result<T, GroupError> {
        let mut shard = self
            .shard(group_id)
            .ok_or(GroupError::CoordinatorNotAvailable)?;
        let (result, out) = op(&mut shard.coordinator);
        drive(&mut shard, out);
        Ok(result)
    }

    /// Reads one group's coordinator.
    pub fn read<T>(
        &self,
        group_id: &str,
        op: impl FnOnce(&Coordinator) -> T,
    ) -> Result<T, GroupError> {
        let shard = self
            .shard(group_id)
            .ok_or(GroupError::CoordinatorNotAvailable)?;
        Ok(op(&shard.coordinator))
    }

    /// Collects from every coordinator, shard by shard.
    pub fn collect<T>(&self, mut op: impl FnMut(&Coordinator) -> Vec<T>) -> Vec<T> {
        let mut all = Vec::new();
        for shard in &self.shards {
            let shard = lock_ticked(shard);
            all.extend(op(&shard.coordinator));
        }
        all
    }

    /// Drives every deadline passed by `now`.
    pub fn tick(&self, now: i64) {
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
            let out = shard.coordinator.tick(now);
            drive(&mut shard, out);
        }
    }

    /// Writes `producer_id`'s transaction marker to partition `index` of
    /// `__consumer_offsets` and commits or drops the offsets it committed
    /// there (the transaction coordinator's last step). Returns the
    /// partition and the offset after the marker, for fsync.
    pub fn complete_transaction(
        &self,
        index: i32,
        producer_id: i64,
        epoch: i16,
        control: ControlType,
        now: i64,
    ) -> Result<(Arc<Partition>, i64), PartitionError> {
        let shard = usize::try_from(index)
            .ok()
            .and_then(|i| self.shards.get(i))
            .ok_or(PartitionError::UnknownTopicOrPartition)?;
        let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
        let info = shard
            .partition
            .append_marker(producer_id, epoch, control, 0, now)?;
        shard
            .coordinator
            .complete_txn(producer_id, control == ControlType::Commit);
        Ok((Arc::clone(&shard.partition), info.end_offset))
    }

    /// The partition of `__consumer_offsets` that holds `group_id`.
    pub fn partition_of(&self, group_id: &str) -> i32 {
        i32::try_from(partition_for(group_id, self.shards.len())).unwrap_or(0)
    }

    /// Stops parking requests and answers every parked one with
    /// NOT_COORDINATOR, so that connections can close at shutdown.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
            let out = shard.coordinator.fail_all_waiting();
            drive(&mut shard, out);
            shard.waiters.clear();
        }
    }
}

/// Locks a shard and first fires every deadline that has passed (a member
/// whose session ended, a rebalance that timed out): Kafka's timers fire at
/// their deadline, while the sweep runs only every [`TICK`], so a request
/// right after a deadline must not see the group as it was before it.
fn lock_ticked(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    // An operation never leaves a shard half-changed across a panic
    // point that matters more than a lost answer; keep serving.
    let mut guard = shard.lock().unwrap_or_else(|e| e.into_inner());
    let out = guard.coordinator.tick(wall_clock_ms());
    drive(&mut guard, out);
    guard
}

/// Writes an output's records and delivers its answers, following up on
/// each append. Returns the end offset of the last record written.
fn drive(shard: &mut Shard, out: Output) -> Option<i64> {
    let now = wall_clock_ms();
    let mut end = None;
    deliver(shard, out.replies);
    let mut queue: VecDeque<_> = out.appends.into();
    while let Some(append) = queue.pop_front() {
        let ok = match append_records(&shard.partition, &append.records, append.producer, now) {
            Ok(offset) => {
                end = Some(offset);
                true
            }
            Err(e) => {
                tracing::error!(partition = shard.partition.index, error = %e,
                    "cannot write to __consumer_offsets");
                false
            }
        };
        let more = shard.coordinator.after_append(now, append, ok);
        deliver(shard, more.replies);
        queue.extend(more.appends);
    }
    end
}

fn deliver(shard: &mut Shard, replies: Vec<(RequestId, Reply)>) {
    for (request, reply) in replies {
        if let Some(tx) = shard.waiters.remove(&request) {
            // The client may be gone; nothing to do then.
            let _ = tx.send(reply);
        }
    }
}

/// Appends `records` as one uncompressed batch — transactional when a
/// producer is given (TxnOffsetCommit) — and returns the offset after it.
fn append_records(
    partition: &Partition,
    records: &[GroupRecord],
    producer: Option<(i64, i16)>,
    now: i64,
) -> Result<i64, PartitionError> {
    let mut builder = BatchBuilder::new();
    if let Some((producer_id, epoch)) = producer {
        builder = builder.producer(producer_id, epoch, -1).transactional(true);
    }
    for record in records {
        let (key, value) = record.encode();
        builder = builder.record(now, Some(&key), value.as_deref(), &[]);
    }
    let bytes = builder.build();
    let header = records::validate_batch(&bytes)?;
    let info = if producer.is_some() {
        partition.append_internal_transactional(&bytes, &header)?
    } else {
        partition.append(&bytes, &header, None)?
    };
    Ok(info.end_offset)
}

/// Feeds every record of `partition` to `coordinator`, in offset order.
/// Unreadable batches or records are skipped with a warning: a damaged
/// record loses that record, not the broker.
fn replay(partition: &Partition, coordinator: &mut Coordinator) -> Result<usize, PartitionError> {
    let marks = partition.watermarks();
    let mut next = marks.log_start_offset;
    let mut applied = 0;
    while next < marks.high_watermark {
        let chunk = match partition.read(next, REPLAY_CHUNK) {
            Ok(chunk) => chunk,
            // A damaged batch (logged by storage) loses its records, not the broker.
            Err(e) if e.resume_offset().is_some_and(|resume| resume > next) => {
                next = e.resume_offset().unwrap_or(next);
                continue;
            }
            Err(e) => return Err(e),
        };
        let before = next;
        let mut rest: &[u8] = &chunk;
        while !rest.is_empty() {
            let Ok(header) = records::parse_header(rest) else {
                break;
            };
            let Some(batch) = rest.get(..header.total_len()) else {
                break;
            };
            if header.last_offset() >= next {
                if header.is_control() {
                    // A transaction marker: TxnOffsetCommit offsets of that
                    // producer are committed or dropped, as when it was written.
                    if let Ok(Some(control)) = records::control_type(batch, &header) {
                        coordinator
                            .complete_txn(header.producer_id, control == ControlType::Commit);
                    }
                } else {
                    applied += replay_batch(batch, &header, next, coordinator);
                }
            }
            next = next.max(header.last_offset().saturating_add(1));
            rest = rest.get(header.total_len()..).unwrap_or_default();
        }
        if next <= before {
            tracing::warn!(
                partition = partition.index,
                offset = next,
                "cannot read __consumer_offsets past this offset; stopping the replay there"
            );
            break;
        }
    }
    Ok(applied)
}

fn replay_batch(
    batch: &[u8],
    header: &records::BatchHeader,
    from: i64,
    coordinator: &mut Coordinator,
) -> usize {
    let iter = match records::records(batch) {
        Ok(iter) => iter,
        Err(e) => {
            tracing::warn!(offset = header.base_offset, error = %e, "skipping unreadable batch");
            return 0;
        }
    };
    let mut applied = 0;
    for record in iter {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(offset = header.base_offset, error = %e, "skipping the rest of a batch");
                break;
            }
        };
        if header.base_offset + i64::from(record.offset_delta) < from {
            continue;
        }
        let Some(key) = record.key else { continue };
        match GroupRecord::decode(key, record.value) {
            Ok(Some(r)) if header.is_transactional() => {
                coordinator.apply_txn_record(header.producer_id, &r);
                applied += 1;
            }
            Ok(Some(r)) => {
                coordinator.apply_record(&r);
                applied += 1;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(offset = header.base_offset, error = %e,
                "skipping unreadable __consumer_offsets record"),
        }
    }
    applied
}

/// Starts the task that drives deadlines with the real clock until shutdown.
pub fn start_timer(state: &Arc<BrokerState>, shutdown: &watch::Receiver<bool>) -> JoinHandle<()> {
    let state = Arc::clone(state);
    let mut shutdown = shutdown.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.changed() => return,
            }
            state.groups.tick(wall_clock_ms());
        }
    })
}
