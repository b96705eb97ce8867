//! OffsetForLeaderEpoch as one partition answers it
//! ([`Partition::end_offset_for_epoch`]): Kafka's leader-epoch cache lookup
//! over the one epoch this node leads at.

use sluice_protocol::records::{self, builder::BatchBuilder};

use super::{Partitions, LEADER_EPOCH};
use crate::metadata::{BrokerDefaults, TopicMeta};

#[test]
fn the_current_epoch_ends_at_the_log_end_and_older_ones_at_the_log_start() {
    let dir = tempfile::tempdir().unwrap();
    let partitions = Partitions::new(dir.path(), false);
    let meta = TopicMeta {
        name: "t".into(),
        id: uuid::Uuid::new_v4(),
        partitions: 1,
        configs: Default::default(),
        internal: false,
    };
    partitions
        .open_topic(&meta, &BrokerDefaults::new(&[]))
        .unwrap();
    let p = partitions.get("t", 0).unwrap();
    // An empty log: the epoch starts (and ends) at 0.
    assert_eq!(
        p.end_offset_for_epoch(LEADER_EPOCH),
        Some((LEADER_EPOCH, 0))
    );
    for _ in 0..5 {
        let bytes = BatchBuilder::new().record(1, None, Some(b"v"), &[]).build();
        let header = records::validate_batch(&bytes).unwrap();
        p.append(&bytes, &header, None).unwrap();
    }
    assert_eq!(
        p.end_offset_for_epoch(LEADER_EPOCH),
        Some((LEADER_EPOCH, 5))
    );
    // Newer than ours, or undefined: Kafka's undefined answer.
    assert_eq!(p.end_offset_for_epoch(LEADER_EPOCH + 1), None);
    assert_eq!(p.end_offset_for_epoch(-1), None);
    // Older than every cached epoch: itself, ending where ours starts, which
    // moves up with the log start offset.
    assert_eq!(p.end_offset_for_epoch(-3), Some((-3, 0)));
    p.delete_records(2).unwrap();
    assert_eq!(p.end_offset_for_epoch(-3), Some((-3, 2)));
    assert_eq!(
        p.end_offset_for_epoch(LEADER_EPOCH),
        Some((LEADER_EPOCH, 5))
    );
}
