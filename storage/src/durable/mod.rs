//! The one place where Sluice makes bytes durable.
//!
//! Every `fsync`, `fdatasync`, directory fsync and `syncfs` of the broker
//! (the partition logs here, and the broker's own files in `src/`) goes
//! through the functions of this module; `clippy.toml` forbids calling
//! `File::sync_all`, `File::sync_data` or `rustix::fs::syncfs` anywhere else.
//! [`replace_file`] is the one helper for a small file replaced atomically
//! (write a temporary file, fsync it, rename it over `<name>`, fsync the
//! directory).
//!
//! Each function performs the real call. Only when a [`PowerLossSim`] is
//! registered somewhere in the process (an atomic flag, one relaxed load per
//! call) does it also tell the simulation what became durable; see
//! [`power_loss`].

pub mod power_loss;

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

pub use power_loss::PowerLossSim;

/// `fdatasync(2)`: the file's data (and the metadata needed to read it,
/// such as its size) is durable when this returns `Ok`.
pub fn sync_data(file: &File) -> io::Result<()> {
    if power_loss::active() {
        return power_loss::sync_file(file, real_sync_data);
    }
    real_sync_data(file)
}

/// `fsync(2)`: the file's data and metadata are durable.
pub fn sync_all(file: &File) -> io::Result<()> {
    if power_loss::active() {
        return power_loss::sync_file(file, real_sync_all);
    }
    real_sync_all(file)
}

/// fsyncs the directory `dir`, so that the creations, renames and removals
/// of its entries are durable (not the contents of the files they name).
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    let handle = File::open(dir)?;
    if power_loss::active() {
        return power_loss::sync_dir(dir, &handle, real_sync_all);
    }
    real_sync_all(&handle)
}

/// `syncfs(2)` on the filesystem holding `file`: everything written to it
/// so far, file data and directory entries alike, is durable. (Errors are
/// reported only since Linux 5.8; see `syncfs.rs`.)
pub fn sync_filesystem(file: &File) -> io::Result<()> {
    if power_loss::active() {
        return power_loss::sync_filesystem(file, real_syncfs);
    }
    real_syncfs(file)
}

/// Durably replaces `path` with `contents`: writes a temporary file beside
/// it (`.<name>.<random>.tmp`, created with `File::create`'s mode), fsyncs
/// it, renames it over `path` and fsyncs the directory, in that order. A
/// crash leaves the old contents or the new ones, never a mix (a leftover
/// temporary file is garbage for the reader to ignore; on an error before
/// the rename it is removed). Every error is returned; the caller decides
/// what it means.
///
/// The temporary file and the rename are `tempfile`'s
/// (`NamedTempFile::persist`); the fsyncs stay here, so that the power-loss
/// simulation sees them. (The partition checkpoints do not use this: their
/// temporary files have fixed names that recovery looks for, see
/// `checkpoint.rs`.)
pub fn replace_file(path: &Path, contents: &[u8]) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;

    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other(format!("{} names no file", path.display())))?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(name);
    prefix.push(".");
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        // The mode File::create uses (the umask applies), not tempfile's 0600:
        // the file replaced is an ordinary data file.
        .permissions(std::fs::Permissions::from_mode(0o666))
        .tempfile_in(dir)?;
    tmp.write_all(contents)?;
    sync_all(tmp.as_file())?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(dir)
}

/// Creates `dir` (and missing parents) and makes its entry durable in its
/// parent. A directory that already exists is left as it is.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    if dir.try_exists()? {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    match dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => sync_dir(parent),
        _ => Ok(()),
    }
}

#[allow(clippy::disallowed_methods)]
fn real_sync_data(file: &File) -> io::Result<()> {
    file.sync_data()
}

#[allow(clippy::disallowed_methods)]
fn real_sync_all(file: &File) -> io::Result<()> {
    file.sync_all()
}

#[allow(clippy::disallowed_methods)]
fn real_syncfs(file: &File) -> io::Result<()> {
    Ok(rustix::fs::syncfs(file)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_file_writes_the_new_contents_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state");
        replace_file(&path, b"one\n").unwrap();
        replace_file(&path, b"two\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two\n");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["state"]);
    }

    #[test]
    fn replace_file_gives_the_mode_file_create_gives() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let created = dir.path().join("created");
        File::create(&created).unwrap();
        let replaced = dir.path().join("replaced");
        replace_file(&replaced, b"x").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode();
        assert_eq!(mode(&replaced), mode(&created));
    }

    #[test]
    fn replace_file_returns_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing-dir").join("state");
        assert!(replace_file(&path, b"x").is_err());
    }
}
