//! Producer id allocation: ids are handed out from blocks whose end is
//! persisted before the first id of the block is, so that no id is ever
//! handed out twice, across restarts and crashes included.
//!
//! On-disk format: `__sluice_metadata/producer-ids` holds one decimal
//! number, the first id of the next block not yet reserved, followed by a
//! newline. It is replaced atomically (write a temporary file, fsync,
//! rename, fsync the directory). After a restart the broker starts a fresh
//! block at that number; ids left over in the previous block are skipped.
//! With `--ephemeral` nothing is written.
//!
//! Recovery: the file is not trusted alone. At start the broker also finds
//! the highest producer id its partitions' producer state and the
//! transaction coordinator know ([`highest_known`]) and never hands out an
//! id at or below it; a missing, unreadable, damaged or stale file is a
//! warning, not a failure to start (see [`ProducerIds::open`]).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use crate::error::TxnError;

/// Ids reserved per write of the file (Kafka's producer id block size).
pub const BLOCK_SIZE: i64 = 1000;

const FILE: &str = "producer-ids";

struct Block {
    next: i64,
    end: i64,
}

/// The broker's producer id allocator.
///
/// At start it exists before it is loaded ([`ProducerIds::loading`]): the
/// highest known id comes from the partitions and the transaction
/// coordinator, which load while the broker already serves. Until
/// [`ProducerIds::finish_load`] no id is handed out.
pub struct ProducerIds {
    loaded: OnceLock<Allocator>,
}

struct Allocator {
    /// The file, or `None` in memory.
    path: Option<PathBuf>,
    block: Mutex<Block>,
}

impl ProducerIds {
    /// An allocator that persists nothing, starting at 0.
    pub fn in_memory() -> Self {
        Self::with(Allocator {
            path: None,
            block: Mutex::new(Block { next: 0, end: 0 }),
        })
    }

    /// An allocator not loaded yet: [`Self::next_id`] answers
    /// [`TxnError::CoordinatorLoadInProgress`].
    pub fn loading() -> Self {
        ProducerIds {
            loaded: OnceLock::new(),
        }
    }

    /// Serves `loaded` (made by [`Self::open`] or [`Self::in_memory`]) from
    /// an allocator made by [`Self::loading`]; a second load is ignored.
    pub fn finish_load(&self, loaded: ProducerIds) {
        if let Some(allocator) = loaded.loaded.into_inner() {
            let _ = self.loaded.set(allocator);
        }
    }

    fn with(allocator: Allocator) -> Self {
        let loaded = OnceLock::new();
        let _ = loaded.set(allocator);
        ProducerIds { loaded }
    }

    /// Loads the allocator kept in `metadata_dir` (created if missing).
    ///
    /// `highest_known` is the largest producer id the rest of the data
    /// directory knows of ([`highest_known`]: the partitions' producer state
    /// as recovered, the transaction coordinator's records). No id at or
    /// below it is ever handed out: a reused id would make a new producer's
    /// first batches look like retries of an old one's, acknowledged but
    /// never written. The file is a small state file like any other, so a
    /// missing, unreadable, damaged or stale one (its number not above
    /// `highest_known`) is not an error: it is logged, ids go on from the
    /// block after the one `highest_known` belongs to (ids of that block
    /// may have been given to producers that had not written yet), and that
    /// start is persisted. Ids handed out to producers none of whose
    /// batches or transaction records survive cannot be recovered.
    pub fn open(metadata_dir: &Path, highest_known: Option<i64>) -> std::io::Result<Self> {
        std::fs::create_dir_all(metadata_dir)?;
        let path = metadata_dir.join(FILE);
        let recovered = highest_known.map_or(0, |h| {
            (h / BLOCK_SIZE)
                .saturating_add(1)
                .saturating_mul(BLOCK_SIZE)
        });
        let start = match read_file(&path) {
            Ok(Some(next)) if highest_known.is_none_or(|h| next > h) => next,
            Ok(None) if highest_known.is_none() => {
                // A first start (or nothing anywhere carries a producer id
                // any more, so nothing can be taken for a retry).
                tracing::debug!(file = %path.display(), "no producer ids handed out yet");
                0
            }
            found => {
                let problem = match found {
                    Ok(Some(next)) => format!(
                        "it says {next}, not above the highest known id {}",
                        highest_known.unwrap_or(-1)
                    ),
                    Ok(None) => "it is missing".to_string(),
                    Err(e) => e,
                };
                tracing::warn!(file = %path.display(), highest_known = ?highest_known,
                    next_producer_id = recovered,
                    "producer id file not usable ({problem}); continuing after the highest \
                     producer id the partitions and transaction coordinator know");
                if let Err(e) = persist(&path, recovered) {
                    tracing::warn!(file = %path.display(), error = %e,
                        "cannot rewrite the producer id file; it is retried at the next id");
                }
                recovered
            }
        };
        Ok(Self::with(Allocator {
            path: Some(path),
            block: Mutex::new(Block {
                next: start,
                end: start,
            }),
        }))
    }

    /// A producer id never handed out before.
    pub fn next_id(&self) -> Result<i64, TxnError> {
        let allocator = self
            .loaded
            .get()
            .ok_or(TxnError::CoordinatorLoadInProgress)?;
        let mut block = allocator.block.lock().unwrap_or_else(|e| e.into_inner());
        if block.next == i64::MAX {
            // Only reachable after recovering past a forged id near the top.
            return Err(TxnError::ProducerIdAllocation(
                "producer ids are exhausted".into(),
            ));
        }
        if block.next >= block.end {
            let end = block.next.saturating_add(BLOCK_SIZE);
            if let Some(path) = &allocator.path {
                persist(path, end).map_err(|e| TxnError::ProducerIdAllocation(e.to_string()))?;
            }
            block.end = end;
        }
        let id = block.next;
        block.next += 1;
        Ok(id)
    }
}

/// The number in the file: `Ok(None)` when there is no file, `Err` with
/// what is wrong when it cannot be read or is not a non-negative number.
fn read_file(path: &Path) -> Result<Option<i64>, String> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read it: {e}")),
    };
    let text = std::str::from_utf8(&bytes).map_err(|_| "it is not text".to_string())?;
    match text.trim().parse::<i64>() {
        Ok(next) if next >= 0 => Ok(Some(next)),
        Ok(next) => Err(format!("it holds a negative number, {next}")),
        Err(e) => Err(format!(
            "it holds {:?}: {e}",
            text.chars().take(40).collect::<String>()
        )),
    }
}

/// The largest producer id the broker's state knows of, once partitions
/// are open and the transaction coordinator is loaded: every producer in
/// every partition's producer state (snapshot plus the batches replayed
/// from the log, internal topics included) and every producer id recorded
/// in `__transaction_state`.
pub fn highest_known(
    partitions: &crate::partition::Partitions,
    txns: &super::Transactions,
) -> Option<i64> {
    let in_partitions = partitions
        .all()
        .iter()
        .filter_map(|p| p.producers().last().map(|last| last.producer_id))
        .max();
    in_partitions.max(txns.highest_producer_id())
}

fn persist(path: &Path, value: i64) -> std::io::Result<()> {
    sluice_storage::durable::replace_file(path, format!("{value}\n").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_not_reused_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let ids = ProducerIds::open(dir.path(), None).unwrap();
        let first: Vec<i64> = (0..3).map(|_| ids.next_id().unwrap()).collect();
        assert_eq!(first, vec![0, 1, 2]);
        drop(ids);
        let ids = ProducerIds::open(dir.path(), None).unwrap();
        assert_eq!(ids.next_id().unwrap(), BLOCK_SIZE);
        for _ in 0..BLOCK_SIZE {
            ids.next_id().unwrap();
        }
        drop(ids);
        let ids = ProducerIds::open(dir.path(), None).unwrap();
        assert_eq!(ids.next_id().unwrap(), 3 * BLOCK_SIZE);
    }

    #[test]
    fn a_lost_damaged_or_stale_file_never_reuses_a_known_id() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(FILE);
        // A first start: no file, nothing known.
        assert_eq!(
            ProducerIds::open(dir.path(), None)
                .unwrap()
                .next_id()
                .unwrap(),
            0
        );
        // Missing, garbage, negative, not text, or not above what is known:
        // the block after the highest known id, persisted at once.
        for (content, known, expect) in [
            (None, Some(0), BLOCK_SIZE),
            (None, Some(1234), 2 * BLOCK_SIZE),
            (Some(&b"xyz"[..]), Some(999), BLOCK_SIZE),
            (Some(b"-7\n"), Some(5), BLOCK_SIZE),
            (Some(b"\xff\x00"), None, 0),
            (Some(b"3000\n"), Some(3000), 4 * BLOCK_SIZE),
            (Some(b"10\n"), Some(4500), 5 * BLOCK_SIZE),
        ] {
            match content {
                Some(bytes) => std::fs::write(&file, bytes).unwrap(),
                None => {
                    let _ = std::fs::remove_file(&file);
                }
            }
            let ids = ProducerIds::open(dir.path(), known).unwrap();
            let label = format!(
                "{:?} with {known:?} known",
                content.map(String::from_utf8_lossy)
            );
            assert_eq!(
                read_file(&file),
                Ok(Some(expect)),
                "{label}: recovered start persisted"
            );
            assert_eq!(ids.next_id().unwrap(), expect, "{label}");
        }
        // A good file above everything known is used as it is.
        std::fs::write(&file, b"7000\n").unwrap();
        let ids = ProducerIds::open(dir.path(), Some(6999)).unwrap();
        assert_eq!(ids.next_id().unwrap(), 7000);
    }

    #[test]
    fn ids_end_with_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE), format!("{}\n", i64::MAX - 1)).unwrap();
        let ids = ProducerIds::open(dir.path(), None).unwrap();
        assert_eq!(ids.next_id().unwrap(), i64::MAX - 1);
        assert!(ids.next_id().is_err());
        let ids = ProducerIds::open(dir.path(), Some(i64::MAX)).unwrap();
        assert!(ids.next_id().is_err());
    }

    #[test]
    fn in_memory_counts_from_zero() {
        let ids = ProducerIds::in_memory();
        assert_eq!(ids.next_id().unwrap(), 0);
        assert_eq!(ids.next_id().unwrap(), 1);
    }
}
