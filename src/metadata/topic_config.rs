//! A topic's configs as typed values: parsed once, when the topic is opened
//! (or its configs change), from its explicit configs over the broker's
//! defaults. The produce validator, the partition's storage settings and
//! retention read these fields; nothing on the request path parses a
//! config string.
//!
//! A value that does not parse (only possible in a metadata log edited by
//! hand: the API validates every value) falls back as the string lookups it
//! replaces did: no limit for the produce limits, the storage default for
//! segment settings.

use sluice_protocol::records::compression::{
    GZIP_LEVELS, LZ4_DEFAULT_LEVEL, LZ4_LEVELS, ZSTD_DEFAULT_LEVEL, ZSTD_LEVELS,
};
use sluice_protocol::records::Compression;
use sluice_storage::LogConfig;

use super::{BrokerDefaults, TopicMeta};

/// `cleanup.policy`: a list of `delete` and `compact`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanupPolicy {
    /// Segments past retention are deleted.
    pub delete: bool,
    /// Compaction keeps the latest record per key (so records need a key).
    pub compact: bool,
}

/// The compaction settings of a topic (read by the cleaner, `src/cleaner.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompactionConfig {
    /// `delete.retention.ms`: how long tombstones and markers stay after the
    /// cleaning pass that first found them removable.
    pub delete_retention_ms: i64,
    /// `min.compaction.lag.ms`: records younger than this are not compacted.
    pub min_compaction_lag_ms: i64,
    /// `max.compaction.lag.ms`: a log with data older than this uncleaned is
    /// cleaned whatever its dirty ratio.
    pub max_compaction_lag_ms: i64,
    /// `min.cleanable.dirty.ratio`, in millionths (so that the type stays `Eq`).
    pub min_cleanable_dirty_ratio_millionths: u32,
}

impl CompactionConfig {
    /// `min.cleanable.dirty.ratio` as a number between 0 and 1.
    pub fn min_cleanable_dirty_ratio(&self) -> f64 {
        f64::from(self.min_cleanable_dirty_ratio_millionths) / 1_000_000.0
    }
}

impl Default for CompactionConfig {
    /// Kafka's defaults.
    fn default() -> Self {
        CompactionConfig {
            delete_retention_ms: 86_400_000,
            min_compaction_lag_ms: 0,
            max_compaction_lag_ms: i64::MAX,
            min_cleanable_dirty_ratio_millionths: 500_000,
        }
    }
}

/// `message.timestamp.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampType {
    /// The producer's timestamps are kept (checked against the broker clock).
    CreateTime,
    /// Every batch is stamped with the broker's time when it is appended.
    LogAppendTime,
}

/// `compression.type` with the codec levels
/// (`compression.{gzip,lz4,zstd}.level`): the codec the partition stores
/// batches in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompressionConfig {
    /// `None` for `producer` (each batch keeps the producer's codec); else the
    /// codec every batch is stored in (`uncompressed` is [`Compression::None`]).
    pub codec: Option<Compression>,
    /// `compression.gzip.level`: 1-9, or -1 for zlib's default (6).
    pub gzip_level: i32,
    /// `compression.lz4.level`: 1-17 (9).
    pub lz4_level: i32,
    /// `compression.zstd.level`: -131072..=22 (3).
    pub zstd_level: i32,
}

impl Default for CompressionConfig {
    /// Kafka's defaults: `producer`, levels -1, 9 and 3.
    fn default() -> Self {
        CompressionConfig {
            codec: None,
            gzip_level: -1,
            lz4_level: LZ4_DEFAULT_LEVEL,
            zstd_level: ZSTD_DEFAULT_LEVEL,
        }
    }
}

impl CompressionConfig {
    /// The codec a batch produced with `source` is stored in.
    pub fn target(&self, source: Compression) -> Compression {
        self.codec.unwrap_or(source)
    }

    /// The level the broker compresses `codec` at (`None` for codecs
    /// without levels).
    pub fn level(&self, codec: Compression) -> Option<i32> {
        match codec {
            Compression::Gzip => Some(self.gzip_level),
            Compression::Lz4 => Some(self.lz4_level),
            Compression::Zstd => Some(self.zstd_level),
            _ => None,
        }
    }

    /// Parses `compression.type` (as Kafka names it) and the levels; a
    /// value that does not parse or is out of range falls back to Kafka's
    /// default.
    fn resolve(text: impl Fn(&str) -> Option<String>) -> CompressionConfig {
        let base = CompressionConfig::default();
        let codec = match text("compression.type").as_deref() {
            Some("uncompressed") => Some(Compression::None),
            Some("gzip") => Some(Compression::Gzip),
            Some("snappy") => Some(Compression::Snappy),
            Some("lz4") => Some(Compression::Lz4),
            Some("zstd") => Some(Compression::Zstd),
            _ => None,
        };
        let level = |key: &str, ok: &dyn Fn(i32) -> bool, default: i32| {
            text(key)
                .and_then(|v| v.trim().parse::<i32>().ok())
                .filter(|v| ok(*v))
                .unwrap_or(default)
        };
        CompressionConfig {
            codec,
            gzip_level: level(
                "compression.gzip.level",
                &|v| v == -1 || GZIP_LEVELS.contains(&v),
                base.gzip_level,
            ),
            lz4_level: level(
                "compression.lz4.level",
                &|v| LZ4_LEVELS.contains(&v),
                base.lz4_level,
            ),
            zstd_level: level(
                "compression.zstd.level",
                &|v| ZSTD_LEVELS.contains(&v),
                base.zstd_level,
            ),
        }
    }
}

/// The typed configs of one topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicConfig {
    pub cleanup_policy: CleanupPolicy,
    /// `max.message.bytes`: the largest record batch accepted.
    pub max_message_bytes: i64,
    pub message_timestamp_type: TimestampType,
    /// `message.timestamp.before.max.ms`: how far a CreateTime timestamp may
    /// lie behind the broker clock.
    pub message_timestamp_before_max_ms: i64,
    /// `message.timestamp.after.max.ms`: how far it may lie ahead.
    pub message_timestamp_after_max_ms: i64,
    /// `retention.ms`; `None` keeps data forever (-1).
    pub retention_ms: Option<i64>,
    /// `retention.bytes` per partition; `None` is unlimited (-1).
    pub retention_bytes: Option<u64>,
    /// `segment.bytes`, `segment.ms`, `index.interval.bytes`.
    pub log: LogConfig,
    /// `delete.retention.ms`, `min/max.compaction.lag.ms`, `min.cleanable.dirty.ratio`.
    pub compaction: CompactionConfig,
    /// `compression.type` and the codec levels.
    pub compression: CompressionConfig,
}

impl TopicConfig {
    /// Resolves `topic`'s configs over `defaults` (see [`TopicMeta::config`]).
    pub fn resolve(topic: &TopicMeta, defaults: &BrokerDefaults) -> TopicConfig {
        let text = |key: &str| topic.config(key, defaults);
        let int = |key: &str| text(key).and_then(|v| v.parse::<i64>().ok());
        let unsigned = |key: &str| text(key).and_then(|v| v.parse::<u64>().ok());
        let cleanup_policy = match text("cleanup.policy") {
            None => CleanupPolicy {
                delete: true,
                compact: false,
            },
            Some(list) => {
                let has = |p: &str| list.split(',').any(|x| x.trim() == p);
                CleanupPolicy {
                    delete: has("delete"),
                    compact: has("compact"),
                }
            }
        };
        let message_timestamp_type = if text("message.timestamp.type") == Some("LogAppendTime") {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        };
        let base = LogConfig::default();
        let kafka = CompactionConfig::default();
        let ratio = text("min.cleanable.dirty.ratio")
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|r| (0.0..=1.0).contains(r))
            .map_or(kafka.min_cleanable_dirty_ratio_millionths, |r| {
                (r * 1_000_000.0).round() as u32
            });
        let compaction = CompactionConfig {
            delete_retention_ms: int("delete.retention.ms")
                .filter(|v| *v >= 0)
                .unwrap_or(kafka.delete_retention_ms),
            min_compaction_lag_ms: int("min.compaction.lag.ms")
                .filter(|v| *v >= 0)
                .unwrap_or(kafka.min_compaction_lag_ms),
            max_compaction_lag_ms: int("max.compaction.lag.ms")
                .filter(|v| *v >= 1)
                .unwrap_or(kafka.max_compaction_lag_ms),
            min_cleanable_dirty_ratio_millionths: ratio,
        };
        TopicConfig {
            compaction,
            cleanup_policy,
            max_message_bytes: int("max.message.bytes").unwrap_or(i64::MAX),
            message_timestamp_type,
            message_timestamp_before_max_ms: int("message.timestamp.before.max.ms")
                .unwrap_or(i64::MAX),
            message_timestamp_after_max_ms: int("message.timestamp.after.max.ms")
                .unwrap_or(i64::MAX),
            retention_ms: int("retention.ms").filter(|v| *v >= 0),
            retention_bytes: int("retention.bytes")
                .filter(|v| *v >= 0)
                .map(|v| v.unsigned_abs()),
            log: LogConfig {
                segment_bytes: unsigned("segment.bytes").unwrap_or(base.segment_bytes),
                segment_ms: unsigned("segment.ms").or(base.segment_ms),
                index_interval_bytes: unsigned("index.interval.bytes")
                    .unwrap_or(base.index_interval_bytes),
            },
            compression: CompressionConfig::resolve(|key| text(key).map(str::to_string)),
        }
    }

    /// What retention trims by: (`retention.ms`, `retention.bytes`), both
    /// `None` for a topic without the `delete` policy (compact-only topics
    /// are never trimmed by time or size).
    pub fn retention(&self) -> (Option<i64>, Option<u64>) {
        if self.cleanup_policy.delete {
            (self.retention_ms, self.retention_bytes)
        } else {
            (None, None)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn topic(configs: &[(&str, &str)]) -> TopicMeta {
        TopicMeta {
            name: "t".into(),
            id: uuid::Uuid::nil(),
            partitions: 1,
            configs: configs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            internal: false,
        }
    }

    #[test]
    fn kafka_defaults_parse() {
        let c = TopicConfig::resolve(&topic(&[]), &BrokerDefaults::new(&[]));
        assert_eq!(
            c.cleanup_policy,
            CleanupPolicy {
                delete: true,
                compact: false
            }
        );
        assert_eq!(c.max_message_bytes, 1_048_588);
        assert_eq!(c.message_timestamp_type, TimestampType::CreateTime);
        assert_eq!(c.message_timestamp_before_max_ms, i64::MAX);
        assert_eq!(c.message_timestamp_after_max_ms, 3_600_000);
        assert_eq!(c.retention_ms, Some(604_800_000));
        assert_eq!(c.retention_bytes, None);
        assert_eq!(c.log.segment_bytes, 1_073_741_824);
        assert_eq!(c.log.segment_ms, Some(604_800_000));
        assert_eq!(c.log.index_interval_bytes, 4096);
        assert_eq!(c.retention(), (Some(604_800_000), None));
        assert_eq!(c.compaction, CompactionConfig::default());
        assert_eq!(c.compression, CompressionConfig::default());
        assert_eq!(
            c.compression.target(Compression::Snappy),
            Compression::Snappy
        );
    }

    #[test]
    fn compression_type_and_levels() {
        let resolve = |configs: &[(&str, &str)]| {
            TopicConfig::resolve(&topic(configs), &BrokerDefaults::new(&[])).compression
        };
        for (name, codec) in [
            ("uncompressed", Compression::None),
            ("gzip", Compression::Gzip),
            ("snappy", Compression::Snappy),
            ("lz4", Compression::Lz4),
            ("zstd", Compression::Zstd),
        ] {
            let c = resolve(&[("compression.type", name)]);
            assert_eq!(c.target(Compression::Lz4), codec, "{name}");
        }
        assert_eq!(resolve(&[("compression.type", "producer")]).codec, None);
        let c = resolve(&[
            ("compression.gzip.level", "9"),
            ("compression.lz4.level", "17"),
            ("compression.zstd.level", "-7"),
        ]);
        assert_eq!(c.level(Compression::Gzip), Some(9));
        assert_eq!(c.level(Compression::Lz4), Some(17));
        assert_eq!(c.level(Compression::Zstd), Some(-7));
        assert_eq!(c.level(Compression::Snappy), None);
        // Out of Kafka's ranges: the default.
        let c = resolve(&[
            ("compression.gzip.level", "0"),
            ("compression.lz4.level", "18"),
            ("compression.zstd.level", "23"),
        ]);
        assert_eq!(c, CompressionConfig::default());
        // The broker's default (`--compression-type`), under a topic's own.
        let defaults = BrokerDefaults::new(&[("compression.type", "gzip".to_string())]);
        let c = TopicConfig::resolve(&topic(&[]), &defaults).compression;
        assert_eq!(c.codec, Some(Compression::Gzip));
        let c = TopicConfig::resolve(&topic(&[("compression.type", "producer")]), &defaults);
        assert_eq!(c.compression.codec, None);
    }

    #[test]
    fn topic_values_override_broker_defaults() {
        let defaults = BrokerDefaults::new(&[
            ("max.message.bytes", "100".to_string()),
            ("retention.bytes", "5000".to_string()),
        ]);
        let c = TopicConfig::resolve(
            &topic(&[
                ("max.message.bytes", "200"),
                ("cleanup.policy", "compact"),
                ("message.timestamp.type", "LogAppendTime"),
                ("message.timestamp.before.max.ms", "10"),
                ("retention.ms", "-1"),
                ("segment.bytes", "1024"),
                ("segment.ms", "60000"),
                ("index.interval.bytes", "1"),
            ]),
            &defaults,
        );
        assert_eq!(c.max_message_bytes, 200);
        assert_eq!(
            c.cleanup_policy,
            CleanupPolicy {
                delete: false,
                compact: true
            }
        );
        assert_eq!(c.message_timestamp_type, TimestampType::LogAppendTime);
        assert_eq!(c.message_timestamp_before_max_ms, 10);
        assert_eq!(c.retention_ms, None);
        assert_eq!(c.retention_bytes, Some(5000));
        assert_eq!(c.log.segment_bytes, 1024);
        assert_eq!(c.log.segment_ms, Some(60_000));
        assert_eq!(c.log.index_interval_bytes, 1);
        // Compact-only: never trimmed by time or size.
        assert_eq!(c.retention(), (None, None));
    }

    #[test]
    fn both_policies_and_unparsable_values() {
        let c = TopicConfig::resolve(
            &topic(&[
                ("cleanup.policy", "compact, delete"),
                ("max.message.bytes", "lots"),
                ("segment.bytes", "-5"),
            ]),
            &BrokerDefaults::new(&[]),
        );
        assert!(c.cleanup_policy.delete && c.cleanup_policy.compact);
        assert_eq!(c.max_message_bytes, i64::MAX, "no limit, as before");
        assert_eq!(c.log.segment_bytes, LogConfig::default().segment_bytes);
    }

    #[test]
    fn compaction_settings_parse() {
        let c = TopicConfig::resolve(
            &topic(&[
                ("delete.retention.ms", "100"),
                ("min.compaction.lag.ms", "5"),
                ("max.compaction.lag.ms", "100"),
                ("min.cleanable.dirty.ratio", "0.01"),
            ]),
            &BrokerDefaults::new(&[]),
        );
        assert_eq!(c.compaction.delete_retention_ms, 100);
        assert_eq!(c.compaction.min_compaction_lag_ms, 5);
        assert_eq!(c.compaction.max_compaction_lag_ms, 100);
        assert!((c.compaction.min_cleanable_dirty_ratio() - 0.01).abs() < 1e-9);
    }
}
