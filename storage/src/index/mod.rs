//! Sparse per-segment indexes: [`OffsetIndex`] (`.index`) and [`TimeIndex`]
//! (`.timeindex`).
//!
//! Both are append-only files of fixed-size big-endian entries whose offsets are stored
//! relative to the segment's base offset. The whole index is also kept in memory, so
//! lookups never touch the file; the file only exists so that opening a log does not
//! have to scan every segment. An index file that does not agree with its `.log` is
//! rebuilt from the `.log` at open (see `recovery.rs`).

mod offset;
mod time;

pub(crate) use offset::{OffsetIndex, OffsetPosition};
pub(crate) use time::TimeIndex;

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// An index file of `entry_size`-byte entries, written positionally at
/// `entries * entry_size` so that the file cursor never matters.
#[derive(Debug)]
struct IndexFile {
    file: File,
    path: PathBuf,
    entry_size: u64,
    entries: u64,
}

impl IndexFile {
    /// Opens (creating if missing) the file and returns it with its raw contents.
    fn open(path: &Path, entry_size: u64) -> io::Result<(IndexFile, Vec<u8>)> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let mut contents = Vec::new();
        file.read_to_end(&mut contents)?;
        let entries = contents.len() as u64 / entry_size;
        let index = IndexFile {
            file,
            path: path.to_path_buf(),
            entry_size,
            entries,
        };
        Ok((index, contents))
    }

    fn append(&mut self, entry: &[u8]) -> io::Result<()> {
        debug_assert_eq!(entry.len() as u64, self.entry_size);
        self.file
            .write_all_at(entry, self.entries * self.entry_size)?;
        self.entries += 1;
        Ok(())
    }

    /// Keeps the first `entries` entries; also drops any torn partial entry.
    fn truncate(&mut self, entries: u64) -> io::Result<()> {
        self.file.set_len(entries * self.entry_size)?;
        self.entries = entries;
        Ok(())
    }

    fn sync(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    fn path(&self) -> &Path {
        &self.path
    }
}
