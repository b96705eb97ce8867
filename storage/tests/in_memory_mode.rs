//! An in-memory log behaves like one on disk (see the `in_memory::` variants of the
//! other scenarios) and touches no file: flush and close have nothing to do, delete
//! just drops it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::{append, small_segments};
use sluice_storage::{Log, RecoveryReport};

#[test]
fn an_in_memory_log_writes_nothing() {
    let mut log = Log::open_in_memory(small_segments(1_000, 100));
    assert!(log.is_in_memory());
    assert_eq!(log.dir(), Path::new(""));
    assert_eq!(
        *log.recovery_report(),
        RecoveryReport {
            clean: true,
            ..RecoveryReport::default()
        }
    );
    let appended: Vec<_> = (0..30).map(|i| append(&mut log, 1, i, 139)).collect();
    log.flush().unwrap();
    assert_eq!(log.segment_count(), 6);
    log.set_log_start_offset(7).unwrap();
    log.truncate_to(27).unwrap();
    let outcome = log.apply_retention(1_000, Some(990), None).unwrap();
    assert_eq!(
        (outcome.segments_deleted, outcome.new_log_start_offset),
        (2, 10)
    );
    assert_eq!(&log.read(10, 0).unwrap()[..], &appended[10].bytes[..]);
    assert_eq!(log.offset_for_timestamp(15).unwrap().unwrap().0, 15);
    assert_eq!(log.max_timestamp(), Some((26, 26)));
    // Segment labels look like paths but are never created.
    assert!(!Path::new("<memory>").exists());
    log.close().unwrap();
}
