//! Creating many logs with a few filesystem commits.
//!
//! [`Log::open`](super::Log::open) makes a new log durable on its own: its
//! recovery point is fsynced, renamed into place and its directory fsynced,
//! then the parent directory is fsynced: three fsyncs per log, thousands for
//! a large topic. [`Log::open_staged`](super::Log::open_staged) writes the
//! same files without fsyncs and [`make_new_logs_durable`] then makes a whole
//! set durable in the same order, each step for every log at once:
//!
//! 1. the staged recovery points' contents (`recovery-point.tmp`);
//! 2. each renamed into place;
//! 3. the directories: the renames, the segment files and the new log
//!    directories themselves.
//!
//! Steps 1 and 3 are one `syncfs` per filesystem where `syncfs` reports
//! writeback errors, and one fsync per file or directory otherwise. A crash
//! at any point leaves each log missing, or without a recovery point (a
//! leftover `.tmp` is removed at open; such a log holds no data yet and
//! persists one at its first flush), or with a complete one, as with
//! `Log::open`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::checkpoint::{sync_dir, RECOVERY_POINT};
use crate::syncfs::sync_filesystems_of;
use crate::StorageError;

/// A log created by `Log::open_staged` that is not durable yet.
#[derive(Debug)]
#[must_use = "a staged log must be made durable before it takes appends"]
pub struct NewLog {
    pub(super) dir: PathBuf,
    /// The log's directory was created too (its parent changed).
    pub(super) new_dir: bool,
}

impl NewLog {
    /// The log's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Makes the logs `Log::open_staged` created durable (see the module
/// notes). On error some may be and some not; none should take appends.
pub fn make_new_logs_durable(logs: &[NewLog]) -> Result<(), StorageError> {
    if logs.is_empty() {
        return Ok(());
    }
    let dirs: Vec<&Path> = logs.iter().map(|l| l.dir.as_path()).collect();
    if !sync_filesystems_of(&dirs)? {
        for log in logs {
            RECOVERY_POINT.sync_staged(&log.dir)?;
        }
    }
    for log in logs {
        RECOVERY_POINT.commit_staged(&log.dir)?;
    }
    if !sync_filesystems_of(&dirs)? {
        let mut parents = BTreeSet::new();
        for log in logs {
            sync_dir(&log.dir)?;
            if log.new_dir {
                if let Some(parent) = log.dir.parent() {
                    parents.insert(parent.to_path_buf());
                }
            }
        }
        for parent in parents {
            sync_dir(&parent)?;
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::fs;

    use super::*;
    use crate::log::{Log, LogConfig};

    fn append_one(log: &mut Log) {
        crate::batch::test_batch::append_one(log);
        log.flush().unwrap();
    }

    #[test]
    fn staged_logs_get_their_recovery_points_when_made_durable() {
        let root = tempfile::tempdir().unwrap();
        let mut logs = Vec::new();
        let mut created = Vec::new();
        for i in 0..3 {
            let (log, new) =
                Log::open_staged(&root.path().join(format!("t-{i}")), LogConfig::default())
                    .unwrap();
            logs.push(log);
            created.push(new.expect("a new directory is a new log"));
        }
        for new in &created {
            assert!(new.dir().join("recovery-point.tmp").exists());
            assert!(!new.dir().join("recovery-point").exists());
        }
        make_new_logs_durable(&created).unwrap();
        for new in &created {
            assert!(!new.dir().join("recovery-point.tmp").exists());
            let point = fs::read_to_string(new.dir().join("recovery-point")).unwrap();
            assert_eq!(point, "0\n");
        }
        for log in &mut logs {
            append_one(log);
        }
        drop(logs);
        // Reopened: not new any more, and nothing was lost.
        let (log, new) = Log::open_staged(&root.path().join("t-1"), LogConfig::default()).unwrap();
        assert!(new.is_none());
        assert_eq!(log.log_end_offset(), 1);
    }

    #[test]
    fn a_staged_log_never_made_durable_opens_empty_and_works() {
        // What a crash before make_new_logs_durable leaves behind.
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("t-0");
        let (log, new) = Log::open_staged(&dir, LogConfig::default()).unwrap();
        assert!(new.is_some());
        drop(log);
        let mut log = Log::open(&dir, LogConfig::default()).unwrap();
        assert!(!dir.join("recovery-point.tmp").exists());
        assert_eq!(log.log_end_offset(), 0);
        append_one(&mut log);
        assert_eq!(log.log_end_offset(), 1);
        assert!(dir.join("recovery-point").exists());
    }

    #[test]
    fn nothing_to_make_durable_is_fine() {
        make_new_logs_durable(&[]).unwrap();
    }
}
