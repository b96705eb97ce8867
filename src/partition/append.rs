//! The one append path for producers: the Kafka API's Produce today, the
//! HTTP and embedded APIs tomorrow. Each call validates one partition's
//! batch (`validator.rs`) against the topic's typed config and appends it;
//! idempotence is checked inside the append, under the producer lock.

use std::sync::Arc;

use super::validator::{self, ProducedBatch, TransactionMembership};
use super::{AppendInfo, Partition, Partitions};
use crate::error::PartitionError;
use crate::metadata::TopicMeta;

impl Partitions {
    /// Validates `produced` for partition `index` of `topic` at broker time
    /// `now` and appends it. Returns the partition with where the batch
    /// landed (a retried duplicate of an idempotent producer: where it landed
    /// the first time). Under `--fsync always` the caller acknowledges only
    /// once [`Partition::make_durable`] (or the flusher) says `end_offset`
    /// is durable.
    pub fn produce(
        &self,
        topic: &TopicMeta,
        index: i32,
        produced: ProducedBatch<'_>,
        txns: &dyn TransactionMembership,
        now: i64,
    ) -> Result<(Arc<Partition>, AppendInfo), PartitionError> {
        validator::check_writable(topic)?;
        let partition = self
            .get(&topic.name, index)
            .ok_or(PartitionError::UnknownTopicOrPartition)?;
        let config = partition.config();
        let valid = validator::validate(topic, index, &config, produced, txns, now)?;
        let info = partition.append(&valid.bytes, &valid.header, valid.log_append_time)?;
        Ok((partition, info))
    }
}
