//! Opening an existing segment: check its index files against its `.log`, check the
//! CRC-32C of the batches recovery must not trust, truncate a torn tail, rebuild
//! indexes that do not match.
//!
//! Procedure for one segment:
//!
//! 1. Load both index files and check their structure (`OffsetIndex::check`,
//!    `TimeIndex::check`): whole entries, strictly increasing, inside the log, and not
//!    empty while the log is not (a missing file counts as empty).
//! 2. Fast path, when they pass: scan batch headers from the offset-index entry at or
//!    before the last time-index entry to the end of the file (or from further back,
//!    to reach the recovery point, see [`CrcScope`]). Usually that is the last
//!    offset-index entry, so the scan covers about `index_interval_bytes`. It checks
//!    framing (magic, sane length, batch wholly present), that base offsets increase,
//!    the CRC-32C of the batches in the [`CrcScope`], that every offset-index entry in
//!    the range is a batch start with that base offset, and that the last time-index
//!    entry names a batch with that max timestamp. Starting at the last time-index
//!    entry rather than the last offset-index entry makes the segment's max timestamp
//!    exact even if the time index lost trailing entries (see the promise in
//!    [`crate::index`]).
//! 3. If an index disagrees with the log, both are rebuilt by scanning the whole `.log`
//!    (with the same framing, order and CRC checks) and replaying every batch through
//!    `Segment::track_appended`, the same code that decides index entries on append,
//!    so recovery and live appends cannot drift. Index files that lag the log (entries
//!    are buffered before they are written, see [`crate::index`]) pass step 1 and only
//!    make the fast path's scan longer.
//! 4. The first batch that does not frame, is out of order or fails its CRC ends the
//!    segment: everything from there is cut off (`tracing::warn!` says where, how many
//!    bytes and why). Except after a clean shutdown ([`CrcScope::keep_misnumbered`]),
//!    when damage is not a torn write: a misnumbered batch keeps the offsets of its
//!    place, and the fast path steps over a header that does not frame to the next
//!    intact batch (found by `batch::search_batch`); reads refuse the damaged bytes.
//!    And in a sealed segment after a clean shutdown ([`CrcScope::keep_damage`])
//!    nothing is cut at all: damage that ends the scan stays in the segment, whose
//!    offsets end before it, and recovery marks the rest up to the next segment as a
//!    gap (`Segment::mark_gap`).

use std::fs::{File, Metadata};
use std::iter::Peekable;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::batch::{self, BatchHeader, ReadAt, Scanned, Scanner};
use crate::index::OffsetPosition;
use crate::segment::{MaxTimestamp, Segment};
use crate::{BatchMeta, LogConfig, StorageError};

/// How many bytes a recovery scan reads at a time.
const RECOVERY_WINDOW: usize = 256 * 1024;

/// The longest stretch searched for the next intact batch after a damaged header.
const MAX_RESYNC_BYTES: u64 = 64 << 20;

/// Which batches of a segment get their CRC-32C checked. Checking costs reading every
/// byte, so recovery checks only what may not have reached the disk whole: the tail of
/// the last segment and everything after the recovery point.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CrcScope {
    /// Every batch the scan visits: the fast path's tail, or the whole segment when
    /// its indexes are rebuilt.
    pub(crate) all_scanned: bool,
    /// Every batch whose last offset is at or after this offset (the recovery point);
    /// the fast path starts early enough to reach them.
    pub(crate) from_offset: Option<i64>,
    /// After a clean shutdown nothing is torn, so a batch whose base offset is not the
    /// one its place calls for (the CRC does not cover it) is damage to that batch
    /// alone: it keeps the offsets of its place and the scan goes on (reads refuse it,
    /// see `segment/verify.rs`), instead of ending the segment there.
    pub(crate) keep_misnumbered: bool,
    /// After a clean shutdown, for a sealed segment (one with a segment after it):
    /// damage that ends the scan (a header that does not frame, with no intact batch
    /// found after it) is not a torn write either, so nothing is cut. The bytes stay
    /// in the segment, its offsets end before the damaged batch, and recovery marks
    /// the offsets up to the next segment's base as a gap that reads refuse
    /// (`Segment::mark_gap`).
    pub(crate) keep_damage: bool,
}

impl CrcScope {
    /// No CRC checks (a clean shutdown, or a truncation's rescan).
    pub(crate) const NONE: CrcScope = CrcScope {
        all_scanned: false,
        from_offset: None,
        keep_misnumbered: false,
        keep_damage: false,
    };

    /// After a clean shutdown: no CRC checks, misnumbered batches kept.
    pub(crate) const CLEAN: CrcScope = CrcScope {
        keep_misnumbered: true,
        ..CrcScope::NONE
    };

    fn covers(&self, header: &BatchHeader) -> bool {
        self.all_scanned || self.from_offset.is_some_and(|o| header.last_offset >= o)
    }
}

/// A segment ready for use (sealed: no handle open) and what recovering it took.
pub(crate) struct Recovered {
    pub(crate) segment: Segment,
    /// Bytes of torn tail cut from its `.log`.
    pub(crate) truncated_bytes: u64,
    /// Batches whose CRC was checked.
    pub(crate) batches_checked: u64,
    /// Whether its indexes were rebuilt.
    pub(crate) rebuilt: bool,
    /// Damage kept in place ([`CrcScope::keep_damage`]): where and why, for the one
    /// log line recovery writes about it.
    pub(crate) kept_damage: Option<String>,
}

/// Opens and recovers the segment whose log file is `log_path`.
pub(crate) fn recover_segment(
    log_path: PathBuf,
    base_offset: i64,
    config: &LogConfig,
    scope: CrcScope,
) -> Result<Recovered, StorageError> {
    let mut segment = Segment::open_unrecovered(log_path, base_offset)?;
    let metadata = segment.file_metadata()?;
    let file_len = metadata.as_ref().map_or(0, Metadata::len);
    let created_at_ms = metadata.as_ref().map_or_else(now_ms, file_time_ms);

    let mut batches_checked = 0;
    let checked = index_problem(&segment, file_len).map_or_else(
        || scan_tail(&segment, file_len, scope, &mut batches_checked),
        |problem| Ok(Err(problem)),
    )?;
    let mut rebuilt = false;
    let torn = match checked {
        Ok(tail) => {
            segment.restore(
                tail.valid_end,
                tail.next_offset,
                tail.max_timestamp,
                Some(created_at_ms),
            );
            tail.torn
        }
        Err(problem) => {
            tracing::warn!(segment = %segment.log_path().display(), %problem,
                "index files do not match the log; rebuilding them from the log");
            rebuilt = true;
            batches_checked = 0;
            let torn = rebuild(
                &mut segment,
                file_len,
                config,
                created_at_ms,
                scope,
                &mut batches_checked,
            )?;
            segment.write_out_indexes(false)?;
            torn
        }
    };

    let mut truncated_bytes = 0;
    let mut kept_damage = None;
    if let Some(Torn { position, reason }) = torn.as_ref().filter(|_| scope.keep_damage) {
        // The bytes from the damage on stay part of the segment (so the next clean
        // open finds the same); its offsets end before the damaged batch.
        let (next_offset, max_timestamp) = (segment.next_offset(), segment.max_timestamp());
        let created = segment.created_at_ms().or(Some(created_at_ms));
        segment.restore(file_len, next_offset, max_timestamp, created);
        kept_damage = Some(format!("damaged batch at byte {position}: {reason}"));
    } else if let Some(Torn { position, reason }) = torn {
        truncated_bytes = file_len - position;
        tracing::warn!(segment = %segment.log_path().display(), position, bytes_cut = truncated_bytes,
            %reason, "truncating torn tail of log segment");
        segment.set_log_len(position)?;
    }
    Ok(Recovered {
        segment,
        truncated_bytes,
        batches_checked,
        rebuilt,
        kept_damage,
    })
}

/// After a clean shutdown, checks the CRC-32C of the segment's last batch, whose header
/// decides the log end (a damaged last-offset field would move it). A mismatch cuts
/// that batch: its offsets cannot be trusted, and its records are damaged anyway.
/// Returns the bytes cut, or `None` when there was nothing to check.
pub(crate) fn check_last_batch(segment: &mut Segment) -> Result<Option<u64>, StorageError> {
    if segment.is_empty() {
        return Ok(None);
    }
    let last = segment.next_offset() - 1;
    // Damage before the last batch is left to reads (see `segment/verify.rs`).
    let Ok(Some((position, header))) = segment.find_batch(last) else {
        return Ok(None);
    };
    if header.last_offset != last || position.saturating_add(header.size) != segment.size() {
        return Ok(None);
    }
    let size = usize::try_from(header.size)
        .map_err(|_| StorageError::Corrupt("batch too large".into()))?;
    let mut bytes = vec![0u8; size];
    segment.reader()?.read_exact_at(&mut bytes, position)?;
    if batch::crc_matches(&bytes, &header) {
        return Ok(Some(0));
    }
    let cut = segment.size() - position;
    tracing::warn!(segment = %segment.log_path().display(), position, bytes_cut = cut,
        offset = header.base_offset,
        "the last batch fails its CRC-32C after a clean shutdown; its offsets cannot be trusted, cutting it");
    segment.cut(position, header.base_offset)?;
    rescan_max_timestamp(segment)?;
    Ok(Some(cut))
}

/// Recomputes the segment's max timestamp after `Segment::cut`, by the same tail scan
/// as the fast path of recovery.
pub(crate) fn rescan_max_timestamp(segment: &mut Segment) -> Result<(), StorageError> {
    match scan_tail(segment, segment.size(), CrcScope::NONE, &mut 0)? {
        Ok(Tail {
            torn: None,
            max_timestamp,
            ..
        }) => {
            let (size, next_offset) = (segment.size(), segment.next_offset());
            let created = segment.created_at_ms();
            segment.restore(size, next_offset, max_timestamp, created);
            Ok(())
        }
        Ok(Tail { torn: Some(t), .. }) => Err(StorageError::Corrupt(format!(
            "{} at byte {}: {}",
            segment.log_path().display(),
            t.position,
            t.reason
        ))),
        Err(problem) => Err(StorageError::Corrupt(format!(
            "{}: {problem}",
            segment.log_path().display()
        ))),
    }
}

/// Where valid data ends and why.
struct Torn {
    position: u64,
    reason: String,
}

/// What a fast-path scan learned.
struct Tail {
    valid_end: u64,
    next_offset: i64,
    max_timestamp: Option<MaxTimestamp>,
    torn: Option<Torn>,
}

/// Structural problems of the index files, if any.
fn index_problem(segment: &Segment, log_len: u64) -> Option<String> {
    let offsets = segment.offset_index();
    if let Err(problem) = offsets.check(log_len) {
        return Some(format!("offset index: {problem}"));
    }
    let last_indexed = offsets.last().map(|e| e.offset);
    segment
        .time_index()
        .check(log_len, last_indexed)
        .err()
        .map(|problem| format!("time index: {problem}"))
}

/// The fast path (step 2 of the module doc). The outer error is I/O; the inner one
/// says how the indexes disagree with the log.
fn scan_tail(
    segment: &Segment,
    end: u64,
    scope: CrcScope,
    batches_checked: &mut u64,
) -> Result<Result<Tail, String>, StorageError> {
    let time_last = segment.time_index().last();
    let mut start = match time_last {
        None => OffsetPosition {
            offset: segment.base_offset(),
            position: 0,
        },
        Some(t) => match segment.offset_index().lookup(t.offset) {
            Some(start) => start,
            None => {
                return Ok(Err(format!(
                    "time index entry {t:?} precedes the offset index"
                )))
            }
        },
    };
    if let Some(from) = scope.from_offset {
        let reach = segment
            .offset_index()
            .lookup(from)
            .unwrap_or(OffsetPosition {
                offset: segment.base_offset(),
                position: 0,
            });
        if reach.position < start.position {
            start = reach;
        }
    }
    let mut entries = segment
        .offset_index()
        .entries_from(start.position)
        .peekable();
    let reader = segment.reader()?;
    let mut scanner = Scanner::new(&reader, start.position, end, RECOVERY_WINDOW);
    let mut order = OrderCheck::new(segment.base_offset(), scope.keep_misnumbered);
    if scope.keep_misnumbered {
        order.expected = Some(start.offset);
    }
    let mut max_timestamp: Option<MaxTimestamp> = None;
    let mut time_entry_found = time_last.is_none();
    let mut next_offset = segment.base_offset();
    let (valid_end, torn) = loop {
        let (position, header) = match scanner.next_batch()? {
            Scanned::Batch { position, header } => (position, header),
            Scanned::End => break (end, None),
            Scanned::Invalid { position, error } => {
                // After a clean shutdown a header that does not frame is damage, not
                // a torn write: when an intact batch follows, the damaged one is left
                // for reads to refuse and the scan goes on there.
                let floor = order.expected.unwrap_or(segment.base_offset());
                let resume = match scope.keep_misnumbered {
                    true => batch::search_batch(
                        &reader,
                        position + 1,
                        position.saturating_add(MAX_RESYNC_BYTES),
                        end,
                        |h| h.base_offset > floor,
                    )?,
                    false => None,
                };
                if let Some((at, _)) = resume {
                    order.after_damage = Some(floor);
                    while entries.next_if(|e| e.position < at).is_some() {}
                    scanner = Scanner::new(&reader, at, end, RECOVERY_WINDOW);
                    continue;
                }
                let reason = error.to_string();
                break (position, Some(Torn { position, reason }));
            }
        };
        let (base_offset, last_offset) = match order.check(position, &header) {
            Ok(offsets) => offsets,
            Err(reason) => break (position, Some(Torn { position, reason })),
        };
        if let Err(reason) = check_crc(&mut scanner, position, &header, scope, batches_checked)? {
            break (position, Some(Torn { position, reason }));
        }
        if let Err(problem) = match_index_entry(&mut entries, position, base_offset) {
            return Ok(Err(problem));
        }
        if let Some(t) = time_last.filter(|t| t.offset == base_offset) {
            if t.timestamp != header.max_timestamp {
                return Ok(Err(format!(
                    "time index entry {t:?} but the batch has max timestamp {}",
                    header.max_timestamp
                )));
            }
            time_entry_found = true;
        }
        if max_timestamp.is_none_or(|m| header.max_timestamp > m.timestamp) {
            max_timestamp = Some(MaxTimestamp {
                timestamp: header.max_timestamp,
                base_offset,
                last_offset,
            });
        }
        next_offset = last_offset + 1;
    };
    if let Some(e) = entries.next() {
        return Ok(Err(format!(
            "offset index entry {e:?} is past the valid end {valid_end}"
        )));
    }
    if !time_entry_found {
        return Ok(Err(format!(
            "no batch at the last time index entry {time_last:?}"
        )));
    }
    Ok(Ok(Tail {
        valid_end,
        next_offset,
        max_timestamp,
        torn,
    }))
}

/// Checks the next unmatched offset-index entry against the batch at `position`.
fn match_index_entry(
    entries: &mut Peekable<impl Iterator<Item = OffsetPosition>>,
    position: u64,
    base_offset: i64,
) -> Result<(), String> {
    match entries.peek() {
        Some(e) if e.position < position => {
            Err(format!("offset index entry {e:?} is not at a batch start"))
        }
        Some(e) if e.position == position => {
            if e.offset != base_offset {
                return Err(format!(
                    "offset index entry {e:?} but the batch there starts at {base_offset}"
                ));
            }
            entries.next();
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Rebuilds both indexes from the whole `.log` (step 3). Returns where valid data ends
/// if it ends before `end`.
fn rebuild(
    segment: &mut Segment,
    end: u64,
    config: &LogConfig,
    created_at_ms: u64,
    scope: CrcScope,
    batches_checked: &mut u64,
) -> Result<Option<Torn>, StorageError> {
    segment.reset_for_rebuild()?;
    // A handle of its own: the scan runs while the segment is being changed.
    let file = File::open(segment.log_path())?;
    let mut scanner = Scanner::new(&file, 0, end, RECOVERY_WINDOW);
    let mut order = OrderCheck::new(segment.base_offset(), scope.keep_misnumbered);
    loop {
        let (position, header) = match scanner.next_batch()? {
            Scanned::Batch { position, header } => (position, header),
            Scanned::End => return Ok(None),
            Scanned::Invalid { position, error } => {
                let reason = error.to_string();
                return Ok(Some(Torn { position, reason }));
            }
        };
        let (base_offset, last_offset) = match order.check(position, &header) {
            Ok(offsets) => offsets,
            Err(reason) => return Ok(Some(Torn { position, reason })),
        };
        if let Err(reason) = check_crc(&mut scanner, position, &header, scope, batches_checked)? {
            return Ok(Some(Torn { position, reason }));
        }
        let meta = BatchMeta {
            base_offset,
            last_offset,
            max_timestamp: header.max_timestamp,
        };
        segment.track_appended(
            position,
            header.size,
            &meta,
            config.index_interval_bytes,
            created_at_ms,
        )?;
    }
}

/// Checks the CRC of the batch the scanner just returned, if `scope` covers it. The
/// outer error is I/O; the inner one says why the batch is bad.
fn check_crc<R: ReadAt + ?Sized>(
    scanner: &mut Scanner<'_, R>,
    position: u64,
    header: &BatchHeader,
    scope: CrcScope,
    batches_checked: &mut u64,
) -> Result<Result<(), String>, StorageError> {
    if !scope.covers(header) {
        return Ok(Ok(()));
    }
    *batches_checked += 1;
    let computed = scanner.checksum(position, header)?;
    if computed == header.crc {
        Ok(Ok(()))
    } else {
        Ok(Err(format!(
            "CRC-32C mismatch in the batch at offset {}: stored {:#010x}, computed {computed:#010x}",
            header.base_offset, header.crc
        )))
    }
}

/// The ordering rules batches in one segment obey beyond their own framing.
struct OrderCheck {
    segment_base: i64,
    /// The base offset the next batch must have; `None` before the first batch (then
    /// at least the segment base).
    expected: Option<i64>,
    /// See [`CrcScope::keep_misnumbered`].
    keep_misnumbered: bool,
    /// After a misnumbered batch: the first offset it stands for. The next batch may
    /// carry any offsets after it (the damaged one's length field may be the wrong part).
    after_damage: Option<i64>,
}

impl OrderCheck {
    fn new(segment_base: i64, keep_misnumbered: bool) -> Self {
        OrderCheck {
            segment_base,
            expected: None,
            keep_misnumbered,
            after_damage: None,
        }
    }

    /// The offsets the batch at `position` holds: its own, or, for a misnumbered batch
    /// kept after a clean shutdown, those of its place.
    fn check(&mut self, position: u64, header: &BatchHeader) -> Result<(i64, i64), String> {
        let floor = self.expected.unwrap_or(self.segment_base);
        let own = (header.base_offset, header.last_offset);
        let (base, last) = match self.after_damage.take() {
            Some(damaged_from) if header.base_offset > damaged_from => own,
            _ if header.base_offset == floor => own,
            _ if self.keep_misnumbered => {
                self.after_damage = Some(floor);
                (floor, floor + (header.last_offset - header.base_offset))
            }
            _ if header.base_offset > floor && !self.keep_misnumbered => own,
            _ => {
                return Err(format!(
                    "base offset {} where at least {floor} was expected",
                    header.base_offset
                ))
            }
        };
        if last - self.segment_base > i64::from(u32::MAX) || base < self.segment_base {
            return Err(format!("last offset {last} too far from the segment base"));
        }
        if position > u64::from(u32::MAX) {
            return Err("batch beyond the 4 GiB a segment can index".into());
        }
        self.expected = Some(last + 1);
        Ok((base, last))
    }
}

/// The file's creation time (or, where unsupported, modification time) in ms since
/// the epoch: the best guess at when a reopened segment got its first append.
fn file_time_ms(metadata: &Metadata) -> u64 {
    ms_since_epoch(
        metadata
            .created()
            .or_else(|_| metadata.modified())
            .unwrap_or_else(|_| SystemTime::now()),
    )
}

fn now_ms() -> u64 {
    ms_since_epoch(SystemTime::now())
}

fn ms_since_epoch(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::test_batch::batch;
    use crate::segment::{log_file_name, Backend};
    use std::fs;
    use std::io::Write;

    const CONFIG: LogConfig = LogConfig {
        segment_bytes: 1 << 30,
        segment_ms: None,
        index_interval_bytes: 250,
    };

    /// Writes a segment at base 0 with 100-byte batches of the given max timestamps,
    /// through the append path, and returns its log path.
    fn write_segment(dir: &std::path::Path, timestamps: &[i64]) -> PathBuf {
        let mut seg = Segment::create(dir, 0, Backend::Disk).unwrap();
        for (i, ts) in timestamps.iter().enumerate() {
            let b = batch(i as i64, 1, *ts, 39);
            let meta = BatchMeta {
                base_offset: i as i64,
                last_offset: i as i64,
                max_timestamp: *ts,
            };
            seg.write_batch(&b, &[]).unwrap();
            seg.track_appended(seg.size(), 100, &meta, CONFIG.index_interval_bytes, 0)
                .unwrap();
        }
        seg.seal().unwrap();
        seg.log_path().to_path_buf()
    }

    const TAIL: CrcScope = CrcScope {
        all_scanned: true,
        from_offset: None,
        keep_misnumbered: false,
        keep_damage: false,
    };

    /// Flips one payload byte of the batch at `offset` (100-byte batches, base 0).
    fn damage(path: &std::path::Path, offset: u64) {
        let file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .unwrap();
        let at = offset * 100 + 80;
        let mut byte = [0u8];
        std::os::unix::fs::FileExt::read_exact_at(&file, &mut byte, at).unwrap();
        std::os::unix::fs::FileExt::write_all_at(&file, &[byte[0] ^ 0x40], at).unwrap();
    }

    #[test]
    fn clean_segment_recovers_by_scanning_the_tail_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_segment(dir.path(), &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        // Garbage in the first batch is not seen: the fast path starts at the last entry.
        let file = fs::OpenOptions::new().write(true).open(&path).unwrap();
        std::os::unix::fs::FileExt::write_all_at(&file, &[0xff; 20], 0).unwrap();
        let r = recover_segment(path, 0, &CONFIG, TAIL).unwrap();
        assert_eq!(r.truncated_bytes, 0);
        assert_eq!(
            r.batches_checked, 1,
            "only the batch after the last index entry"
        );
        assert!(!r.rebuilt);
        assert_eq!(r.segment.size(), 1_000);
        assert_eq!(r.segment.next_offset(), 10);
        assert_eq!(r.segment.max_timestamp().unwrap().last_offset, 9);
    }

    #[test]
    fn lagging_time_index_still_gives_the_exact_max() {
        let dir = tempfile::tempdir().unwrap();
        // Index points at batches 0, 3, 6, 9; time entries (1,0), (40,2), (70,5).
        let path = write_segment(dir.path(), &[1, 2, 40, 4, 5, 70, 6, 7, 8, 9]);
        let [_, time_path] = crate::segment::index_paths(&path);
        let full = fs::read(&time_path).unwrap();
        assert_eq!(full.len(), 36);
        // Lose the last time entry, as if its write never reached the disk.
        fs::write(&time_path, &full[..24]).unwrap();
        let r = recover_segment(path, 0, &CONFIG, CrcScope::NONE).unwrap();
        let max = r.segment.max_timestamp().unwrap();
        assert_eq!((max.timestamp, max.base_offset), (70, 5));
    }

    #[test]
    fn misplaced_index_entry_triggers_rebuild() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_segment(dir.path(), &[1, 2, 3, 4, 5, 6, 7]);
        let [index_path, _] = crate::segment::index_paths(&path);
        let mut f = fs::OpenOptions::new()
            .append(true)
            .open(&index_path)
            .unwrap();
        // (relative offset 6, position 650): not a batch start.
        f.write_all(&[0, 0, 0, 6, 0, 0, 2, 0x8a]).unwrap();
        drop(f);
        let r = recover_segment(path, 0, &CONFIG, CrcScope::NONE).unwrap();
        assert_eq!(r.segment.offset_index().last().unwrap().position, 600);
        assert_eq!(fs::metadata(&index_path).unwrap().len(), 24);
        assert_eq!(r.segment.next_offset(), 7);
    }

    #[test]
    fn overlapping_offsets_end_the_valid_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(log_file_name(0));
        let mut data = batch(0, 5, 0, 39);
        data.extend(batch(3, 1, 0, 39)); // overlaps the first batch
        fs::write(&path, &data).unwrap();
        let r = recover_segment(path.clone(), 0, &CONFIG, CrcScope::NONE).unwrap();
        assert_eq!(r.truncated_bytes, 100);
        assert_eq!(r.segment.next_offset(), 5);
        assert_eq!(fs::metadata(&path).unwrap().len(), 100);
    }

    #[test]
    fn crc_mismatch_in_the_tail_ends_the_segment() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_segment(dir.path(), &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        damage(&path, 9);
        let r = recover_segment(path.clone(), 0, &CONFIG, CrcScope::NONE).unwrap();
        assert_eq!(r.truncated_bytes, 0, "not checked without a scope");
        drop(r);
        let r = recover_segment(path.clone(), 0, &CONFIG, TAIL).unwrap();
        assert_eq!(r.truncated_bytes, 100);
        assert_eq!(r.segment.next_offset(), 9);
        assert_eq!(r.segment.max_timestamp().unwrap().timestamp, 9);
        assert_eq!(fs::metadata(&path).unwrap().len(), 900);
    }

    #[test]
    fn the_recovery_point_reaches_back_before_the_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_segment(dir.path(), &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        damage(&path, 4);
        // A segment before the last: only what follows the recovery point is checked.
        let after = |offset| CrcScope {
            all_scanned: false,
            from_offset: Some(offset),
            keep_misnumbered: false,
            keep_damage: false,
        };
        // Batch 4 is before the recovery point 5: trusted.
        let r = recover_segment(path.clone(), 0, &CONFIG, after(5)).unwrap();
        assert_eq!((r.truncated_bytes, r.batches_checked), (0, 5));
        drop(r);
        let r = recover_segment(path.clone(), 0, &CONFIG, after(4)).unwrap();
        assert_eq!(r.truncated_bytes, 600);
        assert_eq!(r.segment.next_offset(), 4);
        assert!(r.rebuilt, "index entries pointed past the new end");
        assert_eq!(
            r.batches_checked, 1,
            "the rebuild checks from the recovery point"
        );
    }

    #[test]
    fn rebuilding_checks_crcs_too() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_segment(dir.path(), &[1, 2, 3, 4, 5, 6, 7]);
        let [index_path, _] = crate::segment::index_paths(&path);
        fs::remove_file(&index_path).unwrap();
        damage(&path, 2);
        let r = recover_segment(path, 0, &CONFIG, TAIL).unwrap();
        assert!(r.rebuilt);
        assert_eq!((r.truncated_bytes, r.batches_checked), (500, 3));
        assert_eq!(r.segment.next_offset(), 2);
        assert_eq!(fs::metadata(&index_path).unwrap().len(), 8);
    }
}
