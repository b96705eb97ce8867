//! Splitting and validating the `records` bytes of a Produce request.

use std::ops::Range;

use super::batch::{compute_crc, parse_header, BatchHeader, Compression};
use super::record::records;
use super::RecordsError;

/// One whole, validated batch inside a larger byte string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRef<'a> {
    pub header: BatchHeader,
    /// Where the batch sits in the input given to [`split_batches`], so the
    /// caller can cut it out of its own buffer (e.g. `Bytes::slice`) without
    /// copying.
    pub range: Range<usize>,
    /// The batch's bytes: `input[range]`.
    pub bytes: &'a [u8],
    /// The largest record timestamp of an uncompressed batch (found while
    /// validating its records, so the caller need not walk them again);
    /// `None` for compressed batches, whose records are not read.
    pub record_max_timestamp: Option<i64>,
}

/// Splits the `records` bytes of a Produce request partition into whole v2
/// batches and validates each with [`validate_batch`].
///
/// The input must be one or more complete batches back to back: no input at
/// all is [`RecordsError::Empty`], and a partial batch at the end is
/// [`RecordsError::Truncated`] (Kafka would silently drop such a tail; no
/// real client sends one, so refusing it is the safer reading).
///
/// Kafka itself accepts exactly one batch per partition in Produce v3+; this
/// function returns all of them and leaves that policy to the caller.
pub fn split_batches(records: &[u8]) -> Result<Vec<BatchRef<'_>>, RecordsError> {
    if records.is_empty() {
        return Err(RecordsError::Empty);
    }
    let mut batches = Vec::new();
    let mut start = 0usize;
    while let Some(rest) = records.get(start..).filter(|rest| !rest.is_empty()) {
        let len = batch_len(rest)?;
        let end = start.saturating_add(len);
        let bytes = records.get(start..end).ok_or(RecordsError::Truncated {
            needed: len,
            available: rest.len(),
        })?;
        let (header, record_max_timestamp) = validate(bytes)?;
        batches.push(BatchRef {
            header,
            range: start..end,
            bytes,
            record_max_timestamp,
        });
        start = end;
    }
    Ok(batches)
}

/// Size of the batch at the start of `bytes` from its length field, checking
/// only what is needed to trust that size: the magic and the minimum length.
fn batch_len(bytes: &[u8]) -> Result<usize, RecordsError> {
    let header = parse_header(bytes)?;
    let total = header.total_len();
    if total > bytes.len() {
        return Err(RecordsError::Truncated {
            needed: total,
            available: bytes.len(),
        });
    }
    Ok(total)
}

/// Validates `batch`, which must be exactly one v2 batch as a producer sends
/// it, and returns its header.
///
/// Checks, in order: the header fits and the length field matches
/// `batch.len()`, magic is 2, the CRC-32C matches, the compression codec is
/// known, and `records_count >= 1` with `last_offset_delta == records_count - 1`
/// (produced batches cover relative offsets `0..records_count`; Kafka refuses
/// empty produced batches too).
///
/// For uncompressed batches it also parses every record and checks that each
/// record's offset delta equals its index, that there are exactly
/// `records_count` records, and that they fill the batch exactly.
///
/// Compressed batches are checked at the batch level only here (this stays
/// cheap, and storage reuses it): their CRC protects the compressed bytes.
/// The broker validates their records after decompressing them once with
/// [`batch_records`](super::batch_records).
pub fn validate_batch(batch: &[u8]) -> Result<BatchHeader, RecordsError> {
    validate(batch).map(|(header, _)| header)
}

/// [`validate_batch`], also returning the largest record timestamp of an
/// uncompressed batch (one pass over its records does both).
fn validate(batch: &[u8]) -> Result<(BatchHeader, Option<i64>), RecordsError> {
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
            "{} bytes after the end of the batch",
            batch.len() - total
        )));
    }
    let computed = compute_crc(batch)?;
    if computed != header.crc {
        return Err(RecordsError::CrcMismatch {
            stored: header.crc,
            computed,
        });
    }
    let compression = header.compression();
    if let Compression::Unknown(id) = compression {
        return Err(RecordsError::UnknownCompression(id));
    }
    if header.records_count < 1
        || header.last_offset_delta != header.records_count.saturating_sub(1)
    {
        return Err(RecordsError::InvalidRecordCount {
            records_count: header.records_count,
            last_offset_delta: header.last_offset_delta,
        });
    }
    let mut max_timestamp = None;
    if compression == Compression::None {
        let mut expected: i32 = 0;
        for record in records(batch)? {
            let record = record?;
            let ts = header.base_timestamp.saturating_add(record.timestamp_delta);
            max_timestamp = Some(max_timestamp.map_or(ts, |m: i64| m.max(ts)));
            if record.offset_delta != expected {
                return Err(RecordsError::Corrupt(format!(
                    "record {expected} has offset delta {}",
                    record.offset_delta
                )));
            }
            expected = expected.saturating_add(1);
        }
        // The iterator already refuses a count mismatch; this keeps the
        // invariant visible here.
        if expected != header.records_count {
            return Err(RecordsError::Corrupt(format!(
                "batch declares {} records but holds {expected}",
                header.records_count
            )));
        }
    }
    Ok((header, max_timestamp))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::batch::{ATTRIBUTES_OFFSET, CRC_OFFSET, MAGIC_OFFSET};
    use crate::records::builder::BatchBuilder;

    #[test]
    fn the_validation_pass_finds_the_largest_record_timestamp() {
        let batch = BatchBuilder::new()
            .record(500, None, Some(b"a"), &[])
            .record(900, None, Some(b"b"), &[])
            .record(700, None, Some(b"c"), &[])
            .build();
        let split = split_batches(&batch).unwrap();
        assert_eq!(split[0].record_max_timestamp, Some(900));
        // Compressed records are not read: no record timestamp.
        let gzip = BatchBuilder::new()
            .attributes(1)
            .record(500, None, Some(b"a"), &[])
            .build();
        assert_eq!(split_batches(&gzip).unwrap()[0].record_max_timestamp, None);
    }

    fn one(n: usize) -> Vec<u8> {
        let mut b = BatchBuilder::new();
        for i in 0..n {
            b = b.record(
                1_000 + i as i64,
                Some(b"key"),
                Some(b"value"),
                &[(b"h", Some(b"1"))],
            );
        }
        b.build()
    }

    fn fix_crc(batch: &mut [u8]) {
        let crc = compute_crc(batch).unwrap();
        batch[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
    }

    #[test]
    fn one_batch() {
        let batch = one(3);
        let got = split_batches(&batch).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].range, 0..batch.len());
        assert_eq!(got[0].bytes, batch.as_slice());
        assert_eq!(got[0].header.records_count, 3);
    }

    #[test]
    fn several_batches_back_to_back() {
        let (a, b) = (one(1), one(4));
        let mut input = a.clone();
        input.extend_from_slice(&b);
        let got = split_batches(&input).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].range, 0..a.len());
        assert_eq!(got[1].range, a.len()..a.len() + b.len());
        assert_eq!(got[1].header.records_count, 4);
    }

    #[test]
    fn empty_input() {
        assert_eq!(split_batches(&[]), Err(RecordsError::Empty));
    }

    #[test]
    fn every_truncation_is_refused() {
        let batch = one(2);
        for cut in 1..batch.len() {
            let err = split_batches(&batch[..cut]).unwrap_err();
            assert!(
                matches!(err, RecordsError::Truncated { .. }),
                "cut {cut}: {err:?}"
            );
        }
    }

    #[test]
    fn trailing_garbage_is_refused() {
        let mut input = one(1);
        input.extend_from_slice(&[0; 5]);
        assert!(matches!(
            split_batches(&input),
            Err(RecordsError::Truncated { .. })
        ));
        let mut exact = one(1);
        exact.push(0);
        assert!(matches!(
            validate_batch(&exact),
            Err(RecordsError::Corrupt(_))
        ));
    }

    #[test]
    fn any_flipped_byte_under_the_crc_is_caught() {
        let batch = one(2);
        for at in ATTRIBUTES_OFFSET..batch.len() {
            let mut bad = batch.clone();
            bad[at] ^= 0x01;
            assert!(
                matches!(split_batches(&bad), Err(RecordsError::CrcMismatch { .. })),
                "byte {at}"
            );
        }
        let mut bad = batch.clone();
        bad[CRC_OFFSET] ^= 0x80;
        assert!(matches!(
            validate_batch(&bad),
            Err(RecordsError::CrcMismatch { .. })
        ));
    }

    #[test]
    fn wrong_magic() {
        let mut batch = one(1);
        batch[MAGIC_OFFSET] = 1;
        assert_eq!(
            split_batches(&batch),
            Err(RecordsError::UnsupportedMagic(1))
        );
    }

    #[test]
    fn count_and_last_offset_delta_must_agree() {
        let mut batch = one(2);
        batch[23..27].copy_from_slice(&5i32.to_be_bytes());
        fix_crc(&mut batch);
        assert_eq!(
            validate_batch(&batch),
            Err(RecordsError::InvalidRecordCount {
                records_count: 2,
                last_offset_delta: 5
            })
        );
    }

    #[test]
    fn empty_batch_is_refused() {
        let batch = BatchBuilder::new().build();
        assert_eq!(
            validate_batch(&batch),
            Err(RecordsError::InvalidRecordCount {
                records_count: 0,
                last_offset_delta: -1
            })
        );
    }

    #[test]
    fn unknown_codec() {
        let mut batch = one(1);
        batch[22] |= 0x07;
        fix_crc(&mut batch);
        assert_eq!(
            validate_batch(&batch),
            Err(RecordsError::UnknownCompression(7))
        );
    }

    #[test]
    fn compressed_batches_pass_without_record_checks() {
        // Codec bits say gzip, the payload is not gzip: accepted, since the
        // records of compressed batches are not looked at.
        let batch = BatchBuilder::new()
            .attributes(1)
            .record(1, None, Some(b"v"), &[])
            .build();
        let header = validate_batch(&batch).unwrap();
        assert_eq!(header.compression(), Compression::Gzip);
    }

    #[test]
    fn offset_deltas_must_count_from_zero() {
        let batch = one(2);
        // The first record: length varint, attributes, timestamp delta (0), offset delta.
        let mut bad = batch.clone();
        bad[64] = 2; // offset delta 0 → 1 (zigzag)
        fix_crc(&mut bad);
        let err = validate_batch(&bad).unwrap_err();
        assert_eq!(
            err,
            RecordsError::Corrupt("record 0 has offset delta 1".into())
        );
    }

    #[test]
    fn record_count_must_match_the_records() {
        let mut batch = one(2);
        batch[57..61].copy_from_slice(&3i32.to_be_bytes());
        batch[23..27].copy_from_slice(&2i32.to_be_bytes());
        fix_crc(&mut batch);
        let err = validate_batch(&batch).unwrap_err();
        assert!(
            matches!(err, RecordsError::Corrupt(ref m) if m.contains("declares 3")),
            "{err}"
        );
    }
}
