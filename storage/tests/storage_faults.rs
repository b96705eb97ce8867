//! The one rule for storage failures (docs/storage-format.md, "Failed writes and
//! fsyncs"): after a failed fsync the log refuses writes until it is reopened (the page
//! cache can no longer be trusted); after a failed write that wrote nothing, or whose
//! partial bytes were cut back, writes resume. Failures are injected with
//! `sluice_storage::faults` on each test's own directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{append, batch};
use sluice_storage::faults::{self, Op};
use sluice_storage::{BatchMeta, Log, LogConfig, StorageError};

const EIO: i32 = rustix::io::Errno::IO.raw_os_error();
const ENOSPC: i32 = rustix::io::Errno::NOSPC.raw_os_error();

fn try_append(log: &mut Log, payload: usize) -> Result<i64, StorageError> {
    let base_offset = log.log_end_offset();
    let bytes = batch(base_offset, 1, 0, payload);
    let meta = BatchMeta {
        base_offset,
        last_offset: base_offset,
        max_timestamp: 0,
    };
    log.append(&bytes, meta).map(|()| base_offset)
}

fn assert_refuses_writes(log: &mut Log) {
    assert!(log.is_poisoned());
    assert!(matches!(try_append(log, 10), Err(StorageError::Poisoned)));
    assert!(matches!(log.flush(), Err(StorageError::Poisoned)));
    assert!(matches!(
        log.set_log_start_offset(log.log_end_offset()),
        Err(StorageError::Poisoned)
    ));
}

#[test]
fn failed_fsync_poisons_until_restart() {
    // The data fsync of a flush, and the fsync of the log-start-offset checkpoint
    // (DeleteRecords): both leave the log refusing writes, even once the fault is
    // gone, until it is reopened.
    for target in ["data", "log-start-offset"] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_string_lossy().into_owned();
        let mut log = Log::open(dir.path(), LogConfig::default()).unwrap();
        let first: Vec<_> = (0..3).map(|i| append(&mut log, 1, i, 50)).collect();
        log.flush().unwrap();
        let fault = match target {
            "data" => path.clone(),
            _ => dir
                .path()
                .join("log-start-offset")
                .to_string_lossy()
                .into_owned(),
        };
        faults::fail(Op::Fsync, &fault, EIO, None);
        let failed = match target {
            "data" => {
                try_append(&mut log, 50).unwrap();
                log.flush()
            }
            _ => log.set_log_start_offset(1),
        };
        assert!(
            matches!(&failed, Err(StorageError::Io(e)) if e.raw_os_error() == Some(EIO)),
            "{target}: {failed:?}"
        );
        faults::clear(&fault);
        assert_refuses_writes(&mut log);
        // Reads still work.
        assert_eq!(&log.read(2, 0).unwrap()[..], &first[2].bytes[..]);
        drop(log);

        // A restart (reopen) recovers from the files and takes writes again.
        let mut log = Log::open(dir.path(), LogConfig::default()).unwrap();
        assert!(!log.is_poisoned());
        let next = try_append(&mut log, 50).unwrap();
        log.flush().unwrap();
        assert_eq!(next, log.log_end_offset() - 1);
        assert_eq!(&log.read(0, 0).unwrap()[..], &first[0].bytes[..]);
    }
}

#[test]
fn failed_write_that_wrote_nothing_lets_writes_resume() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_string_lossy().into_owned();
    let mut log = Log::open(dir.path(), LogConfig::default()).unwrap();
    let before = append(&mut log, 1, 0, 50);
    // A full disk: 250 appends fail with ENOSPC and write nothing.
    faults::fail(Op::Write, &path, ENOSPC, Some(250));
    for _ in 0..250 {
        let err = try_append(&mut log, 50).unwrap_err();
        assert!(
            matches!(&err, StorageError::Io(e) if e.raw_os_error() == Some(ENOSPC)),
            "{err:?}"
        );
    }
    // A write that got part of the batch out before failing is cut back.
    faults::fail(Op::PartialWrite, &path, ENOSPC, Some(1));
    assert!(try_append(&mut log, 50).is_err());
    faults::clear(&path);
    assert!(!log.is_poisoned(), "space freed: writes resume");
    let after = append(&mut log, 1, 0, 50);
    assert_eq!(after.base_offset, 1);
    log.flush().unwrap();
    drop(log);
    let log = Log::open(dir.path(), LogConfig::default()).unwrap();
    assert_eq!(
        log.recovery_report().bytes_truncated,
        0,
        "no torn bytes left"
    );
    let all = log.read(0, 1 << 20).unwrap();
    assert_eq!(&all[..], &[before.bytes, after.bytes].concat()[..]);
}
