//! Fault injection for tests: make storage I/O on chosen paths fail as a full or
//! failing disk would. Off unless a test arms a rule; then each hooked call costs one
//! relaxed atomic load (and, while armed, a lock and a path comparison).
//!
//! Not a production feature: nothing in the configuration enables it. Hooked calls:
//! segment data writes ([`Op::Write`], [`Op::PartialWrite`]), segment reads for
//! fetches ([`Op::Read`]), and the fsyncs of a flush and of the offset checkpoints
//! ([`Op::Fsync`]).
//!
//! Read accounting, also for tests: [`count_reads`] makes every positional read of
//! segment data on matching paths (fetches, scans, resynchronisation searches,
//! recovery) add to a [`Reads`] tally, so a test can tell how much work a read did.
//! Off unless a test starts it; then each read costs one relaxed atomic load.

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Which kind of call a rule fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// A segment write fails before writing anything.
    Write,
    /// A segment write writes part of the batch, then fails.
    PartialWrite,
    /// A read of segment data fails.
    Read,
    /// An fsync fails (the data may or may not be on disk).
    Fsync,
}

#[derive(Debug)]
struct Rule {
    op: Op,
    path_contains: String,
    errno: i32,
    remaining: Option<u64>,
}

static ARMED: AtomicBool = AtomicBool::new(false);
static RULES: Mutex<Vec<Rule>> = Mutex::new(Vec::new());

/// What the segment reads on a path did since [`count_reads`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reads {
    /// Positional reads made.
    pub calls: u64,
    /// Bytes they asked for, in all.
    pub bytes: u64,
    /// The largest single read (its buffer was allocated for it).
    pub largest: u64,
}

static COUNTING: AtomicBool = AtomicBool::new(false);
static COUNTERS: Mutex<Vec<(String, Reads)>> = Mutex::new(Vec::new());

/// From now on, tallies the segment reads on paths containing `path_contains`,
/// starting from zero (again, if it was already counting).
pub fn count_reads(path_contains: &str) {
    let mut counters = COUNTERS.lock().unwrap_or_else(|e| e.into_inner());
    counters.retain(|(p, _)| p != path_contains);
    counters.push((path_contains.to_string(), Reads::default()));
    COUNTING.store(true, Ordering::Relaxed);
}

/// The tally for `path_contains` since [`count_reads`] (zero if not counting).
pub fn reads(path_contains: &str) -> Reads {
    let counters = COUNTERS.lock().unwrap_or_else(|e| e.into_inner());
    counters
        .iter()
        .find(|(p, _)| p == path_contains)
        .map_or_else(Reads::default, |(_, r)| *r)
}

/// Stops tallying reads on `path_contains`.
pub fn stop_counting_reads(path_contains: &str) {
    let mut counters = COUNTERS.lock().unwrap_or_else(|e| e.into_inner());
    counters.retain(|(p, _)| p != path_contains);
    COUNTING.store(!counters.is_empty(), Ordering::Relaxed);
}

/// Adds a read of `len` bytes on `path` to the tallies that match it.
pub(crate) fn note_read(path: &Path, len: usize) {
    if !COUNTING.load(Ordering::Relaxed) {
        return;
    }
    let path = path.to_string_lossy();
    let len = len as u64;
    let mut counters = COUNTERS.lock().unwrap_or_else(|e| e.into_inner());
    for (_, reads) in counters
        .iter_mut()
        .filter(|(p, _)| path.contains(p.as_str()))
    {
        reads.calls += 1;
        reads.bytes += len;
        reads.largest = reads.largest.max(len);
    }
}

/// From now on, `op` on any path containing `path_contains` fails with the OS error
/// `errno` (e.g. `ENOSPC`, 28 on Linux), `times` times (`None`: until [`clear`]).
pub fn fail(op: Op, path_contains: &str, errno: i32, times: Option<u64>) {
    let mut rules = RULES.lock().unwrap_or_else(|e| e.into_inner());
    rules.push(Rule {
        op,
        path_contains: path_contains.to_string(),
        errno,
        remaining: times,
    });
    ARMED.store(true, Ordering::Relaxed);
}

/// Removes the rules on paths containing `path_contains`.
pub fn clear(path_contains: &str) {
    let mut rules = RULES.lock().unwrap_or_else(|e| e.into_inner());
    rules.retain(|r| r.path_contains != path_contains);
    ARMED.store(!rules.is_empty(), Ordering::Relaxed);
}

/// The injected error for `op` on `path`, if a rule says so.
pub(crate) fn check(op: Op, path: &Path) -> io::Result<()> {
    if !ARMED.load(Ordering::Relaxed) {
        return Ok(());
    }
    let path = path.to_string_lossy();
    let mut rules = RULES.lock().unwrap_or_else(|e| e.into_inner());
    let Some(rule) = rules
        .iter_mut()
        .find(|r| r.op == op && r.remaining != Some(0) && path.contains(&r.path_contains))
    else {
        return Ok(());
    };
    if let Some(n) = rule.remaining.as_mut() {
        *n -= 1;
    }
    Err(io::Error::from_raw_os_error(rule.errno))
}
