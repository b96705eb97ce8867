//! Reads check every batch they return (framing, offset continuity, CRC-32C): damage on
//! disk is refused with `CorruptBatch`, never served, and every intact batch after it
//! stays reachable from the `resume_offset` the error names.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::os::unix::fs::FileExt;
use std::path::Path;

use common::{append, batches_in, files_with_extension, small_segments, Appended, Lcg};
use sluice_storage::{faults, Log, LogConfig, StorageError};

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

/// The read tally on the log in `dir` (every segment read made since the last call),
/// started afresh.
fn reads_since(dir: &Path) -> faults::Reads {
    let key = dir.to_str().unwrap();
    let reads = faults::reads(key);
    faults::count_reads(key);
    reads
}

#[test]
fn repeated_fetches_of_a_damaged_batch_do_not_rescan() {
    // A damaged CRC (found only by reading the batch) and a damaged header (found by
    // the header walk): either way the first fetch finds where the damage ends, and
    // fetches after it answer from what the segment remembers.
    for kind in ["crc", "header"] {
        let dir = tempfile::tempdir().unwrap();
        let appended = closed_log(dir.path(), 120);
        let places = locate(dir.path(), &appended);
        let victim = 37;
        let (segment, at) = &places[victim];
        let len = appended[victim].bytes.len() as u64;
        match kind {
            "crc" => write_at(
                segment,
                at + len - 3,
                &[appended[victim].bytes[len as usize - 3] ^ 1],
            ),
            _ => write_at(segment, at + 8, &[0x7f, 0, 0, 0, 0x09]),
        }
        let log = Log::open(dir.path(), config()).unwrap();
        let offset = appended[victim].base_offset;
        let refused = |log: &Log| match log.read(offset, 1_000) {
            Err(StorageError::CorruptBatch {
                offset,
                resume_offset,
                reason,
            }) => (offset, resume_offset, reason),
            other => panic!("{kind}: expected CorruptBatch, got {other:?}"),
        };
        reads_since(dir.path());
        let first = refused(&log);
        assert_eq!(first.1, appended[victim + 1].base_offset, "{kind}");
        let first_reads = reads_since(dir.path());

        let fetches = 20;
        for _ in 0..fetches {
            assert_eq!(refused(&log), first, "{kind}: the same answer every time");
        }
        let repeated = reads_since(dir.path());
        faults::stop_counting_reads(dir.path().to_str().unwrap());
        // What is left per fetch is the header walk from the offset-index entry to
        // the damaged batch (one window read): not the batch, not the search.
        assert!(
            repeated.calls <= fetches,
            "{kind}: {fetches} repeated fetches made {} reads (the first fetch made {})",
            repeated.calls,
            first_reads.calls
        );
        assert!(
            repeated.bytes / fetches < first_reads.bytes,
            "{kind}: repeated fetches read {} bytes each, the first {}",
            repeated.bytes / fetches,
            first_reads.bytes
        );
        // The batches after the damage are still served.
        let after = log.read(first.1, 1_000).unwrap();
        assert_eq!(batches_in(&after)[0].0, first.1, "{kind}");
    }
}

/// A cleanly closed log whose first segment holds `big` batches of `payload` bytes,
/// then a few small ones in a second segment, with an offset-index entry every
/// `index_interval` bytes.
fn log_of_big_batches(
    dir: &Path,
    big: usize,
    payload: usize,
    index_interval: u64,
) -> Vec<Appended> {
    let segment_bytes = (big * (payload + 61)) as u64;
    let mut log = Log::open(dir, small_segments(segment_bytes, index_interval)).unwrap();
    let mut appended: Vec<Appended> = (0..big)
        .map(|i| append(&mut log, 1, i as i64, payload))
        .collect();
    appended.extend((0..3).map(|i| append(&mut log, 1, 100 + i, 50)));
    log.close().unwrap();
    assert_eq!(files_with_extension(dir, "log").len(), 2);
    appended
}

#[test]
fn a_damaged_length_does_not_allocate_the_segment() {
    // 12 MiB of 256 KiB batches; the length of the third one is damaged to claim the
    // rest of its segment (which it still fits in, so framing alone cannot tell).
    // With an index entry at every batch the index disproves the length; with one
    // entry for the whole segment the CRC must, computed in bounded chunks.
    for index_interval in [4096, 1 << 30] {
        let payload = 256 << 10;
        let dir = tempfile::tempdir().unwrap();
        let appended = log_of_big_batches(dir.path(), 48, payload, index_interval);
        let segment = &files_with_extension(dir.path(), "log")[0];
        let segment_len = fs::metadata(segment).unwrap().len();
        let victim = 2;
        let at: u64 = appended[..victim]
            .iter()
            .map(|a| a.bytes.len() as u64)
            .sum();
        let claimed = i32::try_from(segment_len - at - 12).unwrap();
        write_at(segment, at + 8, &claimed.to_be_bytes());

        let config = small_segments(segment_len, index_interval);
        let log = Log::open(dir.path(), config).unwrap();
        reads_since(dir.path());
        let offset = appended[victim].base_offset;
        for _ in 0..3 {
            match log.read(offset, 1_000) {
                Err(StorageError::CorruptBatch { resume_offset, .. }) => {
                    assert_eq!(resume_offset, appended[victim + 1].base_offset)
                }
                other => panic!("expected CorruptBatch, got {other:?}"),
            }
        }
        let reads = reads_since(dir.path());
        faults::stop_counting_reads(dir.path().to_str().unwrap());
        // The claim (about 11.5 MiB) is never read in one piece: the largest read is
        // bounded by the read cap (8 MiB), not by the segment.
        assert!(
            reads.largest <= 8 << 20,
            "interval {index_interval}: a read of {} bytes for a batch claiming {claimed}",
            reads.largest
        );
        // Checked once, remembered: the three fetches read the claim at most once.
        assert!(
            reads.bytes < 2 * segment_len,
            "interval {index_interval}: {} bytes read for three fetches",
            reads.bytes
        );
        let before = log.read(appended[victim - 1].base_offset, 1_000).unwrap();
        assert!(before[..] == appended[victim - 1].bytes[..]);
        // The intact batches after the damage are served. (With a single entry,
        // recovery's header scan took the damaged length for the segment's end, so
        // the segment's offsets stop at 3, short of the next segment's base: the
        // batches after the damage are found at open, see
        // damaged_length_in_a_sealed_segment_does_not_skip_records.)
        for a in &appended[victim + 1..] {
            let after = log.read(a.base_offset, 1).unwrap();
            assert!(
                after[..] == a.bytes[..],
                "interval {index_interval}: offset {}",
                a.base_offset
            );
        }
    }
}

#[test]
fn an_intact_batch_larger_than_the_read_cap_is_served_whole() {
    // A batch bigger than both max_bytes and the read cap is checked in bounded
    // chunks before it is read whole; once found intact it is read like any other.
    let dir = tempfile::tempdir().unwrap();
    let appended = log_of_big_batches(dir.path(), 2, 9 << 20, 4096);
    let log = Log::open(dir.path(), small_segments(20 << 20, 4096)).unwrap();
    let read = log.read(1, 1_000).unwrap();
    assert_eq!(&read[..], &appended[1].bytes[..]);
    reads_since(dir.path());
    let again = log.read(1, 1_000).unwrap();
    assert_eq!(&again[..], &appended[1].bytes[..]);
    let reads = reads_since(dir.path());
    faults::stop_counting_reads(dir.path().to_str().unwrap());
    assert!(
        reads.bytes <= appended[1].bytes.len() as u64 + (16 << 10),
        "a second fetch of an intact batch read {} bytes",
        reads.bytes
    );
}

#[test]
fn damaged_length_in_a_sealed_segment_does_not_skip_records() {
    // With a single offset-index entry for the first segment, recovery's header scan
    // takes a damaged length that claims the rest of the segment for the segment's
    // end, so its offsets stop short of the next segment's base. The offsets in
    // between must never be answered from the next segment: the intact batches the
    // damaged length covers are served, the damaged one refused.
    let big = 8;
    let dir = tempfile::tempdir().unwrap();
    let appended = log_of_big_batches(dir.path(), big, 4 << 10, 1 << 30);
    let segment = &files_with_extension(dir.path(), "log")[0];
    let segment_len = fs::metadata(segment).unwrap().len();
    let victim = 2;
    let at: u64 = appended[..victim]
        .iter()
        .map(|a| a.bytes.len() as u64)
        .sum();
    let claimed = i32::try_from(segment_len - at - 12).unwrap();
    write_at(segment, at + 8, &claimed.to_be_bytes());

    let log = Log::open(dir.path(), small_segments(segment_len, 1 << 30)).unwrap();
    for (i, a) in appended.iter().enumerate() {
        match log.read(a.base_offset, 1) {
            Ok(bytes) if i != victim => assert!(
                bytes[..] == a.bytes[..],
                "offset {}: got the batches {:?}",
                a.base_offset,
                batches_in(&bytes)
            ),
            Err(StorageError::CorruptBatch {
                offset,
                resume_offset,
                ..
            }) if i == victim => {
                assert_eq!((offset, resume_offset), (2, 3));
            }
            Ok(bytes) => panic!("offset {}: served {:?}", a.base_offset, batches_in(&bytes)),
            Err(e) => panic!("offset {}: {e}", a.base_offset),
        }
    }
    let (served, refused) = read_everything(&log);
    assert_eq!(refused, [2]);
    assert_eq!(served.len(), appended.len() - 1);
    drop(log);

    // When nothing intact is left after the segment's scanned end (here: its last two
    // batches lost), the missing offsets are refused up to the next segment's base.
    let dir = tempfile::tempdir().unwrap();
    let appended = log_of_big_batches(dir.path(), big, 4 << 10, 1 << 30);
    let segment = &files_with_extension(dir.path(), "log")[0];
    let kept: u64 = appended[..big - 2]
        .iter()
        .map(|a| a.bytes.len() as u64)
        .sum();
    let file = fs::OpenOptions::new().write(true).open(segment).unwrap();
    file.set_len(kept).unwrap();
    drop(file);
    let log = Log::open(dir.path(), small_segments(segment_len, 1 << 30)).unwrap();
    assert_eq!(log.recovery_report().damaged_batches, 1);
    for a in &appended[big - 2..big] {
        match log.read(a.base_offset, 1_000) {
            Err(StorageError::CorruptBatch {
                offset,
                resume_offset,
                ..
            }) => assert_eq!((offset, resume_offset), (big as i64 - 2, big as i64)),
            other => panic!(
                "offset {}: expected CorruptBatch, got {other:?}",
                a.base_offset
            ),
        }
    }
    let next = log.read(big as i64, 1).unwrap();
    assert!(next[..] == appended[big].bytes[..]);
}

#[test]
fn damaged_length_at_the_end_of_a_sealed_segment_deletes_nothing() {
    // After a clean shutdown everything was fsynced, so a length that claims past the
    // end of a sealed segment's file is damage, not a torn write: the segment is not
    // cut, the segments after it are not deleted, the damaged batch is refused and
    // every other batch served. Once with the indexes as written (fast path), once
    // with them lost (rebuild from the log).
    for lose_indexes in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let appended = closed_log(dir.path(), 120);
        let places = locate(dir.path(), &appended);
        let segments = files_with_extension(dir.path(), "log");
        assert!(segments.len() >= 3);
        // A sealed segment whose last batch has no offset-index entry, so that with
        // its indexes kept recovery takes the fast path (a header scan of the tail).
        let (first, victim) = segments[..segments.len() - 1]
            .iter()
            .find_map(|segment| {
                let last = places.iter().rposition(|(s, _)| s == segment)?;
                let index = fs::read(segment.with_extension("index")).unwrap();
                let indexed = index.chunks(8).any(|e| {
                    u64::from(u32::from_be_bytes(e[4..8].try_into().unwrap())) == places[last].1
                });
                (!indexed).then_some((segment, last))
            })
            .unwrap();
        let (_, at) = &places[victim];
        write_at(first, at + 8, &0x7fff_0000i32.to_be_bytes());
        if lose_indexes {
            for ext in ["index", "timeindex"] {
                fs::remove_file(first.with_extension(ext)).unwrap();
            }
        }

        let log = Log::open(dir.path(), config()).unwrap();
        let report = log.recovery_report();
        assert!(report.clean);
        assert_eq!(
            (report.bytes_truncated, report.segments_deleted),
            (0, 0),
            "lose_indexes {lose_indexes}: {report:?}"
        );
        assert_eq!(report.damaged_batches, 1, "{report:?}");
        assert_eq!(
            report.indexes_rebuilt,
            usize::from(lose_indexes),
            "{report:?}"
        );
        assert_eq!(files_with_extension(dir.path(), "log"), segments);
        assert_eq!(
            log.log_end_offset(),
            appended.last().unwrap().last_offset + 1
        );
        let (served, refused) = read_everything(&log);
        assert_eq!(refused, vec![appended[victim].base_offset]);
        let expected: Vec<Vec<u8>> = appended
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != victim)
            .map(|(_, a)| a.bytes.clone())
            .collect();
        assert!(
            served == expected,
            "lose_indexes {lose_indexes}: every other batch, unchanged"
        );
        // Every offset of the damaged batch is refused, resuming at the next segment.
        for offset in appended[victim].base_offset..=appended[victim].last_offset {
            match log.read(offset, 1_000) {
                Err(StorageError::CorruptBatch { resume_offset, .. }) => {
                    assert_eq!(resume_offset, appended[victim + 1].base_offset)
                }
                other => panic!("offset {offset}: expected CorruptBatch, got {other:?}"),
            }
        }
        drop(log);
        // The bytes are kept: the next clean open finds the same.
        assert!(fs::metadata(first).unwrap().len() >= at + 12);
    }
}
