//! A process-wide, bounded cache of read-only handles to segment `.log` files.
//!
//! File descriptors are the scarce resource of a broker with thousands of partitions,
//! so a segment holds a descriptor of its own only while it is a log's active segment
//! (its write handle, also used for its reads). Reads of every other segment borrow a
//! handle from here: at most [`max_open_read_handles`] are kept open, shared by all
//! logs of the process, and the least recently used one is closed to make room.
//!
//! Handles are keyed by a per-segment id (never reused), not by path, because a path
//! can name a new file after a truncation or deletion. A segment forgets its entry when
//! it is dropped or becomes active. A borrowed handle is an `Arc<File>`: the lock is
//! held only to look it up, never during I/O, so an evicted handle stays valid for the
//! reads still using it and closes when the last one finishes. The bound is therefore
//! the capacity plus the reads in flight.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

/// Capacity of the cache unless changed by [`set_max_open_read_handles`].
pub const DEFAULT_MAX_OPEN_READ_HANDLES: usize = 256;

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// A fresh id for a segment's cache entry.
pub(crate) fn new_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// Sets how many read handles the process keeps open (at least 1). Shrinking closes
/// the least recently used ones right away.
pub fn set_max_open_read_handles(capacity: usize) {
    let evicted = {
        let mut cache = lock();
        cache.capacity = capacity.max(1);
        cache.evict_excess()
    };
    drop(evicted);
}

/// How many read handles the process may keep open.
pub fn max_open_read_handles() -> usize {
    lock().capacity
}

/// A read handle for segment `id`, opened by `open` if not cached.
pub(crate) fn get(id: u64, open: impl FnOnce() -> io::Result<File>) -> io::Result<Arc<File>> {
    if let Some(file) = lock().touch(id) {
        return Ok(file);
    }
    // Opened without the lock held: other logs' reads need not wait for this one.
    let file = Arc::new(open()?);
    let (file, evicted) = lock().insert(id, file);
    drop(evicted);
    Ok(file)
}

/// Closes segment `id`'s cached handle, if any.
pub(crate) fn forget(id: u64) {
    let removed = lock().handles.remove(&id);
    drop(removed);
}

struct Cache {
    capacity: usize,
    /// Advances on every use; the entry with the smallest `last_used` goes first.
    clock: u64,
    handles: HashMap<u64, Cached>,
}

struct Cached {
    file: Arc<File>,
    last_used: u64,
}

impl Cache {
    fn touch(&mut self, id: u64) -> Option<Arc<File>> {
        self.clock += 1;
        let clock = self.clock;
        self.handles.get_mut(&id).map(|cached| {
            cached.last_used = clock;
            Arc::clone(&cached.file)
        })
    }

    /// Caches `file` unless a concurrent reader cached one first (then that one wins).
    /// Returns the handle to use and the evicted ones, to be closed outside the lock.
    fn insert(&mut self, id: u64, file: Arc<File>) -> (Arc<File>, Vec<Arc<File>>) {
        if let Some(existing) = self.touch(id) {
            return (existing, Vec::new());
        }
        self.handles.insert(
            id,
            Cached {
                file: Arc::clone(&file),
                last_used: self.clock,
            },
        );
        (file, self.evict_excess())
    }

    fn evict_excess(&mut self) -> Vec<Arc<File>> {
        let mut evicted = Vec::new();
        while self.handles.len() > self.capacity {
            let oldest = self
                .handles
                .iter()
                .min_by_key(|(_, cached)| cached.last_used)
                .map(|(id, _)| *id);
            match oldest.and_then(|id| self.handles.remove(&id)) {
                Some(cached) => evicted.push(cached.file),
                None => break,
            }
        }
        evicted
    }
}

fn lock() -> MutexGuard<'static, Cache> {
    static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
    CACHE
        .get_or_init(|| {
            Mutex::new(Cache {
                capacity: DEFAULT_MAX_OPEN_READ_HANDLES,
                clock: 0,
                handles: HashMap::new(),
            })
        })
        .lock()
        // The cache holds no invariant a panic could break halfway.
        .unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_recently_used_handles_are_evicted() {
        // A private cache: the process-wide one is shared with concurrent tests.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x");
        std::fs::write(&path, b"data").unwrap();
        let mut cache = Cache {
            capacity: 2,
            clock: 0,
            handles: HashMap::new(),
        };
        let open = || Arc::new(File::open(&path).unwrap());
        assert!(cache.insert(1, open()).1.is_empty());
        assert!(cache.insert(2, open()).1.is_empty());
        assert!(cache.touch(1).is_some());
        let (_, evicted) = cache.insert(3, open());
        assert_eq!(evicted.len(), 1);
        assert!(cache.touch(2).is_none(), "2 was the least recently used");
        assert!(cache.touch(1).is_some() && cache.touch(3).is_some());
        // A second insert of a cached id keeps the first handle.
        let first = cache.touch(3).unwrap();
        let (kept, _) = cache.insert(3, open());
        assert!(Arc::ptr_eq(&first, &kept));
        cache.capacity = 1;
        assert_eq!(cache.evict_excess().len(), 1);
        assert_eq!(cache.handles.len(), 1);
    }

    #[test]
    fn ids_are_unique() {
        let a = new_id();
        let b = new_id();
        assert_ne!(a, b);
    }
}
