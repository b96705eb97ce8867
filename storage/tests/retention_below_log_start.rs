//! Segments left wholly below the log start offset (after DeleteRecords) are deleted
//! by the next retention pass, whatever the limits. On disk and in memory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use common::{append, files_with_extension, open, small_segments, Backend};
use sluice_storage::Log;

both_backends!(segments_wholly_below_the_start_go);

fn segments_wholly_below_the_start_go(backend: Backend) {
    let config = small_segments(1_000, 100);
    let (mut log, dir) = open(backend, config.clone());
    for i in 0..25 {
        append(&mut log, 1, i, 139); // five segments at 0, 5, 10, 15, 20
    }
    log.set_log_start_offset(12).unwrap();
    let outcome = log.apply_retention(i64::MAX, None, None).unwrap();
    assert_eq!(outcome.segments_deleted, 2);
    // The segment holding offset 12 stays; the start does not move back to its base.
    assert_eq!(outcome.new_log_start_offset, 12);
    assert_eq!(log.segment_count(), 3);
    assert_eq!(log.read(12, 0).unwrap().len(), 200);
    // Moving the start to the log end leaves the (non-empty) active segment alone.
    log.set_log_start_offset(25).unwrap();
    assert_eq!(
        log.apply_retention(0, None, None).unwrap().segments_deleted,
        2
    );
    assert_eq!(log.segment_count(), 1);
    assert_eq!(log.log_start_offset(), 25);
    let Some(dir) = dir else { return };
    assert_eq!(files_with_extension(dir.path(), "log").len(), 1);
    drop(log);
    let log = Log::open(dir.path(), config).unwrap();
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (25, 25));
}
