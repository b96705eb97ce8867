//! The catalog of configs: every topic config Kafka 4.1 has, the group
//! configs of KIP-848 (consumer, share and streams groups), and how each
//! is validated, typed, documented and defaulted by broker configs.
//!
//! One entry per config ([`ConfigDef`]); validation, DescribeConfigs
//! (types, documentation, synonyms) and the effective value of a topic
//! config all read it. Values are checked as Kafka's `ConfigDef` checks them
//! and kept in Kafka's canonical text (a list as `a,b`, numbers trimmed).
//!
//! A topic config's default comes from the broker: its synonyms
//! ([`Synonym`], Kafka's `ServerTopicConfigSynonyms`, the primary first)
//! are broker configs, looked up in the dynamic per-node configs, then the
//! dynamic cluster default, then the broker's own options, then Kafka's
//! defaults of those broker configs; the first synonym present wins, in the
//! catalog's order (`log.retention.ms` over `.minutes` over `.hours`).

use std::collections::BTreeMap;

/// Kafka's config types, with DescribeConfigs v3+'s codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigType {
    Boolean = 1,
    String = 2,
    Int = 3,
    Long = 5,
    Double = 6,
    List = 7,
}

impl ConfigDef {
    /// DescribeConfigs' documentation: the line, and whether Sluice acts on it.
    pub fn documentation(&self) -> String {
        if self.applied {
            self.doc.to_string()
        } else {
            format!(
                "{} Sluice keeps this config without acting on it.",
                self.doc
            )
        }
    }
}

impl ConfigType {
    pub fn code(self) -> i8 {
        self as i8
    }
}

/// How a value is checked beyond its type (Kafka's validators).
#[derive(Debug, Clone, Copy)]
pub enum Check {
    /// Any value of the type.
    Any,
    /// A number at least this.
    AtLeast(i64),
    /// A number in this range, both ends included.
    Between(i64, i64),
    /// A double in `0..=1`.
    Ratio,
    /// One of these strings (case-sensitive, as Kafka's `in`).
    OneOf(&'static [&'static str]),
    /// A list whose items are each one of these.
    ListOf(&'static [&'static str]),
    /// `compression.gzip.level`: -1 (the codec's default) or 1–9.
    GzipLevel,
    /// `*.replication.throttled.replicas`: empty, `*`, or
    /// `partition:broker` pairs.
    ThrottledReplicas,
    /// `share.auto.offset.reset`: `latest`, `earliest` or
    /// `by_duration:<ISO-8601 duration>`.
    ShareOffsetReset,
    /// `false` only: the feature is not in Sluice (tiered storage).
    FalseOnly(&'static str),
}

/// A broker config that sets a topic config's default.
#[derive(Debug, Clone, Copy)]
pub struct Synonym {
    pub name: &'static str,
    /// Milliseconds per unit of this synonym (`log.retention.hours`:
    /// 3,600,000); 1 for a value in the topic config's own unit.
    pub unit_ms: i64,
    /// Kafka's default of this broker config (in its unit), if it has one.
    pub default: Option<&'static str>,
}

const fn syn(name: &'static str, default: Option<&'static str>) -> Synonym {
    Synonym {
        name,
        unit_ms: 1,
        default,
    }
}

const fn syn_in(name: &'static str, unit_ms: i64, default: Option<&'static str>) -> Synonym {
    Synonym {
        name,
        unit_ms,
        default,
    }
}

/// One config.
#[derive(Debug, Clone, Copy)]
pub struct ConfigDef {
    pub name: &'static str,
    pub ty: ConfigType,
    /// Kafka's default, in canonical text.
    pub default: &'static str,
    pub check: Check,
    /// Broker configs that give the default, the primary first.
    pub synonyms: &'static [Synonym],
    /// What it does, in a line (DescribeConfigs' documentation).
    pub doc: &'static str,
    /// Whether Sluice acts on it; the others are accepted, kept and shown
    /// (clients set them) without effect on one broker without replicas
    /// or tiered storage.
    pub applied: bool,
}

const MAX_LONG: &str = "9223372036854775807";
const HOUR_MS: i64 = 3_600_000;
const MINUTE_MS: i64 = 60_000;

macro_rules! def {
    ($name:expr, $ty:ident, $default:expr, $check:expr, [$($syn:expr),*], $applied:expr, $doc:expr) => {
        ConfigDef {
            name: $name,
            ty: ConfigType::$ty,
            default: $default,
            check: $check,
            synonyms: &[$($syn),*],
            doc: $doc,
            applied: $applied,
        }
    };
}

/// Every topic config of Kafka 4.1, by name.
pub static TOPIC_CONFIGS: &[ConfigDef] = &[
    def!("cleanup.policy", List, "delete", Check::ListOf(&["compact", "delete"]),
        [syn("log.cleanup.policy", Some("delete"))], true,
        "What happens to old segments: `delete` removes them past retention, `compact` keeps the latest record of each key; both may be given."),
    def!("compression.gzip.level", Int, "-1", Check::GzipLevel,
        [syn("compression.gzip.level", Some("-1"))], true,
        "The gzip level used when the topic's compression.type is gzip."),
    def!("compression.lz4.level", Int, "9", Check::Between(1, 17),
        [syn("compression.lz4.level", Some("9"))], true,
        "The lz4 level used when the topic's compression.type is lz4."),
    def!("compression.type", String, "producer",
        Check::OneOf(&["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"]),
        [syn("compression.type", Some("producer"))], true,
        "The codec batches are stored with; `producer` keeps the producer's codec."),
    def!("compression.zstd.level", Int, "3", Check::Between(-131_072, 22),
        [syn("compression.zstd.level", Some("3"))], true,
        "The zstd level used when the topic's compression.type is zstd."),
    def!("delete.retention.ms", Long, "86400000", Check::AtLeast(0),
        [syn("log.cleaner.delete.retention.ms", Some("86400000"))], true,
        "How long a tombstone is kept on a compacted topic after the cleaner reached it."),
    def!("file.delete.delay.ms", Long, "60000", Check::AtLeast(0),
        [syn("log.segment.delete.delay.ms", Some("60000"))], false,
        "How long a deleted segment's files are kept before removal."),
    def!("flush.messages", Long, MAX_LONG, Check::AtLeast(1),
        [syn("log.flush.interval.messages", Some(MAX_LONG))], false,
        "Records appended between forced fsyncs (Sluice fsyncs as --fsync says)."),
    def!("flush.ms", Long, MAX_LONG, Check::AtLeast(0),
        [syn("log.flush.interval.ms", None), syn("log.flush.scheduler.interval.ms", Some(MAX_LONG))], false,
        "Milliseconds between forced fsyncs (Sluice fsyncs as --fsync says)."),
    def!("follower.replication.throttled.replicas", List, "", Check::ThrottledReplicas,
        [], false,
        "Replicas whose follower replication is throttled (`partition:broker` pairs or `*`)."),
    def!("index.interval.bytes", Int, "4096", Check::AtLeast(0),
        [syn("log.index.interval.bytes", Some("4096"))], true,
        "Log bytes between two entries of the offset and time indexes."),
    def!("leader.replication.throttled.replicas", List, "", Check::ThrottledReplicas,
        [], false,
        "Replicas whose leader replication is throttled (`partition:broker` pairs or `*`)."),
    def!("local.retention.bytes", Long, "-2", Check::AtLeast(-2),
        [syn("log.local.retention.bytes", Some("-2"))], false,
        "Bytes kept locally with tiered storage (-2: retention.bytes)."),
    def!("local.retention.ms", Long, "-2", Check::AtLeast(-2),
        [syn("log.local.retention.ms", Some("-2"))], false,
        "Milliseconds kept locally with tiered storage (-2: retention.ms)."),
    def!("max.compaction.lag.ms", Long, MAX_LONG, Check::AtLeast(1),
        [syn("log.cleaner.max.compaction.lag.ms", Some(MAX_LONG))], true,
        "The longest a record may stay uncompacted on a compacted topic."),
    def!("max.message.bytes", Int, "1048588", Check::AtLeast(0),
        [syn("message.max.bytes", Some("1048588"))], true,
        "The largest record batch the topic accepts."),
    def!("message.timestamp.after.max.ms", Long, "3600000", Check::AtLeast(0),
        [syn("log.message.timestamp.after.max.ms", Some("3600000"))], true,
        "How far a CreateTime timestamp may lie ahead of the broker's clock."),
    def!("message.timestamp.before.max.ms", Long, MAX_LONG, Check::AtLeast(0),
        [syn("log.message.timestamp.before.max.ms", Some(MAX_LONG))], true,
        "How far a CreateTime timestamp may lie behind the broker's clock."),
    def!("message.timestamp.type", String, "CreateTime", Check::OneOf(&["CreateTime", "LogAppendTime"]),
        [syn("log.message.timestamp.type", Some("CreateTime"))], true,
        "CreateTime keeps the producer's timestamps; LogAppendTime stamps batches with the broker's time."),
    def!("min.cleanable.dirty.ratio", Double, "0.5", Check::Ratio,
        [syn("log.cleaner.min.cleanable.ratio", Some("0.5"))], true,
        "The share of a compacted log not yet cleaned above which the cleaner takes it."),
    def!("min.compaction.lag.ms", Long, "0", Check::AtLeast(0),
        [syn("log.cleaner.min.compaction.lag.ms", Some("0"))], true,
        "The shortest time a record stays uncompacted."),
    def!("min.insync.replicas", Int, "1", Check::AtLeast(1),
        [syn("min.insync.replicas", Some("1"))], false,
        "Replicas that must have a write for acks=all (one broker: always met)."),
    def!("preallocate", Boolean, "false", Check::Any,
        [syn("log.preallocate", Some("false"))], false,
        "Whether segment files are preallocated."),
    def!("remote.log.copy.disable", Boolean, "false", Check::Any, [], false,
        "Stops copying segments to tiered storage."),
    def!("remote.log.delete.on.disable", Boolean, "false", Check::Any, [], false,
        "Deletes tiered data when tiered storage is turned off."),
    def!("remote.storage.enable", Boolean, "false",
        Check::FalseOnly("Tiered Storage functionality is disabled in the broker."), [], false,
        "Tiered storage for the topic (Sluice has none)."),
    def!("retention.bytes", Long, "-1", Check::Any,
        [syn("log.retention.bytes", Some("-1"))], true,
        "Bytes a partition keeps before its oldest segments are deleted (-1: no limit)."),
    def!("retention.ms", Long, "604800000", Check::AtLeast(-1),
        [syn("log.retention.ms", None), syn_in("log.retention.minutes", MINUTE_MS, None),
         syn_in("log.retention.hours", HOUR_MS, Some("168"))], true,
        "How long a segment is kept after its newest record (-1: forever)."),
    def!("segment.bytes", Int, "1073741824", Check::AtLeast(14),
        [syn("log.segment.bytes", Some("1073741824"))], true,
        "The size at which the active segment is rolled."),
    def!("segment.index.bytes", Int, "10485760", Check::AtLeast(4),
        [syn("log.index.size.max.bytes", Some("10485760"))], false,
        "The size of a segment's index files."),
    def!("segment.jitter.ms", Long, "0", Check::AtLeast(0),
        [syn("log.roll.jitter.ms", None), syn_in("log.roll.jitter.hours", HOUR_MS, Some("0"))], false,
        "Random time taken off segment.ms so that segments do not roll together."),
    def!("segment.ms", Long, "604800000", Check::AtLeast(1),
        [syn("log.roll.ms", None), syn_in("log.roll.hours", HOUR_MS, Some("168"))], true,
        "The age at which the active segment is rolled."),
    def!("unclean.leader.election.enable", Boolean, "false", Check::Any,
        [syn("unclean.leader.election.enable", Some("false"))], false,
        "Whether a replica out of sync may become leader (one broker: no effect)."),
];

/// The group configs of Kafka 4.1 (`GroupConfig`), set per group id; the
/// ranges are the broker's bounds at Kafka's defaults
/// (`group.consumer.min.session.timeout.ms` and the like).
pub static GROUP_CONFIGS: &[ConfigDef] = &[
    def!(
        "consumer.heartbeat.interval.ms",
        Int,
        "5000",
        Check::Between(5_000, 15_000),
        [],
        false,
        "Heartbeat interval of the group's consumer-protocol members (KIP-848)."
    ),
    def!(
        "consumer.session.timeout.ms",
        Int,
        "45000",
        Check::Between(45_000, 60_000),
        [],
        false,
        "Session timeout of the group's consumer-protocol members (KIP-848)."
    ),
    def!(
        "share.auto.offset.reset",
        String,
        "latest",
        Check::ShareOffsetReset,
        [],
        false,
        "Where a share group starts without a committed position."
    ),
    def!(
        "share.heartbeat.interval.ms",
        Int,
        "5000",
        Check::Between(5_000, 15_000),
        [],
        false,
        "Heartbeat interval of the share group's members."
    ),
    def!(
        "share.isolation.level",
        String,
        "read_uncommitted",
        Check::OneOf(&["read_committed", "read_uncommitted"]),
        [],
        false,
        "Which transactional records a share group reads."
    ),
    def!(
        "share.record.lock.duration.ms",
        Int,
        "30000",
        Check::Between(15_000, 60_000),
        [],
        false,
        "How long a share group's member holds a record it was given."
    ),
    def!(
        "share.session.timeout.ms",
        Int,
        "45000",
        Check::Between(45_000, 60_000),
        [],
        false,
        "Session timeout of the share group's members."
    ),
    def!(
        "streams.heartbeat.interval.ms",
        Int,
        "5000",
        Check::Between(5_000, 15_000),
        [],
        false,
        "Heartbeat interval of the streams group's members (KIP-1071)."
    ),
    def!(
        "streams.num.standby.replicas",
        Int,
        "0",
        Check::Between(0, 2),
        [],
        false,
        "Standby replicas of each task of the streams group."
    ),
    def!(
        "streams.session.timeout.ms",
        Int,
        "45000",
        Check::Between(45_000, 60_000),
        [],
        false,
        "Session timeout of the streams group's members (KIP-1071)."
    ),
];

pub fn topic_def(name: &str) -> Option<&'static ConfigDef> {
    TOPIC_CONFIGS.iter().find(|d| d.name == name)
}

pub fn group_def(name: &str) -> Option<&'static ConfigDef> {
    GROUP_CONFIGS.iter().find(|d| d.name == name)
}

/// The topic config a broker config is a synonym of, with the synonym.
pub fn topic_def_of_broker_config(name: &str) -> Option<(&'static ConfigDef, &'static Synonym)> {
    TOPIC_CONFIGS
        .iter()
        .find_map(|d| d.synonyms.iter().find(|s| s.name == name).map(|s| (d, s)))
}

/// Checks `value` for `def`; returns it in canonical text.
pub fn check_value(def: &ConfigDef, value: &str) -> Result<String, String> {
    let bad = |why: &str| {
        format!(
            "Invalid value {value} for configuration {}: {why}",
            def.name
        )
    };
    let trimmed = value.trim();
    let number = |min: i64, max: i64| -> Result<i64, String> {
        let v: i64 = trimmed.parse().map_err(|_| bad("not a number"))?;
        if v < min || v > max {
            return Err(bad("out of range"));
        }
        Ok(v)
    };
    let (type_min, type_max) = match def.ty {
        ConfigType::Int => (i64::from(i32::MIN), i64::from(i32::MAX)),
        _ => (i64::MIN, i64::MAX),
    };
    match def.ty {
        ConfigType::Boolean => {
            let v = match trimmed.to_ascii_lowercase().as_str() {
                "true" => true,
                "false" => false,
                _ => return Err(bad("Expected value to be either true or false")),
            };
            if let Check::FalseOnly(why) = def.check {
                if v {
                    return Err(why.to_string());
                }
            }
            Ok(v.to_string())
        }
        ConfigType::Int | ConfigType::Long => {
            let v = number(type_min, type_max)?;
            let ok = match def.check {
                Check::AtLeast(min) => v >= min,
                Check::Between(min, max) => (min..=max).contains(&v),
                Check::GzipLevel => v == -1 || (1..=9).contains(&v),
                _ => true,
            };
            if !ok {
                return Err(match def.check {
                    Check::AtLeast(min) => bad(&format!("Value must be at least {min}")),
                    Check::Between(min, max) => bad(&format!(
                        "Value must be no less than {min} and no more than {max}"
                    )),
                    _ => bad("Value must be -1 or between 1 and 9"),
                });
            }
            Ok(v.to_string())
        }
        ConfigType::Double => {
            let v: f64 = trimmed.parse().map_err(|_| bad("not a number"))?;
            if !v.is_finite() || (matches!(def.check, Check::Ratio) && !(0.0..=1.0).contains(&v)) {
                return Err(bad("Value must be no less than 0 and no more than 1"));
            }
            Ok(trimmed.to_string())
        }
        ConfigType::String => {
            match def.check {
                Check::OneOf(allowed) if !allowed.contains(&trimmed) => {
                    return Err(bad(&format!(
                        "String must be one of: {}",
                        allowed.join(", ")
                    )))
                }
                Check::ShareOffsetReset => {
                    let ok = matches!(trimmed, "latest" | "earliest")
                        || trimmed
                            .strip_prefix("by_duration:")
                            .is_some_and(|d| d.starts_with('P') && d.len() > 1);
                    if !ok {
                        return Err(bad(
                            "must be latest, earliest or by_duration:<ISO-8601 duration>",
                        ));
                    }
                }
                _ => {}
            }
            Ok(trimmed.to_string())
        }
        ConfigType::List => {
            let items: Vec<&str> = list_items(trimmed);
            match def.check {
                Check::ListOf(allowed) => {
                    if let Some(item) = items.iter().find(|i| !allowed.contains(i)) {
                        return Err(bad(&format!("{item} is not one of {}", allowed.join(", "))));
                    }
                }
                Check::ThrottledReplicas => {
                    let pair = |i: &str| {
                        i.split_once(':').is_some_and(|(p, b)| {
                            p.trim().parse::<u32>().is_ok() && b.trim().parse::<u32>().is_ok()
                        })
                    };
                    if !(items == ["*"] || items.iter().all(|i| pair(i))) {
                        return Err(bad(
                            "must be the literal '*' or a list of replicas in the form [partitionId]:[brokerId]",
                        ));
                    }
                }
                _ => {}
            }
            Ok(items.join(","))
        }
    }
}

/// A list config's items: comma-separated, trimmed, none for "".
pub fn list_items(value: &str) -> Vec<&str> {
    if value.trim().is_empty() {
        return Vec::new();
    }
    value.split(',').map(str::trim).collect()
}

/// Kafka's checks across a topic's configs (`LogConfig.validateValues`):
/// `configs` is the topic's whole set after the change, over the broker's
/// values (`default_of`).
pub fn check_topic_set(
    configs: &BTreeMap<String, String>,
    default_of: impl Fn(&str) -> Option<String>,
) -> Result<(), String> {
    let get = |k: &str| {
        configs
            .get(k)
            .cloned()
            .or_else(|| default_of(k))
            .and_then(|v| v.parse::<i64>().ok())
    };
    if let (Some(min), Some(max)) = (get("min.compaction.lag.ms"), get("max.compaction.lag.ms")) {
        if min > max {
            return Err(format!(
                "conflict topic config setting min.compaction.lag.ms ({min}) > max.compaction.lag.ms ({max})"
            ));
        }
    }
    Ok(())
}

/// Kafka's checks across a group's configs (`GroupConfig.validateValues`).
pub fn check_group_set(configs: &BTreeMap<String, String>) -> Result<(), String> {
    let get = |k: &str| {
        configs
            .get(k)
            .map(String::as_str)
            .or_else(|| group_def(k).map(|d| d.default))
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0)
    };
    for kind in ["consumer", "share", "streams"] {
        let session = format!("{kind}.session.timeout.ms");
        let heartbeat = format!("{kind}.heartbeat.interval.ms");
        if get(&session) <= get(&heartbeat) {
            return Err(format!("{session} must be greater than {heartbeat}"));
        }
    }
    Ok(())
}

/// A synonym's value in the topic config's unit (`log.retention.hours`
/// in milliseconds); a negative time means forever (-1), as Kafka reads
/// the hours and minutes.
pub fn synonym_value(s: &Synonym, value: &str) -> Option<String> {
    if s.unit_ms == 1 {
        return Some(value.to_string());
    }
    let n: i64 = value.trim().parse().ok()?;
    if n < 0 {
        return Some("-1".to_string());
    }
    Some(n.checked_mul(s.unit_ms)?.to_string())
}

/// The Markdown tables of `docs/configuration.md`'s topic and group
/// configs, generated from the catalog (checked by a test; run
/// `UPDATE_DOCS=1 cargo test --lib metadata::catalog` after a change).
#[cfg(test)]
pub fn docs_tables() -> String {
    let mut out = String::from(
        "| topic config | type | Kafka's default | broker synonyms | in Sluice |\n|---|---|---|---|---|\n",
    );
    let ty = |t: ConfigType| match t {
        ConfigType::Boolean => "boolean",
        ConfigType::String => "string",
        ConfigType::Int => "int",
        ConfigType::Long => "long",
        ConfigType::Double => "double",
        ConfigType::List => "list",
    };
    let shown = |v: &str| {
        if v.is_empty() {
            "\"\"".to_string()
        } else {
            format!("`{v}`")
        }
    };
    for d in TOPIC_CONFIGS {
        let synonyms: Vec<String> = d.synonyms.iter().map(|s| format!("`{}`", s.name)).collect();
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} {} |\n",
            d.name,
            ty(d.ty),
            shown(d.default),
            if synonyms.is_empty() {
                "—".to_string()
            } else {
                synonyms.join(", ")
            },
            if d.applied { "**live**:" } else { "kept:" },
            d.doc
        ));
    }
    out.push_str("\n| group config | type | default | in Sluice |\n|---|---|---|---|\n");
    for d in GROUP_CONFIGS {
        out.push_str(&format!(
            "| `{}` | {} | {} | kept (for KIP-848 groups): {} |\n",
            d.name,
            ty(d.ty),
            shown(d.default),
            d.doc
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEGIN_MARKER: &str = "<!-- topic and group configs: generated from src/metadata/catalog.rs; run `UPDATE_DOCS=1 cargo test --lib metadata::catalog` after a change -->";
    const END_MARKER: &str = "<!-- end of topic and group configs -->";

    #[test]
    fn configuration_md_lists_the_catalog() {
        crate::config::docs::check_generated_block(
            BEGIN_MARKER,
            END_MARKER,
            &docs_tables(),
            "UPDATE_DOCS=1 cargo test --lib metadata::catalog",
        );
    }

    #[test]
    fn doc_texts_hold_no_pipes() {
        for d in TOPIC_CONFIGS.iter().chain(GROUP_CONFIGS) {
            assert!(!d.doc.contains('|'), "{}", d.name);
        }
    }

    #[test]
    fn defaults_pass_their_own_checks() {
        for def in TOPIC_CONFIGS.iter().chain(GROUP_CONFIGS) {
            assert_eq!(
                check_value(def, def.default).as_deref(),
                Ok(def.default),
                "{}",
                def.name
            );
        }
        let mut names: Vec<_> = TOPIC_CONFIGS.iter().map(|d| d.name).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            TOPIC_CONFIGS.iter().map(|d| d.name).collect::<Vec<_>>()
        );
    }

    #[test]
    fn values_are_checked_as_kafka_checks_them() {
        let d = |n| topic_def(n).unwrap();
        assert!(check_value(d("retention.ms"), "-1").is_ok());
        assert!(check_value(d("retention.ms"), "-2").is_err());
        assert!(check_value(d("retention.ms"), "soon").is_err());
        assert!(check_value(d("segment.bytes"), "13").is_err());
        assert!(check_value(d("segment.bytes"), "4294967296").is_err());
        assert_eq!(
            check_value(d("cleanup.policy"), "compact, delete").unwrap(),
            "compact,delete"
        );
        assert!(check_value(d("cleanup.policy"), "compact,shred").is_err());
        assert_eq!(check_value(d("preallocate"), "TRUE").unwrap(), "true");
        assert!(check_value(d("min.cleanable.dirty.ratio"), "1.5").is_err());
        assert!(check_value(d("compression.gzip.level"), "0").is_err());
        assert!(check_value(d("compression.gzip.level"), "9").is_ok());
        assert!(check_value(d("remote.storage.enable"), "true").is_err());
        assert!(check_value(d("leader.replication.throttled.replicas"), "0:1, 1:0").is_ok());
        assert!(check_value(d("leader.replication.throttled.replicas"), "x").is_err());
        let g = |n| group_def(n).unwrap();
        assert!(check_value(g("consumer.session.timeout.ms"), "50000").is_ok());
        assert!(check_value(g("consumer.session.timeout.ms"), "1000").is_err());
        assert!(check_value(g("share.auto.offset.reset"), "by_duration:PT1H").is_ok());
    }

    #[test]
    fn synonyms_convert_units() {
        let (def, s) = topic_def_of_broker_config("log.retention.hours").unwrap();
        assert_eq!(def.name, "retention.ms");
        assert_eq!(synonym_value(s, "2").unwrap(), "7200000");
        assert_eq!(synonym_value(s, "-5").unwrap(), "-1");
    }
}
