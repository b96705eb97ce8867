//! Every storage failure of a log is logged, without letting a full disk flood the log:
//! the first one at once (error level, naming the log, the operation and the error);
//! then, while failures go on, at most one line per [`REPORT_EVERY`] (logged with the
//! first failure after it passed) with how many there were since the last line; and a
//! last count when the log is closed or dropped.
//!
//! Counted: I/O errors, corrupt files, and writes refused because the log is poisoned.
//! Not counted: the caller's mistakes (offsets out of range, invalid batches), and
//! corrupt batches, which `segment/verify.rs` logs once per batch.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::StorageError;

/// How often a run of failures is summed up.
pub(crate) const REPORT_EVERY: Duration = Duration::from_secs(10);

#[derive(Debug, Default)]
struct Window {
    /// When the last line was logged.
    logged_at: Option<Instant>,
    /// Failures since then, not logged one by one.
    unlogged: u64,
}

/// The failures of one log, rate-limited.
#[derive(Debug)]
pub(crate) struct ErrorReport {
    dir: PathBuf,
    window: Mutex<Window>,
}

impl ErrorReport {
    pub(crate) fn new(dir: PathBuf) -> Self {
        ErrorReport {
            dir,
            window: Mutex::new(Window::default()),
        }
    }

    /// Counts `error` (from `operation`), logging it if it is the first or a summary
    /// is due.
    pub(crate) fn note(&self, operation: &str, error: &StorageError) {
        if !matches!(
            error,
            StorageError::Io(_) | StorageError::Corrupt(_) | StorageError::Poisoned
        ) {
            return;
        }
        let mut window = self.window.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        match window.logged_at {
            Some(at) if now.duration_since(at) < REPORT_EVERY => window.unlogged += 1,
            _ => {
                let earlier = std::mem::take(&mut window.unlogged);
                window.logged_at = Some(now);
                tracing::error!(dir = %self.dir.display(), operation, %error,
                    unlogged_since_last_report = earlier, "storage error");
            }
        }
    }
}

impl Drop for ErrorReport {
    fn drop(&mut self) {
        let window = self.window.get_mut().unwrap_or_else(|e| e.into_inner());
        if window.unlogged > 0 {
            tracing::error!(dir = %self.dir.display(), unlogged_since_last_report = window.unlogged,
                "log closed; its last storage failures were only counted");
        }
    }
}
