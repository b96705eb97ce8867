//! In-place header rewrites the broker makes before appending a batch.
//!
//! Each function takes exactly one batch (`batch.len()` equal to its length
//! field plus 12) and refuses anything else, so a rewrite can never touch a
//! neighbouring batch. Base offset and partition leader epoch lie before the
//! CRC'd range and leave the CRC alone; [`set_log_append_time`] changes CRC'd
//! bytes and so recomputes the CRC.
//!
//! None of these check the existing CRC: validate first
//! ([`validate_batch`](super::validate_batch) / [`split_batches`](super::split_batches)),
//! or a corrupt batch would come out of [`set_log_append_time`] with a fresh,
//! valid CRC.

use super::batch::{
    compute_crc, parse_header, BatchHeader, ATTRIBUTES_OFFSET, BASE_OFFSET_OFFSET,
    BATCH_HEADER_LEN, CRC_OFFSET, MAX_TIMESTAMP_OFFSET, PARTITION_LEADER_EPOCH_OFFSET,
    TIMESTAMP_TYPE_BIT,
};
use super::RecordsError;

/// Sets the base offset: the absolute offset of the batch's first record.
pub fn set_base_offset(batch: &mut [u8], base_offset: i64) -> Result<(), RecordsError> {
    exactly_one(batch)?;
    put(batch, BASE_OFFSET_OFFSET, &base_offset.to_be_bytes())
}

/// Sets the partition leader epoch the batch was appended under.
pub fn set_partition_leader_epoch(batch: &mut [u8], epoch: i32) -> Result<(), RecordsError> {
    exactly_one(batch)?;
    put(batch, PARTITION_LEADER_EPOCH_OFFSET, &epoch.to_be_bytes())
}

/// Marks the batch as LogAppendTime (attributes bit 3) with `max_timestamp =
/// now_ms`, then rewrites the CRC. Consumers take `max_timestamp` as every
/// record's timestamp for such batches; `base_timestamp` and the record
/// timestamp deltas are left as the producer wrote them, as Kafka does.
pub fn set_log_append_time(batch: &mut [u8], now_ms: i64) -> Result<(), RecordsError> {
    let header = exactly_one(batch)?;
    let attributes = header.attributes | TIMESTAMP_TYPE_BIT;
    put(batch, ATTRIBUTES_OFFSET, &attributes.to_be_bytes())?;
    put(batch, MAX_TIMESTAMP_OFFSET, &now_ms.to_be_bytes())?;
    let crc = compute_crc(batch)?;
    put(batch, CRC_OFFSET, &crc.to_be_bytes())
}

/// Sets the batch's max timestamp (CreateTime batches whose producer left
/// it unset or wrong) and recomputes the CRC.
pub fn set_max_timestamp(batch: &mut [u8], max_timestamp: i64) -> Result<(), RecordsError> {
    exactly_one(batch)?;
    put(batch, MAX_TIMESTAMP_OFFSET, &max_timestamp.to_be_bytes())?;
    let crc = compute_crc(batch)?;
    put(batch, CRC_OFFSET, &crc.to_be_bytes())
}

/// A copy of the batch's 61-byte header with the base offset and partition
/// leader epoch set: what [`set_base_offset`] and
/// [`set_partition_leader_epoch`] would make of it, without copying the
/// records. Written before `batch[BATCH_HEADER_LEN..]`, it gives the same
/// bytes (both fields lie before the CRC'd range).
pub fn patched_header(
    batch: &[u8],
    base_offset: i64,
    epoch: i32,
) -> Result<[u8; BATCH_HEADER_LEN], RecordsError> {
    exactly_one(batch)?;
    let mut head = [0u8; BATCH_HEADER_LEN];
    head.copy_from_slice(
        batch
            .get(..BATCH_HEADER_LEN)
            .ok_or(RecordsError::Truncated {
                needed: BATCH_HEADER_LEN,
                available: batch.len(),
            })?,
    );
    put(&mut head, BASE_OFFSET_OFFSET, &base_offset.to_be_bytes())?;
    put(
        &mut head,
        PARTITION_LEADER_EPOCH_OFFSET,
        &epoch.to_be_bytes(),
    )?;
    Ok(head)
}

fn exactly_one(batch: &[u8]) -> Result<BatchHeader, RecordsError> {
    let header = parse_header(batch)?;
    let total = header.total_len();
    if total > batch.len() {
        return Err(RecordsError::Truncated {
            needed: total,
            available: batch.len(),
        });
    }
    if total < batch.len() {
        return Err(RecordsError::Corrupt(format!(
            "rewrite needs exactly one batch: {} bytes after its end",
            batch.len() - total
        )));
    }
    Ok(header)
}

fn put(batch: &mut [u8], at: usize, bytes: &[u8]) -> Result<(), RecordsError> {
    let end = at.saturating_add(bytes.len());
    let available = batch.len();
    let target = batch.get_mut(at..end).ok_or(RecordsError::Truncated {
        needed: end,
        available,
    })?;
    target.copy_from_slice(bytes);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::batch::TimestampType;
    use crate::records::builder::BatchBuilder;
    use crate::records::{records, validate_batch};

    fn batch() -> Vec<u8> {
        BatchBuilder::new()
            .record(1_000, Some(b"a"), Some(b"1"), &[])
            .record(1_010, None, Some(b"2"), &[(b"h", None)])
            .build()
    }

    #[test]
    fn base_offset_and_epoch_keep_the_crc() {
        let mut b = batch();
        let before = validate_batch(&b).unwrap();
        set_base_offset(&mut b, 42_000).unwrap();
        set_partition_leader_epoch(&mut b, 9).unwrap();
        let after = validate_batch(&b).unwrap();
        assert_eq!(after.base_offset, 42_000);
        assert_eq!(after.last_offset(), 42_001);
        assert_eq!(after.partition_leader_epoch, 9);
        assert_eq!(after.crc, before.crc);
    }

    #[test]
    fn a_patched_header_before_the_records_equals_the_rewritten_batch() {
        let original = batch();
        let mut rewritten = original.clone();
        set_base_offset(&mut rewritten, 7_000).unwrap();
        set_partition_leader_epoch(&mut rewritten, 3).unwrap();
        let head = patched_header(&original, 7_000, 3).unwrap();
        let joined = [&head[..], &original[BATCH_HEADER_LEN..]].concat();
        assert_eq!(joined, rewritten);
        validate_batch(&joined).unwrap();
        // Only exactly one batch: not a prefix, not two.
        assert!(patched_header(&original[..original.len() - 1], 0, 0).is_err());
        assert!(patched_header(&[&original[..], &original[..]].concat(), 0, 0).is_err());
        assert!(patched_header(&original[..30], 0, 0).is_err());
    }

    #[test]
    fn log_append_time_sets_type_and_max_and_a_valid_crc() {
        let mut b = batch();
        let before = validate_batch(&b).unwrap();
        set_log_append_time(&mut b, 5_000).unwrap();
        let after = validate_batch(&b).unwrap();
        assert_eq!(after.timestamp_type(), TimestampType::LogAppendTime);
        assert_eq!(after.max_timestamp, 5_000);
        assert_eq!(after.base_timestamp, before.base_timestamp);
        assert_eq!(after.attributes, before.attributes | TIMESTAMP_TYPE_BIT);
        assert_ne!(after.crc, before.crc);
        assert_eq!(records(&b).unwrap().count(), 2);
        // Idempotent.
        set_log_append_time(&mut b, 5_000).unwrap();
        assert_eq!(validate_batch(&b).unwrap(), after);
    }

    #[test]
    fn other_attribute_bits_survive() {
        let mut b = BatchBuilder::new()
            .producer(7, 1, 0)
            .transactional(true)
            .record(1, None, Some(b"v"), &[])
            .build();
        set_log_append_time(&mut b, 77).unwrap();
        let h = validate_batch(&b).unwrap();
        assert!(h.is_transactional());
        assert_eq!(h.timestamp_type(), TimestampType::LogAppendTime);
    }

    #[test]
    fn not_exactly_one_batch_is_refused_and_untouched() {
        let b = batch();
        let mut short = b[..b.len() - 1].to_vec();
        let copy = short.clone();
        assert!(matches!(
            set_log_append_time(&mut short, 1),
            Err(RecordsError::Truncated { .. })
        ));
        assert!(set_base_offset(&mut short, 1).is_err());
        assert_eq!(short, copy);

        let mut long = b.clone();
        long.push(0);
        assert!(matches!(
            set_partition_leader_epoch(&mut long, 1),
            Err(RecordsError::Corrupt(_))
        ));
        assert!(set_base_offset(&mut [0u8; 10], 1).is_err());
        assert!(set_base_offset(&mut [], 1).is_err());
    }
}
