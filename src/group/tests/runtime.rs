//! [`Groups`] on the coordinator runtime: a commit goes through the log,
//! and an operation that panics leaves the shard rebuilt from that log.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::coordinator::ManualClock;
use crate::group::Groups;
use crate::metadata::{BrokerDefaults, TopicMeta};
use crate::partition::Partitions;

fn open(dir: &std::path::Path) -> (Partitions, Groups, Arc<ManualClock>) {
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
    let clock = ManualClock::new(1_000);
    let groups = Groups::open(config(), vec![p], false, clock.clone()).unwrap();
    (partitions, groups, clock)
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
    let (_partitions, groups, _clock) = open(dir.path());
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

#[tokio::test]
async fn deadlines_fire_by_the_injected_clock() {
    let dir = tempfile::tempdir().unwrap();
    let (_partitions, groups, clock) = open(dir.path());
    let mut req = join_req("g", "", "m1");
    req.require_known_member_id = false;
    let joined = groups.join(req).wait();
    tokio::pin!(joined);
    // The first rebalance of a group waits out the initial delay...
    groups.tick();
    let early = tokio::time::timeout(Duration::from_millis(50), &mut joined).await;
    assert!(early.is_err(), "answered before the initial delay passed");
    // ...which passes when the clock says so, not the system's.
    clock.advance(DELAY);
    groups.tick();
    let joined = joined.await.unwrap();
    assert_eq!((joined.error, joined.generation_id), (None, 1));
    assert_eq!(joined.leader, "m1");
}
