//! Finding batches by timestamp and the log's largest timestamp, on disk and in memory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use common::{append, open, small_segments, Appended, Backend, Lcg};
use sluice_storage::Log;

both_backends!(
    offset_for_timestamp_across_segments_with_non_monotonic_timestamps,
    offset_for_timestamp_skips_batches_below_the_log_start,
    max_timestamp_is_the_first_batch_holding_the_largest_timestamp,
);

/// What `offset_for_timestamp` must answer, by brute force over what was appended.
fn expected(appended: &[Appended], ts: i64, log_start: i64) -> Option<(i64, i64, Vec<u8>)> {
    appended
        .iter()
        .find(|a| a.max_timestamp >= ts && a.last_offset >= log_start)
        .map(|a| (a.base_offset, a.max_timestamp, a.bytes.clone()))
}

fn found(log: &Log, ts: i64) -> Option<(i64, i64, Vec<u8>)> {
    log.offset_for_timestamp(ts)
        .unwrap()
        .map(|(o, t, b)| (o, t, b.to_vec()))
}

fn offset_for_timestamp_across_segments_with_non_monotonic_timestamps(backend: Backend) {
    let config = small_segments(4_000, 300);
    let (mut log, dir) = open(backend, config.clone());
    let mut rng = Lcg(1);
    // A rising trend with jitter and occasional jumps back in time.
    let appended: Vec<_> = (0..400)
        .map(|i| {
            let ts = i * 10 + rng.next(200) as i64 - if rng.next(10) == 0 { 1_000 } else { 0 };
            append(&mut log, 1 + rng.next(3) as i32, ts, rng.next(200) as usize)
        })
        .collect();
    assert!(log.segment_count() > 10);
    let check = |log: &Log| {
        for ts in (-1_200..4_300).step_by(7) {
            assert_eq!(found(log, ts), expected(&appended, ts, 0), "timestamp {ts}");
        }
        assert_eq!(found(log, i64::MIN), expected(&appended, i64::MIN, 0));
        assert_eq!(found(log, i64::MAX), None);
    };
    check(&log);
    drop(log);
    if let Some(dir) = dir {
        check(&Log::open(dir.path(), config).unwrap());
    }
}

fn offset_for_timestamp_skips_batches_below_the_log_start(backend: Backend) {
    let (mut log, _dir) = open(backend, small_segments(1_000, 100));
    let appended: Vec<_> = (0..30).map(|i| append(&mut log, 2, 100 - i, 100)).collect();
    assert_eq!(found(&log, 90), expected(&appended, 90, 0));
    log.set_log_start_offset(21).unwrap(); // inside the batch 20..=21
    for ts in [0, 80, 90, 100] {
        assert_eq!(
            found(&log, ts),
            expected(&appended, ts, 21),
            "timestamp {ts}"
        );
    }
    assert_eq!(found(&log, 91), None);
}

fn max_timestamp_is_the_first_batch_holding_the_largest_timestamp(backend: Backend) {
    let (mut log, _dir) = open(backend, small_segments(500, 100));
    assert_eq!(log.max_timestamp(), None);
    append(&mut log, 3, 50, 100); // 0..=2
    assert_eq!(log.max_timestamp(), Some((50, 2)));
    append(&mut log, 3, 70, 100); // 3..=5
    append(&mut log, 3, 60, 100); // 6..=8
    assert_eq!(log.max_timestamp(), Some((70, 5)));
    for _ in 0..10 {
        append(&mut log, 3, 70, 100); // ties do not move it
        append(&mut log, 3, -1, 100);
    }
    assert!(log.segment_count() > 3);
    assert_eq!(log.max_timestamp(), Some((70, 5)));
    append(&mut log, 2, 71, 100);
    let end = log.log_end_offset();
    assert_eq!(log.max_timestamp(), Some((71, end - 1)));
}
