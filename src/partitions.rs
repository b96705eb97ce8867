//! The topic-partition registry: each partition owns its storage log.
//!
//! Ownership: a [`Partition`]'s log sits behind its own mutex (never a global
//! lock). With one broker and no followers the high watermark equals the log
//! end offset as soon as an append returns; the last stable offset is the
//! first offset of the earliest open transaction, or the high watermark when
//! none is open. Fetch long-polls register a
//! [`Notify`] with every partition they read; an append wakes them all.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use dashmap::DashMap;
use sluice_protocol::records::{self, BatchHeader, ControlType};
use sluice_storage::{make_new_logs_durable, BatchMeta, Log, LogConfig, NewLog};
use tokio::sync::Notify;

use crate::creation::{self, Intent, Owned};
use crate::error::{PartitionError, TopicError};
use crate::group_commit::GroupCommit;
use crate::metadata::{BrokerDefaults, TopicMeta};
use crate::txn::aborted::AbortedTxn;
use crate::txn::producer_state::{BatchMetadata, ProducerBatch, ProducerStateTable, Verdict};
use crate::txn::snapshot;

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
    commits: GroupCommit,
    waiters: Mutex<Vec<Arc<Notify>>>,
}

impl Partition {
    /// Opens the partition's log; a log created here comes back with the
    /// [`NewLog`] that [`make_new_logs_durable`] must see before it is served.
    fn open(
        topic: &str,
        index: i32,
        dir: Option<&Path>,
        config: LogConfig,
        commits: GroupCommit,
    ) -> Result<(Self, Option<NewLog>), PartitionError> {
        let (log, new_log) = match dir {
            Some(dir) => {
                let (log, new_log) = Log::open_staged(dir, config)?;
                let report = log.recovery_report();
                if !report.clean {
                    tracing::info!(topic, partition = index, report = ?report, "recovered partition log");
                }
                (log, new_log)
            }
            None => (Log::open_in_memory(config), None),
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
            commits,
            log: Mutex::new(log),
            waiters: Mutex::new(Vec::new()),
        };
        Ok((partition, new_log))
    }

    fn lock_log(&self) -> MutexGuard<'_, Log> {
        // The log's in-memory state is only changed after its file writes
        // succeed, so a panic elsewhere while holding the lock leaves it usable.
        self.log.lock().unwrap_or_else(|e| e.into_inner())
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

    /// Assigns offsets to one validated batch and appends it.
    ///
    /// `batch` holds exactly the batch described by `header`. With
    /// `log_append_time = Some(now)` the batch is stamped with broker time.
    /// A batch of an idempotent producer is checked against its sequence
    /// and epoch first; a retry of one of its last five batches is answered
    /// with the original offsets and not written again.
    pub fn append(
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
    pub fn append_internal_transactional(
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
        producers.complete_transaction(producer_id, producer_epoch, control, info.base_offset);
        self.update_last_stable_offset(&producers);
        drop(producers);
        self.wake_fetchers();
        Ok(info)
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

    /// Whole batches starting with the one that holds `offset`, up to the
    /// high watermark; at least one batch when any is there.
    pub fn read(&self, offset: i64, max_bytes: usize) -> Result<Bytes, PartitionError> {
        let marks = self.watermarks();
        if offset < marks.log_start_offset || offset > marks.high_watermark {
            return Err(PartitionError::OffsetOutOfRange {
                offset,
                log_start: marks.log_start_offset,
                log_end: marks.high_watermark,
            });
        }
        if offset == marks.high_watermark {
            return Ok(Bytes::new());
        }
        Ok(self.lock_log().read(offset, max_bytes)?)
    }

    /// read_committed: whole batches from `offset` that lie below the last
    /// stable offset, and the aborted transactions overlapping them.
    pub fn read_committed(
        &self,
        offset: i64,
        max_bytes: usize,
    ) -> Result<(Bytes, Vec<AbortedTxn>), PartitionError> {
        let lso = self.watermarks().last_stable_offset;
        let mut bytes = self.read(offset, max_bytes)?;
        if offset >= lso {
            return Ok((Bytes::new(), Vec::new()));
        }
        // Cut after the last whole batch that ends below the LSO.
        let mut keep = 0;
        let mut rest: &[u8] = &bytes;
        while let Ok(header) = records::parse_header(rest) {
            if header.last_offset() >= lso || header.total_len() > rest.len() {
                break;
            }
            keep += header.total_len();
            rest = rest.get(header.total_len()..).unwrap_or_default();
        }
        bytes.truncate(keep);
        let aborted = self.lock_producers().aborted.overlapping(offset, lso);
        Ok((bytes, aborted))
    }

    /// Offset and timestamp of the first record with timestamp >= `ts`.
    pub fn offset_for_timestamp(&self, ts: i64) -> Result<Option<(i64, i64)>, PartitionError> {
        let found = self.lock_log().offset_for_timestamp(ts)?;
        let Some((base_offset, max_timestamp, batch)) = found else {
            return Ok(None);
        };
        // Refine to the exact record when the batch can be read record by
        // record (uncompressed, CreateTime); otherwise the batch start is
        // the first offset that can hold such a record.
        if let Some((offset, timestamp)) = exact_record(&batch, |t| t >= ts) {
            return Ok(Some((offset, timestamp)));
        }
        Ok(Some((base_offset, max_timestamp)))
    }

    /// Offset and timestamp of the record with the largest timestamp.
    pub fn max_timestamp(&self) -> Result<Option<(i64, i64)>, PartitionError> {
        let log = self.lock_log();
        let Some((timestamp, last_offset)) = log.max_timestamp() else {
            return Ok(None);
        };
        let batch = log.read(last_offset, 1)?;
        drop(log);
        if let Some(found) = exact_record(&batch, |t| t == timestamp) {
            return Ok(Some((found.0, timestamp)));
        }
        Ok(Some((last_offset, timestamp)))
    }

    /// Deletes whole segments past the topic's retention; moves the log start
    /// offset to the first remaining segment.
    pub fn apply_retention(
        &self,
        now_ms: i64,
        retention_ms: Option<i64>,
        retention_bytes: Option<u64>,
    ) -> Result<usize, PartitionError> {
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

    /// Waits until everything below `end` is fsynced, through the broker's
    /// flusher: waits that arrive while a flush runs share the next one.
    pub async fn make_durable(self: &Arc<Self>, end: i64) -> Result<(), PartitionError> {
        let outcomes = self.commits.durable(vec![(Arc::clone(self), end)]).await;
        outcomes
            .into_iter()
            .next()
            .unwrap_or_else(|| Err(crate::group_commit::not_flushed()))
    }

    /// Begins a flush unless everything is durable already (`None`).
    fn begin_flush(&self) -> Option<Result<sluice_storage::FlushTicket, PartitionError>> {
        let mut log = self.lock_log();
        if self.durable_to(log.log_end_offset()) {
            return None;
        }
        Some(log.begin_flush().map_err(PartitionError::from))
    }

    fn finish_flush(
        &self,
        ticket: &sluice_storage::FlushTicket,
        synced: std::io::Result<()>,
    ) -> Result<(), PartitionError> {
        if let Err(e) = self.lock_log().finish_flush(ticket, synced) {
            tracing::error!(topic = %self.topic, partition = self.index, error = %e,
                "fsync failed; the partition refuses further writes");
            return Err(e.into());
        }
        self.durable_offset
            .fetch_max(ticket.end(), Ordering::AcqRel);
        Ok(())
    }

    /// True when everything below `end` is fsynced.
    pub fn durable_to(&self, end: i64) -> bool {
        self.durable_offset.load(Ordering::Acquire) >= end
    }

    /// True when appended data is not fsynced yet.
    pub fn has_unflushed_data(&self) -> bool {
        self.durable_offset.load(Ordering::Acquire) < self.high_watermark.load(Ordering::Acquire)
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
        let mut waiters = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
        // Fetches that timed out left their Notify here; drop those.
        waiters.retain(|w| Arc::strong_count(w) > 1);
        waiters.push(Arc::clone(waiter));
    }

    fn wake_fetchers(&self) {
        let waiters = std::mem::take(&mut *self.waiters.lock().unwrap_or_else(|e| e.into_inner()));
        for w in waiters {
            w.notify_one();
        }
    }

    /// Closes the log and removes its files.
    fn delete_files(self) -> Result<(), PartitionError> {
        let log = self.log.into_inner().unwrap_or_else(|e| e.into_inner());
        log.delete()?;
        Ok(())
    }
}

/// Flushes `parts` with one filesystem commit (blocking); returns the
/// addresses of the partitions whose flush failed.
pub fn flush_many_now(parts: &[Arc<Partition>]) -> Vec<usize> {
    let mut failed = Vec::new();
    let mut tickets = Vec::with_capacity(parts.len());
    for p in parts {
        match p.begin_flush() {
            None => {}
            Some(Ok(ticket)) => tickets.push((p, ticket)),
            Some(Err(e)) => {
                tracing::error!(topic = %p.topic, partition = p.index, error = %e,
                    "fsync failed; the partition refuses further writes");
                failed.push(Arc::as_ptr(p) as usize);
            }
        }
    }
    let refs: Vec<&sluice_storage::FlushTicket> = tickets.iter().map(|(_, t)| t).collect();
    let synced = sluice_storage::sync_many(&refs);
    for ((p, ticket), result) in tickets.iter().zip(synced) {
        if p.finish_flush(ticket, result).is_err() {
            failed.push(Arc::as_ptr(*p) as usize);
        }
    }
    failed
}

/// Finds the first record in `batch` whose timestamp matches `pred`,
/// returning (offset, timestamp). `None` if the batch cannot be iterated
/// (compressed) or no record matches.
fn exact_record(batch: &[u8], pred: impl Fn(i64) -> bool) -> Option<(i64, i64)> {
    let header = records::parse_header(batch).ok()?;
    if header.timestamp_type() == records::TimestampType::LogAppendTime {
        return pred(header.max_timestamp).then_some((header.base_offset, header.max_timestamp));
    }
    let iter = records::records(batch).ok()?;
    for record in iter {
        let record = record.ok()?;
        let ts = header.base_timestamp.saturating_add(record.timestamp_delta);
        if pred(ts) {
            return Some((header.base_offset + i64::from(record.offset_delta), ts));
        }
    }
    None
}

/// All partitions of all topics.
pub struct Partitions {
    data_dir: PathBuf,
    /// Logs in memory only (`--ephemeral`).
    ephemeral: bool,
    map: DashMap<(String, i32), Arc<Partition>>,
    /// The `--fsync always` flusher that produce requests share.
    pub group_commit: GroupCommit,
    /// Set when the broker begins to shut down: long polls answer at once.
    stopping: AtomicBool,
    /// Held while a topic is created, grown or deleted: one such change at a
    /// time, so that limits are checked against settled counts and two
    /// creations never make the same directories.
    changes: Mutex<()>,
}

impl Partitions {
    pub fn new(data_dir: &Path, ephemeral: bool) -> Self {
        Partitions {
            data_dir: data_dir.to_path_buf(),
            ephemeral,
            map: DashMap::new(),
            group_commit: GroupCommit::default(),
            stopping: AtomicBool::new(false),
            changes: Mutex::new(()),
        }
    }

    /// Broker shutdown begins: every parked long-poll fetch is woken and
    /// answered with what there is now, and new ones do not wait.
    pub fn stop_long_polls(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        for partition in self.all() {
            partition.wake_fetchers();
        }
    }

    /// Whether long polls must answer at once (shutdown has begun). A fetch
    /// checks this after registering its waiter, so it cannot miss the wake.
    pub fn shutting_down(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Serializes topic creation, growth and deletion (see `changes`).
    pub fn lock_changes(&self) -> MutexGuard<'_, ()> {
        self.changes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// [`Self::lock_changes`] for a new topic change: `None` once shutdown has
    /// begun. Shutdown takes the lock before it closes the logs, so a change
    /// either finishes before they are closed or never starts.
    pub fn begin_change(&self) -> Option<MutexGuard<'_, ()>> {
        let guard = self.lock_changes();
        (!self.shutting_down()).then_some(guard)
    }

    /// Closes every log cleanly (broker shutdown).
    pub fn close_all(&self) {
        for partition in self.all() {
            partition.close();
        }
        self.map.clear();
    }

    pub fn get(&self, topic: &str, index: i32) -> Option<Arc<Partition>> {
        self.map
            .get(&(topic.to_string(), index))
            .map(|p| Arc::clone(p.value()))
    }

    /// Every open partition.
    pub fn all(&self) -> Vec<Arc<Partition>> {
        self.map.iter().map(|p| Arc::clone(p.value())).collect()
    }

    /// Opens (creating when new) every partition of `topic`.
    pub fn open_topic(
        &self,
        topic: &TopicMeta,
        defaults: &BrokerDefaults,
    ) -> Result<(), PartitionError> {
        self.open_partitions(topic, 0, defaults)
    }

    /// Creates partitions `from..topic.partitions` of a topic being created
    /// (`from` = 0) or grown, all or nothing; `commit` records the change in
    /// the metadata log. The caller holds [`Self::lock_changes`] and has
    /// checked that no topic owns those partitions. In order:
    ///
    /// 1. a creation intent a failed rollback left is rolled back;
    /// 2. directories in the way (no topic owns them) are set aside as
    ///    `<dir>.orphaned`, never deleted;
    /// 3. the creation intent naming the new directories is made durable;
    /// 4. the partitions are opened (created) and made durable together;
    /// 5. `commit` writes the metadata record: the topic now exists;
    /// 6. the partitions are served and the intent is removed.
    ///
    /// A failure before 5 removes what 4 made and returns the error; a crash
    /// before 5 leaves an intent that the next start rolls back the same
    /// way. `owned` tells which partitions a known topic owns (never removed).
    pub fn create<T>(
        &self,
        topic: &TopicMeta,
        from: i32,
        defaults: &BrokerDefaults,
        owned: Owned<'_>,
        commit: impl FnOnce() -> Result<T, TopicError>,
    ) -> Result<T, TopicError> {
        let storage = |e: std::io::Error| TopicError::Storage(e.to_string());
        let range = from..topic.partitions;
        if self.ephemeral {
            let (opened, _) = self
                .open_unserved(topic, range, defaults)
                .map_err(|e| TopicError::Storage(e.to_string()))?;
            let committed = commit()?;
            self.serve(topic, opened);
            return Ok(committed);
        }
        creation::roll_back_leftover(&self.data_dir, owned).map_err(storage)?;
        creation::set_aside_in_the_way(&self.data_dir, &topic.name, range.clone())
            .map_err(storage)?;
        let intent = Intent::begin(&self.data_dir, &topic.name, range.clone()).map_err(storage)?;
        let opened = self
            .open_unserved(topic, range, defaults)
            .and_then(|(opened, created)| {
                make_new_logs_durable(&created)?;
                Ok(opened)
            });
        let opened = match opened {
            Ok(opened) => opened,
            Err(e) => {
                tracing::error!(topic = %topic.name, from, to = topic.partitions, error = %e,
                    "cannot create partitions; removing what was made");
                intent.roll_back(owned);
                return Err(TopicError::Storage(e.to_string()));
            }
        };
        match commit() {
            Ok(committed) => {
                self.serve(topic, opened);
                intent.finish();
                Ok(committed)
            }
            Err(e) => {
                tracing::error!(topic = %topic.name, error = %e,
                    "cannot record the new partitions; removing them");
                drop(opened);
                // Should the record have reached the disk after all, the
                // next start finds the topic and creates its partitions anew.
                intent.roll_back(owned);
                Err(e)
            }
        }
    }

    /// Opens partitions `range` of `topic` without serving them, with the
    /// logs created among them (see `sluice_storage::make_new_logs_durable`).
    fn open_unserved(
        &self,
        topic: &TopicMeta,
        range: std::ops::Range<i32>,
        defaults: &BrokerDefaults,
    ) -> Result<(Vec<Partition>, Vec<NewLog>), PartitionError> {
        let config = log_config(topic, defaults);
        let mut opened = Vec::new();
        let mut created = Vec::new();
        for index in range {
            let dir = creation::partition_dir(&self.data_dir, &topic.name, index);
            let dir = (!self.ephemeral).then_some(dir.as_path());
            let (partition, new_log) = Partition::open(
                &topic.name,
                index,
                dir,
                config.clone(),
                self.group_commit.clone(),
            )?;
            opened.push(partition);
            created.extend(new_log);
        }
        Ok((opened, created))
    }

    fn serve(&self, topic: &TopicMeta, opened: Vec<Partition>) {
        for partition in opened {
            self.map
                .insert((topic.name.clone(), partition.index), Arc::new(partition));
        }
    }

    /// Opens partitions `from..topic.partitions` and serves them once the
    /// logs created among them are durable, all with a few filesystem
    /// commits (see `sluice_storage::make_new_logs_durable`).
    fn open_partitions(
        &self,
        topic: &TopicMeta,
        from: i32,
        defaults: &BrokerDefaults,
    ) -> Result<(), PartitionError> {
        let (opened, created) = self.open_unserved(topic, from..topic.partitions, defaults)?;
        make_new_logs_durable(&created)?;
        self.serve(topic, opened);
        Ok(())
    }

    /// Deletes `topic`: `commit` records the deletion in the metadata log,
    /// then its partitions and files go. The caller holds
    /// [`Self::lock_changes`]. An intent naming the topic's directories (the
    /// same file as a creation's) is made durable first, so that a crash
    /// after the record, or a removal that failed, is finished at the next
    /// start (or creation) rather than leaving directories that look orphaned.
    pub fn delete<T>(
        &self,
        topic: &TopicMeta,
        owned: Owned<'_>,
        commit: impl FnOnce() -> Result<T, TopicError>,
    ) -> Result<T, TopicError> {
        let storage = |e: String| TopicError::Storage(e);
        if self.ephemeral {
            let committed = commit()?;
            self.delete_topic(topic)
                .map_err(|e| storage(e.to_string()))?;
            return Ok(committed);
        }
        creation::roll_back_leftover(&self.data_dir, owned).map_err(|e| storage(e.to_string()))?;
        let intent = Intent::begin(&self.data_dir, &topic.name, 0..topic.partitions)
            .map_err(|e| storage(e.to_string()))?;
        // If the record failed, the intent stays: it removes nothing while
        // the topic is known, and finishes the deletion if the record made
        // it to disk after all.
        let committed = commit()?;
        match self.delete_topic(topic) {
            Ok(()) => {
                intent.finish();
                Ok(committed)
            }
            Err(e) => {
                tracing::error!(topic = %topic.name, error = %e,
                    "cannot remove the files of a deleted topic; retrying now and at the next start");
                intent.roll_back(owned);
                Err(storage(e.to_string()))
            }
        }
    }

    /// Removes every partition of `topic` and its files.
    pub fn delete_topic(&self, topic: &TopicMeta) -> Result<(), PartitionError> {
        for index in 0..topic.partitions {
            if let Some((_, partition)) = self.map.remove(&(topic.name.clone(), index)) {
                partition.wake_fetchers();
                match Arc::try_unwrap(partition) {
                    Ok(p) => p.delete_files()?,
                    Err(_) if self.ephemeral => {}
                    Err(shared) => {
                        // A request still holds it; remove the files by path.
                        let dir = self.data_dir.join(format!("{}-{}", shared.topic, index));
                        std::fs::remove_dir_all(&dir)
                            .map_err(sluice_storage::StorageError::from)?;
                    }
                }
            } else if !self.ephemeral {
                // Never opened (e.g. half-created before a crash): remove leftovers.
                let dir = self.data_dir.join(format!("{}-{}", topic.name, index));
                if dir.exists() {
                    std::fs::remove_dir_all(&dir).map_err(sluice_storage::StorageError::from)?;
                }
            }
        }
        Ok(())
    }
}

/// The storage settings for a topic: its configs over broker defaults.
pub fn log_config(topic: &TopicMeta, defaults: &BrokerDefaults) -> LogConfig {
    let num = |key: &str| -> Option<u64> { topic.config(key, defaults)?.parse::<u64>().ok() };
    let base = LogConfig::default();
    LogConfig {
        segment_bytes: num("segment.bytes").unwrap_or(base.segment_bytes),
        segment_ms: num("segment.ms").or(base.segment_ms),
        index_interval_bytes: num("index.interval.bytes").unwrap_or(base.index_interval_bytes),
    }
}
