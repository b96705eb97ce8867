//! SyncGroup, Heartbeat and LeaveGroup: what members do once they joined.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::operations::{
    AfterAppend, Answer, HeartbeatRequest, LeavingMember, Output, RequestId, SyncRequest,
    SyncResult,
};
use super::rebalance::{
    maybe_prepare_rebalance, propagate_assignment, remove_member_and_update_group,
    remove_pending_member_and_update_group, reset_and_propagate_assignment_error,
    schedule_heartbeat, store_group,
};
use super::state::{Group, GroupState};
use super::Coordinator;
use crate::error::GroupError;

impl Coordinator {
    /// SyncGroup. Followers in CompletingRebalance are parked until the
    /// leader's assignment is stored; in Stable everyone gets theirs at once.
    pub fn sync(&mut self, now: i64, request: RequestId, req: SyncRequest) -> Output {
        let mut out = Output::default();
        if let Err(error) = self.do_sync(now, request, req, &mut out) {
            out.reply(request, Answer::Sync(SyncResult::error(error)));
        }
        out
    }

    fn do_sync(
        &mut self,
        now: i64,
        request: RequestId,
        req: SyncRequest,
        out: &mut Output,
    ) -> Result<(), GroupError> {
        if req.group_id.is_empty() {
            return Err(GroupError::InvalidGroupId);
        }
        let cfg = &self.config;
        let group = self
            .groups
            .get_mut(&req.group_id)
            .ok_or(GroupError::UnknownMemberId)?;
        validate_member(
            group,
            &req.member_id,
            req.group_instance_id.as_deref(),
            req.generation_id,
        )?;
        if req
            .protocol_type
            .as_ref()
            .is_some_and(|t| group.protocol_type.as_ref() != Some(t))
            || req
                .protocol_name
                .as_ref()
                .is_some_and(|n| group.protocol.as_ref() != Some(n))
        {
            return Err(GroupError::InconsistentGroupProtocol);
        }
        match group.state {
            GroupState::Empty | GroupState::Dead => Err(GroupError::UnknownMemberId),
            GroupState::PreparingRebalance => Err(GroupError::RebalanceInProgress),
            GroupState::CompletingRebalance => {
                group.pending_sync.remove(&req.member_id);
                if let Some(member) = group.members.get_mut(&req.member_id) {
                    if let Some(old) = member.awaiting_sync.replace(request) {
                        out.reply(
                            old,
                            Answer::Sync(SyncResult::error(GroupError::RebalanceInProgress)),
                        );
                    }
                }
                if group.is_leader(&req.member_id) {
                    // Members the leader left out get an empty assignment;
                    // ids that are not members are ignored.
                    let given: BTreeMap<String, Bytes> = req.assignments.into_iter().collect();
                    let assignment: BTreeMap<String, Bytes> = group
                        .members
                        .keys()
                        .map(|id| (id.clone(), given.get(id).cloned().unwrap_or_default()))
                        .collect();
                    tracing::info!(group = %group.id, generation = group.generation,
                        members = group.members.len(), "assignment received from the leader");
                    let then = AfterAppend::SyncStored {
                        group: group.id.clone(),
                        generation: group.generation,
                        assignment: assignment.clone(),
                    };
                    store_group(group, &assignment, then, out);
                }
                Ok(())
            }
            GroupState::Stable => {
                group.pending_sync.remove(&req.member_id);
                if let Some(member) = group.members.get_mut(&req.member_id) {
                    out.reply(
                        request,
                        Answer::Sync(SyncResult {
                            error: None,
                            protocol_type: group.protocol_type.clone(),
                            protocol_name: group.protocol.clone(),
                            assignment: member.assignment.clone(),
                        }),
                    );
                    schedule_heartbeat(cfg, member, now);
                }
                Ok(())
            }
        }
    }

    /// The leader's assignment is stored (or could not be).
    pub(super) fn sync_stored(
        &mut self,
        now: i64,
        group_id: &str,
        generation: i32,
        assignment: BTreeMap<String, Bytes>,
        ok: bool,
        out: &mut Output,
    ) {
        let cfg = &self.config;
        let Some(group) = self.groups.get_mut(group_id) else {
            return;
        };
        // A member may have joined meanwhile: then this generation is over.
        if !group.is(GroupState::CompletingRebalance) || group.generation != generation {
            return;
        }
        if ok {
            for member in group.members.values_mut() {
                member.assignment = assignment.get(&member.id).cloned().unwrap_or_default();
            }
            propagate_assignment(cfg, group, None, now, out);
            group.transition(GroupState::Stable);
        } else {
            reset_and_propagate_assignment_error(cfg, group, GroupError::NotCoordinator, now, out);
            maybe_prepare_rebalance(cfg, group, now, out, "the assignment could not be stored");
        }
    }

    /// Heartbeat: keeps the member's session alive and tells it whether a
    /// rebalance is under way.
    pub fn heartbeat(&mut self, now: i64, req: HeartbeatRequest) -> Result<(), GroupError> {
        if req.group_id.is_empty() {
            return Err(GroupError::InvalidGroupId);
        }
        let cfg = &self.config;
        let group = self
            .groups
            .get_mut(&req.group_id)
            .ok_or(GroupError::UnknownMemberId)?;
        validate_member(
            group,
            &req.member_id,
            req.group_instance_id.as_deref(),
            req.generation_id,
        )?;
        let state = group.state;
        if matches!(state, GroupState::Empty | GroupState::Dead) {
            return Err(GroupError::UnknownMemberId);
        }
        if let Some(member) = group.members.get_mut(&req.member_id) {
            schedule_heartbeat(cfg, member, now);
        }
        match state {
            GroupState::PreparingRebalance => Err(GroupError::RebalanceInProgress),
            _ => Ok(()),
        }
    }

    /// LeaveGroup: removes each named member (by member id, or a static
    /// member by instance id alone). A group-level error, or one result per
    /// member in order.
    pub fn leave(
        &mut self,
        now: i64,
        group_id: &str,
        leaving: &[LeavingMember],
    ) -> (Result<Vec<Option<GroupError>>, GroupError>, Output) {
        let mut out = Output::default();
        if group_id.is_empty() {
            return (Err(GroupError::InvalidGroupId), out);
        }
        let cfg = &self.config;
        let Some(group) = self.groups.get_mut(group_id) else {
            let unknown = leaving
                .iter()
                .map(|_| Some(GroupError::UnknownMemberId))
                .collect();
            return (Ok(unknown), out);
        };
        if group.is(GroupState::Dead) {
            return (Err(GroupError::CoordinatorNotAvailable), out);
        }
        let mut results = Vec::with_capacity(leaving.len());
        for m in leaving {
            let instance = m.group_instance_id.as_deref();
            let result = if m.member_id.is_empty() {
                match instance.and_then(|i| group.static_members.get(i)).cloned() {
                    Some(current) => {
                        let reason = format!("static member {current} left");
                        remove_member_and_update_group(
                            cfg, group, &current, now, &mut out, &reason,
                        );
                        None
                    }
                    None => Some(GroupError::UnknownMemberId),
                }
            } else if group.pending_members.contains_key(&m.member_id) {
                remove_pending_member_and_update_group(cfg, group, &m.member_id, now, &mut out);
                None
            } else if group.is_static_member_fenced(instance, &m.member_id) {
                Some(GroupError::FencedInstanceId)
            } else if group.members.contains_key(&m.member_id) {
                let reason = format!("member {} left", m.member_id);
                remove_member_and_update_group(cfg, group, &m.member_id, now, &mut out, &reason);
                None
            } else {
                Some(GroupError::UnknownMemberId)
            };
            results.push(result);
        }
        (Ok(results), out)
    }
}

/// The checks SyncGroup, Heartbeat and member OffsetCommits share, in
/// Kafka's order.
pub(super) fn validate_member(
    group: &Group,
    member_id: &str,
    instance_id: Option<&str>,
    generation: i32,
) -> Result<(), GroupError> {
    if group.is(GroupState::Dead) {
        return Err(GroupError::CoordinatorNotAvailable);
    }
    if let Some(instance) = instance_id {
        match group.static_members.get(instance) {
            None => return Err(GroupError::UnknownMemberId),
            Some(current) if current != member_id => return Err(GroupError::FencedInstanceId),
            Some(_) => {}
        }
    }
    if !group.members.contains_key(member_id) {
        return Err(GroupError::UnknownMemberId);
    }
    if generation != group.generation {
        return Err(GroupError::IllegalGeneration);
    }
    Ok(())
}
