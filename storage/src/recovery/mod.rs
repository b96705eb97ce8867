//! Opening a partition directory after a clean shutdown or a crash.
//!
//! 1. The `.clean-shutdown` marker (see `checkpoint.rs`) is looked for and, if found,
//!    durably removed right away: from now on the directory may change, so a crash
//!    after this open must get a full recovery.
//! 2. Every segment is recovered in base-offset order by `segment.rs` (index checks,
//!    a header scan of its tail, index rebuild when needed). Batch CRC-32Cs are checked
//!    only without the marker, and only where data may not have reached the disk
//!    whole: every batch the last segment's scan visits, and every batch at or after
//!    the persisted recovery point (all segments from the one holding it). Without a
//!    recovery point, just the last segment's tail.
//! 3. The first batch that fails (framing, order or CRC) ends the log: the segment is
//!    cut there and the segments after it are deleted, because a log has no holes.
//! 4. After a clean shutdown, the CRC-32C of the active segment's last batch is
//!    checked (its header decides the log end; a mismatch cuts it), and the active
//!    segment's headers are walked once more
//!    (framing and offset continuity, no CRC) and every damaged batch is logged: such
//!    damage is not a torn write, so nothing is cut; reads refuse the damaged batch
//!    and serve the intact ones after it (see `segment/verify.rs`).
//! 5. At every open, a sealed segment whose offsets end below the next segment's base
//!    offset is damaged (no operation leaves gaps): logged, nothing cut, and reads of
//!    the offsets in between are refused or served from the intact batches found
//!    after its last batch, never from the next segment (`Segment::mark_gap`). After a
//!    clean shutdown step 3 does not apply to sealed segments: damage that ends a
//!    sealed segment's scan (say a length claiming past the end of the file) cannot
//!    be a torn write, so it is kept in place and becomes such a gap; no segment is
//!    cut or deleted. Without the marker it is still cut: a roll does not fsync the
//!    segment it seals (the next flush does), so a crash can tear a sealed segment.
//!
//! What was found is summed up in a [`RecoveryReport`].

mod segment;

pub(crate) use self::segment::rescan_max_timestamp;

use std::fs;
use std::path::{Path, PathBuf};

use self::segment::{recover_segment, CrcScope};
use crate::checkpoint::{self, LOG_START, RECOVERY_POINT};
use crate::segment::{self as log_segment, Segment};
use crate::{LogConfig, StorageError};

/// What opening a log found and did, from [`crate::Log::recovery_report`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// The previous owner closed the log with [`crate::Log::close`] (the
    /// `.clean-shutdown` marker was there), so no CRC was checked. Always true for
    /// in-memory logs.
    pub clean: bool,
    /// Bytes cut off torn or corrupt segment tails, plus the sizes of the segments
    /// deleted because an earlier one was cut.
    pub bytes_truncated: u64,
    /// Segments deleted because an earlier segment was cut.
    pub segments_deleted: usize,
    /// Batches whose CRC-32C was checked.
    pub batches_checked: u64,
    /// Segments whose index files were rebuilt from their `.log` (missing, damaged or
    /// pointing past a torn tail).
    pub indexes_rebuilt: usize,
    /// Damaged batches found in the active segment's headers after a clean shutdown,
    /// plus sealed segments whose offsets end before the next segment's base offset
    /// (logged, not cut: reads refuse them and serve the intact batches after them).
    pub damaged_batches: usize,
}

/// The recovered contents of a partition directory.
pub(crate) struct RecoveredLog {
    /// All segments, sealed (no handle open), in order; possibly none.
    pub(crate) segments: Vec<Segment>,
    /// The persisted log start offset.
    pub(crate) log_start_offset: Option<i64>,
    /// The persisted recovery point.
    pub(crate) recovery_point: Option<i64>,
    /// Files were removed (the directory needs an fsync).
    pub(crate) dir_dirty: bool,
    pub(crate) report: RecoveryReport,
}

/// Recovers the segments in `dir` (which must exist); see the module doc.
pub(crate) fn recover_log(dir: &Path, config: &LogConfig) -> Result<RecoveredLog, StorageError> {
    let clean = checkpoint::clean_shutdown_marked(dir)?;
    if clean {
        checkpoint::unmark_clean_shutdown(dir)?;
    }
    // The small state files are untrusted input: a damaged one falls back to what the
    // log itself says.
    let log_start_offset = match LOG_START.read(dir) {
        Ok(start) => start,
        Err(StorageError::Corrupt(problem)) => {
            tracing::warn!(dir = %dir.display(), file = LOG_START.name, %problem,
                "unreadable log start offset; the log starts at its first segment");
            None
        }
        Err(e) => return Err(e),
    };
    let recovery_point = match RECOVERY_POINT.read(dir) {
        Ok(point) => point,
        Err(StorageError::Corrupt(problem)) => {
            tracing::warn!(dir = %dir.display(), file = RECOVERY_POINT.name, %problem,
                "unreadable recovery point; checking the whole log");
            Some(0)
        }
        Err(e) => return Err(e),
    };
    // A cleaning pass a crash interrupted: finished or discarded (`cleaner/swap.rs`).
    let swapped = crate::cleaner::swap::recover(dir)?;
    let found = list_segments(dir)?;
    let mut report = RecoveryReport {
        clean,
        ..RecoveryReport::default()
    };
    let mut segments = Vec::with_capacity(found.len());
    let mut dir_dirty = swapped;
    // Per segment: damage kept in place (clean open, sealed segment), for `mark_gap`.
    let mut kept_damage: Vec<Option<String>> = Vec::with_capacity(found.len());
    for (i, (base_offset, log_path)) in found.iter().enumerate() {
        let next_base = found.get(i + 1).map(|(base, _)| *base);
        // Without the marker a sealed segment's damage is still cut as a torn tail: a
        // roll does not fsync the segment it seals (the next flush does), so a crash
        // can tear it.
        let scope = if clean {
            CrcScope {
                keep_damage: next_base.is_some(),
                ..CrcScope::CLEAN
            }
        } else {
            CrcScope {
                all_scanned: next_base.is_none(),
                from_offset: recovery_point.filter(|rp| next_base.is_none_or(|n| *rp < n)),
                keep_misnumbered: false,
                keep_damage: false,
            }
        };
        let recovered = recover_segment(log_path.clone(), *base_offset, config, scope)?;
        report.batches_checked += recovered.batches_checked;
        report.indexes_rebuilt += usize::from(recovered.rebuilt);
        report.bytes_truncated += recovered.truncated_bytes;
        kept_damage.push(recovered.kept_damage);
        segments.push(recovered.segment);
        if recovered.truncated_bytes > 0 {
            for (_, later) in found.get(i + 1..).unwrap_or_default() {
                let size = fs::metadata(later).map_or(0, |m| m.len());
                tracing::warn!(segment = %later.display(), bytes = size,
                    "deleting segment that follows a truncated segment");
                log_segment::remove_files(later)?;
                report.bytes_truncated += size;
                report.segments_deleted += 1;
                dir_dirty = true;
            }
            break;
        }
    }
    if clean {
        // A clean close fsynced everything, so the CRCs are trusted, but bytes can still
        // be damaged after the fact: walk the active segment's headers (framing and
        // offsets; cheap next to reading the data) so that damage there is reported now,
        // not first by a consumer. Nothing is cut: a read refuses just the damaged
        // batch and serves the intact ones after it.
        if let Some(active) = segments.last_mut() {
            // Its last batch's header decides the log end: that one CRC is checked.
            if let Some(cut) = segment::check_last_batch(active)? {
                report.batches_checked += 1;
                report.bytes_truncated += cut;
            }
            let damaged = active.audit()?;
            report.damaged_batches += damaged;
        }
    }
    for i in 1..segments.len() {
        let (earlier, later) = segments.split_at_mut(i);
        if let (Some(a), Some(b)) = (earlier.last_mut(), later.first()) {
            if a.next_offset() > b.base_offset() {
                return Err(StorageError::Corrupt(format!(
                    "{} reaches offset {} but {} starts at {}",
                    a.log_path().display(),
                    a.next_offset(),
                    b.log_path().display(),
                    b.base_offset()
                )));
            }
            // No operation leaves a gap between segments (rolls happen at the log end,
            // truncation and retention remove whole suffixes and prefixes, and a torn
            // tail cut above deletes the segments after it), so one is damage: a
            // length that framed batches out of the scan, a last-offset field, or data
            // lost. Reads refuse it instead of skipping to the next segment (step 5).
            let cause = kept_damage.get_mut(i - 1).and_then(Option::take);
            if a.next_offset() < b.base_offset() {
                a.mark_gap(b.base_offset(), cause.as_deref())?;
                report.damaged_batches += 1;
            } else if let Some(cause) = cause {
                // Damaged bytes after the segment's last offset: nothing to refuse.
                tracing::error!(segment = %a.log_path().display(), %cause,
                    "damaged bytes at the end of a sealed segment, holding no offsets; kept, nothing is cut");
                report.damaged_batches += 1;
            }
        }
    }
    Ok(RecoveredLog {
        segments,
        log_start_offset,
        recovery_point,
        dir_dirty,
        report,
    })
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
        if matches!(extension, "log" | "index" | "timeindex")
            && checkpoint::set_aside_unless_file(&path)?
        {
            // A directory (or anything but a file) named like a segment file.
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
