//! `Log::close` marks a clean shutdown: the next open trusts the data (no CRC checks,
//! but for the last batch, whose header decides the log end) and removes the marker,
//! so that a crash after it gets a full recovery again.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::os::unix::fs::FileExt;

use common::{append, files_with_extension, small_segments};
use sluice_storage::{Log, LogConfig};

const MARKER: &str = ".clean-shutdown";

fn config() -> LogConfig {
    small_segments(2_000, 300)
}

/// Flips a byte in the last batch's records: only a CRC check can notice.
fn damage_last_batch(dir: &std::path::Path) {
    let last = files_with_extension(dir, "log").pop().unwrap();
    let len = fs::metadata(&last).unwrap().len();
    let file = fs::OpenOptions::new().write(true).open(&last).unwrap();
    file.write_all_at(&[0xa5], len - 3).unwrap();
}

#[test]
fn close_marks_and_the_next_open_trusts_then_unmarks() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), config()).unwrap();
    assert!(
        !log.recovery_report().clean,
        "a new directory had no marker"
    );
    (0..40).for_each(|i| drop(append(&mut log, 1, i, 150)));
    log.close().unwrap();
    assert!(dir.path().join(MARKER).exists());
    assert_eq!(
        fs::read_to_string(dir.path().join("recovery-point")).unwrap(),
        "40\n"
    );

    damage_last_batch(dir.path());
    let log = Log::open(dir.path(), config()).unwrap();
    let report = log.recovery_report();
    assert!(report.clean);
    // Only the last batch is checked: its header decides the log end, so a damaged
    // one is cut even after a clean shutdown.
    assert_eq!((report.batches_checked, report.bytes_truncated), (1, 211));
    assert_eq!(report.indexes_rebuilt, 0, "close wrote the indexes out");
    assert_eq!(log.log_end_offset(), 39, "the damaged last batch is cut");
    assert!(!dir.path().join(MARKER).exists());
    drop(log); // a crash after reopening

    let log = Log::open(dir.path(), config()).unwrap();
    let report = log.recovery_report();
    assert!(!report.clean);
    assert!(report.batches_checked > 0);
    assert_eq!(log.log_end_offset(), 39, "nothing more to cut");
}

#[test]
fn a_clean_open_still_checks_index_structure_and_framing() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), config()).unwrap();
    (0..40).for_each(|i| drop(append(&mut log, 1, i, 150)));
    log.close().unwrap();
    let indexes = files_with_extension(dir.path(), "index");
    fs::remove_file(&indexes[1]).unwrap();
    let last = files_with_extension(dir.path(), "log").pop().unwrap();
    let len = fs::metadata(&last).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&last)
        .unwrap()
        .set_len(len - 10)
        .unwrap();

    let log = Log::open(dir.path(), config()).unwrap();
    let report = log.recovery_report();
    assert!(report.clean);
    assert_eq!(report.indexes_rebuilt, 1);
    assert_eq!(
        report.bytes_truncated,
        211 - 10,
        "the rest of the torn batch"
    );
    assert_eq!(log.log_end_offset(), 39);
}

#[test]
fn close_of_an_in_memory_log_is_a_drop() {
    let mut log = Log::open_in_memory(config());
    append(&mut log, 1, 0, 10);
    assert!(log.recovery_report().clean);
    log.close().unwrap();
}
