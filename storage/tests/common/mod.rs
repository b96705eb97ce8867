//! Shared helpers for the storage scenario tests: valid v2 batches (fake records, real
//! CRC-32C, which recovery checks), a model of what was appended, and both backends.
#![allow(dead_code, unused_macros, clippy::unwrap_used, clippy::expect_used)]

use sluice_storage::{BatchMeta, Log, LogConfig};

/// Where a scenario's log keeps its segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Disk,
    Memory,
}

/// Opens a new empty log on `backend`. The temp dir (disk only) must outlive the log.
pub fn open(backend: Backend, config: LogConfig) -> (Log, Option<tempfile::TempDir>) {
    match backend {
        Backend::Disk => {
            let dir = tempfile::tempdir().unwrap();
            (Log::open(dir.path(), config).unwrap(), Some(dir))
        }
        Backend::Memory => (Log::open_in_memory(config), None),
    }
}

/// Runs each scenario `fn name(backend: Backend)` as two tests, `on_disk::name` and
/// `in_memory::name`.
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod on_disk {
            $( #[test] fn $name() { super::$name(crate::common::Backend::Disk) } )*
        }
        mod in_memory {
            $( #[test] fn $name() { super::$name(crate::common::Backend::Memory) } )*
        }
    };
}

pub const HEADER_LEN: usize = 61;

/// A v2 batch of `count` fake records at `base_offset` with `payload` bytes of record
/// data; both timestamps are `max_timestamp`.
pub fn batch(base_offset: i64, count: i32, max_timestamp: i64, payload: usize) -> Vec<u8> {
    let mut b = Vec::with_capacity(HEADER_LEN + payload);
    b.extend_from_slice(&base_offset.to_be_bytes());
    let batch_length = i32::try_from(HEADER_LEN - 12 + payload).unwrap();
    b.extend_from_slice(&batch_length.to_be_bytes());
    b.extend_from_slice(&0i32.to_be_bytes()); // partition leader epoch
    b.push(2); // magic
    b.extend_from_slice(&0u32.to_be_bytes()); // crc
    b.extend_from_slice(&0i16.to_be_bytes()); // attributes
    b.extend_from_slice(&(count - 1).to_be_bytes()); // last offset delta
    b.extend_from_slice(&max_timestamp.to_be_bytes()); // base timestamp
    b.extend_from_slice(&max_timestamp.to_be_bytes()); // max timestamp
    b.extend_from_slice(&(-1i64).to_be_bytes()); // producer id
    b.extend_from_slice(&(-1i16).to_be_bytes()); // producer epoch
    b.extend_from_slice(&(-1i32).to_be_bytes()); // base sequence
    b.extend_from_slice(&count.to_be_bytes()); // record count
    b.extend((0..payload).map(|i| (i as i64 + base_offset) as u8));
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

/// One appended batch, as the tests remember it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    pub base_offset: i64,
    pub last_offset: i64,
    pub max_timestamp: i64,
    pub bytes: Vec<u8>,
}

/// Appends a batch at the log end and returns what was appended.
pub fn append(log: &mut Log, count: i32, max_timestamp: i64, payload: usize) -> Appended {
    let base_offset = log.log_end_offset();
    let bytes = batch(base_offset, count, max_timestamp, payload);
    let meta = BatchMeta {
        base_offset,
        last_offset: base_offset + i64::from(count) - 1,
        max_timestamp,
    };
    log.append(&bytes, meta).unwrap();
    Appended {
        base_offset,
        last_offset: meta.last_offset,
        max_timestamp,
        bytes,
    }
}

/// (base offset, last offset) of each batch in `bytes`, asserting they are whole.
pub fn batches_in(bytes: &[u8]) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        assert!(rest.len() >= HEADER_LEN, "partial batch header");
        let base = i64::from_be_bytes(rest[0..8].try_into().unwrap());
        let len =
            12 + usize::try_from(i32::from_be_bytes(rest[8..12].try_into().unwrap())).unwrap();
        let delta = i32::from_be_bytes(rest[23..27].try_into().unwrap());
        assert!(rest.len() >= len, "partial batch");
        out.push((base, base + i64::from(delta)));
        rest = &rest[len..];
    }
    out
}

/// A small deterministic pseudo-random sequence (no dev-dependency needed).
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % bound
    }
}

pub fn small_segments(segment_bytes: u64, index_interval_bytes: u64) -> LogConfig {
    LogConfig {
        segment_bytes,
        segment_ms: None,
        index_interval_bytes,
    }
}

/// Files in `dir` with the given extension, sorted.
pub fn files_with_extension(dir: &std::path::Path, extension: &str) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .collect();
    files.sort();
    files
}
