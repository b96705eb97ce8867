//! [`Transactions`]: the transaction coordinators of a running broker, one
//! per partition of `__transaction_state`, each behind its own lock, with
//! the partition it writes to.
//!
//! Ownership and order: a shard's lock is held for a whole operation —
//! state record, markers, completion record — so that the records of one
//! transactional id reach the log in the order its state changed. Lock
//! order: transaction shard, then a group shard (markers to
//! `__consumer_offsets`), then a partition's locks. Nothing locks in the
//! other direction. Waiting for fsync happens after the lock is released.
//!
//! Markers are written by this broker directly (there are no other
//! brokers to send WriteTxnMarkers to): to data partitions through
//! [`Partition::append_marker`], to `__consumer_offsets` through
//! [`crate::group::Groups::complete_transaction`], which also commits or
//! drops the transaction's offsets.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use sluice_protocol::records::{self, builder::BatchBuilder};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::coordinator::{EndPlan, InitPlan, TxnCoordinator};
use super::records::TxnRecord;
use super::state::TxnMetadata;
use crate::config::{Config, FsyncMode};
use crate::error::{PartitionError, TopicError, TxnError};
use crate::group::{partition_for, wall_clock_ms, OFFSETS_TOPIC};
use crate::metadata::Metadata;
use crate::partition::{Partition, Partitions};
use crate::BrokerState;

/// The internal topic holding transaction state.
pub const TXN_STATE_TOPIC: &str = "__transaction_state";

/// How much of `__transaction_state` startup reads at a time.
const REPLAY_CHUNK: usize = 1 << 20;
/// How often transaction timeouts are checked (Kafka's
/// `transaction.abort.timed.out.transaction.cleanup.interval.ms` is 10 s;
/// a shorter period keeps short test timeouts honest).
const TICK: Duration = Duration::from_millis(200);

struct Shard {
    coordinator: TxnCoordinator,
    partition: Arc<Partition>,
    /// Set when a write of this shard's could not be made durable: its
    /// state in memory is ahead of the disk (a retried EndTxn would find the
    /// transaction complete and acknowledge markers that may be lost), so
    /// the shard answers COORDINATOR_NOT_AVAILABLE until restart.
    untrusted: Arc<AtomicBool>,
}

/// Writes that must be durable before an answer goes out (`--fsync always`).
#[derive(Default)]
#[must_use]
pub struct Durable {
    writes: Vec<(Arc<Partition>, i64)>,
    shard_untrusted: Option<Arc<AtomicBool>>,
}

impl Durable {
    fn push(&mut self, shard: &Shard, partition: Arc<Partition>, end: i64) {
        self.writes.push((partition, end));
        self.shard_untrusted = Some(Arc::clone(&shard.untrusted));
    }

    /// [`Self::wait`], blocking (outside the request path).
    fn wait_blocking(self) -> Result<(), TxnError> {
        let mut seen = std::collections::HashSet::new();
        let parts: Vec<Arc<Partition>> = self
            .writes
            .iter()
            .filter(|(p, _)| seen.insert(Arc::as_ptr(p) as usize))
            .map(|(p, _)| Arc::clone(p))
            .collect();
        let failed = crate::partition::flush_many_now(&parts);
        if failed.is_empty() && self.writes.iter().all(|(p, end)| p.durable_to(*end)) {
            return Ok(());
        }
        if let Some(untrusted) = &self.shard_untrusted {
            untrusted.store(true, Ordering::Release);
        }
        tracing::error!(
            "a transaction write was not made durable; its coordinator stops until restart"
        );
        Err(TxnError::Storage(
            "transaction markers not made durable".into(),
        ))
    }

    /// Waits for every write's fsync; a failure is NOT_COORDINATOR, so the
    /// client retries rather than trusting a write that may be lost, and
    /// the shard stops coordinating until restart.
    pub async fn wait(self) -> Result<(), TxnError> {
        for (partition, end) in self.writes {
            if let Err(e) = partition.make_durable(end).await {
                if let Some(untrusted) = &self.shard_untrusted {
                    untrusted.store(true, Ordering::Release);
                }
                tracing::error!(error = %e,
                    "a transaction write was not made durable; its coordinator stops until restart");
                return Err(TxnError::Storage(e.to_string()));
            }
        }
        Ok(())
    }
}

/// An EndTxn under way: its writes to wait for, then (with `--fsync
/// always`) the Complete record to write.
#[must_use]
pub struct Ending {
    transactional_id: String,
    durable: Durable,
    complete: Option<EndPlan>,
}

impl Ending {
    /// Waits until the Prepare record and the markers are durable, then
    /// writes the Complete record.
    pub async fn finish(self, txns: &Transactions) -> Result<(), TxnError> {
        self.durable.wait().await?;
        match &self.complete {
            Some(plan) => txns.complete_end(&self.transactional_id, plan),
            None => Ok(()),
        }
    }
}

/// The transaction coordinators of the broker.
pub struct Transactions {
    shards: Vec<Mutex<Shard>>,
    wait_for_fsync: bool,
}

/// Creates `__transaction_state` (internal, compacted, kept forever) with
/// `--transaction-state-partitions` partitions if it does not exist yet.
pub fn ensure_state_topic(metadata: &Metadata, config: &Config) -> Result<(), TopicError> {
    // Kafka's transaction.state.log.segment.bytes.
    crate::metadata::ensure_internal_topic(
        metadata,
        TXN_STATE_TOPIC,
        config.transaction_state_partitions,
        "104857600",
    )
}

impl Transactions {
    /// Opens the coordinators over the (already opened) partitions of
    /// `__transaction_state`, replaying them. Transactions a crash left
    /// prepared are finished by [`Transactions::finish_recovery`].
    pub fn load(
        config: &Config,
        metadata: &Metadata,
        partitions: &Partitions,
    ) -> Result<Transactions, PartitionError> {
        let count = metadata.topic(TXN_STATE_TOPIC).map_or(0, |t| t.partitions);
        let mut shards = Vec::new();
        for index in 0..count {
            let partition = partitions
                .get(TXN_STATE_TOPIC, index)
                .ok_or(PartitionError::UnknownTopicOrPartition)?;
            let mut coordinator = TxnCoordinator::new(config.transaction_max_timeout_ms);
            let applied = replay(&partition, &mut coordinator)?;
            tracing::info!(
                partition = index,
                records = applied,
                "transaction coordinator loaded"
            );
            shards.push(Mutex::new(Shard {
                coordinator,
                partition,
                untrusted: Arc::default(),
            }));
        }
        Ok(Transactions {
            shards,
            wait_for_fsync: config.fsync == FsyncMode::Always,
        })
    }

    /// The largest producer id recorded in `__transaction_state` (as
    /// replayed at start, and applied since).
    pub fn highest_producer_id(&self) -> Option<i64> {
        self.lock_all()
            .filter_map(|shard| shard.coordinator.highest_producer_id())
            .max()
    }

    fn shard(&self, transactional_id: &str) -> Result<MutexGuard<'_, Shard>, TxnError> {
        let index = partition_for(transactional_id, self.shards.len());
        let shard = self
            .shards
            .get(index)
            .ok_or(TxnError::CoordinatorNotAvailable)?;
        let shard = shard.lock().unwrap_or_else(|e| e.into_inner());
        if shard.untrusted.load(Ordering::Acquire) {
            return Err(TxnError::CoordinatorNotAvailable);
        }
        Ok(shard)
    }

    fn lock_all(&self) -> impl Iterator<Item = MutexGuard<'_, Shard>> {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Writes the markers of transactions that a crash left prepared and
    /// completes them (startup, once groups are loaded).
    pub fn finish_recovery(&self, state: &BrokerState) {
        for mut shard in self.lock_all() {
            for plan in shard.coordinator.unfinished() {
                tracing::info!(transactional_id = %plan.prepare.transactional_id,
                    control = ?plan.control, "completing a transaction left prepared");
                let mut durable = Durable::default();
                let _ = run_end(
                    state,
                    &mut shard,
                    plan,
                    self.wait_for_fsync,
                    wall_clock_ms(),
                    &mut durable,
                );
            }
        }
    }

    /// InitProducerId with a transactional id: (producer id, epoch).
    pub fn init_producer_id(
        &self,
        state: &BrokerState,
        transactional_id: &str,
        timeout_ms: i32,
        expected: Option<(i64, i16)>,
    ) -> Result<((i64, i16), Durable), TxnError> {
        let now = wall_clock_ms();
        let mut shard = self.shard(transactional_id)?;
        let mut next_id = || {
            state
                .producer_ids
                .next_id()
                .map_err(|e| TxnError::ProducerIdAllocation(e.to_string()))
        };
        let plan = shard.coordinator.init_producer_id(
            transactional_id,
            timeout_ms,
            expected,
            now,
            &mut next_id,
        )?;
        let mut durable = Durable::default();
        match plan {
            InitPlan::Write(m) => {
                let answer = (m.producer_id, m.producer_epoch);
                write_state(&mut shard, m, now, self.wait_for_fsync, &mut durable)?;
                Ok((answer, durable))
            }
            InitPlan::FenceAndAbort(plan) => {
                tracing::info!(%transactional_id, "InitProducerId fences the open transaction and aborts it");
                run_end(
                    state,
                    &mut shard,
                    plan,
                    self.wait_for_fsync,
                    now,
                    &mut durable,
                )?;
                Err(TxnError::ConcurrentTransactions)
            }
        }
    }

    /// AddPartitionsToTxn / AddOffsetsToTxn.
    pub fn add_partitions(
        &self,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        partitions: &[(String, i32)],
    ) -> Result<Durable, TxnError> {
        let now = wall_clock_ms();
        let mut shard = self.shard(transactional_id)?;
        let mut durable = Durable::default();
        if let Some(m) = shard.coordinator.add_partitions(
            transactional_id,
            producer_id,
            epoch,
            partitions,
            now,
        )? {
            write_state(&mut shard, m, now, self.wait_for_fsync, &mut durable)?;
        }
        Ok(durable)
    }

    /// EndTxn: the Prepare record and the markers now; the Complete record
    /// by [`Ending::finish`] once those are durable (with `--fsync always`),
    /// so that a power loss never leaves a Complete record whose markers
    /// are lost (recovery rewrites the markers of a prepared transaction).
    pub fn end_txn(
        &self,
        state: &BrokerState,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        commit: bool,
    ) -> Result<Ending, TxnError> {
        let now = wall_clock_ms();
        let mut shard = self.shard(transactional_id)?;
        let mut durable = Durable::default();
        let mut complete = None;
        if let Some(plan) =
            shard
                .coordinator
                .end_txn(transactional_id, producer_id, epoch, commit, now)?
        {
            if self.wait_for_fsync {
                write_prepare_and_markers(state, &mut shard, &plan, true, now, &mut durable)?;
                complete = Some(plan);
            } else {
                run_end(state, &mut shard, plan, false, now, &mut durable)?;
            }
        }
        Ok(Ending {
            transactional_id: transactional_id.to_string(),
            durable,
            complete,
        })
    }

    /// Writes the Complete record of a transaction whose markers are durable.
    fn complete_end(&self, transactional_id: &str, plan: &EndPlan) -> Result<(), TxnError> {
        let mut shard = self.shard(transactional_id)?;
        write_complete(&mut shard, plan, wall_clock_ms())
    }

    /// Produce-time check of a transactional batch for `topic`/`partition`.
    pub fn verify(
        &self,
        producer_id: i64,
        epoch: i16,
        topic: &str,
        partition: i32,
    ) -> Result<(), TxnError> {
        for shard in self.lock_all() {
            if shard.coordinator.knows_producer(producer_id) {
                return shard
                    .coordinator
                    .verify(producer_id, epoch, topic, partition);
            }
        }
        Err(TxnError::InvalidTxnState)
    }

    /// One transactional id's state (DescribeTransactions).
    pub fn describe(&self, transactional_id: &str) -> Option<TxnMetadata> {
        self.shard(transactional_id)
            .ok()?
            .coordinator
            .get(transactional_id)
            .cloned()
    }

    /// Every transactional id (ListTransactions).
    pub fn list(&self) -> Vec<TxnMetadata> {
        self.lock_all()
            .flat_map(|shard| shard.coordinator.all().cloned().collect::<Vec<_>>())
            .collect()
    }

    /// Aborts every transaction past its timeout.
    pub fn tick(&self, state: &BrokerState, now: i64) {
        for mut shard in self.lock_all() {
            if shard.untrusted.load(Ordering::Acquire) {
                continue;
            }
            for plan in shard.coordinator.expired(now) {
                tracing::info!(transactional_id = %plan.prepare.transactional_id,
                    "transaction timed out; aborting it");
                let mut durable = Durable::default();
                let _ = run_end(
                    state,
                    &mut shard,
                    plan,
                    self.wait_for_fsync,
                    now,
                    &mut durable,
                );
            }
        }
    }
}

/// Writes `m` to the shard's partition and applies it.
fn write_state(
    shard: &mut Shard,
    m: TxnMetadata,
    now: i64,
    wait_for_fsync: bool,
    durable: &mut Durable,
) -> Result<(), TxnError> {
    let record = TxnRecord {
        transactional_id: m.transactional_id.clone(),
        value: Some(m),
    };
    let end = append_record(&shard.partition, &record, now).map_err(|e| {
        tracing::error!(error = %e, "cannot write to __transaction_state");
        TxnError::Storage(e.to_string())
    })?;
    if let Some(m) = record.value {
        shard.coordinator.apply(m);
    }
    if wait_for_fsync {
        let partition = Arc::clone(&shard.partition);
        durable.push(shard, partition, end);
    }
    Ok(())
}

/// Prepare record, a marker in every partition of the transaction, then the
/// Complete record: with `wait_for_fsync`, only after the Prepare record and
/// the markers are durable (a blocking flush: recovery, timeouts and
/// fencing; EndTxn waits without blocking, see [`Transactions::end_txn`]).
fn run_end(
    state: &BrokerState,
    shard: &mut Shard,
    plan: EndPlan,
    wait_for_fsync: bool,
    now: i64,
    durable: &mut Durable,
) -> Result<(), TxnError> {
    write_prepare_and_markers(state, shard, &plan, wait_for_fsync, now, durable)?;
    if wait_for_fsync {
        std::mem::take(durable).wait_blocking()?;
    }
    write_complete(shard, &plan, now)
}

/// The Complete record (not waited for: a crash before it is durable
/// leaves the transaction prepared, and recovery finishes it).
fn write_complete(shard: &mut Shard, plan: &EndPlan, now: i64) -> Result<(), TxnError> {
    let done = shard.coordinator.complete(&plan.prepare, now);
    write_state(shard, done, now, false, &mut Durable::default())
}

/// The Prepare record and a marker in every partition of the transaction.
/// A marker that cannot be written is logged; the partition's own failure
/// (a poisoned log) is reported by its writes.
fn write_prepare_and_markers(
    state: &BrokerState,
    shard: &mut Shard,
    plan: &EndPlan,
    wait_for_fsync: bool,
    now: i64,
    durable: &mut Durable,
) -> Result<(), TxnError> {
    write_state(shard, plan.prepare.clone(), now, wait_for_fsync, durable)?;
    let m = &plan.prepare;
    for (topic, index) in &m.partitions {
        let written = if topic == OFFSETS_TOPIC {
            state.groups.complete_transaction(
                *index,
                m.producer_id,
                m.producer_epoch,
                plan.control,
                now,
            )
        } else {
            match state.partitions.get(topic, *index) {
                Some(p) => p
                    .append_marker(m.producer_id, m.producer_epoch, plan.control, 0, now)
                    .map(|info| (p, info.end_offset)),
                // Deleted since it joined the transaction: nothing to mark.
                None => continue,
            }
        };
        match written {
            Ok((partition, end)) => {
                if wait_for_fsync {
                    durable.push(shard, partition, end);
                }
            }
            Err(e) => tracing::error!(%topic, partition = index, error = %e,
                transactional_id = %m.transactional_id, "cannot write a transaction marker"),
        }
    }
    Ok(())
}

fn append_record(
    partition: &Partition,
    record: &TxnRecord,
    now: i64,
) -> Result<i64, PartitionError> {
    let (key, value) = record.encode();
    let bytes = BatchBuilder::new()
        .record(now, Some(&key), value.as_deref(), &[])
        .build();
    let header = records::validate_batch(&bytes)?;
    let info = partition.append(&bytes, &header, None)?;
    Ok(info.end_offset)
}

/// Feeds every record of `partition` to `coordinator`, in offset order.
/// Unreadable batches or records are skipped with a warning.
fn replay(
    partition: &Partition,
    coordinator: &mut TxnCoordinator,
) -> Result<usize, PartitionError> {
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
        while let Ok(header) = records::parse_header(rest) {
            let Some(batch) = rest.get(..header.total_len()) else {
                break;
            };
            if header.last_offset() >= next && !header.is_control() {
                match records::records(batch) {
                    Ok(iter) => {
                        for record in iter.flatten() {
                            if header.base_offset + i64::from(record.offset_delta) < next {
                                continue;
                            }
                            let Some(key) = record.key else { continue };
                            match TxnRecord::decode(key, record.value) {
                                Ok(Some(r)) => {
                                    coordinator.apply_record(&r);
                                    applied += 1;
                                }
                                Ok(None) => {}
                                Err(e) => tracing::warn!(offset = header.base_offset, error = %e,
                                    "skipping unreadable __transaction_state record"),
                            }
                        }
                    }
                    Err(e) => tracing::warn!(offset = header.base_offset, error = %e,
                        "skipping unreadable __transaction_state batch"),
                }
            }
            next = next.max(header.last_offset().saturating_add(1));
            rest = rest.get(header.total_len()..).unwrap_or_default();
        }
        if next <= before {
            tracing::warn!(
                partition = partition.index,
                offset = next,
                "cannot read __transaction_state past this offset; stopping the replay there"
            );
            break;
        }
    }
    Ok(applied)
}

/// Starts the task that aborts timed-out transactions until shutdown.
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
            let state2 = Arc::clone(&state);
            // Markers and records are blocking file writes.
            let _ = tokio::task::spawn_blocking(move || state2.txns.tick(&state2, wall_clock_ms()))
                .await;
        }
    })
}
