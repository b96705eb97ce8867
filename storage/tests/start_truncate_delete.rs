//! The log start offset, truncation and deleting a log, on disk and in memory (what
//! survives a reopen: on disk only).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use std::fs;
use std::path::Path;

use common::{append, open, small_segments, Backend};
use sluice_storage::{Log, LogConfig, StorageError};

both_backends!(
    log_start_offset_only_moves_forward,
    truncate_inside_a_batch_removes_the_whole_batch,
    truncate_across_segments,
    truncate_to_zero_starts_over,
    truncate_below_the_log_start_moves_it_back,
    delete_removes_the_log,
);

fn reopen(dir: &Path) -> Log {
    Log::open(dir, LogConfig::default()).unwrap()
}

fn log_start_offset_only_moves_forward(backend: Backend) {
    let (mut log, dir) = open(backend, LogConfig::default());
    for _ in 0..10 {
        append(&mut log, 10, 0, 10);
    }
    log.set_log_start_offset(35).unwrap();
    assert_eq!(log.log_start_offset(), 35);
    log.set_log_start_offset(20).unwrap();
    assert_eq!(log.log_start_offset(), 35);
    assert!(matches!(
        log.set_log_start_offset(101),
        Err(StorageError::OffsetOutOfRange { offset: 101, .. })
    ));
    assert!(matches!(
        log.read(34, 100),
        Err(StorageError::OffsetOutOfRange {
            log_start_offset: 35,
            ..
        })
    ));
    // The batch holding the start offset is served whole.
    assert_eq!(common::batches_in(&log.read(35, 0).unwrap()), [(30, 39)]);
    log.set_log_start_offset(100).unwrap();
    assert!(log.read(100, 10).unwrap().is_empty());
    let Some(dir) = dir else { return };
    assert_eq!(
        fs::read_to_string(dir.path().join("log-start-offset")).unwrap(),
        "100\n"
    );
    drop(log);
    let log = reopen(dir.path());
    assert_eq!(log.log_start_offset(), 100);
    assert_eq!(log.log_end_offset(), 100);
}

fn truncate_inside_a_batch_removes_the_whole_batch(backend: Backend) {
    let (mut log, dir) = open(backend, small_segments(1 << 30, 0));
    let a = append(&mut log, 5, 10, 50); // 0..=4
    append(&mut log, 5, 30, 50); // 5..=9
    append(&mut log, 5, 20, 50); // 10..=14
    log.truncate_to(7).unwrap();
    assert_eq!(log.log_end_offset(), 5);
    assert_eq!(&log.read(0, usize::MAX).unwrap()[..], &a.bytes[..]);
    assert_eq!(log.max_timestamp(), Some((10, 4)));
    assert_eq!(log.offset_for_timestamp(11).unwrap(), None);
    if let Some(dir) = &dir {
        let len = |name: &str| fs::metadata(dir.path().join(name)).unwrap().len();
        assert_eq!(len("00000000000000000000.log"), a.bytes.len() as u64);
        assert_eq!(len("00000000000000000000.index"), 8);
        assert_eq!(len("00000000000000000000.timeindex"), 12);
    }

    let b = append(&mut log, 2, 40, 10);
    assert_eq!(b.base_offset, 5);
    log.truncate_to(100).unwrap(); // beyond the end: nothing happens
    assert_eq!(log.log_end_offset(), 7);
    assert_eq!(log.max_timestamp(), Some((40, 6)));
    let Some(dir) = dir else { return };
    drop(log);
    let log = reopen(dir.path());
    assert_eq!(log.log_end_offset(), 7);
    assert_eq!(log.max_timestamp(), Some((40, 6)));
}

fn truncate_across_segments(backend: Backend) {
    let config = small_segments(1_000, 100);
    let (mut log, dir) = open(backend, config.clone());
    let appended: Vec<_> = (0..50).map(|i| append(&mut log, 2, i, 139)).collect(); // 200 bytes
    assert_eq!(log.segment_count(), 10);
    // Offset 40 is the first offset of the fifth segment: it goes entirely.
    log.truncate_to(40).unwrap();
    assert_eq!(log.segment_count(), 4);
    assert_eq!(log.log_end_offset(), 40);
    if let Some(dir) = &dir {
        assert_eq!(common::files_with_extension(dir.path(), "log").len(), 4);
        assert_eq!(common::files_with_extension(dir.path(), "index").len(), 4);
    }
    // Offset 25 is in the middle of the third segment.
    log.truncate_to(25).unwrap();
    assert_eq!(log.segment_count(), 3);
    assert_eq!(log.log_end_offset(), 24);
    assert_eq!(log.max_timestamp(), Some((11, 23)));
    let next = append(&mut log, 2, 99, 139);
    assert_eq!(next.base_offset, 24);
    let check = |log: &Log| {
        assert_eq!(log.log_end_offset(), 26);
        for a in &appended[..12] {
            assert_eq!(&log.read(a.base_offset, 0).unwrap()[..], &a.bytes[..]);
        }
        assert_eq!(&log.read(24, 0).unwrap()[..], &next.bytes[..]);
    };
    check(&log);
    let Some(dir) = dir else { return };
    drop(log);
    check(&Log::open(dir.path(), config).unwrap());
}

fn truncate_to_zero_starts_over(backend: Backend) {
    let (mut log, dir) = open(backend, small_segments(1_000, 100));
    for _ in 0..20 {
        append(&mut log, 1, 5, 139);
    }
    log.set_log_start_offset(10).unwrap();
    log.truncate_to(0).unwrap();
    assert_eq!(log.segment_count(), 1);
    assert_eq!(log.log_end_offset(), 0);
    assert_eq!(log.log_start_offset(), 0);
    assert_eq!(log.max_timestamp(), None);
    assert!(log.read(0, 100).unwrap().is_empty());
    let a = append(&mut log, 1, 5, 10);
    assert_eq!(&log.read(0, 0).unwrap()[..], &a.bytes[..]);
    let Some(dir) = dir else { return };
    drop(log);
    let log = reopen(dir.path());
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (0, 1));
    assert_eq!(&log.read(0, 0).unwrap()[..], &a.bytes[..]);
}

fn truncate_below_the_log_start_moves_it_back(backend: Backend) {
    let (mut log, dir) = open(backend, LogConfig::default());
    for _ in 0..10 {
        append(&mut log, 1, 0, 10);
    }
    log.set_log_start_offset(8).unwrap();
    log.truncate_to(5).unwrap();
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (5, 5));
    let Some(dir) = dir else { return };
    drop(log);
    let log = reopen(dir.path());
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (5, 5));
}

#[test]
fn empty_directory_with_a_persisted_start_begins_there() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("log-start-offset"), "500\n").unwrap();
    let mut log = reopen(dir.path());
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (500, 500));
    assert!(dir.path().join("00000000000000000500.log").exists());
    append(&mut log, 1, 0, 10);
    assert_eq!(log.log_end_offset(), 501);
}

fn delete_removes_the_log(backend: Backend) {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("orders-3");
    let mut log = match backend {
        Backend::Disk => Log::open(&dir, small_segments(500, 100)).unwrap(),
        Backend::Memory => Log::open_in_memory(small_segments(500, 100)),
    };
    for _ in 0..20 {
        append(&mut log, 1, 0, 100);
    }
    log.set_log_start_offset(3).unwrap();
    log.delete().unwrap();
    assert!(!dir.exists());
    assert!(parent.path().exists());
}
