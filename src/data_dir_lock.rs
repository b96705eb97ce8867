//! The data directory lock: one broker per `--data-dir`.
//!
//! At start the broker opens (creating it if needed) `<data-dir>/.lock` —
//! Kafka's lock file name — and takes an exclusive OS lock on it
//! (`flock(2)` on Linux, through [`std::fs::File::try_lock`]). The lock is
//! held for as long as the broker runs and released when it stops; the OS
//! drops it with the process, so a killed broker never blocks a restart and
//! the file left behind means nothing by itself. While the lock is held,
//! another broker on the same directory — another process, or another
//! [`Broker`](crate::Broker) in this one — refuses to start. The holder
//! writes its process id into the file, for the refusal message only.
//! `--ephemeral` brokers keep nothing on disk and take no lock.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The lock file's name inside the data directory (as in Kafka).
pub const LOCK_FILE: &str = ".lock";

/// A held lock; dropping it releases the lock.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "data directory {} is in use by another broker{}: the lock on {} is held; \
         stop that broker or give this one another --data-dir",
        dir.display(),
        holder.map(|pid| format!(" (process {pid})")).unwrap_or_default(),
        file.display()
    )]
    Held {
        dir: PathBuf,
        file: PathBuf,
        holder: Option<u32>,
    },
    #[error("cannot lock data directory {}: {}: {source}", dir.display(), file.display())]
    Io {
        dir: PathBuf,
        file: PathBuf,
        source: std::io::Error,
    },
}

/// Takes the exclusive lock on `dir` (which must exist), without waiting.
pub fn lock(dir: &Path) -> Result<DataDirLock, LockError> {
    let path = dir.join(LOCK_FILE);
    let io = |source| LockError::Io {
        dir: dir.to_path_buf(),
        file: path.clone(),
        source,
    };
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            return Err(LockError::Held {
                dir: dir.to_path_buf(),
                file: path.clone(),
                holder: holder_pid(&mut file),
            })
        }
        Err(TryLockError::Error(e)) => return Err(io(e)),
    }
    // Informational only: a failure to record the pid does not matter.
    let _ = file
        .set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| writeln!(file, "{}", std::process::id()));
    Ok(DataDirLock { _file: file })
}

/// The process id the holder wrote, if the file holds one.
fn holder_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.take(32).read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_refuses_a_second_taker_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let held = lock(dir.path()).unwrap();
        match lock(dir.path()) {
            Err(LockError::Held { holder, .. }) => assert_eq!(holder, Some(std::process::id())),
            other => panic!("expected Held, got {other:?}"),
        }
        let message = lock(dir.path()).unwrap_err().to_string();
        assert!(
            message.contains(&dir.path().display().to_string()),
            "{message}"
        );
        drop(held);
        lock(dir.path()).unwrap();
    }

    #[test]
    fn a_missing_directory_is_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        assert!(matches!(lock(&missing), Err(LockError::Io { .. })));
    }
}
