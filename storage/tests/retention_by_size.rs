//! Retention by size deletes the oldest whole segments while the rest still holds
//! `retention.bytes` (Kafka's rule); never the active segment. On disk and in memory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use common::{append, files_with_extension, open, small_segments, Backend};
use sluice_storage::RetentionOutcome;

both_backends!(
    oldest_segments_go_while_the_rest_is_large_enough,
    the_active_segment_is_never_deleted_by_size,
);

fn oldest_segments_go_while_the_rest_is_large_enough(backend: Backend) {
    let (mut log, dir) = open(backend, small_segments(1_000, 100));
    for i in 0..24 {
        append(&mut log, 2, i, 139); // 200 bytes: five per segment, the active has 4
    }
    assert_eq!((log.segment_count(), log.size_bytes()), (5, 4_800));
    assert_eq!(
        log.apply_retention(0, None, Some(3_801))
            .unwrap()
            .segments_deleted,
        0
    );
    let outcome = log.apply_retention(0, None, Some(2_500)).unwrap();
    assert_eq!(
        outcome,
        RetentionOutcome {
            segments_deleted: 2,
            new_log_start_offset: 20
        }
    );
    assert_eq!(log.size_bytes(), 2_800);
    assert_eq!(log.log_start_offset(), 20);
    if let Some(dir) = dir {
        assert_eq!(files_with_extension(dir.path(), "log").len(), 3);
    }
}

fn the_active_segment_is_never_deleted_by_size(backend: Backend) {
    let (mut log, _dir) = open(backend, small_segments(1_000, 100));
    for i in 0..12 {
        append(&mut log, 1, i, 139);
    }
    let outcome = log.apply_retention(0, None, Some(0)).unwrap();
    assert_eq!(outcome.segments_deleted, 2);
    assert_eq!(log.segment_count(), 1);
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (10, 12));
    assert_eq!(
        log.apply_retention(0, None, Some(0))
            .unwrap()
            .segments_deleted,
        0
    );
}
