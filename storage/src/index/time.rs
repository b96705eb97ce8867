//! The sparse time index of one segment (`.timeindex`).
//!
//! On disk: 12-byte entries, no header:
//!
//! ```text
//! timestamp       i64 BE   T: the largest batch max_timestamp in the segment so far
//! relative_offset u32 BE   o - segment base offset, where o is the base offset of the
//!                          first batch whose max_timestamp is T
//! ```
//!
//! An entry is considered at every offset-index point (the same batches that get an
//! offset-index entry) and written only when the segment's running maximum T has grown
//! past the last entry's timestamp. So timestamps strictly increase, and so do offsets
//! (a larger maximum can only be reached by a later batch).
//!
//! What an entry (T, o) promises: the batch starting at o has max_timestamp T, and no
//! batch appended before the entry was written (in particular none before o) has a
//! larger one. Hence [`TimeIndex::lookup_before`]: for "the first batch whose
//! max_timestamp >= ts", take the last entry with T < ts; no batch up to o qualifies,
//! so a scan may start at o (via the offset index). With no such entry, scan from the
//! segment start. Batches after the last entry are always reached by that scan, so an
//! index that lags the log (entries not written yet) stays correct, only slower.

use std::io;
use std::path::Path;

use super::IndexFile;
use crate::StorageError;

const ENTRY_SIZE: u64 = 12;

/// A timestamp and an absolute offset, as stored in a time index entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimestampOffset {
    pub(crate) timestamp: i64,
    pub(crate) offset: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    timestamp: i64,
    relative_offset: u32,
}

/// In-memory copy of a `.timeindex` file plus the file it is appended to.
#[derive(Debug)]
pub(crate) struct TimeIndex {
    file: IndexFile,
    base_offset: i64,
    entries: Vec<Entry>,
    trailing_bytes: usize,
}

impl TimeIndex {
    /// Loads the entries of `path` (missing: none). Nothing is validated here; see
    /// [`Self::check`]. Nothing is kept open.
    pub(crate) fn load(path: &Path, base_offset: i64) -> io::Result<TimeIndex> {
        let (file, contents) = IndexFile::load(path, ENTRY_SIZE)?;
        let chunks = contents.chunks_exact(ENTRY_SIZE as usize);
        let trailing_bytes = chunks.remainder().len();
        let entries = chunks
            .filter_map(|c| {
                let (timestamp, rest) = c.split_first_chunk::<8>()?;
                Some(Entry {
                    timestamp: i64::from_be_bytes(*timestamp),
                    relative_offset: u32::from_be_bytes(*rest.first_chunk::<4>()?),
                })
            })
            .collect();
        Ok(TimeIndex {
            file,
            base_offset,
            entries,
            trailing_bytes,
        })
    }

    /// A new empty index, replacing any file at `path`.
    pub(crate) fn create(path: &Path, base_offset: i64) -> io::Result<TimeIndex> {
        Ok(Self::with_file(
            IndexFile::create(path, ENTRY_SIZE)?,
            base_offset,
        ))
    }

    /// A new empty index that lives in memory only; `label` names it in messages.
    pub(crate) fn in_memory(label: &Path, base_offset: i64) -> TimeIndex {
        Self::with_file(IndexFile::in_memory(label, ENTRY_SIZE), base_offset)
    }

    fn with_file(file: IndexFile, base_offset: i64) -> TimeIndex {
        TimeIndex {
            file,
            base_offset,
            entries: Vec::new(),
            trailing_bytes: 0,
        }
    }

    /// Checks the structural invariants. `last_indexed_offset` is the offset of the last
    /// offset-index entry: time entries are written at offset-index points, so none can
    /// be later.
    pub(crate) fn check(
        &self,
        log_size: u64,
        last_indexed_offset: Option<i64>,
    ) -> Result<(), String> {
        if self.trailing_bytes != 0 {
            return Err(format!("{} trailing bytes", self.trailing_bytes));
        }
        if self.entries.is_empty() && log_size > 0 {
            return Err("empty while the log is not".into());
        }
        for pair in self.entries.windows(2) {
            if let [a, b] = pair {
                if b.timestamp <= a.timestamp || b.relative_offset <= a.relative_offset {
                    return Err(format!("entries not increasing: {a:?} then {b:?}"));
                }
            }
        }
        if let Some(last) = self.last() {
            if last_indexed_offset.is_none_or(|limit| last.offset > limit) {
                return Err(format!(
                    "last entry offset {} beyond the offset index ({last_indexed_offset:?})",
                    last.offset
                ));
            }
        }
        Ok(())
    }

    /// The last entry with timestamp `< timestamp`; see the module doc for why a scan
    /// for the first batch with max_timestamp `>= timestamp` can start at its offset.
    pub(crate) fn lookup_before(&self, timestamp: i64) -> Option<TimestampOffset> {
        let after = self.entries.partition_point(|e| e.timestamp < timestamp);
        let index = after.checked_sub(1)?;
        self.entries.get(index).map(|e| self.absolute(*e))
    }

    pub(crate) fn last(&self) -> Option<TimestampOffset> {
        self.entries.last().map(|e| self.absolute(*e))
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Appends (timestamp, offset); both must exceed the last entry's.
    pub(crate) fn append(&mut self, timestamp: i64, offset: i64) -> Result<(), StorageError> {
        let entry = Entry {
            timestamp,
            relative_offset: u32::try_from(offset - self.base_offset).map_err(|_| {
                StorageError::Corrupt(format!(
                    "offset {offset} does not fit the time index of segment {}",
                    self.base_offset
                ))
            })?,
        };
        if let Some(last) = self.entries.last() {
            if entry.timestamp <= last.timestamp || entry.relative_offset <= last.relative_offset {
                return Err(StorageError::Corrupt(format!(
                    "time index entry {entry:?} does not follow {last:?} in {}",
                    self.file.path().display()
                )));
            }
        }
        let mut bytes = [0u8; ENTRY_SIZE as usize];
        bytes[..8].copy_from_slice(&entry.timestamp.to_be_bytes());
        bytes[8..].copy_from_slice(&entry.relative_offset.to_be_bytes());
        self.file.append(&bytes)?;
        self.entries.push(entry);
        Ok(())
    }

    /// Drops entries whose offset is `>= offset`.
    pub(crate) fn truncate_to_offset(&mut self, offset: i64) -> io::Result<()> {
        let keep = self.entries.partition_point(|e| {
            self.base_offset
                .saturating_add(i64::from(e.relative_offset))
                < offset
        });
        self.entries.truncate(keep);
        self.trailing_bytes = 0;
        self.file.truncate(keep as u64)
    }

    pub(crate) fn clear(&mut self) -> io::Result<()> {
        self.entries.clear();
        self.trailing_bytes = 0;
        self.file.truncate(0)
    }

    /// Writes buffered entries to the file; with `sync`, also fsyncs it.
    pub(crate) fn write_out(&mut self, sync: bool) -> io::Result<()> {
        self.file.write_out(sync)
    }

    fn absolute(&self, e: Entry) -> TimestampOffset {
        TimestampOffset {
            timestamp: e.timestamp,
            offset: self
                .base_offset
                .saturating_add(i64::from(e.relative_offset)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(dir: &tempfile::TempDir) -> TimeIndex {
        TimeIndex::load(&dir.path().join("x.timeindex"), 50).unwrap()
    }

    #[test]
    fn lookup_before_is_strict() {
        let dir = tempfile::tempdir().unwrap();
        let mut idx = index(&dir);
        idx.append(1_000, 50).unwrap();
        idx.append(2_000, 60).unwrap();
        idx.append(3_000, 75).unwrap();
        assert_eq!(idx.lookup_before(1_000), None);
        assert_eq!(idx.lookup_before(1_001).unwrap().offset, 50);
        assert_eq!(idx.lookup_before(3_000).unwrap().offset, 60);
        assert_eq!(idx.lookup_before(i64::MAX).unwrap().offset, 75);
        assert!(idx.append(3_000, 80).is_err());
        assert!(idx.append(4_000, 75).is_err());
    }

    #[test]
    fn reopen_check_and_truncate() {
        let dir = tempfile::tempdir().unwrap();
        let mut idx = index(&dir);
        idx.append(-1, 50).unwrap();
        idx.append(10, 52).unwrap();
        idx.write_out(false).unwrap();
        drop(idx);
        let mut idx = index(&dir);
        assert_eq!(idx.len(), 2);
        assert_eq!(idx.check(100, Some(52)), Ok(()));
        assert!(idx.check(100, Some(51)).is_err());
        idx.truncate_to_offset(52).unwrap();
        assert_eq!(
            idx.last(),
            Some(TimestampOffset {
                timestamp: -1,
                offset: 50
            })
        );
        drop(idx);
        assert_eq!(index(&dir).len(), 1);
        std::fs::write(dir.path().join("x.timeindex"), [1u8; 13]).unwrap();
        assert!(index(&dir).check(100, Some(1_000)).is_err());
    }
}
