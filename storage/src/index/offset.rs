//! The sparse offset index of one segment (`.index`).
//!
//! On disk: 8-byte entries, no header:
//!
//! ```text
//! relative_offset u32 BE   batch base offset - segment base offset
//! position        u32 BE   byte position of that batch in the segment's .log
//! ```
//!
//! Invariants: both fields strictly increase from entry to entry; the first entry is
//! the segment's first batch (position 0); every entry points at the start of a batch
//! whose base offset is the entry's offset. Entries are added when at least
//! `index_interval_bytes` of log were written since the previous entry (see
//! `Segment::track_appended`).

use std::io;
use std::path::Path;

use super::IndexFile;
use crate::StorageError;

const ENTRY_SIZE: u64 = 8;

/// An absolute offset and the byte position of the batch starting with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OffsetPosition {
    pub(crate) offset: i64,
    pub(crate) position: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    relative_offset: u32,
    position: u32,
}

/// In-memory copy of a `.index` file plus the file it is appended to.
#[derive(Debug)]
pub(crate) struct OffsetIndex {
    file: IndexFile,
    base_offset: i64,
    entries: Vec<Entry>,
    /// Bytes after the last whole entry when the file was opened (a torn write).
    trailing_bytes: usize,
}

impl OffsetIndex {
    /// Loads the entries of `path` (missing: none). Nothing is validated here; see
    /// [`Self::check`]. Nothing is kept open.
    pub(crate) fn load(path: &Path, base_offset: i64) -> io::Result<OffsetIndex> {
        let (file, contents) = IndexFile::load(path, ENTRY_SIZE)?;
        let chunks = contents.chunks_exact(ENTRY_SIZE as usize);
        let trailing_bytes = chunks.remainder().len();
        let entries = chunks
            .filter_map(|c| {
                let (relative_offset, rest) = c.split_first_chunk::<4>()?;
                Some(Entry {
                    relative_offset: u32::from_be_bytes(*relative_offset),
                    position: u32::from_be_bytes(*rest.first_chunk::<4>()?),
                })
            })
            .collect();
        Ok(OffsetIndex {
            file,
            base_offset,
            entries,
            trailing_bytes,
        })
    }

    /// A new empty index, replacing any file at `path`.
    pub(crate) fn create(path: &Path, base_offset: i64) -> io::Result<OffsetIndex> {
        Ok(Self::with_file(
            IndexFile::create(path, ENTRY_SIZE)?,
            base_offset,
        ))
    }

    /// A new empty index that lives in memory only; `label` names it in messages.
    pub(crate) fn in_memory(label: &Path, base_offset: i64) -> OffsetIndex {
        Self::with_file(IndexFile::in_memory(label, ENTRY_SIZE), base_offset)
    }

    fn with_file(file: IndexFile, base_offset: i64) -> OffsetIndex {
        OffsetIndex {
            file,
            base_offset,
            entries: Vec::new(),
            trailing_bytes: 0,
        }
    }

    /// Checks the structural invariants against a `.log` of `log_size` bytes. Whether
    /// entries really point at batch starts is checked by the recovery scan.
    pub(crate) fn check(&self, log_size: u64) -> Result<(), String> {
        if self.trailing_bytes != 0 {
            return Err(format!("{} trailing bytes", self.trailing_bytes));
        }
        match self.entries.first() {
            None if log_size > 0 => return Err("empty while the log is not".into()),
            Some(first) if first.position != 0 => {
                return Err(format!("first entry at position {}, not 0", first.position))
            }
            _ => {}
        }
        for pair in self.entries.windows(2) {
            if let [a, b] = pair {
                if b.relative_offset <= a.relative_offset || b.position <= a.position {
                    return Err(format!("entries not increasing: {a:?} then {b:?}"));
                }
            }
        }
        if let Some(last) = self.entries.last() {
            if u64::from(last.position) >= log_size {
                return Err(format!(
                    "entry at position {} past the log end {log_size}",
                    last.position
                ));
            }
        }
        Ok(())
    }

    /// The last entry whose offset is `<= offset`: where a scan for `offset` starts.
    pub(crate) fn lookup(&self, offset: i64) -> Option<OffsetPosition> {
        let after = self.entries.partition_point(|e| {
            self.base_offset
                .saturating_add(i64::from(e.relative_offset))
                <= offset
        });
        let index = after.checked_sub(1)?;
        self.entries.get(index).map(|e| self.absolute(*e))
    }

    pub(crate) fn last(&self) -> Option<OffsetPosition> {
        self.entries.last().map(|e| self.absolute(*e))
    }

    /// Entries with position `>= position`, in order.
    pub(crate) fn entries_from(&self, position: u64) -> impl Iterator<Item = OffsetPosition> + '_ {
        let start = self
            .entries
            .partition_point(|e| u64::from(e.position) < position);
        self.entries
            .get(start..)
            .unwrap_or_default()
            .iter()
            .map(|e| self.absolute(*e))
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Appends an entry for the batch starting at `position` with base `offset`.
    pub(crate) fn append(&mut self, offset: i64, position: u64) -> Result<(), StorageError> {
        let entry = Entry {
            relative_offset: u32::try_from(offset - self.base_offset).map_err(|_| {
                StorageError::Corrupt(format!(
                    "offset {offset} does not fit the index of segment {}",
                    self.base_offset
                ))
            })?,
            position: u32::try_from(position).map_err(|_| {
                StorageError::Corrupt(format!("position {position} does not fit an index entry"))
            })?,
        };
        if let Some(last) = self.entries.last() {
            if entry.relative_offset <= last.relative_offset || entry.position <= last.position {
                return Err(StorageError::Corrupt(format!(
                    "offset index entry {entry:?} does not follow {last:?} in {}",
                    self.file.path().display()
                )));
            }
        }
        let mut bytes = [0u8; ENTRY_SIZE as usize];
        bytes[..4].copy_from_slice(&entry.relative_offset.to_be_bytes());
        bytes[4..].copy_from_slice(&entry.position.to_be_bytes());
        self.file.append(&bytes)?;
        self.entries.push(entry);
        Ok(())
    }

    /// Drops entries at or after byte `position` of the log.
    pub(crate) fn truncate_to_position(&mut self, position: u64) -> io::Result<()> {
        let keep = self
            .entries
            .partition_point(|e| u64::from(e.position) < position);
        self.entries.truncate(keep);
        self.trailing_bytes = 0;
        self.file.truncate(keep as u64)
    }

    pub(crate) fn clear(&mut self) -> io::Result<()> {
        self.truncate_to_position(0)
    }

    /// Writes buffered entries to the file; with `sync`, also fsyncs it.
    pub(crate) fn write_out(&mut self, sync: bool) -> io::Result<()> {
        self.file.write_out(sync)
    }

    fn absolute(&self, e: Entry) -> OffsetPosition {
        OffsetPosition {
            offset: self
                .base_offset
                .saturating_add(i64::from(e.relative_offset)),
            position: u64::from(e.position),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(dir: &tempfile::TempDir) -> OffsetIndex {
        OffsetIndex::load(&dir.path().join("x.index"), 100).unwrap()
    }

    #[test]
    fn lookup_finds_floor_entry() {
        let dir = tempfile::tempdir().unwrap();
        let mut idx = index(&dir);
        assert_eq!(idx.lookup(100), None);
        idx.append(100, 0).unwrap();
        idx.append(110, 500).unwrap();
        idx.append(120, 900).unwrap();
        assert_eq!(idx.lookup(99), None);
        assert_eq!(idx.lookup(100).unwrap().position, 0);
        assert_eq!(
            idx.lookup(115).unwrap(),
            OffsetPosition {
                offset: 110,
                position: 500
            }
        );
        assert_eq!(idx.lookup(1_000).unwrap().offset, 120);
        assert_eq!(idx.entries_from(500).count(), 2);
        assert_eq!(idx.entries_from(501).count(), 1);
    }

    #[test]
    fn survives_reopen_and_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let mut idx = index(&dir);
        idx.append(100, 0).unwrap();
        idx.append(105, 64).unwrap();
        idx.append(109, 128).unwrap();
        assert!(idx.append(109, 200).is_err());
        assert!(idx.append(200, 128).is_err());
        idx.write_out(false).unwrap();
        drop(idx);
        let mut idx = index(&dir);
        assert_eq!(idx.len(), 3);
        assert_eq!(idx.check(129), Ok(()));
        assert!(idx.check(128).is_err());
        idx.truncate_to_position(64).unwrap();
        drop(idx);
        let idx = index(&dir);
        assert_eq!(
            idx.last(),
            Some(OffsetPosition {
                offset: 100,
                position: 0
            })
        );
    }

    #[test]
    fn check_reports_torn_or_disordered_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.index");
        std::fs::write(&path, [0u8; 11]).unwrap();
        assert!(index(&dir).check(100).is_err());
        let mut bytes = Vec::new();
        for (rel, pos) in [(0u32, 0u32), (5, 10), (3, 20)] {
            bytes.extend(rel.to_be_bytes());
            bytes.extend(pos.to_be_bytes());
        }
        std::fs::write(&path, &bytes).unwrap();
        assert!(index(&dir).check(100).is_err());
        std::fs::write(&path, []).unwrap();
        assert!(index(&dir).check(100).is_err());
        assert_eq!(index(&dir).check(0), Ok(()));
    }
}
