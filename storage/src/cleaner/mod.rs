//! Log compaction (`cleanup.policy=compact`), as Kafka's `LogCleaner` does it: the
//! sealed segments of a log are rewritten so that each key keeps only its latest
//! record, at its original offset. The active segment is never cleaned.
//!
//! A pass, in three steps so that the log's lock is held only for the cheap ones:
//!
//! 1. [`Log::begin_clean`] (under the lock, reading): which segments may be cleaned
//!    (sealed, wholly below the first uncleanable offset: the last stable offset, the
//!    active segment, segments younger than `min.compaction.lag.ms`) and where the
//!    dirty part starts (`cleaner-offset`, the offset the last pass cleaned up to).
//!    Returns a [`CleanJob`] naming the segment files (sealed `.log` files never
//!    change; an in-memory log's segments are copied).
//! 2. [`CleanJob::run`] (no lock, on a blocking thread): builds the key -> latest
//!    offset map over the dirty part (bounded by `log.cleaner.dedupe.buffer.size`; a
//!    full map ends the pass where it got), then rewrites the segments from the start
//!    of the log to that point, in groups of at most `segment.bytes`, each group into
//!    one `<base>.log.cleaned` file (fsynced). Reads and writes are throttled to
//!    `log.cleaner.io.max.bytes.per.second`. What is kept is decided in `filter.rs`.
//! 3. [`Log::finish_clean`] (under the lock): for each group whose segments are still
//!    there unchanged, `.cleaned` is renamed to `.swap`, the old segments' files are
//!    deleted, `.swap` is renamed to `<base>.log` (directory fsyncs between), and the
//!    segment is indexed from the batch list the writer kept (no scan). Leading
//!    segments left with no data are deleted and the log start offset moves past them
//!    (as Kafka does since KAFKA-7556: consumers see the low watermark rise). Then the
//!    new `cleaner-offset` is persisted.
//!
//! Offsets stay contiguous inside a segment: where whole batches were removed, the
//! cleaned segment holds one empty batch (a header with no records, no producer)
//! standing for the removed offsets. Kafka leaves holes there; Sluice's reads and
//! recovery treat a hole as damage (see `segment/verify.rs`), and consumers skip an
//! empty batch just as they skip a hole (Kafka itself keeps empty batches for
//! producer state), so the records a consumer sees, and their offsets, are Kafka's.
//!
//! Crash safety (see `swap.rs`): opening a log deletes `*.cleaned` files (a pass that
//! did not finish) and completes every `*.swap` (deletes the segments whose base
//! offsets it covers and renames it to `.log`), so a crash at any point leaves either
//! the old segments or the cleaned one, never both or neither.
//!
//! The storage crate reads records here (and only here) through
//! `sluice_protocol::records`: compaction is about keys and values.

mod filter;
mod offset_map;
pub(crate) mod swap;
mod throttle;

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use sluice_protocol::records::{self, parse_header};

use self::filter::{Removed, Rules, TxnTracker, Verdict};
use self::offset_map::OffsetMap;
use self::throttle::Throttle;
use crate::batch::ReadAt;
use crate::log::Log;
use crate::segment::{self, Backend, Segment};
use crate::{BatchMeta, StorageError};

/// Broker-wide cleaner settings (Kafka's `log.cleaner.*` names).
#[derive(Debug, Clone, PartialEq)]
pub struct CleanerConfig {
    /// `log.cleaner.dedupe.buffer.size` per cleaner thread: bounds the offset map.
    pub dedupe_buffer_bytes: u64,
    /// `log.cleaner.io.max.bytes.per.second`: reads plus writes; `f64::MAX` is none.
    pub io_max_bytes_per_second: f64,
}

impl Default for CleanerConfig {
    fn default() -> Self {
        CleanerConfig {
            dedupe_buffer_bytes: 128 << 20,
            io_max_bytes_per_second: f64::MAX,
        }
    }
}

/// One aborted transaction (from the broker's aborted-transaction index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortedRange {
    pub producer_id: i64,
    pub first_offset: i64,
    /// The abort marker's offset.
    pub last_offset: i64,
}

/// What one pass needs to know besides the log.
#[derive(Debug, Clone, Default)]
pub struct CleanRequest {
    /// Wall clock (ms) of the pass: delete horizons are compared with it.
    pub now_ms: i64,
    /// `delete.retention.ms`: how long a tombstone or marker stays after the pass that
    /// first found it removable.
    pub delete_retention_ms: i64,
    /// `min.compaction.lag.ms`: segments with newer data are not cleaned.
    pub min_compaction_lag_ms: i64,
    /// The last stable offset: nothing at or after it is cleaned.
    pub first_unstable_offset: i64,
    /// `segment.bytes`: the largest cleaned segment.
    pub segment_bytes: u64,
    /// The aborted transactions overlapping the log.
    pub aborted: Vec<AbortedRange>,
    /// Last offsets of the last batch of every producer the broker remembers: such a
    /// batch stays (at least as an empty batch) so that its sequence state survives.
    pub producer_last_offsets: HashSet<i64>,
}

/// The cleanable part of a log, for choosing which log to clean (Kafka's
/// `LogToClean`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanableSection {
    /// Where the part not yet cleaned starts.
    pub first_dirty_offset: i64,
    /// The base offset of the first segment that may not be cleaned yet.
    pub first_uncleanable_offset: i64,
    /// Bytes of segments from the log start to the first dirty offset.
    pub clean_bytes: u64,
    /// Bytes of segments from the first dirty offset to the first uncleanable one.
    pub dirty_bytes: u64,
    /// When the first dirty segment got its first batch (ms; wall clock of the
    /// append, or the file's creation time after a restart), for
    /// `max.compaction.lag.ms`.
    pub first_dirty_append_ms: Option<i64>,
    /// A tombstone or marker kept by an earlier pass has reached its delete horizon:
    /// a pass is due although nothing may be dirty (so that tombstones do go after
    /// `delete.retention.ms`). Known from the last pass (`cleaner-delete-horizon`).
    pub delete_horizon_passed: bool,
}

impl CleanableSection {
    /// `dirty / (clean + dirty)`, 0 for nothing to clean.
    pub fn dirty_ratio(&self) -> f64 {
        let total = self.clean_bytes + self.dirty_bytes;
        if self.dirty_bytes == 0 || total == 0 {
            0.0
        } else {
            self.dirty_bytes as f64 / total as f64
        }
    }
}

/// What a pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CleanOutcome {
    /// Segments replaced by cleaned ones.
    pub segments_cleaned: usize,
    /// Cleaned segments deleted because no data was left in them (at the log start).
    pub segments_deleted: usize,
    pub bytes_before: u64,
    pub bytes_after: u64,
    /// Records removed (superseded, keyless, tombstones, aborted).
    pub records_removed: u64,
    pub tombstones_removed: u64,
    pub aborted_batches_removed: u64,
    pub markers_removed: u64,
    /// The first dirty offset for the next pass.
    pub cleaned_up_to: i64,
    pub log_start_offset: i64,
}

/// Where a segment to clean is read from.
#[derive(Debug)]
enum Source {
    File(PathBuf),
    Memory(Bytes),
}

#[derive(Debug)]
struct SourceSegment {
    base_offset: i64,
    next_offset: i64,
    size: u64,
    source: Source,
}

/// Step 2 of a pass (see the module doc): run it without the log's lock.
#[derive(Debug)]
pub struct CleanJob {
    dir: PathBuf,
    backend: Backend,
    sources: Vec<SourceSegment>,
    first_dirty: i64,
    request: CleanRequest,
}

/// A cleaned group of segments, waiting for [`Log::finish_clean`].
#[derive(Debug)]
struct CleanedGroup {
    base_offset: i64,
    /// (base offset, size) of the segments it replaces, in order.
    replaces: Vec<(i64, u64)>,
    output: Output,
    /// (position, size, meta) of every batch written.
    batches: Vec<(u64, u64, BatchMeta)>,
    size: u64,
    /// Whether any batch but a filler was written.
    holds_data: bool,
}

#[derive(Debug)]
enum Output {
    /// `<base>.log.cleaned`, fsynced.
    File(PathBuf),
    Memory(Vec<u8>),
}

/// The result of [`CleanJob::run`].
#[derive(Debug)]
pub struct PreparedClean {
    groups: Vec<CleanedGroup>,
    cleaned_up_to: i64,
    removed: Removed,
}

impl PreparedClean {
    /// Removes the `.cleaned` files of a pass that will not be finished.
    pub fn discard(self) {
        for group in self.groups {
            group.output.discard();
        }
    }
}

impl Output {
    fn discard(self) {
        if let Output::File(path) = self {
            let _ = fs::remove_file(path);
        }
    }
}

/// Test hook: where a simulated crash stops a pass (the files stay as they are).
#[cfg(test)]
pub(crate) mod crash {
    use std::cell::Cell;

    thread_local! {
        pub(crate) static AT: Cell<Option<u32>> = const { Cell::new(None) };
    }

    /// Fails with a simulated crash when the armed step is reached.
    pub(crate) fn point(step: u32) -> std::io::Result<()> {
        if AT.with(Cell::get) == Some(step) {
            return Err(std::io::Error::other(format!(
                "simulated crash at step {step}"
            )));
        }
        Ok(())
    }
}

fn crash_point(_step: u32) -> io::Result<()> {
    #[cfg(test)]
    crash::point(_step)?;
    Ok(())
}

impl Log {
    /// The cleanable part of the log as of now (see [`CleanableSection`]).
    pub fn cleanable_section(
        &self,
        now_ms: i64,
        min_compaction_lag_ms: i64,
        first_unstable_offset: i64,
    ) -> CleanableSection {
        let log_start = self.log_start_offset();
        let first_dirty = self
            .first_dirty_offset()
            .filter(|o| *o >= log_start && *o <= self.log_end_offset())
            .unwrap_or(log_start);
        let lag_cutoff = now_ms.saturating_sub(min_compaction_lag_ms.max(0));
        let mut first_uncleanable = self.active_base_offset();
        for s in self.sealed_segments() {
            let too_young = min_compaction_lag_ms > 0
                && s.max_timestamp().is_some_and(|m| m.timestamp > lag_cutoff);
            if s.next_offset() > first_unstable_offset || too_young {
                first_uncleanable = s.base_offset();
                break;
            }
        }
        let mut section = CleanableSection {
            first_dirty_offset: first_dirty,
            first_uncleanable_offset: first_uncleanable,
            clean_bytes: 0,
            dirty_bytes: 0,
            first_dirty_append_ms: None,
            delete_horizon_passed: self.earliest_delete_horizon().is_some_and(|h| h <= now_ms),
        };
        for s in self.sealed_segments() {
            if s.base_offset() >= first_uncleanable {
                break;
            }
            if s.next_offset() <= first_dirty {
                section.clean_bytes += s.size();
            } else {
                if section.first_dirty_append_ms.is_none() {
                    section.first_dirty_append_ms = s
                        .created_at_ms()
                        .map(|ms| i64::try_from(ms).unwrap_or(i64::MAX));
                }
                section.dirty_bytes += s.size();
            }
        }
        section
    }

    /// Step 1 of a pass: `None` when nothing is dirty and cleanable.
    pub fn begin_clean(&self, request: CleanRequest) -> Result<Option<CleanJob>, StorageError> {
        self.check_not_poisoned()?;
        let section = self.cleanable_section(
            request.now_ms,
            request.min_compaction_lag_ms,
            request.first_unstable_offset,
        );
        if section.dirty_bytes == 0 && !section.delete_horizon_passed {
            return Ok(None);
        }
        let mut sources = Vec::new();
        for s in self.sealed_segments() {
            if s.base_offset() >= section.first_uncleanable_offset {
                break;
            }
            if s.next_offset() <= self.log_start_offset() {
                continue; // retention deletes it
            }
            let source = if self.is_in_memory() {
                let size =
                    usize::try_from(s.size()).map_err(|_| io::Error::other("segment too large"))?;
                let mut bytes = vec![0u8; size];
                s.reader()?.read_exact_at(&mut bytes, 0)?;
                Source::Memory(Bytes::from(bytes))
            } else {
                Source::File(s.log_path().to_path_buf())
            };
            sources.push(SourceSegment {
                base_offset: s.base_offset(),
                next_offset: s.next_offset(),
                size: s.size(),
                source,
            });
        }
        if sources.is_empty() {
            return Ok(None);
        }
        Ok(Some(CleanJob {
            dir: self.dir().to_path_buf(),
            backend: if self.is_in_memory() {
                Backend::Memory
            } else {
                Backend::Disk
            },
            sources,
            first_dirty: section.first_dirty_offset,
            request,
        }))
    }

    /// A whole pass under the caller's `&mut` (tests, and callers that do not mind
    /// holding the lock): [`Self::begin_clean`], [`CleanJob::run`],
    /// [`Self::finish_clean`]. `None` when there was nothing to clean.
    pub fn clean(
        &mut self,
        request: CleanRequest,
        config: &CleanerConfig,
    ) -> Result<Option<CleanOutcome>, StorageError> {
        let Some(job) = self.begin_clean(request)? else {
            return Ok(None);
        };
        let prepared = job.run(config)?;
        self.finish_clean(prepared).map(Some)
    }

    /// Step 3 of a pass: swaps the cleaned segments in (see the module doc). A group
    /// whose segments changed meanwhile (retention, truncation) is discarded with the
    /// groups after it. A failure in the middle poisons the log; reopening it finishes
    /// the swap (see `swap.rs`).
    pub fn finish_clean(&mut self, prepared: PreparedClean) -> Result<CleanOutcome, StorageError> {
        if let Err(e) = self.check_not_poisoned() {
            prepared.discard();
            return Err(e);
        }
        let mut outcome = CleanOutcome {
            records_removed: prepared.removed.records,
            tombstones_removed: prepared.removed.tombstones,
            aborted_batches_removed: prepared.removed.aborted_batches,
            markers_removed: prepared.removed.markers,
            ..CleanOutcome::default()
        };
        let mut groups = prepared.groups.into_iter();
        let mut installed_all = true;
        let mut leading_empty = 0usize;
        let mut leading = true;
        while let Some(group) = groups.next() {
            let Some(at) = self.position_of(&group.replaces) else {
                tracing::info!(dir = %self.dir().display(), base_offset = group.base_offset,
                    "segments changed during cleaning; the rest of the pass is discarded");
                group.output.discard();
                for rest in groups.by_ref() {
                    rest.output.discard();
                }
                installed_all = false;
                break;
            };
            outcome.bytes_before += group.replaces.iter().map(|(_, size)| size).sum::<u64>();
            outcome.bytes_after += group.size;
            outcome.segments_cleaned += group.replaces.len();
            let holds_data = group.holds_data;
            if let Err(e) = self.install_group(at, group) {
                tracing::error!(dir = %self.dir().display(), error = %e,
                    "swapping in a cleaned segment failed; log poisoned until reopened");
                self.poison();
                for rest in groups.by_ref() {
                    rest.output.discard();
                }
                return Err(e);
            }
            if leading && at == leading_empty && !holds_data {
                leading_empty += 1;
            } else {
                leading = false;
            }
        }
        if leading_empty > 0 {
            outcome.segments_deleted = self.drop_leading_segments(leading_empty)?;
        }
        outcome.log_start_offset = self.log_start_offset();
        if installed_all {
            self.set_earliest_delete_horizon(prepared.removed.earliest_horizon)?;
            let cleaned_up_to = prepared.cleaned_up_to.max(self.log_start_offset());
            self.set_first_dirty_offset(cleaned_up_to)?;
            outcome.cleaned_up_to = cleaned_up_to;
        } else {
            outcome.cleaned_up_to = self.first_dirty_offset().unwrap_or(self.log_start_offset());
        }
        Ok(outcome)
    }

    fn install_group(&mut self, at: usize, group: CleanedGroup) -> Result<(), StorageError> {
        let interval = self.index_interval_bytes();
        let now = crate::log::now_ms();
        let mut segment = match group.output {
            Output::Memory(bytes) => {
                let mut segment = Segment::in_memory(group.base_offset);
                for (position, size, meta) in &group.batches {
                    let batch = slice(&bytes, *position, *size)?;
                    segment.write_batch(batch, &[])?;
                    segment.track_appended(*position, *size, meta, interval, now)?;
                }
                segment
            }
            Output::File(cleaned) => {
                let log_path = self.dir().join(segment::log_file_name(group.base_offset));
                let swap = swap::swap_path(&log_path);
                fs::rename(&cleaned, &swap)?;
                crate::checkpoint::sync_dir(self.dir())?;
                crash_point(2)?;
                // The old segments' files go (the first one's name is the new one's).
                for (base, _) in &group.replaces {
                    segment::remove_files(&self.dir().join(segment::log_file_name(*base)))?;
                    crash_point(3)?;
                }
                fs::rename(&swap, &log_path)?;
                crash_point(4)?;
                crate::checkpoint::sync_dir(self.dir())?;
                let mut segment = Segment::open_unrecovered(log_path, group.base_offset)?;
                for (position, size, meta) in &group.batches {
                    segment.track_appended(*position, *size, meta, interval, now)?;
                }
                segment.seal()?;
                segment
            }
        };
        segment.seal()?;
        self.replace_sealed(at, group.replaces.len(), segment);
        Ok(())
    }
}

fn slice(bytes: &[u8], position: u64, size: u64) -> Result<&[u8], StorageError> {
    let start = usize::try_from(position).map_err(|_| StorageError::Corrupt("position".into()))?;
    let end = start
        .checked_add(usize::try_from(size).map_err(|_| StorageError::Corrupt("size".into()))?)
        .ok_or_else(|| StorageError::Corrupt("size".into()))?;
    bytes
        .get(start..end)
        .ok_or_else(|| StorageError::Corrupt("cleaned batch out of range".into()))
}

/// Reads the batches of one source segment in order, CRC-checked.
struct BatchReader<'a> {
    source: &'a SourceSegment,
    file: Option<File>,
    position: u64,
}

impl<'a> BatchReader<'a> {
    fn open(source: &'a SourceSegment) -> Result<Self, StorageError> {
        let file = match &source.source {
            Source::File(path) => Some(File::open(path)?),
            Source::Memory(_) => None,
        };
        Ok(BatchReader {
            source,
            file,
            position: 0,
        })
    }

    fn read_at(&self, buf: &mut [u8], position: u64) -> io::Result<()> {
        match (&self.file, &self.source.source) {
            (Some(file), _) => ReadAt::read_exact_at(file, buf, position),
            (None, Source::Memory(bytes)) => bytes[..].read_exact_at(buf, position),
            (None, Source::File(_)) => Err(io::Error::other("segment file not open")),
        }
    }

    /// The next batch and its header; `None` at the segment's end.
    fn next(&mut self) -> Result<Option<(Vec<u8>, records::BatchHeader)>, StorageError> {
        if self.position >= self.source.size {
            return Ok(None);
        }
        let left = self.source.size - self.position;
        let mut head = [0u8; records::batch::BATCH_HEADER_LEN];
        if left < head.len() as u64 {
            return Err(self.damaged("short batch header"));
        }
        self.read_at(&mut head, self.position)?;
        let header = parse_header(&head).map_err(|e| self.damaged(&e.to_string()))?;
        let size = header.total_len() as u64;
        if size > left {
            return Err(self.damaged("batch runs past the segment end"));
        }
        let mut batch =
            vec![0u8; usize::try_from(size).map_err(|_| self.damaged("batch too large"))?];
        self.read_at(&mut batch, self.position)?;
        if records::compute_crc(&batch).ok() != Some(header.crc) {
            return Err(self.damaged("CRC-32C mismatch"));
        }
        self.position += size;
        Ok(Some((batch, header)))
    }

    fn damaged(&self, what: &str) -> StorageError {
        StorageError::Corrupt(format!(
            "cleaner: segment at offset {} byte {}: {what}; not cleaning this log",
            self.source.base_offset, self.position
        ))
    }
}

/// A group being written: its writer, the (base offset, size) of the segments it
/// replaces, and the offset after them.
type OpenGroup = (GroupWriter, Vec<(i64, u64)>, i64);

/// Writes one cleaned group, keeping offsets contiguous with fillers.
struct GroupWriter {
    file: Option<(PathBuf, File)>,
    memory: Vec<u8>,
    base_offset: i64,
    /// The first offset not yet covered.
    covered_to: i64,
    position: u64,
    batches: Vec<(u64, u64, BatchMeta)>,
    holds_data: bool,
    leader_epoch: i32,
    keep_file: bool,
}

impl GroupWriter {
    fn new(dir: &Path, backend: Backend, base_offset: i64) -> Result<Self, StorageError> {
        let file = match backend {
            Backend::Disk => {
                let path = swap::cleaned_path(&dir.join(segment::log_file_name(base_offset)));
                let file = File::create(&path)?;
                Some((path, file))
            }
            Backend::Memory => None,
        };
        Ok(GroupWriter {
            file,
            memory: Vec::new(),
            base_offset,
            covered_to: base_offset,
            position: 0,
            batches: Vec::new(),
            holds_data: false,
            leader_epoch: 0,
            keep_file: false,
        })
    }

    fn write_raw(
        &mut self,
        batch: &[u8],
        meta: BatchMeta,
        throttle: &mut Throttle,
    ) -> Result<(), StorageError> {
        match &mut self.file {
            Some((_, file)) => file.write_all(batch)?,
            None => self.memory.extend_from_slice(batch),
        }
        throttle.account(batch.len() as u64);
        let size = batch.len() as u64;
        self.batches.push((self.position, size, meta));
        self.position += size;
        self.covered_to = meta.last_offset + 1;
        Ok(())
    }

    /// Covers `[covered_to, upto)` with filler batches.
    fn fill_to(&mut self, upto: i64, throttle: &mut Throttle) -> Result<(), StorageError> {
        while self.covered_to < upto {
            let last = (upto - 1).min(self.covered_to + i64::from(i32::MAX));
            let filler = filter::filler_batch(self.covered_to, last, self.leader_epoch);
            let meta = BatchMeta {
                base_offset: self.covered_to,
                last_offset: last,
                max_timestamp: -1,
            };
            self.write_raw(&filler, meta, throttle)?;
        }
        Ok(())
    }

    fn write(
        &mut self,
        batch: &[u8],
        header: &records::BatchHeader,
        throttle: &mut Throttle,
    ) -> Result<(), StorageError> {
        self.leader_epoch = header.partition_leader_epoch;
        self.fill_to(header.base_offset, throttle)?;
        self.holds_data = true;
        let meta = BatchMeta {
            base_offset: header.base_offset,
            last_offset: header.last_offset(),
            max_timestamp: header.max_timestamp,
        };
        self.write_raw(batch, meta, throttle)
    }

    /// Removes the unfinished `.cleaned` file.
    fn abandon(&mut self) {
        if let Some((path, _)) = self.file.take() {
            if !self.keep_file {
                let _ = fs::remove_file(path);
            }
        }
    }

    /// A simulated crash leaves the file where it is.
    #[cfg(test)]
    fn keep_file_on_abandon(&mut self) {
        self.keep_file = true;
    }

    fn finish(
        mut self,
        next_offset: i64,
        replaces: Vec<(i64, u64)>,
        throttle: &mut Throttle,
    ) -> Result<CleanedGroup, StorageError> {
        self.fill_to(next_offset, throttle)?;
        let output = match self.file.take() {
            Some((path, mut file)) => {
                file.flush()?;
                crate::durable::sync_all(&file)?;
                Output::File(path)
            }
            None => Output::Memory(std::mem::take(&mut self.memory)),
        };
        Ok(CleanedGroup {
            base_offset: self.base_offset,
            replaces,
            output,
            batches: self.batches,
            size: self.position,
            holds_data: self.holds_data,
        })
    }
}

impl CleanJob {
    /// Step 2 of a pass (blocking; see the module doc).
    pub fn run(self, config: &CleanerConfig) -> Result<PreparedClean, StorageError> {
        let mut throttle = Throttle::new(config.io_max_bytes_per_second);
        // 1. The offset map over the dirty part.
        let mut map = OffsetMap::new(config.dedupe_buffer_bytes);
        let mut txns = TxnTracker::new(self.request.aborted.clone());
        let sources_end = self
            .sources
            .last()
            .map_or(self.first_dirty, |s| s.next_offset);
        let mut map_end = sources_end;
        let mut filled = false;
        'segments: for source in &self.sources {
            if source.next_offset <= self.first_dirty {
                continue;
            }
            let mut reader = BatchReader::open(source)?;
            while let Some((batch, header)) = reader.next()? {
                throttle.account(batch.len() as u64);
                if header.last_offset() < self.first_dirty {
                    continue;
                }
                if !filter::map_batch(&batch, &header, &mut map, &mut txns) {
                    map_end = header.base_offset;
                    filled = true;
                    break 'segments;
                }
            }
        }
        if filled && map_end <= self.first_dirty {
            return Err(StorageError::Corrupt(format!(
                "cleaner: log.cleaner.dedupe.buffer.size ({} bytes) holds fewer keys than one batch at offset {}",
                config.dedupe_buffer_bytes, self.first_dirty
            )));
        }
        tracing::debug!(dir = %self.dir.display(), keys = map.len(), first_dirty = self.first_dirty,
            map_end, latest = map.latest_offset(), "cleaner offset map built");

        // 2. Rewrite the segments below the map's end, in groups.
        let rules = Rules {
            map: &map,
            now_ms: self.request.now_ms,
            delete_retention_ms: self.request.delete_retention_ms,
            producer_last_offsets: &self.request.producer_last_offsets,
        };
        let mut txns = TxnTracker::new(self.request.aborted.clone());
        let mut removed = Removed::default();
        let to_clean: Vec<&SourceSegment> = self
            .sources
            .iter()
            .filter(|s| s.base_offset < map_end)
            .collect();
        let max_size = self.request.segment_bytes.clamp(1, u64::from(u32::MAX));
        let mut groups = Vec::new();
        let result = self.clean_segments(
            &to_clean,
            max_size,
            &rules,
            &mut txns,
            &mut removed,
            &mut throttle,
            &mut groups,
        );
        if let Err(e) = result {
            for g in groups {
                g.output.discard();
            }
            return Err(e);
        }
        Ok(PreparedClean {
            groups,
            cleaned_up_to: map_end,
            removed,
        })
    }

    /// Writes the cleaned `segments` into groups: a group takes the next segment while
    /// what it wrote plus that segment's size (a bound of what it will write) stays
    /// within `max_size` and its offsets within an index's reach. Grouping by what was
    /// written (Kafka groups by the input sizes) merges segments that cleaning shrank,
    /// so a compacted log keeps few segments.
    #[allow(clippy::too_many_arguments)]
    fn clean_segments(
        &self,
        segments: &[&SourceSegment],
        max_size: u64,
        rules: &Rules<'_>,
        txns: &mut TxnTracker,
        removed: &mut Removed,
        throttle: &mut Throttle,
        groups: &mut Vec<CleanedGroup>,
    ) -> Result<(), StorageError> {
        // The group being written: its writer, the segments it replaces, its end.
        let mut current: Option<OpenGroup> = None;
        for source in segments {
            if let Some((writer, _, _)) = &current {
                let span = source.next_offset - writer.base_offset;
                if writer.position + source.size > max_size || span > i64::from(i32::MAX) {
                    if let Some((writer, replaces, end)) = current.take() {
                        groups.push(writer.finish(end, replaces, throttle)?);
                    }
                }
            }
            let (writer, replaces, end) = match &mut current {
                Some(c) => c,
                None => current.insert((
                    GroupWriter::new(&self.dir, self.backend, source.base_offset)?,
                    Vec::new(),
                    source.base_offset,
                )),
            };
            if let Err(e) = Self::clean_into(writer, source, rules, txns, removed, throttle) {
                writer.abandon();
                return Err(e);
            }
            replaces.push((source.base_offset, source.size));
            *end = source.next_offset;
            // At the log start, a segment left with no data is a group of its own:
            // `finish_clean` deletes it and the log start moves past it.
            if !writer.holds_data && groups.iter().all(|g| !g.holds_data) {
                if let Some((writer, replaces, end)) = current.take() {
                    groups.push(writer.finish(end, replaces, throttle)?);
                }
            }
        }
        if let Some((mut writer, replaces, end)) = current {
            if let Err(e) = crash_point(1) {
                #[cfg(test)]
                writer.keep_file_on_abandon();
                writer.abandon();
                return Err(e.into());
            }
            groups.push(writer.finish(end, replaces, throttle)?);
        }
        Ok(())
    }

    fn clean_into(
        writer: &mut GroupWriter,
        source: &SourceSegment,
        rules: &Rules<'_>,
        txns: &mut TxnTracker,
        removed: &mut Removed,
        throttle: &mut Throttle,
    ) -> Result<(), StorageError> {
        let mut reader = BatchReader::open(source)?;
        while let Some((batch, header)) = reader.next()? {
            throttle.account(batch.len() as u64);
            match filter::filter_batch(&batch, &header, rules, txns, removed) {
                Verdict::Keep => writer.write(&batch, &header, throttle)?,
                Verdict::Rewrite(bytes) => {
                    let rewritten = parse_header(&bytes).map_err(|e| {
                        StorageError::Corrupt(format!("cleaner wrote a bad batch: {e}"))
                    })?;
                    writer.write(&bytes, &rewritten, throttle)?;
                }
                Verdict::Drop => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
