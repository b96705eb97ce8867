//! A partition's log: an ordered run of segments in one directory, the last of which
//! (the active segment) takes appends.
//!
//! Directory contents (all owned by [`Log`]):
//!
//! - `<20-digit base offset>.log|.index|.timeindex` per segment, see `segment.rs` and
//!   [`crate::index`];
//! - `log-start-offset`, only once the start has been moved, see `log_start.rs`.
//!
//! Invariants: segments are sorted by base offset and do not overlap (each segment's
//! `next_offset` is at most the next one's base offset); there is always an active
//! segment; `first segment base <= log_start_offset <= log_end_offset`.

use std::fs;
use std::io;
use std::mem;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use crate::batch::BatchHeader;
use crate::segment::{self, Segment};
use crate::{log_start, recovery, StorageError};

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

/// The log of one partition. Not internally synchronized: the owner serializes access
/// (readers need `&self`, writers `&mut self`).
#[derive(Debug)]
pub struct Log {
    dir: PathBuf,
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
}

impl Log {
    /// Opens (creating the directory if missing) the log in `dir`, recovering every
    /// segment (see `recovery.rs`): index files that are missing or do not match their
    /// `.log` are rebuilt, and a torn tail is cut off with a warning. If a segment
    /// other than the last had to be cut, the segments after it are deleted, because
    /// the log must stay contiguous.
    ///
    /// An empty directory gives an empty log at offset 0 (or at the persisted log start
    /// offset, if only that file is there).
    pub fn open(dir: &Path, config: LogConfig) -> Result<Log, StorageError> {
        fs::create_dir_all(dir)?;
        let persisted_start = log_start::read(dir)?;
        let mut found = list_segments(dir)?.into_iter();
        let mut segments = Vec::new();
        let mut dir_dirty = false;
        while let Some((base_offset, log_path)) = found.next() {
            let recovered = recovery::recover_segment(log_path, base_offset, &config)?;
            segments.push(recovered.segment);
            if recovered.truncated_bytes > 0 {
                for (_, later) in found.by_ref() {
                    tracing::warn!(segment = %later.display(),
                        "deleting segment that follows a truncated segment");
                    segment::remove_files(&later)?;
                    dir_dirty = true;
                }
            }
        }
        for pair in segments.windows(2) {
            if let [a, b] = pair {
                if a.next_offset() > b.base_offset() {
                    return Err(StorageError::Corrupt(format!(
                        "{} reaches offset {} but {} starts at {}",
                        a.log_path().display(),
                        a.next_offset(),
                        b.log_path().display(),
                        b.base_offset()
                    )));
                }
            }
        }
        let active = match segments.pop() {
            Some(active) => active,
            None => {
                dir_dirty = true;
                Segment::create(dir, persisted_start.unwrap_or(0))?
            }
        };
        let first_base = segments.first().unwrap_or(&active).base_offset();
        let log_end_offset = active.next_offset();
        let mut log_start_offset = persisted_start.unwrap_or(first_base).max(first_base);
        if log_start_offset > log_end_offset {
            tracing::warn!(dir = %dir.display(), log_start_offset, log_end_offset,
                "persisted log start offset is beyond the recovered log end; using the log end");
            log_start_offset = log_end_offset;
        }
        Ok(Log {
            dir: dir.to_path_buf(),
            config,
            first_unflushed: segments.len(),
            older: segments,
            active,
            log_start_offset,
            dir_dirty,
            poisoned: false,
        })
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
    /// [`Self::truncate_to`]. Segments wholly below the start stay on disk until
    /// retention removes them; reads below the start fail with `OffsetOutOfRange`.
    pub fn set_log_start_offset(&mut self, offset: i64) -> Result<(), StorageError> {
        self.check_writable()?;
        if offset > self.log_end_offset() {
            return Err(self.out_of_range(offset));
        }
        if offset > self.log_start_offset {
            log_start::write(&self.dir, offset)?;
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
        self.append_at(batch, meta, now_ms())
    }

    /// [`Self::append`] with the wall clock (ms since the epoch) given, for tests.
    pub(crate) fn append_at(
        &mut self,
        batch: &[u8],
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
        check_batch(batch, &meta)?;
        let size = batch.len() as u64;
        if self
            .active
            .should_roll(size, meta.last_offset, &self.config, now_ms)
        {
            self.roll(meta.base_offset)?;
        }
        let position = self.active.size();
        if let Err(e) = self.active.write_batch(batch) {
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
        Ok(())
    }

    /// fsyncs the active segment's files, those of segments rolled since the last
    /// flush, and the directory if files were created or removed. A failure poisons
    /// the log: the data may or may not be on disk, so nothing more is accepted.
    pub fn flush(&mut self) -> Result<(), StorageError> {
        self.check_writable()?;
        let synced = self
            .segments()
            .skip(self.first_unflushed)
            .try_for_each(Segment::sync)
            .and_then(|()| {
                if self.dir_dirty {
                    log_start::sync_dir(&self.dir)
                } else {
                    Ok(())
                }
            });
        if let Err(e) = synced {
            tracing::error!(dir = %self.dir.display(), error = %e, "fsync failed; log poisoned");
            self.poisoned = true;
            return Err(e.into());
        }
        self.first_unflushed = self.older.len();
        self.dir_dirty = false;
        Ok(())
    }

    /// Whole batches, starting with the batch that contains `offset` (or the first
    /// batch after it, if `offset` falls in a gap): as many as fit in `max_bytes`, but
    /// always at least one when any exists at or after `offset`. Data comes from one
    /// segment per call. Empty at the log end; `OffsetOutOfRange` below the log start
    /// or beyond the log end.
    pub fn read(&self, offset: i64, max_bytes: usize) -> Result<Bytes, StorageError> {
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

    /// Removes every batch that holds an offset `>= offset`. A batch that straddles
    /// `offset` goes entirely (batches are never split), so afterwards
    /// `log_end_offset() <= offset`. No-op when `offset >= log_end_offset()`. If the
    /// log start offset ends up beyond the new end, it is moved back to it (persisted).
    pub fn truncate_to(&mut self, offset: i64) -> Result<(), StorageError> {
        self.check_writable()?;
        if offset >= self.log_end_offset() {
            return Ok(());
        }
        if offset < 0 {
            return Err(self.out_of_range(offset));
        }
        let result = self.truncate_segments(offset);
        if result.is_err() {
            self.poisoned = true;
        }
        result
    }

    fn truncate_segments(&mut self, offset: i64) -> Result<(), StorageError> {
        if self.active.base_offset() >= offset {
            let keep = self.older.partition_point(|s| s.base_offset() < offset);
            let doomed = self.older.split_off(keep);
            for segment in doomed {
                segment.delete_files()?;
            }
            match self.older.pop() {
                Some(segment) => mem::replace(&mut self.active, segment).delete_files()?,
                None => {
                    // Every segment starts at or after `offset`: start over, empty. The
                    // new files may reuse the old names, so remove those first.
                    segment::remove_files(self.active.log_path())?;
                    drop(mem::replace(
                        &mut self.active,
                        Segment::create(&self.dir, offset)?,
                    ));
                }
            }
            self.dir_dirty = true;
        }
        if let Some((position, header)) = self.active.find_batch(offset)? {
            self.active.cut(position, offset.min(header.base_offset))?;
            recovery::rescan_max_timestamp(&mut self.active)?;
        }
        self.first_unflushed = self.first_unflushed.min(self.older.len());
        let end = self.log_end_offset();
        if self.log_start_offset > end {
            log_start::write(&self.dir, end)?;
            self.log_start_offset = end;
        }
        Ok(())
    }

    /// Closes the log and removes its directory with everything in it.
    pub fn delete(self) -> Result<(), StorageError> {
        let dir = self.dir.clone();
        drop(self);
        match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// Number of segments, the active one included (always at least 1).
    pub fn segment_count(&self) -> usize {
        self.older.len() + 1
    }

    /// The partition directory.
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

    fn roll(&mut self, base_offset: i64) -> Result<(), StorageError> {
        let new = Segment::create(&self.dir, base_offset)?;
        tracing::debug!(dir = %self.dir.display(), base_offset, "rolled a new log segment");
        let old = mem::replace(&mut self.active, new);
        self.older.push(old);
        self.dir_dirty = true;
        Ok(())
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
fn check_batch(batch: &[u8], meta: &BatchMeta) -> Result<(), StorageError> {
    let header =
        BatchHeader::parse(batch).map_err(|e| StorageError::InvalidBatch(e.to_string()))?;
    let disagree = |what: &str, header: i64, meta: i64| {
        Err(StorageError::InvalidBatch(format!(
            "{what} is {header} in the header but {meta} in the meta"
        )))
    };
    if header.size != batch.len() as u64 {
        return Err(StorageError::InvalidBatch(format!(
            "header says {} bytes, {} given",
            header.size,
            batch.len()
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

/// Segment log files in `dir` by base offset. Index files without a `.log` (left by a
/// crash during segment deletion) are removed.
fn list_segments(dir: &Path) -> Result<Vec<(i64, PathBuf)>, StorageError> {
    let mut logs = Vec::new();
    let mut indexes = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some((stem, extension)) = name.split_once('.') else {
            continue;
        };
        if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(base_offset) = stem.parse::<i64>() else {
            tracing::warn!(file = %path.display(), "ignoring segment file with an impossible base offset");
            continue;
        };
        match extension {
            "log" => logs.push((base_offset, path)),
            "index" | "timeindex" => indexes.push(path),
            _ => {}
        }
    }
    for index in indexes {
        if !index.with_extension("log").exists() {
            tracing::info!(file = %index.display(), "removing index file without a segment");
            fs::remove_file(&index)?;
        }
    }
    logs.sort_unstable();
    Ok(logs)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
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
}
