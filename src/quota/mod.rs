//! Client quotas enforced (Kafka's `ClientQuotaManager`,
//! `ClientRequestQuotaManager`; KIP-13, KIP-55, KIP-124, KIP-219).
//!
//! What is configured lives in `metadata::client_quotas` (stored in the
//! metadata log, changed by AlterClientQuotas); this module measures
//! clients against it:
//!
//! - **Which quota.** For a request from user `u` (the session's
//!   principal name; `ANONYMOUS` without SASL) with client id `c`, the
//!   first entity that sets the key wins, in Kafka's order: `u`+`c`,
//!   `u`+default client, `u`, default user+`c`, default user+default
//!   client, default user, `c`, default client ([`limit`]). Each kind
//!   (produce, fetch, request) has its own lookup.
//! - **Whose rate.** Clients that match the same entity share one rate,
//!   as Kafka's metric tags do: a `u` quota is shared by all of `u`'s
//!   client ids, a default-user quota is measured per user, a client-id
//!   quota per client id.
//! - **Measured how.** Kafka's windowed rate (`rate.rs`) over
//!   `quota.window.num` samples of `quota.window.size.seconds`: produce
//!   records the request's size, fetch the response's size, requests the
//!   handling time as a percentage of one thread (100 = one thread busy).
//! - **Throttle.** `(rate - quota) / quota × span` ms (request-time
//!   throttles at most one window); it goes into the response's
//!   `throttle_time_ms` and the connection handles no further request
//!   for that long (KIP-219: the reply is sent at once, the channel is
//!   muted).
//!
//! A broker without quotas does no quota work: each kind is checked with
//! one relaxed atomic load first ([`ClientQuotaStore::enabled`]).
//! `connection_creation_rate` (per IP, KIP-612) is checked at accept: a
//! connection over it is held for the throttle time and then closed
//! unserved, and not counted. `controller_mutation_rate` is stored and
//! described but not enforced.

mod alter;
mod describe;
mod rate;
pub mod throttle;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use dashmap::DashMap;

pub use alter::{alteration, AlterEntry};
pub use describe::{describe, DescribeFilter};
pub use rate::Window;

use crate::metadata::client_quotas::{
    ClientQuotaStore, EntityName, QuotaEntity, QuotaKind, QuotaTable,
};
use rate::Rate;

/// Kafka's `quota.window.num` default.
pub const DEFAULT_WINDOW_NUM: u32 = 11;
/// Kafka's `quota.window.size.seconds` default.
pub const DEFAULT_WINDOW_SIZE_SECONDS: u32 = 1;

/// Sensors kept before idle ones are swept.
const SWEEP_AT: usize = 1024;

/// Who a request is from, for quotas: the principal's name and the
/// request header's client id (empty when absent, as Kafka).
#[derive(Debug, Clone, Copy)]
pub struct QuotaClient<'a> {
    pub user: &'a str,
    pub client_id: &'a str,
}

impl<'a> QuotaClient<'a> {
    /// The client of a request on `session` with header client id
    /// `client_id`.
    pub fn of(session: &'a crate::session::Session, client_id: Option<&'a str>) -> Self {
        QuotaClient {
            user: &session.principal().name,
            client_id: client_id.unwrap_or(""),
        }
    }
}

/// The rate shared by the clients that matched one entity: (user tag,
/// client-id tag), each empty when the entity does not name it.
type SensorKey = (String, String);

/// The quota that applies to a client and whose rate it counts against.
#[derive(Debug, Clone, PartialEq)]
pub struct Limit {
    pub bound: f64,
    sensor: SensorKey,
}

/// The quota of `kind` for `client`, by Kafka's precedence.
pub fn limit(table: &QuotaTable, kind: QuotaKind, client: QuotaClient<'_>) -> Option<Limit> {
    let user = || Some(EntityName::Named(client.user.to_string()));
    let client_id = || Some(EntityName::Named(client.client_id.to_string()));
    let default = || Some(EntityName::Default);
    let both = || (client.user.to_string(), client.client_id.to_string());
    let user_only = || (client.user.to_string(), String::new());
    let client_only = || (String::new(), client.client_id.to_string());
    let candidates: [(Option<EntityName>, Option<EntityName>, SensorTag); 8] = [
        (user(), client_id(), SensorTag::Both),
        (user(), default(), SensorTag::Both),
        (user(), None, SensorTag::User),
        (default(), client_id(), SensorTag::Both),
        (default(), default(), SensorTag::Both),
        (default(), None, SensorTag::User),
        (None, client_id(), SensorTag::ClientId),
        (None, default(), SensorTag::ClientId),
    ];
    for (u, c, tag) in candidates {
        let entity = QuotaEntity {
            user: u,
            client_id: c,
            ip: None,
        };
        if let Some(bound) = table.get(&entity).and_then(|v| v.get(kind.key())) {
            let sensor = match tag {
                SensorTag::Both => both(),
                SensorTag::User => user_only(),
                SensorTag::ClientId => client_only(),
            };
            return Some(Limit {
                bound: *bound,
                sensor,
            });
        }
    }
    None
}

/// The connection-rate quota of `ip`: its own entity's, else the default
/// IP entity's; measured per IP either way.
fn ip_limit(table: &QuotaTable, ip: std::net::IpAddr) -> Option<Limit> {
    let name = ip.to_string();
    [EntityName::Named(name.clone()), EntityName::Default]
        .into_iter()
        .find_map(|n| {
            let entity = QuotaEntity {
                ip: Some(n),
                ..QuotaEntity::default()
            };
            table
                .get(&entity)
                .and_then(|v| v.get(QuotaKind::ConnectionCreation.key()))
                .copied()
        })
        .map(|bound| Limit {
            bound,
            sensor: (String::new(), name),
        })
}

#[derive(Debug, Clone, Copy)]
enum SensorTag {
    Both,
    User,
    ClientId,
}

/// One kind's rates, by sensor.
#[derive(Default)]
struct Sensors {
    rates: DashMap<SensorKey, Rate>,
    /// Sweep idle sensors when there are more than this many.
    sweep_at: AtomicUsize,
}

/// The broker's quota enforcement: one rate per sensor and kind.
pub struct QuotaManager {
    window: Window,
    started: Instant,
    sensors: [Sensors; 5],
}

impl QuotaManager {
    pub fn new(samples: u32, window_seconds: u32) -> QuotaManager {
        QuotaManager {
            window: Window {
                samples: samples.max(1),
                window_ms: i64::from(window_seconds.max(1)) * 1000,
            },
            started: Instant::now(),
            sensors: Default::default(),
        }
    }

    fn now_ms(&self) -> i64 {
        i64::try_from(self.started.elapsed().as_millis()).unwrap_or(i64::MAX)
    }

    /// Records `value` for `client` against its quota of `kind`: the
    /// throttle time in ms, 0 when within the quota or when it has none.
    pub fn record(
        &self,
        store: &ClientQuotaStore,
        kind: QuotaKind,
        client: QuotaClient<'_>,
        value: f64,
    ) -> i32 {
        if !store.enabled(kind) {
            return 0;
        }
        let Some(limit) = store.with_quotas(|t| limit(t, kind, client)) else {
            return 0;
        };
        self.record_at(kind, &limit, value, self.now_ms())
    }

    fn record_at(&self, kind: QuotaKind, limit: &Limit, value: f64, now: i64) -> i32 {
        let sensors = &self.sensors[kind as usize];
        let throttle = sensors
            .rates
            .entry(limit.sensor.clone())
            .or_default()
            .record_and_check(self.window, value, limit.bound, now);
        self.sweep(sensors, now);
        let throttle = if kind == QuotaKind::Request {
            // Kafka bounds a request-time throttle by one window.
            throttle.min(self.window.window_ms)
        } else {
            throttle
        };
        i32::try_from(throttle).unwrap_or(i32::MAX)
    }

    /// Takes back what [`Self::record`] recorded (a fetch answered empty
    /// because it was throttled sends none of the bytes it counted).
    pub fn unrecord(
        &self,
        store: &ClientQuotaStore,
        kind: QuotaKind,
        client: QuotaClient<'_>,
        value: f64,
    ) {
        if !store.enabled(kind) {
            return;
        }
        if let Some(limit) = store.with_quotas(|t| limit(t, kind, client)) {
            let now = self.now_ms();
            if let Some(mut rate) = self.sensors[kind as usize].rates.get_mut(&limit.sensor) {
                rate.record(self.window, -value, now);
            }
        }
    }

    /// The most a client may take within one quota window span (Kafka's
    /// `getMaxValueInQuotaWindow`): a fetch asks for no more than this.
    pub fn max_value_in_window(
        &self,
        store: &ClientQuotaStore,
        kind: QuotaKind,
        client: QuotaClient<'_>,
    ) -> Option<f64> {
        if !store.enabled(kind) {
            return None;
        }
        let limit = store.with_quotas(|t| limit(t, kind, client))?;
        let span_seconds =
            f64::from(self.window.samples - 1) * (self.window.window_ms as f64 / 1000.0);
        Some(limit.bound * span_seconds)
    }

    /// Records `busy` handling time as a percentage of one thread against
    /// `client`'s request quota: the throttle time in ms.
    pub fn record_request_time(
        &self,
        store: &ClientQuotaStore,
        client: QuotaClient<'_>,
        busy: Duration,
    ) -> i32 {
        let percent = busy.as_secs_f64() * 100.0;
        self.record(store, QuotaKind::Request, client, percent)
    }

    /// Records a new connection from `ip` against its
    /// `connection_creation_rate` (that IP's, else the default IP's): the
    /// throttle time in ms; a throttled connection is not counted.
    pub fn record_connection(&self, store: &ClientQuotaStore, ip: std::net::IpAddr) -> i32 {
        let kind = QuotaKind::ConnectionCreation;
        if !store.enabled(kind) {
            return 0;
        }
        let Some(limit) = store.with_quotas(|t| ip_limit(t, ip)) else {
            return 0;
        };
        let now = self.now_ms();
        let throttle = self.record_at(kind, &limit, 1.0, now);
        if throttle > 0 {
            if let Some(mut rate) = self.sensors[kind as usize].rates.get_mut(&limit.sensor) {
                rate.record(self.window, -1.0, now);
            }
        }
        throttle
    }

    /// Drops the rates no event has touched for the whole window (they
    /// measure zero): client ids are chosen by clients, so the number of
    /// sensors must not grow with every id ever seen.
    fn sweep(&self, sensors: &Sensors, now: i64) {
        let at = sensors.sweep_at.load(Ordering::Relaxed).max(SWEEP_AT);
        if sensors.rates.len() <= at {
            return;
        }
        let expire = i64::from(self.window.samples) * self.window.window_ms;
        sensors
            .rates
            .retain(|_, r| r.last_event_ms().is_some_and(|t| now - t < expire));
        sensors
            .sweep_at
            .store(sensors.rates.len().saturating_mul(2), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn entity(user: Option<Option<&str>>, client: Option<Option<&str>>) -> QuotaEntity {
        let name = |n: Option<&str>| match n {
            Some(n) => EntityName::Named(n.to_string()),
            None => EntityName::Default,
        };
        QuotaEntity {
            user: user.map(name),
            client_id: client.map(name),
            ip: None,
        }
    }

    /// Kafka's eight levels, each with a distinct produce quota.
    fn all_levels() -> Vec<(QuotaEntity, f64)> {
        vec![
            (entity(Some(Some("alice")), Some(Some("app"))), 1.0),
            (entity(Some(Some("alice")), Some(None)), 2.0),
            (entity(Some(Some("alice")), None), 3.0),
            (entity(Some(None), Some(Some("app"))), 4.0),
            (entity(Some(None), Some(None)), 5.0),
            (entity(Some(None), None), 6.0),
            (entity(None, Some(Some("app"))), 7.0),
            (entity(None, Some(None)), 8.0),
        ]
    }

    fn table(levels: &[(QuotaEntity, f64)]) -> QuotaTable {
        levels
            .iter()
            .map(|(e, v)| {
                (
                    e.clone(),
                    BTreeMap::from([("producer_byte_rate".to_string(), *v)]),
                )
            })
            .collect()
    }

    const ALICE_APP: QuotaClient<'static> = QuotaClient {
        user: "alice",
        client_id: "app",
    };

    #[test]
    fn precedence_is_kafkas() {
        let mut levels = all_levels();
        // Remove the most specific level each time: the next one applies.
        for expected in 1..=8 {
            let t = table(&levels);
            let l = limit(&t, QuotaKind::Produce, ALICE_APP).unwrap();
            assert_eq!(l.bound, f64::from(expected), "with {} levels", levels.len());
            levels.remove(0);
        }
        assert_eq!(limit(&table(&levels), QuotaKind::Produce, ALICE_APP), None);
    }

    #[test]
    fn each_kind_has_its_own_lookup() {
        let t = table(&all_levels()[2..3]);
        assert!(limit(&t, QuotaKind::Produce, ALICE_APP).is_some());
        assert_eq!(limit(&t, QuotaKind::Fetch, ALICE_APP), None);
    }

    #[test]
    fn clients_matching_one_entity_share_its_rate() {
        let t = table(&all_levels()[2..3]);
        let other_app = QuotaClient {
            user: "alice",
            client_id: "other",
        };
        let a = limit(&t, QuotaKind::Produce, ALICE_APP).unwrap();
        let b = limit(&t, QuotaKind::Produce, other_app).unwrap();
        assert_eq!(a, b);
        // A default-user quota is measured per user.
        let t = table(&all_levels()[5..6]);
        let bob = QuotaClient {
            user: "bob",
            client_id: "app",
        };
        assert_ne!(
            limit(&t, QuotaKind::Produce, ALICE_APP).unwrap().sensor,
            limit(&t, QuotaKind::Produce, bob).unwrap().sensor
        );
        // A client-id quota per client id, whoever the user.
        let t = table(&all_levels()[6..7]);
        assert_eq!(
            limit(&t, QuotaKind::Produce, ALICE_APP).unwrap().sensor,
            limit(&t, QuotaKind::Produce, bob).unwrap().sensor
        );
    }

    #[test]
    fn an_ips_own_connection_rate_comes_before_the_default() {
        let ip: std::net::IpAddr = [10, 0, 0, 1].into();
        let mut t = QuotaTable::new();
        let set = |t: &mut QuotaTable, n: EntityName, v: f64| {
            let e = QuotaEntity {
                ip: Some(n),
                ..QuotaEntity::default()
            };
            t.entry(e)
                .or_default()
                .insert("connection_creation_rate".into(), v);
        };
        assert_eq!(ip_limit(&t, ip), None);
        set(&mut t, EntityName::Default, 5.0);
        assert_eq!(ip_limit(&t, ip).unwrap().bound, 5.0);
        set(&mut t, EntityName::Named("10.0.0.1".into()), 2.0);
        assert_eq!(ip_limit(&t, ip).unwrap().bound, 2.0);
        assert_eq!(ip_limit(&t, [10, 0, 0, 2].into()).unwrap().bound, 5.0);
    }

    #[test]
    fn request_time_throttle_is_bounded_by_one_window() {
        let m = QuotaManager::new(11, 1);
        let l = Limit {
            bound: 1.0,
            sensor: ("u".into(), "c".into()),
        };
        assert_eq!(m.record_at(QuotaKind::Request, &l, 1000.0, 0), 1000);
        assert!(m.record_at(QuotaKind::Produce, &l, 1000.0, 0) > 1000);
    }

    #[test]
    fn idle_sensors_are_swept() {
        let m = QuotaManager::new(11, 1);
        for i in 0..SWEEP_AT {
            let l = Limit {
                bound: 1e9,
                sensor: (String::new(), i.to_string()),
            };
            m.record_at(QuotaKind::Produce, &l, 1.0, 0);
        }
        let l = Limit {
            bound: 1e9,
            sensor: (String::new(), "late".into()),
        };
        m.record_at(QuotaKind::Produce, &l, 1.0, 60_000);
        assert_eq!(m.sensors[0].rates.len(), 1);
    }
}
