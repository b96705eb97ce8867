//! Producer state snapshots: a partition's [`ProducerStateTable`] written at
//! clean shutdown, so that opening the partition replays only the log after
//! it instead of the whole log.
//!
//! File: `<20-digit offset>.snapshot` in the partition directory (Kafka's
//! name), holding the state of every batch below that offset. Replaced
//! atomically (`sluice_storage::durable::replace_file`: temporary file, fsync,
//! rename, fsync the directory); older snapshots are removed.
//! Layout, big-endian:
//!
//! | field            | type                                               |
//! |------------------|----------------------------------------------------|
//! | version          | u16 (1)                                            |
//! | producer count   | u32                                                |
//! | per producer     | id i64, epoch i16, open txn first offset i64 (-1 = none), last timestamp i64, batch count u8, batches: first seq i32, last seq i32, first offset i64, last offset i64, log append time i64 |
//! | aborted count    | u32                                                |
//! | per aborted txn  | producer id i64, first offset i64, marker offset i64 |
//! | crc              | u32, CRC-32C of everything before it               |
//!
//! A snapshot that does not parse, fails its CRC, or lies beyond the log
//! end (recovery cut the log below it) is ignored with a warning: the
//! partition then replays its whole log, which is always correct.

use std::path::{Path, PathBuf};

use super::aborted::AbortedTxn;
use super::producer_state::{BatchMetadata, ProducerEntry, ProducerStateTable, BATCHES_TO_RETAIN};

const VERSION: u16 = 1;
const EXTENSION: &str = "snapshot";

fn file_name(offset: i64) -> String {
    format!("{offset:020}.{EXTENSION}")
}

/// Snapshot files in `dir`, by offset.
fn list(dir: &Path) -> Vec<(i64, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<(i64, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let path = e.path();
            let name = path.file_name()?.to_str()?;
            let stem = name.strip_suffix(".snapshot")?;
            (stem.len() == 20).then_some(())?;
            Some((stem.parse().ok()?, path))
        })
        .collect();
    found.sort();
    found
}

/// Writes the state of every batch below `offset` and removes older snapshots.
pub fn write(dir: &Path, table: &ProducerStateTable, offset: i64) -> std::io::Result<()> {
    let mut out = Vec::with_capacity(64 + table.producers.len() * 64);
    out.extend_from_slice(&VERSION.to_be_bytes());
    let mut producers: Vec<(&i64, &ProducerEntry)> = table.producers.iter().collect();
    producers.sort_by_key(|(id, _)| **id);
    out.extend_from_slice(&(producers.len() as u32).to_be_bytes());
    for (id, e) in producers {
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&e.epoch.to_be_bytes());
        out.extend_from_slice(&e.current_txn_first_offset.unwrap_or(-1).to_be_bytes());
        out.extend_from_slice(&e.last_timestamp.to_be_bytes());
        out.push(e.batches.len().min(BATCHES_TO_RETAIN) as u8);
        for b in e.batches.iter().take(BATCHES_TO_RETAIN) {
            out.extend_from_slice(&b.first_seq.to_be_bytes());
            out.extend_from_slice(&b.last_seq.to_be_bytes());
            out.extend_from_slice(&b.first_offset.to_be_bytes());
            out.extend_from_slice(&b.last_offset.to_be_bytes());
            out.extend_from_slice(&b.log_append_time.to_be_bytes());
        }
    }
    let aborted = table.aborted.all();
    out.extend_from_slice(&(aborted.len() as u32).to_be_bytes());
    for a in aborted {
        out.extend_from_slice(&a.producer_id.to_be_bytes());
        out.extend_from_slice(&a.first_offset.to_be_bytes());
        out.extend_from_slice(&a.last_offset.to_be_bytes());
    }
    let crc = crc32c::crc32c(&out);
    out.extend_from_slice(&crc.to_be_bytes());

    sluice_storage::durable::replace_file(&dir.join(file_name(offset)), &out)?;
    for (o, old) in list(dir) {
        if o != offset {
            let _ = std::fs::remove_file(old);
        }
    }
    Ok(())
}

/// The newest usable snapshot at or below `log_end`: the table and the
/// offset to replay from.
pub fn load_latest(dir: &Path, log_end: i64) -> Option<(ProducerStateTable, i64)> {
    let (offset, path) = list(dir).into_iter().rev().find(|(o, _)| *o <= log_end)?;
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(file = %path.display(), error = %e, "cannot read producer snapshot");
            return None;
        }
    };
    match decode(&bytes) {
        Some(table) => Some((table, offset)),
        None => {
            tracing::warn!(file = %path.display(),
                "ignoring a damaged producer snapshot; replaying the whole log");
            None
        }
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|[b]| b)
    }
    fn i16(&mut self) -> Option<i16> {
        self.take().map(i16::from_be_bytes)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_be_bytes)
    }
    fn i32(&mut self) -> Option<i32> {
        self.take().map(i32::from_be_bytes)
    }
    fn i64(&mut self) -> Option<i64> {
        self.take().map(i64::from_be_bytes)
    }
}

fn decode(bytes: &[u8]) -> Option<ProducerStateTable> {
    let (body, crc) = bytes.split_last_chunk::<4>()?;
    if crc32c::crc32c(body) != u32::from_be_bytes(*crc) {
        return None;
    }
    let mut r = Reader(body);
    if u16::from_be_bytes(r.take()?) != VERSION {
        return None;
    }
    let mut table = ProducerStateTable::new();
    let producers = r.u32()?;
    for _ in 0..producers {
        let id = r.i64()?;
        let mut entry = ProducerEntry::new(r.i16()?);
        let txn = r.i64()?;
        entry.current_txn_first_offset = (txn >= 0).then_some(txn);
        entry.last_timestamp = r.i64()?;
        let batches = r.u8()?;
        if usize::from(batches) > BATCHES_TO_RETAIN {
            return None;
        }
        for _ in 0..batches {
            entry.batches.push_back(BatchMetadata {
                first_seq: r.i32()?,
                last_seq: r.i32()?,
                first_offset: r.i64()?,
                last_offset: r.i64()?,
                log_append_time: r.i64()?,
            });
        }
        table.producers.insert(id, entry);
    }
    let aborted = r.u32()?;
    for _ in 0..aborted {
        table.aborted.push(AbortedTxn {
            producer_id: r.i64()?,
            first_offset: r.i64()?,
            last_offset: r.i64()?,
        });
    }
    r.0.is_empty().then_some(table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partition::producer_state::ProducerBatch;

    fn sample() -> ProducerStateTable {
        let mut t = ProducerStateTable::new();
        for (pid, txn) in [(3, false), (9, true)] {
            let b = ProducerBatch {
                producer_id: pid,
                epoch: 2,
                first_seq: 0,
                last_seq: 4,
                transactional: txn,
            };
            let meta = BatchMetadata {
                first_seq: 0,
                last_seq: 4,
                first_offset: 10 * pid,
                last_offset: 10 * pid + 4,
                log_append_time: -1,
            };
            t.record(&b, meta, 1_000 + pid);
        }
        t.aborted.push(AbortedTxn {
            producer_id: 5,
            first_offset: 1,
            last_offset: 2,
        });
        t
    }

    #[test]
    fn round_trips_and_replaces_older_snapshots() {
        let dir = tempfile::tempdir().unwrap();
        let t = sample();
        write(dir.path(), &t, 50).unwrap();
        write(dir.path(), &t, 95).unwrap();
        assert_eq!(list(dir.path()).len(), 1);
        let (back, offset) = load_latest(dir.path(), 100).unwrap();
        assert_eq!(offset, 95);
        assert_eq!(back.get(9), t.get(9));
        assert_eq!(back.get(3), t.get(3));
        assert_eq!(back.aborted.all(), t.aborted.all());
        assert_eq!(back.first_open_transaction_offset(), Some(90));
        // Beyond the log end (the log was cut below it): not used.
        assert!(load_latest(dir.path(), 94).is_none());
    }

    #[test]
    fn damaged_snapshots_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), &sample(), 7).unwrap();
        let path = dir.path().join(file_name(7));
        let good = std::fs::read(&path).unwrap();
        for cut in [0, 1, 5, good.len() - 1] {
            std::fs::write(&path, &good[..cut]).unwrap();
            assert!(load_latest(dir.path(), 10).is_none(), "cut at {cut}");
        }
        let mut flipped = good.clone();
        flipped[8] ^= 0x40;
        std::fs::write(&path, &flipped).unwrap();
        assert!(load_latest(dir.path(), 10).is_none());
    }
}
