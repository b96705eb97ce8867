//! Appending batches and reading them back from one segment, on disk and in memory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use common::{append, batches_in, open, Backend};
use sluice_storage::{BatchMeta, Log, LogConfig, StorageError};

both_backends!(
    new_log_is_empty_at_offset_zero,
    round_trip_returns_the_exact_bytes,
    read_from_the_middle_of_a_batch_returns_the_whole_batch,
    max_bytes_is_respected_but_one_batch_always_comes_back,
    read_at_the_log_end_is_empty_and_beyond_is_out_of_range,
    append_requires_the_log_end_offset,
    flush_succeeds_and_changes_nothing_visible,
);

fn new_log_is_empty_at_offset_zero(backend: Backend) {
    let (log, _dir) = open(backend, LogConfig::default());
    assert_eq!(log.log_start_offset(), 0);
    assert_eq!(log.log_end_offset(), 0);
    assert_eq!(log.segment_count(), 1);
    assert!(log.read(0, 1024).unwrap().is_empty());
    assert_eq!(log.max_timestamp(), None);
    assert_eq!(log.offset_for_timestamp(0).unwrap(), None);
    assert_eq!(log.is_in_memory(), backend == Backend::Memory);
}

#[test]
fn a_new_log_creates_its_directory_and_first_segment() {
    let dir = tempfile::tempdir().unwrap();
    Log::open(&dir.path().join("topic-0"), LogConfig::default()).unwrap();
    assert!(dir.path().join("topic-0/00000000000000000000.log").exists());
}

fn round_trip_returns_the_exact_bytes(backend: Backend) {
    let (mut log, _dir) = open(backend, LogConfig::default());
    let mut expected = Vec::new();
    for i in 0..20 {
        let a = append(&mut log, 1 + i % 4, 1_000 + i64::from(i), 17 * i as usize);
        expected.extend(a.bytes);
    }
    assert_eq!(
        log.log_end_offset(),
        (0..20).map(|i| 1 + i % 4).sum::<i32>() as i64
    );
    let all = log.read(0, usize::MAX).unwrap();
    assert_eq!(&all[..], &expected[..]);
    assert_eq!(log.size_bytes(), expected.len() as u64);
}

fn read_from_the_middle_of_a_batch_returns_the_whole_batch(backend: Backend) {
    let (mut log, _dir) = open(backend, LogConfig::default());
    let first = append(&mut log, 10, 0, 100); // offsets 0..=9
    let second = append(&mut log, 10, 0, 100); // offsets 10..=19
    for offset in 0..10 {
        assert_eq!(&log.read(offset, 1).unwrap()[..], &first.bytes[..]);
    }
    for offset in 10..20 {
        assert_eq!(&log.read(offset, 1).unwrap()[..], &second.bytes[..]);
    }
}

fn max_bytes_is_respected_but_one_batch_always_comes_back(backend: Backend) {
    let (mut log, _dir) = open(backend, LogConfig::default());
    for _ in 0..5 {
        append(&mut log, 1, 0, 939); // 1000 bytes each
    }
    assert_eq!(batches_in(&log.read(0, 0).unwrap()), [(0, 0)]);
    assert_eq!(batches_in(&log.read(0, 999).unwrap()), [(0, 0)]);
    assert_eq!(batches_in(&log.read(0, 1_000).unwrap()), [(0, 0)]);
    assert_eq!(batches_in(&log.read(0, 2_999).unwrap()), [(0, 0), (1, 1)]);
    assert_eq!(
        batches_in(&log.read(1, 3_000).unwrap()),
        [(1, 1), (2, 2), (3, 3)]
    );
    assert_eq!(log.read(3, 1_000_000).unwrap().len(), 2_000);

    let big = append(&mut log, 3, 0, 50_000);
    assert_eq!(&log.read(6, 10).unwrap()[..], &big.bytes[..]);
}

fn read_at_the_log_end_is_empty_and_beyond_is_out_of_range(backend: Backend) {
    let (mut log, _dir) = open(backend, LogConfig::default());
    append(&mut log, 5, 0, 10);
    assert!(log.read(5, 1024).unwrap().is_empty());
    for offset in [6, 100, i64::MAX, -1, i64::MIN] {
        match log.read(offset, 1024) {
            Err(StorageError::OffsetOutOfRange {
                offset: o,
                log_start_offset: 0,
                log_end_offset: 5,
            }) => assert_eq!(o, offset),
            other => panic!("offset {offset}: {other:?}"),
        }
    }
}

fn append_requires_the_log_end_offset(backend: Backend) {
    let (mut log, _dir) = open(backend, LogConfig::default());
    append(&mut log, 3, 0, 10);
    for base in [0, 2, 4] {
        let b = common::batch(base, 1, 0, 10);
        let meta = BatchMeta {
            base_offset: base,
            last_offset: base,
            max_timestamp: 0,
        };
        assert!(matches!(
            log.append(&b, meta),
            Err(StorageError::NonMonotonicOffset { expected: 3, got }) if got == base
        ));
    }
    assert_eq!(log.log_end_offset(), 3);
    append(&mut log, 1, 0, 10);
    assert_eq!(log.log_end_offset(), 4);
}

fn flush_succeeds_and_changes_nothing_visible(backend: Backend) {
    let (mut log, _dir) = open(backend, common::small_segments(500, 100));
    for _ in 0..20 {
        append(&mut log, 1, 0, 100);
        log.flush().unwrap();
    }
    log.flush().unwrap();
    assert_eq!(log.log_end_offset(), 20);
    assert!(!log.is_poisoned());
}
