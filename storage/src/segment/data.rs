//! Where a segment's batches live: the storage backend under [`super::Segment`].
//!
//! - [`Data::File`]: the `.log` file. While the segment is its log's active segment it
//!   holds the one descriptor a log keeps open, its read-write handle (used for its
//!   reads too). Otherwise it holds none: reads borrow a handle from the process-wide
//!   cache in [`crate::handles`], and the rare writes (recovery truncating a torn tail,
//!   an fsync) open one for the occasion.
//! - [`Data::Memory`]: the bytes themselves, for in-memory logs
//!   (`Log::open_in_memory`). Nothing touches the disk.
//!
//! Both are read with positional reads through [`Reader`], so the scanning and reading
//! code above is the same for both backends.
//!
//! A sealed segment's file is reopened by path, so each open is checked against the
//! device and inode the segment was created or found with: should the directory have
//! been removed and a new log created under the same name while this one is still in
//! use (a topic deleted and recreated), it reads an error, never another log's bytes.

use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::batch::ReadAt;
use crate::handles;

#[derive(Debug)]
pub(crate) enum Data {
    File {
        path: PathBuf,
        /// (device, inode) of the file.
        identity: (u64, u64),
        /// This segment's key in the read-handle cache.
        id: u64,
        /// Open while the segment is active.
        writer: Option<File>,
    },
    /// Exactly the segment's batches (`len()` is the segment size).
    Memory(Vec<u8>),
}

impl Data {
    /// A new empty `.log`, replacing any file of that name; active (writer open).
    pub(crate) fn create_file(path: PathBuf) -> io::Result<Data> {
        let writer = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)?;
        Ok(Data::File {
            identity: identity(&writer.metadata()?),
            path,
            id: handles::new_id(),
            writer: Some(writer),
        })
    }

    /// An existing `.log`; nothing is kept open until needed.
    pub(crate) fn existing_file(path: PathBuf) -> io::Result<Data> {
        Ok(Data::File {
            identity: identity(&std::fs::metadata(&path)?),
            path,
            id: handles::new_id(),
            writer: None,
        })
    }

    /// Opens the write handle (the segment became its log's active segment).
    pub(crate) fn activate(&mut self) -> io::Result<()> {
        if let Data::File {
            path,
            identity,
            id,
            writer,
        } = self
        {
            if writer.is_none() {
                *writer = Some(open_checked(
                    OpenOptions::new().read(true).write(true),
                    path,
                    *identity,
                )?);
                handles::forget(*id);
            }
        }
        Ok(())
    }

    /// Closes the write handle (the segment is no longer active).
    pub(crate) fn deactivate(&mut self) {
        if let Data::File { writer, .. } = self {
            *writer = None;
        }
    }

    /// Something to read the batches through.
    pub(crate) fn reader(&self) -> io::Result<Reader<'_>> {
        Ok(match self {
            Data::File {
                writer: Some(file),
                path,
                ..
            } => Reader::Own(file, path),
            Data::File {
                path, identity, id, ..
            } => Reader::Cached(
                handles::get(*id, || {
                    open_checked(OpenOptions::new().read(true), path, *identity)
                })?,
                path,
            ),
            Data::Memory(bytes) => Reader::Memory(bytes),
        })
    }

    /// Writes `head` then `rest` at `position`, the end of the accounted data. Only
    /// an active segment takes writes.
    pub(crate) fn write_parts_at(
        &mut self,
        head: &[u8],
        rest: &[u8],
        position: u64,
    ) -> io::Result<()> {
        match self {
            Data::File {
                writer: Some(file),
                path,
                ..
            } => {
                crate::faults::check(crate::faults::Op::Write, path)?;
                if let Err(e) = crate::faults::check(crate::faults::Op::PartialWrite, path) {
                    let half = head.get(..head.len() / 2).unwrap_or_default();
                    write_all_parts_at(file, half, &[], position)?;
                    return Err(e);
                }
                write_all_parts_at(file, head, rest, position)
            }
            Data::File { path, .. } => Err(io::Error::other(format!(
                "{} is not the active segment",
                path.display()
            ))),
            Data::Memory(data) => {
                let position = usize::try_from(position)
                    .ok()
                    .filter(|p| *p <= data.len())
                    .ok_or_else(|| io::Error::other("write beyond the end of the segment"))?;
                data.truncate(position);
                data.extend_from_slice(head);
                data.extend_from_slice(rest);
                Ok(())
            }
        }
    }

    /// Cuts the data to `len` bytes.
    pub(crate) fn set_len(&mut self, len: u64) -> io::Result<()> {
        match self {
            Data::File {
                writer: Some(file), ..
            } => file.set_len(len),
            Data::File { path, identity, .. } => {
                open_checked(OpenOptions::new().write(true), path, *identity)?.set_len(len)
            }
            Data::Memory(data) => {
                data.truncate(usize::try_from(len).unwrap_or(usize::MAX));
                Ok(())
            }
        }
    }

    /// fsyncs the data (a no-op in memory). A segment without its write handle opens
    /// one for the occasion: Linux reports a writeback error to the next fsync of the
    /// file through any descriptor, so nothing is missed by not keeping it open.
    pub(crate) fn sync(&self) -> io::Result<()> {
        match self {
            Data::File {
                writer: Some(file), ..
            } => crate::durable::sync_data(file),
            Data::File { path, identity, .. } => crate::durable::sync_data(&open_checked(
                OpenOptions::new().read(true),
                path,
                *identity,
            )?),
            Data::Memory(_) => Ok(()),
        }
    }

    /// A second handle on the `.log` file for an fsync done without the
    /// log's lock (`None` in memory). It names the same inode, so syncing it
    /// syncs this file.
    pub(crate) fn sync_handle(&self) -> io::Result<Option<File>> {
        match self {
            Data::File {
                writer: Some(file), ..
            } => file.try_clone().map(Some),
            Data::File { path, identity, .. } => {
                open_checked(OpenOptions::new().read(true), path, *identity).map(Some)
            }
            Data::Memory(_) => Ok(None),
        }
    }

    /// The file's metadata (`None` in memory).
    pub(crate) fn metadata(&self) -> io::Result<Option<Metadata>> {
        match self {
            Data::File {
                writer: Some(file), ..
            } => file.metadata().map(Some),
            Data::File { path, .. } => std::fs::metadata(path).map(Some),
            Data::Memory(_) => Ok(None),
        }
    }

    /// The `.log` path, if on disk.
    pub(crate) fn path(&self) -> Option<&Path> {
        match self {
            Data::File { path, .. } => Some(path),
            Data::Memory(_) => None,
        }
    }
}

impl Drop for Data {
    fn drop(&mut self) {
        if let Data::File { id, .. } = self {
            handles::forget(*id);
        }
    }
}

fn identity(metadata: &Metadata) -> (u64, u64) {
    (metadata.dev(), metadata.ino())
}

/// Opens `path`, failing with `NotFound` if it is no longer the file `expected` names.
fn open_checked(options: &OpenOptions, path: &Path, expected: (u64, u64)) -> io::Result<File> {
    let file = options.open(path)?;
    if identity(&file.metadata()?) != expected {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} was replaced by another file", path.display()),
        ));
    }
    Ok(file)
}

/// A borrowed way to read a segment's bytes (with the `.log` path, for the test-only
/// read accounting in [`crate::faults`]).
pub(crate) enum Reader<'a> {
    /// The active segment's own handle.
    Own(&'a File, &'a Path),
    /// A handle from the process-wide cache.
    Cached(Arc<File>, &'a Path),
    Memory(&'a [u8]),
}

impl ReadAt for Reader<'_> {
    fn read_exact_at(&self, buf: &mut [u8], position: u64) -> io::Result<()> {
        match self {
            Reader::Own(file, path) => {
                crate::faults::note_read(path, buf.len());
                ReadAt::read_exact_at(*file, buf, position)
            }
            Reader::Cached(file, path) => {
                crate::faults::note_read(path, buf.len());
                ReadAt::read_exact_at(&**file, buf, position)
            }
            Reader::Memory(bytes) => bytes.read_exact_at(buf, position),
        }
    }
}

/// Writes all of `head` then `rest` at `position` with `pwritev(2)`: one
/// system call for a batch whose header was patched apart from its records
/// (short writes and interruptions are retried from where they stopped).
fn write_all_parts_at(
    file: &File,
    mut head: &[u8],
    mut rest: &[u8],
    mut position: u64,
) -> io::Result<()> {
    while !head.is_empty() || !rest.is_empty() {
        let written = match pwritev(file, head, rest, position) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        position += written as u64;
        if written < head.len() {
            head = &head[written..];
        } else {
            rest = &rest[written - head.len()..];
            head = &[];
        }
    }
    Ok(())
}

/// One `pwritev(2)` of `a` then `b` at `position`; the bytes written.
fn pwritev(file: &File, a: &[u8], b: &[u8], position: u64) -> io::Result<usize> {
    if i64::try_from(position).is_err() {
        return Err(io::Error::other(
            "write position beyond the largest file offset",
        ));
    }
    let parts = [io::IoSlice::new(a), io::IoSlice::new(b)];
    Ok(rustix::io::pwritev(file, &parts, position)?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_written_back_to_back_at_the_position() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000000000000000000.log");
        let mut data = Data::create_file(path.clone()).unwrap();
        data.write_parts_at(b"abc", b"defgh", 0).unwrap();
        data.write_parts_at(b"XY", b"", 8).unwrap();
        data.write_parts_at(b"", b"z", 10).unwrap();
        // A later write at an earlier position overwrites in place.
        data.write_parts_at(b"D", b"E", 3).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"abcDEfghXYz");
    }

    #[test]
    fn memory_data_takes_both_parts_and_drops_what_lay_beyond() {
        let mut data = Data::Memory(Vec::new());
        data.write_parts_at(b"head", b"rest", 0).unwrap();
        data.write_parts_at(b"H", b"R", 4).unwrap();
        let Data::Memory(bytes) = &data else {
            panic!("memory data changed kind")
        };
        assert_eq!(bytes, b"headHR");
        assert!(data.write_parts_at(b"x", b"", 99).is_err());
    }
}
