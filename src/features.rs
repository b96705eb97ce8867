//! Feature levels (KIP-584, KRaft): what ApiVersions (v3+) reports as
//! supported and finalized, and UpdateFeatures' checks.
//!
//! Sluice reports only levels whose behaviour it has. Each feature's
//! supported range is the one level Sluice implements, and that level is
//! the finalized one:
//!
//! | feature | level | why |
//! |---|---|---|
//! | `metadata.version` | 27 (4.1-IV1) | the Kafka release whose API versions Sluice advertises (Produce v13, Fetch v18 are 4.1's) |
//! | `kraft.version` | 0 | a static quorum: this node alone, no KIP-853 voter changes |
//! | `transaction.version` | 0 | `__transaction_state` values are written in v0 (level 1 writes flexible v1); KIP-890 part 2 (level 2) is not served |
//! | `group.version` | 0 | the KIP-848 consumer protocol is not served |
//! | `share.version`, `streams.version`, `eligible.leader.replicas.version` | 0 | share groups, KIP-1071 streams groups and ELR are not served |
//!
//! Because every supported range is a single level, no UpdateFeatures can
//! change anything: an update to the current level is a no-op, and every
//! other level is outside what this node supports, which Kafka's controller
//! refuses with INVALID_UPDATE_VERSION before looking at anything else. So
//! there is no finalized-feature state to store: the levels are constants,
//! the same after every restart, and [`FINALIZED_FEATURES_EPOCH`] never
//! moves.

use crate::error::ClusterError;

/// One feature this broker knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feature {
    pub name: &'static str,
    pub min_supported: i16,
    pub max_supported: i16,
    /// The finalized level (0 means "not enabled"; Kafka lists only levels
    /// above 0 as finalized).
    pub finalized: i16,
}

/// `metadata.version` 4.1-IV1.
pub const METADATA_VERSION_4_1_IV1: i16 = 27;

/// Every feature of a Kafka 4.1 broker, at the levels Sluice implements.
pub const FEATURES: &[Feature] = &[
    Feature {
        name: "metadata.version",
        min_supported: METADATA_VERSION_4_1_IV1,
        max_supported: METADATA_VERSION_4_1_IV1,
        finalized: METADATA_VERSION_4_1_IV1,
    },
    level0("kraft.version"),
    level0("transaction.version"),
    level0("group.version"),
    level0("eligible.leader.replicas.version"),
    level0("share.version"),
    level0("streams.version"),
];

const fn level0(name: &'static str) -> Feature {
    Feature {
        name,
        min_supported: 0,
        max_supported: 0,
        finalized: 0,
    }
}

/// The epoch of the finalized levels: they never change (see above).
pub const FINALIZED_FEATURES_EPOCH: i64 = 0;

/// UpdateFeatures' upgrade types (v1+; v0's `allow_downgrade` maps to
/// upgrade / safe downgrade).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpgradeType {
    Upgrade,
    SafeDowngrade,
    UnsafeDowngrade,
    Unknown,
}

impl UpgradeType {
    pub fn from_code(code: i8) -> Self {
        match code {
            1 => UpgradeType::Upgrade,
            2 => UpgradeType::SafeDowngrade,
            3 => UpgradeType::UnsafeDowngrade,
            _ => UpgradeType::Unknown,
        }
    }
}

/// Checks a whole UpdateFeatures request as Kafka's controller does: the
/// first failing update fails the request (nothing is applied). With every
/// check passed there is nothing to apply either (see the module
/// documentation), so this is the whole of UpdateFeatures.
pub fn check_updates(
    node_id: i32,
    updates: &[(&str, i16, UpgradeType)],
) -> Result<(), ClusterError> {
    for &(name, level, upgrade_type) in updates {
        check_update(node_id, name, level, upgrade_type).map_err(|reason| {
            ClusterError::InvalidUpdateVersion(format!(
                "The update failed for all features since the following feature had an error: \
                 Invalid update version {level} for feature {name}. {reason}"
            ))
        })?;
    }
    Ok(())
}

fn check_update(
    node_id: i32,
    name: &str,
    level: i16,
    upgrade_type: UpgradeType,
) -> Result<(), String> {
    if upgrade_type == UpgradeType::Unknown {
        return Err("The controller does not support the given upgrade type.".into());
    }
    if level < 0 {
        return Err("A feature version cannot be less than 0.".into());
    }
    let known = FEATURES.iter().find(|f| f.name == name);
    // An unknown feature is supported at 0 only ("disabled"), as in Kafka.
    let (min, max, current) = known.map_or((0, 0, 0), |f| {
        (f.min_supported, f.max_supported, f.finalized)
    });
    if level < min || level > max {
        return Err(if max == 0 {
            format!("Local controller {node_id} does not support this feature.")
        } else if min == max {
            format!("Local controller {node_id} only supports versions {min}")
        } else {
            format!("Local controller {node_id} only supports versions {min}-{max}")
        });
    }
    if known.is_none() {
        return Err(format!("No feature with name {name}"));
    }
    if level < current && upgrade_type == UpgradeType::Upgrade {
        return Err(
            "Can't downgrade the version of this feature without setting the upgrade \
                    type to either safe or unsafe downgrade."
                .into(),
        );
    }
    if level > current && upgrade_type != UpgradeType::Upgrade {
        return Err("Can't downgrade to a newer version.".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_levels_are_accepted_as_no_ops() {
        let updates: Vec<(&str, i16, UpgradeType)> = FEATURES
            .iter()
            .map(|f| (f.name, f.finalized, UpgradeType::Upgrade))
            .collect();
        assert_eq!(check_updates(1, &updates), Ok(()));
    }

    #[test]
    fn any_other_level_is_invalid_update_version() {
        for (name, level, t) in [
            ("group.version", 1, UpgradeType::Upgrade),
            ("transaction.version", 2, UpgradeType::Upgrade),
            ("metadata.version", 26, UpgradeType::SafeDowngrade),
            ("metadata.version", 28, UpgradeType::Upgrade),
            ("kraft.version", -1, UpgradeType::Upgrade),
            ("group.version", 0, UpgradeType::Unknown),
            ("no.such.feature", 0, UpgradeType::Upgrade),
            ("no.such.feature", 1, UpgradeType::Upgrade),
        ] {
            let e = check_updates(1, &[(name, level, t)]).unwrap_err();
            assert!(
                matches!(e, ClusterError::InvalidUpdateVersion(_)),
                "{name} {level}: {e}"
            );
        }
    }

    #[test]
    fn one_bad_update_fails_them_all_with_kafkas_message() {
        let e = check_updates(
            1,
            &[
                ("metadata.version", 27, UpgradeType::Upgrade),
                ("group.version", 1, UpgradeType::Upgrade),
            ],
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "The update failed for all features since the following feature had an error: \
             Invalid update version 1 for feature group.version. Local controller 1 does not \
             support this feature."
        );
    }
}
