//! Committed offsets, deletion, expiry, failed writes and replay.

use super::*;

const G: &str = "g";

fn part(topic: &str, partition: i32, offset: i64) -> CommitPartition {
    CommitPartition {
        topic: topic.into(),
        partition,
        offset,
        leader_epoch: 3,
        metadata: Some("m".into()),
        precheck: None,
    }
}

fn commit_req(
    group: &str,
    member: &str,
    generation: i32,
    parts: Vec<CommitPartition>,
) -> CommitRequest {
    CommitRequest {
        group_id: group.into(),
        generation_id: generation,
        member_id: member.into(),
        group_instance_id: None,
        group_id_not_found_supported: false,
        partitions: parts,
    }
}

impl Harness {
    fn commit(&mut self, req: CommitRequest) -> Vec<Option<GroupError>> {
        let id = self.id();
        let out = self.c.commit(self.now, id, req);
        self.drive(out);
        match self.take(id) {
            Some(Answer::Commit(r)) => r,
            other => panic!("expected a commit reply, got {other:?}"),
        }
    }

    fn offset(&self, group: &str, topic: &str, partition: i32) -> Option<i64> {
        let found = self
            .c
            .fetch_offsets(group, Some(&[(topic.to_string(), vec![partition])]));
        found[0].1[0].1.as_ref().map(|v| v.offset)
    }

    fn delete_group(&mut self, group: &str) -> Option<GroupError> {
        let id = self.id();
        let out = self.c.delete_group(id, group);
        self.drive(out);
        match self.take(id) {
            Some(Answer::DeleteGroup(e)) => e,
            other => panic!("expected a delete reply, got {other:?}"),
        }
    }

    fn delete_offsets(
        &mut self,
        group: &str,
        parts: &[(&str, i32)],
    ) -> Result<Vec<Option<GroupError>>, GroupError> {
        let parts: Vec<DeletePartition> = parts
            .iter()
            .map(|(t, p)| DeletePartition {
                topic: t.to_string(),
                partition: *p,
                precheck: None,
            })
            .collect();
        let id = self.id();
        let out = self.c.delete_offsets(id, group, &parts);
        self.drive(out);
        match self.take(id) {
            Some(Answer::OffsetDelete(r)) => r,
            other => panic!("expected an offset delete reply, got {other:?}"),
        }
    }
}

#[test]
fn simple_consumers_commit_with_generation_minus_one() {
    let mut h = Harness::new();
    assert_eq!(
        h.commit(commit_req(
            G,
            "",
            -1,
            vec![part("t", 0, 10), part("t", 1, 20)]
        )),
        vec![None, None]
    );
    assert_eq!(h.state(G), GroupState::Empty, "a simple group, Empty");
    assert_eq!(h.offset(G, "t", 0), Some(10));
    assert_eq!(h.offset(G, "t", 2), None);
    assert_eq!(
        h.offset("nope", "t", 0),
        None,
        "unknown groups have no offsets"
    );
    let all = h.c.fetch_offsets(G, None);
    assert_eq!(all.len(), 1);
    let v = all[0].1[1].1.clone().unwrap();
    assert_eq!(
        (
            v.offset,
            v.leader_epoch,
            v.metadata.as_str(),
            v.commit_timestamp
        ),
        (20, 3, "m", 0)
    );
}

#[test]
fn member_commits_follow_the_generation_rules() {
    let mut h = Harness::new();
    // Unknown group with a generation: ILLEGAL_GENERATION, or GROUP_ID_NOT_FOUND (v9).
    assert_eq!(
        h.commit(commit_req(G, "a", 1, vec![part("t", 0, 1)])),
        vec![Some(GroupError::IllegalGeneration)]
    );
    let mut v9 = commit_req(G, "a", 1, vec![part("t", 0, 1)]);
    v9.group_id_not_found_supported = true;
    assert_eq!(h.commit(v9), vec![Some(GroupError::GroupIdNotFound)]);
    let gen = h.stable_group(G, &["a", "b"]);
    assert_eq!(
        h.commit(commit_req(G, "a", gen, vec![part("t", 0, 5)])),
        vec![None]
    );
    assert_eq!(
        h.commit(commit_req(G, "a", gen + 1, vec![part("t", 0, 6)])),
        vec![Some(GroupError::IllegalGeneration)]
    );
    assert_eq!(
        h.commit(commit_req(G, "x", gen, vec![part("t", 0, 6)])),
        vec![Some(GroupError::UnknownMemberId)]
    );
    assert_eq!(
        h.commit(commit_req(G, "", -1, vec![part("t", 0, 6)])),
        vec![Some(GroupError::UnknownMemberId)],
        "no simple commits into an active group"
    );
    // PreparingRebalance: the current generation may still commit.
    let ja = h.join(join_req(G, "a", ""));
    assert_eq!(
        h.commit(commit_req(G, "b", gen, vec![part("t", 0, 7)])),
        vec![None]
    );
    let jb = h.join(join_req(G, "b", ""));
    let _ = (h.joined(ja), h.joined(jb));
    // CompletingRebalance: REBALANCE_IN_PROGRESS.
    assert_eq!(
        h.commit(commit_req(G, "a", gen + 1, vec![part("t", 0, 8)])),
        vec![Some(GroupError::RebalanceInProgress)]
    );
    assert_eq!(h.offset(G, "t", 0), Some(7));
}

#[test]
fn per_partition_errors() {
    let mut h = Harness::new();
    let mut unknown = part("gone", 0, 1);
    unknown.precheck = Some(GroupError::UnknownTopicOrPartition);
    let mut big = part("t", 1, 1);
    big.metadata = Some("x".repeat(17));
    let r = h.commit(commit_req(G, "", -1, vec![unknown, big, part("t", 2, 9)]));
    assert_eq!(
        r,
        vec![
            Some(GroupError::UnknownTopicOrPartition),
            Some(GroupError::OffsetMetadataTooLarge),
            None
        ]
    );
    assert_eq!(h.offset(G, "t", 2), Some(9));
    assert_eq!(h.offset(G, "t", 1), None);
}

#[test]
fn a_commit_that_cannot_be_written_is_not_acknowledged() {
    let mut h = Harness::new();
    h.commit(commit_req(G, "", -1, vec![part("t", 0, 1)]));
    h.fail_appends = true;
    assert_eq!(
        h.commit(commit_req(G, "", -1, vec![part("t", 0, 2)])),
        vec![Some(GroupError::NotCoordinator)]
    );
    assert_eq!(h.offset(G, "t", 0), Some(1), "memory agrees with the log");
}

#[test]
fn a_failed_assignment_store_resets_the_generation() {
    let mut h = Harness::new();
    let (a, b) = (h.join_new(G, "a"), h.join_new(G, "b"));
    h.advance(2 * DELAY);
    let _ = (h.joined(a), h.joined(b));
    let sb = h.sync(sync_req(G, "b", 1, &[]));
    h.fail_appends = true;
    let sa = h.sync(sync_req(G, "a", 1, &[("a", "A"), ("b", "B")]));
    assert_eq!(
        h.synced(sa).unwrap().error,
        Some(GroupError::NotCoordinator)
    );
    assert_eq!(
        h.synced(sb).unwrap().error,
        Some(GroupError::NotCoordinator)
    );
    assert_eq!(
        h.state(G),
        GroupState::PreparingRebalance,
        "CompletingRebalance -> PreparingRebalance"
    );
}

#[test]
fn everything_survives_a_replay() {
    let mut h = Harness::new();
    let gen = h.stable_group(G, &["a", "b"]);
    h.commit(commit_req(G, "a", gen, vec![part("t", 0, 42)]));
    h.commit(commit_req("simple", "", -1, vec![part("u", 3, 7)]));
    h.commit(commit_req("simple", "", -1, vec![part("u", 3, 8)]));
    let mut r = h.replay();
    assert_eq!(r.offset(G, "t", 0), Some(42));
    assert_eq!(r.offset("simple", "u", 3), Some(8), "the last commit wins");
    assert_eq!(r.state(G), GroupState::Stable);
    assert_eq!(r.generation(G), gen);
    let g = r.c.group(G).unwrap();
    assert_eq!(g.leader.as_deref(), Some("a"));
    assert_eq!(g.members["b"].assignment, Bytes::from("a-b"));
    assert_eq!(g.subscribed_topics.as_ref().map(|t| t.len()), Some(1));
    // Members carry on with their generation...
    assert_eq!(r.heartbeat(G, "a", gen), Ok(()));
    let s = r.sync(sync_req(G, "b", gen, &[]));
    assert_eq!(r.synced(s).unwrap().assignment, Bytes::from("a-b"));
    // ... and those that are gone expire after their session timeout.
    for _ in 0..10 {
        r.advance(1_000);
        let _ = r.heartbeat(G, "a", gen);
    }
    assert_eq!(r.state(G), GroupState::PreparingRebalance);
    assert!(!r.c.group(G).unwrap().members.contains_key("b"));
}

#[test]
fn delete_groups() {
    let mut h = Harness::new();
    assert_eq!(h.delete_group("nope"), Some(GroupError::GroupIdNotFound));
    let gen = h.stable_group(G, &["a"]);
    h.commit(commit_req(
        G,
        "a",
        gen,
        vec![part("t", 0, 1), part("t", 1, 1)],
    ));
    assert_eq!(h.delete_group(G), Some(GroupError::NonEmptyGroup));
    h.leave(G, &[("a", None)]).unwrap();
    assert_eq!(h.state(G), GroupState::Empty);
    h.fail_appends = true;
    assert_eq!(h.delete_group(G), Some(GroupError::NotCoordinator));
    assert_eq!(h.state(G), GroupState::Empty, "still there");
    h.fail_appends = false;
    assert_eq!(h.delete_group(G), None);
    assert!(h.c.group(G).is_none());
    let tombstones = h.log.iter().rev().take(3).filter(|r| match r {
        GroupRecord::Offset { value, .. } => value.is_none(),
        GroupRecord::Group { value, .. } => value.is_none(),
    });
    assert_eq!(tombstones.count(), 3, "two offsets and the group");
    assert!(h.replay().c.group(G).is_none(), "gone after a restart too");
    // A simple group without a generation goes too.
    h.commit(commit_req("s", "", -1, vec![part("t", 0, 1)]));
    assert_eq!(h.delete_group("s"), None);
    assert!(h.replay().c.group("s").is_none());
}

#[test]
fn offset_delete() {
    let mut h = Harness::new();
    assert_eq!(
        h.delete_offsets("nope", &[("t", 0)]),
        Err(GroupError::GroupIdNotFound)
    );
    let gen = h.stable_group(G, &["a"]); // subscribed to "t"
    h.commit(commit_req(
        G,
        "a",
        gen,
        vec![part("t", 0, 1), part("old", 0, 1)],
    ));
    assert_eq!(
        h.delete_offsets(G, &[("t", 0), ("old", 0)]),
        Ok(vec![Some(GroupError::GroupSubscribedToTopic), None])
    );
    assert_eq!(h.offset(G, "old", 0), None);
    assert_eq!(h.offset(G, "t", 0), Some(1));
    h.leave(G, &[("a", None)]).unwrap();
    assert_eq!(h.delete_offsets(G, &[("t", 0)]), Ok(vec![None]));
    assert!(
        h.c.group(G).is_none(),
        "an empty group without offsets is gone"
    );
    // Other protocols in an active group: NON_EMPTY_GROUP.
    let mut req = join_req("connect", "", "w");
    req.protocol_type = "connect".into();
    req.require_known_member_id = false;
    h.join(req);
    h.commit(commit_req("connect", "", -1, vec![]));
    assert_eq!(
        h.delete_offsets("connect", &[("t", 0)]),
        Err(GroupError::NonEmptyGroup)
    );
}

#[test]
fn offsets_expire_after_the_group_is_empty_for_the_retention() {
    let mut h = Harness::new();
    let gen = h.stable_group(G, &["a"]);
    h.commit(commit_req(G, "a", gen, vec![part("t", 0, 1)]));
    // Active groups keep their offsets however old.
    for _ in 0..200 {
        h.advance(1_000);
        h.heartbeat(G, "a", gen).unwrap();
    }
    assert_eq!(h.offset(G, "t", 0), Some(1));
    h.leave(G, &[("a", None)]).unwrap();
    let empty_since = h.now;
    h.advance(99_000);
    assert_eq!(h.offset(G, "t", 0), Some(1));
    h.advance(1_000);
    assert!(h.now >= empty_since + 100_000);
    assert!(
        h.c.group(G).is_none(),
        "Empty -> Dead: offsets expired, group removed"
    );
    assert!(h.replay().c.group(G).is_none());
}

#[test]
fn simple_group_offsets_expire_from_their_commit() {
    let mut h = Harness::new();
    h.commit(commit_req("s", "", -1, vec![part("t", 0, 1)]));
    h.advance(50_000);
    h.commit(commit_req("s", "", -1, vec![part("t", 1, 1)]));
    h.advance(50_000);
    assert_eq!(h.offset("s", "t", 0), None, "100 s after its commit");
    assert_eq!(h.offset("s", "t", 1), Some(1));
    h.advance(50_000);
    assert!(h.c.group("s").is_none());
}

#[test]
fn stable_consumer_groups_lose_offsets_of_topics_they_left() {
    let mut h = Harness::new();
    let gen = h.stable_group(G, &["a"]); // subscribed to "t"
    h.commit(commit_req(
        G,
        "a",
        gen,
        vec![part("t", 0, 1), part("left", 0, 1)],
    ));
    for _ in 0..100 {
        h.advance(1_000);
        h.heartbeat(G, "a", gen).unwrap();
    }
    assert_eq!(h.offset(G, "left", 0), None);
    assert_eq!(h.offset(G, "t", 0), Some(1));
}

#[test]
fn list_and_describe() {
    let mut h = Harness::new();
    h.stable_group("stable", &["a"]);
    h.commit(commit_req("simple", "", -1, vec![part("t", 0, 1)]));
    h.join_new("rebalancing", "x");
    let all = h.c.list_groups(&[], &[]);
    let names: Vec<_> = all
        .iter()
        .map(|g| (g.group_id.as_str(), g.state, g.protocol_type.as_str()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("rebalancing", "PreparingRebalance", "consumer"),
            ("simple", "Empty", ""),
            ("stable", "Stable", "consumer"),
        ]
    );
    let stable = h.c.list_groups(&["stable".into(), "EMPTY".into()], &[]);
    assert_eq!(stable.len(), 2, "state filter, case-insensitive");
    assert!(
        h.c.list_groups(&[], &["consumer".into()]).is_empty(),
        "no KIP-848 groups"
    );
    assert_eq!(h.c.list_groups(&[], &["Classic".into()]).len(), 3);

    let d = h.c.describe_group("stable").unwrap();
    assert_eq!(
        (d.state, d.protocol_type.as_str(), d.protocol.as_str()),
        ("Stable", "consumer", "range")
    );
    assert_eq!(d.members[0].assignment, Bytes::from("a-a"));
    assert_eq!(d.members[0].metadata, sub(&["t"]));
    let d = h.c.describe_group("rebalancing").unwrap();
    assert_eq!((d.state, d.protocol.as_str()), ("PreparingRebalance", ""));
    assert!(
        d.members[0].metadata.is_empty(),
        "no metadata outside Stable"
    );
    assert_eq!(h.c.describe_group("nope"), Err(GroupError::GroupIdNotFound));
}

impl Harness {
    fn remove_group(&mut self, group: &str) -> Option<GroupError> {
        let id = self.id();
        let out = self.c.remove_group(id, group);
        self.drive(out);
        match self.take(id) {
            Some(Answer::DeleteGroup(e)) => e,
            other => panic!("expected a delete reply, got {other:?}"),
        }
    }
}

/// The reset's deletion: a group with members (one parked in a rebalance)
/// goes with its offsets; the parked member is told UNKNOWN_MEMBER_ID, the
/// others find themselves unknown, and the id starts afresh.
#[test]
fn a_reset_removes_a_group_with_members() {
    let mut h = Harness::new();
    assert_eq!(h.remove_group("nope"), None, "nothing to remove is fine");
    let gen = h.stable_group(G, &["a", "b"]);
    h.commit(commit_req(G, "a", gen, vec![part("t", 0, 7)]));
    // "a" rejoins: parked until "b" does.
    let parked = h.join(join_req(G, "a", "unused"));
    assert_eq!(h.state(G), GroupState::PreparingRebalance);
    assert!(h.joined(parked).is_none());

    assert_eq!(h.remove_group(G), None);
    let answer = h.joined(parked).expect("the parked join is answered");
    assert_eq!(answer.error, Some(GroupError::UnknownMemberId));
    assert!(h.c.group(G).is_none());
    assert_eq!(h.offset(G, "t", 0), None);
    assert_eq!(h.heartbeat(G, "b", gen), Err(GroupError::UnknownMemberId));
    assert!(h.replay().c.group(G).is_none(), "gone after a restart too");
    // A consumer that joins again gets a new group.
    let gen = h.stable_group(G, &["c"]);
    assert_eq!(gen, 1);
}
