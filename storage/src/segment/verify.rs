//! Trusting nothing that is read back: the checks a read for a fetch makes on the bytes
//! it is about to serve, and how it gets past a batch that fails them.
//!
//! Every batch a read returns has been checked, from the bytes already in hand:
//!
//! - framing: the header parses (magic 2, sane length) and the batch is whole;
//! - offsets: its base offset is the one its place in the segment calls for (the
//!   segment's base offset, an offset-index entry's offset, or the previous batch's
//!   last offset + 1: the broker never leaves gaps), so a base offset rewritten on
//!   disk (which the CRC does not cover) is caught;
//! - CRC-32C over bytes 21 to the end, against the stored value (hardware-accelerated;
//!   the bytes are read anyway).
//!
//! A batch that fails is refused with [`StorageError::CorruptBatch`] (Kafka answers
//! CORRUPT_MESSAGE) and logged once per segment and position, not once per fetch. The
//! intact batches after it stay reachable. A damaged batch stands for the offsets from
//! the one its place calls for up to the next intact batch, whose own CRC must match:
//! first the batch its length frames, else the bytes up to the next offset-index entry
//! are searched for a header that frames a batch with a matching CRC (the index entry
//! bounds the search, so it costs at most about `index.interval.bytes` plus one batch,
//! and only where damage is). None of a damaged batch's header is trusted, so a damaged
//! last-offset field cannot hide the batches after it: a read of an offset beyond the
//! damaged range goes on from the intact batch.

use std::collections::BTreeSet;
use std::sync::Mutex;

use crate::batch::{self, BatchHeader, ReadAt, Scanned, Scanner};
use crate::StorageError;

use super::{Segment, SEARCH_WINDOW};

/// The longest stretch a resynchronisation search reads at once.
const MAX_RESYNC_BYTES: u64 = 64 << 20;

/// How many bytes the start-up audit reads at a time.
const AUDIT_WINDOW: usize = 4096;

/// How many damaged positions a segment remembers having logged.
const MAX_REPORTED: usize = 4096;

/// Positions of damaged batches already logged, so that a consumer retrying a bad
/// offset does not flood the log.
#[derive(Debug, Default)]
pub(crate) struct Reported(Mutex<BTreeSet<u64>>);

impl Reported {
    /// True the first time `position` is reported.
    fn first_time(&self, position: u64) -> bool {
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        seen.len() < MAX_REPORTED && seen.insert(position)
    }
}

/// One step of a checked walk over a segment's batches.
pub(crate) enum Walked {
    /// An intact-looking batch (framing and offsets; the CRC is checked on read).
    Batch {
        position: u64,
        header: BatchHeader,
    },
    /// A damaged batch at `position` that should hold offsets from `first_offset`.
    /// `resume` is where the next intact batch is (its position and base offset), if
    /// any is left in the segment.
    Damaged {
        position: u64,
        first_offset: i64,
        resume: Option<(u64, i64)>,
        reason: String,
    },
    End,
}

/// A walk over batches that checks framing and offset continuity and steps over
/// damage.
pub(crate) struct Walk<'s, R: ReadAt + ?Sized> {
    segment: &'s Segment,
    reader: &'s R,
    scanner: Scanner<'s, R>,
    expected: i64,
    window: usize,
}

impl<'s, R: ReadAt + ?Sized> Walk<'s, R> {
    /// Starts at `position`, where a batch with base offset `expected` must be.
    pub(crate) fn new(segment: &'s Segment, reader: &'s R, position: u64, expected: i64) -> Self {
        Self::with_window(segment, reader, position, expected, SEARCH_WINDOW)
    }

    /// [`Self::new`], reading `window` bytes at a time.
    fn with_window(
        segment: &'s Segment,
        reader: &'s R,
        position: u64,
        expected: i64,
        window: usize,
    ) -> Self {
        Walk {
            segment,
            reader,
            scanner: Scanner::new(reader, position, segment.size, window),
            expected,
            window,
        }
    }

    pub(crate) fn next(&mut self) -> Result<Walked, StorageError> {
        let (position, reason, framed_end) = match self.scanner.next_batch()? {
            Scanned::End => return Ok(Walked::End),
            Scanned::Batch { position, header }
                if header.base_offset == self.expected
                    && header.last_offset < self.segment.next_offset =>
            {
                self.expected = header.last_offset + 1;
                return Ok(Walked::Batch { position, header });
            }
            Scanned::Batch { position, header } => (
                position,
                format!(
                    "base offset {} where {} was expected",
                    header.base_offset, self.expected
                ),
                Some(position + header.size),
            ),
            Scanned::Invalid { position, error } => (position, error.to_string(), None),
        };
        let first_offset = self.expected;
        let resume = self.resync(position, framed_end, first_offset)?;
        self.resume_at(resume);
        Ok(Walked::Damaged {
            position,
            first_offset,
            resume,
            reason,
        })
    }

    /// Goes on at `resume` (position and base offset of an intact batch), or ends the
    /// walk if there is none.
    pub(crate) fn resume_at(&mut self, resume: Option<(u64, i64)>) {
        let size = self.segment.size;
        let (at, expected) = resume.unwrap_or((size, self.segment.next_offset));
        self.scanner = Scanner::new(self.reader, at, size, self.window);
        self.expected = expected;
    }

    /// Where the next intact batch after the damaged one at `position` is, if any:
    /// its position and base offset. `framed_end` is where the damaged batch's length
    /// says it ends, tried first; `first_offset` the first offset the damaged batch
    /// should hold (the next intact batch starts after it).
    pub(crate) fn resync(
        &self,
        position: u64,
        framed_end: Option<u64>,
        first_offset: i64,
    ) -> Result<Option<(u64, i64)>, StorageError> {
        let size = self.segment.size;
        let accept = |h: &BatchHeader| {
            h.base_offset > first_offset && h.last_offset < self.segment.next_offset
        };
        // Only the offsets or the CRC are wrong: the length still frames the next
        // batch (checked like any other candidate: its own CRC must match).
        if let Some(end) = framed_end.filter(|end| *end > position && *end < size) {
            if let Some((at, h)) = batch::search_batch(self.reader, end, end + 1, size, accept)? {
                return Ok(Some((at, h.base_offset)));
            }
        }
        // Search byte by byte, up to the next index entry, for a header that frames a
        // batch whose CRC matches.
        let next_entry = self
            .segment
            .offset_index
            .entries_from(position + 1)
            .next()
            .filter(|e| e.offset > first_offset);
        let limit = next_entry
            .map_or(size, |e| e.position.min(size))
            .min(position.saturating_add(MAX_RESYNC_BYTES));
        let found = batch::search_batch(self.reader, position + 1, limit, size, accept)?;
        if let Some((at, h)) = found {
            return Ok(Some((at, h.base_offset)));
        }
        Ok(next_entry
            .filter(|e| e.position > position && e.position < size)
            .map(|e| (e.position, e.offset)))
    }
}

impl Segment {
    /// Logs a damaged batch once (per segment and position) and returns the error a
    /// read of it gets.
    pub(crate) fn refuse(
        &self,
        position: u64,
        offset: i64,
        resume_offset: i64,
        reason: String,
    ) -> StorageError {
        if self.reported.first_time(position) {
            tracing::error!(segment = %self.log_path.display(), position, offset, resume_offset,
                %reason, "corrupt batch on disk: refused to readers (CORRUPT_MESSAGE); later batches are still served");
        }
        StorageError::CorruptBatch {
            offset,
            resume_offset,
            reason,
        }
    }

    /// Walks the headers of the whole segment (framing and offsets, no CRC) and logs
    /// every damaged batch. Returns how many were found. Used at open after a clean
    /// shutdown, when recovery otherwise trusts the active segment.
    pub(crate) fn audit(&self) -> Result<usize, StorageError> {
        let reader = self.data.reader()?;
        // Small reads: batches of 4 KiB or more cost one 4 KiB read each, smaller ones
        // are read through, so the walk reads at most about the segment once.
        let mut walk = Walk::with_window(self, &reader, 0, self.base_offset, AUDIT_WINDOW);
        let mut damaged = 0;
        loop {
            match walk.next()? {
                Walked::Batch { .. } => {}
                Walked::End => return Ok(damaged),
                Walked::Damaged {
                    position,
                    first_offset,
                    resume,
                    reason,
                } => {
                    damaged += 1;
                    let resume_offset = resume.map_or(self.next_offset, |(_, base)| base);
                    drop(self.refuse(position, first_offset, resume_offset, reason));
                    if resume.is_none() {
                        return Ok(damaged);
                    }
                }
            }
        }
    }
}
