//! Offsets committed inside transactions (TxnOffsetCommit), as Kafka's
//! group coordinator keeps them.
//!
//! TxnOffsetCommit writes ordinary offset records, but in a transactional
//! batch of the producer; they stay *pending* — invisible to OffsetFetch —
//! until the transaction coordinator writes the transaction's marker to the
//! same `__consumer_offsets` partition. A commit marker makes them the
//! group's offsets, an abort marker drops them. Replay at startup sees the
//! same batches and markers in the same order and goes through the same
//! two functions, [`Coordinator::apply_txn_record`] and
//! [`Coordinator::complete_txn`].

use super::membership::validate_member;
use super::operations::{AfterAppend, Answer, Output, RequestId, TxnCommitRequest};
use super::records::GroupRecord;
use super::state::{Group, GroupState};
use super::Coordinator;
use crate::error::GroupError;

impl Coordinator {
    /// TxnOffsetCommit. The answer (one entry per partition) goes to
    /// `request` once the records are written.
    pub fn txn_commit(&mut self, now: i64, request: RequestId, req: TxnCommitRequest) -> Output {
        let mut out = Output::default();
        if let Err(e) = self.validate_txn_commit(&req) {
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
        out.append_transactional(
            records,
            (req.producer_id, req.producer_epoch),
            AfterAppend::TxnPending {
                producer_id: req.producer_id,
                request,
                on_ok: Answer::Commit(results),
                on_err: Answer::Commit(failed),
            },
        );
        out
    }

    /// Kafka's `validateOffsetCommit` for transactional commits: a member
    /// id, instance id or generation must name the current member; without
    /// them anyone may commit, whatever the group's state.
    fn validate_txn_commit(&mut self, req: &TxnCommitRequest) -> Result<(), GroupError> {
        let group = self
            .groups
            .entry(req.group_id.clone())
            .or_insert_with(|| Group::new(&req.group_id));
        if group.is(GroupState::Dead) {
            return Err(GroupError::CoordinatorNotAvailable);
        }
        if req.generation_id >= 0 || !req.member_id.is_empty() || req.group_instance_id.is_some() {
            validate_member(
                group,
                &req.member_id,
                req.group_instance_id.as_deref(),
                req.generation_id,
            )?;
        }
        Ok(())
    }

    /// A transactional offset record of `producer_id` was written (or read
    /// back at startup): pending until the transaction ends.
    pub fn apply_txn_record(&mut self, producer_id: i64, record: &GroupRecord) {
        if let GroupRecord::Offset {
            key,
            value: Some(value),
        } = record
        {
            let pending = self.pending_txn_offsets.entry(producer_id).or_default();
            pending.retain(|(k, _)| k != key);
            pending.push((key.clone(), value.clone()));
        }
    }

    /// `producer_id`'s transaction ended with a marker in this partition:
    /// its pending offsets are committed or dropped.
    pub fn complete_txn(&mut self, producer_id: i64, commit: bool) {
        let Some(pending) = self.pending_txn_offsets.remove(&producer_id) else {
            return;
        };
        if !commit {
            return;
        }
        for (key, value) in pending {
            self.apply_record(&GroupRecord::Offset {
                key,
                value: Some(value),
            });
        }
    }

    /// Whether an open transaction holds an offset of this group partition
    /// (OffsetFetch with `require_stable` answers UNSTABLE_OFFSET_COMMIT).
    pub fn has_pending_txn_offset(&self, group_id: &str, topic: &str, partition: i32) -> bool {
        self.pending_txn_offsets.values().any(|offsets| {
            offsets
                .iter()
                .any(|(k, _)| k.group == group_id && k.topic == topic && k.partition == partition)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::operations::CommitPartition;
    use super::super::GroupConfig;
    use super::*;

    fn request(offset: i64) -> TxnCommitRequest {
        TxnCommitRequest {
            group_id: "g".into(),
            producer_id: 7,
            producer_epoch: 0,
            generation_id: -1,
            member_id: String::new(),
            group_instance_id: None,
            partitions: vec![CommitPartition {
                topic: "t".into(),
                partition: 0,
                offset,
                leader_epoch: -1,
                metadata: None,
                precheck: None,
            }],
        }
    }

    fn write(c: &mut Coordinator, offset: i64) {
        let mut out = c.txn_commit(1, 1, request(offset));
        let append = out.appends.remove(0);
        assert_eq!(append.producer, Some((7, 0)));
        let done = c.after_append(1, append, true);
        assert_eq!(done.replies, vec![(1, Answer::Commit(vec![None]))]);
    }

    fn committed(c: &Coordinator) -> Option<i64> {
        c.group("g")
            .and_then(|g| g.offsets.get(&("t".to_string(), 0)))
            .map(|v| v.offset)
    }

    #[test]
    fn pending_until_the_commit_marker() {
        let mut c = Coordinator::new(GroupConfig::default());
        write(&mut c, 5);
        assert_eq!(committed(&c), None);
        assert!(c.has_pending_txn_offset("g", "t", 0));
        write(&mut c, 9);
        c.complete_txn(7, true);
        assert_eq!(committed(&c), Some(9));
        assert!(!c.has_pending_txn_offset("g", "t", 0));
    }

    #[test]
    fn dropped_by_the_abort_marker() {
        let mut c = Coordinator::new(GroupConfig::default());
        write(&mut c, 5);
        c.complete_txn(7, false);
        assert_eq!(committed(&c), None);
        assert!(!c.has_pending_txn_offset("g", "t", 0));
        // A marker of another producer changes nothing.
        write(&mut c, 6);
        c.complete_txn(8, true);
        assert_eq!(committed(&c), None);
    }

    #[test]
    fn a_named_member_must_be_current() {
        let mut c = Coordinator::new(GroupConfig::default());
        let mut req = request(1);
        req.member_id = "ghost".into();
        req.generation_id = 3;
        let out = c.txn_commit(1, 1, req);
        assert!(out.appends.is_empty());
        assert_eq!(
            out.replies,
            vec![(1, Answer::Commit(vec![Some(GroupError::UnknownMemberId)]))]
        );
    }
}
