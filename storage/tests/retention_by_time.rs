//! Retention by time deletes whole expired segments from the oldest, the active one
//! included (after rolling a new one) once everything expired. On disk and in memory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use common::{append, files_with_extension, open, small_segments, Backend};
use sluice_storage::{Log, RetentionOutcome, StorageError};

both_backends!(
    expired_segments_go_oldest_first,
    an_expired_active_segment_is_replaced_by_an_empty_one,
    an_empty_active_segment_stays,
);

/// Five segments of five 200-byte batches; the batch at offset `i` has timestamp
/// `1_000 + 10 * i`.
fn five_segments(backend: Backend) -> (Log, Option<tempfile::TempDir>) {
    let (mut log, dir) = open(backend, small_segments(1_000, 100));
    for i in 0..25 {
        append(&mut log, 1, 1_000 + 10 * i, 139);
    }
    assert_eq!(log.segment_count(), 5);
    (log, dir)
}

fn expired_segments_go_oldest_first(backend: Backend) {
    let (mut log, dir) = five_segments(backend);
    // Segment maxima: 1040, 1090, 1140, 1190, 1240 (active).
    let nothing = log.apply_retention(2_000, Some(1_000), None).unwrap();
    assert_eq!(nothing.segments_deleted, 0);
    for forever in [None, Some(-1)] {
        assert_eq!(
            log.apply_retention(i64::MAX, forever, None)
                .unwrap()
                .segments_deleted,
            0
        );
    }
    // Cutoff 1_150: the first three segments.
    let outcome = log.apply_retention(2_150, Some(1_000), None).unwrap();
    assert_eq!(
        outcome,
        RetentionOutcome {
            segments_deleted: 3,
            new_log_start_offset: 15
        }
    );
    assert_eq!(log.segment_count(), 2);
    assert_eq!(log.log_start_offset(), 15);
    assert_eq!(log.log_end_offset(), 25);
    assert_eq!(log.size_bytes(), 2_000);
    assert!(matches!(
        log.read(14, 0),
        Err(StorageError::OffsetOutOfRange { .. })
    ));
    assert_eq!(log.offset_for_timestamp(0).unwrap().unwrap().0, 15);
    let Some(dir) = dir else { return };
    assert_eq!(files_with_extension(dir.path(), "log").len(), 2);
    assert_eq!(files_with_extension(dir.path(), "index").len(), 2);
    assert_eq!(files_with_extension(dir.path(), "timeindex").len(), 2);
    drop(log);
    let log = Log::open(dir.path(), small_segments(1_000, 100)).unwrap();
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (15, 25));
}

fn an_expired_active_segment_is_replaced_by_an_empty_one(backend: Backend) {
    let (mut log, dir) = five_segments(backend);
    let outcome = log.apply_retention(10_000, Some(1_000), None).unwrap();
    assert_eq!(
        outcome,
        RetentionOutcome {
            segments_deleted: 5,
            new_log_start_offset: 25
        }
    );
    assert_eq!(log.segment_count(), 1);
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (25, 25));
    assert_eq!(log.size_bytes(), 0);
    assert_eq!(log.max_timestamp(), None);
    assert!(log.read(25, 100).unwrap().is_empty());
    let next = append(&mut log, 1, 5_000, 10);
    assert_eq!(next.base_offset, 25);
    assert_eq!(&log.read(25, 0).unwrap()[..], &next.bytes[..]);
    let Some(dir) = dir else { return };
    assert_eq!(
        files_with_extension(dir.path(), "log"),
        [dir.path().join("00000000000000000025.log")]
    );
    drop(log);
    let log = Log::open(dir.path(), small_segments(1_000, 100)).unwrap();
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (25, 26));
}

fn an_empty_active_segment_stays(backend: Backend) {
    let (mut log, _dir) = five_segments(backend);
    log.apply_retention(10_000, Some(1_000), None).unwrap();
    let outcome = log.apply_retention(20_000, Some(1_000), None).unwrap();
    assert_eq!(outcome.segments_deleted, 0);
    assert_eq!(log.segment_count(), 1);
    assert_eq!(log.log_end_offset(), 25);
}
