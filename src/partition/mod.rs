//! The partition layer: each topic-partition owns its storage log, its
//! producer state and its fetch waiters; the registry ([`Partitions`]) owns
//! them all and is the only code that names partition directories.
//!
//! - [`Partition`] (this file): appends of batches already validated, the
//!   watermarks, DeleteRecords, retention; reads are in `read.rs`.
//! - [`registry`]: [`Partitions`], opening, creating and deleting topics'
//!   partitions, their directories and the typed topic configs they hold.
//! - [`validator`]: every check a produced batch passes (Kafka's
//!   `LogValidator`); [`Partitions::produce`] is the one append path for
//!   producers, whichever API they came through.
//! - [`flusher`]: fsync batching for `--fsync always` and the interval flush.
//! - [`producer_state`], [`aborted`], [`snapshot`]: idempotence and
//!   transaction state per partition, and its snapshot at clean shutdown.
//! - [`creation`]: the crash-safe intent of a topic change.
//!
//! Ownership: a [`Partition`]'s log sits behind its own mutex (never a global
//! lock). With one broker and no followers the high watermark equals the log
//! end offset as soon as an append returns; the last stable offset is the
//! first offset of the earliest open transaction, or the high watermark when
//! none is open. Fetch long-polls register a [`tokio::sync::Notify`] with
//! every partition they read (`waiters.rs`); an append wakes them all.

pub mod aborted;
mod append;
pub(crate) mod compressed;
pub mod creation;
mod dirs;
pub mod flusher;
pub mod producer_state;
mod read;
pub mod registry;
pub mod snapshot;
pub mod validator;
mod waiters;

#[cfg(test)]
mod epoch_tests;
#[cfg(test)]
mod txn_tests;

use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use sluice_protocol::records::{self, BatchHeader, ControlType};
use sluice_storage::{BatchMeta, Log, LogConfig, NewLog};
use tokio::sync::Notify;

use crate::error::PartitionError;
use crate::metadata::TopicConfig;
use producer_state::{BatchMetadata, ProducerBatch, ProducerStateTable, Verdict};

pub use flusher::{flush_many_now, Flusher};
pub use registry::Partitions;
pub use validator::{ProducedBatch, TransactionMembership};

/// This broker is always the leader, at this epoch.
pub const LEADER_EPOCH: i32 = 0;

/// Where a produced batch landed.
#[derive(Debug, Clone, Copy)]
pub struct AppendInfo {
    pub base_offset: i64,
    /// The offset after the batch: durable once `durable_offset` reaches it.
    pub end_offset: i64,
    /// The broker time written into the batch, or -1 for CreateTime topics.
    pub log_append_time: i64,
    pub log_start_offset: i64,
}

/// One producer a partition remembers (DescribeProducers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerInfo {
    pub producer_id: i64,
    pub epoch: i16,
    pub last_sequence: i32,
    pub last_timestamp: i64,
    /// First offset of its open transaction here, or -1.
    pub current_txn_start_offset: i64,
}

/// Offsets a fetch needs besides the records.
#[derive(Debug, Clone, Copy)]
pub struct Watermarks {
    pub high_watermark: i64,
    pub last_stable_offset: i64,
    pub log_start_offset: i64,
}

/// One partition of one topic.
pub struct Partition {
    pub topic: String,
    pub index: i32,
    log: Mutex<Log>,
    /// Idempotence and transaction state of the producers that wrote here.
    /// Lock order: `producers`, then `log`.
    producers: Mutex<ProducerStateTable>,
    high_watermark: AtomicI64,
    /// Changed only with `producers` held.
    last_stable_offset: AtomicI64,
    log_start_offset: AtomicI64,
    /// Everything below this offset is fsynced.
    durable_offset: AtomicI64,
    /// The broker's flusher, which every wait for durability goes through.
    flusher: Flusher,
    waiters: waiters::FetchWaiters,
    /// The topic's typed configs; replaced whole when they change.
    config: RwLock<Arc<TopicConfig>>,
}

impl Partition {
    /// Opens the partition's log; a log created here comes back with the
    /// [`NewLog`] that [`sluice_storage::make_new_logs_durable`] must see before
    /// it is served.
    fn open(
        topic: &str,
        index: i32,
        dir: Option<&Path>,
        config: Arc<TopicConfig>,
        flusher: Flusher,
    ) -> Result<(Self, Option<NewLog>), sluice_storage::StorageError> {
        let (log, new_log) = match dir {
            Some(dir) => {
                let (log, new_log) = Log::open_staged(dir, config.log.clone())?;
                let report = log.recovery_report();
                // Per partition at DEBUG: start-up logs progress and one
                // summary line (`startup.rs`); damage is a WARN where found.
                if !report.clean {
                    tracing::debug!(topic, partition = index, report = ?report, "recovered partition log");
                }
                (log, new_log)
            }
            None => (Log::open_in_memory(config.log.clone()), None),
        };
        let producers = match dir.and_then(|d| snapshot::load_latest(d, log.log_end_offset())) {
            Some((mut table, offset)) => {
                table.aborted.trim_below(log.log_start_offset());
                ProducerStateTable::load_from(&log, table, offset)
            }
            None => ProducerStateTable::load(&log),
        };
        let last_stable_offset = producers
            .first_open_transaction_offset()
            .unwrap_or(log.log_end_offset());
        let partition = Partition {
            last_stable_offset: AtomicI64::new(last_stable_offset),
            topic: topic.to_string(),
            index,
            producers: Mutex::new(producers),
            high_watermark: AtomicI64::new(log.log_end_offset()),
            log_start_offset: AtomicI64::new(log.log_start_offset()),
            durable_offset: AtomicI64::new(log.log_end_offset()),
            flusher,
            log: Mutex::new(log),
            waiters: waiters::FetchWaiters::default(),
            config: RwLock::new(config),
        };
        Ok((partition, new_log))
    }

    fn lock_log(&self) -> MutexGuard<'_, Log> {
        // The log's in-memory state is only changed after its file writes
        // succeed, so a panic elsewhere while holding the lock leaves it usable.
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The topic's typed configs as of now.
    pub fn config(&self) -> Arc<TopicConfig> {
        Arc::clone(&self.config.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Replaces the topic's typed configs (they changed): the produce
    /// checks, retention and the log's storage settings read the new ones
    /// from the next request or pass on.
    pub fn set_config(&self, config: Arc<TopicConfig>) {
        let log_config = config.log.clone();
        *self.config.write().unwrap_or_else(|e| e.into_inner()) = config;
        self.lock_log().set_config(log_config);
    }

    pub fn watermarks(&self) -> Watermarks {
        let hw = self.high_watermark.load(Ordering::Acquire);
        Watermarks {
            high_watermark: hw,
            last_stable_offset: self.last_stable_offset.load(Ordering::Acquire).min(hw),
            log_start_offset: self.log_start_offset.load(Ordering::Acquire),
        }
    }

    fn lock_producers(&self) -> MutexGuard<'_, ProducerStateTable> {
        self.producers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The producers this partition remembers, by producer id.
    pub fn producers(&self) -> Vec<ProducerInfo> {
        let mut all: Vec<ProducerInfo> = self
            .lock_producers()
            .iter()
            .map(|(producer_id, e)| ProducerInfo {
                producer_id,
                epoch: e.epoch,
                last_sequence: e.last_seq().unwrap_or(-1),
                last_timestamp: e.last_timestamp,
                current_txn_start_offset: e.current_txn_first_offset.unwrap_or(-1),
            })
            .collect();
        all.sort_by_key(|p| p.producer_id);
        all
    }

    /// Bytes of the partition's segments (files on disk, or memory for an
    /// ephemeral log): the size DescribeLogDirs reports, as Kafka's
    /// `UnifiedLog.size`.
    pub fn size_bytes(&self) -> u64 {
        self.lock_log().size_bytes()
    }

    /// OffsetForLeaderEpoch: the leader epoch and end offset for a requested
    /// `epoch`, or `None` for Kafka's "undefined" (epoch -1, offset -1).
    ///
    /// Every batch here is stamped with [`LEADER_EPOCH`], so the partition's
    /// leader-epoch cache (Kafka's `LeaderEpochFileCache`) is one entry: that
    /// epoch, starting at the log start offset (Kafka assigns it at the log
    /// end when the broker becomes leader, and moves it up with the log
    /// start). Kafka's lookup over that cache: the current epoch ends at the
    /// log end offset; a newer or undefined (-1) epoch is undefined; an older
    /// one (below every cached epoch) is answered with itself and the start
    /// of the first cached epoch.
    pub fn end_offset_for_epoch(&self, epoch: i32) -> Option<(i32, i64)> {
        const UNDEFINED_EPOCH: i32 = -1;
        let log = self.lock_log();
        if epoch == UNDEFINED_EPOCH || epoch > LEADER_EPOCH {
            None
        } else if epoch == LEADER_EPOCH {
            Some((LEADER_EPOCH, log.log_end_offset()))
        } else {
            Some((epoch, log.log_start_offset()))
        }
    }

    /// Assigns offsets to one validated batch and appends it. Producers'
    /// batches come here only through [`Partitions::produce`] (validated);
    /// the broker's own writers (the coordinators' records in internal
    /// topics) call it directly with batches they built.
    ///
    /// `batch` holds exactly the batch described by `header`. With
    /// `log_append_time = Some(now)` the batch is stamped with broker time.
    /// A batch of an idempotent producer is checked against its sequence
    /// and epoch first; a retry of one of its last five batches is answered
    /// with the original offsets and not written again.
    pub(crate) fn append(
        &self,
        batch: &[u8],
        header: &BatchHeader,
        log_append_time: Option<i64>,
    ) -> Result<AppendInfo, PartitionError> {
        let producer = ProducerBatch::of(header);
        let mut producers = self.lock_producers();
        if let Some(producer) = &producer {
            if let Verdict::Duplicate(original) = producers.check(producer)? {
                let end_offset = original.last_offset + 1;
                tracing::debug!(topic = %self.topic, partition = self.index,
                    producer_id = producer.producer_id, first_seq = producer.first_seq,
                    base_offset = original.first_offset, "duplicate batch not written again");
                return Ok(AppendInfo {
                    base_offset: original.first_offset,
                    end_offset,
                    log_append_time: original.log_append_time,
                    log_start_offset: self.log_start_offset.load(Ordering::Acquire),
                });
            }
        }
        let info = self.append_locked(&mut producers, batch, header, log_append_time, producer)?;
        drop(producers);
        self.wake_fetchers();
        Ok(info)
    }

    /// Appends a transactional batch the broker itself wrote (TxnOffsetCommit
    /// offsets in `__consumer_offsets`): no sequence numbers to check, but
    /// the producer's open transaction is tracked like a client's.
    pub(crate) fn append_internal_transactional(
        &self,
        batch: &[u8],
        header: &BatchHeader,
    ) -> Result<AppendInfo, PartitionError> {
        let producer = ProducerBatch {
            producer_id: header.producer_id,
            epoch: header.producer_epoch,
            first_seq: header.base_sequence,
            last_seq: header.base_sequence,
            transactional: true,
        };
        let mut producers = self.lock_producers();
        let info = self.append_locked(&mut producers, batch, header, None, Some(producer))?;
        drop(producers);
        self.wake_fetchers();
        Ok(info)
    }

    /// Writes a transaction marker for `producer_id` (the transaction
    /// coordinator's commit or abort) and ends its open transaction here.
    pub fn append_marker(
        &self,
        producer_id: i64,
        producer_epoch: i16,
        control: ControlType,
        coordinator_epoch: i32,
        now: i64,
    ) -> Result<AppendInfo, PartitionError> {
        let bytes =
            records::marker_batch(producer_id, producer_epoch, control, coordinator_epoch, now);
        let header = records::validate_batch(&bytes)?;
        let mut producers = self.lock_producers();
        let info = self.append_locked(&mut producers, &bytes, &header, None, None)?;
        producers.complete_transaction(producer_id, producer_epoch, control, info.base_offset, now);
        self.update_last_stable_offset(&producers);
        drop(producers);
        self.wake_fetchers();
        Ok(info)
    }

    /// Forgets the producers idle for `expiration_ms` at `now` with no
    /// transaction open here (`producer.id.expiration.ms`); returns how many.
    pub fn remove_expired_producers(&self, now: i64, expiration_ms: i64) -> usize {
        self.lock_producers()
            .remove_expired_producers(now, expiration_ms)
    }

    fn update_last_stable_offset(&self, producers: &ProducerStateTable) {
        let hw = self.high_watermark.load(Ordering::Acquire);
        let lso = producers.first_open_transaction_offset().unwrap_or(hw);
        self.last_stable_offset.store(lso, Ordering::Release);
    }

    fn append_locked(
        &self,
        producers: &mut ProducerStateTable,
        batch: &[u8],
        header: &BatchHeader,
        log_append_time: Option<i64>,
        producer: Option<ProducerBatch>,
    ) -> Result<AppendInfo, PartitionError> {
        let info = {
            let mut log = self.lock_log();
            let was_poisoned = log.is_poisoned();
            let base_offset = log.log_end_offset();
            let last_offset = base_offset + i64::from(header.last_offset_delta);
            let max_timestamp = log_append_time.unwrap_or(header.max_timestamp);
            let meta = BatchMeta {
                base_offset,
                last_offset,
                max_timestamp,
            };
            let appended = match log_append_time {
                // The usual case: a patched copy of the header, then the
                // records straight from the request.
                None => {
                    let head = records::patched_header(batch, base_offset, LEADER_EPOCH)?;
                    let rest = batch.get(head.len()..).unwrap_or_default();
                    log.append_split(&head, rest, meta)
                }
                // LogAppendTime changes CRC'd bytes: the whole batch is rewritten.
                Some(now) => {
                    let mut owned = batch.to_vec();
                    records::set_base_offset(&mut owned, base_offset)?;
                    records::set_partition_leader_epoch(&mut owned, LEADER_EPOCH)?;
                    records::set_log_append_time(&mut owned, now)?;
                    log.append(&owned, meta)
                }
            };
            if let Err(e) = appended {
                // A failed write or fsync poisons the log inside storage: no
                // later write is acknowledged that might be lost. Storage logs
                // every failure (rate-limited); say so once when it happens.
                if log.is_poisoned() && !was_poisoned {
                    tracing::error!(topic = %self.topic, partition = self.index, error = %e,
                        "append failed; the partition refuses further writes");
                }
                return Err(e.into());
            }
            if let Some(producer) = &producer {
                let meta = BatchMetadata {
                    first_seq: producer.first_seq,
                    last_seq: producer.last_seq,
                    first_offset: base_offset,
                    last_offset,
                    log_append_time: log_append_time.unwrap_or(-1),
                };
                producers.record(producer, meta, max_timestamp);
            }
            self.high_watermark
                .store(last_offset + 1, Ordering::Release);
            self.update_last_stable_offset(producers);
            AppendInfo {
                base_offset,
                end_offset: last_offset + 1,
                log_append_time: log_append_time.unwrap_or(-1),
                log_start_offset: self.log_start_offset.load(Ordering::Acquire),
            }
        };
        Ok(info)
    }

    /// Deletes whole segments past the topic's retention; moves the log start
    /// offset to the first remaining segment.
    /// `retention.ms` and `retention.bytes` come from the topic's typed
    /// config (none for a topic without the `delete` policy).
    pub fn apply_retention(&self, now_ms: i64) -> Result<usize, PartitionError> {
        let (retention_ms, retention_bytes) = self.config().retention();
        let mut log = self.lock_log();
        let outcome = log.apply_retention(now_ms, retention_ms, retention_bytes)?;
        self.log_start_offset
            .store(log.log_start_offset(), Ordering::Release);
        if outcome.segments_deleted > 0 {
            tracing::info!(topic = %self.topic, partition = self.index,
                segments = outcome.segments_deleted, log_start_offset = outcome.new_log_start_offset,
                "retention deleted segments");
        }
        Ok(outcome.segments_deleted)
    }

    /// Closes the log cleanly (flush + clean-shutdown marker). The partition
    /// is unusable afterwards; call only at broker shutdown.
    fn close(&self) {
        let producers = self.lock_producers();
        let mut log = self.lock_log();
        if !log.is_in_memory() && !log.is_poisoned() {
            // The producer state as of the log end, so that the next start
            // replays nothing (or only what a later crash left after it).
            if let Err(e) = snapshot::write(log.dir(), &producers, log.log_end_offset()) {
                tracing::warn!(topic = %self.topic, partition = self.index, error = %e,
                    "cannot write the producer state snapshot; the next start replays the log");
            }
        }
        let closed = std::mem::replace(&mut *log, Log::open_in_memory(LogConfig::default()));
        if let Err(e) = closed.close() {
            tracing::error!(topic = %self.topic, partition = self.index, error = %e, "closing the log failed");
        }
    }

    /// DeleteRecords: moves the log start offset up to `offset` (-1 = the
    /// high watermark) and returns the resulting log start offset.
    pub fn delete_records(&self, offset: i64) -> Result<i64, PartitionError> {
        let mut log = self.lock_log();
        let hw = self.high_watermark.load(Ordering::Acquire);
        let target = if offset == -1 { hw } else { offset };
        let start = log.log_start_offset();
        if target < 0 || target > hw {
            return Err(PartitionError::OffsetOutOfRange {
                offset: target,
                log_start: start,
                log_end: hw,
            });
        }
        if target > start {
            log.set_log_start_offset(target)?;
        }
        let start = log.log_start_offset();
        self.log_start_offset.store(start, Ordering::Release);
        Ok(start)
    }

    /// Registers a long-poll fetch to be woken by the next append.
    pub fn register_waiter(&self, waiter: &Arc<Notify>) {
        self.waiters.register(waiter);
    }

    fn wake_fetchers(&self) {
        self.waiters.wake_all();
    }

    /// Closes the log and removes its files.
    fn delete_files(self) -> Result<(), sluice_storage::StorageError> {
        let log = self.log.into_inner().unwrap_or_else(|e| e.into_inner());
        log.delete()?;
        Ok(())
    }
}

/// Compaction: the partition's side of the log cleaner (`src/cleaner.rs`).
impl Partition {
    /// The cleanable part of the log, for a compacted topic (`None` otherwise).
    pub fn cleanable_section(&self, now_ms: i64) -> Option<sluice_storage::CleanableSection> {
        let config = self.config();
        if !config.cleanup_policy.compact {
            return None;
        }
        let lso = self.last_stable_offset.load(Ordering::Acquire);
        let log = self.lock_log();
        Some(log.cleanable_section(now_ms, config.compaction.min_compaction_lag_ms, lso))
    }

    /// One cleaning pass (blocking): the log's lock is held to plan the pass
    /// and to swap the cleaned segments in, not while segments are read and
    /// written. `None` when there was nothing to clean.
    pub fn clean(
        &self,
        cleaner: &sluice_storage::CleanerConfig,
        now_ms: i64,
    ) -> Result<Option<sluice_storage::CleanOutcome>, PartitionError> {
        let config = self.config();
        if !config.cleanup_policy.compact {
            return Ok(None);
        }
        let request = {
            let producers = self.lock_producers();
            let hw = self.high_watermark.load(Ordering::Acquire);
            sluice_storage::CleanRequest {
                now_ms,
                delete_retention_ms: config.compaction.delete_retention_ms,
                min_compaction_lag_ms: config.compaction.min_compaction_lag_ms,
                first_unstable_offset: producers.first_open_transaction_offset().unwrap_or(hw),
                segment_bytes: config.log.segment_bytes,
                aborted: producers
                    .aborted
                    .all()
                    .iter()
                    .map(|a| sluice_storage::AbortedRange {
                        producer_id: a.producer_id,
                        first_offset: a.first_offset,
                        last_offset: a.last_offset,
                    })
                    .collect(),
                producer_last_offsets: producers
                    .iter()
                    .filter_map(|(_, e)| e.batches.back().map(|b| b.last_offset))
                    .collect(),
            }
        };
        let Some(job) = self.lock_log().begin_clean(request)? else {
            return Ok(None);
        };
        let prepared = job.run(cleaner)?;
        let outcome = {
            let mut log = self.lock_log();
            let outcome = log.finish_clean(prepared)?;
            self.log_start_offset
                .store(log.log_start_offset(), Ordering::Release);
            outcome
        };
        self.lock_producers()
            .aborted
            .trim_below(outcome.log_start_offset);
        Ok(Some(outcome))
    }
}
