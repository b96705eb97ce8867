//! [`Transactions`]: the transaction coordinators of a running broker, on
//! the shared [coordinator runtime](crate::coordinator): one
//! [`TxnCoordinator`] per partition of `__transaction_state`, each behind
//! its own lock.
//!
//! Ownership and order: a shard's lock is held for a whole operation —
//! state record, markers, completion record — so that the records of one
//! transactional id reach the log in the order its state changed. Lock
//! order: transaction shard, then a group shard (markers to
//! `__consumer_offsets`), then a partition's locks. Nothing locks in the
//! other direction. Waiting for fsync happens after the lock is released.
//!
//! Every state change is a record written and then replayed
//! ([`Shard::write`]); markers are written by this broker directly (there
//! are no other brokers to send WriteTxnMarkers to): to data partitions
//! through their [`PartitionWriter`], to `__consumer_offsets` through
//! [`crate::group::Groups::complete_transaction`], which also commits or
//! drops the transaction's offsets.

use std::sync::Arc;
use std::time::Duration;

use sluice_protocol::records::ControlType;

use super::coordinator::{EndPlan, InitPlan, TxnCoordinator};
use super::records::TxnRecord;
use super::state::TxnMetadata;
use crate::config::{Config, FsyncMode};
use crate::coordinator::pending::Write;
use crate::coordinator::writer::EncodedRecord;
use crate::coordinator::{
    CoordinatorResult, CoordinatorShard, PartitionWriter, Pending, Playback, Runtime, Shard,
    SharedClock,
};
use crate::error::{PartitionError, TopicError, TxnError};
use crate::group::records::FormatError;
use crate::metadata::Metadata;
use crate::partition::Partitions;

/// The internal topic holding transaction state.
pub const TXN_STATE_TOPIC: &str = "__transaction_state";

/// How often transaction timeouts are checked (Kafka's
/// `transaction.abort.timed.out.transaction.cleanup.interval.ms` is 10 s;
/// a shorter period keeps short test timeouts honest).
pub const TICK: Duration = Duration::from_millis(200);

impl Playback for TxnCoordinator {
    type Record = TxnRecord;

    fn replay(&mut self, _producer_id: Option<i64>, record: &TxnRecord) {
        self.apply_record(record);
    }
}

impl CoordinatorShard for TxnCoordinator {
    /// Nothing parks: answers are ready once their writes are durable.
    type Answer = ();
    type DecodeError = FormatError;

    fn decode(key: &[u8], value: Option<&[u8]>) -> Result<Option<TxnRecord>, FormatError> {
        TxnRecord::decode(key, value)
    }

    fn encode(record: &TxnRecord) -> EncodedRecord {
        record.encode()
    }
}

/// The transaction coordinators of the broker.
pub struct Transactions {
    /// Shared with the last step of a pending EndTxn (its Complete record).
    runtime: Arc<Runtime<TxnCoordinator>>,
}

/// What the transaction coordinator reaches beyond its own log: where new
/// producer ids come from, and the partitions its markers go to (data
/// partitions and `__consumer_offsets`). The broker implements it; the
/// coordinator never sees the broker.
pub trait TxnParticipants: Send + Sync {
    /// A producer id never handed out before.
    fn next_producer_id(&self) -> Result<i64, TxnError>;

    /// Writes a commit or abort marker of `producer_id` at `epoch` to
    /// partition `index` of `topic`: where it went and the end offset to
    /// wait for, or `None` when the partition is gone (deleted since it
    /// joined the transaction: nothing to mark).
    fn write_marker(
        &self,
        topic: &str,
        index: i32,
        producer_id: i64,
        epoch: i16,
        control: ControlType,
        now: i64,
    ) -> Option<Result<Write, PartitionError>>;
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
    /// The coordinators before they are loaded (start-up serves while it
    /// recovers): every transaction operation is COORDINATOR_LOAD_IN_PROGRESS
    /// until [`Transactions::finish_load`].
    pub fn loading(metadata: &Metadata, clock: SharedClock) -> Transactions {
        let count = metadata.topic(TXN_STATE_TOPIC).map_or(0, |t| t.partitions);
        Transactions {
            runtime: Arc::new(Runtime::loading(usize::try_from(count).unwrap_or(0), clock)),
        }
    }

    /// Loads the coordinators of [`Transactions::loading`] from the (now
    /// opened) partitions of `__transaction_state`.
    pub fn finish_load(
        &self,
        config: &Config,
        partitions: &Partitions,
    ) -> Result<(), PartitionError> {
        let writers = crate::coordinator::writer::internal_topic_writers(
            partitions,
            TXN_STATE_TOPIC,
            self.runtime.shard_count(),
        )?;
        let max_timeout_ms = config.transaction_max_timeout_ms;
        self.runtime.finish_load(
            writers,
            move || TxnCoordinator::new(max_timeout_ms),
            config.fsync == FsyncMode::Always,
        )
    }

    /// Whether the coordinators are loaded (see [`Transactions::loading`]).
    pub fn is_loaded(&self) -> bool {
        self.runtime.is_loaded()
    }

    /// The coordinators' clock.
    pub fn now_ms(&self) -> i64 {
        self.runtime.now()
    }

    /// The largest producer id recorded in `__transaction_state` (as
    /// replayed at start, and applied since).
    pub fn highest_producer_id(&self) -> Option<i64> {
        let mut highest = None;
        self.runtime.for_each_shard(|shard| {
            highest = highest.max(shard.machine.highest_producer_id());
        });
        highest
    }

    /// Runs `op` on `transactional_id`'s shard, unless it stopped serving.
    fn on_shard<T>(
        &self,
        transactional_id: &str,
        op: impl FnOnce(&mut Shard<TxnCoordinator>) -> Result<T, TxnError>,
    ) -> Result<T, TxnError> {
        on_shard(&self.runtime, transactional_id, op)
    }

    /// Writes the markers of transactions that a crash left prepared and
    /// completes them (startup, once groups are loaded).
    pub fn finish_recovery(&self, state: &dyn TxnParticipants) {
        self.runtime.for_each_shard(|shard| {
            for plan in shard.machine.unfinished() {
                tracing::info!(transactional_id = %plan.prepare.transactional_id,
                    control = ?plan.control, "completing a transaction left prepared");
                let _ = run_end(state, shard, plan);
            }
        });
    }

    /// InitProducerId with a transactional id: (producer id, epoch). May
    /// block on flushes (fencing an open transaction): call it off the
    /// async threads.
    pub fn init_producer_id(
        &self,
        state: &dyn TxnParticipants,
        transactional_id: &str,
        timeout_ms: i32,
        expected: Option<(i64, i16)>,
    ) -> Pending<(i64, i16), TxnError> {
        let outcome = self.on_shard(transactional_id, |shard| {
            let now = shard.now();
            let mut next_id = || state.next_producer_id();
            let plan = shard.machine.init_producer_id(
                transactional_id,
                timeout_ms,
                expected,
                now,
                &mut next_id,
            )?;
            match plan {
                InitPlan::Write(m) => {
                    let mut pending = Pending::ready(Ok((m.producer_id, m.producer_epoch)));
                    write_state(shard, m, Some(&mut pending))?;
                    Ok(pending)
                }
                InitPlan::FenceAndAbort(plan) => {
                    tracing::info!(%transactional_id, "InitProducerId fences the open transaction and aborts it");
                    run_end(state, shard, plan)?;
                    Err(TxnError::ConcurrentTransactions)
                }
            }
        });
        outcome.unwrap_or_else(Pending::failed)
    }

    /// AddPartitionsToTxn / AddOffsetsToTxn.
    pub fn add_partitions(
        &self,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        partitions: &[(String, i32)],
    ) -> Pending<(), TxnError> {
        let outcome = self.on_shard(transactional_id, |shard| {
            let now = shard.now();
            let mut pending = Pending::ready(Ok(()));
            if let Some(m) = shard.machine.add_partitions(
                transactional_id,
                producer_id,
                epoch,
                partitions,
                now,
            )? {
                write_state(shard, m, Some(&mut pending))?;
            }
            Ok(pending)
        });
        outcome.unwrap_or_else(Pending::failed)
    }

    /// EndTxn: the Prepare record now; with `--fsync always` the markers
    /// only once it is durable, and the Complete record once they are (each
    /// stage of the pending answer). A marker must never outlive a lost
    /// Prepare record: recovery would find the transaction still open and
    /// abort it, while the partition that kept its commit marker shows its
    /// records. And a Complete record must never outlive its markers
    /// (recovery rewrites the markers of a prepared transaction). Await the
    /// answer in a task of its own: the markers and the Complete record must
    /// be written even if the client goes away.
    pub fn end_txn(
        &self,
        state: Arc<dyn TxnParticipants>,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        commit: bool,
    ) -> Pending<(), TxnError> {
        let outcome = self.on_shard(transactional_id, |shard| {
            let now = shard.now();
            let mut pending = Pending::ready(Ok(()));
            let Some(plan) =
                shard
                    .machine
                    .end_txn(transactional_id, producer_id, epoch, commit, now)?
            else {
                return Ok(pending);
            };
            if !shard.wait_for_fsync() {
                run_end(&*state, shard, plan)?;
                return Ok(pending);
            }
            write_state(shard, plan.prepare.clone(), Some(&mut pending))?;
            let runtime = Arc::clone(&self.runtime);
            let transactional_id = transactional_id.to_string();
            Ok(pending.and_then_durable(move |()| {
                on_shard(&runtime, &transactional_id, |shard| {
                    let mut marked = Pending::ready(Ok(()));
                    write_markers(&*state, shard, &plan, &mut marked);
                    let runtime = Arc::clone(&runtime);
                    let transactional_id = transactional_id.clone();
                    Ok(marked.then(move |()| complete_end(&runtime, &transactional_id, &plan)))
                })
            }))
        });
        outcome.unwrap_or_else(Pending::failed)
    }

    /// Produce-time check of a transactional batch for `topic`/`partition`.
    pub fn verify(
        &self,
        producer_id: i64,
        epoch: i16,
        topic: &str,
        partition: i32,
    ) -> Result<(), TxnError> {
        self.runtime
            .find_map(|shard| {
                shard
                    .machine
                    .knows_producer(producer_id)
                    .then(|| shard.machine.verify(producer_id, epoch, topic, partition))
            })
            .unwrap_or(Err(TxnError::InvalidTxnState))
    }

    /// One transactional id's state (DescribeTransactions).
    pub fn describe(&self, transactional_id: &str) -> Option<TxnMetadata> {
        self.on_shard(transactional_id, |shard| {
            Ok(shard.machine.get(transactional_id).cloned())
        })
        .ok()
        .flatten()
    }

    /// Every transactional id (ListTransactions).
    pub fn list(&self) -> Vec<TxnMetadata> {
        let mut all = Vec::new();
        self.runtime
            .for_each_shard(|shard| all.extend(shard.machine.all().cloned()));
        all
    }

    /// Removes the transactional ids idle for `expiration_ms` (see
    /// [`TxnCoordinator::expired_transactional_ids`]): their tombstones are
    /// written to `__transaction_state` and replayed, so that a restart does
    /// not bring them back and compaction can drop them. Returns how many.
    /// A tombstone that is lost to a crash before it is durable only delays
    /// the removal to the next pass.
    pub fn remove_expired_transactional_ids(&self, expiration_ms: i64) -> usize {
        let mut removed = 0;
        self.runtime.for_each_shard(|shard| {
            if shard.distrusted() {
                return;
            }
            let now = shard.now();
            let tombstones = shard.machine.expired_transactional_ids(now, expiration_ms);
            for batch in tombstone_batches(tombstones) {
                let count = batch.len();
                for t in &batch {
                    tracing::debug!(transactional_id = %t.transactional_id,
                        "transactional id expired; removing it");
                }
                match shard.write(CoordinatorResult::new(batch, ())) {
                    Ok(_) => removed += count,
                    Err(e) => {
                        tracing::warn!(error = %e,
                            "cannot write the tombstones of expired transactional ids; retrying at the next pass");
                        return;
                    }
                }
            }
        });
        if removed > 0 {
            tracing::info!(removed, "removed expired transactional ids");
        }
        removed
    }

    /// Aborts every transaction past its timeout.
    pub fn tick(&self, state: &dyn TxnParticipants) {
        self.runtime.for_each_shard(|shard| {
            if shard.distrusted() {
                return;
            }
            let now = shard.now();
            for plan in shard.machine.expired(now) {
                tracing::info!(transactional_id = %plan.prepare.transactional_id,
                    "transaction timed out; aborting it");
                let _ = run_end(state, shard, plan);
            }
        });
    }
}

/// Key bytes per batch of tombstones: about Kafka's default
/// `max.message.bytes`, which bounds its tombstone batches too.
const TOMBSTONE_BATCH_BYTES: usize = 1 << 20;

/// Splits tombstones into batches of at most [`TOMBSTONE_BATCH_BYTES`] of
/// keys (at least one record each).
fn tombstone_batches(tombstones: Vec<TxnRecord>) -> Vec<Vec<TxnRecord>> {
    let mut batches: Vec<Vec<TxnRecord>> = Vec::new();
    let mut bytes = 0;
    for t in tombstones {
        let size = t.transactional_id.len() + 4;
        match batches.last_mut() {
            Some(batch) if bytes + size <= TOMBSTONE_BATCH_BYTES => {
                bytes += size;
                batch.push(t);
            }
            _ => {
                bytes = size;
                batches.push(vec![t]);
            }
        }
    }
    batches
}

/// Runs `op` on `transactional_id`'s shard, unless it stopped serving.
fn on_shard<T>(
    runtime: &Runtime<TxnCoordinator>,
    transactional_id: &str,
    op: impl FnOnce(&mut Shard<TxnCoordinator>) -> Result<T, TxnError>,
) -> Result<T, TxnError> {
    runtime.with_shard(runtime.shard_of(transactional_id), op)?
}

/// Writes the Complete record of a transaction whose markers are durable.
fn complete_end(
    runtime: &Runtime<TxnCoordinator>,
    transactional_id: &str,
    plan: &EndPlan,
) -> Result<(), TxnError> {
    on_shard(runtime, transactional_id, |shard| {
        write_complete(shard, plan)
    })
}

/// Writes `m` to the shard's partition and replays it; with `pending`, the
/// answer waits for the write to be durable (`--fsync always`).
fn write_state<T>(
    shard: &mut Shard<TxnCoordinator>,
    m: TxnMetadata,
    pending: Option<&mut Pending<T, TxnError>>,
) -> Result<(), TxnError> {
    let record = TxnRecord {
        transactional_id: m.transactional_id.clone(),
        value: Some(m),
    };
    let ((), end) = shard
        .write(CoordinatorResult::new(vec![record], ()))
        .map_err(|e| {
            tracing::error!(error = %e, "cannot write to __transaction_state");
            TxnError::NotWritten
        })?;
    if let (Some(pending), Some(end)) = (pending, end) {
        let writer = Arc::clone(shard.writer());
        wait_for(shard, pending, writer, end);
    }
    Ok(())
}

/// Makes `pending` wait for `end` in `writer` (with `--fsync always`); a
/// write that is not durable stops the shard.
fn wait_for<T>(
    shard: &Shard<TxnCoordinator>,
    pending: &mut Pending<T, TxnError>,
    writer: Arc<dyn PartitionWriter>,
    end: i64,
) {
    if shard.wait_for_fsync() {
        pending.after_durable((writer, end));
        pending.distrust_on_failure(shard.distrust_flag());
    }
}

/// Prepare record, a marker in every partition of the transaction, then the
/// Complete record: with `--fsync always`, the markers only after the
/// Prepare record is durable and the Complete record only after the markers
/// are (a blocking flush: recovery, timeouts and fencing; EndTxn waits
/// without blocking, see [`Transactions::end_txn`]).
fn run_end(
    state: &dyn TxnParticipants,
    shard: &mut Shard<TxnCoordinator>,
    plan: EndPlan,
) -> Result<(), TxnError> {
    let mut prepared = Pending::ready(Ok(()));
    write_state(shard, plan.prepare.clone(), Some(&mut prepared))?;
    prepared.wait_blocking()?;
    let mut marked = Pending::ready(Ok(()));
    write_markers(state, shard, &plan, &mut marked);
    marked.wait_blocking()?;
    write_complete(shard, &plan)
}

/// The Complete record (not waited for: a crash before it is durable
/// leaves the transaction prepared, and recovery finishes it).
fn write_complete(shard: &mut Shard<TxnCoordinator>, plan: &EndPlan) -> Result<(), TxnError> {
    let done = shard.machine.complete(&plan.prepare, shard.now());
    write_state::<()>(shard, done, None)
}

/// A marker in every partition of the transaction (its Prepare record is
/// durable by now). A marker that cannot be written is logged; the
/// partition's own failure (a poisoned log) is reported by its writes.
fn write_markers(
    state: &dyn TxnParticipants,
    shard: &mut Shard<TxnCoordinator>,
    plan: &EndPlan,
    pending: &mut Pending<(), TxnError>,
) {
    let m = &plan.prepare;
    let now = shard.now();
    for (topic, index) in &m.partitions {
        let Some(written) = state.write_marker(
            topic,
            *index,
            m.producer_id,
            m.producer_epoch,
            plan.control,
            now,
        ) else {
            continue;
        };
        match written {
            Ok((writer, end)) => wait_for(shard, pending, writer, end),
            Err(e) => tracing::error!(%topic, partition = index, error = %e,
                transactional_id = %m.transactional_id, "cannot write a transaction marker"),
        }
    }
}

#[cfg(test)]
#[path = "expiry_tests.rs"]
mod expiry_tests;

#[cfg(test)]
#[path = "end_order_tests.rs"]
mod end_order_tests;
