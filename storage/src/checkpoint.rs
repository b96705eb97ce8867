//! The small files a partition directory holds beside its segments.
//!
//! - `log-start-offset`: the log start offset, written only when it is moved explicitly
//!   (DeleteRecords), by retention, or lowered by a truncation; otherwise the log
//!   starts at its first segment.
//! - `recovery-point`: an offset below which every batch was fsynced, so that recovery
//!   after a crash CRC-checks everything from there (see `recovery/`). Written by a
//!   flush now and then (not on every flush: see `Log::flush`), lowered by truncation.
//! - `cleaner-offset`: the compacted log's first dirty offset (see `cleaner/`),
//!   written after each cleaning pass; `cleaner-delete-horizon`: the earliest delete
//!   horizon (ms) that pass kept, absent when none.
//! - `.clean-shutdown`: empty; written (and fsynced) by `Log::close` after everything
//!   was flushed, removed (durably) by the next open, which then skips the CRC scan.
//!
//! The offset files hold the offset in ASCII decimal followed by `\n` (e.g. `1234\n`)
//! and are replaced atomically: write `<name>.tmp`, fsync it, rename over the old file,
//! fsync the directory. A leftover `.tmp` from a crash is ignored and removed at open.
//! These are not written with `durable::replace_file` (whose temporary files are
//! `tempfile`'s, with random names): the temporary names here are fixed because code
//! finds them by name — opening a log removes a leftover one, and creating many logs
//! stages each recovery point under it, then fsyncs and renames them all at once (see
//! `log/creation.rs`), which one call per file cannot do.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

use crate::durable;
use crate::StorageError;

/// A file holding one offset.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OffsetFile {
    pub(crate) name: &'static str,
    tmp_name: &'static str,
}

pub(crate) const LOG_START: OffsetFile = OffsetFile {
    name: "log-start-offset",
    tmp_name: "log-start-offset.tmp",
};

pub(crate) const RECOVERY_POINT: OffsetFile = OffsetFile {
    name: "recovery-point",
    tmp_name: "recovery-point.tmp",
};

/// The cleaner's first dirty offset: where the part of a compacted log not yet
/// cleaned starts (Kafka keeps these in `cleaner-offset-checkpoint` per log dir).
pub(crate) const CLEANER_OFFSET: OffsetFile = OffsetFile {
    name: "cleaner-offset",
    tmp_name: "cleaner-offset.tmp",
};

/// The earliest delete horizon (ms) a cleaning pass kept: when the next pass is due
/// although nothing is dirty. Absent when no tombstone or marker waits.
pub(crate) const CLEANER_HORIZON: OffsetFile = OffsetFile {
    name: "cleaner-delete-horizon",
    tmp_name: "cleaner-delete-horizon.tmp",
};

const CLEAN_SHUTDOWN: &str = ".clean-shutdown";

impl OffsetFile {
    /// The persisted offset, if the file exists. Also removes a stale temp file.
    ///
    /// The file is untrusted input: anything but a regular file holding a
    /// non-negative decimal offset (a directory, garbage, an unreadable file) is
    /// `Corrupt`, and whatever stands at that name is set aside first (see
    /// [`set_aside`]) so that the next write can replace it. The caller falls back to
    /// what the log itself says.
    pub(crate) fn read(self, dir: &Path) -> Result<Option<i64>, StorageError> {
        let tmp = dir.join(self.tmp_name);
        if !set_aside_unless_file(&tmp)? {
            remove_if_present(&tmp)?;
        }
        let name = self.name;
        let path = dir.join(name);
        if set_aside_unless_file(&path)? {
            return Err(StorageError::Corrupt(format!(
                "{} is not a regular file",
                path.display()
            )));
        }
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(StorageError::Corrupt(format!(
                    "{} cannot be read: {e}",
                    path.display()
                )))
            }
        };
        let text = String::from_utf8_lossy(&bytes);
        text.trim_end_matches('\n')
            .parse::<i64>()
            .ok()
            .filter(|offset| *offset >= 0)
            .map(Some)
            .ok_or_else(|| {
                StorageError::Corrupt(format!("{} holds {text:?}, not an offset", path.display()))
            })
    }

    /// Durably replaces the persisted offset.
    pub(crate) fn write(self, dir: &Path, offset: i64) -> Result<(), StorageError> {
        self.replace(dir, offset).map_err(ReplaceFailed::into_error)
    }

    /// [`Self::write`], telling a failure that left the old file standing (writing
    /// the temp file, or renaming it) from a failed fsync, after which what the disk
    /// holds is unknown.
    pub(crate) fn replace(self, dir: &Path, offset: i64) -> Result<(), ReplaceFailed> {
        let file = self
            .stage(dir, offset)
            .map_err(|e| ReplaceFailed::OldStands(e.into()))?;
        crate::faults::check(crate::faults::Op::Fsync, &dir.join(self.name))
            .and_then(|()| durable::sync_all(&file))
            .map_err(|e| ReplaceFailed::Fsync(e.into()))?;
        drop(file);
        self.commit_staged(dir)
            .map_err(|e| ReplaceFailed::OldStands(e.into()))?;
        durable::sync_dir(dir).map_err(|e| ReplaceFailed::Fsync(e.into()))?;
        Ok(())
    }

    /// What [`Self::write`] does before its fsync, for many files at once: the offset in
    /// the temp file, whose handle is returned. The caller makes it durable,
    /// then calls [`Self::commit_staged`] and makes the directory durable.
    pub(crate) fn stage(self, dir: &Path, offset: i64) -> io::Result<File> {
        let mut file = File::create(dir.join(self.tmp_name))?;
        file.write_all(format!("{offset}\n").as_bytes())?;
        Ok(file)
    }

    /// Renames the staged temp file over the persisted one.
    pub(crate) fn commit_staged(self, dir: &Path) -> io::Result<()> {
        fs::rename(dir.join(self.tmp_name), dir.join(self.name))
    }

    /// fsyncs the staged temp file.
    pub(crate) fn sync_staged(self, dir: &Path) -> io::Result<()> {
        durable::sync_all(&File::open(dir.join(self.tmp_name))?)
    }
}

/// How [`OffsetFile::replace`] failed.
#[derive(Debug)]
pub(crate) enum ReplaceFailed {
    /// Nothing replaced the persisted file; writing may go on.
    OldStands(StorageError),
    /// An fsync failed: the page cache can no longer be trusted.
    Fsync(StorageError),
}

impl ReplaceFailed {
    pub(crate) fn into_error(self) -> StorageError {
        match self {
            ReplaceFailed::OldStands(e) | ReplaceFailed::Fsync(e) => e,
        }
    }
}

/// Whether the previous owner closed the log cleanly. Anything but a regular file at
/// the marker's name is set aside and does not count.
pub(crate) fn clean_shutdown_marked(dir: &Path) -> io::Result<bool> {
    let path = dir.join(CLEAN_SHUTDOWN);
    if set_aside_unless_file(&path)? {
        return Ok(false);
    }
    path.try_exists()
}

/// If something other than a regular file (a directory, a socket, ...) stands at
/// `path`, where storage keeps a file of its own, renames it aside to
/// `<name>.orphaned` (or `<name>.orphaned.<n>`), with a warning, and returns true.
/// Nothing is deleted: the operator decides.
pub(crate) fn set_aside_unless_file(path: &Path) -> io::Result<bool> {
    let metadata = match fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    if metadata.is_file() {
        return Ok(false);
    }
    set_aside(path)?;
    Ok(true)
}

/// Renames `path` to `<name>.orphaned` (or `<name>.orphaned.<n>` if that is taken),
/// with a warning naming both.
pub(crate) fn set_aside(path: &Path) -> io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for n in 0..1000u32 {
        let aside = match n {
            0 => path.with_file_name(format!("{name}.orphaned")),
            n => path.with_file_name(format!("{name}.orphaned.{n}")),
        };
        if aside.symlink_metadata().is_ok() {
            continue;
        }
        fs::rename(path, &aside)?;
        tracing::warn!(path = %path.display(), moved_to = %aside.display(),
            "unexpected entry where storage keeps its own file: set aside, not deleted");
        return Ok(());
    }
    Err(io::Error::other(format!(
        "cannot find a free name to set {} aside",
        path.display()
    )))
}

/// Durably writes the clean-shutdown marker.
pub(crate) fn mark_clean_shutdown(dir: &Path) -> io::Result<()> {
    durable::sync_all(&File::create(dir.join(CLEAN_SHUTDOWN))?)?;
    sync_dir(dir)
}

/// Durably removes the clean-shutdown marker, so that a crash from now on is
/// recovered in full.
pub(crate) fn unmark_clean_shutdown(dir: &Path) -> io::Result<()> {
    remove_if_present(&dir.join(CLEAN_SHUTDOWN))?;
    sync_dir(dir)
}

/// fsyncs a directory so that file creations, renames and removals in it are durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    durable::sync_dir(dir)
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bad_contents() {
        let dir = tempfile::tempdir().unwrap();
        for file in [LOG_START, RECOVERY_POINT] {
            assert_eq!(file.read(dir.path()).unwrap(), None);
            file.write(dir.path(), 1234).unwrap();
            assert_eq!(
                fs::read_to_string(dir.path().join(file.name)).unwrap(),
                "1234\n"
            );
            assert_eq!(file.read(dir.path()).unwrap(), Some(1234));
            fs::write(dir.path().join(file.tmp_name), "garbage").unwrap();
            assert_eq!(file.read(dir.path()).unwrap(), Some(1234));
            assert!(!dir.path().join(file.tmp_name).exists());
            for bad in ["", "-5\n", "12x\n", "\u{0}", "xyz", "-7"] {
                fs::write(dir.path().join(file.name), bad).unwrap();
                assert!(
                    matches!(file.read(dir.path()), Err(StorageError::Corrupt(_))),
                    "{bad:?}"
                );
            }
        }
    }

    #[test]
    fn clean_shutdown_marker_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!clean_shutdown_marked(dir.path()).unwrap());
        mark_clean_shutdown(dir.path()).unwrap();
        assert!(clean_shutdown_marked(dir.path()).unwrap());
        unmark_clean_shutdown(dir.path()).unwrap();
        assert!(!clean_shutdown_marked(dir.path()).unwrap());
        unmark_clean_shutdown(dir.path()).unwrap();
    }
}
