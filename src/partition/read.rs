//! Reads of one partition: byte ranges up to the high watermark (or the
//! last stable offset for read_committed) and the offset lookups of
//! ListOffsets. The bytes served are the bytes stored: nothing is parsed
//! beyond batch headers, and records only to refine a timestamp lookup.

use bytes::Bytes;
use sluice_protocol::records;

use super::aborted::AbortedTxn;
use super::Partition;
use crate::error::PartitionError;

impl Partition {
    /// Whole batches starting with the one that holds `offset`, up to the
    /// high watermark; at least one batch when any is there.
    pub fn read(&self, offset: i64, max_bytes: usize) -> Result<Bytes, PartitionError> {
        let marks = self.watermarks();
        if offset < marks.log_start_offset || offset > marks.high_watermark {
            return Err(PartitionError::OffsetOutOfRange {
                offset,
                log_start: marks.log_start_offset,
                log_end: marks.high_watermark,
            });
        }
        if offset == marks.high_watermark {
            return Ok(Bytes::new());
        }
        Ok(self.lock_log().read(offset, max_bytes)?)
    }

    /// read_committed: whole batches from `offset` that lie below the last
    /// stable offset, and the aborted transactions overlapping them.
    pub fn read_committed(
        &self,
        offset: i64,
        max_bytes: usize,
    ) -> Result<(Bytes, Vec<AbortedTxn>), PartitionError> {
        let lso = self.watermarks().last_stable_offset;
        if offset >= lso {
            // Nothing committed to give: no read (a consumer waiting behind
            // an open transaction fetches here over and over). An offset
            // past the end is still refused.
            if offset > self.watermarks().high_watermark {
                self.read(offset, 0)?;
            }
            return Ok((Bytes::new(), Vec::new()));
        }
        let mut bytes = self.read(offset, max_bytes)?;
        // Cut after the last whole batch that ends below the LSO.
        let mut keep = 0;
        let mut rest: &[u8] = &bytes;
        while let Ok(header) = records::parse_header(rest) {
            if header.last_offset() >= lso || header.total_len() > rest.len() {
                break;
            }
            keep += header.total_len();
            rest = rest.get(header.total_len()..).unwrap_or_default();
        }
        bytes.truncate(keep);
        let aborted = self.lock_producers().aborted.overlapping(offset, lso);
        Ok((bytes, aborted))
    }

    /// Offset and timestamp of the first record with timestamp >= `ts`.
    pub fn offset_for_timestamp(&self, ts: i64) -> Result<Option<(i64, i64)>, PartitionError> {
        let found = self.lock_log().offset_for_timestamp(ts)?;
        let Some((base_offset, max_timestamp, batch)) = found else {
            return Ok(None);
        };
        // Refine to the exact record when the batch can be read record by
        // record (uncompressed, CreateTime); otherwise the batch start is
        // the first offset that can hold such a record.
        if let Some((offset, timestamp)) = exact_record(&batch, |t| t >= ts) {
            return Ok(Some((offset, timestamp)));
        }
        Ok(Some((base_offset, max_timestamp)))
    }

    /// Offset and timestamp of the record with the largest timestamp.
    pub fn max_timestamp(&self) -> Result<Option<(i64, i64)>, PartitionError> {
        let log = self.lock_log();
        let Some((timestamp, last_offset)) = log.max_timestamp() else {
            return Ok(None);
        };
        let batch = log.read(last_offset, 1)?;
        drop(log);
        if let Some(found) = exact_record(&batch, |t| t == timestamp) {
            return Ok(Some((found.0, timestamp)));
        }
        Ok(Some((last_offset, timestamp)))
    }
}

/// Finds the first record in `batch` whose timestamp matches `pred`,
/// returning (offset, timestamp). `None` if the batch cannot be iterated
/// (compressed) or no record matches.
fn exact_record(batch: &[u8], pred: impl Fn(i64) -> bool) -> Option<(i64, i64)> {
    let header = records::parse_header(batch).ok()?;
    if header.timestamp_type() == records::TimestampType::LogAppendTime {
        return pred(header.max_timestamp).then_some((header.base_offset, header.max_timestamp));
    }
    let iter = records::records(batch).ok()?;
    for record in iter {
        let record = record.ok()?;
        let ts = header.base_timestamp.saturating_add(record.timestamp_delta);
        if pred(ts) {
            return Some((header.base_offset + i64::from(record.offset_delta), ts));
        }
    }
    None
}
