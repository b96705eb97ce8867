//! Partition directories the broker is making, and ones it does not know.
//!
//! Creating a topic (or adding partitions) is all or nothing; see
//! [`super::Partitions::create`] for the order of the steps. What
//! makes a crash at any point recoverable is the *intent*,
//! `<data-dir>/__sluice_metadata/creating`: one line `<topic> <from> <to>`
//! naming the partition directories `<topic>-<from>` .. `<topic>-<to - 1>`
//! about to be made (or, for a deletion, removed), written and fsynced before
//! the first of them changes and removed once the metadata log records the
//! change and the files are done. At start (and before the next topic change,
//! should a rollback have failed) a leftover intent is settled: each
//! directory it names that no topic in the metadata owns is the broker's own
//! (half-made, or of a topic deleted) and is removed.
//!
//! Any other partition directory no topic owns (a topic whose metadata line
//! was lost, data copied in by hand) is never deleted: it is renamed to
//! `<dir>.orphaned` (or `<dir>.<n>.orphaned` when that name is taken) with a
//! warning naming it, at start and when a creation finds it in its way. What
//! to do with it is the operator's decision.

use std::fs;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

use sluice_storage::durable;

use super::dirs::{parse_partition_dir, partition_dir};
use crate::metadata::{validate_topic_name, METADATA_DIR};

/// Whether partition `index` of topic `name` belongs to a topic the broker knows.
pub type Owned<'a> = &'a dyn Fn(&str, i32) -> bool;

const INTENT: &str = "creating";
/// The suffix of a directory set aside.
pub const ORPHANED_SUFFIX: &str = ".orphaned";

/// A recorded creation intent; dropped without [`Intent::finish`] it stays
/// on disk for the rollback at the next start.
pub struct Intent {
    data_dir: PathBuf,
    topic: String,
    range: Range<i32>,
}

impl Intent {
    /// Records durably that `topic`'s partitions `range` are about to be made.
    pub fn begin(data_dir: &Path, topic: &str, range: Range<i32>) -> io::Result<Intent> {
        let meta = data_dir.join(METADATA_DIR);
        let line = format!("{topic} {} {}\n", range.start, range.end);
        durable::replace_file(&meta.join(INTENT), line.as_bytes())?;
        Ok(Intent {
            data_dir: data_dir.to_path_buf(),
            topic: topic.to_string(),
            range,
        })
    }

    /// The creation was committed: forgets the intent. Its removal need not
    /// be durable: an intent that comes back names only owned directories.
    pub fn finish(self) {
        if let Err(e) = fs::remove_file(self.data_dir.join(METADATA_DIR).join(INTENT)) {
            tracing::warn!(error = %e, "cannot remove the creation intent; the next creation or start does");
        }
    }

    /// The creation failed: removes what it made, then the intent. When that
    /// fails the intent stays, and the next creation or start tries again.
    pub fn roll_back(self, owned: Owned<'_>) {
        if let Err(e) = roll_back(&self.data_dir, &self.topic, self.range.clone(), owned) {
            tracing::error!(topic = %self.topic, error = %e,
                "cannot remove the partitions of a failed creation; the next creation or start retries");
        }
    }
}

fn roll_back(data_dir: &Path, topic: &str, range: Range<i32>, owned: Owned<'_>) -> io::Result<()> {
    let mut removed = 0usize;
    for index in range {
        if owned(topic, index) {
            continue;
        }
        let dir = partition_dir(data_dir, topic, index);
        match fs::remove_dir_all(&dir) {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    if removed > 0 {
        fsync_dir(data_dir)?;
        tracing::info!(
            topic,
            partitions = removed,
            "removed the partition directories of a topic change that did not complete"
        );
    }
    let meta = data_dir.join(METADATA_DIR);
    fs::remove_file(meta.join(INTENT))?;
    fsync_dir(&meta)
}

/// Rolls back the intent a crash (or a failed rollback) left, if any.
pub fn roll_back_leftover(data_dir: &Path, owned: Owned<'_>) -> io::Result<()> {
    let path = data_dir.join(METADATA_DIR).join(INTENT);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let parsed = text.strip_suffix('\n').and_then(|line| {
        let mut parts = line.split(' ');
        let topic = parts.next()?;
        let from: i32 = parts.next()?.parse().ok()?;
        let to: i32 = parts.next()?.parse().ok()?;
        // A change never spans more partitions than one request may make.
        let span = i64::from(to) - i64::from(from);
        (parts.next().is_none()
            && validate_topic_name(topic).is_ok()
            && (0..=crate::MAX_PARTITIONS_PER_REQUEST).contains(&span))
        .then(|| (topic.to_string(), from..to))
    });
    match parsed {
        Some((topic, range)) => roll_back(data_dir, &topic, range, owned),
        None => {
            // Torn while being written: no directory was made yet.
            fs::remove_file(&path)?;
            fsync_dir(&data_dir.join(METADATA_DIR))
        }
    }
}

/// Sets aside each directory of `topic`'s partitions `range` that exists:
/// the caller checked that no topic owns them.
pub fn set_aside_in_the_way(data_dir: &Path, topic: &str, range: Range<i32>) -> io::Result<()> {
    let mut moved = false;
    for index in range {
        let dir = partition_dir(data_dir, topic, index);
        if dir.symlink_metadata().is_ok() {
            set_aside(&dir)?;
            moved = true;
        }
    }
    if moved {
        fsync_dir(data_dir)?;
    }
    Ok(())
}

/// At start: sets aside every partition directory no topic owns.
pub fn set_aside_unknown(data_dir: &Path, owned: Owned<'_>) -> io::Result<()> {
    let mut moved = false;
    for entry in fs::read_dir(data_dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some((topic, index)) = name.to_str().and_then(parse_partition_dir) else {
            continue;
        };
        if !entry.file_type()?.is_dir() || owned(topic, index) {
            continue;
        }
        set_aside(&entry.path())?;
        moved = true;
    }
    if moved {
        fsync_dir(data_dir)?;
    }
    Ok(())
}

/// Renames `dir` to a free `<dir>.orphaned` / `<dir>.<n>.orphaned`.
fn set_aside(dir: &Path) -> io::Result<PathBuf> {
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a partition directory"))?;
    let parent = dir.parent().unwrap_or(Path::new("."));
    for n in 1..=1000u32 {
        let target = if n == 1 {
            parent.join(format!("{name}{ORPHANED_SUFFIX}"))
        } else {
            parent.join(format!("{name}.{n}{ORPHANED_SUFFIX}"))
        };
        if target.symlink_metadata().is_ok() {
            continue;
        }
        fs::rename(dir, &target)?;
        tracing::warn!(dir = %dir.display(), moved_to = %target.display(),
            "a partition directory no topic owns was set aside, not deleted; remove it or restore its topic");
        return Ok(target);
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("{} has 1000 orphaned copies already", dir.display()),
    ))
}

/// fsyncs a directory so that entries created, renamed or removed in it last.
fn fsync_dir(dir: &Path) -> io::Result<()> {
    durable::sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftovers_of_an_intent_are_removed_and_unknown_dirs_set_aside() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path();
        fs::create_dir(data.join(METADATA_DIR)).unwrap();
        let intent = Intent::begin(data, "t", 0..3).unwrap();
        drop(intent); // a crash: the intent stays
        for i in 0..2 {
            fs::create_dir(partition_dir(data, "t", i)).unwrap();
        }
        fs::create_dir(partition_dir(data, "other", 0)).unwrap();
        fs::create_dir(partition_dir(data, "kept", 0)).unwrap();
        let owned = |t: &str, i: i32| t == "kept" && i == 0;
        roll_back_leftover(data, &owned).unwrap();
        assert!(!partition_dir(data, "t", 0).exists());
        assert!(!partition_dir(data, "t", 1).exists());
        assert!(!data.join(METADATA_DIR).join(INTENT).exists());
        set_aside_unknown(data, &owned).unwrap();
        assert!(data.join("other-0.orphaned").is_dir());
        assert!(partition_dir(data, "kept", 0).is_dir());
        fs::create_dir(partition_dir(data, "other", 0)).unwrap();
        set_aside_in_the_way(data, "other", 0..1).unwrap();
        assert!(data.join("other-0.2.orphaned").is_dir());
    }

    #[test]
    fn a_torn_intent_is_dropped() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path();
        fs::create_dir(data.join(METADATA_DIR)).unwrap();
        fs::write(data.join(METADATA_DIR).join(INTENT), "t 0").unwrap();
        fs::create_dir(partition_dir(data, "t", 0)).unwrap();
        roll_back_leftover(data, &|_, _| false).unwrap();
        assert!(!data.join(METADATA_DIR).join(INTENT).exists());
        assert!(
            partition_dir(data, "t", 0).exists(),
            "never removed without an intent"
        );
    }

    #[test]
    fn an_intent_spanning_more_than_one_request_can_is_dropped_unread() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path();
        fs::create_dir(data.join(METADATA_DIR)).unwrap();
        fs::write(data.join(METADATA_DIR).join(INTENT), "t 0 2147483647\n").unwrap();
        fs::create_dir(partition_dir(data, "t", 0)).unwrap();
        roll_back_leftover(data, &|_, _| false).unwrap();
        assert!(!data.join(METADATA_DIR).join(INTENT).exists());
        assert!(partition_dir(data, "t", 0).exists(), "nothing rolled back");
    }
}
