//! The second stage: fault rules, for tests. Off unless a test adds a rule;
//! with no rule it costs one relaxed atomic load per request.
//!
//! A rule matches requests of one API key and acts on every n-th of them
//! (counted over all connections): close the connection instead of
//! handling the request, handle it and close instead of answering, or
//! delay it. The idea is franz-go kfake's `ControlKey` (intercept one API,
//! act, keep the control or let it expire), reduced to data so that an HTTP
//! fault API can add and list rules later.
//!
//! Not a production feature: nothing in the configuration enables it.
//! Storage I/O failures (full disk, failing reads, failed fsyncs) are
//! injected one level down, with `sluice_storage::faults`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use kafka_protocol::messages::ApiKey;

/// What a rule does to a request it fires on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultAction {
    /// Close the connection without handling the request (nor the ones
    /// pipelined behind it).
    CloseBeforeHandling,
    /// Handle the request (a produce is written), then close the connection
    /// instead of answering; requests pipelined behind it are dropped unread.
    CloseAfterHandling,
    /// Wait this long before handling the request (the connection reads
    /// nothing meanwhile).
    Delay(Duration),
}

/// Which requests a rule fires on, and what it does.
#[derive(Debug, Clone)]
pub struct FaultRule {
    pub api_key: ApiKey,
    /// Fire on every `every`-th matching request (1: each one).
    pub every: u64,
    /// Stop firing after this many times (None: until removed).
    pub times: Option<u64>,
    pub action: FaultAction,
}

impl FaultRule {
    /// A rule firing `action` on every request of `api_key`.
    pub fn new(api_key: ApiKey, action: FaultAction) -> FaultRule {
        FaultRule {
            api_key,
            every: 1,
            times: None,
            action,
        }
    }

    /// Fire on every `n`-th matching request instead (0 is taken as 1).
    pub fn every_nth(mut self, n: u64) -> FaultRule {
        self.every = n.max(1);
        self
    }

    /// Fire at most `n` times.
    pub fn times(mut self, n: u64) -> FaultRule {
        self.times = Some(n);
        self
    }
}

/// Names a rule added to [`FaultRules`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleId(u64);

#[derive(Debug)]
struct Armed {
    id: RuleId,
    rule: FaultRule,
    /// Matching requests seen since the rule was added.
    seen: u64,
    /// Times the rule acted.
    fired: u64,
}

#[derive(Debug, Default)]
struct Rules {
    armed: Vec<Armed>,
    next_id: u64,
    /// The rule [`FaultRules::drop_connection_every_nth_produce`] set.
    produce_drop: Option<RuleId>,
}

/// The broker's fault rules (on `BrokerState::faults`).
#[derive(Debug, Default)]
pub struct FaultRules {
    /// How many rules are armed: the no-rule case reads only this.
    count: AtomicUsize,
    rules: Mutex<Rules>,
}

impl FaultRules {
    fn lock(&self) -> MutexGuard<'_, Rules> {
        // A test that panicked holding the lock left the rules whole.
        self.rules
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Arms `rule`; it acts from the next matching request on.
    pub fn add(&self, rule: FaultRule) -> RuleId {
        let mut rules = self.lock();
        let id = RuleId(rules.next_id);
        rules.next_id += 1;
        rules.armed.push(Armed {
            id,
            rule,
            seen: 0,
            fired: 0,
        });
        self.count.store(rules.armed.len(), Ordering::Relaxed);
        id
    }

    /// Disarms a rule; false if it was not armed.
    pub fn remove(&self, id: RuleId) -> bool {
        let mut rules = self.lock();
        let before = rules.armed.len();
        rules.armed.retain(|a| a.id != id);
        self.count.store(rules.armed.len(), Ordering::Relaxed);
        rules.armed.len() != before
    }

    /// Disarms every rule.
    pub fn clear(&self) {
        let mut rules = self.lock();
        rules.armed.clear();
        rules.produce_drop = None;
        self.count.store(0, Ordering::Relaxed);
    }

    /// How many times an armed rule has acted (0 if it is not armed).
    pub fn fired(&self, id: RuleId) -> u64 {
        self.lock()
            .armed
            .iter()
            .find(|a| a.id == id)
            .map_or(0, |a| a.fired)
    }

    /// From now on, every `n`-th Produce request (counted over all
    /// connections) is handled — its batches are written — but the broker
    /// closes the client's socket instead of answering it, and drops the
    /// requests pipelined behind it unread. `n = 0` turns this off.
    pub fn drop_connection_every_nth_produce(&self, n: u64) {
        let previous = self.lock().produce_drop.take();
        if let Some(id) = previous {
            self.remove(id);
        }
        if n > 0 {
            let id = self
                .add(FaultRule::new(ApiKey::Produce, FaultAction::CloseAfterHandling).every_nth(n));
            self.lock().produce_drop = Some(id);
        }
    }

    /// Connections closed by [`Self::drop_connection_every_nth_produce`]
    /// since it was last called.
    pub fn connections_dropped(&self) -> u64 {
        let id = self.lock().produce_drop;
        id.map_or(0, |id| self.fired(id))
    }

    /// What to do to this request of `api_key`: the action of the first
    /// armed rule that fires on it. Every matching rule counts the request.
    pub(super) fn check(&self, api_key: ApiKey) -> Option<FaultAction> {
        if self.count.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let mut rules = self.lock();
        let mut action = None;
        for armed in rules.armed.iter_mut().filter(|a| a.rule.api_key == api_key) {
            armed.seen += 1;
            let spent = armed.rule.times.is_some_and(|t| armed.fired >= t);
            if action.is_none() && !spent && armed.seen.is_multiple_of(armed.rule.every) {
                armed.fired += 1;
                action = Some(armed.rule.action);
            }
        }
        action
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_rule_no_fault() {
        let faults = FaultRules::default();
        assert_eq!(faults.check(ApiKey::Produce), None);
        assert_eq!(faults.connections_dropped(), 0);
    }

    #[test]
    fn a_rule_fires_on_every_nth_request_of_its_key_only() {
        let faults = FaultRules::default();
        let id = faults
            .add(FaultRule::new(ApiKey::Fetch, FaultAction::CloseBeforeHandling).every_nth(3));
        let fired: Vec<bool> = (0..7)
            .map(|_| {
                assert_eq!(faults.check(ApiKey::Produce), None);
                faults.check(ApiKey::Fetch).is_some()
            })
            .collect();
        assert_eq!(fired, [false, false, true, false, false, true, false]);
        assert_eq!(faults.fired(id), 2);
        assert!(faults.remove(id));
        assert_eq!(faults.check(ApiKey::Fetch), None);
        assert!(!faults.remove(id));
    }

    #[test]
    fn a_rule_with_times_stops_firing() {
        let faults = FaultRules::default();
        let delay = FaultAction::Delay(Duration::from_millis(5));
        let id = faults.add(FaultRule::new(ApiKey::Metadata, delay).times(2));
        let actions: Vec<_> = (0..4).map(|_| faults.check(ApiKey::Metadata)).collect();
        assert_eq!(actions, [Some(delay), Some(delay), None, None]);
        assert_eq!(faults.fired(id), 2);
    }

    #[test]
    fn the_first_firing_rule_acts() {
        let faults = FaultRules::default();
        faults.add(FaultRule::new(ApiKey::Produce, FaultAction::CloseAfterHandling).every_nth(2));
        faults.add(FaultRule::new(
            ApiKey::Produce,
            FaultAction::CloseBeforeHandling,
        ));
        assert_eq!(
            faults.check(ApiKey::Produce),
            Some(FaultAction::CloseBeforeHandling)
        );
        assert_eq!(
            faults.check(ApiKey::Produce),
            Some(FaultAction::CloseAfterHandling)
        );
        faults.clear();
        assert_eq!(faults.check(ApiKey::Produce), None);
    }

    #[test]
    fn drop_every_nth_produce_counts_and_resets() {
        let faults = FaultRules::default();
        faults.drop_connection_every_nth_produce(2);
        let acted: Vec<_> = (0..5).map(|_| faults.check(ApiKey::Produce)).collect();
        let close = Some(FaultAction::CloseAfterHandling);
        assert_eq!(acted, [None, close, None, close, None]);
        assert_eq!(faults.connections_dropped(), 2);
        // Setting it again starts counting afresh.
        faults.drop_connection_every_nth_produce(2);
        assert_eq!(faults.connections_dropped(), 0);
        assert_eq!(faults.check(ApiKey::Produce), None);
        faults.drop_connection_every_nth_produce(0);
        assert_eq!(faults.check(ApiKey::Produce), None);
        assert_eq!(faults.check(ApiKey::Produce), None);
        assert_eq!(faults.connections_dropped(), 0);
    }
}
