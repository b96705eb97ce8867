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

use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Ids reserved per write of the file (Kafka's producer id block size).
pub const BLOCK_SIZE: i64 = 1000;

const FILE: &str = "producer-ids";

struct Block {
    next: i64,
    end: i64,
}

/// The broker's producer id allocator.
pub struct ProducerIds {
    /// The file, or `None` in memory.
    path: Option<PathBuf>,
    block: Mutex<Block>,
}

impl ProducerIds {
    /// An allocator that persists nothing, starting at 0.
    pub fn in_memory() -> Self {
        ProducerIds {
            path: None,
            block: Mutex::new(Block { next: 0, end: 0 }),
        }
    }

    /// Loads the allocator kept in `metadata_dir` (created if missing).
    pub fn open(metadata_dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(metadata_dir)?;
        let path = metadata_dir.join(FILE);
        let start = match std::fs::read_to_string(&path) {
            Ok(text) => text.trim().parse::<i64>().map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: {e}", path.display()),
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(e),
        };
        Ok(ProducerIds {
            path: Some(path),
            block: Mutex::new(Block {
                next: start,
                end: start,
            }),
        })
    }

    /// A producer id never handed out before.
    pub fn next_id(&self) -> std::io::Result<i64> {
        let mut block = self.block.lock().unwrap_or_else(|e| e.into_inner());
        if block.next >= block.end {
            let end = block.next.saturating_add(BLOCK_SIZE);
            if let Some(path) = &self.path {
                persist(path, end)?;
            }
            block.end = end;
        }
        let id = block.next;
        block.next += 1;
        Ok(id)
    }
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
        let ids = ProducerIds::open(dir.path()).unwrap();
        let first: Vec<i64> = (0..3).map(|_| ids.next_id().unwrap()).collect();
        assert_eq!(first, vec![0, 1, 2]);
        drop(ids);
        let ids = ProducerIds::open(dir.path()).unwrap();
        assert_eq!(ids.next_id().unwrap(), BLOCK_SIZE);
        for _ in 0..BLOCK_SIZE {
            ids.next_id().unwrap();
        }
        drop(ids);
        let ids = ProducerIds::open(dir.path()).unwrap();
        assert_eq!(ids.next_id().unwrap(), 3 * BLOCK_SIZE);
    }

    #[test]
    fn in_memory_counts_from_zero() {
        let ids = ProducerIds::in_memory();
        assert_eq!(ids.next_id().unwrap(), 0);
        assert_eq!(ids.next_id().unwrap(), 1);
    }
}
