//! Sparse per-segment indexes: [`OffsetIndex`] (`.index`) and [`TimeIndex`]
//! (`.timeindex`).
//!
//! Both are append-only files of fixed-size big-endian entries whose offsets are stored
//! relative to the segment's base offset. The whole index is also kept in memory, so
//! lookups never touch the file; the file only exists so that opening a log does not
//! have to scan every segment. New entries are buffered and written in batches through
//! a handle opened for the occasion (see [`IndexFile`]), so an index holds no file
//! descriptor. An index file that does not agree with its `.log` is rebuilt from the
//! `.log` at open (see `recovery/`).

mod offset;
mod time;

pub(crate) use offset::{OffsetIndex, OffsetPosition};
pub(crate) use time::TimeIndex;

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Entries not yet written to disk after which an append writes them out, so that an
/// index never lags its `.log` by much even if the log is never flushed.
const WRITE_BATCH_ENTRIES: u64 = 512;

/// Where an index's entries go besides memory. Nothing is kept open: entries are
/// buffered and written through a handle opened for the occasion, so an index costs no
/// file descriptor between writes.
#[derive(Debug)]
enum Sink {
    /// The index file. The first `on_disk` entries are written (the file is
    /// `file_len` bytes, more if it had a torn tail when loaded); `pending` holds the
    /// encoded entries after them.
    File {
        on_disk: u64,
        file_len: u64,
        pending: Vec<u8>,
        /// Written or truncated since the last fsync.
        unsynced: bool,
    },
    /// In-memory mode: the in-memory entries are all there is.
    Memory,
}

/// An index file of `entry_size`-byte entries, written positionally at
/// `entries * entry_size` so that no file cursor is involved.
///
/// When entries reach the file: when [`WRITE_BATCH_ENTRIES`] are pending, and when
/// the segment calls [`Self::write_out`] (at roll, truncation and close; not at every
/// flush, and not when a log is dropped without closing). So after a crash the file
/// may lag the `.log` or (if the log was written after the index and not synced) point
/// past it; recovery handles both.
#[derive(Debug)]
struct IndexFile {
    /// The file's path (a label only in memory mode).
    path: PathBuf,
    entry_size: u64,
    sink: Sink,
}

impl IndexFile {
    /// Reads an existing index (a missing file reads as empty) and returns it with its
    /// raw contents. Nothing is kept open.
    fn load(path: &Path, entry_size: u64) -> io::Result<(IndexFile, Vec<u8>)> {
        let contents = match fs::read(path) {
            Ok(contents) => contents,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        let index = IndexFile {
            path: path.to_path_buf(),
            entry_size,
            sink: Sink::File {
                on_disk: contents.len() as u64 / entry_size,
                file_len: contents.len() as u64,
                pending: Vec::new(),
                unsynced: false,
            },
        };
        Ok((index, contents))
    }

    /// Creates an empty index file, replacing any file of that name.
    fn create(path: &Path, entry_size: u64) -> io::Result<IndexFile> {
        File::create(path)?;
        Ok(IndexFile {
            path: path.to_path_buf(),
            entry_size,
            sink: Sink::File {
                on_disk: 0,
                file_len: 0,
                pending: Vec::new(),
                unsynced: true,
            },
        })
    }

    fn in_memory(label: &Path, entry_size: u64) -> IndexFile {
        IndexFile {
            path: label.to_path_buf(),
            entry_size,
            sink: Sink::Memory,
        }
    }

    /// Buffers one encoded entry; writes the buffer out when it is large enough.
    fn append(&mut self, entry: &[u8]) -> io::Result<()> {
        debug_assert_eq!(entry.len() as u64, self.entry_size);
        if let Sink::File { pending, .. } = &mut self.sink {
            pending.extend_from_slice(entry);
            if pending.len() as u64 >= WRITE_BATCH_ENTRIES * self.entry_size {
                self.write_out(false)?;
            }
        }
        Ok(())
    }

    /// Keeps the first `entries` entries; also drops a torn partial entry on disk.
    fn truncate(&mut self, entries: u64) -> io::Result<()> {
        let entry_size = self.entry_size;
        let Sink::File {
            on_disk,
            file_len,
            pending,
            unsynced,
        } = &mut self.sink
        else {
            return Ok(());
        };
        if entries >= *on_disk {
            let keep = usize::try_from((entries - *on_disk) * entry_size).unwrap_or(usize::MAX);
            pending.truncate(keep);
        } else {
            pending.clear();
            *on_disk = entries;
        }
        let len = *on_disk * entry_size;
        if *file_len != len {
            open_for_write(&self.path)?.set_len(len)?;
            *file_len = len;
            *unsynced = true;
        }
        Ok(())
    }

    /// Writes pending entries to the file, and fsyncs it if `sync` and it changed since
    /// the last fsync.
    fn write_out(&mut self, sync: bool) -> io::Result<()> {
        let entry_size = self.entry_size;
        let Sink::File {
            on_disk,
            file_len,
            pending,
            unsynced,
        } = &mut self.sink
        else {
            return Ok(());
        };
        let len = *on_disk * entry_size;
        let mut file = None;
        if !pending.is_empty() || *file_len != len {
            let f = open_for_write(&self.path)?;
            if *file_len != len {
                f.set_len(len)?;
            }
            f.write_all_at(pending, len)?;
            *on_disk += pending.len() as u64 / entry_size;
            *file_len = *on_disk * entry_size;
            pending.clear();
            *unsynced = true;
            file = Some(f);
        }
        if sync && *unsynced {
            match file {
                Some(f) => crate::durable::sync_data(&f)?,
                None => crate::durable::sync_data(&open_for_write(&self.path)?)?,
            }
            *unsynced = false;
        }
        Ok(())
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

fn open_for_write(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_buffered_until_written_out_or_a_batch_is_full() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.index");
        let mut index = IndexFile::create(&path, 4).unwrap();
        for i in 0u32..10 {
            index.append(&i.to_be_bytes()).unwrap();
        }
        assert_eq!(fs::metadata(&path).unwrap().len(), 0);
        index.truncate(7).unwrap();
        index.write_out(true).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().len(), 28);
        index.truncate(3).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().len(), 12);
        for i in 0..WRITE_BATCH_ENTRIES as u32 {
            index.append(&i.to_be_bytes()).unwrap();
        }
        assert_eq!(
            fs::metadata(&path).unwrap().len(),
            (3 + WRITE_BATCH_ENTRIES) * 4
        );
    }

    #[test]
    fn a_torn_tail_is_replaced_by_the_next_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.index");
        fs::write(&path, [1, 2, 3, 4, 5, 6]).unwrap();
        let (mut index, contents) = IndexFile::load(&path, 4).unwrap();
        assert_eq!(contents.len(), 6);
        index.append(&[9, 9, 9, 9]).unwrap();
        index.write_out(false).unwrap();
        assert_eq!(fs::read(&path).unwrap(), [1, 2, 3, 4, 9, 9, 9, 9]);
        let mut memory = IndexFile::in_memory(Path::new("label"), 4);
        memory.append(&[1, 2, 3, 4]).unwrap();
        memory.write_out(true).unwrap();
        assert!(!Path::new("label").exists());
    }
}
