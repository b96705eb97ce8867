//! Unit tests of the coordinator with a fake clock and an in-memory log.
//!
//! [`Harness`] plays the broker's part: it writes every append to a `Vec`
//! (or refuses it, to test failures), follows up with `after_append`, and
//! collects the answers. `replay()` builds a new coordinator from that log,
//! as startup does.

mod offsets;
mod rebalance;
mod runtime;
mod static_members;

use std::collections::HashMap;

use bytes::Bytes;

use super::operations::*;
use super::records::GroupRecord;
use super::state::GroupState;
use super::subscription;
use super::{Coordinator, GroupConfig};
use crate::error::GroupError;

pub const SESSION: i32 = 10_000;
pub const REBALANCE: i32 = 30_000;
pub const DELAY: i64 = 3_000;

pub struct Harness {
    pub c: Coordinator,
    pub now: i64,
    pub log: Vec<GroupRecord>,
    pub fail_appends: bool,
    replies: HashMap<RequestId, Answer>,
    next: RequestId,
}

pub fn config() -> GroupConfig {
    GroupConfig {
        initial_rebalance_delay_ms: DELAY,
        min_session_timeout_ms: 1_000,
        max_session_timeout_ms: 60_000,
        offsets_retention_ms: 100_000,
        offsets_retention_check_interval_ms: 1_000,
        offset_metadata_max_bytes: 16,
        new_member_join_timeout_ms: 300_000,
    }
}

/// A consumer-protocol subscription to `topics`.
pub fn sub(topics: &[&str]) -> Bytes {
    Bytes::from(subscription::encode(topics))
}

pub fn join_req(group: &str, member_id: &str, new_id: &str) -> JoinRequest {
    JoinRequest {
        group_id: group.into(),
        member_id: member_id.into(),
        group_instance_id: None,
        new_member_id: new_id.into(),
        client_id: "client".into(),
        client_host: "/127.0.0.1".into(),
        session_timeout_ms: SESSION,
        rebalance_timeout_ms: REBALANCE,
        protocol_type: "consumer".into(),
        protocols: vec![("range".into(), sub(&["t"]))],
        require_known_member_id: true,
        supports_skip_assignment: false,
        reason: None,
    }
}

pub fn sync_req(
    group: &str,
    member: &str,
    generation: i32,
    assignments: &[(&str, &str)],
) -> SyncRequest {
    SyncRequest {
        group_id: group.into(),
        generation_id: generation,
        member_id: member.into(),
        group_instance_id: None,
        protocol_type: None,
        protocol_name: None,
        assignments: assignments
            .iter()
            .map(|(m, a)| (m.to_string(), Bytes::from(a.to_string())))
            .collect(),
    }
}

pub fn hb(group: &str, member: &str, generation: i32) -> HeartbeatRequest {
    HeartbeatRequest {
        group_id: group.into(),
        generation_id: generation,
        member_id: member.into(),
        group_instance_id: None,
    }
}

impl Harness {
    pub fn new() -> Harness {
        Harness::with(config())
    }

    pub fn with(config: GroupConfig) -> Harness {
        let mut c = Coordinator::new(config);
        c.finish_load(0);
        Harness {
            c,
            now: 0,
            log: Vec::new(),
            fail_appends: false,
            replies: HashMap::new(),
            next: 1,
        }
    }

    pub fn id(&mut self) -> RequestId {
        self.next += 1;
        self.next
    }

    pub fn drive(&mut self, out: Output) {
        let mut queue: std::collections::VecDeque<_> = out.appends.into();
        self.replies.extend(out.replies);
        while let Some(append) = queue.pop_front() {
            let ok = !self.fail_appends;
            if ok {
                self.log.extend(append.records.iter().cloned());
            }
            let more = self.c.after_append(self.now, append, ok);
            self.replies.extend(more.replies);
            queue.extend(more.appends);
        }
    }

    /// Moves the clock, running the timer every 100 ms as the broker does.
    pub fn advance(&mut self, ms: i64) {
        let end = self.now + ms;
        while self.now < end {
            self.now = (self.now + 100).min(end);
            let out = self.c.tick(self.now);
            self.drive(out);
        }
    }

    pub fn take(&mut self, id: RequestId) -> Option<Answer> {
        self.replies.remove(&id)
    }

    pub fn join(&mut self, req: JoinRequest) -> RequestId {
        let id = self.id();
        let out = self.c.join(self.now, id, req);
        self.drive(out);
        id
    }

    pub fn joined(&mut self, id: RequestId) -> Option<JoinResult> {
        match self.take(id)? {
            Answer::Join(r) => Some(r),
            other => panic!("expected a join reply, got {other:?}"),
        }
    }

    pub fn sync(&mut self, req: SyncRequest) -> RequestId {
        let id = self.id();
        let out = self.c.sync(self.now, id, req);
        self.drive(out);
        id
    }

    pub fn synced(&mut self, id: RequestId) -> Option<SyncResult> {
        match self.take(id)? {
            Answer::Sync(r) => Some(r),
            other => panic!("expected a sync reply, got {other:?}"),
        }
    }

    pub fn heartbeat(
        &mut self,
        group: &str,
        member: &str,
        generation: i32,
    ) -> Result<(), GroupError> {
        self.c.heartbeat(self.now, hb(group, member, generation))
    }

    pub fn leave(
        &mut self,
        group: &str,
        members: &[(&str, Option<&str>)],
    ) -> Result<Vec<Option<GroupError>>, GroupError> {
        let leaving: Vec<LeavingMember> = members
            .iter()
            .map(|(m, i)| LeavingMember {
                member_id: m.to_string(),
                group_instance_id: i.map(str::to_string),
            })
            .collect();
        let (result, out) = self.c.leave(self.now, group, &leaving);
        self.drive(out);
        result
    }

    pub fn state(&self, group: &str) -> GroupState {
        self.c.group(group).map_or(GroupState::Dead, |g| g.state)
    }

    pub fn generation(&self, group: &str) -> i32 {
        self.c.group(group).map_or(-1, |g| g.generation)
    }

    /// A dynamic member joins a group (MEMBER_ID_REQUIRED, then again with
    /// its id); returns the request id of the parked second join.
    pub fn join_new(&mut self, group: &str, member: &str) -> RequestId {
        let first = self.join(join_req(group, "", member));
        let r = self.joined(first).expect("MEMBER_ID_REQUIRED at once");
        assert_eq!(r.error, Some(GroupError::MemberIdRequired));
        assert_eq!(r.member_id, member);
        self.join(join_req(group, member, "unused"))
    }

    /// Builds a Stable group with `members` (the first one leads), each
    /// assigned "a-<member>". Returns the generation.
    pub fn stable_group(&mut self, group: &str, members: &[&str]) -> i32 {
        let joins: Vec<_> = members.iter().map(|m| self.join_new(group, m)).collect();
        // More than one member in generation 0 extends the initial delay once.
        self.advance(if members.len() > 1 { 2 * DELAY } else { DELAY });
        let mut generation = -1;
        for (m, id) in members.iter().zip(&joins) {
            let r = self.joined(*id).unwrap_or_else(|| panic!("{m} joined"));
            assert_eq!(r.error, None);
            generation = r.generation_id;
        }
        assert_eq!(self.state(group), GroupState::CompletingRebalance);
        let leader = self
            .c
            .group(group)
            .and_then(|g| g.leader.clone())
            .expect("leader");
        let assignment: Vec<(String, String)> = members
            .iter()
            .map(|m| (m.to_string(), format!("a-{m}")))
            .collect();
        let refs: Vec<(&str, &str)> = assignment
            .iter()
            .map(|(m, a)| (m.as_str(), a.as_str()))
            .collect();
        let follower_syncs: Vec<_> = members
            .iter()
            .filter(|m| **m != leader)
            .map(|m| {
                (
                    m.to_string(),
                    self.sync(sync_req(group, m, generation, &[])),
                )
            })
            .collect();
        let leader_sync = self.sync(sync_req(group, &leader, generation, &refs));
        assert_eq!(self.synced(leader_sync).expect("leader synced").error, None);
        for (m, id) in follower_syncs {
            let r = self.synced(id).expect("follower synced");
            assert_eq!(r.assignment, Bytes::from(format!("a-{m}")));
        }
        assert_eq!(self.state(group), GroupState::Stable);
        generation
    }

    /// A new coordinator from this one's log, as after a restart.
    pub fn replay(&self) -> Harness {
        let mut c = Coordinator::new(self.c.config.clone());
        for record in &self.log {
            // Through the bytes, as startup reads them.
            let (k, v) = record.encode();
            let decoded = GroupRecord::decode(&k, v.as_deref()).unwrap().unwrap();
            c.apply_record(&decoded);
        }
        c.finish_load(self.now);
        Harness {
            c,
            now: self.now,
            log: self.log.clone(),
            fail_appends: false,
            replies: HashMap::new(),
            next: 1000,
        }
    }
}
