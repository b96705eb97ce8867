//! [`Pending`]: an answer to come from a coordinator — the one name for it.
//!
//! An operation's answer may be ready at once or given later (a JoinGroup
//! parked until the rebalance completes); either way it may depend on
//! writes that must be durable first (`--fsync always`), and it may need a
//! last step once they are (EndTxn writes its Complete record). `Pending<T>`
//! carries all three, typed by what the operation returns, so a handler
//! awaits a `Result<T, E>` and nothing else.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::oneshot;

use super::writer::PartitionWriter;

/// Why a coordinator could not answer. Each domain error has a `From` impl
/// (in `error.rs`) saying what its clients are told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CoordinatorError {
    /// No shard serves this key, or the shard stopped serving (a write it
    /// made was not durable, or it could not be rebuilt).
    #[error("the coordinator is not available")]
    NotAvailable,
    /// The shards are still being loaded at start (Kafka's
    /// COORDINATOR_LOAD_IN_PROGRESS: the client retries).
    #[error("the coordinator is loading")]
    Loading,
    /// The shard went away before answering (shutdown, or a rebuild after
    /// a failed operation dropped the request).
    #[error("the coordinator went away before answering")]
    Gone,
    /// The operation failed half-way and the shard was rebuilt from its log.
    #[error("the coordinator failed and was rebuilt from its log")]
    ShardFailed,
    /// A write the answer depends on was not made durable.
    #[error("a write of the coordinator was not made durable")]
    NotDurable,
}

/// A write to wait for: everything before `end` in `writer`.
pub type Write = (Arc<dyn PartitionWriter>, i64);

/// A last step after the writes are durable.
type Then<T, E> = Box<dyn FnOnce(T) -> Result<T, E> + Send>;

/// A next stage after the writes are durable: more writes to wait for
/// (EndTxn's markers, which must not be written before its Prepare record
/// is durable).
type Next<T, E> = Box<dyn FnOnce(T) -> Result<Pending<T, E>, E> + Send>;

enum Outcome<T, E> {
    Ready(Result<T, E>),
    Later(oneshot::Receiver<T>),
}

/// An answer to come, of type `T` or error `E`.
#[must_use]
pub struct Pending<T, E> {
    answer: Outcome<T, E>,
    writes: Vec<Write>,
    /// Set when a write is not durable: that shard's state in memory is
    /// ahead of its log, so it stops serving until restart.
    distrust: Option<Arc<AtomicBool>>,
    next: Option<Next<T, E>>,
    then: Option<Then<T, E>>,
}

impl<T, E: From<CoordinatorError>> Pending<T, E> {
    /// An answer known now.
    pub fn ready(answer: Result<T, E>) -> Self {
        Pending {
            answer: Outcome::Ready(answer),
            writes: Vec::new(),
            distrust: None,
            next: None,
            then: None,
        }
    }

    /// An answer given later through `rx`; a dropped sender is
    /// [`CoordinatorError::Gone`].
    pub fn later(rx: oneshot::Receiver<T>) -> Self {
        Pending {
            answer: Outcome::Later(rx),
            writes: Vec::new(),
            distrust: None,
            next: None,
            then: None,
        }
    }

    /// An error now.
    pub fn failed(error: impl Into<E>) -> Self {
        Pending::ready(Err(error.into()))
    }

    /// The answer goes out only once `write` is durable.
    pub fn after_durable(&mut self, write: Write) {
        self.writes.push(write);
    }

    /// A write that is not durable stops the shard behind `flag`.
    pub fn distrust_on_failure(&mut self, flag: Arc<AtomicBool>) {
        self.distrust = Some(flag);
    }

    /// Runs `then` with the answer once the writes are durable.
    pub fn then(mut self, then: impl FnOnce(T) -> Result<T, E> + Send + 'static) -> Self {
        self.then = Some(Box::new(then));
        self
    }

    /// Once the writes are durable, runs `next` for a next stage (its own
    /// writes, its own last step), waited for the same way; this
    /// pending's own `then` comes after it.
    pub fn and_then_durable(
        mut self,
        next: impl FnOnce(T) -> Result<Pending<T, E>, E> + Send + 'static,
    ) -> Self {
        self.next = Some(Box::new(next));
        self
    }

    /// The answer, once given, durable and followed up.
    pub async fn wait(self) -> Result<T, E>
    where
        T: 'static,
        E: 'static,
    {
        let Pending {
            answer,
            mut writes,
            mut distrust,
            mut next,
            mut then,
        } = self;
        let mut value = match answer {
            Outcome::Ready(answer) => answer?,
            Outcome::Later(rx) => rx.await.map_err(|_| CoordinatorError::Gone)?,
        };
        loop {
            for (writer, end) in writes.drain(..) {
                if let Err(e) = writer.wait_durable(end).await {
                    if let Some(flag) = &distrust {
                        flag.store(true, Ordering::Release);
                        tracing::error!(error = %e,
                            "a coordinator write was not made durable; that coordinator stops until restart");
                    }
                    return Err(CoordinatorError::NotDurable.into());
                }
            }
            let Some(stage) = next.take() else { break };
            let stage = stage(value)?;
            value = match stage.answer {
                Outcome::Ready(answer) => answer?,
                Outcome::Later(rx) => rx.await.map_err(|_| CoordinatorError::Gone)?,
            };
            (writes, next, then) = (stage.writes, stage.next, chain(stage.then, then));
            distrust = stage.distrust.or(distrust);
        }
        match then {
            Some(then) => then(value),
            None => Ok(value),
        }
    }

    /// [`Self::wait`] for an answer known now, blocking on the flushes
    /// (outside the request path: recovery, timeouts).
    pub fn wait_blocking(self) -> Result<T, E>
    where
        T: 'static,
        E: 'static,
    {
        let Pending {
            answer,
            mut writes,
            mut distrust,
            mut next,
            mut then,
        } = self;
        let mut value = match answer {
            Outcome::Ready(answer) => answer?,
            Outcome::Later(_) => return Err(CoordinatorError::Gone.into()),
        };
        loop {
            let mut ok = true;
            for (writer, end) in writes.drain(..) {
                ok &= writer.flush_blocking(end);
            }
            if !ok {
                if let Some(flag) = &distrust {
                    flag.store(true, Ordering::Release);
                }
                tracing::error!(
                    "a coordinator write was not made durable; that coordinator stops until restart"
                );
                return Err(CoordinatorError::NotDurable.into());
            }
            let Some(stage) = next.take() else { break };
            let stage = stage(value)?;
            value = match stage.answer {
                Outcome::Ready(answer) => answer?,
                Outcome::Later(_) => return Err(CoordinatorError::Gone.into()),
            };
            (writes, next, then) = (stage.writes, stage.next, chain(stage.then, then));
            distrust = stage.distrust.or(distrust);
        }
        match then {
            Some(then) => then(value),
            None => Ok(value),
        }
    }
}

/// `first`, then `second` (a stage's last step runs before the one of the
/// pending that started it).
fn chain<T: 'static, E: 'static>(
    first: Option<Then<T, E>>,
    second: Option<Then<T, E>>,
) -> Option<Then<T, E>> {
    match (first, second) {
        (Some(a), Some(b)) => Some(Box::new(move |v| b(a(v)?))),
        (a, b) => a.or(b),
    }
}
