//! The rebalance protocol's moving parts, shared by every operation and the
//! timer: preparing a rebalance, completing the join phase, handing out (or
//! withdrawing) assignments, removing members, and session deadlines.
//!
//! Each function works on one [`Group`] and pushes the answers and records
//! it produces into an [`Output`]; none of them reads a clock.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::operations::{AfterAppend, Answer, JoinResult, Output, SyncResult};
use super::records::GroupRecord;
use super::state::{Group, GroupState, JoinTimer, Member};
use super::GroupConfig;
use crate::error::GroupError;

/// Restarts a member's session: it expires at `now` + its session timeout
/// (a new member, which cannot heartbeat yet, gets the longer new-member
/// join timeout).
pub fn schedule_heartbeat(cfg: &GroupConfig, member: &mut Member, now: i64) {
    let timeout = if member.is_new {
        cfg.new_member_join_timeout_ms
    } else {
        i64::from(member.session_timeout_ms)
    };
    member.heartbeat_deadline = Some(now.saturating_add(timeout));
}

/// Starts a rebalance if the state allows one (Stable, CompletingRebalance, Empty).
pub fn maybe_prepare_rebalance(
    cfg: &GroupConfig,
    group: &mut Group,
    now: i64,
    out: &mut Output,
    reason: &str,
) {
    if matches!(
        group.state,
        GroupState::Stable | GroupState::CompletingRebalance | GroupState::Empty
    ) {
        prepare_rebalance(cfg, group, now, out, reason);
    }
}

/// Moves to PreparingRebalance: members waiting for an assignment are told
/// to rejoin, and the join phase gets its deadline.
pub fn prepare_rebalance(
    cfg: &GroupConfig,
    group: &mut Group,
    now: i64,
    out: &mut Output,
    reason: &str,
) {
    if group.is(GroupState::CompletingRebalance) {
        reset_and_propagate_assignment_error(cfg, group, GroupError::RebalanceInProgress, now, out);
    }
    group.sync_deadline = None;
    let rebalance_timeout = group.rebalance_timeout_ms();
    group.join_timer = Some(if group.is(GroupState::Empty) {
        let delay = cfg.initial_rebalance_delay_ms;
        JoinTimer::Initial {
            deadline: now.saturating_add(delay),
            delay,
            remaining: (rebalance_timeout - delay).max(0),
        }
    } else {
        JoinTimer::Regular {
            deadline: now.saturating_add(rebalance_timeout),
        }
    });
    group.transition(GroupState::PreparingRebalance);
    tracing::info!(group = %group.id, generation = group.generation, %reason, "preparing to rebalance");
    try_complete_join(cfg, group, now, out);
}

/// Completes the join phase early if every member has joined (never
/// during the initial delay, which always runs its course).
pub fn try_complete_join(cfg: &GroupConfig, group: &mut Group, now: i64, out: &mut Output) {
    if group.is(GroupState::PreparingRebalance)
        && matches!(group.join_timer, Some(JoinTimer::Regular { .. }))
        && group.has_all_members_joined()
    {
        complete_join(cfg, group, now, out);
    }
}

/// The join phase is over (everyone joined, or the deadline passed): drop
/// dynamic members that did not rejoin, start the next generation and
/// answer every parked JoinGroup.
pub fn complete_join(cfg: &GroupConfig, group: &mut Group, now: i64, out: &mut Output) {
    group.join_timer = None;
    let stragglers: Vec<String> = group
        .members
        .values()
        .filter(|m| m.awaiting_join.is_none() && m.instance_id.is_none())
        .map(|m| m.id.clone())
        .collect();
    for id in stragglers {
        tracing::info!(group = %group.id, member = %id, "removing member that did not rejoin");
        remove_member(group, &id, out);
    }
    if !group.maybe_elect_new_joined_leader() && !group.members.is_empty() {
        // Only static members that did not rejoin are left: wait another
        // rebalance timeout for them (or for their sessions to expire).
        tracing::warn!(group = %group.id, "no member rejoined; waiting another rebalance timeout");
        group.join_timer = Some(JoinTimer::Regular {
            deadline: now.saturating_add(group.rebalance_timeout_ms()),
        });
        return;
    }
    group.generation = group.generation.wrapping_add(1);
    group.state_timestamp = Some(now);
    group.pending_sync.clear();
    if group.members.is_empty() {
        group.protocol = None;
        group.subscribed_topics = group.compute_subscribed_topics();
        group.transition(GroupState::Empty);
        tracing::info!(group = %group.id, generation = group.generation, "group is now empty");
        store_group(group, &BTreeMap::new(), AfterAppend::Logged, out);
        return;
    }
    group.protocol = group.select_protocol();
    group.subscribed_topics = group.compute_subscribed_topics();
    group.transition(GroupState::CompletingRebalance);
    tracing::info!(group = %group.id, generation = group.generation, members = group.members.len(),
        protocol = group.protocol.as_deref().unwrap_or(""), "group stabilized");
    let all_members = group.current_member_metadata();
    let leader = group.leader.clone().unwrap_or_default();
    for member in group.members.values_mut() {
        if let Some(waiter) = member.awaiting_join.take() {
            let is_leader = member.id == leader;
            out.reply(
                waiter.request,
                Answer::Join(JoinResult {
                    error: None,
                    generation_id: group.generation,
                    protocol_type: group.protocol_type.clone(),
                    protocol_name: group.protocol.clone(),
                    leader: leader.clone(),
                    skip_assignment: false,
                    member_id: member.id.clone(),
                    members: if is_leader {
                        all_members.clone()
                    } else {
                        Vec::new()
                    },
                }),
            );
        }
        member.is_new = false;
        schedule_heartbeat(cfg, member, now);
        group.pending_sync.insert(member.id.clone());
    }
    group.sync_deadline = Some(now.saturating_add(group.rebalance_timeout_ms()));
}

/// Withdraws every assignment of this generation and fails the parked
/// SyncGroups with `error` (Kafka's `resetAndPropagateAssignmentError`).
pub fn reset_and_propagate_assignment_error(
    cfg: &GroupConfig,
    group: &mut Group,
    error: GroupError,
    now: i64,
    out: &mut Output,
) {
    for member in group.members.values_mut() {
        member.assignment = Bytes::new();
    }
    propagate_assignment(cfg, group, Some(error), now, out);
}

/// Answers every parked SyncGroup with the member's assignment (or `error`)
/// and restarts those members' sessions.
pub fn propagate_assignment(
    cfg: &GroupConfig,
    group: &mut Group,
    error: Option<GroupError>,
    now: i64,
    out: &mut Output,
) {
    for member in group.members.values_mut() {
        if let Some(request) = member.awaiting_sync.take() {
            out.reply(
                request,
                Answer::Sync(SyncResult {
                    error,
                    protocol_type: group.protocol_type.clone(),
                    protocol_name: group.protocol.clone(),
                    assignment: if error.is_none() {
                        member.assignment.clone()
                    } else {
                        Bytes::new()
                    },
                }),
            );
            schedule_heartbeat(cfg, member, now);
        }
    }
}

/// Takes a member out of the group, answering its parked requests with
/// UNKNOWN_MEMBER_ID so that it rejoins if it is still alive.
pub fn remove_member(group: &mut Group, member_id: &str, out: &mut Output) -> Option<Member> {
    let member = group.remove_member(member_id)?;
    if let Some(waiter) = member.awaiting_join {
        out.reply(
            waiter.request,
            Answer::Join(JoinResult::error(GroupError::UnknownMemberId, "")),
        );
    }
    if let Some(request) = member.awaiting_sync {
        out.reply(
            request,
            Answer::Sync(SyncResult::error(GroupError::UnknownMemberId)),
        );
    }
    Some(member)
}

/// Removes a member that left or failed, and rebalances the others.
pub fn remove_member_and_update_group(
    cfg: &GroupConfig,
    group: &mut Group,
    member_id: &str,
    now: i64,
    out: &mut Output,
    reason: &str,
) {
    if remove_member(group, member_id, out).is_none() {
        return;
    }
    match group.state {
        GroupState::Dead | GroupState::Empty => {}
        GroupState::Stable | GroupState::CompletingRebalance => {
            maybe_prepare_rebalance(cfg, group, now, out, reason)
        }
        GroupState::PreparingRebalance => try_complete_join(cfg, group, now, out),
    }
}

/// Forgets a member id handed out with MEMBER_ID_REQUIRED that never joined.
pub fn remove_pending_member_and_update_group(
    cfg: &GroupConfig,
    group: &mut Group,
    member_id: &str,
    now: i64,
    out: &mut Output,
) {
    group.pending_members.remove(member_id);
    try_complete_join(cfg, group, now, out);
}

/// Writes the group's membership with `assignment` (Kafka's `storeGroup`).
pub fn store_group(
    group: &Group,
    assignment: &BTreeMap<String, Bytes>,
    then: AfterAppend,
    out: &mut Output,
) {
    out.append(
        vec![GroupRecord::Group {
            group: group.id.clone(),
            value: Some(group.metadata_value(assignment)),
        }],
        then,
    );
}
