//! Fault injection, for tests of how clients cope with a misbehaving
//! broker. Off unless the broker is started with `--fault-injection`
//! (`Broker::builder().fault_injection()`); then `BrokerState::faults`
//! holds a [`Faults`] and every request goes through it (the pipeline's
//! fault stage, `dispatch/pipeline.rs`). Off, the pipeline reads one
//! `Option` and nothing here runs.
//!
//! - [`Rule`]s match requests (API and versions, topic/partition, group,
//!   transactional id, client id) and act on them ([`Action`]: an error
//!   answer, close, delay, drop) when their trigger allows (count,
//!   probability, every n-th, time window). After librdkafka's mock
//!   cluster and franz-go kfake's `ControlKey`.
//! - The broker can be "down": every client connection closed, new ones
//!   accepted and closed at once, until "up".
//! - Every request is recorded ([`RecordedRequest`], a bounded ring).
//!
//! The same abilities over HTTP: `http/faults.rs`; user docs:
//! `docs/fault-injection.md`. Storage I/O failures are injected one level
//! down, with `sluice_storage::faults`.

mod inspect;
mod log;
mod rule;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use serde::Serialize;
use tokio::sync::watch;
use uuid::Uuid;

pub use inspect::{RequestFacts, ERROR_APIS};
/// Kafka's API keys, as rules name them (`ApiKey::Produce`).
pub use kafka_protocol::messages::ApiKey;
pub use log::{AppliedFault, RecordedRequest, RequestFilter, REQUEST_LOG_CAPACITY};
pub use rule::{
    error_code_name, parse_api, parse_error_code, Action, Rule, MAX_DELAY_MS, MAX_NAME_LEN,
};

/// The most rules held at once (spent ones included, until deleted).
pub const MAX_RULES: usize = 1000;

/// Names a rule added to [`Faults`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct RuleId(pub u64);

impl std::fmt::Display for RuleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A rule and what it has done so far.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleStatus {
    pub id: RuleId,
    #[serde(flatten)]
    pub rule: Rule,
    /// Requests that matched its filters (inside its window).
    pub matched: u64,
    /// Times it acted.
    pub fired: u64,
    /// It has fired its `count` and acts no more (it stays listed until
    /// deleted).
    pub spent: bool,
}

/// Why a rule was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RuleError(pub String);

#[derive(Debug)]
struct Armed {
    status: RuleStatus,
    added: Instant,
}

impl Armed {
    fn in_window(&self, now: Instant, now_unix_ms: i64) -> bool {
        let rule = &self.status.rule;
        let since = now.saturating_duration_since(self.added);
        let start = Duration::from_millis(rule.after_ms.unwrap_or(0));
        if since < start {
            return false;
        }
        if let Some(window) = rule.for_ms {
            if since >= start + Duration::from_millis(window) {
                return false;
            }
        }
        rule.from_unix_ms.is_none_or(|t| now_unix_ms >= t)
            && rule.until_unix_ms.is_none_or(|t| now_unix_ms < t)
    }
}

#[derive(Debug, Default)]
struct Rules {
    armed: Vec<Armed>,
    next_id: u64,
}

/// One request as the fault stage sees it (from its header).
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub api_key: ApiKey,
    pub version: i16,
    pub correlation_id: i32,
    pub client_id: Option<String>,
    pub peer: std::net::SocketAddr,
    pub at_unix_ms: i64,
}

/// A rule that fired on a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fired {
    pub rule: RuleId,
    pub action: Action,
}

/// The fault injection of one broker: rules, the down switch, the
/// request log. `Broker::faults()` hands it out when it is on.
#[derive(Debug)]
pub struct Faults {
    /// Rules that can still fire: none means a request costs one load.
    live: AtomicUsize,
    rules: Mutex<Rules>,
    down: watch::Sender<bool>,
    log: Mutex<log::RequestLog>,
    /// The APIs the broker serves (a rule for another is refused); empty:
    /// any.
    served: Vec<ApiKey>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults::new(Vec::new())
    }
}

/// Locks a mutex; a panic elsewhere left the data whole (each change is
/// made at once under the lock).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Faults {
    /// Fault injection for a broker serving the APIs `served`.
    pub(crate) fn new(served: Vec<ApiKey>) -> Faults {
        Faults {
            live: AtomicUsize::new(0),
            rules: Mutex::default(),
            down: watch::Sender::new(false),
            log: Mutex::default(),
            served,
        }
    }

    /// Whether `rule` would be accepted: [`Rule::validate`], and an API
    /// the broker serves.
    pub fn check(&self, rule: &Rule) -> Result<(), RuleError> {
        rule.validate().map_err(RuleError)?;
        if !self.served.is_empty() && !self.served.contains(&rule.api) {
            return Err(RuleError(format!("Sluice does not serve {:?}", rule.api)));
        }
        Ok(())
    }

    /// Arms `rule` (it acts from the next matching request on); refused
    /// with a message saying what is wrong with it.
    pub fn add(&self, rule: Rule) -> Result<RuleId, RuleError> {
        self.check(&rule)?;
        let mut rules = lock(&self.rules);
        if rules.armed.len() >= MAX_RULES {
            return Err(RuleError(format!(
                "{MAX_RULES} rules are held already: delete some (or all: DELETE /v1/faults)"
            )));
        }
        rules.next_id += 1;
        let id = RuleId(rules.next_id);
        rules.armed.push(Armed {
            status: RuleStatus {
                id,
                rule,
                matched: 0,
                fired: 0,
                spent: false,
            },
            added: Instant::now(),
        });
        self.count_live(&rules);
        Ok(id)
    }

    fn count_live(&self, rules: &Rules) {
        let live = rules.armed.iter().filter(|a| !a.status.spent).count();
        self.live.store(live, Ordering::Relaxed);
    }

    /// Every rule, in the order added, with what it has done.
    pub fn rules(&self) -> Vec<RuleStatus> {
        lock(&self.rules)
            .armed
            .iter()
            .map(|a| a.status.clone())
            .collect()
    }

    /// One rule, if held.
    pub fn rule(&self, id: RuleId) -> Option<RuleStatus> {
        lock(&self.rules)
            .armed
            .iter()
            .find(|a| a.status.id == id)
            .map(|a| a.status.clone())
    }

    /// How many times a rule has acted (0 if it is not held).
    pub fn fired(&self, id: RuleId) -> u64 {
        self.rule(id).map_or(0, |s| s.fired)
    }

    /// Deletes a rule; false if it was not held.
    pub fn remove(&self, id: RuleId) -> bool {
        let mut rules = lock(&self.rules);
        let before = rules.armed.len();
        rules.armed.retain(|a| a.status.id != id);
        self.count_live(&rules);
        rules.armed.len() != before
    }

    /// Deletes every rule.
    pub fn clear(&self) {
        let mut rules = lock(&self.rules);
        rules.armed.clear();
        self.count_live(&rules);
    }

    /// Takes the broker "down": every client connection is closed and new
    /// ones are accepted and closed at once, until [`up`](Self::up). The
    /// HTTP server keeps serving.
    pub fn down(&self) {
        self.down.send_replace(true);
    }

    /// Brings the broker back "up": connections are served again.
    pub fn up(&self) {
        self.down.send_replace(false);
    }

    /// Whether the broker is "down".
    pub fn is_down(&self) -> bool {
        *self.down.borrow()
    }

    /// Resolves once the broker is "down" (at once if it is).
    pub(crate) async fn wait_down(&self) {
        let mut rx = self.down.subscribe();
        let _ = rx.wait_for(|down| *down).await;
    }

    /// The recorded requests `filter` keeps, oldest first.
    pub fn requests(&self, filter: &RequestFilter) -> Vec<RecordedRequest> {
        lock(&self.log).list(filter)
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        lock(&self.log).clear();
    }

    fn record(&self, entry: RecordedRequest) {
        lock(&self.log).push(entry);
    }

    /// The first rule that fires on this request, if any. Every rule that
    /// matches counts it. The body is decoded only if a rule for this API
    /// filters on what it holds.
    pub(crate) fn decide(
        &self,
        seen: &Seen,
        body: &Bytes,
        name_of: &dyn Fn(&Uuid) -> Option<String>,
    ) -> Option<Fired> {
        if self.live.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let mut rules = lock(&self.rules);
        let now = Instant::now();
        let candidates = |a: &Armed| {
            !a.status.spent
                && a.status.rule.api == seen.api_key
                && a.status
                    .rule
                    .matches_header(seen.version, seen.client_id.as_deref())
                && a.in_window(now, seen.at_unix_ms)
        };
        let facts = if rules
            .armed
            .iter()
            .any(|a| candidates(a) && a.status.rule.needs_body())
        {
            match inspect::decode(seen.api_key, seen.version, body) {
                Ok(req) => Some(inspect::facts(&req, name_of)),
                // The handler refuses it; no content filter matches it.
                Err(_) => Some(RequestFacts::default()),
            }
        } else {
            None
        };
        let mut fired = None;
        let mut spent_one = false;
        for armed in rules.armed.iter_mut() {
            if !candidates(armed) {
                continue;
            }
            let rule = &armed.status.rule;
            if rule.needs_body() && !facts.as_ref().is_some_and(|f| rule.matches_body(f)) {
                continue;
            }
            armed.status.matched += 1;
            if fired.is_some() {
                continue;
            }
            if rule
                .every
                .is_some_and(|n| !armed.status.matched.is_multiple_of(n))
            {
                continue;
            }
            if rule.probability.is_some_and(|p| fastrand::f64() >= p) {
                continue;
            }
            armed.status.fired += 1;
            if rule.limit().is_some_and(|n| armed.status.fired >= n) {
                armed.status.spent = true;
                spent_one = true;
            }
            fired = Some(Fired {
                rule: armed.status.id,
                action: rule.action,
            });
        }
        if spent_one {
            self.count_live(&rules);
        }
        fired
    }

    /// The delay of a `delay` action, its jitter drawn.
    pub(crate) fn delay_of(ms: u64, jitter_ms: u64) -> Duration {
        let ms = if jitter_ms == 0 {
            ms
        } else {
            let j = fastrand::u64(0..=jitter_ms.saturating_mul(2));
            (ms + j).saturating_sub(jitter_ms)
        };
        Duration::from_millis(ms)
    }

    /// The error answer (a whole frame) of an `error` rule, or why there
    /// is none.
    pub(crate) fn error_answer(seen: &Seen, body: &Bytes, code: i16) -> Result<BytesMut, String> {
        inspect::decode(seen.api_key, seen.version, body).and_then(|req| {
            let resp = inspect::error_response(&req, seen.version, code)
                .ok_or_else(|| format!("no error answer for {:?}", seen.api_key))?;
            inspect::encode_frame(seen.api_key, seen.version, seen.correlation_id, &resp)
        })
    }

    /// Records a request's outcome: `answer` is its response frame, if
    /// it got one (its error code is read from it).
    pub(crate) fn record_outcome(
        &self,
        seen: &Seen,
        started: Instant,
        fired: Option<Fired>,
        answer: Option<&[u8]>,
    ) {
        let applied = fired.map(|f| AppliedFault {
            rule: f.rule.0,
            action: match f.action {
                Action::Error { .. } => "error",
                Action::Close => "close",
                Action::CloseAfter => "close_after",
                Action::Delay { .. } => "delay",
                Action::Drop => "drop",
            },
        });
        let code = answer.and_then(|frame| inspect::frame_error(seen.api_key, seen.version, frame));
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        self.record(RecordedRequest::new(seen, latency_ms, code, applied));
    }
}

/// What the pipeline's fault stage needs to build a [`Seen`].
pub(crate) fn seen(
    api_key: ApiKey,
    version: i16,
    correlation_id: i32,
    client_id: Option<String>,
    peer: std::net::SocketAddr,
) -> Seen {
    Seen {
        api_key,
        version,
        correlation_id,
        client_id,
        peer,
        at_unix_ms: unix_ms(),
    }
}

#[cfg(test)]
mod tests;
