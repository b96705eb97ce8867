//! The parts of [`Log`] the cleaner (`cleaner/`) works through: its view of the sealed
//! segments, the swap of cleaned segments into the list, and the first dirty offset.

use super::Log;
use crate::checkpoint::{self, CLEANER_HORIZON, CLEANER_OFFSET};
use crate::segment::Segment;
use crate::StorageError;

impl Log {
    pub(crate) fn sealed_segments(&self) -> impl Iterator<Item = &Segment> {
        self.older.iter()
    }

    pub(crate) fn active_base_offset(&self) -> i64 {
        self.active.base_offset()
    }

    pub(crate) fn index_interval_bytes(&self) -> u64 {
        self.config.index_interval_bytes
    }

    pub(crate) fn check_not_poisoned(&self) -> Result<(), StorageError> {
        self.check_writable()
    }

    pub(crate) fn poison(&mut self) {
        self.poisoned = true;
    }

    /// Where the part not yet cleaned starts, as the last pass left it.
    pub(crate) fn first_dirty_offset(&self) -> Option<i64> {
        self.first_dirty_offset
    }

    /// The earliest delete horizon the last pass kept (in memory only).
    pub(crate) fn earliest_delete_horizon(&self) -> Option<i64> {
        self.earliest_delete_horizon
    }

    /// Sets (and persists, `cleaner-delete-horizon`) the earliest delete horizon the
    /// last pass kept.
    pub(crate) fn set_earliest_delete_horizon(
        &mut self,
        horizon: Option<i64>,
    ) -> Result<(), StorageError> {
        if !self.is_in_memory() && horizon != self.earliest_delete_horizon {
            match horizon {
                Some(h) => CLEANER_HORIZON.write(&self.dir, h)?,
                None => match std::fs::remove_file(self.dir.join(CLEANER_HORIZON.name)) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                    _ => {}
                },
            }
        }
        self.earliest_delete_horizon = horizon;
        Ok(())
    }

    /// Persists the first dirty offset (`cleaner-offset`). A failure leaves the old
    /// value, which only makes the next pass clean more.
    pub(crate) fn set_first_dirty_offset(&mut self, offset: i64) -> Result<(), StorageError> {
        if !self.is_in_memory() {
            CLEANER_OFFSET.write(&self.dir, offset)?;
        }
        self.first_dirty_offset = Some(offset);
        Ok(())
    }

    /// The position in the sealed segments of a run with exactly these (base offset,
    /// size) pairs, if it is still there.
    pub(crate) fn position_of(&self, run: &[(i64, u64)]) -> Option<usize> {
        let (first, _) = run.first()?;
        let at = self.older.iter().position(|s| s.base_offset() == *first)?;
        let found = self.older.get(at..at + run.len())?;
        found
            .iter()
            .zip(run)
            .all(|(s, (base, size))| s.base_offset() == *base && s.size() == *size)
            .then_some(at)
    }

    /// Replaces `count` sealed segments from `at` with `segment` (already on disk and
    /// durable), keeping the flush bookkeeping right.
    pub(crate) fn replace_sealed(&mut self, at: usize, count: usize, segment: Segment) {
        let end = (at + count).min(self.older.len());
        self.older.splice(at..end, std::iter::once(segment));
        let removed = end.saturating_sub(at).saturating_sub(1);
        if self.first_unflushed >= end {
            self.first_unflushed -= removed;
        } else if self.first_unflushed > at {
            self.first_unflushed = at + 1;
        }
    }

    /// Deletes the first `count` sealed segments (cleaned, holding no data) and moves
    /// the log start offset to the segment after them (persisted first).
    pub(crate) fn drop_leading_segments(&mut self, count: usize) -> Result<usize, StorageError> {
        let count = count.min(self.older.len());
        if count == 0 {
            return Ok(0);
        }
        let next_base = self.older.get(count).unwrap_or(&self.active).base_offset();
        if next_base > self.log_start_offset {
            self.persist_log_start(next_base)?;
            self.log_start_offset = next_base;
        }
        let doomed: Vec<Segment> = self.older.drain(..count).collect();
        self.first_unflushed = self.first_unflushed.saturating_sub(count);
        for segment in doomed {
            tracing::debug!(segment = %segment.log_path().display(),
                "deleting a cleaned segment left with no data");
            if let Err(e) = segment.delete_files() {
                self.poisoned = true;
                return Err(e.into());
            }
        }
        if !self.is_in_memory() {
            checkpoint::sync_dir(&self.dir)?;
        }
        Ok(count)
    }
}
