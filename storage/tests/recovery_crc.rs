//! Recovery after a crash checks the CRC-32C of the batches that may be torn: the last
//! segment's tail and everything after the recovery point. The first bad batch ends
//! the log.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::os::unix::fs::FileExt;
use std::path::Path;

use common::{append, files_with_extension, small_segments, Appended};
use sluice_storage::{Log, LogConfig};

fn config() -> LogConfig {
    small_segments(2_000, 300)
}

/// Flips one payload byte of `a` (its length field and header stay intact, as in a
/// torn write whose first sector made it to disk).
fn damage(dir: &Path, a: &Appended) {
    let segment = files_with_extension(dir, "log")
        .into_iter()
        .rfind(|p| {
            let stem = p.file_stem().unwrap().to_str().unwrap();
            stem.parse::<i64>().unwrap() <= a.base_offset
        })
        .unwrap();
    let bytes = fs::read(&segment).unwrap();
    let at = bytes
        .windows(a.bytes.len())
        .position(|w| w == &a.bytes[..])
        .unwrap() as u64;
    let file = fs::OpenOptions::new().write(true).open(&segment).unwrap();
    let flipped = a.bytes[a.bytes.len() - 5] ^ 0x5a;
    file.write_all_at(&[flipped], at + a.bytes.len() as u64 - 5)
        .unwrap();
}

#[test]
fn a_torn_batch_whose_length_survived_is_cut_from_the_tail() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), config()).unwrap();
    let appended: Vec<_> = (0..20).map(|i| append(&mut log, 2, i, 150)).collect();
    drop(log); // a crash: no close
    damage(dir.path(), &appended[19]);

    let mut log = Log::open(dir.path(), config()).unwrap();
    let report = log.recovery_report().clone();
    assert!(!report.clean);
    assert_eq!(report.bytes_truncated, appended[19].bytes.len() as u64);
    assert!(report.batches_checked >= 1);
    assert_eq!(log.log_end_offset(), appended[19].base_offset);
    assert_eq!(
        &log.read(appended[18].base_offset, 0).unwrap()[..],
        &appended[18].bytes[..]
    );
    let again = append(&mut log, 2, 99, 150);
    drop(log);
    let log = Log::open(dir.path(), config()).unwrap();
    assert_eq!(log.recovery_report().bytes_truncated, 0);
    assert_eq!(
        &log.read(again.base_offset, 0).unwrap()[..],
        &again.bytes[..]
    );
}

#[test]
fn everything_after_the_recovery_point_is_checked_across_segments() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), config()).unwrap();
    let mut appended: Vec<_> = (0..3).map(|i| append(&mut log, 1, i, 150)).collect();
    log.close().unwrap(); // the recovery point: 3
    let mut log = Log::open(dir.path(), config()).unwrap();
    assert_eq!(
        fs::read_to_string(dir.path().join("recovery-point")).unwrap(),
        "3\n"
    );
    appended.extend((0..60).map(|i| append(&mut log, 1, i, 150)));
    let segments = log.segment_count();
    assert!(segments > 4);
    drop(log);
    // A batch two segments before the last one: outside any tail, but after the
    // recovery point.
    let victim = &appended[30];
    damage(dir.path(), victim);

    let log = Log::open(dir.path(), config()).unwrap();
    let report = log.recovery_report();
    assert_eq!(log.log_end_offset(), victim.base_offset);
    assert!(report.segments_deleted >= 1, "{report:?}");
    assert!(report.batches_checked >= 28, "{report:?}");
    assert_eq!(log.segment_count(), segments - report.segments_deleted);
    for a in &appended[..30] {
        assert_eq!(&log.read(a.base_offset, 0).unwrap()[..], &a.bytes[..]);
    }
}

#[test]
fn without_a_recovery_point_only_the_last_tail_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), config()).unwrap();
    let appended: Vec<_> = (0..60).map(|i| append(&mut log, 1, i, 150)).collect();
    drop(log);
    // A log from before recovery points were written at creation.
    fs::remove_file(dir.path().join("recovery-point")).unwrap();
    damage(dir.path(), &appended[30]);

    let log = Log::open(dir.path(), config()).unwrap();
    // Not detected: recovery trusts sealed segments it has no reason to doubt.
    assert_eq!(log.log_end_offset(), 60);
    assert_eq!(log.recovery_report().bytes_truncated, 0);
}

#[test]
fn truncation_lowers_the_recovery_point() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), config()).unwrap();
    let appended: Vec<_> = (0..10).map(|i| append(&mut log, 1, i, 150)).collect();
    log.close().unwrap(); // the recovery point: 10
    let mut log = Log::open(dir.path(), config()).unwrap();
    log.truncate_to(4).unwrap();
    assert_eq!(
        fs::read_to_string(dir.path().join("recovery-point")).unwrap(),
        "4\n"
    );
    // What is appended after the truncation is checked after a crash.
    let replaced = append(&mut log, 1, 50, 150);
    drop(log);
    damage(dir.path(), &replaced);
    let log = Log::open(dir.path(), config()).unwrap();
    assert_eq!(log.log_end_offset(), 4);
    assert_eq!(&log.read(3, 0).unwrap()[..], &appended[3].bytes[..]);
}

#[test]
fn a_recovery_point_beyond_the_recovered_end_is_lowered_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), config()).unwrap();
    (0..5).for_each(|i| drop(append(&mut log, 1, i, 150)));
    drop(log);
    fs::write(dir.path().join("recovery-point"), "1000\n").unwrap();
    let log = Log::open(dir.path(), config()).unwrap();
    assert_eq!(log.log_end_offset(), 5);
    assert_eq!(
        fs::read_to_string(dir.path().join("recovery-point")).unwrap(),
        "5\n"
    );
}
