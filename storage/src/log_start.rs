//! The persisted log start offset: file `log-start-offset` in the partition directory.
//!
//! On disk: the offset in ASCII decimal followed by `\n` (e.g. `1234\n`). It is only
//! written when the log start offset is raised explicitly (DeleteRecords) or lowered by
//! a truncation; otherwise the log starts at its first segment. Replaced atomically:
//! write `log-start-offset.tmp`, fsync it, rename over the old file, fsync the
//! directory. A leftover `.tmp` from a crash is ignored and removed at open.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

use crate::StorageError;

pub(crate) const FILE_NAME: &str = "log-start-offset";
const TMP_FILE_NAME: &str = "log-start-offset.tmp";

/// The persisted offset, if the file exists. Also removes a stale temp file.
pub(crate) fn read(dir: &Path) -> Result<Option<i64>, StorageError> {
    match fs::remove_file(dir.join(TMP_FILE_NAME)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e.into()),
        _ => {}
    }
    let text = match fs::read_to_string(dir.join(FILE_NAME)) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.kind() == io::ErrorKind::InvalidData => {
            return Err(StorageError::Corrupt(format!("{FILE_NAME} is not text")))
        }
        Err(e) => return Err(e.into()),
    };
    text.trim_end_matches('\n')
        .parse::<i64>()
        .ok()
        .filter(|offset| *offset >= 0)
        .map(Some)
        .ok_or_else(|| StorageError::Corrupt(format!("{FILE_NAME} holds {text:?}, not an offset")))
}

/// Durably replaces the persisted offset.
pub(crate) fn write(dir: &Path, offset: i64) -> Result<(), StorageError> {
    let tmp = dir.join(TMP_FILE_NAME);
    let mut file = File::create(&tmp)?;
    file.write_all(format!("{offset}\n").as_bytes())?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, dir.join(FILE_NAME))?;
    sync_dir(dir)?;
    Ok(())
}

/// fsyncs a directory so that file creations, renames and removals in it are durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bad_contents() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()).unwrap(), None);
        write(dir.path(), 1234).unwrap();
        assert_eq!(
            fs::read_to_string(dir.path().join(FILE_NAME)).unwrap(),
            "1234\n"
        );
        assert_eq!(read(dir.path()).unwrap(), Some(1234));
        fs::write(dir.path().join(TMP_FILE_NAME), "garbage").unwrap();
        assert_eq!(read(dir.path()).unwrap(), Some(1234));
        assert!(!dir.path().join(TMP_FILE_NAME).exists());
        for bad in ["", "-5\n", "12x\n", "\u{0}"] {
            fs::write(dir.path().join(FILE_NAME), bad).unwrap();
            assert!(
                matches!(read(dir.path()), Err(StorageError::Corrupt(_))),
                "{bad:?}"
            );
        }
    }
}
