//! [`PartitionWriter`]: where a coordinator's records go and come back
//! from (Kafka's `PartitionWriter` and `CoordinatorLoader` in one trait).
//!
//! Today the writer is the broker's own [`Partition`]: records are appended
//! to the local log and made durable by the broker's flusher. A cluster mode
//! puts the same trait on another engine; the runtime and the state
//! machines above it do not change.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use sluice_protocol::records::{self, builder::BatchBuilder, ControlType};

use crate::error::PartitionError;
use crate::partition::{Partition, Partitions};

/// A record's key and value (`None`: a tombstone) as stored.
pub type EncodedRecord = (Vec<u8>, Option<Vec<u8>>);

/// A future that resolves once a write is durable.
pub type DurableFuture = Pin<Box<dyn Future<Output = Result<(), PartitionError>> + Send>>;

/// One partition of an internal topic (or a data partition receiving a
/// transaction marker), as a coordinator writes and replays it.
///
/// Offsets returned are the offset *after* the write; a write is durable
/// once [`PartitionWriter::wait_durable`] for that offset resolves.
pub trait PartitionWriter: Send + Sync {
    /// The topic and partition index, for logs.
    fn topic(&self) -> &str;
    fn index(&self) -> i32;

    /// Appends `records` as one batch, transactional for `producer`
    /// (producer id, epoch) when given; returns the offset after it.
    fn append_records(
        &self,
        records: &[EncodedRecord],
        producer: Option<(i64, i16)>,
        now: i64,
    ) -> Result<i64, PartitionError>;

    /// Appends a transaction marker; returns the offset after it.
    fn append_marker(
        &self,
        producer_id: i64,
        producer_epoch: i16,
        control: ControlType,
        now: i64,
    ) -> Result<i64, PartitionError>;

    /// Resolves once everything before `end` is durable.
    fn wait_durable(self: Arc<Self>, end: i64) -> DurableFuture;

    /// Makes everything before `end` durable, blocking the caller; `false`
    /// if that failed.
    fn flush_blocking(self: Arc<Self>, end: i64) -> bool;

    /// `[log start, log end)` of what can be read back.
    fn log_range(&self) -> (i64, i64);

    /// Whole batches from `offset`, up to about `max_bytes`.
    fn read_batches(&self, offset: i64, max_bytes: usize) -> Result<Bytes, PartitionError>;
}

/// The writers of a coordinator's `count` shards: partitions `0..count` of
/// its internal topic, in index order (all of them open, or an error).
pub fn internal_topic_writers(
    partitions: &Partitions,
    topic: &str,
    count: usize,
) -> Result<Vec<Arc<dyn PartitionWriter>>, PartitionError> {
    let count = i32::try_from(count).unwrap_or(i32::MAX);
    (0..count)
        .map(|i| {
            partitions
                .get(topic, i)
                .map(|p| p as Arc<dyn PartitionWriter>)
        })
        .collect::<Option<Vec<_>>>()
        .ok_or(PartitionError::UnknownTopicOrPartition)
}

impl PartitionWriter for Partition {
    fn topic(&self) -> &str {
        &self.topic
    }

    fn index(&self) -> i32 {
        self.index
    }

    fn append_records(
        &self,
        encoded: &[EncodedRecord],
        producer: Option<(i64, i16)>,
        now: i64,
    ) -> Result<i64, PartitionError> {
        let mut builder = BatchBuilder::new();
        if let Some((producer_id, epoch)) = producer {
            builder = builder.producer(producer_id, epoch, -1).transactional(true);
        }
        for (key, value) in encoded {
            builder = builder.record(now, Some(key), value.as_deref(), &[]);
        }
        let bytes = builder.build();
        let header = records::validate_batch(&bytes)?;
        let info = if producer.is_some() {
            self.append_internal_transactional(&bytes, &header)?
        } else {
            self.append(&bytes, &header, None)?
        };
        Ok(info.end_offset)
    }

    fn append_marker(
        &self,
        producer_id: i64,
        producer_epoch: i16,
        control: ControlType,
        now: i64,
    ) -> Result<i64, PartitionError> {
        // Coordinator epoch 0: this broker has always been the coordinator.
        Partition::append_marker(self, producer_id, producer_epoch, control, 0, now)
            .map(|info| info.end_offset)
    }

    fn wait_durable(self: Arc<Self>, end: i64) -> DurableFuture {
        Box::pin(async move { self.make_durable(end).await })
    }

    fn flush_blocking(self: Arc<Self>, end: i64) -> bool {
        let failed = crate::partition::flush_many_now(std::slice::from_ref(&self));
        failed.is_empty() && self.durable_to(end)
    }

    fn log_range(&self) -> (i64, i64) {
        let marks = self.watermarks();
        (marks.log_start_offset, marks.high_watermark)
    }

    fn read_batches(&self, offset: i64, max_bytes: usize) -> Result<Bytes, PartitionError> {
        self.read(offset, max_bytes)
    }
}

/// What a replay sees of the log, in offset order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogEntry<'a> {
    /// A record; `producer_id` is set when its batch is transactional.
    Record {
        key: &'a [u8],
        value: Option<&'a [u8]>,
        producer_id: Option<i64>,
        offset: i64,
    },
    /// A transaction marker of `producer_id`.
    Marker { producer_id: i64, commit: bool },
}

/// How much startup reads at a time.
const LOAD_CHUNK: usize = 1 << 20;

/// Feeds every record and marker of `log` to `visit`, in offset order.
/// A damaged batch or record loses that batch or record (with a warning),
/// not the broker; a log that cannot be read past some offset stops the
/// load there.
pub fn load(
    log: &dyn PartitionWriter,
    visit: &mut dyn FnMut(LogEntry<'_>),
) -> Result<(), PartitionError> {
    let (start, end) = log.log_range();
    let mut next = start;
    while next < end {
        let chunk = match log.read_batches(next, LOAD_CHUNK) {
            Ok(chunk) => chunk,
            // A damaged batch (logged by storage) loses its records, not the broker.
            Err(e) if e.resume_offset().is_some_and(|resume| resume > next) => {
                next = e.resume_offset().unwrap_or(next);
                continue;
            }
            Err(e) => return Err(e),
        };
        let before = next;
        let mut rest: &[u8] = &chunk;
        while let Ok(header) = records::parse_header(rest) {
            let Some(batch) = rest.get(..header.total_len()) else {
                break;
            };
            if header.last_offset() >= next {
                load_batch(log, batch, &header, next, visit);
            }
            next = next.max(header.last_offset().saturating_add(1));
            rest = rest.get(header.total_len()..).unwrap_or_default();
        }
        if next <= before {
            tracing::warn!(
                topic = log.topic(),
                partition = log.index(),
                offset = next,
                "cannot read the log past this offset; stopping the replay there"
            );
            break;
        }
    }
    Ok(())
}

fn load_batch(
    log: &dyn PartitionWriter,
    batch: &[u8],
    header: &records::BatchHeader,
    from: i64,
    visit: &mut dyn FnMut(LogEntry<'_>),
) {
    if header.is_control() {
        if let Ok(Some(control)) = records::control_type(batch, header) {
            visit(LogEntry::Marker {
                producer_id: header.producer_id,
                commit: control == ControlType::Commit,
            });
        }
        return;
    }
    let iter = match records::records(batch) {
        Ok(iter) => iter,
        Err(e) => {
            tracing::warn!(topic = log.topic(), offset = header.base_offset, error = %e,
                "skipping unreadable batch");
            return;
        }
    };
    let producer_id = header.is_transactional().then_some(header.producer_id);
    for record in iter {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(topic = log.topic(), offset = header.base_offset, error = %e,
                    "skipping the rest of a batch");
                break;
            }
        };
        let offset = header.base_offset + i64::from(record.offset_delta);
        if offset < from {
            continue;
        }
        let Some(key) = record.key else { continue };
        visit(LogEntry::Record {
            key,
            value: record.value,
            producer_id,
            offset,
        });
    }
}
