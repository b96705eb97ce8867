//! Reads check every batch they return (framing, offset continuity, CRC-32C): damage on
//! disk is refused with `CorruptBatch`, never served, and every intact batch after it
//! stays reachable from the `resume_offset` the error names.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::os::unix::fs::FileExt;
use std::path::Path;

use common::{append, batches_in, files_with_extension, small_segments, Appended, Lcg};
use sluice_storage::{Log, LogConfig, StorageError};

fn config() -> LogConfig {
    // Several segments, an index entry every ~600 bytes.
    small_segments(8_000, 600)
}

/// A cleanly closed log of `n` batches of varying size.
fn closed_log(dir: &Path, n: usize) -> Vec<Appended> {
    let mut log = Log::open(dir, config()).unwrap();
    let appended = (0..n)
        .map(|i| append(&mut log, 1 + (i % 3) as i32, i as i64, 40 + (i * 37) % 200))
        .collect();
    log.close().unwrap();
    appended
}

/// (segment file, position) of each appended batch.
fn locate(dir: &Path, appended: &[Appended]) -> Vec<(std::path::PathBuf, u64)> {
    let segments = files_with_extension(dir, "log");
    appended
        .iter()
        .map(|a| {
            for s in &segments {
                let bytes = fs::read(s).unwrap();
                if let Some(at) = bytes.windows(a.bytes.len()).position(|w| w == &a.bytes[..]) {
                    return (s.clone(), at as u64);
                }
            }
            panic!("batch {} not found", a.base_offset)
        })
        .collect()
}

fn write_at(path: &Path, at: u64, bytes: &[u8]) {
    let f = fs::OpenOptions::new().write(true).open(path).unwrap();
    f.write_all_at(bytes, at).unwrap();
}

/// Reads the whole log from the start, stepping over refused batches: the batches
/// served, and the first offsets of the refused ranges.
fn read_everything(log: &Log) -> (Vec<Vec<u8>>, Vec<i64>) {
    let mut next = log.log_start_offset();
    let mut served = Vec::new();
    let mut refused = Vec::new();
    let mut steps = 0;
    while next < log.log_end_offset() {
        steps += 1;
        assert!(steps < 100_000, "reads make progress");
        match log.read(next, 1_000) {
            Ok(bytes) => {
                assert!(!bytes.is_empty());
                let mut rest = &bytes[..];
                for (base, last) in batches_in(&bytes) {
                    let len = 12 + i32::from_be_bytes(rest[8..12].try_into().unwrap()) as usize;
                    served.push(rest[..len].to_vec());
                    rest = &rest[len..];
                    assert!(last >= next && base <= next.max(base));
                    next = last + 1;
                }
            }
            Err(StorageError::CorruptBatch {
                offset,
                resume_offset,
                ..
            }) => {
                assert!(
                    offset <= next && resume_offset > next,
                    "{offset} {resume_offset} {next}"
                );
                refused.push(offset);
                next = resume_offset;
            }
            Err(e) => panic!("read at {next}: {e}"),
        }
    }
    (served, refused)
}

#[test]
fn a_damaged_batch_is_refused_and_the_rest_served() {
    // The three kinds of damage, each in the middle of a segment.
    for kind in [
        "crc",
        "base offset",
        "header",
        "last offset delta",
        "huge delta",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let appended = closed_log(dir.path(), 120);
        let places = locate(dir.path(), &appended);
        let victim = 37;
        let (segment, at) = &places[victim];
        match kind {
            "crc" => {
                let end = at + appended[victim].bytes.len() as u64 - 3;
                write_at(
                    segment,
                    end,
                    &[appended[victim].bytes[appended[victim].bytes.len() - 3] ^ 1],
                );
            }
            "base offset" => write_at(segment, *at, &999_999i64.to_be_bytes()),
            // Inside the CRC: the batch now claims offsets of the batches after it.
            "last offset delta" => write_at(segment, at + 23, &4i32.to_be_bytes()),
            "huge delta" => write_at(segment, at + 23, &1_000_000i32.to_be_bytes()),
            _ => write_at(segment, at + 8, &[0x7f, 0, 0, 0, 0x09]),
        }
        let log = Log::open(dir.path(), config()).unwrap();
        assert!(log.recovery_report().clean);
        assert_eq!(
            log.log_end_offset(),
            appended.last().unwrap().last_offset + 1,
            "{kind}"
        );
        let (served, refused) = read_everything(&log);
        assert_eq!(refused, vec![appended[victim].base_offset], "{kind}");
        let expected: Vec<Vec<u8>> = appended
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != victim)
            .map(|(_, a)| a.bytes.clone())
            .collect();
        assert_eq!(served, expected, "{kind}: every intact batch, unchanged");
        // A read that would start before the damage stops in front of it.
        let before = log.read(appended[victim - 1].base_offset, 1 << 20).unwrap();
        assert_eq!(
            batches_in(&before).last().unwrap().1,
            appended[victim - 1].last_offset,
            "{kind}"
        );
    }
}

#[test]
fn random_damage_never_panics_nor_serves_a_changed_batch() {
    let mut rng = Lcg(7);
    for round in 0..30 {
        let dir = tempfile::tempdir().unwrap();
        let appended = closed_log(dir.path(), 80);
        let segments = files_with_extension(dir.path(), "log");
        for _ in 0..1 + rng.next(4) {
            let segment = &segments[rng.next(segments.len() as u64) as usize];
            let len = fs::metadata(segment).unwrap().len();
            if len == 0 {
                continue;
            }
            let at = rng.next(len);
            let garbage: Vec<u8> = (0..1 + rng.next(12)).map(|_| rng.next(256) as u8).collect();
            write_at(
                segment,
                at,
                &garbage[..garbage.len().min((len - at) as usize)],
            );
        }
        // Clean or not: both must open, and never serve a batch that was changed.
        if round % 2 == 1 {
            fs::remove_file(dir.path().join(".clean-shutdown")).unwrap();
        }
        let log = Log::open(dir.path(), config()).unwrap();
        let (served, _) = read_everything(&log);
        for bytes in &served {
            assert!(
                appended.iter().any(|a| &a.bytes == bytes),
                "round {round}: served a batch that was not appended"
            );
        }
    }
}

#[test]
fn a_damaged_header_in_the_tail_after_a_clean_shutdown_is_kept_not_cut() {
    // The tail is what recovery scans; after a clean shutdown damage there is not a
    // torn write, so the intact batches after it must not be cut off.
    // Enough batches that the last segment holds at least three.
    let (dir, appended, places, victim) = (120..140)
        .find_map(|n| {
            let dir = tempfile::tempdir().unwrap();
            let appended = closed_log(dir.path(), n);
            let places = locate(dir.path(), &appended);
            let last = files_with_extension(dir.path(), "log").pop().unwrap();
            let in_last = places.iter().filter(|(s, _)| *s == last).count();
            (in_last >= 3).then(|| (dir, appended, places, n - 2))
        })
        .unwrap();
    let (segment, at) = &places[victim];
    write_at(segment, at + 8, &[0x7f, 0, 0, 0, 0x09]);

    let log = Log::open(dir.path(), config()).unwrap();
    assert_eq!(log.recovery_report().bytes_truncated, 0);
    assert_eq!(log.recovery_report().damaged_batches, 1);
    assert_eq!(
        log.log_end_offset(),
        appended.last().unwrap().last_offset + 1
    );
    let (served, refused) = read_everything(&log);
    assert_eq!(refused, vec![appended[victim].base_offset]);
    assert_eq!(served.len(), appended.len() - 1);
    assert_eq!(served.last().unwrap(), &appended.last().unwrap().bytes);
    drop(log);

    // After a crash the same damage in the tail is a torn write: it ends the log.
    fs::remove_file(dir.path().join(".clean-shutdown")).ok();
    let log = Log::open(dir.path(), config()).unwrap();
    assert_eq!(log.log_end_offset(), appended[victim].base_offset);
}

#[test]
fn a_damaged_last_offset_in_the_last_batch_does_not_move_the_log_end() {
    // After a clean shutdown the last batch's header decides the log end: a damaged
    // last-offset field (inside the CRC) must not make the next append jump ahead.
    let dir = tempfile::tempdir().unwrap();
    let appended = closed_log(dir.path(), 50);
    let places = locate(dir.path(), &appended);
    let last = appended.last().unwrap();
    let (segment, at) = places.last().unwrap();
    write_at(segment, at + 23, &1_000i32.to_be_bytes());

    let mut log = Log::open(dir.path(), config()).unwrap();
    assert!(log.recovery_report().clean);
    assert_eq!(
        log.log_end_offset(),
        last.base_offset,
        "the damaged batch is cut"
    );
    assert_eq!(
        log.recovery_report().bytes_truncated,
        last.bytes.len() as u64
    );
    let next = append(&mut log, 1, 0, 40);
    assert_eq!(next.base_offset, last.base_offset);
    let (served, refused) = read_everything(&log);
    assert!(refused.is_empty());
    assert_eq!(served.len(), appended.len());
}
