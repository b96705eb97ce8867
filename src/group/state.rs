//! One classic group: its state, generation, members and committed offsets.
//!
//! The states, what each does with requests, and what moves it on (Kafka's
//! `GroupMetadata` table, as this coordinator implements it):
//!
//! | state | action | transitions |
//! |---|---|---|
//! | **Empty** — no members; lingers while it has offsets (also the state of "simple" groups that only commit offsets) | JoinGroup from a new member is accepted; SyncGroup, Heartbeat: UNKNOWN_MEMBER_ID; OffsetCommit only with generation -1 and no member id; OffsetFetch served | a join → **PreparingRebalance** (after `group.initial.rebalance.delay.ms`, extended while members keep arriving in the first generation); last offset expired or DeleteGroups → **Dead** |
//! | **PreparingRebalance** — waiting for every known member to (re)join | JoinGroup parked until all members joined or the rebalance timeout; Heartbeat: REBALANCE_IN_PROGRESS; SyncGroup: REBALANCE_IN_PROGRESS; LeaveGroup removes the member; OffsetCommit from the current generation accepted | all members joined, or the rebalance timeout removed the dynamic members that did not → **CompletingRebalance** (next generation, protocol selected, leader elected); nobody left → **Empty** |
//! | **CompletingRebalance** — members have their JoinGroup answer, waiting for the leader's assignment | SyncGroup parked until the leader's SyncGroup is stored; Heartbeat: OK; OffsetCommit: REBALANCE_IN_PROGRESS; JoinGroup with unchanged metadata answered with the current generation | leader's assignment stored → **Stable**; a join with new metadata, a leave, a session or sync timeout → **PreparingRebalance** |
//! | **Stable** — every member has its assignment | Heartbeat: OK; SyncGroup returns the member's assignment; JoinGroup from a follower with unchanged metadata answered with the current generation; a static member's restart takes over its old member without a rebalance; OffsetCommit from the current generation accepted | the leader's JoinGroup, a follower's JoinGroup with new metadata, a leave, a session timeout → **PreparingRebalance** |
//! | **Dead** — being removed | answers COORDINATOR_NOT_AVAILABLE / UNKNOWN_MEMBER_ID; groups are taken out of the coordinator as they reach it | none |

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;

use super::operations::{JoinedMember, RequestId};
use super::records::{GroupMetadataValue, MemberValue, OffsetValue};
use super::subscription;

/// Kafka's classic group states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
}

impl GroupState {
    /// The name Kafka uses in ListGroups and DescribeGroups.
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }

    /// The states a group may come from to enter `self`.
    fn valid_previous(self) -> &'static [GroupState] {
        use GroupState::*;
        match self {
            Empty => &[PreparingRebalance],
            PreparingRebalance => &[Stable, CompletingRebalance, Empty],
            CompletingRebalance => &[PreparingRebalance],
            Stable => &[CompletingRebalance],
            Dead => &[Stable, PreparingRebalance, CompletingRebalance, Empty, Dead],
        }
    }
}

/// Whether Kafka's table lets a group go from `from` to `to`.
pub fn can_transition(from: GroupState, to: GroupState) -> bool {
    to.valid_previous().contains(&from)
}

/// A JoinGroup request parked until the rebalance completes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinWaiter {
    pub request: RequestId,
    /// JoinGroup v9+: a static leader may be told to skip the assignment.
    pub supports_skip_assignment: bool,
}

/// One member of a group.
#[derive(Debug, Clone)]
pub struct Member {
    pub id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout_ms: i32,
    pub session_timeout_ms: i32,
    pub protocol_type: String,
    /// (name, metadata) in the member's order of preference.
    pub protocols: Vec<(String, Bytes)>,
    pub assignment: Bytes,
    pub awaiting_join: Option<JoinWaiter>,
    pub awaiting_sync: Option<RequestId>,
    /// Joined but not yet part of a completed generation.
    pub is_new: bool,
    /// When the member expires unless it heartbeats (or is parked in a
    /// rebalance, which counts as alive); `None` = no expiry scheduled.
    pub heartbeat_deadline: Option<i64>,
}

impl Member {
    /// The metadata the member gave for `protocol` (empty if none).
    pub fn metadata(&self, protocol: &str) -> Bytes {
        self.protocols
            .iter()
            .find(|(name, _)| name == protocol)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }

    /// True if `protocols` is exactly what the member gave last time.
    pub fn matches(&self, protocols: &[(String, Bytes)]) -> bool {
        self.protocols == protocols
    }

    /// The member's most preferred protocol among `candidates`.
    fn vote<'a>(&'a self, candidates: &BTreeSet<&str>) -> Option<&'a str> {
        self.protocols
            .iter()
            .map(|(name, _)| name.as_str())
            .find(|name| candidates.contains(name))
    }
}

/// When a rebalance in PreparingRebalance completes at the latest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinTimer {
    /// Kafka's `InitialDelayedJoin`: a group that was Empty waits `delay`
    /// for more members, again while new ones keep arriving in generation
    /// 0, never longer than the rebalance timeout (`remaining`).
    Initial {
        deadline: i64,
        delay: i64,
        remaining: i64,
    },
    /// Kafka's `DelayedJoin`: completes as soon as every member has joined,
    /// or at `deadline` (the rebalance timeout) without the stragglers.
    Regular { deadline: i64 },
}

impl JoinTimer {
    pub fn deadline(&self) -> i64 {
        match self {
            JoinTimer::Initial { deadline, .. } | JoinTimer::Regular { deadline } => *deadline,
        }
    }
}

/// One group's state.
#[derive(Debug, Clone)]
pub struct Group {
    pub id: String,
    pub state: GroupState,
    /// When the group entered its current state (set at each new generation).
    pub state_timestamp: Option<i64>,
    pub generation: i32,
    pub protocol_type: Option<String>,
    pub protocol: Option<String>,
    pub leader: Option<String>,
    pub members: BTreeMap<String, Member>,
    /// Member ids handed out with MEMBER_ID_REQUIRED, with their expiry.
    pub pending_members: BTreeMap<String, i64>,
    /// group.instance.id → member id.
    pub static_members: BTreeMap<String, String>,
    /// Members of this generation that have not sent SyncGroup yet.
    pub pending_sync: BTreeSet<String>,
    pub sync_deadline: Option<i64>,
    pub join_timer: Option<JoinTimer>,
    /// A member joined during the initial delay of generation 0.
    pub new_member_added: bool,
    /// Topics the members subscribe to (consumer protocol only; `None` = unknown).
    pub subscribed_topics: Option<BTreeSet<String>>,
    pub offsets: BTreeMap<(String, i32), OffsetValue>,
}

impl Group {
    /// A new group in Empty, with no protocol type (a "simple" group until
    /// a member joins).
    pub fn new(id: &str) -> Group {
        Group {
            id: id.to_string(),
            state: GroupState::Empty,
            state_timestamp: None,
            generation: 0,
            protocol_type: None,
            protocol: None,
            leader: None,
            members: BTreeMap::new(),
            pending_members: BTreeMap::new(),
            static_members: BTreeMap::new(),
            pending_sync: BTreeSet::new(),
            sync_deadline: None,
            join_timer: None,
            new_member_added: false,
            subscribed_topics: None,
            offsets: BTreeMap::new(),
        }
    }

    pub fn is(&self, state: GroupState) -> bool {
        self.state == state
    }

    /// Moves to `to`. A move Kafka's table does not allow is a bug here; it
    /// is logged (and caught by tests) rather than taking the broker down.
    pub fn transition(&mut self, to: GroupState) {
        if !can_transition(self.state, to) {
            tracing::error!(group = %self.id, from = self.state.name(), to = to.name(),
                "invalid group state transition");
            debug_assert!(
                false,
                "group {} cannot go from {:?} to {:?}",
                self.id, self.state, to
            );
        }
        tracing::debug!(group = %self.id, from = self.state.name(), to = to.name(), "group state");
        self.state = to;
    }

    pub fn is_leader(&self, member_id: &str) -> bool {
        self.leader.as_deref() == Some(member_id)
    }

    /// True if `instance_id` belongs to a member other than `member_id`.
    pub fn is_static_member_fenced(&self, instance_id: Option<&str>, member_id: &str) -> bool {
        instance_id
            .and_then(|i| self.static_members.get(i))
            .is_some_and(|current| current != member_id)
    }

    /// The largest rebalance timeout of the members.
    pub fn rebalance_timeout_ms(&self) -> i64 {
        self.members
            .values()
            .map(|m| i64::from(m.rebalance_timeout_ms))
            .max()
            .unwrap_or(0)
    }

    pub fn has_all_members_joined(&self) -> bool {
        self.pending_members.is_empty() && self.members.values().all(|m| m.awaiting_join.is_some())
    }

    /// Protocols every member supports.
    fn candidate_protocols(&self) -> BTreeSet<&str> {
        let mut members = self.members.values();
        let Some(first) = members.next() else {
            return BTreeSet::new();
        };
        let mut candidates: BTreeSet<&str> =
            first.protocols.iter().map(|(n, _)| n.as_str()).collect();
        for m in members {
            candidates.retain(|c| m.protocols.iter().any(|(n, _)| n == c));
        }
        candidates
    }

    /// Whether a member with these protocols may join.
    pub fn supports_protocols(&self, protocol_type: &str, protocols: &[(String, Bytes)]) -> bool {
        if self.is(GroupState::Empty) {
            return !protocol_type.is_empty() && !protocols.is_empty();
        }
        let candidates = self.candidate_protocols();
        self.protocol_type.as_deref() == Some(protocol_type)
            && protocols
                .iter()
                .any(|(n, _)| candidates.contains(n.as_str()))
    }

    /// The protocol every member supports with the most first-choice votes;
    /// ties go to the leader's preference (Kafka leaves ties to hash order).
    pub fn select_protocol(&self) -> Option<String> {
        let candidates = self.candidate_protocols();
        let mut votes: BTreeMap<&str, usize> = BTreeMap::new();
        for m in self.members.values() {
            if let Some(p) = m.vote(&candidates) {
                *votes.entry(p).or_default() += 1;
            }
        }
        let best = votes.values().copied().max()?;
        let tied: BTreeSet<&str> = votes
            .iter()
            .filter(|(_, v)| **v == best)
            .map(|(p, _)| *p)
            .collect();
        let leader = self.leader.as_ref().and_then(|l| self.members.get(l));
        leader
            .and_then(|l| l.vote(&tied))
            .or_else(|| tied.iter().next().copied())
            .map(str::to_string)
    }

    /// Adds a member; the first one sets the protocol type and leads.
    pub fn add_member(&mut self, member: Member) {
        if self.members.is_empty() {
            self.protocol_type = Some(member.protocol_type.clone());
        }
        if self.leader.is_none() {
            self.leader = Some(member.id.clone());
        }
        if let Some(instance) = &member.instance_id {
            self.static_members
                .insert(instance.clone(), member.id.clone());
        }
        self.pending_members.remove(&member.id);
        self.members.insert(member.id.clone(), member);
    }

    /// Removes a member (or a pending member id). A new leader is the first
    /// remaining member.
    pub fn remove_member(&mut self, member_id: &str) -> Option<Member> {
        let removed = self.members.remove(member_id);
        if let Some(instance) = removed.as_ref().and_then(|m| m.instance_id.as_ref()) {
            if self.static_members.get(instance).map(String::as_str) == Some(member_id) {
                self.static_members.remove(instance);
            }
        }
        if self.is_leader(member_id) {
            self.leader = self.members.keys().next().cloned();
        }
        self.pending_members.remove(member_id);
        self.pending_sync.remove(member_id);
        removed
    }

    /// If the leader has not rejoined, any member that has becomes leader.
    /// False if no member rejoined.
    pub fn maybe_elect_new_joined_leader(&mut self) -> bool {
        let Some(leader) = self.leader.as_ref().and_then(|l| self.members.get(l)) else {
            return false;
        };
        if leader.awaiting_join.is_some() {
            return true;
        }
        match self.members.values().find(|m| m.awaiting_join.is_some()) {
            Some(m) => {
                self.leader = Some(m.id.clone());
                true
            }
            None => false,
        }
    }

    /// Every member's id, instance id and metadata for the selected
    /// protocol: what the leader needs to compute the assignment.
    pub fn current_member_metadata(&self) -> Vec<JoinedMember> {
        let protocol = self.protocol.as_deref().unwrap_or_default();
        self.members
            .values()
            .map(|m| JoinedMember {
                member_id: m.id.clone(),
                group_instance_id: m.instance_id.clone(),
                metadata: m.metadata(protocol),
            })
            .collect()
    }

    /// Kafka's `computeSubscribedTopics`: the union of the consumer-protocol
    /// subscriptions, `None` if unknown (other protocols, unreadable metadata).
    pub fn compute_subscribed_topics(&self) -> Option<BTreeSet<String>> {
        if self.protocol_type.as_deref() != Some(subscription::CONSUMER_PROTOCOL_TYPE) {
            return None;
        }
        if self.members.is_empty() {
            return Some(BTreeSet::new());
        }
        let protocol = self.protocol.as_deref()?;
        let mut all = BTreeSet::new();
        for m in self.members.values() {
            all.extend(subscription::topics(&m.metadata(protocol))?);
        }
        Some(all)
    }

    /// True if offsets of `topic` may be in use (unknown counts as in use).
    pub fn is_subscribed_to(&self, topic: &str) -> bool {
        self.subscribed_topics
            .as_ref()
            .is_none_or(|t| t.contains(topic))
    }

    /// The group as stored in `__consumer_offsets`.
    pub fn metadata_value(&self, assignment: &BTreeMap<String, Bytes>) -> GroupMetadataValue {
        let protocol = self.protocol.as_deref().unwrap_or_default();
        GroupMetadataValue {
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            generation: self.generation,
            protocol: self.protocol.clone(),
            leader: self.leader.clone(),
            current_state_timestamp: self.state_timestamp.unwrap_or(-1),
            members: self
                .members
                .values()
                .map(|m| MemberValue {
                    member_id: m.id.clone(),
                    group_instance_id: m.instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    rebalance_timeout_ms: m.rebalance_timeout_ms,
                    session_timeout_ms: m.session_timeout_ms,
                    subscription: m.metadata(protocol),
                    assignment: assignment.get(&m.id).cloned().unwrap_or_default(),
                })
                .collect(),
        }
    }

    /// Rebuilds membership from a stored value (startup replay), keeping
    /// the offsets. Members get their session timeout from `finish_load`.
    pub fn load_metadata(&mut self, value: GroupMetadataValue) {
        self.protocol_type = Some(value.protocol_type).filter(|t| !t.is_empty());
        self.generation = value.generation;
        self.protocol = value.protocol;
        self.leader = value.leader;
        self.state_timestamp = Some(value.current_state_timestamp).filter(|t| *t >= 0);
        self.members.clear();
        self.static_members.clear();
        self.pending_members.clear();
        self.pending_sync.clear();
        self.sync_deadline = None;
        self.join_timer = None;
        self.new_member_added = false;
        let protocol = self.protocol.clone().unwrap_or_default();
        for m in value.members {
            if let Some(instance) = &m.group_instance_id {
                self.static_members
                    .insert(instance.clone(), m.member_id.clone());
            }
            self.members.insert(
                m.member_id.clone(),
                Member {
                    id: m.member_id,
                    instance_id: m.group_instance_id,
                    client_id: m.client_id,
                    client_host: m.client_host,
                    rebalance_timeout_ms: m.rebalance_timeout_ms,
                    session_timeout_ms: m.session_timeout_ms,
                    protocol_type: self.protocol_type.clone().unwrap_or_default(),
                    protocols: vec![(protocol.clone(), m.subscription)],
                    assignment: m.assignment,
                    awaiting_join: None,
                    awaiting_sync: None,
                    is_new: false,
                    heartbeat_deadline: None,
                },
            );
        }
        self.state = if self.members.is_empty() {
            GroupState::Empty
        } else {
            GroupState::Stable
        };
        if self
            .leader
            .as_ref()
            .is_some_and(|l| !self.members.contains_key(l))
        {
            self.leader = self.members.keys().next().cloned();
        }
        self.subscribed_topics = self.compute_subscribed_topics();
    }
}
