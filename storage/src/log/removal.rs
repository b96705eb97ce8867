//! Removing data from a log: truncation (the end moves back), retention (whole
//! segments go from the start, see `retention.rs`) and deleting the whole log.
//!
//! A failure in the middle of any of these may leave files and memory disagreeing, so
//! it poisons the log; reopening it recovers from the files.

use std::fs;
use std::io;
use std::mem;

use super::{Log, RetentionOutcome};
use crate::checkpoint::{self, RECOVERY_POINT};
use crate::recovery;
use crate::retention::{self, Limits, Plan, SegmentInfo};
use crate::segment::{self, Segment};
use crate::StorageError;

impl Log {
    /// Removes every batch that holds an offset `>= offset`. A batch that straddles
    /// `offset` goes entirely (batches are never split), so afterwards
    /// `log_end_offset() <= offset`. No-op when `offset >= log_end_offset()`. If the
    /// log start offset or the recovery point end up beyond the new end, they are
    /// moved back to it (persisted).
    pub fn truncate_to(&mut self, offset: i64) -> Result<(), StorageError> {
        self.check_writable()?;
        if offset >= self.log_end_offset() {
            return Ok(());
        }
        if offset < 0 {
            return Err(self.out_of_range(offset));
        }
        let result = self.truncate_segments(offset);
        if result.is_err() {
            self.poisoned = true;
        }
        self.noted("truncate", result)
    }

    fn truncate_segments(&mut self, offset: i64) -> Result<(), StorageError> {
        if self.active.base_offset() >= offset {
            let keep = self.older.partition_point(|s| s.base_offset() < offset);
            let doomed = self.older.split_off(keep);
            for segment in doomed {
                segment.delete_files()?;
            }
            match self.older.pop() {
                Some(mut segment) => {
                    segment.activate()?;
                    mem::replace(&mut self.active, segment).delete_files()?;
                }
                None => {
                    // Every segment starts at or after `offset`: start over, empty. The
                    // new files may reuse the old names, so remove those first.
                    if !self.is_in_memory() {
                        segment::remove_files(self.active.log_path())?;
                    }
                    let fresh = Segment::create(&self.dir, offset, self.backend)?;
                    drop(mem::replace(&mut self.active, fresh));
                }
            }
            self.dir_dirty = true;
        }
        if let Some((position, header)) = self.active.find_batch(offset)? {
            self.active.cut(position, offset.min(header.base_offset))?;
            recovery::rescan_max_timestamp(&mut self.active)?;
        }
        self.first_unflushed = self.first_unflushed.min(self.older.len());
        let end = self.log_end_offset();
        if self.log_start_offset > end {
            self.persist_log_start(end)?;
            self.log_start_offset = end;
        }
        if self.recovery_point.is_some_and(|point| point > end) {
            RECOVERY_POINT.write(&self.dir, end)?;
            self.recovery_point = Some(end);
        }
        Ok(())
    }

    /// Deletes whole segments by the retention rules (see `retention.rs`): those wholly
    /// below the log start offset; by time, those whose largest timestamp is before
    /// `now_ms - retention_ms` (the active one too if it is non-empty and expired: a
    /// new empty active segment is rolled at the log end first); by size, the oldest
    /// while the rest still holds at least `retention_bytes`. `None` (or a negative
    /// `retention_ms`) means no limit. The log start offset moves up to the first
    /// remaining segment (persisted); the log end offset never changes. Deleted files
    /// are removed and the directory fsynced. A failure poisons the log.
    pub fn apply_retention(
        &mut self,
        now_ms: i64,
        retention_ms: Option<i64>,
        retention_bytes: Option<u64>,
    ) -> Result<RetentionOutcome, StorageError> {
        self.check_writable()?;
        let info = |s: &Segment| SegmentInfo {
            base_offset: s.base_offset(),
            size: s.size(),
            max_timestamp: s.max_timestamp().map(|m| m.timestamp),
        };
        let sealed: Vec<_> = self.older.iter().map(info).collect();
        let limits = Limits {
            now_ms,
            retention_ms,
            retention_bytes,
        };
        let plan = retention::plan(&sealed, &info(&self.active), self.log_start_offset, limits);
        if plan == Plan::default() {
            return Ok(RetentionOutcome {
                segments_deleted: 0,
                new_log_start_offset: self.log_start_offset,
            });
        }
        let result = self.delete_oldest(plan);
        if let Err(e) = &result {
            tracing::error!(dir = %self.dir.display(), error = %e,
                "deleting segments failed; log poisoned");
            self.poisoned = true;
        }
        self.noted("retention", result)
    }

    fn delete_oldest(&mut self, plan: Plan) -> Result<RetentionOutcome, StorageError> {
        if plan.active {
            self.roll(self.log_end_offset())?;
        }
        let count = if plan.active {
            self.older.len()
        } else {
            plan.sealed.min(self.older.len())
        };
        let first_kept = self.older.get(count).unwrap_or(&self.active).base_offset();
        if first_kept > self.log_start_offset {
            // Persisted before the files go, so the start never moves back.
            self.persist_log_start(first_kept)?;
            self.log_start_offset = first_kept;
        }
        let doomed: Vec<Segment> = self.older.drain(..count).collect();
        self.first_unflushed = self.first_unflushed.saturating_sub(count);
        for segment in doomed {
            tracing::info!(segment = %segment.log_path().display(), bytes = segment.size(),
                "deleting segment by retention");
            segment.delete_files()?;
        }
        if !self.is_in_memory() {
            checkpoint::sync_dir(&self.dir)?;
            self.dir_dirty = false;
        }
        Ok(RetentionOutcome {
            segments_deleted: count,
            new_log_start_offset: self.log_start_offset,
        })
    }

    /// Removes the log: its directory with everything in it (an in-memory log is just
    /// dropped).
    pub fn delete(self) -> Result<(), StorageError> {
        if self.is_in_memory() {
            return Ok(());
        }
        let dir = self.dir.clone();
        drop(self);
        match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }
}
