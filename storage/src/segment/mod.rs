//! One segment of a partition log: `<base>.log` with its `<base>.index` and
//! `<base>.timeindex`, where `<base>` is the segment's base offset zero-padded to 20
//! digits (`00000000000000000000.log`).
//!
//! `.log` on disk: whole record batches concatenated exactly as appended; no header,
//! padding or trailer. Invariants of a segment in use (established by `recovery/` at
//! open and kept by every method here):
//!
//! - `size` bytes of the data are whole batches; nothing follows them. Except in a
//!   sealed segment with a gap (see `verify.rs`): damaged bytes that recovery kept in
//!   place after a clean shutdown may end it, and reads refuse them.
//! - batch base offsets strictly increase; every offset of every batch lies in
//!   `[base_offset, base_offset + u32::MAX]` and below `next_offset`.
//! - every batch starts at a byte position that fits in a u32 (index positions are u32).
//! - the in-memory indexes follow the rules documented in [`crate::index`]; the index
//!   files hold a prefix of them (the rest is buffered, see [`crate::index`]).
//!
//! Backends (`data.rs`): a segment keeps its batches in its `.log` file, or in memory
//! for in-memory logs; every method below works the same on both, only creation
//! differs ([`Backend`]).
//!
//! File descriptors: the active segment keeps its `.log` open (read-write); a sealed
//! segment keeps nothing open. Its reads borrow a handle from [`crate::handles`], and
//! index entries are written through handles opened for the occasion.

mod data;
mod verify;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use bytes::Bytes;

use self::data::{Data, Reader};
use self::verify::{Damage, Gap, Reported, Walk, Walked};
use crate::batch::{self, BatchHeader, ReadAt, Scanned, Scanner};
use crate::index::{OffsetIndex, TimeIndex};
use crate::{BatchMeta, LogConfig, StorageError};

pub(crate) const LOG_SUFFIX: &str = ".log";
const INDEX_EXTENSION: &str = "index";
const TIME_INDEX_EXTENSION: &str = "timeindex";

/// How many bytes a read-path header scan reads at a time.
const SEARCH_WINDOW: usize = 16 * 1024;

/// The largest batch a read allocates for before its CRC has matched, when the
/// fetch's `max_bytes` is smaller (see `Segment::read_checked`).
const MAX_UNVERIFIED_READ: u64 = 8 << 20;

/// How many bytes a chunked CRC check of an oversized batch reads at a time.
const CRC_CHUNK: usize = 1 << 20;

/// What [`Segment::read_checked`] found.
enum Checked {
    /// Whole batches that passed the checks (at least the first).
    Intact(Bytes),
    /// The first batch failed, for this reason.
    Damaged(String),
    /// The first batch's bytes were not what the walk read: not remembered, as it
    /// is no property of the bytes on disk.
    Changed,
}

/// `<20-digit base offset>.log`
pub(crate) fn log_file_name(base_offset: i64) -> String {
    format!("{base_offset:020}{LOG_SUFFIX}")
}

/// Where a log keeps its segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    /// Files in the partition directory.
    Disk,
    /// Process memory only (`Log::open_in_memory`).
    Memory,
}

/// The batch holding a segment's largest max_timestamp (the first such batch on ties).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MaxTimestamp {
    pub(crate) timestamp: i64,
    pub(crate) base_offset: i64,
    pub(crate) last_offset: i64,
}

#[derive(Debug)]
pub(crate) struct Segment {
    base_offset: i64,
    /// The `.log` path; in memory, a label of the same shape for messages.
    log_path: PathBuf,
    data: Data,
    /// Bytes of whole batches.
    size: u64,
    /// Last offset of the last batch + 1, or `base_offset` when empty.
    next_offset: i64,
    offset_index: OffsetIndex,
    time_index: TimeIndex,
    max_timestamp: Option<MaxTimestamp>,
    /// Wall clock (ms since the epoch) of the first append, for `segment_ms` rolls.
    created_at_ms: Option<u64>,
    /// Damaged batches already logged, and what was found about them (see
    /// `verify.rs`); forgotten when the segment is cut or rebuilt.
    reported: Reported,
    /// Set at open on a sealed segment whose offsets stop short of the next
    /// segment's base offset: damage, since the broker never leaves gaps (see
    /// `verify.rs`). `None` on every healthy segment and on the active one.
    gap: Option<Gap>,
}

impl Segment {
    /// Creates a new empty active segment, replacing any stray files of the same name.
    pub(crate) fn create(
        dir: &Path,
        base_offset: i64,
        backend: Backend,
    ) -> Result<Segment, StorageError> {
        if backend == Backend::Memory {
            return Ok(Self::in_memory(base_offset));
        }
        let log_path = dir.join(log_file_name(base_offset));
        let data = Data::create_file(log_path.clone())?;
        let [index_path, time_index_path] = index_paths(&log_path);
        let offset_index = OffsetIndex::create(&index_path, base_offset)?;
        let time_index = TimeIndex::create(&time_index_path, base_offset)?;
        Ok(Self::assemble(
            log_path,
            data,
            base_offset,
            offset_index,
            time_index,
        ))
    }

    /// A new empty segment of an in-memory log.
    pub(crate) fn in_memory(base_offset: i64) -> Segment {
        let log_path = Path::new("<memory>").join(log_file_name(base_offset));
        let [index_label, time_index_label] = index_paths(&log_path);
        Self::assemble(
            log_path,
            Data::Memory(Vec::new()),
            base_offset,
            OffsetIndex::in_memory(&index_label, base_offset),
            TimeIndex::in_memory(&time_index_label, base_offset),
        )
    }

    /// Loads the indexes of an existing segment without looking at its `.log` (which
    /// is not opened): the segment is empty in memory until `recovery/` has scanned it
    /// and called [`Self::restore`] or replayed its batches through
    /// [`Self::track_appended`]. It is sealed until [`Self::activate`].
    pub(crate) fn open_unrecovered(
        log_path: PathBuf,
        base_offset: i64,
    ) -> Result<Segment, StorageError> {
        let [index_path, time_index_path] = index_paths(&log_path);
        let offset_index = OffsetIndex::load(&index_path, base_offset)?;
        let time_index = TimeIndex::load(&time_index_path, base_offset)?;
        let data = Data::existing_file(log_path.clone())?;
        Ok(Self::assemble(
            log_path,
            data,
            base_offset,
            offset_index,
            time_index,
        ))
    }

    fn assemble(
        log_path: PathBuf,
        data: Data,
        base_offset: i64,
        offset_index: OffsetIndex,
        time_index: TimeIndex,
    ) -> Segment {
        Segment {
            base_offset,
            log_path,
            data,
            size: 0,
            next_offset: base_offset,
            offset_index,
            time_index,
            max_timestamp: None,
            created_at_ms: None,
            reported: Reported::default(),
            gap: None,
        }
    }

    pub(crate) fn base_offset(&self) -> i64 {
        self.base_offset
    }

    pub(crate) fn next_offset(&self) -> i64 {
        self.next_offset
    }

    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.size == 0
    }

    pub(crate) fn max_timestamp(&self) -> Option<MaxTimestamp> {
        self.max_timestamp
    }

    pub(crate) fn created_at_ms(&self) -> Option<u64> {
        self.created_at_ms
    }

    /// The `.log` path (in memory: a label of the same shape, for messages).
    pub(crate) fn log_path(&self) -> &Path {
        &self.log_path
    }

    pub(crate) fn offset_index(&self) -> &OffsetIndex {
        &self.offset_index
    }

    pub(crate) fn time_index(&self) -> &TimeIndex {
        &self.time_index
    }

    /// Something to read the segment's bytes through (for recovery scans).
    pub(crate) fn reader(&self) -> io::Result<impl ReadAt + '_> {
        self.data.reader()
    }

    /// The `.log` file's metadata (`None` in memory).
    pub(crate) fn file_metadata(&self) -> io::Result<Option<fs::Metadata>> {
        self.data.metadata()
    }

    /// Makes this the active segment: opens its write handle.
    pub(crate) fn activate(&mut self) -> io::Result<()> {
        // A gap is only defined up to a next segment; the active segment has none.
        self.gap = None;
        self.data.activate()
    }

    /// Makes this a sealed segment (a newer one became active): writes buffered index
    /// entries and closes the write handle. On error nothing changed.
    pub(crate) fn seal(&mut self) -> io::Result<()> {
        self.write_out_indexes(false)?;
        self.data.deactivate();
        Ok(())
    }

    /// Sets the in-memory state found by a recovery scan of an already indexed segment.
    pub(crate) fn restore(
        &mut self,
        size: u64,
        next_offset: i64,
        max_timestamp: Option<MaxTimestamp>,
        created_at_ms: Option<u64>,
    ) {
        self.size = size;
        self.next_offset = next_offset;
        self.max_timestamp = max_timestamp;
        self.created_at_ms = created_at_ms.filter(|_| size > 0);
        self.reported.forget();
    }

    /// Forgets all batches and index entries (in memory and in the index files, not in
    /// `.log`) so that they can be replayed through [`Self::track_appended`].
    pub(crate) fn reset_for_rebuild(&mut self) -> io::Result<()> {
        self.offset_index.clear()?;
        self.time_index.clear()?;
        self.restore(0, self.base_offset, None, None);
        Ok(())
    }

    /// Whether a batch of `batch_size` bytes ending at `last_offset` must go to a new
    /// segment. An empty segment takes any batch.
    pub(crate) fn should_roll(
        &self,
        batch_size: u64,
        last_offset: i64,
        config: &LogConfig,
        now_ms: u64,
    ) -> bool {
        if self.is_empty() {
            return false;
        }
        let size_limit = config.segment_bytes.min(u64::from(u32::MAX));
        let too_big = self.size.saturating_add(batch_size) > size_limit;
        let offsets_overflow = last_offset - self.base_offset > i64::from(u32::MAX);
        let too_old = match (config.segment_ms, self.created_at_ms) {
            (Some(segment_ms), Some(created)) => now_ms.saturating_sub(created) > segment_ms,
            _ => false,
        };
        too_big || offsets_overflow || too_old
    }

    /// Writes a batch, `head` then `rest`, after the last whole batch (active
    /// segments only). The segment's
    /// state is not changed until [`Self::track_appended`]; on error,
    /// [`Self::discard_unaccounted`] removes whatever part was written.
    pub(crate) fn write_batch(&mut self, head: &[u8], rest: &[u8]) -> io::Result<()> {
        self.data.write_parts_at(head, rest, self.size)
    }

    /// Cuts the data back to the last accounted batch.
    pub(crate) fn discard_unaccounted(&mut self) -> io::Result<()> {
        self.data.set_len(self.size)
    }

    /// Accounts for a batch of `size` bytes now in `.log` at `position` (the current
    /// end): size, next offset, running max timestamp and index entries. This is the
    /// one place where index entries are decided, used by appends and by index
    /// rebuilds at open alike:
    ///
    /// - offset index: an entry for the segment's first batch, then for each batch that
    ///   starts at least `index_interval_bytes` after the last entry's batch;
    /// - time index: at those same batches, (running max timestamp, base offset of the
    ///   batch that reached it) when the running max exceeds the last entry.
    pub(crate) fn track_appended(
        &mut self,
        position: u64,
        size: u64,
        meta: &BatchMeta,
        index_interval_bytes: u64,
        now_ms: u64,
    ) -> Result<(), StorageError> {
        if position != self.size {
            return Err(StorageError::Corrupt(format!(
                "{}: batch at {position} does not follow the segment end {}",
                self.log_path.display(),
                self.size
            )));
        }
        let index_point = self
            .offset_index
            .last()
            .is_none_or(|last| position - last.position >= index_interval_bytes);
        self.size = position + size;
        self.next_offset = meta.last_offset + 1;
        self.created_at_ms.get_or_insert(now_ms);
        if self
            .max_timestamp
            .is_none_or(|max| meta.max_timestamp > max.timestamp)
        {
            self.max_timestamp = Some(MaxTimestamp {
                timestamp: meta.max_timestamp,
                base_offset: meta.base_offset,
                last_offset: meta.last_offset,
            });
        }
        if index_point {
            self.offset_index.append(meta.base_offset, position)?;
            if let Some(max) = self.max_timestamp {
                if self
                    .time_index
                    .last()
                    .is_none_or(|t| max.timestamp > t.timestamp)
                {
                    self.time_index.append(max.timestamp, max.base_offset)?;
                }
            }
        }
        Ok(())
    }

    /// The first batch whose last offset is `>= offset` (the batch containing it, or
    /// the next one if `offset` falls in a gap), found by an offset-index lookup and a
    /// header scan from the indexed position.
    pub(crate) fn find_batch(
        &self,
        offset: i64,
    ) -> Result<Option<(u64, BatchHeader)>, StorageError> {
        let start = self.offset_index.lookup(offset).map_or(0, |e| e.position);
        self.scan_from(start, |h| h.last_offset >= offset)
    }

    /// Whole batches from the one [`Self::find_batch`] returns for `offset`: as many as
    /// fit in `max_bytes`, but always the first one. `None` if no batch qualifies.
    /// Every batch returned was checked (framing, offsets, CRC-32C; see `verify.rs`):
    /// the bytes stop before the first batch that fails, and a read whose first batch
    /// fails gets [`StorageError::CorruptBatch`], naming where the next intact batch
    /// starts.
    pub(crate) fn read(
        &self,
        offset: i64,
        max_bytes: usize,
    ) -> Result<Option<Bytes>, StorageError> {
        let reader = self.data.reader()?;
        let (start, expected) = self
            .offset_index
            .lookup(offset)
            .map_or((0, self.base_offset), |e| (e.position, e.offset));
        let mut walk = Walk::new(self, &reader, start, expected);
        // Whether the walk already went on at the batch found after a gap's start.
        let mut in_gap = false;
        loop {
            let (position, first) = loop {
                match walk.next()? {
                    Walked::End => match self.gap.as_ref().filter(|gap| offset < gap.end) {
                        None => return Ok(None),
                        Some(gap) => match gap.resume {
                            Some((_, base)) if offset >= base && !in_gap => {
                                in_gap = true;
                                walk.resume_at(gap.resume);
                            }
                            _ => {
                                return Err(self.gap_error(gap, walk.expected().min(offset)));
                            }
                        },
                    },
                    Walked::Batch { position, header } if header.last_offset >= offset => {
                        break (position, header)
                    }
                    Walked::Batch { .. } => {}
                    Walked::Damaged {
                        position,
                        first_offset,
                        resume,
                        reason,
                    } => {
                        let resume_offset = resume.map_or(self.offset_bound(), |(_, base)| base);
                        if offset < resume_offset {
                            return Err(self.refuse(position, first_offset, resume_offset, reason));
                        }
                    }
                }
            };
            // A batch whose damage was found before: answer from memory (no read of
            // the batch, no new search).
            let damage = match self.reported.damage(position, first.base_offset, self.size) {
                Some(damage) => damage,
                None => match self.read_checked(&reader, position, &first, max_bytes)? {
                    Checked::Intact(bytes) => return Ok(Some(bytes)),
                    // The first batch failed its CRC: none of its header can be
                    // trusted (its last offset may be why the walk stopped here), so it
                    // stands for the offsets up to the next intact batch.
                    Checked::Damaged(reason) => {
                        self.damage_at(position, first.base_offset, reason, || {
                            walk.resync(position, Some(position + first.size), first.base_offset)
                        })?
                    }
                    Checked::Changed => Damage {
                        first_offset: first.base_offset,
                        resume: walk.resync(
                            position,
                            Some(position + first.size),
                            first.base_offset,
                        )?,
                        reason: "batch changed under the reader".into(),
                    },
                },
            };
            let resume_offset = damage.resume.map_or(self.offset_bound(), |(_, base)| base);
            if offset < resume_offset {
                return Err(self.refuse(
                    position,
                    damage.first_offset,
                    resume_offset,
                    damage.reason,
                ));
            }
            walk.resume_at(damage.resume);
        }
    }

    /// Reads whole batches from `first` (at `position`, its header not yet trusted) up
    /// to `max_bytes`, but always all of `first`, and checks them (see
    /// [`verified_len`]).
    ///
    /// Memory is bounded by `max(max_bytes, MAX_UNVERIFIED_READ)` until the first
    /// batch's CRC has matched. Its size comes from its length field, which is
    /// outside the CRC: a damaged length that still fits in the segment could claim
    /// up to the whole segment (1 GiB by default), and would make every fetch
    /// allocate and read that much before the CRC could refuse it. So a batch that
    /// claims more than both must first show evidence that the length is the
    /// producer's:
    ///
    /// - no offset-index entry may lie inside it (entries are at batch starts, so
    ///   one inside proves the length wrong; free, it is in memory, and it catches
    ///   most damaged lengths, since entries are `index.interval.bytes` apart): the
    ///   walk that found the batch has checked that (`Segment::overruns_index`);
    /// - its CRC, computed over reads of [`CRC_CHUNK`] bytes
    ///   ([`batch::checksum_at`]), must match.
    ///
    /// Only then is it read whole, and the match is remembered (see `verify.rs`), so
    /// a large intact batch pays for the extra pass once. Reads within the bound,
    /// which is every fetch of a healthy log whose batches are below the cap, are one
    /// read as before, with no extra check but a comparison.
    fn read_checked(
        &self,
        reader: &impl ReadAt,
        position: u64,
        first: &BatchHeader,
        max_bytes: usize,
    ) -> Result<Checked, StorageError> {
        let max_bytes = u64::try_from(max_bytes).unwrap_or(u64::MAX);
        if first.size > max_bytes.max(MAX_UNVERIFIED_READ)
            && !self.reported.intact(position, first.size)
        {
            crate::faults::check(crate::faults::Op::Read, &self.log_path)?;
            let computed = batch::checksum_at(reader, position, first.size, CRC_CHUNK)?;
            if computed != first.crc {
                return Ok(Checked::Damaged(crc_mismatch(first, computed)));
            }
            self.reported.remember_intact(position, first.size);
        }
        let available = self.size.saturating_sub(position);
        let want = max_bytes.max(first.size).min(available);
        let len = usize::try_from(want).map_err(|_| self.corrupt(position, "read too large"))?;
        let mut buf = vec![0u8; len];
        crate::faults::check(crate::faults::Op::Read, &self.log_path)?;
        reader.read_exact_at(&mut buf, position)?;
        match verified_len(&buf, first.base_offset) {
            (0, bad) => Ok(bad.map_or(Checked::Changed, Checked::Damaged)),
            (len, _) => {
                buf.truncate(len);
                Ok(Checked::Intact(Bytes::from(buf)))
            }
        }
    }

    /// The first batch with max_timestamp `>= timestamp` and last offset
    /// `>= min_offset`, with its bytes. Starts scanning where the time index proves
    /// nothing earlier qualifies (see [`crate::index`]).
    pub(crate) fn find_by_timestamp(
        &self,
        timestamp: i64,
        min_offset: i64,
    ) -> Result<Option<(BatchHeader, Bytes)>, StorageError> {
        let from = self
            .time_index
            .lookup_before(timestamp)
            .map_or(self.base_offset, |e| e.offset)
            .max(min_offset);
        let start = self.offset_index.lookup(from).map_or(0, |e| e.position);
        let found = self.scan_from(start, |h| {
            h.max_timestamp >= timestamp && h.last_offset >= min_offset
        })?;
        let Some((position, header)) = found else {
            return Ok(None);
        };
        let mut buf = vec![
            0u8;
            usize::try_from(header.size)
                .map_err(|_| self.corrupt(position, "batch too large"))?
        ];
        self.data.reader()?.read_exact_at(&mut buf, position)?;
        Ok(Some((header, Bytes::from(buf))))
    }

    /// Removes the batch at `position` and everything after it, leaving `next_offset`
    /// as the log end, and brings the index files up to date (truncation is rare, and
    /// files that match make the next open cheap). The running max timestamp must be
    /// recomputed afterwards (see `recovery::rescan_max_timestamp`).
    pub(crate) fn cut(&mut self, position: u64, next_offset: i64) -> Result<(), StorageError> {
        // What was found about damage may name bytes that are about to go.
        self.reported.forget();
        self.data.set_len(position)?;
        self.offset_index.truncate_to_position(position)?;
        self.time_index.truncate_to_offset(next_offset)?;
        self.size = position;
        self.next_offset = next_offset;
        if position == 0 {
            self.created_at_ms = None;
        }
        self.write_out_indexes(false)?;
        Ok(())
    }

    /// Makes `.log` end at `len` bytes (recovery, before the segment is in use).
    pub(crate) fn set_log_len(&mut self, len: u64) -> io::Result<()> {
        self.reported.forget();
        self.data.set_len(len)
    }

    /// fsyncs `.log`: what a flush does to the active segment. Buffered index
    /// entries stay buffered: the index is in memory, its file only shortens
    /// recovery, which scans what the file lacks (at most the buffer's worth),
    /// so writing it at every flush (two opens and writes each time) buys
    /// nothing a crash would keep. See [`Self::sync_all`].
    pub(crate) fn sync_data(&mut self) -> io::Result<()> {
        self.data.sync()
    }

    /// A handle on `.log` to fsync without holding the log (see
    /// [`crate::Log::begin_flush`]); index entries stay buffered, as for
    /// [`Self::sync_data`].
    pub(crate) fn prepare_sync_data(&mut self) -> io::Result<Option<std::fs::File>> {
        self.data.sync_handle()
    }

    /// fsyncs `.log`, then both indexes: done once for a sealed segment (at the first
    /// flush after its roll) and for the active one at a clean close, so that opening
    /// finds indexes that match.
    pub(crate) fn sync_all(&mut self) -> io::Result<()> {
        self.data.sync()?;
        self.write_out_indexes(true)
    }

    /// Writes buffered index entries (and fsyncs the index files if `sync`).
    pub(crate) fn write_out_indexes(&mut self, sync: bool) -> io::Result<()> {
        self.offset_index.write_out(sync)?;
        self.time_index.write_out(sync)
    }

    /// Removes the segment's three files (in memory: just drops it).
    pub(crate) fn delete_files(self) -> io::Result<()> {
        match self.data.path().map(Path::to_path_buf) {
            Some(log_path) => {
                drop(self);
                remove_files(&log_path)
            }
            None => Ok(()),
        }
    }

    fn scan_from(
        &self,
        start: u64,
        mut found: impl FnMut(&BatchHeader) -> bool,
    ) -> Result<Option<(u64, BatchHeader)>, StorageError> {
        let reader: Reader<'_> = self.data.reader()?;
        let mut scanner = Scanner::new(&reader, start, self.size, SEARCH_WINDOW);
        loop {
            match scanner.next_batch()? {
                Scanned::Batch { position, header } => {
                    if found(&header) {
                        return Ok(Some((position, header)));
                    }
                }
                Scanned::End => return Ok(None),
                Scanned::Invalid { position, error } => {
                    return Err(self.corrupt(position, &error.to_string()))
                }
            }
        }
    }

    fn corrupt(&self, position: u64, what: &str) -> StorageError {
        StorageError::Corrupt(format!(
            "{} at byte {position}: {what}",
            self.log_path.display()
        ))
    }
}

/// The longest prefix of `buf` made of whole batches that pass the read checks (framing,
/// base offsets following on from `first_base`, CRC-32C), and why the batch after it
/// failed, if one did (a batch cut short by the read size is not a failure).
fn verified_len(buf: &[u8], first_base: i64) -> (usize, Option<String>) {
    let mut len = 0usize;
    let mut expected = first_base;
    while let Some(rest) = buf.get(len..).filter(|rest| !rest.is_empty()) {
        let header = match BatchHeader::parse(rest) {
            Ok(header) => header,
            Err(batch::FramingError::ShortHeader { .. }) => break,
            Err(e) => return (len, Some(e.to_string())),
        };
        let Some(whole) = usize::try_from(header.size)
            .ok()
            .and_then(|size| rest.get(..size))
        else {
            break;
        };
        if header.base_offset != expected {
            let reason = format!(
                "base offset {} where {expected} was expected",
                header.base_offset
            );
            return (len, Some(reason));
        }
        if !batch::crc_matches(whole, &header) {
            let computed = whole.get(21..).map_or(0, crc32c::crc32c);
            return (len, Some(crc_mismatch(&header, computed)));
        }
        expected = header.last_offset + 1;
        len += whole.len();
    }
    (len, None)
}

/// Why a batch whose CRC-32C came out as `computed` is refused.
fn crc_mismatch(header: &BatchHeader, computed: u32) -> String {
    format!(
        "CRC-32C mismatch in the batch at offset {}: stored {:#010x}, computed {computed:#010x}",
        header.base_offset, header.crc
    )
}

/// Index and time-index file paths that belong to the segment `log_path`.
pub(crate) fn index_paths(log_path: &Path) -> [PathBuf; 2] {
    [
        log_path.with_extension(INDEX_EXTENSION),
        log_path.with_extension(TIME_INDEX_EXTENSION),
    ]
}

/// Removes a segment's three files by path (also while they are open: Unix keeps the
/// open file alive). Missing files are fine.
pub(crate) fn remove_files(log_path: &Path) -> io::Result<()> {
    let [index, time_index] = index_paths(log_path);
    for path in [index.as_path(), time_index.as_path(), log_path] {
        match fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::test_batch::batch;

    fn meta(b: &[u8]) -> BatchMeta {
        let h = BatchHeader::parse(b).unwrap();
        BatchMeta {
            base_offset: h.base_offset,
            last_offset: h.last_offset,
            max_timestamp: h.max_timestamp,
        }
    }

    fn append(seg: &mut Segment, b: &[u8], interval: u64) {
        seg.write_batch(b, &[]).unwrap();
        seg.track_appended(seg.size(), b.len() as u64, &meta(b), interval, 0)
            .unwrap();
    }

    const BACKENDS: [Backend; 2] = [Backend::Disk, Backend::Memory];

    #[test]
    fn index_entries_follow_the_interval() {
        for backend in BACKENDS {
            index_entries_follow_the_interval_in(backend);
        }
    }

    fn index_entries_follow_the_interval_in(backend: Backend) {
        let dir = tempfile::tempdir().unwrap();
        let mut seg = Segment::create(dir.path(), 0, backend).unwrap();
        // 100-byte batches, an entry at least every 250 bytes: batches 0, 3, 6, ...
        for i in 0..10 {
            append(&mut seg, &batch(i, 1, 10 * i, 39), 250);
        }
        assert_eq!(seg.offset_index.len(), 4);
        assert_eq!(seg.offset_index.lookup(5).unwrap().position, 300);
        assert_eq!(seg.time_index.len(), 4);
        assert_eq!(seg.find_batch(5).unwrap().unwrap().1.base_offset, 5);
        assert_eq!(seg.find_batch(10).unwrap(), None);
        assert_eq!(seg.max_timestamp().unwrap().timestamp, 90);
    }

    #[test]
    fn time_index_records_where_the_running_max_was_reached() {
        let dir = tempfile::tempdir().unwrap();
        let mut seg = Segment::create(dir.path(), 0, Backend::Disk).unwrap();
        // Index every second batch (100 bytes each, interval 200).
        let timestamps = [5, 50, 7, 8, 9, 10, 60, 61];
        for (i, ts) in timestamps.iter().enumerate() {
            append(&mut seg, &batch(i as i64, 1, *ts, 39), 200);
        }
        // Points at batches 0, 2, 4, 6: (5,0), (50,1) at 2, nothing at 4, (60,6) at 6.
        assert_eq!(seg.time_index.len(), 3);
        assert_eq!(seg.time_index.last().unwrap().offset, 6);
        assert_eq!(
            seg.find_by_timestamp(8, 0).unwrap().unwrap().0.base_offset,
            1
        );
        assert_eq!(
            seg.find_by_timestamp(51, 0).unwrap().unwrap().0.base_offset,
            6
        );
        assert_eq!(
            seg.find_by_timestamp(61, 0).unwrap().unwrap().0.base_offset,
            7
        );
        assert_eq!(seg.find_by_timestamp(62, 0).unwrap(), None);
        assert_eq!(
            seg.find_by_timestamp(8, 2).unwrap().unwrap().0.base_offset,
            3
        );
    }

    #[test]
    fn should_roll_on_size_offsets_and_age() {
        let dir = tempfile::tempdir().unwrap();
        let mut seg = Segment::create(dir.path(), 0, Backend::Disk).unwrap();
        let config = LogConfig {
            segment_bytes: 250,
            segment_ms: Some(1_000),
            index_interval_bytes: 4096,
        };
        assert!(
            !seg.should_roll(1_000, 0, &config, 0),
            "empty segments take anything"
        );
        seg.write_batch(&batch(0, 1, 0, 39), &[]).unwrap();
        seg.track_appended(0, 100, &meta(&batch(0, 1, 0, 39)), 4096, 5_000)
            .unwrap();
        assert!(!seg.should_roll(150, 1, &config, 5_000));
        assert!(seg.should_roll(151, 1, &config, 5_000));
        assert!(seg.should_roll(10, 1 + i64::from(u32::MAX), &config, 5_000));
        assert!(!seg.should_roll(10, 1, &config, 6_000));
        assert!(seg.should_roll(10, 1, &config, 6_001));
    }

    #[test]
    fn read_returns_whole_batches_within_max_bytes() {
        for backend in BACKENDS {
            read_returns_whole_batches_within_max_bytes_in(backend);
        }
    }

    fn read_returns_whole_batches_within_max_bytes_in(backend: Backend) {
        let dir = tempfile::tempdir().unwrap();
        let mut seg = Segment::create(dir.path(), 0, backend).unwrap();
        for i in 0..5 {
            append(&mut seg, &batch(i * 3, 3, 0, 39), 0);
        }
        assert_eq!(seg.read(4, 0).unwrap().unwrap().len(), 100);
        assert_eq!(seg.read(4, 299).unwrap().unwrap().len(), 200);
        assert_eq!(seg.read(4, 300).unwrap().unwrap().len(), 300);
        assert_eq!(seg.read(4, 10_000).unwrap().unwrap().len(), 400);
        assert_eq!(seg.read(15, 10_000).unwrap(), None);
    }

    #[test]
    fn cut_truncates_files_and_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let mut seg = Segment::create(dir.path(), 0, Backend::Disk).unwrap();
        for i in 0..6 {
            append(&mut seg, &batch(i, 1, i, 39), 0);
        }
        seg.cut(300, 3).unwrap();
        assert_eq!(seg.size(), 300);
        assert_eq!(seg.offset_index.len(), 3);
        assert_eq!(seg.time_index.len(), 3);
        assert_eq!(std::fs::metadata(seg.log_path()).unwrap().len(), 300);
        assert_eq!(seg.find_batch(3).unwrap(), None);
        let paths = index_paths(seg.log_path());
        seg.delete_files().unwrap();
        assert!(paths.iter().all(|p| !p.exists()));
    }

    #[test]
    fn only_the_active_segment_holds_a_write_handle() {
        let dir = tempfile::tempdir().unwrap();
        let mut seg = Segment::create(dir.path(), 0, Backend::Disk).unwrap();
        for i in 0..4 {
            append(&mut seg, &batch(i, 1, i, 39), 0);
        }
        let [index_path, _] = index_paths(seg.log_path());
        assert_eq!(
            fs::metadata(&index_path).unwrap().len(),
            0,
            "entries buffered"
        );
        seg.seal().unwrap();
        assert_eq!(fs::metadata(&index_path).unwrap().len(), 32);
        assert!(seg.write_batch(&batch(4, 1, 4, 39), &[]).is_err());
        // Sealed segments are still read (through the shared handle cache).
        assert_eq!(seg.read(2, 0).unwrap().unwrap().len(), 100);
        seg.activate().unwrap();
        seg.write_batch(&batch(4, 1, 4, 39), &[]).unwrap();
        seg.sync_all().unwrap();
    }

    #[test]
    fn memory_segments_touch_no_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut seg = Segment::in_memory(7);
        for i in 0..5 {
            append(&mut seg, &batch(7 + i, 1, i, 39), 0);
        }
        seg.cut(200, 9).unwrap();
        assert_eq!(seg.read(8, usize::MAX).unwrap().unwrap().len(), 100);
        seg.sync_all().unwrap();
        seg.seal().unwrap();
        assert_eq!(seg.file_metadata().unwrap().map(|m| m.len()), None);
        seg.delete_files().unwrap();
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
