//! DescribeClientQuotas' filter, as Kafka's `ClientQuotasImage.describe`:
//! each component names an entity type once and matches it EXACT (a
//! name), DEFAULT (the default entity) or ANY (any entity of that type,
//! Kafka's MATCH_TYPE_SPECIFIED); `strict` keeps only entities with no
//! other types. IP components cannot be combined with user or client id.

use std::collections::BTreeMap;

use crate::error::QuotaError;
use crate::metadata::client_quotas::{EntityName, QuotaEntity, QuotaTable, CLIENT_ID, IP, USER};

pub const MATCH_EXACT: i8 = 0;
pub const MATCH_DEFAULT: i8 = 1;
pub const MATCH_ANY: i8 = 2;

/// One entity's values, by key.
pub type QuotaValues = BTreeMap<String, f64>;

/// One component of the filter, off the wire.
#[derive(Debug, Clone, Copy)]
pub struct DescribeFilter<'a> {
    pub entity_type: &'a str,
    pub match_type: i8,
    pub name: Option<&'a str>,
}

enum Want {
    Exact(EntityName),
    Any,
}

/// The entities `filter` selects and their values, in entity order.
pub fn describe(
    table: &QuotaTable,
    filter: &[DescribeFilter<'_>],
    strict: bool,
) -> Result<Vec<(QuotaEntity, QuotaValues)>, QuotaError> {
    let invalid = |m: String| Err(QuotaError::InvalidRequest(m));
    let mut wants: Vec<(&str, Want)> = Vec::new();
    for c in filter {
        if c.entity_type.is_empty() {
            return invalid("Invalid empty entity type.".into());
        }
        if wants.iter().any(|(t, _)| *t == c.entity_type) {
            return invalid(format!(
                "Entity type {} cannot appear more than once in the filter.",
                c.entity_type
            ));
        }
        if ![USER, CLIENT_ID, IP].contains(&c.entity_type) {
            return Err(QuotaError::UnsupportedVersion(format!(
                "Unsupported entity type {}",
                c.entity_type
            )));
        }
        let want =
            match (c.match_type, c.name) {
                (MATCH_EXACT, Some(n)) => Want::Exact(EntityName::Named(n.to_string())),
                (MATCH_EXACT, None) => {
                    return invalid(
                        "Request specified MATCH_TYPE_EXACT, but set match string to null.".into(),
                    )
                }
                (MATCH_DEFAULT, None) => Want::Exact(EntityName::Default),
                (MATCH_DEFAULT, Some(_)) => {
                    return invalid(
                        "Request specified MATCH_TYPE_DEFAULT, but also specified a match string."
                            .into(),
                    )
                }
                (MATCH_ANY, None) => Want::Any,
                (MATCH_ANY, Some(_)) => return invalid(
                    "Request specified MATCH_TYPE_SPECIFIED, but also specified a match string."
                        .into(),
                ),
                (other, _) => return invalid(format!("Unknown match type {other}")),
            };
        wants.push((c.entity_type, want));
    }
    let has = |t: &str| wants.iter().any(|(w, _)| *w == t);
    if has(IP) && (has(USER) || has(CLIENT_ID)) {
        return invalid(
            "Invalid entity filter component combination. IP filter component should not be used with user or clientId filter component."
                .into(),
        );
    }
    Ok(table
        .iter()
        .filter(|(entity, _)| {
            if strict && entity.components().count() != wants.len() {
                return false;
            }
            wants.iter().all(|(t, want)| {
                let mut e = (*entity).clone();
                let found = e.component_mut(t).and_then(|slot| slot.take());
                match (want, found) {
                    (_, None) => false,
                    (Want::Any, Some(_)) => true,
                    (Want::Exact(name), Some(found)) => *name == found,
                }
            })
        })
        .map(|(e, v)| (e.clone(), v.clone()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> QuotaTable {
        let mut t = QuotaTable::new();
        let named = |s: &str| Some(EntityName::Named(s.into()));
        for entity in [
            QuotaEntity {
                user: named("alice"),
                ..Default::default()
            },
            QuotaEntity {
                user: named("alice"),
                client_id: named("app"),
                ip: None,
            },
            QuotaEntity {
                user: Some(EntityName::Default),
                ..Default::default()
            },
            QuotaEntity {
                client_id: named("app"),
                ..Default::default()
            },
        ] {
            t.entry(entity)
                .or_default()
                .insert("producer_byte_rate".into(), 1.0);
        }
        t
    }

    fn count(filter: &[DescribeFilter<'_>], strict: bool) -> usize {
        describe(&table(), filter, strict).unwrap().len()
    }

    fn c<'a>(entity_type: &'a str, match_type: i8, name: Option<&'a str>) -> DescribeFilter<'a> {
        DescribeFilter {
            entity_type,
            match_type,
            name,
        }
    }

    #[test]
    fn matching() {
        assert_eq!(count(&[], false), 4);
        assert_eq!(count(&[], true), 0);
        assert_eq!(count(&[c(USER, MATCH_EXACT, Some("alice"))], false), 2);
        assert_eq!(count(&[c(USER, MATCH_EXACT, Some("alice"))], true), 1);
        assert_eq!(count(&[c(USER, MATCH_DEFAULT, None)], false), 1);
        assert_eq!(count(&[c(USER, MATCH_ANY, None)], false), 3);
        assert_eq!(count(&[c(CLIENT_ID, MATCH_ANY, None)], true), 1);
        assert_eq!(
            count(
                &[
                    c(USER, MATCH_ANY, None),
                    c(CLIENT_ID, MATCH_EXACT, Some("app"))
                ],
                true
            ),
            1
        );
    }

    #[test]
    fn refusals() {
        let err = |f: &[DescribeFilter<'_>]| describe(&table(), f, false).unwrap_err().to_string();
        assert_eq!(err(&[c("", MATCH_ANY, None)]), "Invalid empty entity type.");
        assert_eq!(
            err(&[c(USER, MATCH_ANY, None), c(USER, MATCH_DEFAULT, None)]),
            "Entity type user cannot appear more than once in the filter."
        );
        assert!(matches!(
            describe(&table(), &[c("group", MATCH_ANY, None)], false),
            Err(QuotaError::UnsupportedVersion(_))
        ));
        assert_eq!(
            err(&[c(USER, MATCH_EXACT, None)]),
            "Request specified MATCH_TYPE_EXACT, but set match string to null."
        );
        assert_eq!(err(&[c(USER, 7, None)]), "Unknown match type 7");
        assert!(err(&[c(IP, MATCH_ANY, None), c(USER, MATCH_ANY, None)])
            .starts_with("Invalid entity filter"));
    }
}
