//! [`Groups`] on the coordinator runtime: a commit goes through the log,
//! and an operation that panics leaves the shard rebuilt from that log.

use super::*;
use crate::coordinator::ManualClock;
use crate::group::Groups;
use crate::metadata::{BrokerDefaults, TopicMeta};
use crate::partitions::Partitions;

fn open(dir: &std::path::Path) -> (Partitions, Groups) {
    let partitions = Partitions::new(dir, false);
    let meta = TopicMeta {
        name: crate::group::OFFSETS_TOPIC.into(),
        id: uuid::Uuid::new_v4(),
        partitions: 1,
        configs: Default::default(),
        internal: true,
    };
    partitions
        .open_topic(&meta, &BrokerDefaults::new(&[]))
        .unwrap();
    let p = partitions.get(crate::group::OFFSETS_TOPIC, 0).unwrap();
    let groups = Groups::open(config(), vec![p], false, ManualClock::new(1_000)).unwrap();
    (partitions, groups)
}

fn committed(groups: &Groups) -> Vec<FetchedTopic> {
    let asked = [("t".to_string(), vec![0])];
    groups
        .read("g", |c| c.fetch_offsets("g", Some(&asked)))
        .unwrap()
}

#[tokio::test]
async fn a_panicking_operation_leaves_the_group_shard_rebuilt_and_correct() {
    let dir = tempfile::tempdir().unwrap();
    let (_partitions, groups) = open(dir.path());
    let commit = CommitRequest {
        group_id: "g".into(),
        generation_id: -1,
        member_id: String::new(),
        group_instance_id: None,
        group_id_not_found_supported: true,
        partitions: vec![CommitPartition {
            topic: "t".into(),
            partition: 0,
            offset: 42,
            leader_epoch: 0,
            metadata: None,
            precheck: None,
        }],
    };
    assert_eq!(groups.commit(commit).wait().await, Ok(vec![None]));
    let before = committed(&groups);
    assert_eq!(before[0].1[0].1.as_ref().map(|v| v.offset), Some(42));

    // An operation drops the offset in memory (never written), then dies.
    let failed = groups.run("g", |c, _| -> ((), Output) {
        c.apply_record(&GroupRecord::Offset {
            key: crate::group::records::OffsetKey {
                group: "g".into(),
                topic: "t".into(),
                partition: 0,
            },
            value: None,
        });
        panic!("an operation bug");
    });
    assert_eq!(failed, Err(GroupError::NotCoordinator));
    // Rebuilt from the log: the offset is back, and the shard serves on.
    assert_eq!(committed(&groups), before);
}
