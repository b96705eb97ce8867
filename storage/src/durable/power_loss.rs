//! A power-loss simulator for tests, under a directory root.
//!
//! Killing a process keeps the page cache, so a test that kills the broker
//! cannot tell an fsync that was skipped. A [`PowerLossSim`] registered for
//! a directory keeps apart what was made durable under it and what was only
//! written: every sync of this module records what it made durable, and
//! [`PowerLossSim::durable_image`] writes out only that, as a disk would
//! hold it after the power went:
//!
//! - a file sync (`fsync`/`fdatasync`) records the file's bytes at the time
//!   of the call (everything written before it), keyed by inode;
//! - a directory sync records the directory's listing (name → inode);
//! - a `syncfs` records every listing and every file under the root (the
//!   real call syncs the whole filesystem; the simulation only credits the
//!   root it was called under, which is stricter, never laxer);
//! - the root directory itself is durable, and so is everything under it
//!   when the simulation starts.
//!
//! The image holds the root's durable listing, recursively: each directory
//! with its last synced listing (empty if never synced), each file with its
//! last synced bytes (empty if never synced). So a file created or renamed
//! in a directory that was not synced afterwards is not there (or is there
//! under its old name), and bytes appended after the last sync are gone —
//! unless torn tails are asked for, where each file that grew since its last
//! sync keeps a random prefix of what was appended (a disk that wrote some
//! pages back on its own).
//!
//! The power goes at the `n`-th sync after [`PowerLossSim::fail_at_sync`],
//! or when [`PowerLossSim::lose_power`] is called. From then on every sync
//! under the root fails with an I/O error without recording anything, and
//! so does a sync that was under way: nothing the dying process does later
//! can count as durable, and everything it acknowledged after a successful
//! sync is in the image.
//!
//! Several simulations (one per test, each on its own root) may run in one
//! process. Syncs of files outside every registered root are not recorded.
//! Production code pays one relaxed atomic load per sync for this.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::OsString;
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::UNIX_EPOCH;

/// Whether any simulation is registered (the fast path of every sync).
static ACTIVE: AtomicBool = AtomicBool::new(false);

static SIMS: Mutex<Vec<Sim>> = Mutex::new(Vec::new());

pub(super) fn active() -> bool {
    ACTIVE.load(Ordering::Relaxed)
}

fn sims() -> MutexGuard<'static, Vec<Sim>> {
    SIMS.lock().unwrap_or_else(|e| e.into_inner())
}

/// An inode, told apart from a later one with the same number by its birth
/// time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    dev: u64,
    ino: u64,
    born: u128,
}

impl Key {
    fn of(meta: &fs::Metadata) -> Key {
        let born = meta
            .created()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        Key {
            dev: meta.dev(),
            ino: meta.ino(),
            born,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Dir,
}

type Listing = BTreeMap<OsString, (Key, Kind)>;

/// What a sync saw, to be recorded once the real call succeeded.
#[derive(Default)]
struct Capture {
    files: Vec<(Key, Vec<u8>)>,
    dirs: Vec<(Key, Listing)>,
}

struct Sim {
    root: PathBuf,
    root_key: Key,
    /// Durable state: (sequence of the capture, contents).
    files: HashMap<Key, (u64, Vec<u8>)>,
    dirs: HashMap<Key, (u64, Listing)>,
    /// Captures taken so far (orders concurrent syncs of one file).
    seq: u64,
    syncs: u64,
    fail_at: Option<u64>,
    off: bool,
    /// Files whose next sync fails with an I/O error (power stays on).
    fail_once: Vec<PathBuf>,
    /// Whether `syncfs` is used under the root (see `PowerLossSim::without_syncfs`).
    syncfs: bool,
    /// File contents when the power went, for torn tails.
    at_power_off: HashMap<Key, Vec<u8>>,
}

impl Sim {
    fn power_off(&mut self) {
        if self.off {
            return;
        }
        self.off = true;
        let mut at_power_off = Capture::default();
        // Best effort: a file removed meanwhile simply has no torn tail.
        let _ = capture_tree(&self.root, &mut at_power_off);
        self.at_power_off = at_power_off.files.into_iter().collect();
    }

    /// Counts a sync of `path`; fails it if the power is (or now goes)
    /// off, or if a failure of it was asked for.
    fn begin(&mut self, path: &Path) -> io::Result<u64> {
        self.syncs += 1;
        if self.fail_at == Some(self.syncs) {
            self.power_off();
        }
        if self.off {
            return Err(powered_off());
        }
        if let Some(i) = self.fail_once.iter().position(|p| p == path) {
            self.fail_once.swap_remove(i);
            return Err(io::Error::other("injected fsync failure"));
        }
        self.seq += 1;
        Ok(self.seq)
    }

    fn commit(&mut self, seq: u64, capture: Capture) -> io::Result<()> {
        if self.off {
            return Err(powered_off());
        }
        for (key, bytes) in capture.files {
            match self.files.get(&key) {
                Some((newer, _)) if *newer > seq => {}
                _ => {
                    self.files.insert(key, (seq, bytes));
                }
            }
        }
        for (key, listing) in capture.dirs {
            match self.dirs.get(&key) {
                Some((newer, _)) if *newer > seq => {}
                _ => {
                    self.dirs.insert(key, (seq, listing));
                }
            }
        }
        Ok(())
    }
}

fn powered_off() -> io::Error {
    io::Error::other("simulated power loss: the disk is gone")
}

/// The simulation under `path`'s innermost registered root.
fn owner<'a>(sims: &'a mut [Sim], path: &Path) -> Option<&'a mut Sim> {
    sims.iter_mut()
        .filter(|s| path.starts_with(&s.root))
        .max_by_key(|s| s.root.as_os_str().len())
}

fn by_root<'a>(sims: &'a mut [Sim], root: &Path) -> Option<&'a mut Sim> {
    sims.iter_mut().find(|s| s.root == root)
}

fn fd_path(file: &File) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()))
}

/// Captures under the registry lock, runs the real sync without it, then
/// records the capture if the power is still on.
fn synced(
    path: &Path,
    capture: impl FnOnce(&Path) -> io::Result<Capture>,
    real: impl FnOnce() -> io::Result<()>,
) -> io::Result<()> {
    let (root, seq, captured) = {
        let mut sims = sims();
        let Some(sim) = owner(&mut sims, path) else {
            drop(sims);
            return real();
        };
        let seq = sim.begin(path)?;
        let root = sim.root.clone();
        let captured = capture(&root)?;
        (root, seq, captured)
    };
    real()?;
    let mut sims = sims();
    match by_root(&mut sims, &root) {
        Some(sim) => sim.commit(seq, captured),
        None => Ok(()),
    }
}

pub(super) fn sync_file(file: &File, real: fn(&File) -> io::Result<()>) -> io::Result<()> {
    let proc_path = fd_path(file);
    let Ok(path) = fs::read_link(&proc_path) else {
        return real(file);
    };
    synced(
        &path,
        |_| {
            let key = Key::of(&file.metadata()?);
            // Through /proc: the handle may be open for writing only.
            let bytes = fs::read(&proc_path)?;
            Ok(Capture {
                files: vec![(key, bytes)],
                dirs: Vec::new(),
            })
        },
        || real(file),
    )
}

pub(super) fn sync_dir(
    dir: &Path,
    handle: &File,
    real: fn(&File) -> io::Result<()>,
) -> io::Result<()> {
    let Ok(path) = fs::read_link(fd_path(handle)) else {
        return real(handle);
    };
    synced(
        &path,
        |_| {
            let key = Key::of(&handle.metadata()?);
            Ok(Capture {
                files: Vec::new(),
                dirs: vec![(key, listing(dir)?)],
            })
        },
        || real(handle),
    )
}

pub(super) fn sync_filesystem(file: &File, real: fn(&File) -> io::Result<()>) -> io::Result<()> {
    let Ok(path) = fs::read_link(fd_path(file)) else {
        return real(file);
    };
    synced(
        &path,
        |root| {
            let mut capture = Capture::default();
            capture_tree(root, &mut capture)?;
            Ok(capture)
        },
        || real(file),
    )
}

/// Whether a simulation told the storage crate not to use `syncfs` for
/// `path` (false, after one atomic load, when no simulation runs).
pub(crate) fn syncfs_disabled(path: &Path) -> bool {
    if !active() {
        return false;
    }
    let path = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    owner(&mut sims(), &path).is_some_and(|s| !s.syncfs)
}

/// [`syncfs_disabled`] for the file `file` is open on.
pub(crate) fn syncfs_disabled_for_file(file: &File) -> bool {
    if !active() {
        return false;
    }
    fs::read_link(fd_path(file)).is_ok_and(|path| syncfs_disabled(&path))
}

fn listing(dir: &Path) -> io::Result<Listing> {
    let mut out = Listing::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let meta = match fs::symlink_metadata(entry.path()) {
            Ok(meta) => meta,
            // Removed since read_dir saw it.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let kind = if meta.is_dir() {
            Kind::Dir
        } else if meta.is_file() {
            Kind::File
        } else {
            continue;
        };
        out.insert(entry.file_name(), (Key::of(&meta), kind));
    }
    Ok(out)
}

/// Every listing and file under `root` (inclusive), as they are now.
fn capture_tree(root: &Path, capture: &mut Capture) -> io::Result<()> {
    let mut todo = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        let key = Key::of(&fs::metadata(&dir)?);
        let entries = listing(&dir)?;
        for (name, (key, kind)) in &entries {
            let path = dir.join(name);
            match kind {
                Kind::Dir => todo.push(path),
                Kind::File => match fs::read(&path) {
                    Ok(bytes) => capture.files.push((*key, bytes)),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                },
            }
        }
        capture.dirs.push((key, entries));
    }
    Ok(())
}

/// A power-loss simulation under one directory root (see the module notes).
/// Dropping it ends the simulation.
#[derive(Debug)]
pub struct PowerLossSim {
    root: PathBuf,
}

impl PowerLossSim {
    /// Starts simulating under `root` (an existing directory, which must not
    /// be under another simulation's root or hold one). Everything already
    /// there counts as durable.
    pub fn start(root: &Path) -> io::Result<PowerLossSim> {
        let root = fs::canonicalize(root)?;
        let mut capture = Capture::default();
        capture_tree(&root, &mut capture)?;
        let root_key = Key::of(&fs::metadata(&root)?);
        let mut sims = sims();
        if sims
            .iter()
            .any(|s| s.root.starts_with(&root) || root.starts_with(&s.root))
        {
            return Err(io::Error::other(format!(
                "{} overlaps a running power-loss simulation",
                root.display()
            )));
        }
        sims.push(Sim {
            root: root.clone(),
            root_key,
            files: capture
                .files
                .into_iter()
                .map(|(k, b)| (k, (0, b)))
                .collect(),
            dirs: capture.dirs.into_iter().map(|(k, l)| (k, (0, l))).collect(),
            seq: 0,
            syncs: 0,
            fail_at: None,
            off: false,
            fail_once: Vec::new(),
            syncfs: true,
            at_power_off: HashMap::new(),
        });
        ACTIVE.store(true, Ordering::Relaxed);
        Ok(PowerLossSim { root })
    }

    /// The (canonical) root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn with<T>(&self, f: impl FnOnce(&mut Sim) -> T) -> T {
        let mut sims = sims();
        // The registry entry lives as long as `self`.
        let sim = by_root(&mut sims, &self.root);
        match sim {
            Some(sim) => f(sim),
            None => unreachable!("a PowerLossSim is registered until dropped"),
        }
    }

    /// Syncs under the root seen so far (failed ones included).
    pub fn syncs(&self) -> u64 {
        self.with(|s| s.syncs)
    }

    /// The power goes at the `n`-th sync from now (`n` ≥ 1): that sync
    /// fails, and so does every later one.
    pub fn fail_at_sync(&self, n: u64) {
        self.with(|s| s.fail_at = Some(s.syncs + n.max(1)));
    }

    /// The next sync of the file or directory `path` under the root fails
    /// with an I/O error and records nothing; the power stays on.
    pub fn fail_next_sync_of(&self, path: &Path) -> io::Result<()> {
        let path = fs::canonicalize(path)?;
        self.with(|s| s.fail_once.push(path));
        Ok(())
    }

    /// From now on the storage crate under the root behaves as on a kernel
    /// whose `syncfs` hides writeback errors (before Linux 5.8): one fsync
    /// per file and directory instead of one `syncfs`, so that those fsyncs
    /// are tested too.
    pub fn without_syncfs(&self) {
        self.with(|s| s.syncfs = false);
    }

    /// The power goes now (if it has not yet).
    pub fn lose_power(&self) {
        self.with(Sim::power_off)
    }

    /// Whether the power has gone.
    pub fn powered_off(&self) -> bool {
        self.with(|s| s.off)
    }

    /// Writes what the disk holds after the power went into `dest`, an
    /// existing empty directory; loses the power first if it has not gone.
    /// With `torn_seed`, each file that grew since its last sync keeps a
    /// prefix of its unsynced tail, of a length drawn from the seed.
    pub fn durable_image(&self, dest: &Path, torn_seed: Option<u64>) -> io::Result<()> {
        let mut sims = sims();
        let sim = by_root(&mut sims, &self.root)
            .ok_or_else(|| io::Error::other("power-loss simulation is gone"))?;
        sim.power_off();
        let mut rng = torn_seed.map(|s| s | 1);
        let mut visited = HashSet::new();
        let mut todo = vec![(sim.root_key, dest.to_path_buf())];
        while let Some((key, path)) = todo.pop() {
            if !visited.insert(key) {
                continue;
            }
            let Some((_, listing)) = sim.dirs.get(&key) else {
                continue;
            };
            for (name, (key, kind)) in listing {
                let target = path.join(name);
                match kind {
                    Kind::Dir => {
                        fs::create_dir(&target)?;
                        todo.push((*key, target));
                    }
                    Kind::File => {
                        let durable = sim.files.get(key).map_or(&[][..], |(_, b)| b.as_slice());
                        let mut bytes = durable.to_vec();
                        if let (Some(state), Some(now)) = (rng.as_mut(), sim.at_power_off.get(key))
                        {
                            if now.len() > durable.len() && now.starts_with(durable) {
                                let extra = (now.len() - durable.len()) as u64;
                                let keep = usize::try_from(next(state) % (extra + 1)).unwrap_or(0);
                                bytes.extend_from_slice(
                                    now.get(durable.len()..durable.len() + keep)
                                        .unwrap_or_default(),
                                );
                            }
                        }
                        fs::write(&target, &bytes)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// xorshift64: enough randomness for torn tails, reproducible from a seed.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

impl Drop for PowerLossSim {
    fn drop(&mut self) {
        let mut sims = sims();
        sims.retain(|s| s.root != self.root);
        if sims.is_empty() {
            ACTIVE.store(false, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::durable;

    fn image(sim: &PowerLossSim) -> tempfile::TempDir {
        let dest = tempfile::tempdir().unwrap();
        sim.durable_image(dest.path(), None).unwrap();
        dest
    }

    #[test]
    fn a_file_written_but_not_synced_disappears() {
        let root = tempfile::tempdir().unwrap();
        let sim = PowerLossSim::start(root.path()).unwrap();
        fs::write(root.path().join("never-synced"), b"data").unwrap();
        let img = image(&sim);
        assert!(!img.path().join("never-synced").exists());
    }

    #[test]
    fn a_synced_file_whose_directory_was_not_synced_disappears() {
        let root = tempfile::tempdir().unwrap();
        let sim = PowerLossSim::start(root.path()).unwrap();
        let mut f = File::create(root.path().join("f")).unwrap();
        f.write_all(b"synced").unwrap();
        durable::sync_data(&f).unwrap();
        assert!(!image(&sim).path().join("f").exists());
    }

    #[test]
    fn a_file_listed_in_a_synced_directory_but_never_synced_is_empty() {
        let root = tempfile::tempdir().unwrap();
        let sim = PowerLossSim::start(root.path()).unwrap();
        let mut f = File::create(root.path().join("f")).unwrap();
        durable::sync_dir(root.path()).unwrap();
        f.write_all(b"one").unwrap();
        assert_eq!(fs::read(image(&sim).path().join("f")).unwrap(), b"");
    }

    #[test]
    fn a_file_keeps_only_its_synced_bytes() {
        let root = tempfile::tempdir().unwrap();
        let sim = PowerLossSim::start(root.path()).unwrap();
        let mut f = File::create(root.path().join("f")).unwrap();
        durable::sync_dir(root.path()).unwrap();
        f.write_all(b"one").unwrap();
        durable::sync_all(&f).unwrap();
        f.write_all(b" two").unwrap();
        assert_eq!(fs::read(image(&sim).path().join("f")).unwrap(), b"one");
    }

    #[test]
    fn a_rename_without_a_directory_sync_is_undone() {
        let root = tempfile::tempdir().unwrap();
        fs::write(root.path().join("state"), b"old").unwrap();
        let sim = PowerLossSim::start(root.path()).unwrap();
        let tmp = root.path().join("state.tmp");
        let mut f = File::create(&tmp).unwrap();
        f.write_all(b"new").unwrap();
        durable::sync_all(&f).unwrap();
        fs::rename(&tmp, root.path().join("state")).unwrap();
        let img = image(&sim);
        assert_eq!(fs::read(img.path().join("state")).unwrap(), b"old");
        assert!(!img.path().join("state.tmp").exists());
    }

    #[test]
    fn replace_file_is_durable() {
        let root = tempfile::tempdir().unwrap();
        let sim = PowerLossSim::start(root.path()).unwrap();
        durable::replace_file(&root.path().join("state"), b"value\n").unwrap();
        let img = image(&sim);
        assert_eq!(fs::read(img.path().join("state")).unwrap(), b"value\n");
    }

    #[test]
    fn syncfs_makes_everything_under_the_root_durable() {
        let root = tempfile::tempdir().unwrap();
        let sim = PowerLossSim::start(root.path()).unwrap();
        let sub = root.path().join("a").join("b");
        fs::create_dir_all(&sub).unwrap();
        fs::write(sub.join("f"), b"deep").unwrap();
        fs::write(root.path().join("g"), b"top").unwrap();
        let f = File::open(root.path().join("g")).unwrap();
        durable::sync_filesystem(&f).unwrap();
        let img = image(&sim);
        assert_eq!(fs::read(img.path().join("a/b/f")).unwrap(), b"deep");
        assert_eq!(fs::read(img.path().join("g")).unwrap(), b"top");
    }

    #[test]
    fn a_new_directory_is_missing_until_its_parent_is_synced() {
        for sync_parent in [false, true] {
            let root = tempfile::tempdir().unwrap();
            let sim = PowerLossSim::start(root.path()).unwrap();
            let sub = root.path().join("sub");
            fs::create_dir(&sub).unwrap();
            durable::replace_file(&sub.join("f"), b"x").unwrap();
            if sync_parent {
                durable::sync_dir(root.path()).unwrap();
            }
            let img = image(&sim);
            if sync_parent {
                assert_eq!(fs::read(img.path().join("sub/f")).unwrap(), b"x");
            } else {
                assert!(!img.path().join("sub").exists());
            }
        }
    }

    #[test]
    fn syncs_fail_once_the_power_is_gone_and_record_nothing() {
        let root = tempfile::tempdir().unwrap();
        let sim = PowerLossSim::start(root.path()).unwrap();
        sim.fail_at_sync(2);
        durable::replace_file(&root.path().join("a"), b"1").unwrap_err();
        assert!(sim.powered_off());
        assert!(durable::sync_dir(root.path()).is_err());
        assert!(!image(&sim).path().join("a").exists());
        assert_eq!(sim.syncs(), 3);
    }

    #[test]
    fn torn_tails_keep_a_prefix_of_unsynced_appends() {
        let root = tempfile::tempdir().unwrap();
        let sim = PowerLossSim::start(root.path()).unwrap();
        let mut f = File::create(root.path().join("f")).unwrap();
        f.write_all(b"synced").unwrap();
        durable::sync_data(&f).unwrap();
        durable::sync_dir(root.path()).unwrap();
        f.write_all(b"0123456789").unwrap();
        sim.lose_power();
        f.write_all(b"after the power went").unwrap();
        let mut lengths = HashSet::new();
        for seed in 1..40 {
            let dest = tempfile::tempdir().unwrap();
            sim.durable_image(dest.path(), Some(seed)).unwrap();
            let bytes = fs::read(dest.path().join("f")).unwrap();
            assert!(b"synced0123456789".starts_with(&bytes), "{bytes:?}");
            assert!(bytes.starts_with(b"synced"));
            lengths.insert(bytes.len());
        }
        assert!(lengths.len() > 3, "{lengths:?}");
    }

    #[test]
    fn an_injected_sync_failure_fails_one_sync_of_that_file() {
        let root = tempfile::tempdir().unwrap();
        let sim = PowerLossSim::start(root.path()).unwrap();
        let path = root.path().join("f");
        let f = File::create(&path).unwrap();
        sim.fail_next_sync_of(&path).unwrap();
        durable::sync_dir(root.path()).unwrap();
        assert!(durable::sync_data(&f).is_err());
        durable::sync_data(&f).unwrap();
        assert!(!sim.powered_off());
    }

    #[test]
    fn flushed_appends_to_new_logs_survive_power_loss_with_and_without_syncfs() {
        use crate::log::{make_new_logs_durable, Log, LogConfig};
        let append = |log: &mut Log, flush: bool| {
            crate::batch::test_batch::append_one(log);
            if flush {
                log.flush().unwrap();
            }
        };
        let config = LogConfig {
            segment_bytes: 200,
            ..LogConfig::default()
        };
        for syncfs in [true, false] {
            let root = tempfile::tempdir().unwrap();
            let sim = PowerLossSim::start(root.path()).unwrap();
            if !syncfs {
                sim.without_syncfs();
            }
            let mut staged = Vec::new();
            let mut created = Vec::new();
            for i in 0..2 {
                let dir = root.path().join(format!("staged-{i}"));
                let (log, new) = Log::open_staged(&dir, config.clone()).unwrap();
                staged.push(log);
                created.push(new.unwrap());
            }
            make_new_logs_durable(&created).unwrap();
            let mut single = Log::open(&root.path().join("single"), config.clone()).unwrap();
            for log in staged.iter_mut().chain([&mut single]) {
                for _ in 0..10 {
                    append(log, true); // rolls every few batches
                }
                append(log, false); // never flushed
            }
            let img = image(&sim);
            for name in ["staged-0", "staged-1", "single"] {
                let log = Log::open(&img.path().join(name), config.clone()).unwrap();
                assert_eq!(log.log_end_offset(), 10, "{name}, syncfs {syncfs}");
            }
        }
    }

    #[test]
    fn files_outside_every_root_are_not_recorded() {
        let root = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        let sim = PowerLossSim::start(root.path()).unwrap();
        durable::replace_file(&other.path().join("x"), b"x").unwrap();
        assert_eq!(sim.syncs(), 0);
        assert!(PowerLossSim::start(root.path()).is_err());
    }
}
