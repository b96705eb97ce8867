//! Per-partition producer state: what idempotence and transactions need to
//! know about each producer that wrote to one partition.
//!
//! For every producer id seen in the partition the table keeps its current
//! epoch, the metadata of its last [`BATCHES_TO_RETAIN`] batches (first and
//! last sequence, first and last offset, log append time) and the first
//! offset of its open transaction, if any. This is Kafka's
//! `ProducerStateManager` / `ProducerAppendInfo` for the client path:
//!
//! | incoming batch                                   | verdict                     |
//! |--------------------------------------------------|-----------------------------|
//! | same epoch, (first, last seq) of a cached batch  | duplicate: original offsets |
//! | epoch older than the current one                 | INVALID_PRODUCER_EPOCH      |
//! | epoch newer, first seq not 0 (producer known)    | OUT_OF_ORDER_SEQUENCE_NUMBER|
//! | same epoch, first seq != last seq + 1 (wrapping) | OUT_OF_ORDER_SEQUENCE_NUMBER|
//! | producer unknown to this partition               | accepted, any sequence      |
//!
//! The last row is KIP-360: the state of a producer may be gone (its batches
//! deleted by retention or DeleteRecords), so modern Kafka accepts it and
//! starts tracking from there instead of answering UNKNOWN_PRODUCER_ID.
//!
//! Ownership: one table per partition, behind the partition's producer lock,
//! which an append holds across check, log append and [`ProducerStateTable::record`],
//! so that check and update cannot interleave with another append.
//!
//! Expiry: a producer whose last write (the largest timestamp of its last
//! batch, or its last marker's time) is `producer.id.expiration.ms` old and
//! that has no transaction open here is forgotten
//! ([`ProducerStateTable::remove_expired_producers`], Kafka's
//! `removeExpiredProducers`), every `producer.id.expiration.check.interval.ms`
//! and once at start after the partitions are opened — so neither a snapshot
//! nor the replayed log brings back a producer that had expired.
//!
//! Recovery: [`ProducerStateTable::replay`] applies a batch header read back
//! from the log with no checks (the log is the truth); opening a partition
//! replays its whole log, headers only.

use std::collections::{HashMap, VecDeque};

use sluice_protocol::records::{BatchHeader, ControlType};

use super::aborted::{AbortedTxn, AbortedTxns};
use crate::error::PartitionError;

/// Batches remembered per producer: librdkafka and the Java client keep at
/// most five requests in flight per partition with idempotence.
pub const BATCHES_TO_RETAIN: usize = 5;

/// No epoch yet (Kafka's `RecordBatch.NO_PRODUCER_EPOCH`).
pub const NO_PRODUCER_EPOCH: i16 = -1;

/// Where one producer batch landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchMetadata {
    pub first_seq: i32,
    pub last_seq: i32,
    pub first_offset: i64,
    pub last_offset: i64,
    /// The broker time written into the batch, or -1 (CreateTime).
    pub log_append_time: i64,
}

/// What the table knows about one producer in this partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerEntry {
    pub epoch: i16,
    /// Oldest first; at most [`BATCHES_TO_RETAIN`].
    pub(super) batches: VecDeque<BatchMetadata>,
    /// First offset of this producer's open transaction in this partition.
    pub current_txn_first_offset: Option<i64>,
    /// The largest timestamp of its last batch (DescribeProducers).
    pub last_timestamp: i64,
}

impl ProducerEntry {
    pub(super) fn new(epoch: i16) -> Self {
        ProducerEntry {
            epoch,
            batches: VecDeque::with_capacity(BATCHES_TO_RETAIN),
            current_txn_first_offset: None,
            last_timestamp: -1,
        }
    }

    /// The last sequence number written, if any batch is remembered.
    pub fn last_seq(&self) -> Option<i32> {
        self.batches.back().map(|b| b.last_seq)
    }

    /// Idle for `expiration_ms` at `now`, with no transaction open (Kafka's
    /// `isProducerExpired`).
    pub fn is_expired(&self, now: i64, expiration_ms: i64) -> bool {
        self.current_txn_first_offset.is_none()
            && now.saturating_sub(self.last_timestamp) >= expiration_ms
    }

    fn push(&mut self, batch: BatchMetadata) {
        if self.batches.len() == BATCHES_TO_RETAIN {
            self.batches.pop_front();
        }
        self.batches.push_back(batch);
    }
}

/// The producer fields of one data batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerBatch {
    pub producer_id: i64,
    pub epoch: i16,
    pub first_seq: i32,
    pub last_seq: i32,
    pub transactional: bool,
}

impl ProducerBatch {
    /// The producer fields of a batch from an idempotent or transactional
    /// producer; `None` for a plain producer's batch and for control batches.
    pub fn of(header: &BatchHeader) -> Option<ProducerBatch> {
        if !header.has_producer_id() || header.is_control() {
            return None;
        }
        Some(ProducerBatch {
            producer_id: header.producer_id,
            epoch: header.producer_epoch,
            first_seq: header.base_sequence,
            last_seq: increment_sequence(header.base_sequence, header.last_offset_delta),
            transactional: header.is_transactional(),
        })
    }
}

/// `seq + delta`, wrapping past `i32::MAX` to 0 as Kafka's sequences do.
pub fn increment_sequence(seq: i32, delta: i32) -> i32 {
    if delta < 0 {
        return seq;
    }
    if seq > i32::MAX - delta {
        delta - (i32::MAX - seq) - 1
    } else {
        seq + delta
    }
}

fn in_sequence(last_seq: i32, next_seq: i32) -> bool {
    i64::from(next_seq) == i64::from(last_seq) + 1 || (next_seq == 0 && last_seq == i32::MAX)
}

/// What to do with an incoming batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Write it.
    Append,
    /// A retry of a batch already written: answer with its offsets, write nothing.
    Duplicate(BatchMetadata),
}

/// The producers of one partition.
#[derive(Debug, Default)]
pub struct ProducerStateTable {
    pub(super) producers: HashMap<i64, ProducerEntry>,
    /// Transactions aborted in this partition (read_committed fetches).
    pub aborted: AbortedTxns,
}

impl ProducerStateTable {
    pub fn new() -> Self {
        Self::default()
    }

    #[cfg(test)]
    pub fn get(&self, producer_id: i64) -> Option<&ProducerEntry> {
        self.producers.get(&producer_id)
    }

    /// Every producer, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (i64, &ProducerEntry)> {
        self.producers.iter().map(|(id, e)| (*id, e))
    }

    /// Decides what to do with a client's batch (see the module table).
    pub fn check(&self, batch: &ProducerBatch) -> Result<Verdict, PartitionError> {
        if batch.first_seq < 0 {
            return Err(PartitionError::InvalidRecord(format!(
                "invalid sequence number {} in a batch of producer {}",
                batch.first_seq, batch.producer_id
            )));
        }
        let Some(entry) = self.producers.get(&batch.producer_id) else {
            return Ok(Verdict::Append);
        };
        if batch.epoch == entry.epoch {
            if let Some(dup) = entry
                .batches
                .iter()
                .find(|b| b.first_seq == batch.first_seq && b.last_seq == batch.last_seq)
            {
                return Ok(Verdict::Duplicate(*dup));
            }
        }
        if batch.epoch < entry.epoch {
            return Err(PartitionError::InvalidProducerEpoch {
                producer_id: batch.producer_id,
                epoch: batch.epoch,
                current: entry.epoch,
            });
        }
        if batch.epoch > entry.epoch {
            if batch.first_seq != 0 && entry.epoch != NO_PRODUCER_EPOCH {
                return Err(PartitionError::OutOfOrderSequence {
                    producer_id: batch.producer_id,
                    expected: 0,
                    got: batch.first_seq,
                });
            }
            return Ok(Verdict::Append);
        }
        match entry.last_seq() {
            Some(last) if !in_sequence(last, batch.first_seq) => {
                Err(PartitionError::OutOfOrderSequence {
                    producer_id: batch.producer_id,
                    expected: increment_sequence(last, 1),
                    got: batch.first_seq,
                })
            }
            _ => Ok(Verdict::Append),
        }
    }

    /// Records a batch just appended at `first_offset..=last_offset`.
    pub fn record(&mut self, batch: &ProducerBatch, meta: BatchMetadata, max_timestamp: i64) {
        let entry = self
            .producers
            .entry(batch.producer_id)
            .or_insert_with(|| ProducerEntry::new(batch.epoch));
        if batch.epoch != entry.epoch {
            // A new epoch starts a new sequence: older batches cannot be
            // retried under it.
            entry.epoch = batch.epoch;
            entry.batches.clear();
        }
        entry.push(meta);
        entry.last_timestamp = max_timestamp;
        if batch.transactional && entry.current_txn_first_offset.is_none() {
            entry.current_txn_first_offset = Some(meta.first_offset);
        }
    }

    /// A `control` marker of `producer_id` at `epoch` was written at
    /// `marker_offset` with `marker_timestamp`: ends its open transaction,
    /// remembering it if aborted. The marker counts as the producer's last
    /// write (its expiry is measured from it), as in Kafka.
    pub fn complete_transaction(
        &mut self,
        producer_id: i64,
        epoch: i16,
        control: ControlType,
        marker_offset: i64,
        marker_timestamp: i64,
    ) {
        let first = self.end_transaction(producer_id, epoch);
        if let Some(entry) = self.producers.get_mut(&producer_id) {
            entry.last_timestamp = marker_timestamp;
        }
        if let (ControlType::Abort, Some(first_offset)) = (control, first) {
            self.aborted.push(AbortedTxn {
                producer_id,
                first_offset,
                last_offset: marker_offset,
            });
        }
    }

    /// Ends `producer_id`'s open transaction (a commit or abort marker was
    /// written at `epoch`); returns the first offset it had.
    pub fn end_transaction(&mut self, producer_id: i64, epoch: i16) -> Option<i64> {
        let entry = self
            .producers
            .entry(producer_id)
            .or_insert_with(|| ProducerEntry::new(epoch));
        if epoch > entry.epoch {
            entry.epoch = epoch;
            entry.batches.clear();
        }
        entry.current_txn_first_offset.take()
    }

    /// Removes the producers whose last write is at least `expiration_ms`
    /// old at `now` and that have no transaction open here (Kafka's
    /// `producer.id.expiration.ms`); returns how many. A later batch of such
    /// a producer is one of an unknown producer (see the module table).
    pub fn remove_expired_producers(&mut self, now: i64, expiration_ms: i64) -> usize {
        let before = self.producers.len();
        self.producers
            .retain(|_, e| !e.is_expired(now, expiration_ms));
        before - self.producers.len()
    }

    /// The first offset of the earliest open transaction, if any.
    pub fn first_open_transaction_offset(&self) -> Option<i64> {
        self.producers
            .values()
            .filter_map(|e| e.current_txn_first_offset)
            .min()
    }

    /// Applies a batch read back from the log (`batch` starts with
    /// `header`), without checks. Markers end the producer's transaction.
    pub fn replay(&mut self, batch: &[u8], header: &BatchHeader) {
        if !header.has_producer_id() {
            return;
        }
        if header.is_control() {
            match sluice_protocol::records::control_type(batch, header) {
                Ok(Some(control)) => self.complete_transaction(
                    header.producer_id,
                    header.producer_epoch,
                    control,
                    header.base_offset,
                    header.max_timestamp,
                ),
                _ => {
                    tracing::warn!(offset = header.base_offset, "unreadable control batch");
                    self.end_transaction(header.producer_id, header.producer_epoch);
                }
            }
            return;
        }
        let Some(batch) = ProducerBatch::of(header) else {
            return;
        };
        let log_append_time = match header.timestamp_type() {
            sluice_protocol::records::TimestampType::LogAppendTime => header.max_timestamp,
            sluice_protocol::records::TimestampType::CreateTime => -1,
        };
        let meta = BatchMetadata {
            first_seq: batch.first_seq,
            last_seq: batch.last_seq,
            first_offset: header.base_offset,
            last_offset: header.last_offset(),
            log_append_time,
        };
        self.record(&batch, meta, header.max_timestamp);
    }
}

/// How much of a log [`ProducerStateTable::load`] reads at a time.
const LOAD_CHUNK: usize = 1 << 20;

impl ProducerStateTable {
    /// Rebuilds the table by replaying every batch header of `log`.
    /// A batch that cannot be parsed ends the replay there with a warning
    /// (recovery has already cut torn tails, so this is not expected).
    pub fn load(log: &sluice_storage::Log) -> ProducerStateTable {
        Self::load_from(log, ProducerStateTable::new(), log.log_start_offset())
    }

    /// Replays the batch headers of `log` from `from` on into `table`
    /// (a snapshot of the state below `from`).
    pub fn load_from(
        log: &sluice_storage::Log,
        mut table: ProducerStateTable,
        from: i64,
    ) -> ProducerStateTable {
        let end = log.log_end_offset();
        let mut next = from.max(log.log_start_offset());
        while next < end {
            let chunk = match log.read(next, LOAD_CHUNK) {
                Ok(chunk) => chunk,
                // A damaged batch (logged by storage): step over it.
                Err(sluice_storage::StorageError::CorruptBatch { resume_offset, .. })
                    if resume_offset > next =>
                {
                    next = resume_offset;
                    continue;
                }
                Err(e) => {
                    tracing::warn!(dir = %log.dir().display(), offset = next, error = %e,
                        "cannot read the log to rebuild producer state; stopping there");
                    break;
                }
            };
            let before = next;
            let mut rest: &[u8] = &chunk;
            while let Ok(header) = sluice_protocol::records::parse_header(rest) {
                if header.total_len() > rest.len() {
                    break;
                }
                if header.last_offset() >= next {
                    table.replay(rest, &header);
                }
                next = next.max(header.last_offset().saturating_add(1));
                rest = rest.get(header.total_len()..).unwrap_or_default();
            }
            if next <= before {
                tracing::warn!(dir = %log.dir().display(), offset = next,
                    "cannot parse the log to rebuild producer state; stopping there");
                break;
            }
        }
        table
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(pid: i64, epoch: i16, first: i32, count: i32) -> ProducerBatch {
        ProducerBatch {
            producer_id: pid,
            epoch,
            first_seq: first,
            last_seq: increment_sequence(first, count - 1),
            transactional: false,
        }
    }

    fn write(t: &mut ProducerStateTable, b: &ProducerBatch, offset: i64) -> BatchMetadata {
        let meta = BatchMetadata {
            first_seq: b.first_seq,
            last_seq: b.last_seq,
            first_offset: offset,
            last_offset: offset + i64::from(b.last_seq - b.first_seq),
            log_append_time: -1,
        };
        assert_eq!(t.check(b).unwrap(), Verdict::Append);
        t.record(b, meta, 0);
        meta
    }

    #[test]
    fn in_order_batches_are_appended_and_retries_are_duplicates() {
        let mut t = ProducerStateTable::new();
        let mut metas = Vec::new();
        for i in 0..7 {
            metas.push(write(&mut t, &batch(1, 0, i * 10, 10), i64::from(i) * 10));
        }
        // The last five are remembered with their offsets.
        for (i, meta) in metas.iter().enumerate().skip(2) {
            let b = batch(1, 0, i as i32 * 10, 10);
            assert_eq!(t.check(&b).unwrap(), Verdict::Duplicate(*meta));
        }
        // Older ones are out of order.
        assert!(matches!(
            t.check(&batch(1, 0, 0, 10)),
            Err(PartitionError::OutOfOrderSequence { expected: 70, .. })
        ));
    }

    #[test]
    fn gaps_are_out_of_order() {
        let mut t = ProducerStateTable::new();
        write(&mut t, &batch(1, 0, 0, 5), 0);
        assert!(matches!(
            t.check(&batch(1, 0, 6, 1)),
            Err(PartitionError::OutOfOrderSequence {
                expected: 5,
                got: 6,
                ..
            })
        ));
        // A batch overlapping the last one without matching it is out of order too.
        assert!(t.check(&batch(1, 0, 2, 5)).is_err());
        assert_eq!(t.check(&batch(1, 0, 5, 1)).unwrap(), Verdict::Append);
    }

    #[test]
    fn epochs() {
        let mut t = ProducerStateTable::new();
        write(&mut t, &batch(1, 3, 0, 5), 0);
        assert!(matches!(
            t.check(&batch(1, 2, 5, 1)),
            Err(PartitionError::InvalidProducerEpoch { current: 3, .. })
        ));
        assert!(matches!(
            t.check(&batch(1, 4, 5, 1)),
            Err(PartitionError::OutOfOrderSequence { .. })
        ));
        write(&mut t, &batch(1, 4, 0, 1), 5);
        // The old epoch's batches are forgotten with the bump.
        assert!(matches!(
            t.check(&batch(1, 3, 0, 5)),
            Err(PartitionError::InvalidProducerEpoch { .. })
        ));
    }

    #[test]
    fn unknown_producers_start_anywhere_and_negative_sequences_are_invalid() {
        let t = ProducerStateTable::new();
        assert_eq!(t.check(&batch(9, 0, 1234, 3)).unwrap(), Verdict::Append);
        assert!(matches!(
            t.check(&batch(9, 0, -1, 1)),
            Err(PartitionError::InvalidRecord(_))
        ));
    }

    #[test]
    fn sequences_wrap() {
        assert_eq!(increment_sequence(i32::MAX, 1), 0);
        assert_eq!(increment_sequence(i32::MAX - 1, 3), 1);
        assert_eq!(increment_sequence(5, 4), 9);
        let mut t = ProducerStateTable::new();
        write(&mut t, &batch(1, 0, i32::MAX - 1, 2), 0);
        assert_eq!(t.check(&batch(1, 0, 0, 1)).unwrap(), Verdict::Append);
    }

    #[test]
    fn idle_producers_expire_unless_a_transaction_is_open() {
        const EXPIRATION: i64 = 86_400_000;
        let mut t = ProducerStateTable::new();
        let idle = batch(1, 0, 0, 5);
        t.record(&idle, write_meta(&idle, 0), 1_000);
        let mut open = batch(2, 0, 0, 1);
        open.transactional = true;
        t.record(&open, write_meta(&open, 5), 1_000);
        assert_eq!(
            t.remove_expired_producers(1_000 + EXPIRATION - 1, EXPIRATION),
            0
        );
        // Kafka's rule: idle for at least the expiration, no open transaction.
        assert_eq!(
            t.remove_expired_producers(1_000 + EXPIRATION, EXPIRATION),
            1
        );
        assert!(t.get(1).is_none());
        assert!(t.get(2).is_some(), "an open transaction keeps its producer");
        assert_eq!(t.first_open_transaction_offset(), Some(5));
        // The expired producer is unknown now: any sequence is accepted
        // (KIP-360: no UNKNOWN_PRODUCER_ID), and 0 starts a new state too.
        assert_eq!(t.check(&batch(1, 0, 5, 1)).unwrap(), Verdict::Append);
        assert_eq!(t.check(&batch(1, 0, 0, 1)).unwrap(), Verdict::Append);
        assert_eq!(
            t.check(&batch(1, 0, 0, 5)).unwrap(),
            Verdict::Append,
            "no longer a duplicate"
        );
    }

    #[test]
    fn a_marker_is_the_last_write_expiry_counts_from() {
        const EXPIRATION: i64 = 1_000;
        let mut t = ProducerStateTable::new();
        let mut b = batch(7, 0, 0, 1);
        b.transactional = true;
        t.record(&b, write_meta(&b, 0), 100);
        t.complete_transaction(7, 0, ControlType::Commit, 1, 5_000);
        assert_eq!(t.get(7).unwrap().last_timestamp, 5_000);
        assert_eq!(t.remove_expired_producers(5_999, EXPIRATION), 0);
        assert_eq!(t.remove_expired_producers(6_000, EXPIRATION), 1);
    }

    fn write_meta(b: &ProducerBatch, offset: i64) -> BatchMetadata {
        BatchMetadata {
            first_seq: b.first_seq,
            last_seq: b.last_seq,
            first_offset: offset,
            last_offset: offset + i64::from(b.last_seq - b.first_seq),
            log_append_time: -1,
        }
    }

    #[test]
    fn transactions_open_and_end() {
        let mut t = ProducerStateTable::new();
        let mut b = batch(1, 0, 0, 2);
        b.transactional = true;
        write(&mut t, &b, 10);
        let mut b2 = batch(2, 0, 0, 1);
        b2.transactional = true;
        write(&mut t, &b2, 12);
        assert_eq!(t.first_open_transaction_offset(), Some(10));
        assert_eq!(t.end_transaction(1, 0), Some(10));
        assert_eq!(t.first_open_transaction_offset(), Some(12));
        assert_eq!(t.end_transaction(2, 0), Some(12));
        assert_eq!(t.first_open_transaction_offset(), None);
    }
}
