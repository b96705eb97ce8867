//! Client quotas as configured (KIP-55, KIP-257, KIP-546): which entity —
//! a user, a client id, both, or an IP — has which quota values. The
//! values are kept here, in memory and in the metadata log (`quota`
//! records, see `mod.rs`); enforcing them is `crate::quota`'s job, which
//! reads them through [`ClientQuotaStore::with_quotas`].
//!
//! A metadata-log line (fields separated by single spaces):
//!
//! ```text
//! quota <key> <value | -> <component> [<component>]
//! ```
//!
//! where a component is `<type>=<pct-encoded name>` for a named entity and
//! `<type>` alone for the default entity of that type (Kafka's null name),
//! and `-` removes the key from that entity. Types are `user`, `client-id`
//! and `ip`. Example: `quota producer_byte_rate 1048576 user=alice client-id`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;

/// Kafka's quota config keys (`QuotaConfig`).
pub const PRODUCER_BYTE_RATE: &str = "producer_byte_rate";
pub const CONSUMER_BYTE_RATE: &str = "consumer_byte_rate";
pub const REQUEST_PERCENTAGE: &str = "request_percentage";
pub const CONTROLLER_MUTATION_RATE: &str = "controller_mutation_rate";
pub const CONNECTION_CREATION_RATE: &str = "connection_creation_rate";

/// Kafka's entity types (`ClientQuotaEntity`).
pub const USER: &str = "user";
pub const CLIENT_ID: &str = "client-id";
pub const IP: &str = "ip";

/// The quota kinds, each looked up with its own precedence (a user's
/// produce quota does not hide a client id's fetch quota). The first four
/// are per user / client id, the last per IP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaKind {
    Produce = 0,
    Fetch = 1,
    Request = 2,
    ControllerMutation = 3,
    ConnectionCreation = 4,
}

impl QuotaKind {
    pub const ALL: [QuotaKind; 5] = [
        QuotaKind::Produce,
        QuotaKind::Fetch,
        QuotaKind::Request,
        QuotaKind::ControllerMutation,
        QuotaKind::ConnectionCreation,
    ];

    /// The config key of this kind.
    pub fn key(self) -> &'static str {
        match self {
            QuotaKind::Produce => PRODUCER_BYTE_RATE,
            QuotaKind::Fetch => CONSUMER_BYTE_RATE,
            QuotaKind::Request => REQUEST_PERCENTAGE,
            QuotaKind::ControllerMutation => CONTROLLER_MUTATION_RATE,
            QuotaKind::ConnectionCreation => CONNECTION_CREATION_RATE,
        }
    }

    fn of_key(key: &str) -> Option<QuotaKind> {
        QuotaKind::ALL.into_iter().find(|k| k.key() == key)
    }
}

/// One component's name: a specific entity, or the default one (null).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EntityName {
    Default,
    Named(String),
}

impl EntityName {
    /// Kafka's wire form: null for the default entity.
    pub fn as_wire(&self) -> Option<&str> {
        match self {
            EntityName::Default => None,
            EntityName::Named(n) => Some(n),
        }
    }
}

/// A quota entity: which of user, client id and IP it names.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QuotaEntity {
    pub user: Option<EntityName>,
    pub client_id: Option<EntityName>,
    pub ip: Option<EntityName>,
}

impl QuotaEntity {
    /// (type, name) pairs in Kafka's order of types.
    pub fn components(&self) -> impl Iterator<Item = (&'static str, &EntityName)> {
        [
            (USER, &self.user),
            (CLIENT_ID, &self.client_id),
            (IP, &self.ip),
        ]
        .into_iter()
        .filter_map(|(t, n)| n.as_ref().map(|n| (t, n)))
    }

    /// The component of `entity_type`, if it is one of the three.
    pub fn component_mut(&mut self, entity_type: &str) -> Option<&mut Option<EntityName>> {
        match entity_type {
            USER => Some(&mut self.user),
            CLIENT_ID => Some(&mut self.client_id),
            IP => Some(&mut self.ip),
            _ => None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.components().next().is_none()
    }
}

/// As Kafka writes a `ClientQuotaEntity` in its messages.
impl fmt::Display for QuotaEntity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientQuotaEntity(entries={")?;
        for (i, (t, n)) in self.components().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{t}={}", n.as_wire().unwrap_or("null"))?;
        }
        f.write_str("})")
    }
}

/// One change: `key` of `entity` set to `value`, or removed (None).
#[derive(Debug, Clone, PartialEq)]
pub struct QuotaChange {
    pub entity: QuotaEntity,
    pub key: String,
    pub value: Option<f64>,
}

/// Every entity's quota values.
pub type QuotaTable = BTreeMap<QuotaEntity, BTreeMap<String, f64>>;

/// The configured quotas, shared by every connection.
#[derive(Debug, Default)]
pub struct ClientQuotaStore {
    table: RwLock<QuotaTable>,
    /// Per [`QuotaKind`]: does any entity set that key? Read on every
    /// request without a lock, so that a broker without quotas does no
    /// quota work at all.
    enabled: [AtomicBool; 5],
}

impl ClientQuotaStore {
    /// Whether any entity has a quota of `kind`.
    pub fn enabled(&self, kind: QuotaKind) -> bool {
        self.enabled[kind as usize].load(Ordering::Relaxed)
    }

    /// Whether any quota of a kind that is enforced per request is set.
    pub fn any_enabled(&self) -> bool {
        [QuotaKind::Produce, QuotaKind::Fetch, QuotaKind::Request]
            .into_iter()
            .any(|k| self.enabled(k))
    }

    /// Reads the table.
    pub fn with_quotas<R>(&self, f: impl FnOnce(&QuotaTable) -> R) -> R {
        let table = self.table.read().unwrap_or_else(|e| e.into_inner());
        f(&table)
    }

    /// Applies changes in memory (after they are in the log, or at replay).
    pub(super) fn apply(&self, changes: &[QuotaChange]) {
        let mut table = self.table.write().unwrap_or_else(|e| e.into_inner());
        for c in changes {
            match c.value {
                Some(v) => {
                    table
                        .entry(c.entity.clone())
                        .or_default()
                        .insert(c.key.clone(), v);
                }
                None => {
                    if let Some(values) = table.get_mut(&c.entity) {
                        values.remove(&c.key);
                        if values.is_empty() {
                            table.remove(&c.entity);
                        }
                    }
                }
            }
        }
        for kind in QuotaKind::ALL {
            let any = table.values().any(|v| v.contains_key(kind.key()));
            self.enabled[kind as usize].store(any, Ordering::Relaxed);
        }
    }
}

/// Whether `key` is a quota key Kafka knows (any entity type).
pub fn is_known_key(key: &str) -> bool {
    QuotaKind::of_key(key).is_some()
}

pub(super) fn format_change(c: &QuotaChange) -> String {
    let mut line = format!("quota {} ", super::pct_encode(&c.key));
    match c.value {
        Some(v) => line.push_str(&v.to_string()),
        None => line.push('-'),
    }
    for (t, n) in c.entity.components() {
        line.push(' ');
        line.push_str(t);
        if let EntityName::Named(name) = n {
            line.push('=');
            line.push_str(&super::pct_encode(name));
        }
    }
    line.push('\n');
    line
}

/// Parses the fields after `quota`; None for anything malformed (the
/// file is not trusted).
pub(super) fn parse_change<'a>(mut parts: impl Iterator<Item = &'a str>) -> Option<QuotaChange> {
    let key = super::pct_decode(parts.next()?)?;
    let value = match parts.next()? {
        "-" => None,
        v => {
            let v: f64 = v.parse().ok()?;
            if !(v.is_finite() && v > 0.0) {
                return None;
            }
            Some(v)
        }
    };
    let mut entity = QuotaEntity::default();
    for part in parts {
        let (t, name) = match part.split_once('=') {
            Some((t, n)) => (t, EntityName::Named(super::pct_decode(n)?)),
            None => (part, EntityName::Default),
        };
        let slot = entity.component_mut(t)?;
        if slot.is_some() || name == EntityName::Named(String::new()) {
            return None;
        }
        *slot = Some(name);
    }
    if entity.is_empty() || !is_known_key(&key) {
        return None;
    }
    Some(QuotaChange { entity, key, value })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(s: &str) -> Option<EntityName> {
        Some(EntityName::Named(s.to_string()))
    }

    #[test]
    fn records_round_trip() {
        let changes = [
            QuotaChange {
                entity: QuotaEntity {
                    user: named("al ice=,x"),
                    client_id: Some(EntityName::Default),
                    ip: None,
                },
                key: PRODUCER_BYTE_RATE.into(),
                value: Some(1_048_576.0),
            },
            QuotaChange {
                entity: QuotaEntity {
                    ip: named("10.0.0.1"),
                    ..QuotaEntity::default()
                },
                key: CONNECTION_CREATION_RATE.into(),
                value: None,
            },
            QuotaChange {
                entity: QuotaEntity {
                    client_id: named("c"),
                    ..QuotaEntity::default()
                },
                key: REQUEST_PERCENTAGE.into(),
                value: Some(12.5),
            },
        ];
        for c in changes {
            let line = format_change(&c);
            let mut parts = line.trim_end().split(' ');
            assert_eq!(parts.next(), Some("quota"));
            assert_eq!(parse_change(parts), Some(c));
        }
    }

    #[test]
    fn malformed_records_are_refused() {
        for line in [
            "producer_byte_rate 1",
            "producer_byte_rate 0 user",
            "producer_byte_rate NaN user",
            "producer_byte_rate 1 user user=a",
            "producer_byte_rate 1 group=a",
            "no_such_key 1 user",
            "producer_byte_rate 1 user=",
        ] {
            assert_eq!(parse_change(line.split(' ')), None, "{line}");
        }
    }
}
