//! AlterClientQuotas' checks, in the order and with the messages of
//! Kafka's `ClientQuotaControlManager`: the entity (known types, each
//! once, no empty name, IP alone), then each op (known key for that
//! entity, a value above 0, whole numbers for the integer keys). An entity
//! whose every op passes gets the changes that differ from what is set.

use std::collections::HashSet;
use std::net::IpAddr;

use crate::error::QuotaError;
use crate::metadata::client_quotas::{
    EntityName, QuotaChange, QuotaEntity, QuotaTable, CLIENT_ID, CONNECTION_CREATION_RATE,
    CONSUMER_BYTE_RATE, CONTROLLER_MUTATION_RATE, IP, PRODUCER_BYTE_RATE, REQUEST_PERCENTAGE, USER,
};

/// One entry of an AlterClientQuotas request, off the wire.
#[derive(Debug, Clone)]
pub struct AlterEntry<'a> {
    /// (entity type, name; None for the default entity)
    pub entity: Vec<(&'a str, Option<&'a str>)>,
    /// (key, value; None to remove the key)
    pub ops: Vec<(&'a str, Option<f64>)>,
}

#[derive(Clone, Copy)]
enum ValueType {
    Long,
    Int,
    Double,
}

/// The keys an entity of users and client ids may set.
const USER_AND_CLIENT_KEYS: &[(&str, ValueType)] = &[
    (PRODUCER_BYTE_RATE, ValueType::Long),
    (CONSUMER_BYTE_RATE, ValueType::Long),
    (REQUEST_PERCENTAGE, ValueType::Double),
    (CONTROLLER_MUTATION_RATE, ValueType::Double),
];

/// The keys an IP entity may set.
const IP_KEYS: &[(&str, ValueType)] = &[(CONNECTION_CREATION_RATE, ValueType::Int)];

/// The entity as Kafka prints the request's one in its messages.
fn describe_raw(entity: &[(&str, Option<&str>)]) -> String {
    let parts: Vec<String> = entity
        .iter()
        .map(|(t, n)| format!("{t}={}", n.unwrap_or("null")))
        .collect();
    format!("ClientQuotaEntity(entries={{{}}})", parts.join(", "))
}

/// The entity `entry` names and the changes it makes against `table`, or
/// why it is refused (INVALID_REQUEST).
pub fn alteration(
    table: &QuotaTable,
    entry: &AlterEntry<'_>,
) -> Result<(QuotaEntity, Vec<QuotaChange>), QuotaError> {
    let invalid = |m: String| Err(QuotaError::InvalidRequest(m));
    let mut keys_seen = HashSet::with_capacity(entry.ops.len());
    for (key, _) in &entry.ops {
        if !keys_seen.insert(*key) {
            return invalid(format!(
                "Duplicate quota key {key} not updating quota for this entity {}",
                describe_raw(&entry.entity)
            ));
        }
    }
    let mut entity = validate_entity(&entry.entity)?;
    let keys = if let Some(ip) = &mut entity.ip {
        if entity.user.is_some() || entity.client_id.is_some() {
            return invalid(
                "Invalid quota entity combination, IP entity should not be combined with User or ClientId"
                    .into(),
            );
        }
        if let EntityName::Named(name) = ip {
            match name.parse::<IpAddr>() {
                // Kept in the form connections are matched by.
                Ok(addr) => *name = addr.to_string(),
                Err(_) => return invalid(format!("{name} is not a valid IP or resolvable host.")),
            }
        }
        IP_KEYS
    } else {
        USER_AND_CLIENT_KEYS
    };
    let current = table.get(&entity);
    let mut changes = Vec::new();
    for (key, value) in &entry.ops {
        let now = current.and_then(|c| c.get(*key)).copied();
        match value {
            None => {
                if now.is_some() {
                    changes.push(QuotaChange {
                        entity: entity.clone(),
                        key: key.to_string(),
                        value: None,
                    });
                }
            }
            Some(v) => {
                validate_value(keys, key, *v)?;
                if now != Some(*v) {
                    changes.push(QuotaChange {
                        entity: entity.clone(),
                        key: key.to_string(),
                        value: Some(*v),
                    });
                }
            }
        }
    }
    Ok((entity, changes))
}

fn validate_entity(components: &[(&str, Option<&str>)]) -> Result<QuotaEntity, QuotaError> {
    let invalid = |m: String| Err(QuotaError::InvalidRequest(m));
    if components.is_empty() {
        return invalid("Invalid empty client quota entity".into());
    }
    let mut entity = QuotaEntity::default();
    for (entity_type, name) in components {
        let Some(slot) = entity.component_mut(entity_type) else {
            return invalid(format!("Unhandled client quota entity type: {entity_type}"));
        };
        if slot.is_some() {
            return invalid(format!(
                "Invalid client quota entity, duplicate entity entry {entity_type}"
            ));
        }
        *slot = Some(match name {
            None => EntityName::Default,
            Some("") => return invalid(format!("Empty {entity_type} not supported")),
            Some(n) => EntityName::Named(n.to_string()),
        });
    }
    debug_assert!(components
        .iter()
        .all(|(t, _)| [USER, CLIENT_ID, IP].contains(t)));
    Ok(entity)
}

fn validate_value(keys: &[(&str, ValueType)], key: &str, value: f64) -> Result<(), QuotaError> {
    let invalid = |m: String| Err(QuotaError::InvalidRequest(m));
    let Some((_, ty)) = keys.iter().find(|(k, _)| *k == key) else {
        return invalid(format!("Invalid configuration key {key}"));
    };
    // NaN is not above 0 either.
    if value.is_nan() || value <= 0.0 {
        return invalid(format!("Quota {key} must be greater than 0"));
    }
    let too_large = match ty {
        ValueType::Double => return Ok(()),
        ValueType::Long => (value >= 9.223_372_036_854_776e18).then_some("a LONG"),
        ValueType::Int => (value > f64::from(i32::MAX)).then_some("an INT"),
    };
    if let Some(what) = too_large {
        return invalid(format!("Proposed value for {key} is too large for {what}."));
    }
    if (value % 1.0).abs() > 1e-6 {
        return invalid(format!("{key} cannot be a fractional value."));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(entry: AlterEntry<'_>) -> String {
        match alteration(&QuotaTable::new(), &entry) {
            Err(QuotaError::InvalidRequest(m)) => m,
            other => panic!("{other:?}"),
        }
    }

    fn entry<'a>(
        entity: &[(&'a str, Option<&'a str>)],
        ops: &[(&'a str, Option<f64>)],
    ) -> AlterEntry<'a> {
        AlterEntry {
            entity: entity.to_vec(),
            ops: ops.to_vec(),
        }
    }

    #[test]
    fn kafkas_refusals() {
        let rate = [(PRODUCER_BYTE_RATE, Some(1.0))];
        let cases: Vec<(AlterEntry<'_>, &str)> = vec![
            (entry(&[], &rate), "Invalid empty client quota entity"),
            (
                entry(&[("group", Some("g"))], &rate),
                "Unhandled client quota entity type: group",
            ),
            (
                entry(&[("user", Some("a")), ("user", None)], &rate),
                "Invalid client quota entity, duplicate entity entry user",
            ),
            (entry(&[("user", Some(""))], &rate), "Empty user not supported"),
            (
                entry(&[("ip", Some("1.2.3.4")), ("user", None)], &rate),
                "Invalid quota entity combination, IP entity should not be combined with User or ClientId",
            ),
            (
                entry(&[("ip", Some("nowhere"))], &[(CONNECTION_CREATION_RATE, Some(1.0))]),
                "nowhere is not a valid IP or resolvable host.",
            ),
            (
                entry(&[("user", None)], &[("bogus", Some(1.0))]),
                "Invalid configuration key bogus",
            ),
            (
                entry(&[("ip", None)], &rate),
                "Invalid configuration key producer_byte_rate",
            ),
            (
                entry(&[("user", None)], &[(PRODUCER_BYTE_RATE, Some(0.0))]),
                "Quota producer_byte_rate must be greater than 0",
            ),
            (
                entry(&[("user", None)], &[(REQUEST_PERCENTAGE, Some(f64::NAN))]),
                "Quota request_percentage must be greater than 0",
            ),
            (
                entry(&[("user", None)], &[(PRODUCER_BYTE_RATE, Some(1.5))]),
                "producer_byte_rate cannot be a fractional value.",
            ),
            (
                entry(&[("user", None)], &[(CONSUMER_BYTE_RATE, Some(1e19))]),
                "Proposed value for consumer_byte_rate is too large for a LONG.",
            ),
            (
                entry(&[("ip", None)], &[(CONNECTION_CREATION_RATE, Some(3e9))]),
                "Proposed value for connection_creation_rate is too large for an INT.",
            ),
            (
                entry(
                    &[("client-id", Some("c"))],
                    &[(PRODUCER_BYTE_RATE, Some(1.0)), (PRODUCER_BYTE_RATE, None)],
                ),
                "Duplicate quota key producer_byte_rate not updating quota for this entity ClientQuotaEntity(entries={client-id=c})",
            ),
        ];
        for (e, message) in cases {
            assert_eq!(refused(e), message);
        }
    }

    #[test]
    fn only_differences_are_changes() {
        let e = entry(
            &[("user", Some("alice")), ("client-id", None)],
            &[
                (PRODUCER_BYTE_RATE, Some(1024.0)),
                (REQUEST_PERCENTAGE, Some(12.5)),
                (CONSUMER_BYTE_RATE, None),
            ],
        );
        let (entity, changes) = alteration(&QuotaTable::new(), &e).unwrap();
        assert_eq!(changes.len(), 2);
        let mut table = QuotaTable::new();
        table
            .entry(entity.clone())
            .or_default()
            .insert(PRODUCER_BYTE_RATE.into(), 1024.0);
        let (_, changes) = alteration(&table, &e).unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].key, REQUEST_PERCENTAGE);
        let remove = entry(
            &[("user", Some("alice")), ("client-id", None)],
            &[(PRODUCER_BYTE_RATE, None)],
        );
        let (_, changes) = alteration(&table, &remove).unwrap();
        assert_eq!(changes[0].value, None);
    }
}
