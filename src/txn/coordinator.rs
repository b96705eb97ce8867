//! [`TxnCoordinator`]: the transactional ids of one `__transaction_state`
//! partition as a deterministic state machine (Kafka's
//! `TransactionCoordinator` and `TransactionMetadata` transitions).
//!
//! An operation looks at the current state and returns the new
//! [`TxnMetadata`] to write, without changing anything; the caller writes
//! it to `__transaction_state` and then calls [`TxnCoordinator::apply`] —
//! the same function that replays the topic at startup. Time comes in as
//! `now` (ms); producer ids come from the caller. States and transitions are
//! tabled in [`super::state`].

use std::collections::{BTreeMap, HashMap};

use sluice_protocol::records::ControlType;

use super::records::TxnRecord;
use super::state::{TxnMetadata, TxnState};
use crate::error::TxnError;

/// An epoch at or past this gets a new producer id instead (Kafka keeps
/// `Short.MAX_VALUE` free for the bump that fences).
const MAX_EPOCH: i16 = i16::MAX - 1;

/// A transaction to end: write `prepare`, then a `control` marker with
/// `prepare.producer_epoch` to each of `prepare.partitions`, then
/// [`TxnCoordinator::complete`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndPlan {
    pub prepare: TxnMetadata,
    pub control: ControlType,
}

/// What InitProducerId needs done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitPlan {
    /// Write this and answer with its producer id and epoch.
    Write(TxnMetadata),
    /// A transaction is open: abort it under a bumped epoch (which fences the
    /// old producer), and answer CONCURRENT_TRANSACTIONS so the client retries.
    FenceAndAbort(EndPlan),
}

/// The transactional ids of one `__transaction_state` partition.
#[derive(Debug, Default)]
pub struct TxnCoordinator {
    txns: BTreeMap<String, TxnMetadata>,
    /// Producer id → transactional id, for produce-time verification.
    by_producer: HashMap<i64, String>,
    max_timeout_ms: i32,
    /// The largest producer id any applied state carried (replayed records
    /// included, even of transactional ids deleted since): producer id
    /// recovery at start must never hand it out again.
    highest_producer_id: Option<i64>,
}

impl TxnCoordinator {
    pub fn new(max_timeout_ms: i32) -> Self {
        TxnCoordinator {
            max_timeout_ms,
            ..Default::default()
        }
    }

    pub fn get(&self, transactional_id: &str) -> Option<&TxnMetadata> {
        self.txns.get(transactional_id)
    }

    pub fn all(&self) -> impl Iterator<Item = &TxnMetadata> {
        self.txns.values()
    }

    /// The largest producer id this coordinator has seen (see the field).
    pub fn highest_producer_id(&self) -> Option<i64> {
        self.highest_producer_id
    }

    /// Makes `m` the state of its transactional id (after it was written).
    pub fn apply(&mut self, mut m: TxnMetadata) {
        self.highest_producer_id = self.highest_producer_id.max(Some(m.producer_id));
        if let Some(old) = self.txns.get(&m.transactional_id) {
            if old.producer_id == m.producer_id && old.producer_epoch != m.producer_epoch {
                m.last_producer_epoch = old.producer_epoch;
            }
            if old.producer_id != m.producer_id {
                self.by_producer.remove(&old.producer_id);
            }
        }
        self.by_producer
            .insert(m.producer_id, m.transactional_id.clone());
        self.txns.insert(m.transactional_id.clone(), m);
    }

    /// Applies one record of `__transaction_state` (startup replay).
    pub fn apply_record(&mut self, record: &TxnRecord) {
        match &record.value {
            Some(m) => self.apply(m.clone()),
            None => {
                if let Some(old) = self.txns.remove(&record.transactional_id) {
                    self.by_producer.remove(&old.producer_id);
                }
            }
        }
    }

    /// InitProducerId with a transactional id. `expected` is the producer
    /// id and epoch a v3+ client sends to recover (KIP-360), `None` when it
    /// sends -1. `new_producer_id` is called when a fresh id is needed.
    pub fn init_producer_id(
        &self,
        transactional_id: &str,
        timeout_ms: i32,
        expected: Option<(i64, i16)>,
        now: i64,
        new_producer_id: &mut dyn FnMut() -> Result<i64, TxnError>,
    ) -> Result<InitPlan, TxnError> {
        if transactional_id.is_empty() {
            return Err(TxnError::InvalidRequest(
                "the transactional id must not be empty".into(),
            ));
        }
        if timeout_ms <= 0 || timeout_ms > self.max_timeout_ms {
            return Err(TxnError::InvalidTransactionTimeout(timeout_ms));
        }
        let Some(current) = self.txns.get(transactional_id) else {
            // A new (or expired and removed) transactional id: a fresh
            // producer id, also for a client recovering with the producer it
            // had (KIP-360; Kafka accepts any expected producer while the
            // new state has no epoch yet).
            let mut m = TxnMetadata::new(transactional_id, new_producer_id()?, timeout_ms, now);
            m.producer_epoch = 0;
            return Ok(InitPlan::Write(m));
        };
        if let Some((pid, epoch)) = expected {
            let known = pid == current.producer_id
                && (epoch == current.producer_epoch || epoch == current.last_producer_epoch);
            if !known {
                return Err(TxnError::ProducerFenced);
            }
        }
        match current.state {
            TxnState::PrepareCommit | TxnState::PrepareAbort => {
                Err(TxnError::ConcurrentTransactions)
            }
            TxnState::Ongoing => Ok(InitPlan::FenceAndAbort(self.fenced_abort(current, now))),
            TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort => {
                let mut m = current.clone();
                m.timeout_ms = timeout_ms;
                m.last_update_ms = now;
                m.state = TxnState::Empty;
                m.partitions.clear();
                m.txn_start_ms = -1;
                let retry = matches!(expected, Some((_, e)) if e == current.last_producer_epoch
                    && e != current.producer_epoch);
                if retry {
                    // The answer to this client's earlier attempt got lost.
                } else if current.producer_epoch >= MAX_EPOCH {
                    m.producer_id = new_producer_id()?;
                    m.producer_epoch = 0;
                } else {
                    m.producer_epoch = current.producer_epoch + 1;
                }
                Ok(InitPlan::Write(m))
            }
            TxnState::Dead | TxnState::PrepareEpochFence => Err(TxnError::ConcurrentTransactions),
        }
    }

    /// Checks that (`producer_id`, `epoch`) is the current producer of
    /// `transactional_id`.
    fn current(
        &self,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
    ) -> Result<&TxnMetadata, TxnError> {
        let m = self
            .txns
            .get(transactional_id)
            .ok_or(TxnError::InvalidProducerIdMapping)?;
        if m.producer_id != producer_id {
            return Err(TxnError::InvalidProducerIdMapping);
        }
        if m.producer_epoch != epoch {
            return Err(TxnError::ProducerFenced);
        }
        Ok(m)
    }

    /// AddPartitionsToTxn / AddOffsetsToTxn: `None` when every partition is
    /// already in the transaction (nothing to write).
    pub fn add_partitions(
        &self,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        partitions: &[(String, i32)],
        now: i64,
    ) -> Result<Option<TxnMetadata>, TxnError> {
        let current = self.current(transactional_id, producer_id, epoch)?;
        match current.state {
            TxnState::PrepareCommit | TxnState::PrepareAbort => {
                return Err(TxnError::ConcurrentTransactions)
            }
            TxnState::Dead | TxnState::PrepareEpochFence => return Err(TxnError::InvalidTxnState),
            TxnState::Ongoing if partitions.iter().all(|p| current.partitions.contains(p)) => {
                return Ok(None);
            }
            _ => {}
        }
        let mut m = current.clone();
        if current.state.is_idle() {
            m.partitions.clear();
            m.txn_start_ms = now;
        }
        m.state = TxnState::Ongoing;
        m.partitions.extend(partitions.iter().cloned());
        m.last_update_ms = now;
        Ok(Some(m))
    }

    /// EndTxn: `None` when this transaction already ended this way (a retry).
    pub fn end_txn(
        &self,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        commit: bool,
        now: i64,
    ) -> Result<Option<EndPlan>, TxnError> {
        let current = self.current(transactional_id, producer_id, epoch)?;
        match (current.state, commit) {
            (TxnState::Ongoing, _) => Ok(Some(prepare_end(current, commit, now))),
            (TxnState::CompleteCommit, true) | (TxnState::CompleteAbort, false) => Ok(None),
            (TxnState::PrepareCommit, true) | (TxnState::PrepareAbort, false) => {
                Err(TxnError::ConcurrentTransactions)
            }
            _ => Err(TxnError::InvalidTxnState),
        }
    }

    /// The record that ends a prepared transaction once its markers are written.
    pub fn complete(&self, prepare: &TxnMetadata, now: i64) -> TxnMetadata {
        let mut m = prepare.clone();
        m.state = if prepare.state == TxnState::PrepareCommit {
            TxnState::CompleteCommit
        } else {
            TxnState::CompleteAbort
        };
        m.partitions.clear();
        m.last_update_ms = now;
        m
    }

    /// Open transactions past their timeout, each to abort under a bumped
    /// epoch (so that the producer that let it expire is fenced).
    pub fn expired(&self, now: i64) -> Vec<EndPlan> {
        self.txns
            .values()
            .filter(|m| m.expired(now))
            .map(|m| self.fenced_abort(m, now))
            .collect()
    }

    /// The tombstones that remove the transactional ids with no transaction
    /// in progress (Empty, CompleteCommit, CompleteAbort) whose last update
    /// is at least `expiration_ms` old at `now` (Kafka's
    /// `transactional.id.expiration.ms`), in id order. Replaying them
    /// forgets the ids; an InitProducerId with one starts afresh.
    pub fn expired_transactional_ids(&self, now: i64, expiration_ms: i64) -> Vec<TxnRecord> {
        let cutoff = now.saturating_sub(expiration_ms);
        self.txns
            .values()
            .filter(|m| m.state.is_idle() && m.last_update_ms <= cutoff)
            .map(|m| TxnRecord {
                transactional_id: m.transactional_id.clone(),
                value: None,
            })
            .collect()
    }

    /// Transactions left prepared by a crash between the Prepare record and
    /// the Complete record: their markers must be written (again).
    pub fn unfinished(&self) -> Vec<EndPlan> {
        self.txns
            .values()
            .filter_map(|m| match m.state {
                TxnState::PrepareCommit => Some(EndPlan {
                    prepare: m.clone(),
                    control: ControlType::Commit,
                }),
                TxnState::PrepareAbort => Some(EndPlan {
                    prepare: m.clone(),
                    control: ControlType::Abort,
                }),
                _ => None,
            })
            .collect()
    }

    fn fenced_abort(&self, current: &TxnMetadata, now: i64) -> EndPlan {
        let mut fenced = current.clone();
        fenced.producer_epoch = current.producer_epoch.saturating_add(1);
        prepare_end(&fenced, false, now)
    }

    /// Produce-time check of a transactional batch (KIP-890 part 1): its
    /// producer must be in an open transaction that holds the partition.
    pub fn verify(
        &self,
        producer_id: i64,
        epoch: i16,
        topic: &str,
        partition: i32,
    ) -> Result<(), TxnError> {
        let m = self
            .by_producer
            .get(&producer_id)
            .and_then(|id| self.txns.get(id))
            .filter(|m| m.producer_id == producer_id)
            .ok_or(TxnError::InvalidTxnState)?;
        if epoch < m.producer_epoch {
            return Err(TxnError::InvalidProducerEpoch {
                producer_id,
                epoch,
                current: m.producer_epoch,
            });
        }
        let holds = m.state == TxnState::Ongoing
            && m.producer_epoch == epoch
            && m.partitions.contains(&(topic.to_string(), partition));
        if holds {
            Ok(())
        } else {
            Err(TxnError::InvalidTxnState)
        }
    }

    /// Whether `producer_id` belongs to a transactional id of this coordinator.
    pub fn knows_producer(&self, producer_id: i64) -> bool {
        self.by_producer.contains_key(&producer_id)
    }
}

fn prepare_end(current: &TxnMetadata, commit: bool, now: i64) -> EndPlan {
    let mut m = current.clone();
    m.state = if commit {
        TxnState::PrepareCommit
    } else {
        TxnState::PrepareAbort
    };
    m.last_update_ms = now;
    EndPlan {
        prepare: m,
        control: if commit {
            ControlType::Commit
        } else {
            ControlType::Abort
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> impl FnMut() -> Result<i64, TxnError> {
        let mut next = 100;
        move || {
            next += 1;
            Ok(next)
        }
    }

    #[test]
    fn the_highest_producer_id_ever_applied_is_remembered() {
        let mut c = TxnCoordinator::new(900_000);
        assert_eq!(c.highest_producer_id(), None);
        c.apply(TxnMetadata::new("a", 42, 60_000, 1));
        c.apply(TxnMetadata::new("b", 7, 60_000, 1));
        assert_eq!(c.highest_producer_id(), Some(42));
        // Deleted (expired) since: its id still counts.
        c.apply_record(&TxnRecord {
            transactional_id: "a".into(),
            value: None,
        });
        assert!(c.get("a").is_none());
        assert_eq!(c.highest_producer_id(), Some(42));
    }

    fn init(c: &mut TxnCoordinator, id: &str, now: i64) -> TxnMetadata {
        match c
            .init_producer_id(id, 60_000, None, now, &mut ids())
            .unwrap()
        {
            InitPlan::Write(m) => {
                c.apply(m.clone());
                m
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    fn tp(t: &str, p: i32) -> (String, i32) {
        (t.to_string(), p)
    }

    /// Runs an end plan the way the service does: prepare, markers, complete.
    fn finish(c: &mut TxnCoordinator, plan: EndPlan, now: i64) -> TxnMetadata {
        c.apply(plan.prepare.clone());
        let done = c.complete(&plan.prepare, now);
        c.apply(done.clone());
        done
    }

    #[test]
    fn new_ids_start_at_epoch_zero_and_reinit_bumps_the_epoch() {
        let mut c = TxnCoordinator::new(900_000);
        let m = init(&mut c, "t", 1);
        assert_eq!(
            (m.producer_id, m.producer_epoch, m.state),
            (101, 0, TxnState::Empty)
        );
        let m = init(&mut c, "t", 2);
        assert_eq!((m.producer_id, m.producer_epoch), (101, 1));
        assert!(matches!(
            c.init_producer_id("", 1000, None, 3, &mut ids()),
            Err(TxnError::InvalidRequest(_))
        ));
        assert_eq!(
            c.init_producer_id("t", 900_001, None, 3, &mut ids()),
            Err(TxnError::InvalidTransactionTimeout(900_001))
        );
    }

    #[test]
    fn a_transaction_goes_ongoing_prepared_complete() {
        let mut c = TxnCoordinator::new(900_000);
        let m = init(&mut c, "t", 1);
        let (pid, e) = (m.producer_id, m.producer_epoch);
        let m = c
            .add_partitions("t", pid, e, &[tp("a", 0)], 10)
            .unwrap()
            .unwrap();
        assert_eq!((m.state, m.txn_start_ms), (TxnState::Ongoing, 10));
        c.apply(m);
        assert_eq!(c.verify(pid, e, "a", 0), Ok(()));
        assert_eq!(c.verify(pid, e, "a", 1), Err(TxnError::InvalidTxnState));
        // Re-adding is a no-op; a new partition extends the set, same start.
        assert_eq!(
            c.add_partitions("t", pid, e, &[tp("a", 0)], 11).unwrap(),
            None
        );
        let m = c
            .add_partitions("t", pid, e, &[tp("b", 2)], 12)
            .unwrap()
            .unwrap();
        assert_eq!(m.partitions.len(), 2);
        assert_eq!(m.txn_start_ms, 10);
        c.apply(m);
        let plan = c.end_txn("t", pid, e, true, 20).unwrap().unwrap();
        assert_eq!(plan.control, ControlType::Commit);
        assert_eq!(plan.prepare.state, TxnState::PrepareCommit);
        c.apply(plan.prepare.clone());
        // While prepared: retries of the same end are concurrent, others invalid.
        assert_eq!(
            c.end_txn("t", pid, e, true, 21),
            Err(TxnError::ConcurrentTransactions)
        );
        assert_eq!(
            c.end_txn("t", pid, e, false, 21),
            Err(TxnError::InvalidTxnState)
        );
        assert_eq!(
            c.add_partitions("t", pid, e, &[tp("a", 0)], 21),
            Err(TxnError::ConcurrentTransactions)
        );
        let done = c.complete(&plan.prepare, 22);
        assert!(done.partitions.is_empty());
        c.apply(done);
        assert_eq!(c.get("t").unwrap().state, TxnState::CompleteCommit);
        // A retried commit succeeds, an abort of it does not.
        assert_eq!(c.end_txn("t", pid, e, true, 23), Ok(None));
        assert_eq!(
            c.end_txn("t", pid, e, false, 23),
            Err(TxnError::InvalidTxnState)
        );
        assert_eq!(c.verify(pid, e, "a", 0), Err(TxnError::InvalidTxnState));
        // The next transaction starts afresh.
        let m = c
            .add_partitions("t", pid, e, &[tp("c", 0)], 30)
            .unwrap()
            .unwrap();
        assert_eq!(m.partitions.len(), 1);
        assert_eq!(m.txn_start_ms, 30);
    }

    #[test]
    fn ending_without_a_transaction_is_invalid_state() {
        let mut c = TxnCoordinator::new(900_000);
        let m = init(&mut c, "t", 1);
        assert_eq!(
            c.end_txn("t", m.producer_id, 0, true, 2),
            Err(TxnError::InvalidTxnState)
        );
        assert_eq!(
            c.end_txn("nope", m.producer_id, 0, true, 2),
            Err(TxnError::InvalidProducerIdMapping)
        );
        assert_eq!(
            c.end_txn("t", m.producer_id + 1, 0, true, 2),
            Err(TxnError::InvalidProducerIdMapping)
        );
    }

    #[test]
    fn a_second_producer_fences_the_first_and_aborts_its_transaction() {
        let mut c = TxnCoordinator::new(900_000);
        let m = init(&mut c, "t", 1);
        let pid = m.producer_id;
        c.apply(
            c.add_partitions("t", pid, 0, &[tp("a", 0)], 5)
                .unwrap()
                .unwrap(),
        );
        let InitPlan::FenceAndAbort(plan) = c
            .init_producer_id("t", 60_000, None, 6, &mut ids())
            .unwrap()
        else {
            panic!("expected a fencing abort");
        };
        assert_eq!(plan.control, ControlType::Abort);
        assert_eq!(plan.prepare.producer_epoch, 1);
        assert!(plan.prepare.partitions.contains(&tp("a", 0)));
        finish(&mut c, plan, 7);
        // The retry gets the next epoch; the old producer is fenced everywhere.
        let m = init(&mut c, "t", 8);
        assert_eq!((m.producer_id, m.producer_epoch), (pid, 2));
        assert_eq!(
            c.add_partitions("t", pid, 0, &[tp("a", 0)], 9),
            Err(TxnError::ProducerFenced)
        );
        assert_eq!(
            c.end_txn("t", pid, 0, true, 9),
            Err(TxnError::ProducerFenced)
        );
        assert_eq!(
            c.verify(pid, 0, "a", 0),
            Err(TxnError::InvalidProducerEpoch {
                producer_id: pid,
                epoch: 0,
                current: 2
            })
        );
    }

    #[test]
    fn kip_360_recovery_checks_the_producer_it_names() {
        let mut c = TxnCoordinator::new(900_000);
        let m = init(&mut c, "t", 1);
        let pid = m.producer_id;
        // Bump with the current epoch, then retry that same request.
        let InitPlan::Write(m) = c
            .init_producer_id("t", 60_000, Some((pid, 0)), 2, &mut ids())
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(m.producer_epoch, 1);
        c.apply(m);
        let InitPlan::Write(m) = c
            .init_producer_id("t", 60_000, Some((pid, 0)), 3, &mut ids())
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(m.producer_epoch, 1, "a retry is answered, not bumped again");
        assert_eq!(
            c.init_producer_id("t", 60_000, Some((pid + 5, 1)), 3, &mut ids()),
            Err(TxnError::ProducerFenced)
        );
        // An id the coordinator does not know (new, or expired) starts
        // afresh whatever producer the client names, as in Kafka.
        let InitPlan::Write(m) = c
            .init_producer_id("fresh", 60_000, Some((7, 0)), 3, &mut || Ok(300))
            .unwrap()
        else {
            panic!()
        };
        assert_eq!((m.producer_id, m.producer_epoch), (300, 0));
    }

    #[test]
    fn exhausted_epochs_get_a_new_producer_id() {
        let mut c = TxnCoordinator::new(900_000);
        let mut m = init(&mut c, "t", 1);
        m.producer_epoch = MAX_EPOCH;
        c.apply(m.clone());
        let InitPlan::Write(next) = c
            .init_producer_id("t", 60_000, None, 2, &mut || Ok(500))
            .unwrap()
        else {
            panic!()
        };
        assert_eq!((next.producer_id, next.producer_epoch), (500, 0));
    }

    #[test]
    fn timed_out_transactions_are_aborted_with_a_bumped_epoch() {
        let mut c = TxnCoordinator::new(900_000);
        let m = init(&mut c, "t", 0);
        c.apply(
            c.add_partitions("t", m.producer_id, 0, &[tp("a", 0)], 1_000)
                .unwrap()
                .unwrap(),
        );
        assert!(c.expired(61_000).is_empty());
        let plans = c.expired(61_001);
        assert_eq!(plans.len(), 1);
        assert_eq!(plans[0].prepare.producer_epoch, 1);
        assert_eq!(plans[0].control, ControlType::Abort);
        finish(&mut c, plans[0].clone(), 61_002);
        assert!(c.expired(1_000_000).is_empty());
        assert_eq!(c.get("t").unwrap().state, TxnState::CompleteAbort);
    }

    #[test]
    fn idle_transactional_ids_expire_and_start_afresh() {
        const EXPIRATION: i64 = 604_800_000;
        let mut c = TxnCoordinator::new(900_000);
        let idle = init(&mut c, "idle", 1_000);
        let busy = init(&mut c, "busy", 1_000);
        c.apply(
            c.add_partitions("busy", busy.producer_id, 0, &[tp("a", 0)], 1_000)
                .unwrap()
                .unwrap(),
        );
        // A committed transaction is idle too; its last update counts.
        let done = init(&mut c, "done", 1_000);
        c.apply(
            c.add_partitions("done", done.producer_id, 0, &[tp("a", 0)], 2_000)
                .unwrap()
                .unwrap(),
        );
        let plan = c
            .end_txn("done", done.producer_id, 0, true, 3_000)
            .unwrap()
            .unwrap();
        finish(&mut c, plan, 3_000);
        assert!(c
            .expired_transactional_ids(1_000 + EXPIRATION - 1, EXPIRATION)
            .is_empty());
        let expired = c.expired_transactional_ids(1_000 + EXPIRATION, EXPIRATION);
        assert_eq!(
            expired,
            vec![TxnRecord {
                transactional_id: "idle".into(),
                value: None
            }]
        );
        let expired = c.expired_transactional_ids(3_000 + EXPIRATION, EXPIRATION);
        let names: Vec<&str> = expired
            .iter()
            .map(|r| r.transactional_id.as_str())
            .collect();
        assert_eq!(names, ["done", "idle"], "an open transaction never expires");
        for record in &expired {
            c.apply_record(record);
        }
        assert!(c.get("idle").is_none());
        assert!(!c.knows_producer(idle.producer_id));
        assert_eq!(c.all().count(), 1);
        // InitProducerId starts afresh: a new producer id at epoch 0.
        let InitPlan::Write(fresh) = c
            .init_producer_id("idle", 60_000, None, 4_000, &mut || Ok(900))
            .unwrap()
        else {
            panic!("expected a new transactional id")
        };
        assert_eq!((fresh.producer_id, fresh.producer_epoch), (900, 0));
        // So does a client recovering with its old producer (KIP-360).
        let InitPlan::Write(fresh) = c
            .init_producer_id(
                "idle",
                60_000,
                Some((idle.producer_id, 0)),
                4_000,
                &mut || Ok(901),
            )
            .unwrap()
        else {
            panic!("expected a new transactional id")
        };
        assert_eq!((fresh.producer_id, fresh.producer_epoch), (901, 0));
    }

    #[test]
    fn replay_restores_state_and_prepared_transactions_are_unfinished() {
        let mut live = TxnCoordinator::new(900_000);
        let mut log = Vec::new();
        let m = init(&mut live, "t", 0);
        log.push(m.clone());
        let m = live
            .add_partitions("t", m.producer_id, 0, &[tp("a", 0)], 1)
            .unwrap()
            .unwrap();
        live.apply(m.clone());
        log.push(m.clone());
        let plan = live
            .end_txn("t", m.producer_id, 0, false, 2)
            .unwrap()
            .unwrap();
        live.apply(plan.prepare.clone());
        log.push(plan.prepare.clone());
        let mut replayed = TxnCoordinator::new(900_000);
        for m in &log {
            replayed.apply_record(&TxnRecord {
                transactional_id: "t".into(),
                value: Some(m.clone()),
            });
        }
        assert_eq!(replayed.get("t"), live.get("t"));
        assert_eq!(replayed.unfinished(), vec![plan]);
        replayed.apply_record(&TxnRecord {
            transactional_id: "t".into(),
            value: None,
        });
        assert!(replayed.get("t").is_none());
        assert!(!replayed.knows_producer(m.producer_id));
    }
}
