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
        let partition = self.served(&topic.name, index)?;
        let config = partition.config();
        let valid = validator::validate(topic, index, &config, produced, txns, now)?;
        let info = partition.append(&valid.bytes, &valid.header, valid.log_append_time)?;
        Ok((partition, info))
    }
}

#[cfg(test)]
mod tests {
    use sluice_protocol::records::{self, builder::BatchBuilder};

    use super::*;
    use crate::error::TxnError;
    use crate::metadata::BrokerDefaults;

    struct NoTxns;

    impl TransactionMembership for NoTxns {
        fn verify(&self, _: i64, _: i16, _: &str, _: i32) -> Result<(), TxnError> {
            Err(TxnError::InvalidTxnState)
        }
    }

    fn topic(name: &str, configs: &[(&str, &str)], internal: bool) -> TopicMeta {
        TopicMeta {
            name: name.into(),
            id: uuid::Uuid::new_v4(),
            partitions: 1,
            configs: configs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            internal,
        }
    }

    fn produced(bytes: &[u8]) -> ProducedBatch<'_> {
        ProducedBatch {
            records: Some(bytes),
            produce_version: 13,
        }
    }

    #[test]
    fn every_producer_goes_through_validation_then_the_log() {
        let partitions = Partitions::new(std::path::Path::new("unused"), true);
        let defaults = BrokerDefaults::new(&[]);
        let plain = topic("plain", &[], false);
        let stamped = topic(
            "stamped",
            &[("message.timestamp.type", "LogAppendTime")],
            false,
        );
        let internal = topic("__internal", &[], true);
        for t in [&plain, &stamped, &internal] {
            partitions.open_topic(t, &defaults).unwrap();
        }
        let now = 1_700_000_000_000;
        let bytes = BatchBuilder::new()
            .record(now - 10, Some(b"k"), Some(b"v"), &[])
            .build();

        let (partition, first) = partitions
            .produce(&plain, 0, produced(&bytes), &NoTxns, now)
            .unwrap();
        let (_, second) = partitions
            .produce(&plain, 0, produced(&bytes), &NoTxns, now)
            .unwrap();
        assert_eq!((first.base_offset, second.base_offset), (0, 1));
        assert_eq!(first.log_append_time, -1);
        assert_eq!(partition.watermarks().high_watermark, 2);

        let (partition, info) = partitions
            .produce(&stamped, 0, produced(&bytes), &NoTxns, now)
            .unwrap();
        assert_eq!(info.log_append_time, now);
        let stored = partition.read(0, 1 << 20).unwrap();
        assert_eq!(records::parse_header(&stored).unwrap().max_timestamp, now);

        assert!(matches!(
            partitions.produce(&internal, 0, produced(&bytes), &NoTxns, now),
            Err(PartitionError::InternalTopic(_))
        ));
        assert!(matches!(
            partitions.produce(&plain, 1, produced(&bytes), &NoTxns, now),
            Err(PartitionError::UnknownTopicOrPartition)
        ));
        // A refused batch leaves the log as it was.
        let transactional = BatchBuilder::new()
            .producer(5, 0, 0)
            .transactional(true)
            .record(now, Some(b"k"), Some(b"v"), &[])
            .build();
        assert!(matches!(
            partitions.produce(&plain, 0, produced(&transactional), &NoTxns, now),
            Err(PartitionError::InvalidTxnState { producer_id: 5 })
        ));
        let partition = partitions.get("plain", 0).unwrap();
        assert_eq!(partition.watermarks().high_watermark, 2);
    }
}
