//! Control records: the transaction markers a transaction coordinator writes
//! to every partition of a transaction when it commits or aborts.
//!
//! A marker is a batch with the transactional and control attribute bits
//! set, the producer id and epoch of the transaction, base sequence -1 and
//! one record whose
//!
//! ```text
//! key   = version i16 (0) | type i16 (0 = ABORT, 1 = COMMIT)
//! value = version i16 (0) | coordinator_epoch i32
//! ```
//!
//! as in Kafka's `ControlRecordType` and `EndTransactionMarker`.

use super::batch::BatchHeader;
use super::builder::BatchBuilder;
use super::record::records;
use super::RecordsError;

/// Which way a transaction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ControlType {
    Abort,
    Commit,
}

impl ControlType {
    fn id(self) -> i16 {
        match self {
            ControlType::Abort => 0,
            ControlType::Commit => 1,
        }
    }
}

/// A transaction marker batch for `producer_id` at `producer_epoch`, at
/// base offset 0 (the log assigns the real one), stamped `timestamp`.
pub fn marker_batch(
    producer_id: i64,
    producer_epoch: i16,
    control: ControlType,
    coordinator_epoch: i32,
    timestamp: i64,
) -> Vec<u8> {
    let mut key = Vec::with_capacity(4);
    key.extend_from_slice(&0i16.to_be_bytes());
    key.extend_from_slice(&control.id().to_be_bytes());
    let mut value = Vec::with_capacity(6);
    value.extend_from_slice(&0i16.to_be_bytes());
    value.extend_from_slice(&coordinator_epoch.to_be_bytes());
    BatchBuilder::new()
        .producer(producer_id, producer_epoch, -1)
        .transactional(true)
        .control(true)
        .record(timestamp, Some(&key), Some(&value), &[])
        .build()
}

/// The marker type of a control batch (`batch` starts with `header`), or
/// `None` when it is not a control batch or its key names another type.
pub fn control_type(
    batch: &[u8],
    header: &BatchHeader,
) -> Result<Option<ControlType>, RecordsError> {
    if !header.is_control() {
        return Ok(None);
    }
    let Some(first) = records(batch)?.next() else {
        return Ok(None);
    };
    let record = first?;
    let key = record.key.unwrap_or_default();
    let kind = key
        .get(2..4)
        .and_then(|b| <[u8; 2]>::try_from(b).ok())
        .map(i16::from_be_bytes);
    Ok(match kind {
        Some(0) => Some(ControlType::Abort),
        Some(1) => Some(ControlType::Commit),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::validate_batch;

    #[test]
    fn markers_round_trip() {
        for kind in [ControlType::Abort, ControlType::Commit] {
            let batch = marker_batch(42, 3, kind, 7, 1_000);
            let header = validate_batch(&batch).unwrap();
            assert!(header.is_control() && header.is_transactional());
            assert_eq!(
                (
                    header.producer_id,
                    header.producer_epoch,
                    header.base_sequence
                ),
                (42, 3, -1)
            );
            assert_eq!(header.records_count, 1);
            assert_eq!(control_type(&batch, &header).unwrap(), Some(kind));
            let record = records(&batch).unwrap().next().unwrap().unwrap();
            assert_eq!(record.value.unwrap(), &[0, 0, 0, 0, 0, 7]);
        }
    }

    #[test]
    fn data_batches_are_not_markers() {
        let batch = BatchBuilder::new().record(1, Some(b"k"), None, &[]).build();
        let header = validate_batch(&batch).unwrap();
        assert_eq!(control_type(&batch, &header).unwrap(), None);
    }
}
