//! What the cleaner keeps of one batch, and the bytes of the batches it writes.
//!
//! The rules are Kafka's (`Cleaner.cleanInto`, `MemoryRecords.filterTo`):
//!
//! - a data record survives when it has a key and no later record of that key is
//!   in the offset map; a tombstone (null value) also goes once its batch's delete
//!   horizon has passed. Records without a key are dropped (a compacted topic
//!   refuses them; these came before the topic was compacted).
//! - a transactional batch of an aborted transaction goes whole; its abort marker
//!   stays while any of its batches was still there in this pass;
//! - a marker goes once no batch of its transaction is left and its delete horizon
//!   (set the first time it was found removable) has passed;
//! - a retained batch keeps its base offset, last offset delta, producer id, epoch,
//!   base sequence, leader epoch, codec and timestamp type; each record keeps its
//!   offset; a batch whose records all went but that is the last batch of an active
//!   producer stays as an empty batch (header only), so that the producer's
//!   sequence state survives a restart;
//! - a batch that keeps a tombstone or a removable marker and has no delete horizon
//!   gets one: `now + delete.retention.ms`, stored as Kafka does (KIP-534): the
//!   attributes' delete-horizon bit, the horizon in the base timestamp field, record
//!   timestamp deltas counted from it.
//!
//! Records of compressed batches are decompressed (at most 128 MiB per batch),
//! filtered and recompressed with the batch's codec at Kafka's default level, through
//! `sluice_protocol::records::compression`. A batch whose records cannot be read is
//! kept as it is, and its keys are not put in the map (so no older record is dropped
//! on its account).

use std::collections::{HashMap, HashSet};

use sluice_protocol::records::batch::{BATCH_HEADER_LEN, DELETE_HORIZON_BIT};
use sluice_protocol::records::{self, BatchHeader, Compression, ControlType};

use super::offset_map::{key_hash, OffsetMap};
use super::AbortedRange;

/// A record read out of a batch, owning nothing: offsets and timestamps absolute.
#[derive(Debug, Clone)]
pub(crate) struct OwnedRecord {
    pub(crate) offset: i64,
    pub(crate) timestamp: i64,
    pub(crate) key: Option<Vec<u8>>,
    pub(crate) value: Option<Vec<u8>>,
    pub(crate) headers: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

/// The records of `batch` (which starts with `header`), or `None` when they cannot be
/// read (an unsupported codec, damage): such a batch is kept as it is.
pub(crate) fn read_records(batch: &[u8], header: &BatchHeader) -> Option<Vec<OwnedRecord>> {
    let plain;
    let bytes = match header.compression() {
        Compression::None => batch,
        codec => {
            plain = decompressed(batch, header, codec)?;
            &plain[..]
        }
    };
    let base_timestamp = header.base_timestamp;
    let mut out = Vec::with_capacity(usize::try_from(header.records_count).unwrap_or(0).min(4096));
    for record in records::records(bytes).ok()? {
        let record = record.ok()?;
        out.push(OwnedRecord {
            offset: header
                .base_offset
                .checked_add(i64::from(record.offset_delta))?,
            timestamp: base_timestamp.wrapping_add(record.timestamp_delta),
            key: record.key.map(<[u8]>::to_vec),
            value: record.value.map(<[u8]>::to_vec),
            headers: record
                .headers
                .iter()
                .map(|(k, v)| (k.to_vec(), v.map(<[u8]>::to_vec)))
                .collect(),
        });
    }
    Some(out)
}

/// The most a compressed batch's records may inflate to for the cleaner; a batch
/// beyond it is kept as it is.
const MAX_DECOMPRESSED: usize = 128 << 20;

/// An uncompressed copy of a compressed batch (the header with the codec bits cleared,
/// then the records), for the record parser; `None` if it cannot be decompressed.
fn decompressed(batch: &[u8], header: &BatchHeader, codec: Compression) -> Option<Vec<u8>> {
    let area = batch.get(BATCH_HEADER_LEN..header.total_len())?;
    let plain = records::decompress(codec, area, MAX_DECOMPRESSED).ok()?;
    let fields = HeaderFields {
        base_offset: header.base_offset,
        partition_leader_epoch: header.partition_leader_epoch,
        attributes: header.attributes & !0x07,
        last_offset_delta: header.last_offset_delta,
        base_timestamp: header.base_timestamp,
        max_timestamp: header.max_timestamp,
        producer_id: header.producer_id,
        producer_epoch: header.producer_epoch,
        base_sequence: header.base_sequence,
        records_count: header.records_count,
    };
    Some(assemble(&fields, &plain))
}

/// Compresses a records area with `codec` (Kafka's default level); `None` if that
/// fails.
fn compressed(area: &[u8], codec: Compression) -> Option<Vec<u8>> {
    records::compress(codec, area, None).ok()
}

/// Which transactions are aborted, followed batch by batch in offset order (Kafka's
/// `CleanedTransactionMetadata`).
#[derive(Debug)]
pub(crate) struct TxnTracker {
    /// By first offset.
    aborted: Vec<AbortedRange>,
    next: usize,
    /// Producers in an aborted transaction now, and whether a batch of it was seen.
    ongoing_aborted: HashMap<i64, bool>,
    /// Producers in a committed transaction of which a batch was seen.
    ongoing_committed: HashSet<i64>,
}

impl TxnTracker {
    pub(crate) fn new(mut aborted: Vec<AbortedRange>) -> TxnTracker {
        aborted.sort_by_key(|a| a.first_offset);
        TxnTracker {
            aborted,
            next: 0,
            ongoing_aborted: HashMap::new(),
            ongoing_committed: HashSet::new(),
        }
    }

    fn advance(&mut self, offset: i64) {
        while let Some(txn) = self.aborted.get(self.next) {
            if txn.first_offset > offset {
                break;
            }
            if txn.last_offset >= offset {
                self.ongoing_aborted.insert(txn.producer_id, false);
            }
            self.next += 1;
        }
    }

    /// A data batch: whether it belongs to an aborted transaction.
    pub(crate) fn data_is_aborted(&mut self, header: &BatchHeader) -> bool {
        if !header.is_transactional() {
            return false;
        }
        self.advance(header.base_offset);
        match self.ongoing_aborted.get_mut(&header.producer_id) {
            Some(seen) => {
                *seen = true;
                true
            }
            None => {
                self.ongoing_committed.insert(header.producer_id);
                false
            }
        }
    }

    /// A control batch: whether no batch of its transaction is left (so that the
    /// marker may go once its delete horizon has passed).
    pub(crate) fn marker_removable(
        &mut self,
        header: &BatchHeader,
        kind: Option<ControlType>,
    ) -> bool {
        self.advance(header.base_offset);
        match kind {
            Some(ControlType::Abort) => {
                !matches!(self.ongoing_aborted.remove(&header.producer_id), Some(true))
            }
            Some(ControlType::Commit) => !self.ongoing_committed.remove(&header.producer_id),
            None => false,
        }
    }
}

/// The settings one batch is filtered with.
pub(crate) struct Rules<'a> {
    pub(crate) map: &'a OffsetMap,
    pub(crate) now_ms: i64,
    pub(crate) delete_retention_ms: i64,
    /// Last offsets of batches to keep (at least as empty batches) for producer state.
    pub(crate) producer_last_offsets: &'a HashSet<i64>,
}

/// What becomes of one batch.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// Written as it was.
    Keep,
    /// Written as these bytes (fewer records, or a delete horizon added).
    Rewrite(Vec<u8>),
    /// Nothing of it is written.
    Drop,
}

/// Counts of what a pass removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Removed {
    pub(crate) records: u64,
    pub(crate) tombstones: u64,
    pub(crate) aborted_batches: u64,
    pub(crate) markers: u64,
    /// The earliest delete horizon of a batch kept with one: when a pass is due
    /// although nothing is dirty.
    pub(crate) earliest_horizon: Option<i64>,
}

impl Removed {
    fn horizon(&mut self, horizon: i64) {
        self.earliest_horizon = Some(self.earliest_horizon.map_or(horizon, |h| h.min(horizon)));
    }
}

fn horizon_passed(header: &BatchHeader, now_ms: i64) -> bool {
    header.has_delete_horizon() && header.base_timestamp <= now_ms
}

/// Decides the fate of `batch` (whole, starting with `header`).
pub(crate) fn filter_batch(
    batch: &[u8],
    header: &BatchHeader,
    rules: &Rules<'_>,
    txns: &mut TxnTracker,
    removed: &mut Removed,
) -> Verdict {
    let producer_last =
        header.has_producer_id() && rules.producer_last_offsets.contains(&header.last_offset());
    let empty_or_drop = || {
        if producer_last {
            Verdict::Rewrite(empty_batch(header))
        } else {
            Verdict::Drop
        }
    };
    if header.records_count == 0 {
        // An empty batch (kept for a producer earlier, or a filler): only a
        // producer's last batch is still worth keeping.
        return if producer_last {
            Verdict::Keep
        } else {
            Verdict::Drop
        };
    }
    if header.is_control() {
        let kind = records::control_type(batch, header).ok().flatten();
        if !txns.marker_removable(header, kind) {
            return Verdict::Keep;
        }
        if horizon_passed(header, rules.now_ms) {
            removed.markers += 1;
            return empty_or_drop();
        }
        if header.has_delete_horizon() {
            removed.horizon(header.base_timestamp);
            return Verdict::Keep;
        }
        let Some(all) = read_records(batch, header) else {
            return Verdict::Keep;
        };
        let horizon = rules.now_ms.saturating_add(rules.delete_retention_ms);
        removed.horizon(horizon);
        return build(header, &all, Some(horizon)).map_or(Verdict::Keep, Verdict::Rewrite);
    }
    if txns.data_is_aborted(header) {
        removed.aborted_batches += 1;
        removed.records += u64::try_from(header.records_count).unwrap_or(0);
        return empty_or_drop();
    }
    let Some(all) = read_records(batch, header) else {
        return Verdict::Keep;
    };
    let total = all.len();
    let tombstones_expire = horizon_passed(header, rules.now_ms);
    let mut kept = Vec::with_capacity(total);
    let mut keeps_tombstone = false;
    for record in all {
        let Some(key) = record.key.as_deref() else {
            removed.records += 1;
            continue;
        };
        let latest = rules
            .map
            .get(key_hash(key))
            .is_none_or(|o| record.offset >= o);
        let tombstone = record.value.is_none();
        if !latest || (tombstone && tombstones_expire) {
            removed.records += 1;
            removed.tombstones += u64::from(tombstone && latest);
            continue;
        }
        keeps_tombstone |= tombstone;
        kept.push(record);
    }
    let needs_horizon = keeps_tombstone && !header.has_delete_horizon();
    if keeps_tombstone && header.has_delete_horizon() {
        removed.horizon(header.base_timestamp);
    }
    if kept.len() == total && !needs_horizon {
        return Verdict::Keep;
    }
    if kept.is_empty() {
        return empty_or_drop();
    }
    let horizon = if header.has_delete_horizon() {
        Some(header.base_timestamp)
    } else if needs_horizon {
        let horizon = rules.now_ms.saturating_add(rules.delete_retention_ms);
        removed.horizon(horizon);
        Some(horizon)
    } else {
        None
    };
    build(header, &kept, horizon).map_or(Verdict::Keep, Verdict::Rewrite)
}

/// Puts the keys of a batch into the map; `false` if the map filled before the batch
/// was done (then nothing from `batch` on counts as mapped).
pub(crate) fn map_batch(
    batch: &[u8],
    header: &BatchHeader,
    map: &mut OffsetMap,
    txns: &mut TxnTracker,
) -> bool {
    if header.is_control() || header.records_count == 0 {
        if header.is_control() {
            let kind = records::control_type(batch, header).ok().flatten();
            txns.marker_removable(header, kind);
        }
        return true;
    }
    if txns.data_is_aborted(header) {
        return true;
    }
    let Some(all) = read_records(batch, header) else {
        return true;
    };
    let new_keys = all
        .iter()
        .filter_map(|r| r.key.as_deref())
        .filter(|k| map.get(key_hash(k)).is_none())
        .count();
    if new_keys > map.room() {
        return false;
    }
    for record in &all {
        if let Some(key) = record.key.as_deref() {
            map.put(key_hash(key), record.offset);
        }
    }
    true
}

/// A batch of `header`'s offsets, producer fields and attributes holding `kept`
/// (re-encoded, recompressed with the batch's codec), with `horizon` as its delete
/// horizon if given. `None` if the codec is not available for writing.
pub(crate) fn build(
    header: &BatchHeader,
    kept: &[OwnedRecord],
    horizon: Option<i64>,
) -> Option<Vec<u8>> {
    let base_timestamp = horizon.unwrap_or_else(|| kept.first().map_or(-1, |r| r.timestamp));
    let log_append_time = header.timestamp_type() == records::TimestampType::LogAppendTime;
    let max_timestamp = if log_append_time {
        header.max_timestamp
    } else {
        kept.iter().map(|r| r.timestamp).max().unwrap_or(-1)
    };
    let mut area = Vec::new();
    for record in kept {
        let delta = i32::try_from(record.offset - header.base_offset).ok()?;
        encode_record(
            &mut area,
            record,
            delta,
            record.timestamp.wrapping_sub(base_timestamp),
        );
    }
    let codec = header.compression();
    let area = match codec {
        Compression::None => area,
        codec => compressed(&area, codec)?,
    };
    let mut attributes = header.attributes;
    if horizon.is_some() {
        attributes |= DELETE_HORIZON_BIT;
    }
    let fields = HeaderFields {
        base_offset: header.base_offset,
        partition_leader_epoch: header.partition_leader_epoch,
        attributes,
        last_offset_delta: header.last_offset_delta,
        base_timestamp,
        max_timestamp,
        producer_id: header.producer_id,
        producer_epoch: header.producer_epoch,
        base_sequence: header.base_sequence,
        records_count: i32::try_from(kept.len()).ok()?,
    };
    Some(assemble(&fields, &area))
}

/// The header-only batch Kafka keeps for a producer's last batch when all its records
/// went (`DefaultRecordBatch.writeEmptyHeader`).
pub(crate) fn empty_batch(header: &BatchHeader) -> Vec<u8> {
    // Codec and delete-horizon bits cleared: there are no records to compress.
    let keep = records::batch::TIMESTAMP_TYPE_BIT
        | records::batch::TRANSACTIONAL_BIT
        | records::batch::CONTROL_BIT;
    let fields = HeaderFields {
        base_offset: header.base_offset,
        partition_leader_epoch: header.partition_leader_epoch,
        attributes: header.attributes & keep,
        last_offset_delta: header.last_offset_delta,
        base_timestamp: header.max_timestamp,
        max_timestamp: header.max_timestamp,
        producer_id: header.producer_id,
        producer_epoch: header.producer_epoch,
        base_sequence: header.base_sequence,
        records_count: 0,
    };
    assemble(&fields, &[])
}

/// An empty batch standing for the offsets `[first, last]` whose batches the cleaner
/// removed, so that a segment's offsets stay contiguous (see the module doc of
/// `cleaner/`). No producer, no timestamp.
pub(crate) fn filler_batch(first: i64, last: i64, leader_epoch: i32) -> Vec<u8> {
    let fields = HeaderFields {
        base_offset: first,
        partition_leader_epoch: leader_epoch,
        attributes: 0,
        last_offset_delta: i32::try_from(last - first).unwrap_or(i32::MAX),
        base_timestamp: -1,
        max_timestamp: -1,
        producer_id: -1,
        producer_epoch: -1,
        base_sequence: -1,
        records_count: 0,
    };
    assemble(&fields, &[])
}

struct HeaderFields {
    base_offset: i64,
    partition_leader_epoch: i32,
    attributes: i16,
    last_offset_delta: i32,
    base_timestamp: i64,
    max_timestamp: i64,
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
    records_count: i32,
}

fn assemble(f: &HeaderFields, area: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(BATCH_HEADER_LEN + area.len());
    out.extend_from_slice(&f.base_offset.to_be_bytes());
    let length = i32::try_from(BATCH_HEADER_LEN - 12 + area.len()).unwrap_or(i32::MAX);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(&f.partition_leader_epoch.to_be_bytes());
    out.push(2);
    out.extend_from_slice(&0u32.to_be_bytes());
    out.extend_from_slice(&f.attributes.to_be_bytes());
    out.extend_from_slice(&f.last_offset_delta.to_be_bytes());
    out.extend_from_slice(&f.base_timestamp.to_be_bytes());
    out.extend_from_slice(&f.max_timestamp.to_be_bytes());
    out.extend_from_slice(&f.producer_id.to_be_bytes());
    out.extend_from_slice(&f.producer_epoch.to_be_bytes());
    out.extend_from_slice(&f.base_sequence.to_be_bytes());
    out.extend_from_slice(&f.records_count.to_be_bytes());
    out.extend_from_slice(area);
    let crc = crc32c::crc32c(out.get(21..).unwrap_or_default());
    if let Some(slot) = out.get_mut(17..21) {
        slot.copy_from_slice(&crc.to_be_bytes());
    }
    out
}

fn put_varlong(out: &mut Vec<u8>, value: i64) {
    let mut v = ((value << 1) ^ (value >> 63)) as u64;
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_bytes(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
    match bytes {
        None => put_varlong(out, -1),
        Some(b) => {
            put_varlong(out, b.len() as i64);
            out.extend_from_slice(b);
        }
    }
}

/// One v2 record (see `sluice_protocol::records::record` for the layout).
fn encode_record(out: &mut Vec<u8>, r: &OwnedRecord, offset_delta: i32, timestamp_delta: i64) {
    let mut body = Vec::with_capacity(
        16 + r.key.as_ref().map_or(0, Vec::len) + r.value.as_ref().map_or(0, Vec::len),
    );
    body.push(0);
    put_varlong(&mut body, timestamp_delta);
    put_varlong(&mut body, i64::from(offset_delta));
    put_bytes(&mut body, r.key.as_deref());
    put_bytes(&mut body, r.value.as_deref());
    put_varlong(&mut body, r.headers.len() as i64);
    for (k, v) in &r.headers {
        put_bytes(&mut body, Some(k));
        put_bytes(&mut body, v.as_deref());
    }
    put_varlong(out, body.len() as i64);
    out.extend_from_slice(&body);
}
