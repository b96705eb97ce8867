//! Committed offsets: OffsetCommit, OffsetFetch, OffsetDelete, DeleteGroups
//! and expiry after `offsets.retention.minutes`.
//!
//! Every change is a record in `__consumer_offsets`; the in-memory offsets
//! change only once that record is written, through
//! [`Coordinator::apply_record`] — the same function that replays the topic
//! at startup, so that what clients were told and what a restart rebuilds
//! cannot drift apart.

use super::membership::validate_member;
use super::operations::{
    AfterAppend, Answer, CommitPartition, CommitRequest, DeletePartition, FetchedTopic, Output,
    RequestId,
};
use super::rebalance::{remove_member, schedule_heartbeat};
use super::records::{GroupRecord, OffsetKey, OffsetValue};
use super::state::{Group, GroupState};
use super::subscription::CONSUMER_PROTOCOL_TYPE;
use super::Coordinator;
use crate::error::GroupError;

impl Coordinator {
    /// OffsetCommit. The answer (one entry per partition) goes to `request`
    /// once the offsets are written.
    pub fn commit(&mut self, now: i64, request: RequestId, req: CommitRequest) -> Output {
        let mut out = Output::default();
        if let Err(e) = self.validate_commit(now, &req) {
            let all = req.partitions.iter().map(|_| Some(e)).collect();
            out.reply(request, Answer::Commit(all));
            return out;
        }
        let (results, records) = self.offset_records(&req.group_id, &req.partitions, now);
        if records.is_empty() {
            out.reply(request, Answer::Commit(results));
            return out;
        }
        let failed = results
            .iter()
            .map(|r| r.or(Some(GroupError::NotCoordinator)))
            .collect();
        out.append(
            records,
            AfterAppend::Apply {
                request: Some(request),
                on_ok: Some(Answer::Commit(results)),
                on_err: Some(Answer::Commit(failed)),
                remove_groups: Vec::new(),
            },
        );
        out
    }

    /// The records of an OffsetCommit or TxnOffsetCommit, and each
    /// partition's result: its precheck error, OFFSET_METADATA_TOO_LARGE,
    /// or `None` (a record is written for it).
    pub(super) fn offset_records(
        &self,
        group_id: &str,
        partitions: &[CommitPartition],
        now: i64,
    ) -> (Vec<Option<GroupError>>, Vec<GroupRecord>) {
        let mut results = Vec::with_capacity(partitions.len());
        let mut records = Vec::new();
        for p in partitions {
            let metadata = p.metadata.clone().unwrap_or_default();
            let result = if let Some(e) = p.precheck {
                Some(e)
            } else if metadata.len() > self.config.offset_metadata_max_bytes {
                Some(GroupError::OffsetMetadataTooLarge)
            } else {
                records.push(GroupRecord::Offset {
                    key: OffsetKey {
                        group: group_id.to_string(),
                        topic: p.topic.clone(),
                        partition: p.partition,
                    },
                    value: Some(OffsetValue {
                        offset: p.offset,
                        leader_epoch: p.leader_epoch,
                        metadata,
                        commit_timestamp: now,
                    }),
                });
                None
            };
            results.push(result);
        }
        (results, records)
    }

    /// Who may commit (Kafka's `validateOffsetCommit`): members of the
    /// current generation, or anyone with generation -1 while the group is
    /// empty (a "simple" consumer, which creates the group if needed).
    fn validate_commit(&mut self, now: i64, req: &CommitRequest) -> Result<(), GroupError> {
        if !self.groups.contains_key(&req.group_id) {
            if req.generation_id >= 0 {
                return Err(if req.group_id_not_found_supported {
                    GroupError::GroupIdNotFound
                } else {
                    GroupError::IllegalGeneration
                });
            }
            self.groups
                .insert(req.group_id.clone(), Group::new(&req.group_id));
        }
        let cfg = &self.config;
        let group = self
            .groups
            .get_mut(&req.group_id)
            .ok_or(GroupError::CoordinatorNotAvailable)?;
        if group.is(GroupState::Dead) {
            return Err(GroupError::CoordinatorNotAvailable);
        }
        if req.generation_id < 0 && group.is(GroupState::Empty) {
            return Ok(());
        }
        if req.generation_id >= 0 || !req.member_id.is_empty() || req.group_instance_id.is_some() {
            validate_member(
                group,
                &req.member_id,
                req.group_instance_id.as_deref(),
                req.generation_id,
            )?;
        } else if !group.is(GroupState::Empty) {
            // Without member id and generation, only an empty group's
            // offsets may be changed.
            return Err(GroupError::UnknownMemberId);
        }
        match group.state {
            GroupState::CompletingRebalance => Err(GroupError::RebalanceInProgress),
            GroupState::Stable | GroupState::PreparingRebalance => {
                if let Some(member) = group.members.get_mut(&req.member_id) {
                    schedule_heartbeat(cfg, member, now);
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// OffsetFetch for one group: the requested partitions (all committed
    /// ones when `topics` is `None`), -1 where nothing is committed. An
    /// unknown group simply has no offsets.
    pub fn fetch_offsets(
        &self,
        group_id: &str,
        topics: Option<&[(String, Vec<i32>)]>,
    ) -> Vec<FetchedTopic> {
        let group = self
            .groups
            .get(group_id)
            .filter(|g| !g.is(GroupState::Dead));
        match topics {
            Some(topics) => topics
                .iter()
                .map(|(topic, partitions)| {
                    let found = partitions
                        .iter()
                        .map(|p| {
                            let offset =
                                group.and_then(|g| g.offsets.get(&(topic.clone(), *p)).cloned());
                            (*p, offset)
                        })
                        .collect();
                    (topic.clone(), found)
                })
                .collect(),
            None => {
                let mut all: Vec<FetchedTopic> = Vec::new();
                for ((topic, partition), value) in group.iter().flat_map(|g| g.offsets.iter()) {
                    match all.last_mut() {
                        Some((t, parts)) if t == topic => {
                            parts.push((*partition, Some(value.clone())))
                        }
                        _ => all.push((topic.clone(), vec![(*partition, Some(value.clone()))])),
                    }
                }
                all
            }
        }
    }

    /// OffsetDelete: removes offsets the group no longer uses.
    pub fn delete_offsets(
        &mut self,
        request: RequestId,
        group_id: &str,
        partitions: &[DeletePartition],
    ) -> Output {
        let mut out = Output::default();
        let Some(group) = self
            .groups
            .get(group_id)
            .filter(|g| !g.is(GroupState::Dead))
        else {
            out.reply(
                request,
                Answer::OffsetDelete(Err(GroupError::GroupIdNotFound)),
            );
            return out;
        };
        let consumer_group = group.protocol_type.as_deref() == Some(CONSUMER_PROTOCOL_TYPE);
        let mut results = Vec::with_capacity(partitions.len());
        let mut doomed = Vec::new();
        for p in partitions {
            let result = match (p.precheck, group.state) {
                (Some(e), _) => Some(e),
                (None, GroupState::Empty) => None,
                (None, _) if consumer_group => {
                    if group.is_subscribed_to(&p.topic) {
                        Some(GroupError::GroupSubscribedToTopic)
                    } else {
                        None
                    }
                }
                (None, _) => {
                    out.reply(
                        request,
                        Answer::OffsetDelete(Err(GroupError::NonEmptyGroup)),
                    );
                    return out;
                }
            };
            if result.is_none() {
                doomed.push((p.topic.clone(), p.partition));
            }
            results.push(result);
        }
        let (records, dies) = tombstones(group, &doomed);
        self.write_removals(
            request,
            group_id,
            records,
            dies,
            Answer::OffsetDelete(Ok(results)),
            Answer::OffsetDelete(Err(GroupError::NotCoordinator)),
            &mut out,
        );
        out
    }

    /// DeleteGroups for one group: only an empty group can be deleted.
    pub fn delete_group(&mut self, request: RequestId, group_id: &str) -> Output {
        let mut out = Output::default();
        let Some(group) = self
            .groups
            .get(group_id)
            .filter(|g| !g.is(GroupState::Dead))
        else {
            out.reply(
                request,
                Answer::DeleteGroup(Some(GroupError::GroupIdNotFound)),
            );
            return out;
        };
        if !group.is(GroupState::Empty) {
            out.reply(
                request,
                Answer::DeleteGroup(Some(GroupError::NonEmptyGroup)),
            );
            return out;
        }
        let all: Vec<_> = group.offsets.keys().cloned().collect();
        let (records, _) = tombstones(group, &all);
        self.write_removals(
            request,
            group_id,
            records,
            true,
            Answer::DeleteGroup(None),
            Answer::DeleteGroup(Some(GroupError::NotCoordinator)),
            &mut out,
        );
        out
    }

    /// The reset's deletion of a group, whatever its state (no Kafka request
    /// does this; see `reset.rs`): every member is removed first, its parked
    /// JoinGroup or SyncGroup answered UNKNOWN_MEMBER_ID so that a consumer
    /// still running joins a new, empty group; then its offsets and its
    /// membership get tombstones, as DeleteGroups writes them. Until they
    /// are written the group is Dead: its requests get
    /// COORDINATOR_NOT_AVAILABLE, which clients retry.
    pub fn remove_group(&mut self, request: RequestId, group_id: &str) -> Output {
        let mut out = Output::default();
        let Some(group) = self
            .groups
            .get_mut(group_id)
            .filter(|g| !g.is(GroupState::Dead))
        else {
            out.reply(request, Answer::DeleteGroup(None));
            return out;
        };
        let members: Vec<String> = group.members.keys().cloned().collect();
        for id in &members {
            remove_member(group, id, &mut out);
        }
        group.pending_members.clear();
        group.join_timer = None;
        group.sync_deadline = None;
        group.transition(GroupState::Dead);
        tracing::info!(group = %group_id, members = members.len(), "group removed by a reset");
        let mut records: Vec<GroupRecord> = group
            .offsets
            .keys()
            .map(|(topic, partition)| GroupRecord::Offset {
                key: OffsetKey {
                    group: group_id.to_string(),
                    topic: topic.clone(),
                    partition: *partition,
                },
                value: None,
            })
            .collect();
        // Always: applied, it turns the Dead group into an empty one, which
        // `remove_groups` then drops (a group that never had a generation
        // has no such record yet; the tombstone costs nothing).
        records.push(GroupRecord::Group {
            group: group_id.to_string(),
            value: None,
        });
        out.append(
            records,
            AfterAppend::Apply {
                request: Some(request),
                on_ok: Some(Answer::DeleteGroup(None)),
                on_err: Some(Answer::DeleteGroup(Some(GroupError::NotCoordinator))),
                remove_groups: vec![group_id.to_string()],
            },
        );
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn write_removals(
        &mut self,
        request: RequestId,
        group_id: &str,
        records: Vec<GroupRecord>,
        group_dies: bool,
        on_ok: Answer,
        on_err: Answer,
        out: &mut Output,
    ) {
        let remove_groups = if group_dies {
            vec![group_id.to_string()]
        } else {
            Vec::new()
        };
        if records.is_empty() {
            for id in &remove_groups {
                self.remove_if_unused(id);
            }
            out.reply(request, on_ok);
            return;
        }
        out.append(
            records,
            AfterAppend::Apply {
                request: Some(request),
                on_ok: Some(on_ok),
                on_err: Some(on_err),
                remove_groups,
            },
        );
    }

    /// Offsets past `offsets.retention.minutes` (Kafka's rules, KIP-211):
    /// for an empty group, counted from when it became empty; for a stable
    /// consumer group, offsets of topics it no longer subscribes to, counted
    /// from their commit; for a simple group, each offset from its commit.
    /// An empty group left without offsets is removed.
    pub(super) fn expire_offsets(&mut self, now: i64, out: &mut Output) {
        let retention = self.config.offsets_retention_ms;
        let mut unused = Vec::new();
        for group in self.groups.values() {
            let expired_since = |base: i64| base.saturating_add(retention) <= now;
            let expired: Vec<(String, i32)> = group
                .offsets
                .iter()
                .filter(
                    |((topic, _), v)| match (group.protocol_type.as_deref(), group.state) {
                        (Some(_), GroupState::Empty) => {
                            expired_since(group.state_timestamp.unwrap_or(v.commit_timestamp))
                        }
                        (Some(CONSUMER_PROTOCOL_TYPE), GroupState::Stable) => {
                            group
                                .subscribed_topics
                                .as_ref()
                                .is_some_and(|s| !s.contains(topic))
                                && expired_since(v.commit_timestamp)
                        }
                        (None, _) => expired_since(v.commit_timestamp),
                        _ => false,
                    },
                )
                .map(|(k, _)| k.clone())
                .collect();
            let (records, dies) = tombstones(group, &expired);
            if !expired.is_empty() {
                tracing::info!(group = %group.id, offsets = expired.len(), "expiring offsets");
            }
            if records.is_empty() {
                if dies {
                    unused.push(group.id.clone());
                }
                continue;
            }
            out.append(
                records,
                AfterAppend::Apply {
                    request: None,
                    on_ok: None,
                    on_err: None,
                    remove_groups: if dies {
                        vec![group.id.clone()]
                    } else {
                        Vec::new()
                    },
                },
            );
        }
        for id in unused {
            self.remove_if_unused(&id);
        }
    }

    /// Drops a group that is empty and has no offsets left.
    pub(super) fn remove_if_unused(&mut self, group_id: &str) {
        if self
            .groups
            .get(group_id)
            .is_some_and(|g| g.is(GroupState::Empty) && g.offsets.is_empty())
        {
            tracing::info!(group = %group_id, "group removed");
            self.groups.remove(group_id);
        }
    }
}

/// Tombstones for `doomed` offsets the group has; when that leaves an empty
/// group without offsets it is over (`true`), and a group that ever had a
/// generation also gets a tombstone for its metadata.
fn tombstones(group: &Group, doomed: &[(String, i32)]) -> (Vec<GroupRecord>, bool) {
    let doomed: std::collections::BTreeSet<&(String, i32)> = doomed
        .iter()
        .filter(|k| group.offsets.contains_key(*k))
        .collect();
    let mut records: Vec<GroupRecord> = doomed
        .into_iter()
        .map(|(topic, partition)| GroupRecord::Offset {
            key: OffsetKey {
                group: group.id.clone(),
                topic: topic.clone(),
                partition: *partition,
            },
            value: None,
        })
        .collect();
    let dies = group.is(GroupState::Empty) && group.offsets.len() == records.len();
    if dies && group.generation > 0 {
        records.push(GroupRecord::Group {
            group: group.id.clone(),
            value: None,
        });
    }
    (records, dies)
}
