//! Reopening a log: everything is served again, indexes are rebuilt when missing or
//! wrong, and a torn tail is cut off.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::io::Write;
use std::path::Path;

use common::{append, files_with_extension, small_segments, Appended, Lcg};
use sluice_storage::{Log, LogConfig};

fn config() -> LogConfig {
    small_segments(3_000, 256)
}

/// A multi-segment log with varied batches and non-monotonic timestamps.
fn fill(dir: &Path, batches: usize) -> Vec<Appended> {
    let mut log = Log::open(dir, config()).unwrap();
    let mut rng = Lcg(42);
    let appended = (0..batches)
        .map(|_| {
            let ts = 1_000 + rng.next(10_000) as i64;
            append(&mut log, 1 + rng.next(4) as i32, ts, rng.next(300) as usize)
        })
        .collect();
    log.flush().unwrap();
    appended
}

fn assert_serves(log: &Log, appended: &[Appended]) {
    let last = appended.last().unwrap();
    assert_eq!(log.log_end_offset(), last.last_offset + 1);
    assert_eq!(log.log_start_offset(), 0);
    for a in appended {
        assert_eq!(&log.read(a.last_offset, 0).unwrap()[..], &a.bytes[..]);
    }
    let best = appended.iter().fold(&appended[0], |b, a| {
        if a.max_timestamp > b.max_timestamp {
            a
        } else {
            b
        }
    });
    assert_eq!(
        log.max_timestamp(),
        Some((best.max_timestamp, best.last_offset))
    );
    for ts in [0, 3_000, 7_777, 10_999, 11_000] {
        let expected = appended
            .iter()
            .find(|a| a.max_timestamp >= ts)
            .map(|a| (a.base_offset, a.max_timestamp, a.bytes.clone()));
        let got = log
            .offset_for_timestamp(ts)
            .unwrap()
            .map(|(o, t, b)| (o, t, b.to_vec()));
        assert_eq!(got, expected, "timestamp {ts}");
    }
}

#[test]
fn reopen_serves_everything_and_appends_continue() {
    let dir = tempfile::tempdir().unwrap();
    let mut appended = fill(dir.path(), 200);
    let mut log = Log::open(dir.path(), config()).unwrap();
    assert!(log.segment_count() > 5);
    assert_serves(&log, &appended);
    appended.push(append(&mut log, 3, 20_000, 50));
    drop(log);
    let log = Log::open(dir.path(), config()).unwrap();
    assert_serves(&log, &appended);
}

#[test]
fn reopen_without_flush_keeps_everything_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), config()).unwrap();
    let appended: Vec<_> = (0..50).map(|i| append(&mut log, 2, i, 100)).collect();
    drop(log);
    let log = Log::open(dir.path(), config()).unwrap();
    assert_serves(&log, &appended);
}

#[test]
fn missing_index_files_are_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let appended = fill(dir.path(), 200);
    // A clean close writes every buffered index entry out.
    Log::open(dir.path(), config()).unwrap().close().unwrap();
    let mut sizes = Vec::new();
    for extension in ["index", "timeindex"] {
        for path in files_with_extension(dir.path(), extension) {
            sizes.push((path.clone(), fs::metadata(&path).unwrap().len()));
            fs::remove_file(path).unwrap();
        }
    }
    let log = Log::open(dir.path(), config()).unwrap();
    assert_serves(&log, &appended);
    // The rebuilt files are the ones appends wrote.
    for (path, size) in sizes {
        assert_eq!(
            fs::metadata(&path).unwrap().len(),
            size,
            "{}",
            path.display()
        );
    }
}

#[test]
fn empty_or_garbage_index_files_are_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let appended = fill(dir.path(), 200);
    let indexes = files_with_extension(dir.path(), "index");
    let time_indexes = files_with_extension(dir.path(), "timeindex");
    fs::write(&indexes[0], []).unwrap();
    fs::write(&indexes[1], [0xab; 40]).unwrap();
    fs::write(&time_indexes[2], [0xcd; 7]).unwrap();
    fs::write(&time_indexes[3], []).unwrap();
    let log = Log::open(dir.path(), config()).unwrap();
    assert_serves(&log, &appended);
    assert!(fs::metadata(&indexes[0]).unwrap().len() > 0);
}

#[test]
fn torn_tail_is_truncated_and_appends_continue() {
    let dir = tempfile::tempdir().unwrap();
    let mut appended = fill(dir.path(), 100);
    let last_log = files_with_extension(dir.path(), "log").pop().unwrap();
    let good_len = fs::metadata(&last_log).unwrap().len();
    // Half of a batch, as if the machine died in the middle of a write.
    let next = common::batch(appended.last().unwrap().last_offset + 1, 5, 1, 400);
    fs::OpenOptions::new()
        .append(true)
        .open(&last_log)
        .unwrap()
        .write_all(&next[..230])
        .unwrap();

    let mut log = Log::open(dir.path(), config()).unwrap();
    assert_eq!(fs::metadata(&last_log).unwrap().len(), good_len);
    assert_serves(&log, &appended);
    appended.push(append(&mut log, 5, 1, 400));
    appended.push(append(&mut log, 1, 2, 10));
    drop(log);
    let log = Log::open(dir.path(), config()).unwrap();
    assert_serves(&log, &appended);
}

#[test]
fn tails_too_short_for_a_header_or_with_bad_framing_are_truncated() {
    for garbage in [&[0u8; 1][..], &[0u8; 60], &[0xff; 61], &[0u8; 500]] {
        let dir = tempfile::tempdir().unwrap();
        let appended = fill(dir.path(), 30);
        let last_log = files_with_extension(dir.path(), "log").pop().unwrap();
        let good_len = fs::metadata(&last_log).unwrap().len();
        fs::OpenOptions::new()
            .append(true)
            .open(&last_log)
            .unwrap()
            .write_all(garbage)
            .unwrap();
        let log = Log::open(dir.path(), config()).unwrap();
        assert_eq!(
            fs::metadata(&last_log).unwrap().len(),
            good_len,
            "{} bytes",
            garbage.len()
        );
        assert_serves(&log, &appended);
    }
}

#[test]
fn torn_tail_with_index_entries_pointing_into_it_is_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let config = small_segments(1 << 30, 0); // an index entry for every batch
    let mut log = Log::open(dir.path(), config.clone()).unwrap();
    let appended: Vec<_> = (0..10).map(|i| append(&mut log, 1, i, 50)).collect();
    drop(log);
    // Cut the last batch in half: its index entries survived, its data did not.
    let log_path = dir.path().join("00000000000000000000.log");
    let len = fs::metadata(&log_path).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&log_path)
        .unwrap()
        .set_len(len - 60)
        .unwrap();

    let mut log = Log::open(dir.path(), config).unwrap();
    assert_eq!(log.log_end_offset(), 9);
    assert_eq!(log.max_timestamp(), Some((8, 8)));
    assert_eq!(
        fs::metadata(dir.path().join("00000000000000000000.index"))
            .unwrap()
            .len(),
        9 * 8
    );
    assert_eq!(&log.read(8, 0).unwrap()[..], &appended[8].bytes[..]);
    append(&mut log, 1, 100, 50);
    assert_eq!(log.offset_for_timestamp(50).unwrap().unwrap().0, 9);
}

#[test]
fn torn_segment_before_the_last_drops_the_segments_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let appended = fill(dir.path(), 100);
    let logs = files_with_extension(dir.path(), "log");
    let victim = &logs[logs.len() - 3];
    let len = fs::metadata(victim).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(victim)
        .unwrap()
        .set_len(len - 10)
        .unwrap();

    let log = Log::open(dir.path(), config()).unwrap();
    assert_eq!(log.segment_count(), logs.len() - 2);
    assert_eq!(
        files_with_extension(dir.path(), "log").len(),
        logs.len() - 2
    );
    let survivors: Vec<_> = appended
        .iter()
        .filter(|a| a.last_offset < log.log_end_offset())
        .cloned()
        .collect();
    assert_eq!(
        log.log_end_offset(),
        survivors.last().unwrap().last_offset + 1
    );
    for a in &survivors {
        assert_eq!(&log.read(a.base_offset, 0).unwrap()[..], &a.bytes[..]);
    }
}

/// Opens and reads everything; any outcome but a panic is acceptable.
fn open_and_read_all(dir: &Path) {
    let Ok(log) = Log::open(dir, config()) else {
        return;
    };
    let mut offset = log.log_start_offset();
    while offset < log.log_end_offset() {
        match log.read(offset, 1_000) {
            Ok(bytes) if !bytes.is_empty() => {
                offset = common::batches_in(&bytes).last().unwrap().1 + 1
            }
            // An error (corruption that recovery's tail scan could not see) or
            // nothing further: either way this walk is over.
            _ => break,
        }
    }
    let _ = log.max_timestamp();
    for ts in [i64::MIN, 0, 5_000, i64::MAX] {
        let _ = log.offset_for_timestamp(ts);
    }
}

#[test]
fn hostile_files_never_panic() {
    let mut rng = Lcg(99);
    for round in 0..40 {
        let dir = tempfile::tempdir().unwrap();
        fill(dir.path(), 60);
        let mut files: Vec<_> = ["log", "index", "timeindex"]
            .iter()
            .flat_map(|e| files_with_extension(dir.path(), e))
            .collect();
        files.sort();
        for _ in 0..1 + rng.next(4) {
            let path = &files[rng.next(files.len() as u64) as usize];
            let mut bytes = fs::read(path).unwrap();
            match rng.next(3) {
                0 if !bytes.is_empty() => {
                    for _ in 0..1 + rng.next(8) {
                        let at = rng.next(bytes.len() as u64) as usize;
                        bytes[at] = rng.next(256) as u8;
                    }
                }
                1 => bytes.truncate(rng.next(bytes.len() as u64 + 1) as usize),
                _ => bytes.extend((0..rng.next(200)).map(|_| rng.next(256) as u8)),
            }
            fs::write(path, bytes).unwrap();
        }
        if round % 10 == 0 {
            let junk: Vec<u8> = (0..rng.next(300)).map(|_| rng.next(256) as u8).collect();
            fs::write(dir.path().join("09223372036854775807.log"), &junk).unwrap();
            fs::write(dir.path().join("99999999999999999999.log"), &junk).unwrap();
        }
        open_and_read_all(dir.path());
        // Recovery left the directory in a state that opens the same way again.
        open_and_read_all(dir.path());
    }
}
