//! The cleaner's files and how opening a log finishes or discards them.
//!
//! - `<base>.log.cleaned`: a cleaned group being written (or written and fsynced,
//!   not yet swapped in). Incomplete by definition until renamed: opening the log
//!   deletes it, and the old segments are still whole.
//! - `<base>.log.swap`: a complete cleaned segment (fsynced, then renamed from
//!   `.cleaned`, directory fsynced) replacing every segment whose base offset lies in
//!   `[base, its next offset)`. Opening the log deletes those segments (and the index
//!   files of `<base>`), renames `.swap` to `<base>.log` and fsyncs the directory, so a
//!   crash anywhere in a swap ends with the cleaned segment in place.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use sluice_protocol::records::batch::BATCH_HEADER_LEN;
use sluice_protocol::records::parse_header;

use crate::segment;
use crate::StorageError;

const CLEANED: &str = ".cleaned";
const SWAP: &str = ".swap";

pub(crate) fn cleaned_path(log_path: &Path) -> PathBuf {
    let mut name = log_path.as_os_str().to_owned();
    name.push(CLEANED);
    PathBuf::from(name)
}

pub(crate) fn swap_path(log_path: &Path) -> PathBuf {
    let mut name = log_path.as_os_str().to_owned();
    name.push(SWAP);
    PathBuf::from(name)
}

/// `<20 digits>.log<suffix>` → the base offset.
fn base_of(name: &str, suffix: &str) -> Option<i64> {
    let stem = name
        .strip_suffix(suffix)?
        .strip_suffix(segment::LOG_SUFFIX)?;
    (stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit()))
        .then(|| stem.parse().ok())
        .flatten()
}

/// The offset after the last whole batch of the file at `path`.
fn next_offset_of(path: &Path, base: i64) -> io::Result<i64> {
    let bytes = fs::read(path)?;
    let mut position = 0usize;
    let mut next = base;
    while let Some(rest) = bytes.get(position..) {
        if rest.len() < BATCH_HEADER_LEN {
            break;
        }
        let Ok(header) = parse_header(rest) else {
            break;
        };
        if header.total_len() > rest.len() {
            break;
        }
        next = header.last_offset() + 1;
        position += header.total_len();
    }
    Ok(next)
}

/// Finishes or discards the cleaner's files in `dir` (see the module doc). Returns
/// whether anything was changed.
pub(crate) fn recover(dir: &Path) -> Result<bool, StorageError> {
    let mut swaps = Vec::new();
    let mut logs = Vec::new();
    let mut changed = false;
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if base_of(name, CLEANED).is_some() {
            tracing::info!(file = %path.display(), "removing an unfinished cleaned segment");
            fs::remove_file(&path)?;
            changed = true;
        } else if let Some(base) = base_of(name, SWAP) {
            swaps.push((base, path));
        } else if let Some(base) = base_of(name, "") {
            logs.push(base);
        }
    }
    swaps.sort_unstable();
    for (base, swap) in swaps {
        let next = next_offset_of(&swap, base)?;
        for old in logs
            .iter()
            .filter(|b| **b >= base && **b < next.max(base + 1))
        {
            segment::remove_files(&dir.join(segment::log_file_name(*old)))?;
        }
        let log_path = dir.join(segment::log_file_name(base));
        segment::remove_files(&log_path)?;
        fs::rename(&swap, &log_path)?;
        tracing::info!(segment = %log_path.display(), "finished swapping in a cleaned segment");
        changed = true;
    }
    if changed {
        crate::checkpoint::sync_dir(dir)?;
    }
    Ok(changed)
}
