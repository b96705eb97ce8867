//! With many partitions the process holds about one descriptor per open log (its active
//! segment) plus the bounded, process-wide cache of read handles, not one per segment
//! or index file. Alone in its test binary, so that nothing else opens files meanwhile.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;

use common::{append, small_segments};
use sluice_storage::{max_open_read_handles, Log};

const LOGS: usize = 300;
/// Descriptors the test harness or the allocator may open on the side.
const SLACK: usize = 16;

fn open_descriptors() -> usize {
    fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
fn many_logs_with_many_segments_hold_one_descriptor_each_plus_the_cache() {
    let root = tempfile::tempdir().unwrap();
    let config = small_segments(1_000, 100);
    let cache = max_open_read_handles();
    let before = open_descriptors();
    let mut logs: Vec<Log> = (0..LOGS)
        .map(|p| Log::open(&root.path().join(format!("topic-{p}")), config.clone()).unwrap())
        .collect();
    for log in &mut logs {
        for i in 0..20 {
            append(log, 1, i, 139); // 200 bytes: four segments of five batches
        }
        assert_eq!(log.segment_count(), 4);
    }
    let read_everything = |logs: &[Log]| {
        for log in logs {
            for offset in (0..20).step_by(5) {
                assert_eq!(log.read(offset, 0).unwrap().len(), 200);
            }
        }
    };
    read_everything(&logs);
    let held = open_descriptors().saturating_sub(before);
    println!("{held} descriptors for {LOGS} logs, read-handle cache {cache}");
    // Without the bound: 300 logs x 4 segments x 3 files = 3,600.
    assert!(held >= LOGS, "counting works: {held}");
    assert!(
        held <= LOGS + cache + SLACK,
        "{held} descriptors for {LOGS} logs"
    );

    drop(logs);
    let held = open_descriptors().saturating_sub(before);
    assert!(held <= SLACK, "closed logs keep nothing open: {held}");

    // Recovery of many segments does not keep them open either.
    let logs: Vec<Log> = (0..LOGS)
        .map(|p| Log::open(&root.path().join(format!("topic-{p}")), config.clone()).unwrap())
        .collect();
    read_everything(&logs);
    let held = open_descriptors().saturating_sub(before);
    assert!(
        held <= LOGS + cache + SLACK,
        "{held} descriptors after reopening"
    );
}
