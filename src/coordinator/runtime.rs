//! [`Runtime`]: the shards of one coordinator, one per partition of its
//! internal topic, each a state machine behind its own lock.
//!
//! The contract, after Kafka's `coordinator-common`:
//!
//! - A state machine implements [`Playback`]: `replay` applies one record of
//!   its log. Loading at start and every live write go through it, so
//!   recovery and live traffic cannot drift apart.
//! - An operation computes a [`CoordinatorResult`] (the records to write and
//!   the response) from the state without changing it; [`Shard::write`]
//!   appends the records through the shard's [`PartitionWriter`], replays
//!   the same records, and hands back the response. (The classic group
//!   coordinator also keeps state that has no record — members mid-join,
//!   deadlines — and changes it in place, persisting what Kafka persists
//!   with [`Shard::append`]; its offsets still change only by replay.)
//! - The answer to a request travels as a typed
//!   [`Pending`]: ready now, or parked in the shard under a
//!   [`RequestId`] until the machine answers it, then held back until the
//!   writes it depends on are durable.
//! - A shard whose operation panicked is not served half-changed: it is
//!   rebuilt by replaying its log (as a restart would), its parked
//!   requests get [`CoordinatorError::Gone`], the caller
//!   [`CoordinatorError::ShardFailed`].
//!
//! Lock order: a shard's lock is held for a whole operation, including its
//! appends, so records reach the log in the order the state changed; the
//! writer's (partition's) locks are taken under it, never the other way.
//! Between coordinators: a transaction shard, then a group shard (markers
//! to `__consumer_offsets`), then partitions. Waiting for durability
//! happens after the lock is released.

use std::collections::HashMap;
use std::fmt::Display;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use tokio::sync::oneshot;

use super::clock::SharedClock;
use super::pending::{CoordinatorError, Pending};
use super::writer::{self, EncodedRecord, LogEntry, PartitionWriter};
use crate::error::PartitionError;

/// Identifies a request parked in a shard until its answer is given.
pub type RequestId = u64;

/// Kafka's `CoordinatorPlayback`: how records change a state machine.
pub trait Playback {
    /// One record of the internal topic.
    type Record;

    /// Applies `record`; `producer_id` is set for a record written in a
    /// transaction (it takes effect at that producer's commit marker).
    fn replay(&mut self, producer_id: Option<i64>, record: &Self::Record);

    /// Applies a transaction marker of `producer_id`.
    fn replay_end_marker(&mut self, _producer_id: i64, _commit: bool) {}
}

/// A coordinator's state machine as the runtime runs it. Implementations
/// know nothing of tokio, locks or the wire protocol.
pub trait CoordinatorShard: Playback + Send + 'static {
    /// What a parked request is answered with.
    type Answer: Send + 'static;
    /// An unreadable record.
    type DecodeError: Display;

    fn decode(key: &[u8], value: Option<&[u8]>) -> Result<Option<Self::Record>, Self::DecodeError>;
    fn encode(record: &Self::Record) -> EncodedRecord;

    /// Called once the whole log is replayed.
    fn loaded(&mut self, _now: i64) {}
}

/// Kafka's `CoordinatorResult`: an operation's records and its response.
#[derive(Debug, Clone, PartialEq)]
pub struct CoordinatorResult<R, T> {
    pub records: Vec<R>,
    pub response: T,
}

impl<R, T> CoordinatorResult<R, T> {
    pub fn new(records: Vec<R>, response: T) -> Self {
        CoordinatorResult { records, response }
    }

    /// A response with nothing to write.
    #[cfg(test)]
    pub fn response(response: T) -> Self {
        CoordinatorResult {
            records: Vec::new(),
            response,
        }
    }
}

type Waiter<R> = Box<dyn FnOnce(R) + Send>;

/// One shard under its lock: the state machine, the partition it writes,
/// and the requests waiting for it.
pub struct Shard<S: CoordinatorShard> {
    pub machine: S,
    writer: Arc<dyn PartitionWriter>,
    waiters: HashMap<RequestId, Waiter<S::Answer>>,
    next_request: RequestId,
    clock: SharedClock,
    wait_for_fsync: bool,
    distrust: Arc<AtomicBool>,
}

impl<S: CoordinatorShard> Shard<S> {
    /// The runtime's clock.
    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The partition this shard writes to.
    pub fn writer(&self) -> &Arc<dyn PartitionWriter> {
        &self.writer
    }

    /// Whether answers wait for their writes to be durable (`--fsync always`).
    pub fn wait_for_fsync(&self) -> bool {
        self.wait_for_fsync
    }

    /// Whether this shard stopped serving (see [`Pending::distrust_on_failure`]).
    pub fn distrusted(&self) -> bool {
        self.distrust.load(Ordering::Acquire)
    }

    /// Appends `records` without replaying them: for a machine whose
    /// operation already made the change in memory and only persists it
    /// (a classic group's membership), or that replays them itself once
    /// written. Returns the offset after them.
    pub fn append(
        &mut self,
        records: &[S::Record],
        producer: Option<(i64, i16)>,
    ) -> Result<i64, PartitionError> {
        let encoded: Vec<EncodedRecord> = records.iter().map(S::encode).collect();
        let now = self.now();
        self.writer.append_records(&encoded, producer, now)
    }

    /// Appends a result's records, replays the same records, and returns
    /// its response with the offset after the records (`None` when there
    /// were none). On a failed append nothing changes.
    pub fn write<T>(
        &mut self,
        result: CoordinatorResult<S::Record, T>,
    ) -> Result<(T, Option<i64>), PartitionError> {
        if result.records.is_empty() {
            return Ok((result.response, None));
        }
        let end = self.append(&result.records, None)?;
        for record in &result.records {
            self.machine.replay(None, record);
        }
        Ok((result.response, Some(end)))
    }

    /// Writes a transaction marker of `producer_id` to this shard's
    /// partition and replays it; returns the offset after it.
    pub fn write_end_marker(
        &mut self,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
    ) -> Result<i64, PartitionError> {
        let control = if commit {
            sluice_protocol::records::ControlType::Commit
        } else {
            sluice_protocol::records::ControlType::Abort
        };
        let now = self.now();
        let end = self
            .writer
            .append_marker(producer_id, producer_epoch, control, now)?;
        self.machine.replay_end_marker(producer_id, commit);
        Ok(end)
    }

    /// Parks a request whose answer the machine gives later; `pick` takes
    /// this request's kind of answer out of a reply (another kind drops the
    /// request, which then reads as [`CoordinatorError::Gone`]).
    pub fn park<T: Send + 'static, E: From<CoordinatorError>>(
        &mut self,
        pick: impl FnOnce(S::Answer) -> Option<T> + Send + 'static,
    ) -> (RequestId, Pending<T, E>) {
        let (tx, rx) = oneshot::channel();
        let request = self.next_request;
        self.next_request += 1;
        let waiter: Waiter<S::Answer> = Box::new(move |reply| {
            if let Some(answer) = pick(reply) {
                // The client may be gone; nothing to do then.
                let _ = tx.send(answer);
            }
        });
        self.waiters.insert(request, waiter);
        (request, Pending::later(rx))
    }

    /// Answers a parked request (if it is still waiting).
    pub fn deliver(&mut self, request: RequestId, reply: S::Answer) {
        if let Some(waiter) = self.waiters.remove(&request) {
            waiter(reply);
        }
    }

    /// Drops every parked request (they read as [`CoordinatorError::Gone`]).
    pub fn drop_waiters(&mut self) {
        self.waiters.clear();
    }

    /// Makes `pending` wait for everything before `end` in this shard's
    /// partition to be durable, if answers wait for fsync.
    pub fn wait_for<T, E: From<CoordinatorError>>(&self, pending: &mut Pending<T, E>, end: i64) {
        if self.wait_for_fsync {
            pending.after_durable((Arc::clone(&self.writer), end));
        }
    }

    /// The flag that stops this shard when one of its writes is not durable.
    pub fn distrust_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.distrust)
    }

    /// Throws the state away and replays the log into a fresh machine.
    fn rebuild(&mut self, build: &(dyn Fn() -> S + Send + Sync)) {
        self.waiters.clear();
        self.machine = build();
        // The replay that failed live may fail again: a panic here must not
        // leave the lock poisoned for every later request.
        let replayed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            replay_log(&mut self.machine, &*self.writer)
        }));
        match replayed {
            Ok(Ok(records)) => {
                let now = self.now();
                self.machine.loaded(now);
                tracing::warn!(
                    topic = self.writer.topic(),
                    partition = self.writer.index(),
                    records,
                    "coordinator shard rebuilt from its log"
                );
            }
            failed => {
                // Nothing trustworthy to serve: an empty state (not a half
                // replayed one), and no service until restart.
                self.machine = build();
                self.distrust.store(true, Ordering::Release);
                let error = match failed {
                    Ok(Err(e)) => e.to_string(),
                    _ => "replay panicked".to_string(),
                };
                tracing::error!(topic = self.writer.topic(), partition = self.writer.index(),
                    %error, "coordinator shard cannot be rebuilt; it stops until restart");
            }
        }
    }
}

/// Replays every record of `log` into `machine`; returns how many applied.
fn replay_log<S: CoordinatorShard>(
    machine: &mut S,
    log: &dyn PartitionWriter,
) -> Result<usize, PartitionError> {
    let mut applied = 0;
    writer::load(log, &mut |entry| match entry {
        LogEntry::Record {
            key,
            value,
            producer_id,
            offset,
        } => match S::decode(key, value) {
            Ok(Some(record)) => {
                machine.replay(producer_id, &record);
                applied += 1;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(topic = log.topic(), offset, error = %e,
                "skipping an unreadable coordinator record"),
        },
        LogEntry::Marker {
            producer_id,
            commit,
        } => machine.replay_end_marker(producer_id, commit),
    })?;
    Ok(applied)
}

struct ShardCell<S: CoordinatorShard> {
    state: Mutex<Shard<S>>,
    build: Arc<dyn Fn() -> S + Send + Sync>,
}

/// The shards of one coordinator.
///
/// A runtime can exist before its shards are loaded ([`Runtime::loading`]):
/// the broker serves while it recovers, and until [`Runtime::finish_load`]
/// every operation on a shard is [`CoordinatorError::Loading`] (Kafka's
/// COORDINATOR_LOAD_IN_PROGRESS) while the shard count, and so which
/// shard owns a key, is known from the start.
pub struct Runtime<S: CoordinatorShard> {
    /// Set once, when every shard is loaded.
    shards: OnceLock<Vec<ShardCell<S>>>,
    shard_count: usize,
    clock: SharedClock,
    closed: AtomicBool,
}

impl<S: CoordinatorShard> Runtime<S> {
    /// Builds one shard per writer (the internal topic's partitions, in
    /// index order) by replaying its log into `build()`.
    #[cfg(test)]
    pub fn load(
        writers: Vec<Arc<dyn PartitionWriter>>,
        build: impl Fn() -> S + Send + Sync + 'static,
        clock: SharedClock,
        wait_for_fsync: bool,
    ) -> Result<Runtime<S>, PartitionError> {
        let runtime = Runtime::loading(writers.len(), clock);
        runtime.finish_load(writers, build, wait_for_fsync)?;
        Ok(runtime)
    }

    /// A runtime of `shard_count` shards not loaded yet.
    pub fn loading(shard_count: usize, clock: SharedClock) -> Runtime<S> {
        Runtime {
            shards: OnceLock::new(),
            shard_count,
            clock,
            closed: AtomicBool::new(false),
        }
    }

    /// Loads the shards of a runtime made by [`Runtime::loading`] by
    /// replaying each writer's log (one per shard, in index order), then
    /// serves them all at once. Loading twice is refused.
    pub fn finish_load(
        &self,
        writers: Vec<Arc<dyn PartitionWriter>>,
        build: impl Fn() -> S + Send + Sync + 'static,
        wait_for_fsync: bool,
    ) -> Result<(), PartitionError> {
        if writers.len() != self.shard_count || self.is_loaded() {
            return Err(PartitionError::UnknownTopicOrPartition);
        }
        let build: Arc<dyn Fn() -> S + Send + Sync> = Arc::new(build);
        let mut shards = Vec::with_capacity(writers.len());
        for writer in writers {
            let mut machine = build();
            let records = replay_log(&mut machine, &*writer)?;
            machine.loaded(self.clock.now_ms());
            tracing::debug!(
                topic = writer.topic(),
                partition = writer.index(),
                records,
                "coordinator loaded"
            );
            shards.push(ShardCell {
                state: Mutex::new(Shard {
                    machine,
                    writer,
                    waiters: HashMap::new(),
                    next_request: 1,
                    clock: Arc::clone(&self.clock),
                    wait_for_fsync,
                    distrust: Arc::default(),
                }),
                build: Arc::clone(&build),
            });
        }
        self.shards
            .set(shards)
            .map_err(|_| PartitionError::UnknownTopicOrPartition)
    }

    /// Whether the shards are loaded and served.
    pub fn is_loaded(&self) -> bool {
        self.shards.get().is_some()
    }

    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    pub fn shard_count(&self) -> usize {
        self.shard_count
    }

    /// The shard (internal-topic partition) of `key`: Kafka's
    /// `abs(javaHashCode(key)) % partitions`.
    pub fn shard_of(&self, key: &str) -> usize {
        super::partition_for(key, self.shard_count)
    }

    /// Stops parking requests (see [`Runtime::is_closed`]).
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Runs `op` on shard `index`, unless it stopped serving.
    pub fn with_shard<R>(
        &self,
        index: usize,
        op: impl FnOnce(&mut Shard<S>) -> R,
    ) -> Result<R, CoordinatorError> {
        self.run(index, true, op)
    }

    /// Runs `op` on shard `index` even if it stopped serving (reads,
    /// shutdown).
    pub fn inspect_shard<R>(
        &self,
        index: usize,
        op: impl FnOnce(&mut Shard<S>) -> R,
    ) -> Result<R, CoordinatorError> {
        self.run(index, false, op)
    }

    /// Runs `op` on every shard in index order, even those that stopped
    /// serving (`op` can ask [`Shard::distrusted`]); on none before they
    /// are loaded.
    pub fn for_each_shard(&self, mut op: impl FnMut(&mut Shard<S>)) {
        let loaded = self.shards.get().map_or(0, Vec::len);
        for index in 0..loaded {
            let _ = self.run(index, false, &mut op);
        }
    }

    /// Runs `op` on shard after shard in index order, even those that
    /// stopped serving, until one returns `Some`.
    pub fn find_map<R>(&self, mut op: impl FnMut(&mut Shard<S>) -> Option<R>) -> Option<R> {
        let loaded = self.shards.get().map_or(0, Vec::len);
        (0..loaded).find_map(|index| self.run(index, false, &mut op).ok().flatten())
    }

    fn run<R>(
        &self,
        index: usize,
        trusted_only: bool,
        op: impl FnOnce(&mut Shard<S>) -> R,
    ) -> Result<R, CoordinatorError> {
        let shards = self.shards.get().ok_or(CoordinatorError::Loading)?;
        let cell = shards.get(index).ok_or(CoordinatorError::NotAvailable)?;
        let mut shard = lock(cell);
        if trusted_only && shard.distrusted() {
            return Err(CoordinatorError::NotAvailable);
        }
        match catch_unwind(AssertUnwindSafe(|| op(&mut shard))) {
            Ok(result) => Ok(result),
            Err(_) => {
                // The panic message is printed by the panic hook; the state
                // may be half-changed, so it is thrown away.
                tracing::error!(
                    topic = shard.writer.topic(),
                    partition = shard.writer.index(),
                    "a coordinator operation panicked; rebuilding the shard from its log"
                );
                shard.rebuild(&*cell.build);
                Err(CoordinatorError::ShardFailed)
            }
        }
    }
}

/// Locks a shard; one poisoned by a panic outside an operation (none is
/// expected) is rebuilt before it is used again.
fn lock<S: CoordinatorShard>(cell: &ShardCell<S>) -> MutexGuard<'_, Shard<S>> {
    match cell.state.lock() {
        Ok(guard) => guard,
        Err(poisoned) => {
            let mut guard = poisoned.into_inner();
            guard.rebuild(&*cell.build);
            cell.state.clear_poison();
            guard
        }
    }
}
