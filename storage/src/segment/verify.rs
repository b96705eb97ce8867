//! Trusting nothing that is read back: the checks a read for a fetch makes on the bytes
//! it is about to serve, and how it gets past a batch that fails them.
//!
//! Every batch a read returns has been checked, from the bytes already in hand:
//!
//! - framing: the header parses (magic 2, sane length) and the batch is whole; a
//!   batch larger than a scan window must not run over an offset-index entry;
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
//! damaged range goes on from the intact batch. Nor can a damaged length hide them at
//! a sealed segment's end: offsets missing between it and the next segment are a
//! [`Gap`], refused or served from the intact batches after the last one, never
//! answered from the next segment.
//!
//! What a segment finds out about a damaged position (where the damage ends, and why
//! the batch was refused) is remembered, a bounded number of positions per segment, so
//! that a consumer stuck at damaged offsets and refetching at its backoff costs a
//! header walk per fetch, not a re-read of the batch and a new search each time; see
//! [`Reported`]. So is that an oversized batch (larger than the read cap, see
//! `Segment::read_checked`) was found intact by a chunked CRC, so that it is checked
//! once.

use std::collections::{BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
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

/// How many positions a segment remembers the outcome of (damage, or an oversized
/// batch found intact). A consumer stuck on damage retries a handful of positions;
/// past this the oldest is forgotten (and found again, at a bounded cost, if asked).
const MAX_REMEMBERED: usize = 64;

/// What a read found at a damaged position: the offsets the damaged batch stands for
/// start at `first_offset`; `resume` is where the next intact batch is (position and
/// base offset), if any is left in the segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Damage {
    pub(crate) first_offset: i64,
    pub(crate) resume: Option<(u64, i64)>,
    pub(crate) reason: String,
}

/// The offsets between a sealed segment's end and the next segment's base offset, found
/// at open (see [`Segment::mark_gap`]). The broker never leaves gaps, so they are
/// damage: a length field that framed batches out of the scan (it claims the rest of
/// the segment), a last-offset field, or data lost at the segment's end. Reads in the
/// gap are refused, or served from the intact batch found after the segment's last
/// batch; never from the next segment, which would skip the records in between.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Gap {
    /// The next segment's base offset: the gap is `[next_offset, end)`.
    pub(crate) end: i64,
    /// The first intact batch after the start of the segment's last batch (position
    /// and base offset), if one was found.
    pub(crate) resume: Option<(u64, i64)>,
    pub(crate) reason: String,
}

#[derive(Debug)]
enum Outcome {
    /// Found while the segment was `segment_size` bytes long.
    Damaged { damage: Damage, segment_size: u64 },
    /// A batch of `size` bytes whose CRC was checked in chunks and matched.
    Intact { size: u64 },
}

#[derive(Debug, Default)]
struct Remembered {
    /// Positions of damaged batches already logged.
    logged: BTreeSet<u64>,
    /// Outcomes by position, oldest first, at most [`MAX_REMEMBERED`].
    outcomes: VecDeque<(u64, Outcome)>,
}

/// What a segment knows about its damaged batches: which were logged (so that a
/// consumer retrying a bad offset does not flood the log), and the outcome of each
/// recently found one (so that it does not redo the work). The bytes of a segment
/// before its end do not change while it is in use, so an outcome stays true until
/// the segment is cut or rebuilt ([`Reported::forget`]), with one exception: in the
/// active segment, "no intact batch after the damage" can stop being true when
/// batches are appended, so such an outcome holds only while the size is the same.
#[derive(Debug, Default)]
pub(crate) struct Reported {
    /// Whether `outcomes` may be non-empty: what an intact read checks (one relaxed
    /// load), so that the healthy path takes no lock.
    any: AtomicBool,
    inner: Mutex<Remembered>,
}

impl Reported {
    fn lock(&self) -> std::sync::MutexGuard<'_, Remembered> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// True the first time `position` is reported.
    fn first_time(&self, position: u64) -> bool {
        let mut inner = self.lock();
        inner.logged.len() < MAX_REPORTED && inner.logged.insert(position)
    }

    /// The damage found at `position` for a batch that should start at `first_offset`,
    /// if remembered and still true for a segment of `segment_size` bytes.
    pub(crate) fn damage(
        &self,
        position: u64,
        first_offset: i64,
        segment_size: u64,
    ) -> Option<Damage> {
        if !self.any.load(Ordering::Relaxed) {
            return None;
        }
        self.lock()
            .outcomes
            .iter()
            .find_map(|(at, outcome)| match outcome {
                Outcome::Damaged {
                    damage,
                    segment_size: size,
                } if *at == position
                    && damage.first_offset == first_offset
                    && (damage.resume.is_some() || *size == segment_size) =>
                {
                    Some(damage.clone())
                }
                _ => None,
            })
    }

    /// Whether the batch of `size` bytes at `position` was found intact.
    pub(crate) fn intact(&self, position: u64, size: u64) -> bool {
        self.any.load(Ordering::Relaxed)
            && self.lock().outcomes.iter().any(|(at, outcome)| {
                *at == position && matches!(outcome, Outcome::Intact { size: s } if *s == size)
            })
    }

    /// Remembers the damage at `position`, found in a segment of `segment_size` bytes.
    pub(crate) fn remember_damage(&self, position: u64, damage: Damage, segment_size: u64) {
        self.remember(
            position,
            Outcome::Damaged {
                damage,
                segment_size,
            },
        );
    }

    /// Remembers that the batch of `size` bytes at `position` is intact.
    pub(crate) fn remember_intact(&self, position: u64, size: u64) {
        self.remember(position, Outcome::Intact { size });
    }

    fn remember(&self, position: u64, outcome: Outcome) {
        let mut inner = self.lock();
        inner.outcomes.retain(|(at, _)| *at != position);
        if inner.outcomes.len() >= MAX_REMEMBERED {
            inner.outcomes.pop_front();
        }
        inner.outcomes.push_back((position, outcome));
        self.any.store(true, Ordering::Relaxed);
    }

    /// Forgets everything: the segment's bytes were cut or are being rebuilt.
    pub(crate) fn forget(&self) {
        let mut inner = self.lock();
        inner.logged.clear();
        inner.outcomes.clear();
        self.any.store(false, Ordering::Relaxed);
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
    /// Batches hold offsets below this ([`Segment::offset_bound`]).
    bound: i64,
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
            bound: segment.offset_bound(),
        }
    }

    /// The base offset the next batch of the walk must have.
    pub(crate) fn expected(&self) -> i64 {
        self.expected
    }

    pub(crate) fn next(&mut self) -> Result<Walked, StorageError> {
        let (position, reason, framed_end) = match self.scanner.next_batch()? {
            Scanned::End => return Ok(Walked::End),
            Scanned::Batch { position, header }
                if header.base_offset == self.expected
                    && header.last_offset < self.bound
                    && !self.segment.overruns_index(position, &header) =>
            {
                self.expected = header.last_offset + 1;
                return Ok(Walked::Batch { position, header });
            }
            Scanned::Batch { position, header }
                if header.base_offset == self.expected && header.last_offset < self.bound =>
            {
                // Its length cannot be the producer's (see `overruns_index`).
                let reason = format!(
                    "batch length {} runs over the batch the offset index has after byte {position}",
                    header.size
                );
                (position, reason, None)
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
        let damage = self.segment.damage_at(position, first_offset, reason, || {
            self.resync(position, framed_end, first_offset)
        })?;
        self.resume_at(damage.resume);
        Ok(Walked::Damaged {
            position,
            first_offset,
            resume: damage.resume,
            reason: damage.reason,
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
        let accept = |h: &BatchHeader| h.base_offset > first_offset && h.last_offset < self.bound;
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
    /// Batches of this segment hold offsets below this: its next offset, or the next
    /// segment's base offset when a gap was found at open.
    pub(crate) fn offset_bound(&self) -> i64 {
        self.gap.as_ref().map_or(self.next_offset, |gap| gap.end)
    }

    /// Called at open for a sealed segment whose offsets end below `next_base`, where
    /// the next segment starts: makes reads refuse the offsets in between instead of
    /// answering them from the next segment, and goes on at the first intact batch
    /// after the segment's last batch, if there is one (a damaged length can frame
    /// intact batches out of the scan). Logs it once; nothing is cut. Costs a walk
    /// from the last offset-index entry and a search of at most 64 MiB, only here.
    /// `cause` says what recovery found there, if it knows (damage it kept in place).
    pub(crate) fn mark_gap(
        &mut self,
        next_base: i64,
        cause: Option<&str>,
    ) -> Result<(), StorageError> {
        let mut reason = format!(
            "the segment's batches end at offset {} but the next segment starts at {next_base}",
            self.next_offset
        );
        if let Some(cause) = cause {
            reason.push_str(": ");
            reason.push_str(cause);
        }
        self.gap = Some(Gap {
            end: next_base,
            resume: None,
            reason: reason.clone(),
        });
        let resume = self.intact_after_end(next_base)?;
        if let Some(gap) = self.gap.as_mut() {
            gap.resume = resume;
        }
        let resume_offset = resume.map_or(next_base, |(_, base)| base);
        tracing::error!(segment = %self.log_path.display(), next_offset = self.next_offset,
            next_segment_base = next_base, resume_offset, %reason,
            "offsets missing at the end of a sealed segment (damaged or lost data): refused to readers (CORRUPT_MESSAGE), never skipped; nothing is cut");
        Ok(())
    }

    /// The first intact batch (position, base offset) after the start of the last batch
    /// a checked walk reaches, holding offsets from the walk's end up to `next_base`.
    fn intact_after_end(&self, next_base: i64) -> Result<Option<(u64, i64)>, StorageError> {
        let reader = self.data.reader()?;
        let (start, expected) = self
            .offset_index
            .last()
            .map_or((0, self.base_offset), |e| (e.position, e.offset));
        let mut walk = Walk::new(self, &reader, start, expected);
        let mut last = None;
        loop {
            match walk.next()? {
                Walked::End => break,
                Walked::Batch { position, .. } | Walked::Damaged { position, .. } => {
                    last = Some(position);
                }
            }
        }
        let from = last.map_or(start, |position| position + 1);
        let floor = walk.expected().max(self.next_offset);
        let found = batch::search_batch(
            &reader,
            from,
            from.saturating_add(MAX_RESYNC_BYTES),
            self.size,
            |h| h.base_offset >= floor && h.last_offset < next_base,
        )?;
        Ok(found.map(|(at, h)| (at, h.base_offset)))
    }

    /// What a read at an offset from `from` on in the gap gets.
    pub(crate) fn gap_error(&self, gap: &Gap, from: i64) -> StorageError {
        let resume_offset = match gap.resume {
            Some((_, base)) if from < base => base,
            _ => gap.end,
        };
        StorageError::CorruptBatch {
            offset: from,
            resume_offset,
            reason: gap.reason.clone(),
        }
    }

    /// Whether the batch at `position` with `header` claims a length that runs over
    /// the next offset-index entry. Entries are at batch starts, so such a length is
    /// damaged; trusting it would let a walk step over the batches it covers. Checked
    /// only for batches larger than a scan window (a small one can hardly cover an
    /// entry, and a large one costs a read anyway), so that walking small batches
    /// costs no more than before.
    pub(crate) fn overruns_index(&self, position: u64, header: &BatchHeader) -> bool {
        header.size > SEARCH_WINDOW as u64
            && self
                .offset_index
                .entries_from(position + 1)
                .next()
                .is_some_and(|e| e.position < position.saturating_add(header.size))
    }

    /// The damage at `position` (a batch that should start at `first_offset`, refused
    /// for `reason`): remembered if it was found before, else found by `resync` (where
    /// the next intact batch is) and remembered.
    pub(crate) fn damage_at(
        &self,
        position: u64,
        first_offset: i64,
        reason: String,
        resync: impl FnOnce() -> Result<Option<(u64, i64)>, StorageError>,
    ) -> Result<Damage, StorageError> {
        if let Some(damage) = self.reported.damage(position, first_offset, self.size) {
            return Ok(damage);
        }
        let damage = Damage {
            first_offset,
            resume: resync()?,
            reason,
        };
        self.reported
            .remember_damage(position, damage.clone(), self.size);
        Ok(damage)
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    fn damage(first_offset: i64, resume: Option<(u64, i64)>) -> Damage {
        Damage {
            first_offset,
            resume,
            reason: "test".into(),
        }
    }

    #[test]
    fn remembered_damage_is_bounded_and_forgotten() {
        let reported = Reported::default();
        assert_eq!(reported.damage(10, 3, 1_000), None);
        reported.remember_damage(10, damage(3, Some((200, 7))), 1_000);
        assert_eq!(
            reported.damage(10, 3, 1_000),
            Some(damage(3, Some((200, 7))))
        );
        // Another expected offset at the same place is another question.
        assert_eq!(reported.damage(10, 4, 1_000), None);
        // Found intact after the damage: still true once the segment grew.
        assert!(reported.damage(10, 3, 5_000).is_some());
        // Nothing intact after it: only while the segment has not grown.
        reported.remember_damage(20, damage(8, None), 1_000);
        assert!(reported.damage(20, 8, 1_000).is_some());
        assert_eq!(reported.damage(20, 8, 1_100), None);
        reported.remember_intact(30, 9 << 20);
        assert!(reported.intact(30, 9 << 20));
        assert!(!reported.intact(30, 1 << 20));
        // Bounded: the oldest go first.
        for position in 100..100 + MAX_REMEMBERED as u64 {
            reported.remember_damage(position, damage(1, None), 1_000);
        }
        assert_eq!(reported.damage(10, 3, 1_000), None);
        assert!(!reported.intact(30, 9 << 20));
        assert!(reported.damage(100, 1, 1_000).is_some());
        assert_eq!(reported.lock().outcomes.len(), MAX_REMEMBERED);
        reported.forget();
        assert_eq!(reported.damage(100, 1, 1_000), None);
        assert!(reported.first_time(100));
        assert!(!reported.first_time(100));
    }
}
