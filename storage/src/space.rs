//! How big the filesystem holding a directory is and how much of it is free
//! to use (`statvfs(2)`, through rustix's safe wrapper): what DescribeLogDirs
//! reports as a log directory's total and usable bytes.

use std::path::Path;

/// Sizes of the filesystem a directory is on, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskSpace {
    /// The filesystem's size (blocks × fragment size).
    pub total_bytes: u64,
    /// What an unprivileged process may still write (blocks available to
    /// non-root × fragment size), as Java's `FileStore.getUsableSpace`.
    pub usable_bytes: u64,
}

/// The sizes of the filesystem `dir` is on.
pub fn disk_space(dir: &Path) -> std::io::Result<DiskSpace> {
    let st = rustix::fs::statvfs(dir)?;
    let frsize = st.f_frsize;
    Ok(DiskSpace {
        total_bytes: st.f_blocks.saturating_mul(frsize),
        usable_bytes: st.f_bavail.saturating_mul(frsize),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_directory_has_a_size_and_free_space_within_it() {
        let dir = std::env::temp_dir();
        let space = disk_space(&dir).unwrap();
        assert!(space.total_bytes > 0);
        assert!(space.usable_bytes <= space.total_bytes);
    }

    #[test]
    fn a_missing_directory_is_an_error() {
        assert!(disk_space(Path::new("/nonexistent/sluice/space")).is_err());
    }
}
