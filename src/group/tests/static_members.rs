//! Static membership (`group.instance.id`, KIP-345).

use super::*;

const G: &str = "g";

fn static_join(group: &str, member_id: &str, new_id: &str, instance: &str) -> JoinRequest {
    JoinRequest {
        group_instance_id: Some(instance.into()),
        ..join_req(group, member_id, new_id)
    }
}

/// A Stable group of static members "a" (leader, instance "ia") and "b"
/// (instance "ib"), assigned "A" and "B".
fn stable_static(h: &mut Harness) -> i32 {
    // Static members need no MEMBER_ID_REQUIRED round.
    let a = h.join(static_join(G, "", "a", "ia"));
    let b = h.join(static_join(G, "", "b", "ib"));
    h.advance(2 * DELAY);
    let gen = h.joined(a).unwrap().generation_id;
    assert_eq!(h.joined(b).unwrap().member_id, "b");
    let sb = h.sync(SyncRequest {
        group_instance_id: Some("ib".into()),
        ..sync_req(G, "b", gen, &[])
    });
    let sa = h.sync(SyncRequest {
        group_instance_id: Some("ia".into()),
        ..sync_req(G, "a", gen, &[("a", "A"), ("b", "B")])
    });
    assert_eq!(h.synced(sa).unwrap().assignment, Bytes::from("A"));
    assert_eq!(h.synced(sb).unwrap().assignment, Bytes::from("B"));
    gen
}

#[test]
fn a_restarted_static_member_gets_its_assignment_back_without_a_rebalance() {
    let mut h = Harness::new();
    let gen = stable_static(&mut h);
    // b restarts: unknown member id, same instance id and protocols.
    let j = h.join(static_join(G, "", "b2", "ib"));
    let r = h.joined(j).expect("answered at once");
    assert_eq!(r.error, None);
    assert_eq!(
        (r.member_id.as_str(), r.generation_id, r.leader.as_str()),
        ("b2", gen, "a")
    );
    assert_eq!(h.state(G), GroupState::Stable, "no rebalance");
    let s = h.sync(SyncRequest {
        group_instance_id: Some("ib".into()),
        ..sync_req(G, "b2", gen, &[])
    });
    assert_eq!(
        h.synced(s).unwrap().assignment,
        Bytes::from("B"),
        "old assignment"
    );
    assert_eq!(h.heartbeat(G, "a", gen), Ok(()), "the others see nothing");
    // The old instance, if still around, is fenced.
    let old = h.c.heartbeat(
        h.now,
        HeartbeatRequest {
            group_instance_id: Some("ib".into()),
            ..hb(G, "b", gen)
        },
    );
    assert_eq!(old, Err(GroupError::FencedInstanceId));
    let stored = h.log.iter().rev().find_map(|r| match r {
        GroupRecord::Group { value: Some(v), .. } => Some(v.clone()),
        _ => None,
    });
    let stored = stored.unwrap();
    assert!(stored
        .members
        .iter()
        .any(|m| m.member_id == "b2" && m.assignment == "B"));
    // After a restart of the broker the new id is still the member.
    let mut r = h.replay();
    assert_eq!(r.heartbeat(G, "b2", gen), Ok(()));
}

#[test]
fn a_restarted_static_leader_is_not_told_to_reassign() {
    let mut h = Harness::new();
    let gen = stable_static(&mut h);
    // JoinGroup < v9: the previous leader id comes back, so the restarted
    // leader acts as a follower.
    let j = h.join(static_join(G, "", "a2", "ia"));
    let r = h.joined(j).unwrap();
    assert_eq!(
        (r.member_id.as_str(), r.leader.as_str(), r.generation_id),
        ("a2", "a", gen)
    );
    assert!(r.members.is_empty() && !r.skip_assignment);
    assert_eq!(h.c.group(G).unwrap().leader.as_deref(), Some("a2"));
    // v9: told it leads, but to skip the assignment.
    let mut req = static_join(G, "", "a3", "ia");
    req.supports_skip_assignment = true;
    let j = h.join(req);
    let r = h.joined(j).unwrap();
    assert_eq!(
        (r.leader.as_str(), r.skip_assignment, r.members.len()),
        ("a3", true, 2)
    );
    assert_eq!(h.state(G), GroupState::Stable);
}

#[test]
fn duplicate_instance_ids_are_fenced() {
    let mut h = Harness::new();
    let gen = stable_static(&mut h);
    let j = h.join(static_join(G, "", "b2", "ib"));
    h.joined(j).unwrap();
    // The replaced member's requests: all FENCED_INSTANCE_ID.
    let j = h.join(static_join(G, "b", "", "ib"));
    assert_eq!(
        h.joined(j).unwrap().error,
        Some(GroupError::FencedInstanceId)
    );
    let s = h.sync(SyncRequest {
        group_instance_id: Some("ib".into()),
        ..sync_req(G, "b", gen, &[])
    });
    assert_eq!(
        h.synced(s).unwrap().error,
        Some(GroupError::FencedInstanceId)
    );
    assert_eq!(
        h.leave(G, &[("b", Some("ib"))]),
        Ok(vec![Some(GroupError::FencedInstanceId)])
    );
    // An instance id the group does not know, with a member id: unknown.
    let hb_unknown = h.c.heartbeat(
        h.now,
        HeartbeatRequest {
            group_instance_id: Some("zz".into()),
            ..hb(G, "a", gen)
        },
    );
    assert_eq!(hb_unknown, Err(GroupError::UnknownMemberId));
}

#[test]
fn a_parked_request_of_a_replaced_member_is_fenced() {
    let mut h = Harness::new();
    let gen = stable_static(&mut h);
    // b rejoins normally (parked in the rebalance the leader starts)...
    let ja = h.join(static_join(G, "a", "", "ia"));
    let jb = h.join(static_join(G, "b", "", "ib"));
    let _ = (h.joined(ja), h.joined(jb));
    let gen2 = gen + 1;
    let sb = h.sync(SyncRequest {
        group_instance_id: Some("ib".into()),
        ..sync_req(G, "b", gen2, &[])
    });
    // ... and a second process with the same instance id takes over while
    // b waits for its assignment: b is fenced, the group rebalances.
    let j2 = h.join(static_join(G, "", "b2", "ib"));
    assert_eq!(
        h.synced(sb).unwrap().error,
        Some(GroupError::FencedInstanceId)
    );
    assert_eq!(
        h.state(G),
        GroupState::PreparingRebalance,
        "CompletingRebalance -> PreparingRebalance"
    );
    let ja = h.join(static_join(G, "a", "", "ia"));
    assert_eq!(h.joined(ja).unwrap().generation_id, gen2 + 1);
    assert_eq!(h.joined(j2).unwrap().member_id, "b2");
}

#[test]
fn static_members_that_do_not_rejoin_stay_through_a_rebalance() {
    let mut h = Harness::new();
    let gen = stable_static(&mut h);
    let ja = h.join(static_join(G, "a", "", "ia"));
    for _ in 0..REBALANCE / 1000 {
        h.advance(1_000);
        // b heartbeats but does not rejoin (it is restarting, say).
        let _ = h.c.heartbeat(
            h.now,
            HeartbeatRequest {
                group_instance_id: Some("ib".into()),
                ..hb(G, "b", gen)
            },
        );
    }
    let r = h.joined(ja).expect("completed at the rebalance timeout");
    assert_eq!(r.members.len(), 2, "b is still a member (static)");
}

#[test]
fn a_static_rejoin_with_more_protocols_keeps_a_stable_group() {
    let mut h = Harness::new();
    stable_static(&mut h);
    let mut req = static_join(G, "", "b2", "ib");
    req.protocols = vec![
        ("sticky".into(), sub(&["t"])),
        ("range".into(), sub(&["t"])),
    ];
    let j = h.join(req);
    // The vote still selects range (a only supports range): no rebalance.
    assert!(h.joined(j).is_some());
    assert_eq!(h.state(G), GroupState::Stable);
}

#[test]
fn admins_remove_static_members_by_instance_id() {
    let mut h = Harness::new();
    stable_static(&mut h);
    assert_eq!(
        h.leave(G, &[("", Some("ib")), ("", Some("nobody"))]),
        Ok(vec![None, Some(GroupError::UnknownMemberId)])
    );
    assert!(!h.c.group(G).unwrap().members.contains_key("b"));
    assert_eq!(h.state(G), GroupState::PreparingRebalance);
}

#[test]
fn a_failed_store_undoes_a_static_rejoin() {
    let mut h = Harness::new();
    let gen = stable_static(&mut h);
    h.fail_appends = true;
    let j = h.join(static_join(G, "", "b2", "ib"));
    assert_eq!(h.joined(j).unwrap().error, Some(GroupError::NotCoordinator));
    h.fail_appends = false;
    let hb_old = h.c.heartbeat(
        h.now,
        HeartbeatRequest {
            group_instance_id: Some("ib".into()),
            ..hb(G, "b", gen)
        },
    );
    assert_eq!(hb_old, Ok(()), "b is still the member");
}
