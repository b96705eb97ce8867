//! Rolling segments by size and reading across them; the offset index in use. On disk
//! and in memory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use std::os::unix::fs::FileExt;

use common::{
    append, batches_in, files_with_extension, open, small_segments, Appended, Backend, Lcg,
};
use sluice_storage::{Log, StorageError};

both_backends!(
    rolls_by_size,
    a_batch_larger_than_a_segment_gets_a_segment_of_its_own,
    reads_walk_the_whole_log_across_many_segments,
);

fn rolls_by_size(backend: Backend) {
    let (mut log, dir) = open(backend, small_segments(1_000, 4096));
    for _ in 0..25 {
        append(&mut log, 4, 0, 139); // 200 bytes: five per segment
    }
    assert_eq!(log.segment_count(), 5);
    assert_eq!(log.size_bytes(), 5_000);
    let Some(dir) = dir else { return };
    let names: Vec<_> = files_with_extension(dir.path(), "log")
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "00000000000000000000.log",
            "00000000000000000020.log",
            "00000000000000000040.log",
            "00000000000000000060.log",
            "00000000000000000080.log"
        ]
    );
    for log_file in files_with_extension(dir.path(), "log") {
        assert_eq!(std::fs::metadata(&log_file).unwrap().len(), 1_000);
        assert!(log_file.with_extension("index").exists());
        assert!(log_file.with_extension("timeindex").exists());
    }
}

fn a_batch_larger_than_a_segment_gets_a_segment_of_its_own(backend: Backend) {
    let (mut log, _dir) = open(backend, small_segments(1_000, 4096));
    append(&mut log, 1, 0, 100);
    let big = append(&mut log, 1, 0, 5_000);
    append(&mut log, 1, 0, 100);
    assert_eq!(log.segment_count(), 3);
    assert_eq!(&log.read(1, 0).unwrap()[..], &big.bytes[..]);
}

fn reads_walk_the_whole_log_across_many_segments(backend: Backend) {
    let (mut log, _dir) = open(backend, small_segments(2_000, 300));
    let mut rng = Lcg(7);
    let appended: Vec<Appended> = (0..300)
        .map(|_| append(&mut log, 1 + rng.next(5) as i32, 0, rng.next(400) as usize))
        .collect();
    assert!(log.segment_count() > 20, "{}", log.segment_count());

    // Every offset reads back the batch holding it first.
    for a in &appended {
        for offset in a.base_offset..=a.last_offset {
            let got = log.read(offset, 0).unwrap();
            assert_eq!(&got[..], &a.bytes[..], "offset {offset}");
        }
    }
    // A consumer loop reassembles the log exactly, whatever its max_bytes.
    for max_bytes in [0, 500, 3_000, usize::MAX] {
        let mut offset = 0;
        let mut all = Vec::new();
        while offset < log.log_end_offset() {
            let chunk = log.read(offset, max_bytes).unwrap();
            let batches = batches_in(&chunk);
            assert!(!batches.is_empty());
            if max_bytes > 0 {
                assert!(chunk.len() <= max_bytes || batches.len() == 1);
            }
            offset = batches.last().unwrap().1 + 1;
            all.extend_from_slice(&chunk);
        }
        let expected: Vec<u8> = appended.iter().flat_map(|a| a.bytes.clone()).collect();
        assert_eq!(all, expected, "max_bytes {max_bytes}");
    }
}

#[test]
fn reads_start_at_the_indexed_position_not_the_segment_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), small_segments(1 << 30, 500)).unwrap();
    let appended: Vec<_> = (0..100).map(|_| append(&mut log, 1, 0, 139)).collect(); // 200 bytes each
    assert_eq!(log.segment_count(), 1);
    // Index entries are buffered; a clean close writes them out.
    log.close().unwrap();
    let log = Log::open(dir.path(), small_segments(1 << 30, 500)).unwrap();
    // 100 entries of 8 bytes would be one per batch; with 500 bytes between entries
    // there is one every third batch.
    let index = std::fs::read(dir.path().join("00000000000000000000.index")).unwrap();
    assert_eq!(index.len(), 34 * 8);

    // Wreck the first batches behind the log's back. A read that scanned from the
    // segment start would trip over them; an indexed read never looks at them.
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.path().join("00000000000000000000.log"))
        .unwrap();
    file.write_all_at(&[0xee; 600], 0).unwrap();
    assert_eq!(&log.read(50, 0).unwrap()[..], &appended[50].bytes[..]);
    assert_eq!(&log.read(99, 0).unwrap()[..], &appended[99].bytes[..]);
    // The wrecked batches are refused (not served); the read names the next intact one.
    assert!(matches!(
        log.read(1, 0),
        Err(StorageError::CorruptBatch {
            offset: 0,
            resume_offset: 3,
            ..
        })
    ));
    assert_eq!(&log.read(3, 0).unwrap()[..], &appended[3].bytes[..]);
}
