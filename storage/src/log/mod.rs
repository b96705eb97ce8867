//! A partition's log: an ordered run of segments, the last of which (the active
//! segment) takes appends.
//!
//! Directory contents (all owned by [`Log`]):
//!
//! - `<20-digit base offset>.log|.index|.timeindex` per segment, see `segment/` and
//!   [`crate::index`];
//! - `log-start-offset`, `recovery-point` and `.clean-shutdown`, see `checkpoint.rs`.
//!
//! An in-memory log ([`Log::open_in_memory`]) has the same segments, rolls, indexes,
//! retention and answers, with the bytes in memory; it never touches the disk.
//!
//! Durability: [`Log::append`] writes but does not fsync; [`Log::flush`] fsyncs the
//! data; [`Log::close`] flushes everything and marks a clean shutdown, which spares the
//! next open its CRC checks (see `recovery/`). A failed fsync poisons the log until
//! it is reopened; a failed write that wrote nothing (or was cut back) does not (see
//! docs/storage-format.md, "Failed writes and fsyncs"). Every failure is logged,
//! rate-limited (`errors.rs`).
//!
//! Invariants: segments are sorted by base offset and do not overlap (each segment's
//! `next_offset` is at most the next one's base offset); there is always an active
//! segment, and only it holds a file descriptor; `first segment base <=
//! log_start_offset <= log_end_offset`; the persisted recovery point, if any, is at
//! most the log end offset.

mod cleaning;
mod creation;
mod errors;
mod removal;

use std::fs;
use std::mem;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use crate::batch::BatchHeader;
use crate::checkpoint::{self, LOG_START, RECOVERY_POINT};
use crate::recovery::{self, RecoveryReport};
use crate::segment::{self, Backend, Segment};
use crate::StorageError;

use self::errors::ErrorReport;
pub use creation::{make_new_logs_durable, NewLog};

/// A flush persists a new recovery point once this many bytes were appended since the
/// last one (and at the first flush after opening): often enough that recovery after a
/// crash checks little more than what was not flushed, rarely enough that the extra
/// fsyncs do not matter.
const RECOVERY_POINT_INTERVAL_BYTES: u64 = 64 << 20;

/// Per-partition storage settings (Kafka's topic configs of the same names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// `segment.bytes`: roll before an append that would make the active segment
    /// larger than this. A batch larger than this still goes into a (new) segment of
    /// its own. Capped at 4 GiB, the reach of an index position. Default 1 GiB.
    pub segment_bytes: u64,
    /// `segment.ms`: roll before an append when the active segment's first append
    /// (wall clock; for a reopened segment, its file's creation time) is more than this
    /// many ms ago. Default `None`: never roll by time.
    pub segment_ms: Option<u64>,
    /// `index.interval.bytes`: log bytes between offset/time index entries. Default 4096.
    pub index_interval_bytes: u64,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: 1 << 30,
            segment_ms: None,
            index_interval_bytes: 4096,
        }
    }
}

/// What the caller asserts about a batch handed to [`Log::append`]. It must agree with
/// the batch header (base offset, base + last offset delta, max timestamp), which is
/// what recovery reads back after a restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchMeta {
    pub base_offset: i64,
    pub last_offset: i64,
    pub max_timestamp: i64,
}

/// What [`Log::apply_retention`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionOutcome {
    /// Whole segments deleted (the old active segment included, if it expired).
    pub segments_deleted: usize,
    /// The log start offset afterwards (moved up to the first remaining segment).
    pub new_log_start_offset: i64,
}

/// The log of one partition. Not internally synchronized: the owner serializes access
/// (readers need `&self`, writers `&mut self`).
#[derive(Debug)]
pub struct Log {
    /// The partition directory; empty for an in-memory log.
    dir: PathBuf,
    backend: Backend,
    config: LogConfig,
    /// Segments before the active one, by base offset.
    older: Vec<Segment>,
    active: Segment,
    log_start_offset: i64,
    /// Position (in [`Self::segments`] order) of the first segment that may hold data
    /// not yet fsynced.
    first_unflushed: usize,
    /// Files were created or removed since the last flush.
    dir_dirty: bool,
    /// A write or fsync failed; no more writes (see [`StorageError::Poisoned`]).
    poisoned: bool,
    /// The recovery point on disk.
    recovery_point: Option<i64>,
    /// Bytes appended since the recovery point was last persisted.
    bytes_since_recovery_point: u64,
    recovery: RecoveryReport,
    /// Storage failures, logged rate-limited (see `errors.rs`).
    errors: ErrorReport,
    /// Where the part not yet compacted starts (`cleaner-offset`), if ever cleaned.
    first_dirty_offset: Option<i64>,
    /// The earliest delete horizon the last cleaning pass kept (see `cleaner/`).
    earliest_delete_horizon: Option<i64>,
}

impl Log {
    /// Opens (creating the directory if missing) the log in `dir`, recovering it (see
    /// `recovery/`): index files that are missing or do not match their `.log` are
    /// rebuilt; without a clean-shutdown marker, CRC-32Cs of the batches that may be
    /// torn are checked; the first bad batch and everything after it are cut off with
    /// a warning. [`Self::recovery_report`] tells what was found.
    ///
    /// An empty directory gives an empty log at offset 0 (or at the persisted log start
    /// offset, if only that file is there).
    pub fn open(dir: &Path, config: LogConfig) -> Result<Log, StorageError> {
        Ok(Self::open_with(dir, config, false)?.0)
    }

    /// [`Self::open`], except that a log created here is not yet durable: its
    /// files and recovery point are written without fsyncs, and the returned
    /// [`NewLog`] must go through [`make_new_logs_durable`] before the log
    /// takes appends. Creating many logs at once (a topic's partitions) then
    /// costs a few filesystem commits instead of three fsyncs per log.
    pub fn open_staged(
        dir: &Path,
        config: LogConfig,
    ) -> Result<(Log, Option<NewLog>), StorageError> {
        Self::open_with(dir, config, true)
    }

    fn open_with(
        dir: &Path,
        config: LogConfig,
        staged: bool,
    ) -> Result<(Log, Option<NewLog>), StorageError> {
        let new_dir = !dir.try_exists()?;
        fs::create_dir_all(dir)?;
        let recovered = recovery::recover_log(dir, &config)?;
        let mut segments = recovered.segments;
        let mut dir_dirty = recovered.dir_dirty;
        let persisted_start = recovered.log_start_offset;
        let mut recovered_point = recovered.recovery_point;
        // The first flush of a log that holds data persists a fresh recovery
        // point; a new log writes one below.
        let mut bytes_since_recovery_point = RECOVERY_POINT_INTERVAL_BYTES;
        let mut new_log = None;
        let mut active = match segments.pop() {
            Some(active) => active,
            None => {
                // A new log's files and its recovery point (its start: a crash
                // checks everything) are made durable when the partition is
                // created (here, or staged for `make_new_logs_durable`), rather
                // than by its first flush: a producer that starts writing to
                // 1,000 new partitions should not wait for thousands of file
                // and directory fsyncs.
                let start = persisted_start.unwrap_or(0);
                let segment = Segment::create(dir, start, Backend::Disk)?;
                if staged {
                    RECOVERY_POINT.stage(dir, start)?;
                    new_log = Some(NewLog {
                        dir: dir.to_path_buf(),
                        new_dir,
                    });
                } else {
                    RECOVERY_POINT.write(dir, start)?; // syncs `dir` too
                    if new_dir {
                        if let Some(parent) = dir.parent() {
                            checkpoint::sync_dir(parent)?;
                        }
                    }
                }
                recovered_point = Some(start);
                bytes_since_recovery_point = 0;
                dir_dirty = false;
                segment
            }
        };
        active.activate()?;
        let first_base = segments.first().unwrap_or(&active).base_offset();
        let log_end_offset = active.next_offset();
        let mut log_start_offset = persisted_start.unwrap_or(first_base).max(first_base);
        if log_start_offset > log_end_offset {
            tracing::warn!(dir = %dir.display(), log_start_offset, log_end_offset,
                "persisted log start offset is beyond the recovered log end; using the log end");
            log_start_offset = log_end_offset;
        }
        let mut recovery_point = recovered_point;
        if recovery_point.is_some_and(|point| point > log_end_offset) {
            // Recovery cut below it: what will be appended there was never fsynced.
            RECOVERY_POINT.write(dir, log_end_offset)?;
            recovery_point = Some(log_end_offset);
        }
        // After a crash of the process alone, what recovery read may still be only in
        // the page cache: segments from the recovery point on count as unflushed, so
        // the first flush fsyncs them before it persists a new recovery point.
        let first_unflushed = match (recovered.report.clean, recovery_point) {
            (true, _) => segments.len(),
            (false, Some(point)) => segments.partition_point(|s| s.next_offset() <= point),
            (false, None) => 0,
        };
        let first_dirty_offset = match crate::checkpoint::CLEANER_OFFSET.read(dir) {
            Ok(offset) => offset,
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e,
                    "unreadable cleaner offset; the next cleaning pass starts at the log start");
                None
            }
        };
        let earliest_delete_horizon =
            crate::checkpoint::CLEANER_HORIZON
                .read(dir)
                .unwrap_or_else(|e| {
                    tracing::warn!(dir = %dir.display(), error = %e,
                    "unreadable cleaner delete horizon; expired tombstones wait for the next pass");
                    None
                });
        let log = Log {
            first_dirty_offset,
            earliest_delete_horizon,
            dir: dir.to_path_buf(),
            backend: Backend::Disk,
            config,
            first_unflushed,
            older: segments,
            active,
            log_start_offset,
            dir_dirty,
            poisoned: false,
            recovery_point,
            bytes_since_recovery_point,
            recovery: recovered.report,
            errors: ErrorReport::new(dir.to_path_buf()),
        };
        Ok((log, new_log))
    }

    /// A new empty log (at offset 0) that keeps its segments in memory and writes
    /// nothing to disk: the same API and behaviour as a log on disk, except that
    /// [`Self::flush`] and [`Self::close`] have nothing to do, [`Self::delete`] just
    /// drops it, and [`Self::dir`] is empty. Its data is gone when it is dropped.
    pub fn open_in_memory(config: LogConfig) -> Log {
        Log {
            dir: PathBuf::new(),
            backend: Backend::Memory,
            config,
            older: Vec::new(),
            active: Segment::in_memory(0),
            log_start_offset: 0,
            first_unflushed: 0,
            dir_dirty: false,
            poisoned: false,
            recovery_point: None,
            bytes_since_recovery_point: 0,
            recovery: RecoveryReport {
                clean: true,
                ..RecoveryReport::default()
            },
            errors: ErrorReport::new(PathBuf::from("<memory>")),
            first_dirty_offset: None,
            earliest_delete_horizon: None,
        }
    }

    /// The storage settings in force.
    pub fn config(&self) -> &LogConfig {
        &self.config
    }

    /// Replaces the storage settings while the log is open (a topic's
    /// configs changed): the next append rolls and indexes by them. What is
    /// written stays as it is; the active segment rolls once it is past the
    /// new `segment_bytes` or `segment_ms`.
    pub fn set_config(&mut self, config: LogConfig) {
        self.config = config;
    }

    /// What [`Self::open`] found and did.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.recovery
    }

    /// Whether this log was made by [`Self::open_in_memory`].
    pub fn is_in_memory(&self) -> bool {
        self.backend == Backend::Memory
    }

    /// The offset the next appended batch must start at.
    pub fn log_end_offset(&self) -> i64 {
        self.active.next_offset()
    }

    /// The first offset that can be read.
    pub fn log_start_offset(&self) -> i64 {
        self.log_start_offset
    }

    /// Raises the log start offset to `offset` and persists it (DeleteRecords). Lower
    /// or equal values are a no-op: the start never moves back, except by
    /// [`Self::truncate_to`]. Segments wholly below the start stay until
    /// [`Self::apply_retention`] removes them; reads below the start fail with
    /// `OffsetOutOfRange`.
    pub fn set_log_start_offset(&mut self, offset: i64) -> Result<(), StorageError> {
        let result = self.move_log_start(offset);
        self.noted("set log start offset", result)
    }

    fn move_log_start(&mut self, offset: i64) -> Result<(), StorageError> {
        self.check_writable()?;
        if offset > self.log_end_offset() {
            return Err(self.out_of_range(offset));
        }
        if offset > self.log_start_offset {
            self.persist_log_start(offset)?;
            self.log_start_offset = offset;
        }
        Ok(())
    }

    /// Appends one whole batch. `meta.base_offset` must be [`Self::log_end_offset`]
    /// and `meta` must agree with the batch header. Rolls to a new segment first when
    /// size, time or the index's offset range call for it. Does not fsync; see
    /// [`Self::flush`]. A failed write leaves the log as it was if the partial write
    /// can be undone, and poisons it otherwise.
    pub fn append(&mut self, batch: &[u8], meta: BatchMeta) -> Result<(), StorageError> {
        let result = self.append_parts_at(batch, &[], meta, now_ms());
        self.noted("append", result)
    }

    /// [`Self::append`] for a batch given in two parts: `head` (at least its
    /// whole 61-byte header) and the `rest`, written together with one
    /// vectored write. The broker patches a copy of the header (base offset,
    /// leader epoch) and writes the records straight from the request.
    pub fn append_split(
        &mut self,
        head: &[u8],
        rest: &[u8],
        meta: BatchMeta,
    ) -> Result<(), StorageError> {
        let result = self.append_parts_at(head, rest, meta, now_ms());
        self.noted("append", result)
    }

    /// [`Self::append`] with the wall clock (ms since the epoch) given, for tests.
    #[cfg(test)]
    pub(crate) fn append_at(
        &mut self,
        batch: &[u8],
        meta: BatchMeta,
        now_ms: u64,
    ) -> Result<(), StorageError> {
        self.append_parts_at(batch, &[], meta, now_ms)
    }

    fn append_parts_at(
        &mut self,
        head: &[u8],
        rest: &[u8],
        meta: BatchMeta,
        now_ms: u64,
    ) -> Result<(), StorageError> {
        self.check_writable()?;
        let expected = self.log_end_offset();
        if meta.base_offset != expected {
            return Err(StorageError::NonMonotonicOffset {
                expected,
                got: meta.base_offset,
            });
        }
        let size = (head.len() + rest.len()) as u64;
        check_batch(head, size, &meta)?;
        if self
            .active
            .should_roll(size, meta.last_offset, &self.config, now_ms)
        {
            self.roll(meta.base_offset)?;
        }
        let position = self.active.size();
        if let Err(e) = self.active.write_batch(head, rest) {
            if let Err(undo) = self.active.discard_unaccounted() {
                tracing::error!(segment = %self.active.log_path().display(), error = %undo,
                    "cannot undo a failed append; log poisoned");
                self.poisoned = true;
            }
            return Err(e.into());
        }
        let interval = self.config.index_interval_bytes;
        if let Err(e) = self
            .active
            .track_appended(position, size, &meta, interval, now_ms)
        {
            self.poisoned = true;
            return Err(e);
        }
        self.bytes_since_recovery_point = self.bytes_since_recovery_point.saturating_add(size);
        Ok(())
    }

    /// Makes everything appended so far durable: fsyncs the active segment's `.log`,
    /// all files of the segments rolled since the last flush, and the directory if
    /// files were created or removed. The active segment's buffered index entries are
    /// written, not fsynced (indexes can be rebuilt). At the first flush after opening
    /// and then after every 64 MiB appended, the log end is also persisted as the
    /// recovery point (where a recovery after a crash starts checking CRCs). A failure poisons the log: the data may or may not be on disk, so nothing
    /// more is accepted. A no-op for in-memory logs.
    pub fn flush(&mut self) -> Result<(), StorageError> {
        let flushed = self.check_writable().and_then(|()| {
            let flushed = self.sync_unflushed();
            if let Err(e) = &flushed {
                tracing::error!(dir = %self.dir.display(), error = %e, "fsync failed; log poisoned");
                self.poisoned = true;
            }
            flushed
        });
        self.noted("flush", flushed)
    }

    /// The first half of a flush that lets appends go on during the fsync
    /// of the active segment (group commit): under the caller's lock, it
    /// fsyncs what rarely needs it (segments rolled since the last flush,
    /// the directory) and returns a [`FlushTicket`] holding a second handle
    /// on the active `.log` and the log end it covers. The caller runs
    /// [`FlushTicket::sync`] without the lock, then hands the outcome to
    /// [`Self::finish_flush`] under the lock again. Together they promise
    /// what [`Self::flush`] promises for everything below the ticket's end.
    pub fn begin_flush(&mut self) -> Result<FlushTicket, StorageError> {
        let begun = self.begin_flush_inner();
        self.noted("flush", begun)
    }

    fn begin_flush_inner(&mut self) -> Result<FlushTicket, StorageError> {
        self.check_writable()?;
        let prepared = self.prepare_flush();
        match prepared {
            Ok(file) => Ok(FlushTicket {
                file,
                end: self.log_end_offset(),
            }),
            Err(e) => {
                tracing::error!(dir = %self.dir.display(), error = %e, "fsync failed; log poisoned");
                self.poisoned = true;
                Err(e)
            }
        }
    }

    fn prepare_flush(&mut self) -> Result<Option<std::fs::File>, StorageError> {
        if self.is_in_memory() {
            return Ok(None);
        }
        let first = self.first_unflushed.min(self.older.len());
        for segment in self.older.get_mut(first..).unwrap_or_default() {
            segment.sync_all()?;
        }
        let file = self.active.prepare_sync_data()?;
        if self.dir_dirty {
            checkpoint::sync_dir(&self.dir)?;
        }
        self.first_unflushed = self.older.len();
        self.dir_dirty = false;
        Ok(file)
    }

    /// The second half of [`Self::begin_flush`]: `synced` is the outcome of
    /// [`FlushTicket::sync`]. A failure poisons the log (data below the
    /// ticket's end may or may not be on disk); success may persist the
    /// ticket's end as the recovery point.
    pub fn finish_flush(
        &mut self,
        ticket: &FlushTicket,
        synced: std::io::Result<()>,
    ) -> Result<(), StorageError> {
        let finished = self.finish_flush_inner(ticket, synced);
        self.noted("flush", finished)
    }

    fn finish_flush_inner(
        &mut self,
        ticket: &FlushTicket,
        synced: std::io::Result<()>,
    ) -> Result<(), StorageError> {
        let synced = synced
            .and_then(|()| crate::faults::check(crate::faults::Op::Fsync, self.active.log_path()));
        if let Err(e) = synced {
            tracing::error!(dir = %self.dir.display(), error = %e, "fsync failed; log poisoned");
            self.poisoned = true;
            return Err(e.into());
        }
        self.check_writable()?;
        if self.is_in_memory() {
            return Ok(());
        }
        let end = ticket.end;
        let due = self.bytes_since_recovery_point >= RECOVERY_POINT_INTERVAL_BYTES;
        if due && self.recovery_point.is_none_or(|r| r < end) {
            if let Err(e) = RECOVERY_POINT.write(&self.dir, end) {
                tracing::error!(dir = %self.dir.display(), error = %e, "fsync failed; log poisoned");
                self.poisoned = true;
                return Err(e);
            }
            self.recovery_point = Some(end);
            self.bytes_since_recovery_point = 0;
        }
        Ok(())
    }

    fn sync_unflushed(&mut self) -> Result<(), StorageError> {
        if self.is_in_memory() {
            return Ok(());
        }
        let first = self.first_unflushed.min(self.older.len());
        for segment in self.older.get_mut(first..).unwrap_or_default() {
            segment.sync_all()?;
        }
        crate::faults::check(crate::faults::Op::Fsync, self.active.log_path())?;
        self.active.sync_data()?;
        if self.dir_dirty {
            checkpoint::sync_dir(&self.dir)?;
        }
        self.first_unflushed = self.older.len();
        self.dir_dirty = false;
        let end = self.log_end_offset();
        let due = self.bytes_since_recovery_point >= RECOVERY_POINT_INTERVAL_BYTES;
        if due && self.recovery_point != Some(end) {
            RECOVERY_POINT.write(&self.dir, end)?;
            self.recovery_point = Some(end);
            self.bytes_since_recovery_point = 0;
        }
        Ok(())
    }

    /// Shuts the log down cleanly: flushes it, fsyncs the active segment's indexes,
    /// persists the log end as the recovery point and writes the `.clean-shutdown`
    /// marker, so that the next [`Self::open`] trusts the data without CRC checks.
    /// Call it at broker shutdown after the last append. On error (or for a poisoned
    /// log) no marker is written and the next open does a full recovery. For an
    /// in-memory log it is the same as dropping it.
    pub fn close(mut self) -> Result<(), StorageError> {
        let closed = self.close_inner();
        self.noted("close", closed)
    }

    fn close_inner(&mut self) -> Result<(), StorageError> {
        self.check_writable()?;
        if self.is_in_memory() {
            return Ok(());
        }
        let closed = self.close_files();
        if let Err(e) = &closed {
            tracing::error!(dir = %self.dir.display(), error = %e,
                "clean shutdown failed; the next open recovers in full");
            self.poisoned = true;
        }
        closed
    }

    fn close_files(&mut self) -> Result<(), StorageError> {
        self.sync_unflushed()?;
        self.active.sync_all()?;
        let end = self.log_end_offset();
        if self.recovery_point != Some(end) {
            RECOVERY_POINT.write(&self.dir, end)?;
            self.recovery_point = Some(end);
        }
        checkpoint::mark_clean_shutdown(&self.dir)?;
        Ok(())
    }

    /// Whole batches, starting with the batch that contains `offset` (or the first
    /// batch after it, if `offset` falls in a gap): as many as fit in `max_bytes`, but
    /// always at least one when any exists at or after `offset`. Data comes from one
    /// segment per call. Empty at the log end; `OffsetOutOfRange` below the log start
    /// or beyond the log end. Every batch returned passed its CRC-32C, framing and
    /// offset checks; a read whose first batch fails them gets `CorruptBatch` (logged
    /// once), naming where the next intact batch starts (see `segment/verify.rs`).
    pub fn read(&self, offset: i64, max_bytes: usize) -> Result<Bytes, StorageError> {
        let read = self.read_inner(offset, max_bytes);
        self.noted("read", read)
    }

    fn read_inner(&self, offset: i64, max_bytes: usize) -> Result<Bytes, StorageError> {
        let end = self.log_end_offset();
        if offset < self.log_start_offset || offset > end {
            return Err(self.out_of_range(offset));
        }
        if offset == end {
            return Ok(Bytes::new());
        }
        for segment in self.segments_from(offset) {
            if let Some(bytes) = segment.read(offset, max_bytes)? {
                return Ok(bytes);
            }
        }
        Ok(Bytes::new())
    }

    /// The first batch (at or after the log start offset) whose max_timestamp is
    /// `>= timestamp`: its base offset, max timestamp and bytes, so the caller can find
    /// the exact record. Segments whose max timestamp is smaller are skipped.
    pub fn offset_for_timestamp(
        &self,
        timestamp: i64,
    ) -> Result<Option<(i64, i64, Bytes)>, StorageError> {
        for segment in self.segments() {
            let reaches = segment
                .max_timestamp()
                .is_some_and(|m| m.timestamp >= timestamp);
            if !reaches || segment.next_offset() <= self.log_start_offset {
                continue;
            }
            if let Some((header, bytes)) =
                segment.find_by_timestamp(timestamp, self.log_start_offset)?
            {
                return Ok(Some((header.base_offset, header.max_timestamp, bytes)));
            }
        }
        Ok(None)
    }

    /// The largest max_timestamp of any batch, with the last offset of the (first)
    /// batch that has it. `None` for an empty log.
    pub fn max_timestamp(&self) -> Option<(i64, i64)> {
        self.segments()
            .filter_map(Segment::max_timestamp)
            .fold(None, |best: Option<segment::MaxTimestamp>, m| match best {
                Some(b) if b.timestamp >= m.timestamp => Some(b),
                _ => Some(m),
            })
            .map(|m| (m.timestamp, m.last_offset))
    }

    /// Number of segments, the active one included (always at least 1).
    pub fn segment_count(&self) -> usize {
        self.older.len() + 1
    }

    /// The partition directory (empty for an in-memory log).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Total bytes of batches in all segments (for retention by size).
    pub fn size_bytes(&self) -> u64 {
        self.segments().map(Segment::size).sum()
    }

    /// Whether an earlier failure made the log refuse writes.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// Makes a new empty segment at `base_offset` the active one. The old one's
    /// buffered index entries are written first; on error nothing changed.
    fn roll(&mut self, base_offset: i64) -> Result<(), StorageError> {
        self.active.write_out_indexes(false)?;
        let new = Segment::create(&self.dir, base_offset, self.backend)?;
        tracing::debug!(dir = %self.dir.display(), base_offset, "rolled a new log segment");
        let mut old = mem::replace(&mut self.active, new);
        let sealed = old.seal();
        self.older.push(old);
        self.dir_dirty = true;
        sealed.map_err(StorageError::from)
    }

    /// Durably writes `log-start-offset`. A failed fsync poisons the log (the rule
    /// for every fsync); a failure that left the old file standing does not.
    fn persist_log_start(&mut self, offset: i64) -> Result<(), StorageError> {
        if self.is_in_memory() {
            return Ok(());
        }
        match LOG_START.replace(&self.dir, offset) {
            Ok(()) => Ok(()),
            Err(checkpoint::ReplaceFailed::Fsync(e)) => {
                tracing::error!(dir = %self.dir.display(), error = %e,
                    "fsync of log-start-offset failed; log poisoned until restart");
                self.poisoned = true;
                Err(e)
            }
            Err(checkpoint::ReplaceFailed::OldStands(e)) => Err(e),
        }
    }

    fn segments(&self) -> impl Iterator<Item = &Segment> {
        self.older.iter().chain(std::iter::once(&self.active))
    }

    /// Segments starting with the one that would contain `offset`.
    fn segments_from(&self, offset: i64) -> impl Iterator<Item = &Segment> {
        let skip = if offset >= self.active.base_offset() {
            self.older.len()
        } else {
            self.older
                .partition_point(|s| s.base_offset() <= offset)
                .saturating_sub(1)
        };
        self.segments().skip(skip)
    }

    /// Counts a failure in the log's rate-limited error report (see `errors.rs`).
    fn noted<T>(
        &self,
        operation: &str,
        result: Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        if let Err(e) = &result {
            self.errors.note(operation, e);
        }
        result
    }

    fn check_writable(&self) -> Result<(), StorageError> {
        if self.poisoned {
            return Err(StorageError::Poisoned);
        }
        Ok(())
    }

    fn out_of_range(&self, offset: i64) -> StorageError {
        StorageError::OffsetOutOfRange {
            offset,
            log_start_offset: self.log_start_offset,
            log_end_offset: self.log_end_offset(),
        }
    }
}

/// Checks that `batch` is one whole v2 batch described by `meta`.
/// Checks the header at the start of `head` against `meta` and the batch's
/// whole `size` (`head` and what follows it).
fn check_batch(head: &[u8], size: u64, meta: &BatchMeta) -> Result<(), StorageError> {
    let header = BatchHeader::parse(head).map_err(|e| StorageError::InvalidBatch(e.to_string()))?;
    let disagree = |what: &str, header: i64, meta: i64| {
        Err(StorageError::InvalidBatch(format!(
            "{what} is {header} in the header but {meta} in the meta"
        )))
    };
    if header.size != size {
        return Err(StorageError::InvalidBatch(format!(
            "header says {} bytes, {size} given",
            header.size,
        )));
    }
    if header.base_offset != meta.base_offset {
        return disagree("base offset", header.base_offset, meta.base_offset);
    }
    if header.last_offset != meta.last_offset {
        return disagree("last offset", header.last_offset, meta.last_offset);
    }
    if header.max_timestamp != meta.max_timestamp {
        return disagree("max timestamp", header.max_timestamp, meta.max_timestamp);
    }
    Ok(())
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// An fsync of a log's active segment to run without the log's lock
/// (see [`Log::begin_flush`]).
#[derive(Debug)]
pub struct FlushTicket {
    /// A second handle on the active `.log`; `None` for in-memory logs.
    file: Option<std::fs::File>,
    end: i64,
}

impl FlushTicket {
    /// The log end this flush makes durable.
    pub fn end(&self) -> i64 {
        self.end
    }

    /// The handle to sync (`None` in memory).
    pub(crate) fn file(&self) -> Option<&std::fs::File> {
        self.file.as_ref()
    }

    /// fsyncs the data (blocking; call without the log's lock).
    pub fn sync(&self) -> std::io::Result<()> {
        match &self.file {
            Some(file) => crate::durable::sync_data(file),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::test_batch::batch;

    fn meta_of(b: &[u8]) -> BatchMeta {
        let h = BatchHeader::parse(b).unwrap();
        BatchMeta {
            base_offset: h.base_offset,
            last_offset: h.last_offset,
            max_timestamp: h.max_timestamp,
        }
    }

    #[test]
    fn rolls_by_segment_age() {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            segment_ms: Some(1_000),
            ..LogConfig::default()
        };
        let mut log = Log::open(dir.path(), config).unwrap();
        let mut now = 10_000;
        for i in 0..10 {
            let b = batch(i, 1, 0, 10);
            log.append_at(&b, meta_of(&b), now).unwrap();
            now += 300;
        }
        // Appends every 300 ms; a segment is too old once its first append is > 1 s ago:
        // offset 4 (at 11_200) and offset 8 (at 12_400) start new segments.
        assert_eq!(log.segment_count(), 3);
        let bases: Vec<_> = log.segments().map(Segment::base_offset).collect();
        assert_eq!(bases, [0, 4, 8]);
    }

    #[test]
    fn a_config_set_while_open_rolls_by_the_new_settings() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::open(dir.path(), LogConfig::default()).unwrap();
        let mut now = 10_000;
        for i in 0..3 {
            let b = batch(i, 1, 0, 10);
            log.append_at(&b, meta_of(&b), now).unwrap();
        }
        assert_eq!(log.segment_count(), 1);
        log.set_config(LogConfig {
            segment_ms: Some(1_000),
            ..LogConfig::default()
        });
        assert_eq!(log.config().segment_ms, Some(1_000));
        now += 2_000;
        let b = batch(3, 1, 0, 10);
        log.append_at(&b, meta_of(&b), now).unwrap();
        let bases: Vec<_> = log.segments().map(Segment::base_offset).collect();
        assert_eq!(
            bases,
            [0, 3],
            "the active segment is past the new segment.ms"
        );
    }

    #[test]
    fn append_rejects_batches_that_disagree_with_meta() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::open(dir.path(), LogConfig::default()).unwrap();
        let b = batch(0, 3, 77, 10);
        let good = meta_of(&b);
        let cases = [
            BatchMeta {
                last_offset: 3,
                ..good
            },
            BatchMeta {
                max_timestamp: 78,
                ..good
            },
        ];
        for meta in cases {
            assert!(
                matches!(log.append(&b, meta), Err(StorageError::InvalidBatch(_))),
                "{meta:?}"
            );
        }
        assert!(matches!(
            log.append(&b[..b.len() - 1], good),
            Err(StorageError::InvalidBatch(_))
        ));
        assert!(matches!(
            log.append(&[0u8; 10], good),
            Err(StorageError::InvalidBatch(_))
        ));
        let mut longer = b.clone();
        longer.push(0);
        assert!(matches!(
            log.append(&longer, good),
            Err(StorageError::InvalidBatch(_))
        ));
        let b5 = batch(5, 1, 0, 0);
        assert!(matches!(
            log.append(&b5, meta_of(&b5)),
            Err(StorageError::NonMonotonicOffset {
                expected: 0,
                got: 5
            })
        ));
        log.append(&b, good).unwrap();
        assert_eq!(log.log_end_offset(), 3);
        assert!(!log.is_poisoned());
    }

    #[test]
    fn a_batch_appended_in_two_parts_reads_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::open(dir.path(), LogConfig::default()).unwrap();
        let first = batch(0, 2, 5, 40);
        log.append(&first, meta_of(&first)).unwrap();
        let second = batch(2, 3, 6, 40);
        let (head, rest) = second.split_at(61);
        log.append_split(head, rest, meta_of(&second)).unwrap();
        // Wrong total size: the header's length decides, as for whole batches.
        let third = batch(5, 1, 7, 40);
        assert!(matches!(
            log.append_split(&third[..61], &third[61..third.len() - 1], meta_of(&third)),
            Err(StorageError::InvalidBatch(_))
        ));
        assert!(matches!(
            log.append_split(&third[..20], &third[20..], meta_of(&third)),
            Err(StorageError::InvalidBatch(_))
        ));
        assert_eq!(log.log_end_offset(), 5);
        let read = log.read(2, 1 << 20).unwrap();
        assert_eq!(&read[..], &second[..]);
        drop(log);
        let reopened = Log::open(dir.path(), LogConfig::default()).unwrap();
        let all = reopened.read(0, 1 << 20).unwrap();
        assert_eq!(&all[..], &[first, second].concat()[..]);
    }

    #[test]
    fn stray_index_files_are_removed_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let stray = dir.path().join("00000000000000000500.index");
        fs::write(&stray, [0u8; 8]).unwrap();
        fs::write(dir.path().join("notes.txt"), "kept").unwrap();
        let log = Log::open(dir.path(), LogConfig::default()).unwrap();
        assert!(!stray.exists());
        assert!(dir.path().join("notes.txt").exists());
        assert_eq!(log.segment_count(), 1);
    }

    #[test]
    fn after_a_crash_the_first_flush_covers_the_segments_after_the_recovery_point() {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            segment_bytes: 500,
            ..LogConfig::default()
        };
        let mut log = Log::open(dir.path(), config.clone()).unwrap();
        for i in 0..3 {
            let b = batch(i, 1, 0, 100);
            log.append(&b, meta_of(&b)).unwrap();
        }
        log.close().unwrap(); // recovery point 3, in the first segment
        let mut log = Log::open(dir.path(), config.clone()).unwrap();
        for i in 3..12 {
            let b = batch(i, 1, 0, 100);
            log.append(&b, meta_of(&b)).unwrap();
        }
        drop(log);
        let mut log = Log::open(dir.path(), config.clone()).unwrap();
        assert_eq!(log.segment_count(), 4);
        assert_eq!(log.recovery_point, Some(3));
        // 161-byte batches, three per segment: the first segment (0..=2) is wholly
        // below the recovery point, the others may be in the page cache only.
        assert_eq!(log.first_unflushed, 1);
        log.flush().unwrap();
        assert_eq!(log.first_unflushed, 3);
        assert_eq!(log.recovery_point, Some(12));
        log.close().unwrap();
        let log = Log::open(dir.path(), config).unwrap();
        assert_eq!(
            log.first_unflushed, 3,
            "a clean close left nothing unflushed"
        );
    }

    #[test]
    fn a_new_log_is_made_durable_at_creation_so_its_first_flush_writes_no_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t-0");
        let mut log = Log::open(&path, LogConfig::default()).unwrap();
        assert!(
            !log.dir_dirty,
            "the new segment's directory entry is synced at open"
        );
        assert_eq!(log.recovery_point, Some(0));
        let point = path.join(RECOVERY_POINT.name);
        assert_eq!(fs::read_to_string(&point).unwrap(), "0\n");
        let b = batch(0, 1, 0, 100);
        log.append(&b, meta_of(&b)).unwrap();
        log.flush().unwrap();
        assert_eq!(
            log.recovery_point,
            Some(0),
            "no checkpoint write at the first flush"
        );
        assert_eq!(fs::read_to_string(&point).unwrap(), "0\n");
        drop(log); // a crash: recovery checks everything from offset 0
        let log = Log::open(&path, LogConfig::default()).unwrap();
        assert_eq!(log.log_end_offset(), 1);
        assert_eq!(log.first_unflushed, 0);
    }

    #[test]
    fn a_split_flush_lets_appends_go_on_and_covers_what_came_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            segment_bytes: 500,
            ..LogConfig::default()
        };
        let mut log = Log::open(dir.path(), config.clone()).unwrap();
        let b = batch(0, 1, 0, 100);
        log.append(&b, meta_of(&b)).unwrap();
        log.close().unwrap();
        // Reopened with data, the first flush persists a recovery point.
        let mut log = Log::open(dir.path(), config.clone()).unwrap();
        for i in 1..4 {
            let b = batch(i, 1, 0, 100);
            log.append(&b, meta_of(&b)).unwrap();
        }
        let ticket = log.begin_flush().unwrap();
        assert_eq!(ticket.end(), 4);
        // Appends between the halves (a roll included) are not covered.
        for i in 4..8 {
            let b = batch(i, 1, 0, 100);
            log.append(&b, meta_of(&b)).unwrap();
        }
        let synced = ticket.sync();
        log.finish_flush(&ticket, synced).unwrap();
        assert_eq!(log.recovery_point, Some(4));
        // The segment that rolled after begin_flush is flushed by the next one.
        assert!(log.first_unflushed < log.older.len());
        log.flush().unwrap();
        assert_eq!(log.first_unflushed, log.older.len());
    }

    #[test]
    fn a_failed_split_flush_poisons_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::open(dir.path(), LogConfig::default()).unwrap();
        let b = batch(0, 1, 0, 100);
        log.append(&b, meta_of(&b)).unwrap();
        let ticket = log.begin_flush().unwrap();
        let failed = Err(std::io::Error::other("injected fsync failure"));
        assert!(log.finish_flush(&ticket, failed).is_err());
        assert!(log.is_poisoned());
        let b = batch(1, 1, 0, 100);
        assert!(matches!(
            log.append(&b, meta_of(&b)),
            Err(StorageError::Poisoned)
        ));
        assert!(log.begin_flush().is_err());
    }

    #[test]
    fn a_log_can_be_shared_between_threads() {
        fn send_and_sync<T: Send + Sync>() {}
        send_and_sync::<Log>();
    }
}
