//! JoinGroup: new members (with MEMBER_ID_REQUIRED from v4), known members,
//! and static members (`group.instance.id`) that take over their previous
//! member id, without a rebalance when the group is Stable.

use std::collections::BTreeMap;

use super::operations::{
    AfterAppend, Answer, JoinRequest, JoinResult, Output, RequestId, StaticRejoin,
};
use super::rebalance::{
    maybe_prepare_rebalance, prepare_rebalance, schedule_heartbeat, store_group, try_complete_join,
};
use super::state::{Group, GroupState, JoinWaiter, Member};
use super::{Coordinator, GroupConfig};
use crate::error::GroupError;

impl Coordinator {
    /// JoinGroup. The answer goes to `request` through the output, now (an
    /// error, MEMBER_ID_REQUIRED, a follower of a stable group) or when the
    /// rebalance completes.
    pub fn join(&mut self, now: i64, request: RequestId, req: JoinRequest) -> Output {
        let mut out = Output::default();
        if let Err(error) = self.do_join(now, request, &req, &mut out) {
            out.reply(
                request,
                Answer::Join(JoinResult::error(error, &req.member_id)),
            );
        }
        if let Some(group) = self.groups.get_mut(&req.group_id) {
            try_complete_join(&self.config, group, now, &mut out);
        }
        out
    }

    fn do_join(
        &mut self,
        now: i64,
        request: RequestId,
        req: &JoinRequest,
        out: &mut Output,
    ) -> Result<(), GroupError> {
        if req.group_id.is_empty() {
            return Err(GroupError::InvalidGroupId);
        }
        if req.session_timeout_ms < self.config.min_session_timeout_ms
            || req.session_timeout_ms > self.config.max_session_timeout_ms
        {
            return Err(GroupError::InvalidSessionTimeout);
        }
        let cfg = &self.config;
        let waiter = JoinWaiter {
            request,
            supports_skip_assignment: req.supports_skip_assignment,
        };
        if req.member_id.is_empty() {
            // A new member creates the group if needed.
            let group = self
                .groups
                .entry(req.group_id.clone())
                .or_insert_with(|| Group::new(&req.group_id));
            join_new_member(cfg, group, now, waiter, req, out)
        } else {
            // A member id for a group that does not exist is unknown.
            let group = self
                .groups
                .get_mut(&req.group_id)
                .ok_or(GroupError::UnknownMemberId)?;
            join_known_member(cfg, group, now, waiter, req, out)
        }
    }
}

fn join_new_member(
    cfg: &GroupConfig,
    group: &mut Group,
    now: i64,
    waiter: JoinWaiter,
    req: &JoinRequest,
    out: &mut Output,
) -> Result<(), GroupError> {
    if group.is(GroupState::Dead) {
        return Err(GroupError::CoordinatorNotAvailable);
    }
    if !group.supports_protocols(&req.protocol_type, &req.protocols) {
        return Err(GroupError::InconsistentGroupProtocol);
    }
    let member_id = req.new_member_id.clone();
    if let Some(instance_id) = &req.group_instance_id {
        return join_static_member(cfg, group, now, waiter, req, instance_id, member_id, out);
    }
    if req.require_known_member_id {
        // The member must come back with this id; until then it counts as
        // pending, so the rebalance waits for it (up to its session timeout).
        group.pending_members.insert(
            member_id.clone(),
            now.saturating_add(i64::from(req.session_timeout_ms)),
        );
        out.reply(
            waiter.request,
            Answer::Join(JoinResult::error(GroupError::MemberIdRequired, &member_id)),
        );
        return Ok(());
    }
    add_member_and_rebalance(cfg, group, now, waiter, req, member_id, out);
    Ok(())
}

fn join_known_member(
    cfg: &GroupConfig,
    group: &mut Group,
    now: i64,
    waiter: JoinWaiter,
    req: &JoinRequest,
    out: &mut Output,
) -> Result<(), GroupError> {
    if group.is(GroupState::Dead) {
        return Err(GroupError::CoordinatorNotAvailable);
    }
    if !group.supports_protocols(&req.protocol_type, &req.protocols) {
        return Err(GroupError::InconsistentGroupProtocol);
    }
    let member_id = req.member_id.clone();
    if group.pending_members.contains_key(&member_id) {
        // The second JoinGroup after MEMBER_ID_REQUIRED.
        add_member_and_rebalance(cfg, group, now, waiter, req, member_id, out);
        return Ok(());
    }
    let instance_id = req.group_instance_id.as_deref();
    if group.is_static_member_fenced(instance_id, &member_id) {
        return Err(GroupError::FencedInstanceId);
    }
    let instance_unknown = instance_id.is_some_and(|i| !group.static_members.contains_key(i));
    if !group.members.contains_key(&member_id) || instance_unknown {
        return Err(GroupError::UnknownMemberId);
    }
    let Some(member) = group.members.get(&member_id) else {
        return Err(GroupError::UnknownMemberId);
    };
    let same_metadata = member.matches(&req.protocols);
    match group.state {
        GroupState::PreparingRebalance => {
            update_member_and_rebalance(cfg, group, now, waiter, req, "member rejoined", out);
        }
        GroupState::CompletingRebalance if same_metadata => {
            // It probably missed the JoinGroup answer: give it again.
            out.reply(
                waiter.request,
                Answer::Join(current_generation(group, &member_id, false)),
            );
        }
        GroupState::CompletingRebalance => {
            update_member_and_rebalance(
                cfg,
                group,
                now,
                waiter,
                req,
                "member metadata changed",
                out,
            );
        }
        GroupState::Stable if group.is_leader(&member_id) => {
            // The leader rejoins to have the assignment recomputed (topic
            // metadata changed, for example).
            update_member_and_rebalance(cfg, group, now, waiter, req, "leader rejoined", out);
        }
        GroupState::Stable if !same_metadata => {
            update_member_and_rebalance(
                cfg,
                group,
                now,
                waiter,
                req,
                "member metadata changed",
                out,
            );
        }
        GroupState::Stable => {
            out.reply(
                waiter.request,
                Answer::Join(current_generation(group, &member_id, false)),
            );
        }
        GroupState::Empty | GroupState::Dead => return Err(GroupError::UnknownMemberId),
    }
    Ok(())
}

/// The current generation as an answer to `member_id` (members' metadata
/// only for the leader, when `with_members`).
fn current_generation(group: &Group, member_id: &str, with_members: bool) -> JoinResult {
    JoinResult {
        error: None,
        generation_id: group.generation,
        protocol_type: group.protocol_type.clone(),
        protocol_name: group.protocol.clone(),
        leader: group.leader.clone().unwrap_or_default(),
        skip_assignment: false,
        member_id: member_id.to_string(),
        members: if with_members {
            group.current_member_metadata()
        } else {
            Vec::new()
        },
    }
}

fn add_member_and_rebalance(
    cfg: &GroupConfig,
    group: &mut Group,
    now: i64,
    waiter: JoinWaiter,
    req: &JoinRequest,
    member_id: String,
    out: &mut Output,
) {
    let mut member = Member {
        id: member_id.clone(),
        instance_id: req.group_instance_id.clone(),
        client_id: req.client_id.clone(),
        client_host: req.client_host.clone(),
        rebalance_timeout_ms: req.rebalance_timeout_ms,
        session_timeout_ms: req.session_timeout_ms,
        protocol_type: req.protocol_type.clone(),
        protocols: req.protocols.clone(),
        assignment: Default::default(),
        awaiting_join: Some(waiter),
        awaiting_sync: None,
        is_new: true,
        heartbeat_deadline: None,
    };
    // A new member cannot heartbeat before its first generation; if it
    // vanishes mid-rebalance, this timeout removes it.
    schedule_heartbeat(cfg, &mut member, now);
    if group.is(GroupState::PreparingRebalance) && group.generation == 0 {
        group.new_member_added = true;
    }
    group.add_member(member);
    let reason = format!("adding new member {member_id}");
    maybe_prepare_rebalance(cfg, group, now, out, &reason);
}

/// Records the member's new protocols and timeouts, parks its JoinGroup
/// and rebalances if the state allows.
fn update_member_and_rebalance(
    cfg: &GroupConfig,
    group: &mut Group,
    now: i64,
    waiter: JoinWaiter,
    req: &JoinRequest,
    reason: &str,
    out: &mut Output,
) {
    if let Some(member) = group.members.get_mut(&req.member_id) {
        update_member(member, req, waiter, out);
    }
    let reason = format!("{reason}: {}", req.member_id);
    maybe_prepare_rebalance(cfg, group, now, out, &reason);
}

fn update_member(member: &mut Member, req: &JoinRequest, waiter: JoinWaiter, out: &mut Output) {
    member.protocols = req.protocols.clone();
    member.rebalance_timeout_ms = req.rebalance_timeout_ms;
    member.session_timeout_ms = req.session_timeout_ms;
    if let Some(old) = member.awaiting_join.replace(waiter) {
        // A newer JoinGroup from the same member supersedes the parked one.
        out.reply(
            old.request,
            Answer::Join(JoinResult::error(
                GroupError::RebalanceInProgress,
                &member.id,
            )),
        );
    }
}

#[allow(clippy::too_many_arguments)]
fn join_static_member(
    cfg: &GroupConfig,
    group: &mut Group,
    now: i64,
    waiter: JoinWaiter,
    req: &JoinRequest,
    instance_id: &str,
    new_member_id: String,
    out: &mut Output,
) -> Result<(), GroupError> {
    let Some(old_member_id) = group.static_members.get(instance_id).cloned() else {
        // First time this instance joins.
        add_member_and_rebalance(cfg, group, now, waiter, req, new_member_id, out);
        return Ok(());
    };
    if !matches!(
        group.state,
        GroupState::Stable | GroupState::CompletingRebalance | GroupState::PreparingRebalance
    ) {
        return Err(GroupError::UnknownMemberId);
    }
    tracing::info!(group = %group.id, instance = %instance_id, old = %old_member_id,
        new = %new_member_id, "static member rejoins under a new member id");
    let leader_before = group.leader.clone();
    let Some(old) = replace_static_member(group, instance_id, &old_member_id, &new_member_id, out)
    else {
        return Err(GroupError::UnknownMemberId);
    };
    let (old_protocols, old_rebalance, old_session) = (
        old.protocols.clone(),
        old.rebalance_timeout_ms,
        old.session_timeout_ms,
    );
    if let Some(member) = group.members.get_mut(&new_member_id) {
        schedule_heartbeat(cfg, member, now);
        let req = JoinRequest {
            member_id: new_member_id.clone(),
            ..req.clone()
        };
        update_member(member, &req, waiter, out);
    }
    match group.state {
        GroupState::Stable => {
            if group.select_protocol() == group.protocol {
                // Nothing the assignment depends on changed: store the new
                // member id and let the member carry on with its old
                // assignment, no rebalance.
                let assignment: BTreeMap<_, _> = group
                    .members
                    .values()
                    .map(|m| (m.id.clone(), m.assignment.clone()))
                    .collect();
                let then = AfterAppend::StaticRejoinStored(Box::new(StaticRejoin {
                    group: group.id.clone(),
                    instance_id: instance_id.to_string(),
                    old_member_id,
                    new_member_id,
                    old_protocols,
                    old_rebalance_timeout_ms: old_rebalance,
                    old_session_timeout_ms: old_session,
                    leader_before,
                    request: waiter.request,
                    supports_skip_assignment: waiter.supports_skip_assignment,
                }));
                store_group(group, &assignment, then, out);
            } else {
                let reason = format!("static member {instance_id} rejoined with other protocols");
                maybe_prepare_rebalance(cfg, group, now, out, &reason);
            }
        }
        GroupState::CompletingRebalance => {
            // The leader may be assigning to the old member id: start over.
            let reason = format!("static member {instance_id} rejoined during the sync phase");
            prepare_rebalance(cfg, group, now, out, &reason);
        }
        // Already rebalancing: the member is parked like everyone else.
        _ => {}
    }
    Ok(())
}

/// Moves a static member to a new member id; whatever the old id still had
/// parked is answered FENCED_INSTANCE_ID. Returns the member as it was.
fn replace_static_member(
    group: &mut Group,
    instance_id: &str,
    old_member_id: &str,
    new_member_id: &str,
    out: &mut Output,
) -> Option<Member> {
    let mut member = group.members.remove(old_member_id)?;
    let before = member.clone();
    if let Some(w) = member.awaiting_join.take() {
        out.reply(
            w.request,
            Answer::Join(JoinResult::error(
                GroupError::FencedInstanceId,
                old_member_id,
            )),
        );
    }
    if let Some(request) = member.awaiting_sync.take() {
        out.reply(
            request,
            Answer::Sync(super::operations::SyncResult::error(
                GroupError::FencedInstanceId,
            )),
        );
    }
    member.id = new_member_id.to_string();
    group.members.insert(new_member_id.to_string(), member);
    if group.is_leader(old_member_id) {
        group.leader = Some(new_member_id.to_string());
    }
    if group.pending_sync.remove(old_member_id) {
        group.pending_sync.insert(new_member_id.to_string());
    }
    group
        .static_members
        .insert(instance_id.to_string(), new_member_id.to_string());
    Some(before)
}

impl Coordinator {
    /// The static member's new id is stored (or could not be).
    pub(super) fn static_rejoin_stored(
        &mut self,
        now: i64,
        r: StaticRejoin,
        ok: bool,
        out: &mut Output,
    ) {
        let cfg = &self.config;
        let Some(group) = self.groups.get_mut(&r.group) else {
            out.reply(
                r.request,
                Answer::Join(JoinResult::error(GroupError::UnknownMemberId, "")),
            );
            return;
        };
        // The member may have been replaced or removed again since.
        let still_there = group.static_members.get(&r.instance_id) == Some(&r.new_member_id);
        if !ok {
            if still_there {
                // Put the old member id back, as it was.
                if let Some(mut member) = group.members.remove(&r.new_member_id) {
                    member.id = r.old_member_id.clone();
                    member.protocols = r.old_protocols.clone();
                    member.rebalance_timeout_ms = r.old_rebalance_timeout_ms;
                    member.session_timeout_ms = r.old_session_timeout_ms;
                    member.awaiting_join = None;
                    schedule_heartbeat(cfg, &mut member, now);
                    group.members.insert(r.old_member_id.clone(), member);
                    group
                        .static_members
                        .insert(r.instance_id.clone(), r.old_member_id.clone());
                    if group.is_leader(&r.new_member_id) {
                        group.leader = Some(r.old_member_id.clone());
                    }
                }
            }
            let mut failed = JoinResult::error(GroupError::NotCoordinator, "");
            failed.generation_id = group.generation;
            out.reply(r.request, Answer::Join(failed));
            return;
        }
        let Some(member) = group
            .members
            .get_mut(&r.new_member_id)
            .filter(|m| still_there && m.awaiting_join.map(|w| w.request) == Some(r.request))
        else {
            // Already answered (fenced again or removed).
            return;
        };
        member.awaiting_join = None;
        let is_leader = group.leader.as_deref() == Some(r.new_member_id.as_str());
        let mut result = current_generation(group, &r.new_member_id, false);
        if r.supports_skip_assignment {
            // v9+: the leader learns it leads but must not reassign.
            result.skip_assignment = is_leader;
            if is_leader {
                result.members = group.current_member_metadata();
            }
        } else {
            // Older clients get the previous leader id, so that a restarted
            // leader does not compute an assignment the stable group would
            // not hand out.
            result.leader = r.leader_before.unwrap_or_default();
        }
        out.reply(r.request, Answer::Join(result));
    }
}
