//! [`Coordinator`]: the groups of one `__consumer_offsets` partition as a
//! deterministic state machine.
//!
//! Operations take the time (`now`, ms) and return an [`Output`]: records
//! to append, and answers for requests that were waiting. Once an append's
//! records are written the caller hands them back to [`Coordinator::after_append`],
//! which applies them and answers whoever waited for them. [`Coordinator::tick`]
//! drives every deadline (sessions, join and sync phases, offset expiry).
//! Startup feeds the partition's records to [`Coordinator::apply_record`]
//! (through the runtime's `Playback::replay`, see `service.rs`) and then
//! calls [`Coordinator::finish_load`]. No clock, no I/O, no locks: the
//! [coordinator runtime](crate::coordinator) owns all three.

use std::collections::BTreeMap;

use super::operations::{
    AfterAppend, Answer, Append, DescribedGroup, DescribedMember, ListedGroup, Output,
};
use super::rebalance::{
    complete_join, prepare_rebalance, remove_member, remove_member_and_update_group,
    remove_pending_member_and_update_group,
};
use super::records::{GroupRecord, OffsetKey, OffsetValue};
use super::state::{Group, GroupState, JoinTimer};
use super::GroupConfig;
use crate::error::GroupError;

/// The groups of one `__consumer_offsets` partition.
#[derive(Debug)]
pub struct Coordinator {
    pub(super) config: GroupConfig,
    pub(super) groups: BTreeMap<String, Group>,
    /// Offsets committed inside open transactions, by producer id; they
    /// become the group's offsets when the commit marker is written.
    pub(super) pending_txn_offsets: BTreeMap<i64, Vec<(OffsetKey, OffsetValue)>>,
    next_retention_check: i64,
}

impl Coordinator {
    pub fn new(config: GroupConfig) -> Coordinator {
        Coordinator {
            config,
            groups: BTreeMap::new(),
            pending_txn_offsets: BTreeMap::new(),
            next_retention_check: 0,
        }
    }

    #[cfg(test)]
    pub fn group(&self, id: &str) -> Option<&Group> {
        self.groups.get(id)
    }

    /// Applies one record of `__consumer_offsets`: at startup for every
    /// record in order, and live for offsets and tombstones once written.
    pub fn apply_record(&mut self, record: &GroupRecord) {
        match record {
            GroupRecord::Offset { key, value } => match value {
                Some(v) => {
                    self.groups
                        .entry(key.group.clone())
                        .or_insert_with(|| Group::new(&key.group))
                        .offsets
                        .insert((key.topic.clone(), key.partition), v.clone());
                }
                None => {
                    if let Some(g) = self.groups.get_mut(&key.group) {
                        g.offsets.remove(&(key.topic.clone(), key.partition));
                    }
                }
            },
            GroupRecord::Group { group, value } => match value {
                Some(v) => self
                    .groups
                    .entry(group.clone())
                    .or_insert_with(|| Group::new(group))
                    .load_metadata(v.clone()),
                None => {
                    if let Some(g) = self.groups.get_mut(group) {
                        // The group's membership is gone; offsets written
                        // after it (a simple consumer) keep it alive.
                        let offsets = std::mem::take(&mut g.offsets);
                        *g = Group::new(group);
                        g.offsets = offsets;
                    }
                    self.remove_if_unused(group);
                }
            },
        }
    }

    /// After replay: leftovers without offsets or metadata go, and every
    /// loaded member gets a fresh session to prove it is still alive.
    pub fn finish_load(&mut self, now: i64) {
        self.groups.retain(|_, g| {
            !(g.is(GroupState::Empty) && g.offsets.is_empty() && g.protocol_type.is_none())
        });
        for group in self.groups.values_mut() {
            for member in group.members.values_mut() {
                member.heartbeat_deadline =
                    Some(now.saturating_add(i64::from(member.session_timeout_ms)));
            }
        }
        self.next_retention_check =
            now.saturating_add(self.config.offsets_retention_check_interval_ms);
    }

    /// Applies what follows an append, `ok` telling whether its records
    /// were written.
    pub fn after_append(&mut self, now: i64, append: Append, ok: bool) -> Output {
        let mut out = Output::default();
        match append.then {
            AfterAppend::Logged => {
                if !ok {
                    tracing::warn!(records = append.records.len(),
                        "group metadata could not be stored; a restart may bring back an older generation");
                }
            }
            AfterAppend::SyncStored {
                group,
                generation,
                assignment,
            } => self.sync_stored(now, &group, generation, assignment, ok, &mut out),
            AfterAppend::StaticRejoinStored(r) => self.static_rejoin_stored(now, *r, ok, &mut out),
            AfterAppend::Apply {
                request,
                on_ok,
                on_err,
                remove_groups,
            } => {
                if ok {
                    for record in &append.records {
                        self.apply_record(record);
                    }
                    for id in &remove_groups {
                        self.remove_if_unused(id);
                    }
                }
                if let (Some(request), Some(reply)) = (request, if ok { on_ok } else { on_err }) {
                    out.reply(request, reply);
                }
            }
            AfterAppend::TxnPending {
                producer_id,
                request,
                on_ok,
                on_err,
            } => {
                if ok {
                    for record in &append.records {
                        self.apply_txn_record(producer_id, record);
                    }
                }
                out.reply(request, if ok { on_ok } else { on_err });
            }
        }
        out
    }

    /// Drives every deadline that has passed by `now`.
    pub fn tick(&mut self, now: i64) -> Output {
        let mut out = Output::default();
        let cfg = &self.config;
        for group in self.groups.values_mut() {
            expire_sessions(cfg, group, now, &mut out);
            if let Some(timer) = group.join_timer.filter(|t| t.deadline() <= now) {
                match timer {
                    JoinTimer::Initial {
                        delay, remaining, ..
                    } if group.new_member_added && remaining != 0 => {
                        // More members arrived during the delay: wait again.
                        group.new_member_added = false;
                        let next = cfg.initial_rebalance_delay_ms.min(remaining);
                        group.join_timer = Some(JoinTimer::Initial {
                            deadline: now.saturating_add(next),
                            delay: next,
                            remaining: (remaining - delay).max(0),
                        });
                    }
                    _ => complete_join(cfg, group, now, &mut out),
                }
            }
            if let Some(deadline) = group.sync_deadline.filter(|d| *d <= now) {
                group.sync_deadline = None;
                let syncing = matches!(
                    group.state,
                    GroupState::CompletingRebalance | GroupState::Stable
                );
                if syncing && !group.pending_sync.is_empty() {
                    let missing: Vec<String> = group.pending_sync.iter().cloned().collect();
                    tracing::info!(group = %group.id, ?missing, deadline,
                        "members did not send SyncGroup within the rebalance timeout");
                    for id in &missing {
                        remove_member(group, id, &mut out);
                    }
                    prepare_rebalance(cfg, group, now, &mut out, "pending SyncGroup expired");
                }
            }
        }
        if now >= self.next_retention_check {
            self.next_retention_check =
                now.saturating_add(self.config.offsets_retention_check_interval_ms);
            self.expire_offsets(now, &mut out);
        }
        out
    }

    /// ListGroups: groups whose state is in `states` and type in `types`
    /// (empty filters match everything; names are case-insensitive).
    pub fn list_groups(&self, states: &[String], types: &[String]) -> Vec<ListedGroup> {
        if !types.is_empty() && !types.iter().any(|t| t.eq_ignore_ascii_case("classic")) {
            return Vec::new();
        }
        self.groups
            .values()
            .filter(|g| !g.is(GroupState::Dead))
            .filter(|g| {
                states.is_empty()
                    || states
                        .iter()
                        .any(|s| s.eq_ignore_ascii_case(g.state.name()))
            })
            .map(|g| ListedGroup {
                group_id: g.id.clone(),
                protocol_type: g.protocol_type.clone().unwrap_or_default(),
                state: g.state.name(),
            })
            .collect()
    }

    /// DescribeGroups for one group. Member metadata and assignments are
    /// only shown for Stable groups, as Kafka does.
    pub fn describe_group(&self, group_id: &str) -> Result<DescribedGroup, GroupError> {
        let group = self
            .groups
            .get(group_id)
            .filter(|g| !g.is(GroupState::Dead))
            .ok_or(GroupError::GroupIdNotFound)?;
        let stable = group.is(GroupState::Stable);
        let protocol = group.protocol.clone().unwrap_or_default();
        Ok(DescribedGroup {
            state: group.state.name(),
            protocol_type: group.protocol_type.clone().unwrap_or_default(),
            protocol: if stable {
                protocol.clone()
            } else {
                String::new()
            },
            members: group
                .members
                .values()
                .map(|m| DescribedMember {
                    member_id: m.id.clone(),
                    group_instance_id: m.instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    metadata: if stable {
                        m.metadata(&protocol)
                    } else {
                        Default::default()
                    },
                    assignment: if stable {
                        m.assignment.clone()
                    } else {
                        Default::default()
                    },
                })
                .collect(),
        })
    }

    /// Fails every parked request (the coordinator is going away).
    pub fn fail_all_waiting(&mut self) -> Output {
        let mut out = Output::default();
        for group in self.groups.values_mut() {
            for member in group.members.values_mut() {
                if let Some(w) = member.awaiting_join.take() {
                    let result = super::operations::JoinResult::error(
                        GroupError::NotCoordinator,
                        &member.id,
                    );
                    out.reply(w.request, Answer::Join(result));
                }
                if let Some(request) = member.awaiting_sync.take() {
                    let result = super::operations::SyncResult::error(GroupError::NotCoordinator);
                    out.reply(request, Answer::Sync(result));
                }
            }
        }
        out
    }
}

/// Members (and pending member ids) whose session ran out. A member parked
/// in a rebalance counts as alive, except a new one past its join timeout.
fn expire_sessions(cfg: &GroupConfig, group: &mut Group, now: i64, out: &mut Output) {
    let pending: Vec<String> = group
        .pending_members
        .iter()
        .filter(|(_, deadline)| **deadline <= now)
        .map(|(id, _)| id.clone())
        .collect();
    for id in pending {
        tracing::info!(group = %group.id, member = %id, "pending member expired");
        remove_pending_member_and_update_group(cfg, group, &id, now, out);
    }
    let due: Vec<String> = group
        .members
        .values()
        .filter(|m| m.heartbeat_deadline.is_some_and(|d| d <= now))
        .map(|m| m.id.clone())
        .collect();
    for id in due {
        let Some(member) = group.members.get_mut(&id) else {
            continue;
        };
        let parked = member.awaiting_join.is_some() || member.awaiting_sync.is_some();
        if parked && !member.is_new {
            member.heartbeat_deadline = None;
            continue;
        }
        tracing::info!(group = %group.id, member = %id, "member session expired; removing it");
        let reason = format!("member {id} session expired");
        remove_member_and_update_group(cfg, group, &id, now, out, &reason);
    }
}
