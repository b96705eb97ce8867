//! The group coordinator's operations as values: what each takes
//! (`JoinRequest`, `CommitRequest`, ...), what it answers (`JoinResult`,
//! `Answer`, ...), and what it asks the runtime to do ([`Output`]: records
//! to append and answers to deliver). Plain values, free of wire versions:
//! the handlers map them to and from Kafka's messages.

use bytes::Bytes;

use super::records::{GroupRecord, OffsetValue};
use crate::error::GroupError;

/// Identifies a request whose answer the coordinator may give later.
pub use crate::coordinator::RequestId;

/// JoinGroup, as the coordinator needs it.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    pub group_id: String,
    /// Empty for a member joining for the first time.
    pub member_id: String,
    pub group_instance_id: Option<String>,
    /// The member id to hand out if this is a new member (made by the
    /// caller, so that the coordinator stays deterministic).
    pub new_member_id: String,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    pub protocol_type: String,
    pub protocols: Vec<(String, Bytes)>,
    /// v4+: a new dynamic member first gets MEMBER_ID_REQUIRED.
    pub require_known_member_id: bool,
    /// v9+: a static leader rejoining a stable group may skip the assignment.
    pub supports_skip_assignment: bool,
    #[allow(dead_code, reason = "KIP-800 join reason, kept for logging")]
    pub reason: Option<String>,
}

/// One member as the leader sees it in its JoinGroup answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinedMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub metadata: Bytes,
}

/// The JoinGroup answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinResult {
    pub error: Option<GroupError>,
    pub generation_id: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader: String,
    pub skip_assignment: bool,
    pub member_id: String,
    /// Filled for the leader only.
    pub members: Vec<JoinedMember>,
}

impl JoinResult {
    /// A failed join: no generation, no protocol, no leader.
    pub fn error(error: GroupError, member_id: &str) -> JoinResult {
        JoinResult {
            error: Some(error),
            generation_id: -1,
            protocol_type: None,
            protocol_name: None,
            leader: String::new(),
            skip_assignment: false,
            member_id: member_id.to_string(),
            members: Vec::new(),
        }
    }
}

/// SyncGroup, as the coordinator needs it.
#[derive(Debug, Clone)]
pub struct SyncRequest {
    pub group_id: String,
    pub generation_id: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    /// v5+: checked against the group's when given.
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    /// From the leader: member id → assignment.
    pub assignments: Vec<(String, Bytes)>,
}

/// The SyncGroup answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncResult {
    pub error: Option<GroupError>,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub assignment: Bytes,
}

impl SyncResult {
    pub fn error(error: GroupError) -> SyncResult {
        SyncResult {
            error: Some(error),
            protocol_type: None,
            protocol_name: None,
            assignment: Bytes::new(),
        }
    }
}

/// Heartbeat.
#[derive(Debug, Clone)]
pub struct HeartbeatRequest {
    pub group_id: String,
    pub generation_id: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
}

/// One member named in LeaveGroup (v3+ name several).
#[derive(Debug, Clone)]
pub struct LeavingMember {
    /// Empty to remove a static member by instance id alone.
    pub member_id: String,
    pub group_instance_id: Option<String>,
}

/// One partition's offset in OffsetCommit.
#[derive(Debug, Clone)]
pub struct CommitPartition {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: Option<String>,
    /// An error found by the caller (unknown topic): not committed.
    pub precheck: Option<GroupError>,
}

/// OffsetCommit.
#[derive(Debug, Clone)]
pub struct CommitRequest {
    pub group_id: String,
    /// -1 for commits from outside group management.
    pub generation_id: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    /// v9+: an unknown group with a generation is GROUP_ID_NOT_FOUND
    /// rather than ILLEGAL_GENERATION.
    pub group_id_not_found_supported: bool,
    pub partitions: Vec<CommitPartition>,
}

/// TxnOffsetCommit.
#[derive(Debug, Clone)]
pub struct TxnCommitRequest {
    pub group_id: String,
    pub producer_id: i64,
    pub producer_epoch: i16,
    /// -1 (and an empty member id) before v3 or outside group management.
    pub generation_id: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub partitions: Vec<CommitPartition>,
}

/// One partition named in OffsetDelete.
#[derive(Debug, Clone)]
pub struct DeletePartition {
    pub topic: String,
    pub partition: i32,
    pub precheck: Option<GroupError>,
}

/// Offsets of one topic found by OffsetFetch; `None` = nothing committed.
pub type FetchedTopic = (String, Vec<(i32, Option<OffsetValue>)>);

/// A group in ListGroups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedGroup {
    pub group_id: String,
    pub protocol_type: String,
    pub state: &'static str,
}

/// A member in DescribeGroups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    /// Only for Stable groups, as Kafka.
    pub metadata: Bytes,
    pub assignment: Bytes,
}

/// A group in DescribeGroups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedGroup {
    pub state: &'static str,
    pub protocol_type: String,
    /// The selected protocol, for Stable groups.
    pub protocol: String,
    pub members: Vec<DescribedMember>,
}

/// An answer given once the records it depends on are written (or at
/// once), to the request that waits for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Join(JoinResult),
    Sync(SyncResult),
    /// One entry per partition of the request, in order.
    Commit(Vec<Option<GroupError>>),
    DeleteGroup(Option<GroupError>),
    /// A group-level error, or one entry per partition in order.
    OffsetDelete(Result<Vec<Option<GroupError>>, GroupError>),
}

/// What to do once an [`Append`]'s records are written (or failed to be).
// Lives only between an operation and the write that follows it.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum AfterAppend {
    /// Nothing waits on this write; a failure is logged.
    Logged,
    /// The leader's assignment was stored: hand it out, or reset.
    SyncStored {
        group: String,
        generation: i32,
        assignment: std::collections::BTreeMap<String, Bytes>,
    },
    /// A static member that rejoined a Stable group was stored under its
    /// new member id: answer its JoinGroup, or undo the replacement.
    StaticRejoinStored(Box<StaticRejoin>),
    /// Offsets or tombstones: applied through the replay path once written,
    /// then `on_ok` (or `on_err`) goes to `request`; `remove_groups` are
    /// dropped if still empty and without offsets.
    Apply {
        request: Option<RequestId>,
        on_ok: Option<Answer>,
        on_err: Option<Answer>,
        remove_groups: Vec<String>,
    },
    /// TxnOffsetCommit: the offsets, written in a transactional batch of
    /// `producer_id`, become pending until its transaction's marker; then
    /// `on_ok` (or `on_err`) goes to `request`.
    TxnPending {
        producer_id: i64,
        request: RequestId,
        on_ok: Answer,
        on_err: Answer,
    },
}

/// What is needed to finish (or undo) a static member's rejoin.
#[derive(Debug, Clone, PartialEq)]
pub struct StaticRejoin {
    pub group: String,
    pub instance_id: String,
    pub old_member_id: String,
    pub new_member_id: String,
    pub old_protocols: Vec<(String, Bytes)>,
    pub old_rebalance_timeout_ms: i32,
    pub old_session_timeout_ms: i32,
    pub leader_before: Option<String>,
    pub request: RequestId,
    pub supports_skip_assignment: bool,
}

/// Records to write to the group's `__consumer_offsets` partition, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Append {
    pub records: Vec<GroupRecord>,
    /// (producer id, epoch) for a transactional batch (TxnOffsetCommit).
    pub producer: Option<(i64, i16)>,
    pub then: AfterAppend,
}

/// What an operation produces besides its immediate result.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Output {
    pub appends: Vec<Append>,
    pub replies: Vec<(RequestId, Answer)>,
}

impl Output {
    pub fn reply(&mut self, request: RequestId, reply: Answer) {
        self.replies.push((request, reply));
    }

    pub fn append(&mut self, records: Vec<GroupRecord>, then: AfterAppend) {
        self.appends.push(Append {
            records,
            producer: None,
            then,
        });
    }

    /// Records to write in a transactional batch of `producer`.
    pub fn append_transactional(
        &mut self,
        records: Vec<GroupRecord>,
        producer: (i64, i16),
        then: AfterAppend,
    ) {
        self.appends.push(Append {
            records,
            producer: Some(producer),
            then,
        });
    }
}
