//! [`Groups`]: the group coordinators of a running broker, on the shared
//! [coordinator runtime](crate::coordinator): one [`Coordinator`] per
//! partition of `__consumer_offsets`, each behind its own lock.
//!
//! Ownership: a shard's lock is held for a whole operation, including the
//! appends it produces and what follows them (see `drive`), so that
//! records reach the log in the order the state changed. Waiting for an
//! fsync happens afterwards, outside the lock (lock order in
//! [`crate::coordinator::runtime`]).
//!
//! Replay: offsets, tombstones and transactional offsets change the state
//! only through [`Playback::replay`] (at start) or the same functions once
//! their records are written (`Coordinator::after_append`). A classic
//! group's membership changes in memory first and is then persisted (as in
//! Kafka's classic groups); a failed write resets it.
//!
//! Requests whose answer may come later (JoinGroup, SyncGroup, commits and
//! deletions that wait for their records) are parked in the shard; each
//! method returns a [`Pending`] typed by its answer.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use super::operations::{
    Answer, CommitRequest, DeletePartition, HeartbeatRequest, JoinRequest, JoinResult,
    LeavingMember, Output, SyncRequest, SyncResult, TxnCommitRequest,
};
use super::records::{FormatError, GroupRecord};
use super::{partition_for, Coordinator, GroupConfig, OFFSETS_TOPIC};
use crate::config::{Config, FsyncMode};
use crate::coordinator::pending::Write;
use crate::coordinator::writer::EncodedRecord;
use crate::coordinator::{
    CoordinatorError, CoordinatorShard, Pending, Playback, Runtime, Shard, SharedClock,
};
use crate::error::{GroupError, PartitionError, TopicError};
use crate::metadata::Metadata;
use crate::partition::Partitions;

/// How often deadlines are checked.
pub const TICK: Duration = Duration::from_millis(100);

impl Playback for Coordinator {
    type Record = GroupRecord;

    fn replay(&mut self, producer_id: Option<i64>, record: &GroupRecord) {
        match producer_id {
            // TxnOffsetCommit: pending until that producer's marker.
            Some(producer_id) => self.apply_txn_record(producer_id, record),
            None => self.apply_record(record),
        }
    }

    fn replay_end_marker(&mut self, producer_id: i64, commit: bool) {
        self.complete_txn(producer_id, commit);
    }
}

impl CoordinatorShard for Coordinator {
    type Answer = Answer;
    type DecodeError = FormatError;

    fn decode(key: &[u8], value: Option<&[u8]>) -> Result<Option<GroupRecord>, FormatError> {
        GroupRecord::decode(key, value)
    }

    fn encode(record: &GroupRecord) -> EncodedRecord {
        record.encode()
    }

    fn loaded(&mut self, now: i64) {
        self.finish_load(now);
    }
}

/// The group coordinators of the broker.
pub struct Groups {
    runtime: Runtime<Coordinator>,
}

/// Creates `__consumer_offsets` (internal, compacted, never deleted by
/// time or size) with `--offsets-topic-partitions` partitions if it does not
/// exist yet. An existing topic keeps its partition count.
pub fn ensure_offsets_topic(metadata: &Metadata, config: &Config) -> Result<(), TopicError> {
    // Kafka's offsets.topic.segment.bytes.
    crate::metadata::ensure_internal_topic(
        metadata,
        OFFSETS_TOPIC,
        config.offsets_topic_partitions,
        &config.offsets_topic_segment_bytes.to_string(),
    )
}

impl From<&Config> for GroupConfig {
    fn from(c: &Config) -> Self {
        GroupConfig {
            initial_rebalance_delay_ms: i64::try_from(c.initial_rebalance_delay_ms())
                .unwrap_or(i64::MAX),
            min_session_timeout_ms: c.group_min_session_timeout_ms,
            max_session_timeout_ms: c.group_max_session_timeout_ms,
            offsets_retention_ms: i64::try_from(c.offsets_retention_minutes)
                .unwrap_or(i64::MAX)
                .saturating_mul(60_000),
            ..GroupConfig::default()
        }
    }
}

fn pick_join(reply: Answer) -> Option<JoinResult> {
    match reply {
        Answer::Join(r) => Some(r),
        _ => None,
    }
}

fn pick_sync(reply: Answer) -> Option<SyncResult> {
    match reply {
        Answer::Sync(r) => Some(r),
        _ => None,
    }
}

/// One entry per partition of the request, or the answer is not trusted.
fn pick_commit(count: usize) -> impl FnOnce(Answer) -> Option<Vec<Option<GroupError>>> + Send {
    move |reply| match reply {
        Answer::Commit(r) if r.len() == count => Some(r),
        _ => None,
    }
}

fn pick_delete_group(reply: Answer) -> Option<Option<GroupError>> {
    match reply {
        Answer::DeleteGroup(r) => Some(r),
        _ => None,
    }
}

/// OffsetDelete's answer: a group-level error, or one entry per partition.
pub type OffsetDeleteResult = Result<Vec<Option<GroupError>>, GroupError>;

/// A group-level error or one entry per partition of the request, or the
/// answer is not trusted.
fn pick_offset_delete(count: usize) -> impl FnOnce(Answer) -> Option<OffsetDeleteResult> + Send {
    move |reply| match reply {
        Answer::OffsetDelete(Ok(r)) if r.len() != count => None,
        Answer::OffsetDelete(r) => Some(r),
        _ => None,
    }
}

impl Groups {
    /// The coordinators before they are loaded (start-up serves while it
    /// recovers): every group operation is COORDINATOR_LOAD_IN_PROGRESS
    /// until [`Groups::finish_load`].
    pub fn loading(metadata: &Metadata, clock: SharedClock) -> Groups {
        let count = metadata.topic(OFFSETS_TOPIC).map_or(0, |t| t.partitions);
        Groups {
            runtime: Runtime::loading(usize::try_from(count).unwrap_or(0), clock),
        }
    }

    /// Loads the coordinators of [`Groups::loading`] from the (now opened)
    /// partitions of `__consumer_offsets`.
    pub fn finish_load(
        &self,
        config: &Config,
        partitions: &Partitions,
    ) -> Result<(), PartitionError> {
        let writers = crate::coordinator::writer::internal_topic_writers(
            partitions,
            OFFSETS_TOPIC,
            self.runtime.shard_count(),
        )?;
        let group_config = GroupConfig::from(config);
        self.runtime.finish_load(
            writers,
            move || Coordinator::new(group_config.clone()),
            config.fsync == FsyncMode::Always,
        )
    }

    /// Loads every group from `partitions` (those of `__consumer_offsets`,
    /// in index order) by replaying their records.
    #[cfg(test)]
    pub fn open(
        config: GroupConfig,
        partitions: Vec<Arc<crate::partition::Partition>>,
        wait_for_fsync: bool,
        clock: SharedClock,
    ) -> Result<Groups, PartitionError> {
        let writers = partitions
            .into_iter()
            .map(|p| p as Arc<dyn crate::coordinator::PartitionWriter>)
            .collect();
        let runtime = Runtime::load(
            writers,
            move || Coordinator::new(config.clone()),
            clock,
            wait_for_fsync,
        )?;
        Ok(Groups { runtime })
    }

    /// Whether the coordinators are loaded (see [`Groups::loading`]).
    pub fn is_loaded(&self) -> bool {
        self.runtime.is_loaded()
    }

    /// Runs an operation on `group_id`'s shard (deadlines fired first).
    fn on_shard<R>(
        &self,
        group_id: &str,
        op: impl FnOnce(&mut Shard<Coordinator>) -> R,
    ) -> Result<R, CoordinatorError> {
        self.runtime
            .with_shard(self.runtime.shard_of(group_id), |shard| {
                fire_deadlines(shard);
                op(shard)
            })
    }

    /// Runs an operation whose answer (picked out of the coordinator's
    /// replies by `pick`) may come later.
    fn call<T: Send + 'static>(
        &self,
        group_id: &str,
        pick: impl FnOnce(Answer) -> Option<T> + Send + 'static,
        op: impl FnOnce(&mut Coordinator, i64, u64) -> Output,
    ) -> Pending<T, GroupError> {
        if self.runtime.is_closed() {
            return Pending::failed(CoordinatorError::Gone);
        }
        let outcome = self.on_shard(group_id, |shard| {
            let (request, mut pending) = shard.park(pick);
            let now = shard.now();
            let out = op(&mut shard.machine, now, request);
            if let Some(end) = drive(shard, out) {
                shard.wait_for(&mut pending, end);
            }
            pending
        });
        outcome.unwrap_or_else(|e| match e {
            // Still loading at start: the client retries here.
            CoordinatorError::Loading => Pending::failed(e),
            // Whatever else went wrong, the client looks for the coordinator again.
            _ => Pending::failed(CoordinatorError::Gone),
        })
    }

    /// JoinGroup.
    pub fn join(&self, req: JoinRequest) -> Pending<JoinResult, GroupError> {
        let group_id = req.group_id.clone();
        self.call(&group_id, pick_join, |c, now, id| c.join(now, id, req))
    }

    /// SyncGroup.
    pub fn sync(&self, req: SyncRequest) -> Pending<SyncResult, GroupError> {
        let group_id = req.group_id.clone();
        self.call(&group_id, pick_sync, |c, now, id| c.sync(now, id, req))
    }

    /// OffsetCommit: one entry per partition of the request, in order (an
    /// answer of another length reads as NOT_COORDINATOR).
    pub fn commit(&self, req: CommitRequest) -> Pending<Vec<Option<GroupError>>, GroupError> {
        let group_id = req.group_id.clone();
        let pick = pick_commit(req.partitions.len());
        self.call(&group_id, pick, |c, now, id| c.commit(now, id, req))
    }

    /// TxnOffsetCommit: one entry per partition of the request, in order.
    pub fn txn_commit(
        &self,
        req: TxnCommitRequest,
    ) -> Pending<Vec<Option<GroupError>>, GroupError> {
        let group_id = req.group_id.clone();
        let pick = pick_commit(req.partitions.len());
        self.call(&group_id, pick, |c, now, id| c.txn_commit(now, id, req))
    }

    /// DeleteGroups, for one group.
    pub fn delete_group(&self, group_id: &str) -> Pending<Option<GroupError>, GroupError> {
        self.call(group_id, pick_delete_group, |c, _, id| {
            c.delete_group(id, group_id)
        })
    }

    /// The reset's deletion of one group, members and all (see
    /// `Coordinator::remove_group`).
    pub fn remove_group(&self, group_id: &str) -> Pending<Option<GroupError>, GroupError> {
        self.call(group_id, pick_delete_group, |c, _, id| {
            c.remove_group(id, group_id)
        })
    }

    /// OffsetDelete.
    pub fn delete_offsets(
        &self,
        group_id: &str,
        partitions: &[DeletePartition],
    ) -> Pending<OffsetDeleteResult, GroupError> {
        let pick = pick_offset_delete(partitions.len());
        self.call(group_id, pick, |c, _, id| {
            c.delete_offsets(id, group_id, partitions)
        })
    }

    /// Heartbeat.
    pub fn heartbeat(&self, req: HeartbeatRequest) -> Result<(), GroupError> {
        let group_id = req.group_id.clone();
        self.run(&group_id, |c, now| {
            (c.heartbeat(now, req), Output::default())
        })?
    }

    /// LeaveGroup: one entry per member named, in order.
    pub fn leave(
        &self,
        group_id: &str,
        leaving: &[LeavingMember],
    ) -> Result<Vec<Option<GroupError>>, GroupError> {
        self.run(group_id, |c, now| c.leave(now, group_id, leaving))?
    }

    /// Runs an operation with an immediate result (and maybe side effects).
    pub fn run<T>(
        &self,
        group_id: &str,
        op: impl FnOnce(&mut Coordinator, i64) -> (T, Output),
    ) -> Result<T, GroupError> {
        let result = self.on_shard(group_id, |shard| {
            let now = shard.now();
            let (result, out) = op(&mut shard.machine, now);
            drive(shard, out);
            result
        })?;
        Ok(result)
    }

    /// Reads one group's coordinator.
    pub fn read<T>(
        &self,
        group_id: &str,
        op: impl FnOnce(&Coordinator) -> T,
    ) -> Result<T, GroupError> {
        Ok(self.on_shard(group_id, |shard| op(&shard.machine))?)
    }

    /// Collects from every coordinator, shard by shard.
    pub fn collect<T>(&self, mut op: impl FnMut(&Coordinator) -> Vec<T>) -> Vec<T> {
        let mut all = Vec::new();
        for index in 0..self.runtime.shard_count() {
            let found = self.runtime.inspect_shard(index, |shard| {
                fire_deadlines(shard);
                op(&shard.machine)
            });
            all.extend(found.unwrap_or_default());
        }
        all
    }

    /// Drives every deadline passed by now.
    pub fn tick(&self) {
        self.runtime.for_each_shard(fire_deadlines);
    }

    /// Writes `producer_id`'s transaction marker to partition `index` of
    /// `__consumer_offsets` and commits or drops the offsets it committed
    /// there (the transaction coordinator's last step). Returns the write,
    /// for fsync.
    pub fn complete_transaction(
        &self,
        index: i32,
        producer_id: i64,
        epoch: i16,
        commit: bool,
    ) -> Result<Write, PartitionError> {
        let index = usize::try_from(index).map_err(|_| PartitionError::UnknownTopicOrPartition)?;
        self.runtime
            .inspect_shard(index, |shard| {
                let end = shard.write_end_marker(producer_id, epoch, commit)?;
                Ok((Arc::clone(shard.writer()), end))
            })
            .map_err(|_| PartitionError::UnknownTopicOrPartition)?
    }

    /// The partition of `__consumer_offsets` that holds `group_id`.
    pub fn partition_of(&self, group_id: &str) -> i32 {
        i32::try_from(partition_for(group_id, self.runtime.shard_count())).unwrap_or(0)
    }

    /// Stops parking requests and answers every parked one with
    /// NOT_COORDINATOR, so that connections can close at shutdown.
    pub fn close(&self) {
        self.runtime.close();
        self.runtime.for_each_shard(|shard| {
            let out = shard.machine.fail_all_waiting();
            drive(shard, out);
            shard.drop_waiters();
        });
    }
}

/// Fires every deadline that has passed (a member whose session ended, a
/// rebalance that timed out) before a shard is used: Kafka's timers fire at
/// their deadline, while the sweep runs only every [`TICK`], so a request
/// right after a deadline must not see the group as it was before it.
fn fire_deadlines(shard: &mut Shard<Coordinator>) {
    let now = shard.now();
    let out = shard.machine.tick(now);
    drive(shard, out);
}

/// Writes an output's records and delivers its answers, following up on
/// each append. Returns the end offset of the last record written.
fn drive(shard: &mut Shard<Coordinator>, out: Output) -> Option<i64> {
    let now = shard.now();
    let mut end = None;
    for (request, reply) in out.replies {
        shard.deliver(request, reply);
    }
    let mut queue: VecDeque<_> = out.appends.into();
    while let Some(append) = queue.pop_front() {
        let ok = match shard.append(&append.records, append.producer) {
            Ok(offset) => {
                end = Some(offset);
                true
            }
            Err(e) => {
                tracing::error!(partition = shard.writer().index(), error = %e,
                    "cannot write to __consumer_offsets");
                false
            }
        };
        let more = shard.machine.after_append(now, append, ok);
        for (request, reply) in more.replies {
            shard.deliver(request, reply);
        }
        queue.extend(more.appends);
    }
    end
}
