//! The small files a partition directory holds beside its segments.
//!
//! - `log-start-offset`: the log start offset, written only when it is moved explicitly
//!   (DeleteRecords), by retention, or lowered by a truncation; otherwise the log
//!   starts at its first segment.
//! - `recovery-point`: an offset below which every batch was fsynced, so that recovery
//!   after a crash CRC-checks everything from there (see `recovery/`). Written by a
//!   flush now and then (not on every flush: see `Log::flush`), lowered by truncation.
//! - `.clean-shutdown`: empty; written (and fsynced) by `Log::close` after everything
//!   was flushed, removed (durably) by the next open, which then skips the CRC scan.
//!
//! The offset files hold the offset in ASCII decimal followed by `\n` (e.g. `1234\n`)
//! and are replaced atomically: write `<name>.tmp`, fsync it, rename over the old file,
//! fsync the directory. A leftover `.tmp` from a crash is ignored and removed at open.

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

const CLEAN_SHUTDOWN: &str = ".clean-shutdown";

impl OffsetFile {
    /// The persisted offset, if the file exists. Also removes a stale temp file.
    pub(crate) fn read(self, dir: &Path) -> Result<Option<i64>, StorageError> {
        remove_if_present(&dir.join(self.tmp_name))?;
        let name = self.name;
        let text = match fs::read_to_string(dir.join(name)) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                return Err(StorageError::Corrupt(format!("{name} is not text")))
            }
            Err(e) => return Err(e.into()),
        };
        text.trim_end_matches('\n')
            .parse::<i64>()
            .ok()
            .filter(|offset| *offset >= 0)
            .map(Some)
            .ok_or_else(|| StorageError::Corrupt(format!("{name} holds {text:?}, not an offset")))
    }

    /// Durably replaces the persisted offset.
    pub(crate) fn write(self, dir: &Path, offset: i64) -> Result<(), StorageError> {
        durable::replace_file(&dir.join(self.name), format!("{offset}\n").as_bytes())?;
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

/// Whether the previous owner closed the log cleanly.
pub(crate) fn clean_shutdown_marked(dir: &Path) -> io::Result<bool> {
    dir.join(CLEAN_SHUTDOWN).try_exists()
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
            for bad in ["", "-5\n", "12x\n", "\u{0}"] {
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
