//! Dynamic membership: every state transition of Kafka's table, driven by
//! requests and by the clock.

use super::*;

const G: &str = "g";

#[test]
fn first_member_empty_to_preparing_to_completing_to_stable() {
    let mut h = Harness::new();
    // v4+: a new member is told its id first; the group exists, Empty.
    let join = h.join_new(G, "m1");
    assert_eq!(
        h.state(G),
        GroupState::PreparingRebalance,
        "Empty -> PreparingRebalance"
    );
    assert!(h.joined(join).is_none(), "parked during the initial delay");
    h.advance(DELAY - 1);
    assert!(h.joined(join).is_none());
    h.advance(1);
    let r = h.joined(join).expect("answered when the delay ends");
    assert_eq!(r.error, None);
    assert_eq!(r.generation_id, 1);
    assert_eq!((r.leader.as_str(), r.member_id.as_str()), ("m1", "m1"));
    assert_eq!(r.protocol_name.as_deref(), Some("range"));
    assert_eq!(r.members.len(), 1, "the leader sees every member");
    assert_eq!(
        h.state(G),
        GroupState::CompletingRebalance,
        "PreparingRebalance -> CompletingRebalance"
    );
    let s = h.sync(sync_req(G, "m1", 1, &[("m1", "p0")]));
    assert_eq!(h.synced(s).unwrap().assignment, Bytes::from("p0"));
    assert_eq!(
        h.state(G),
        GroupState::Stable,
        "CompletingRebalance -> Stable"
    );
    let stored = h.log.iter().any(|r| {
        matches!(r, GroupRecord::Group { value: Some(v), .. }
        if v.generation == 1 && v.members.len() == 1 && v.members[0].assignment == "p0")
    });
    assert!(stored, "the assignment is stored before it is handed out");
}

#[test]
fn old_clients_join_without_member_id_required() {
    let mut h = Harness::new();
    let mut req = join_req(G, "", "m1");
    req.require_known_member_id = false;
    let id = h.join(req);
    assert!(h.joined(id).is_none(), "parked at once");
    h.advance(DELAY);
    assert_eq!(h.joined(id).unwrap().member_id, "m1");
}

#[test]
fn initial_delay_extends_while_members_arrive_but_not_past_the_rebalance_timeout() {
    let mut h = Harness::new();
    let a = h.join_new(G, "a");
    h.advance(DELAY - 100);
    let b = h.join_new(G, "b");
    h.advance(100);
    assert!(
        h.joined(a).is_none(),
        "a new member arrived: wait another delay"
    );
    h.advance(DELAY);
    let (ra, rb) = (h.joined(a).unwrap(), h.joined(b).unwrap());
    assert_eq!(
        (ra.generation_id, rb.generation_id),
        (1, 1),
        "both in the first generation"
    );
    assert_eq!(ra.members.len(), 2);

    // Members arriving forever: the rebalance timeout caps the wait.
    let mut h = Harness::new();
    let first = h.join_new("busy", "m0");
    for i in 1..100 {
        h.advance(DELAY - 1);
        if h.joined(first).is_some() {
            assert!(h.now <= i64::from(REBALANCE) + DELAY, "capped");
            return;
        }
        h.join_new("busy", &format!("m{i}"));
    }
    panic!("the initial delay never ended");
}

#[test]
fn followers_wait_for_the_leader_sync() {
    let mut h = Harness::new();
    let (a, b) = (h.join_new(G, "a"), h.join_new(G, "b"));
    h.advance(2 * DELAY);
    let ra = h.joined(a).unwrap();
    let rb = h.joined(b).unwrap();
    assert_eq!(ra.leader, "a");
    assert!(
        rb.members.is_empty(),
        "followers do not get the member list"
    );
    let fb = h.sync(sync_req(G, "b", 1, &[]));
    assert!(
        h.synced(fb).is_none(),
        "parked until the leader's assignment"
    );
    let fa = h.sync(sync_req(
        G,
        "a",
        1,
        &[("a", "A"), ("b", "B"), ("ghost", "X")],
    ));
    assert_eq!(h.synced(fa).unwrap().assignment, Bytes::from("A"));
    assert_eq!(h.synced(fb).unwrap().assignment, Bytes::from("B"));
}

#[test]
fn heartbeat_answers_per_state() {
    let mut h = Harness::new();
    assert_eq!(
        h.heartbeat(G, "x", 0),
        Err(GroupError::UnknownMemberId),
        "no group"
    );
    assert_eq!(h.heartbeat("", "x", 0), Err(GroupError::InvalidGroupId));
    let gen = h.stable_group(G, &["a", "b"]);
    assert_eq!(h.heartbeat(G, "a", gen), Ok(()), "Stable");
    assert_eq!(
        h.heartbeat(G, "a", gen + 1),
        Err(GroupError::IllegalGeneration)
    );
    assert_eq!(h.heartbeat(G, "zz", gen), Err(GroupError::UnknownMemberId));
    // The leader rejoins: PreparingRebalance.
    let ja = h.join(join_req(G, "a", ""));
    assert_eq!(
        h.state(G),
        GroupState::PreparingRebalance,
        "Stable -> PreparingRebalance (leader join)"
    );
    assert_eq!(
        h.heartbeat(G, "b", gen),
        Err(GroupError::RebalanceInProgress)
    );
    let jb = h.join(join_req(G, "b", ""));
    let (ra, rb) = (h.joined(ja).unwrap(), h.joined(jb).unwrap());
    assert_eq!(
        (ra.generation_id, rb.generation_id),
        (gen + 1, gen + 1),
        "everyone rejoined: at once"
    );
    assert_eq!(h.heartbeat(G, "b", gen + 1), Ok(()), "CompletingRebalance");
    assert_eq!(h.heartbeat(G, "b", gen), Err(GroupError::IllegalGeneration));
}

#[test]
fn follower_rejoin_with_same_metadata_keeps_the_generation() {
    let mut h = Harness::new();
    let gen = h.stable_group(G, &["a", "b"]);
    let j = h.join(join_req(G, "b", ""));
    let r = h.joined(j).expect("answered at once");
    assert_eq!(
        (r.error, r.generation_id, r.leader.as_str()),
        (None, gen, "a")
    );
    assert_eq!(h.state(G), GroupState::Stable);
    // Changed metadata: a rebalance.
    let mut req = join_req(G, "b", "");
    req.protocols = vec![("range".into(), sub(&["t", "u"]))];
    h.join(req);
    assert_eq!(h.state(G), GroupState::PreparingRebalance);
}

#[test]
fn a_join_during_completing_rebalance_restarts_it() {
    let mut h = Harness::new();
    let (a, b) = (h.join_new(G, "a"), h.join_new(G, "b"));
    h.advance(2 * DELAY);
    h.joined(a).unwrap();
    h.joined(b).unwrap();
    let fb = h.sync(sync_req(G, "b", 1, &[]));
    // b lost the answer and asks again with the same metadata: same generation.
    let again = h.join(join_req(G, "b", ""));
    assert_eq!(h.joined(again).unwrap().generation_id, 1);
    assert_eq!(h.state(G), GroupState::CompletingRebalance);
    // A new member: CompletingRebalance -> PreparingRebalance, b's parked sync told to rejoin.
    let c = h.join_new(G, "c");
    assert_eq!(h.state(G), GroupState::PreparingRebalance);
    assert_eq!(
        h.synced(fb).unwrap().error,
        Some(GroupError::RebalanceInProgress)
    );
    let s = h.sync(sync_req(G, "a", 1, &[]));
    assert_eq!(
        h.synced(s).unwrap().error,
        Some(GroupError::RebalanceInProgress)
    );
    let (ja, jb) = (h.join(join_req(G, "a", "")), h.join(join_req(G, "b", "")));
    for id in [ja, jb, c] {
        assert_eq!(h.joined(id).unwrap().generation_id, 2);
    }
}

#[test]
fn commit_and_sync_in_completing_rebalance() {
    let mut h = Harness::new();
    let a = h.join_new(G, "a");
    h.advance(DELAY);
    h.joined(a).unwrap();
    // SyncGroup from a stale generation or unknown member.
    let s = h.sync(sync_req(G, "a", 7, &[]));
    assert_eq!(
        h.synced(s).unwrap().error,
        Some(GroupError::IllegalGeneration)
    );
    let s = h.sync(sync_req(G, "x", 1, &[]));
    assert_eq!(
        h.synced(s).unwrap().error,
        Some(GroupError::UnknownMemberId)
    );
    let mut bad = sync_req(G, "a", 1, &[]);
    bad.protocol_name = Some("roundrobin".into());
    let s = h.sync(bad);
    assert_eq!(
        h.synced(s).unwrap().error,
        Some(GroupError::InconsistentGroupProtocol)
    );
}

#[test]
fn session_timeout_removes_a_silent_member_and_the_others_rebalance() {
    let mut h = Harness::new();
    let gen = h.stable_group(G, &["a", "b", "c"]);
    // a and b heartbeat, c is gone.
    for _ in 0..9 {
        h.advance(1_000);
        assert_eq!(h.heartbeat(G, "a", gen), Ok(()));
        assert_eq!(h.heartbeat(G, "b", gen), Ok(()));
    }
    assert_eq!(h.state(G), GroupState::Stable);
    h.advance(1_000);
    assert_eq!(
        h.state(G),
        GroupState::PreparingRebalance,
        "Stable -> PreparingRebalance (c expired)"
    );
    assert!(!h.c.group(G).unwrap().members.contains_key("c"));
    assert_eq!(
        h.heartbeat(G, "a", gen),
        Err(GroupError::RebalanceInProgress)
    );
    let ja = h.join(join_req(G, "a", ""));
    let jb = h.join(join_req(G, "b", ""));
    let ra = h.joined(ja).expect("all remaining members rejoined");
    assert_eq!(ra.generation_id, gen + 1);
    assert_eq!(ra.members.len(), 2);
    assert!(h.joined(jb).is_some());
}

#[test]
fn members_parked_in_a_rebalance_do_not_expire() {
    let mut h = Harness::new();
    let gen = h.stable_group(G, &["a", "b"]);
    let ja = h.join(join_req(G, "a", ""));
    // b keeps heartbeating but takes long to rejoin; a waits parked.
    for _ in 0..20 {
        h.advance(1_000);
        assert_eq!(
            h.heartbeat(G, "b", gen),
            Err(GroupError::RebalanceInProgress)
        );
    }
    assert!(
        h.c.group(G).unwrap().members.contains_key("a"),
        "parked a is alive"
    );
    let jb = h.join(join_req(G, "b", ""));
    assert!(h.joined(ja).is_some() && h.joined(jb).is_some());
}

#[test]
fn rebalance_timeout_drops_members_that_do_not_rejoin() {
    let mut h = Harness::new();
    let gen = h.stable_group(G, &["a", "b"]);
    let ja = h.join(join_req(G, "a", ""));
    for _ in 0..29 {
        h.advance(1_000);
        // b heartbeats (so its session lives) but never rejoins.
        let _ = h.heartbeat(G, "b", gen);
        assert!(h.joined(ja).is_none());
    }
    h.advance(1_000);
    let r = h.joined(ja).expect("completed at the rebalance timeout");
    assert_eq!(r.members.len(), 1);
    assert!(!h.c.group(G).unwrap().members.contains_key("b"));
    assert_eq!(h.heartbeat(G, "b", gen), Err(GroupError::UnknownMemberId));
}

#[test]
fn members_that_never_sync_are_removed_after_the_rebalance_timeout() {
    let mut h = Harness::new();
    let (a, b) = (h.join_new(G, "a"), h.join_new(G, "b"));
    h.advance(2 * DELAY);
    h.joined(a).unwrap();
    h.joined(b).unwrap();
    let s = h.sync(sync_req(G, "a", 1, &[("a", "A"), ("b", "B")]));
    assert!(h.synced(s).is_some());
    assert_eq!(h.state(G), GroupState::Stable);
    // b heartbeats but never sends SyncGroup.
    for _ in 0..30 {
        h.advance(1_000);
        let _ = h.heartbeat(G, "a", 1);
        let _ = h.heartbeat(G, "b", 1);
    }
    assert!(
        !h.c.group(G).unwrap().members.contains_key("b"),
        "pending sync expired"
    );
    assert_eq!(h.state(G), GroupState::PreparingRebalance);
}

#[test]
fn leaving_members_rebalance_the_rest_and_the_last_one_empties_the_group() {
    let mut h = Harness::new();
    let gen = h.stable_group(G, &["a", "b"]);
    assert_eq!(h.leave(G, &[("b", None)]), Ok(vec![None]));
    assert_eq!(
        h.state(G),
        GroupState::PreparingRebalance,
        "Stable -> PreparingRebalance (leave)"
    );
    assert_eq!(
        h.leave(G, &[("zz", None)]),
        Ok(vec![Some(GroupError::UnknownMemberId)])
    );
    assert_eq!(
        h.leave("nope", &[("zz", None)]),
        Ok(vec![Some(GroupError::UnknownMemberId)])
    );
    assert_eq!(
        h.leave("", &[("zz", None)]),
        Err(GroupError::InvalidGroupId)
    );
    let ja = h.join(join_req(G, "a", ""));
    assert_eq!(h.joined(ja).unwrap().generation_id, gen + 1);
    assert_eq!(h.leave(G, &[("a", None)]), Ok(vec![None]));
    assert_eq!(
        h.state(G),
        GroupState::Empty,
        "PreparingRebalance -> Empty (last member left)"
    );
    assert_eq!(h.generation(G), gen + 2);
    let empty_stored = h.log.iter().any(|r| {
        matches!(r, GroupRecord::Group { value: Some(v), .. }
        if v.generation == gen + 2 && v.members.is_empty() && v.protocol.is_none())
    });
    assert!(empty_stored);
    // A parked join of a member that leaves is answered.
    let mut h = Harness::new();
    h.stable_group(G, &["a", "b"]);
    let ja = h.join(join_req(G, "a", ""));
    h.leave(G, &[("a", None)]).unwrap();
    assert_eq!(
        h.joined(ja).unwrap().error,
        Some(GroupError::UnknownMemberId)
    );
}

#[test]
fn member_id_required_ids_expire_if_never_used() {
    let mut h = Harness::new();
    let gen = h.stable_group(G, &["a"]);
    let first = h.join(join_req(G, "", "ghost"));
    assert_eq!(
        h.joined(first).unwrap().error,
        Some(GroupError::MemberIdRequired)
    );
    let ja = h.join(join_req(G, "a", ""));
    assert!(h.joined(ja).is_none(), "waiting for the pending member");
    h.advance(i64::from(SESSION));
    assert_eq!(
        h.joined(ja).expect("pending member expired").generation_id,
        gen + 1
    );
    // A pending member may also leave.
    let first = h.join(join_req(G, "", "p2"));
    h.joined(first).unwrap();
    assert_eq!(h.leave(G, &[("p2", None)]), Ok(vec![None]));
    assert!(h.c.group(G).unwrap().pending_members.is_empty());
}

#[test]
fn a_new_member_stuck_in_a_rebalance_times_out() {
    let mut cfg = config();
    cfg.new_member_join_timeout_ms = 5_000;
    let mut h = Harness::with(cfg);
    let gen = h.stable_group(G, &["a"]);
    let jn = h.join_new(G, "n");
    // a never rejoins but keeps heartbeating; n's join timeout comes first.
    for _ in 0..5 {
        h.advance(1_000);
        let _ = h.heartbeat(G, "a", gen);
    }
    assert_eq!(
        h.joined(jn).unwrap().error,
        Some(GroupError::UnknownMemberId)
    );
    assert!(!h.c.group(G).unwrap().members.contains_key("n"));
}

#[test]
fn join_validation_errors() {
    let mut h = Harness::new();
    let mut req = join_req("", "", "m");
    let id = h.join(req.clone());
    assert_eq!(
        h.joined(id).unwrap().error,
        Some(GroupError::InvalidGroupId)
    );
    req.group_id = G.into();
    req.session_timeout_ms = 10;
    let id = h.join(req.clone());
    assert_eq!(
        h.joined(id).unwrap().error,
        Some(GroupError::InvalidSessionTimeout)
    );
    req.session_timeout_ms = SESSION;
    req.protocols.clear();
    let id = h.join(req.clone());
    assert_eq!(
        h.joined(id).unwrap().error,
        Some(GroupError::InconsistentGroupProtocol)
    );
    let id = h.join(join_req("other", "someone", ""));
    let r = h.joined(id).unwrap();
    assert_eq!(
        (r.error, r.generation_id),
        (Some(GroupError::UnknownMemberId), -1)
    );
    h.stable_group(G, &["a"]);
    let mut other_type = join_req(G, "", "x");
    other_type.protocol_type = "connect".into();
    let id = h.join(other_type);
    assert_eq!(
        h.joined(id).unwrap().error,
        Some(GroupError::InconsistentGroupProtocol)
    );
    let mut no_common = join_req(G, "", "x");
    no_common.protocols = vec![("sticky".into(), sub(&["t"]))];
    let id = h.join(no_common);
    assert_eq!(
        h.joined(id).unwrap().error,
        Some(GroupError::InconsistentGroupProtocol)
    );
}

#[test]
fn the_protocol_most_members_prefer_wins() {
    let mut h = Harness::new();
    let protocols = |names: &[&str]| -> Vec<(String, Bytes)> {
        names.iter().map(|n| (n.to_string(), sub(&["t"]))).collect()
    };
    let mut ids = Vec::new();
    for (m, prefs) in [
        ("a", &["range", "coop"][..]),
        ("b", &["coop", "range"]),
        ("c", &["coop", "range", "x"]),
    ] {
        let first = h.join(JoinRequest {
            protocols: protocols(prefs),
            ..join_req(G, "", m)
        });
        h.joined(first).unwrap();
        ids.push(h.join(JoinRequest {
            protocols: protocols(prefs),
            ..join_req(G, m, "")
        }));
    }
    h.advance(2 * DELAY);
    assert_eq!(
        h.joined(ids[0]).unwrap().protocol_name.as_deref(),
        Some("coop")
    );
}

#[test]
fn a_second_join_from_a_parked_member_supersedes_the_first() {
    let mut h = Harness::new();
    let first = h.join_new(G, "a");
    let second = h.join(join_req(G, "a", ""));
    assert_eq!(
        h.joined(first).unwrap().error,
        Some(GroupError::RebalanceInProgress)
    );
    h.advance(DELAY);
    assert_eq!(h.joined(second).unwrap().error, None);
}

#[test]
fn completing_rebalance_restarts_when_a_member_leaves_or_expires() {
    // No offset cleanup, which would remove the empty group at the end.
    let mut h = Harness::with(GroupConfig {
        offsets_retention_check_interval_ms: i64::MAX / 2,
        ..config()
    });
    let (a, b, c) = (h.join_new(G, "a"), h.join_new(G, "b"), h.join_new(G, "c"));
    h.advance(2 * DELAY);
    let gen = h.joined(a).unwrap().generation_id;
    let _ = (h.joined(b), h.joined(c));
    assert_eq!(h.state(G), GroupState::CompletingRebalance);
    let parked = h.sync(sync_req(G, "b", gen, &[]));
    assert_eq!(h.leave(G, &[("c", None)]), Ok(vec![None]));
    assert_eq!(
        h.state(G),
        GroupState::PreparingRebalance,
        "CompletingRebalance -> PreparingRebalance (leave)"
    );
    assert_eq!(
        h.synced(parked).unwrap().error,
        Some(GroupError::RebalanceInProgress)
    );
    let (ja, jb) = (h.join(join_req(G, "a", "")), h.join(join_req(G, "b", "")));
    let _ = (h.joined(ja).unwrap(), h.joined(jb).unwrap());
    assert_eq!(h.state(G), GroupState::CompletingRebalance);
    // Neither syncs nor heartbeats: their sessions run out first.
    h.advance(i64::from(SESSION));
    assert_eq!(
        h.state(G),
        GroupState::Empty,
        "CompletingRebalance -> PreparingRebalance -> Empty (sessions expired)"
    );
}

#[test]
fn the_transition_table_is_kafkas() {
    use GroupState::*;
    let all = [Empty, PreparingRebalance, CompletingRebalance, Stable, Dead];
    let allowed = |from: GroupState, to: GroupState| match to {
        Empty => from == PreparingRebalance,
        PreparingRebalance => matches!(from, Stable | CompletingRebalance | Empty),
        CompletingRebalance => from == PreparingRebalance,
        Stable => from == CompletingRebalance,
        Dead => true,
    };
    for from in all {
        for to in all {
            assert_eq!(
                super::super::state::can_transition(from, to),
                allowed(from, to),
                "{from:?} -> {to:?}"
            );
        }
    }
}
