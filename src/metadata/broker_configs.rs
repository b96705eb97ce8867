//! Broker configs and where a config's value comes from.
//!
//! The broker's configs sit in layers, as in Kafka: dynamic per node
//! (IncrementalAlterConfigs on BROKER `<node id>`), the dynamic cluster
//! default (BROKER `""`), the broker's own options (STATIC_BROKER_CONFIG:
//! the command line, `SLUICE_*`, the file), and Kafka's defaults. The first
//! layer holding a name gives its value. [`BrokerDefaults`] is one snapshot
//! of the layers with every topic config's broker-level value resolved
//! (through its synonyms, see `catalog.rs`); it is replaced whole when a
//! dynamic broker config changes.
//!
//! DescribeConfigs' sources and synonyms are computed here the way Kafka's
//! `ConfigHelper` does: the synonym list runs over the layers in order
//! (node, cluster, static, default) and, within a layer, over the synonym
//! names in priority order; then everything before the first entry named
//! like the primary synonym is dropped. The entry's source is that of the
//! first synonym left (or DEFAULT_CONFIG).

use std::collections::BTreeMap;

use super::catalog::{self, ConfigDef, ConfigType, TOPIC_CONFIGS};
use super::TopicMeta;
use crate::config::{Config, FsyncMode};

/// Where a value comes from, with Kafka's DescribeConfigs codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    /// Set on the topic (TOPIC_CONFIG / DYNAMIC_TOPIC_CONFIG = 1).
    Topic = 1,
    /// Set dynamically for this broker (DYNAMIC_BROKER_CONFIG = 2).
    DynamicBroker = 2,
    /// Set dynamically for every broker (DYNAMIC_DEFAULT_BROKER_CONFIG = 3).
    DynamicDefaultBroker = 3,
    /// A broker option (STATIC_BROKER_CONFIG = 4).
    StaticBroker = 4,
    /// Kafka's default (DEFAULT_CONFIG = 5).
    Default = 5,
    /// A logger's level (DYNAMIC_BROKER_LOGGER_CONFIG = 6).
    BrokerLogger = 6,
    /// Set on the group (GROUP_CONFIG = 8).
    Group = 8,
}

impl ConfigSource {
    pub fn code(self) -> i8 {
        self as i8
    }
}

/// One synonym of a described config: a name, its value there, where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Synonym {
    pub name: String,
    pub value: String,
    pub source: ConfigSource,
}

/// One config as DescribeConfigs shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Described {
    pub name: String,
    /// None for a broker config with no value anywhere and no default
    /// (`log.retention.ms` when only `log.retention.hours` applies): Kafka
    /// lists it with a null value.
    pub value: Option<String>,
    pub source: ConfigSource,
    pub read_only: bool,
    pub ty: Option<ConfigType>,
    pub doc: String,
    pub synonyms: Vec<Synonym>,
}

/// A broker option of Sluice's with a Kafka name: type, Kafka's default.
struct BrokerOption {
    name: &'static str,
    ty: ConfigType,
    kafka_default: Option<&'static str>,
    doc: &'static str,
}

/// Sluice's own broker options under their Kafka names: read-only (they
/// are not applied while the broker runs), shown with the broker's value.
static BROKER_OPTIONS: &[BrokerOption] = &[
    bo(
        "advertised.listeners",
        ConfigType::String,
        None,
        "The address given to clients: PLAINTEXT://HOST:PORT (--advertised-listener); dynamic per broker.",
    ),
    bo(
        "auto.create.topics.enable",
        ConfigType::Boolean,
        Some("true"),
        "Whether Metadata creates unknown topics.",
    ),
    bo(
        "broker.id",
        ConfigType::Int,
        Some("-1"),
        "This broker's id (--node-id).",
    ),
    bo(
        "connections.max.idle.ms",
        ConfigType::Long,
        Some("600000"),
        "Idle connections are closed after this long.",
    ),
    bo(
        "group.initial.rebalance.delay.ms",
        ConfigType::Int,
        Some("3000"),
        "How long a new group waits for more members.",
    ),
    bo(
        "group.max.session.timeout.ms",
        ConfigType::Int,
        Some("1800000"),
        "The largest session timeout a member may ask for.",
    ),
    bo(
        "group.min.session.timeout.ms",
        ConfigType::Int,
        Some("6000"),
        "The smallest session timeout a member may ask for.",
    ),
    bo(
        "listeners",
        ConfigType::String,
        Some("PLAINTEXT://:9092"),
        "The address the broker listens on (--listen).",
    ),
    bo(
        "log.dirs",
        ConfigType::String,
        None,
        "The data directory (--data-dir).",
    ),
    bo(
        "log.retention.check.interval.ms",
        ConfigType::Long,
        Some("300000"),
        "How often retention looks for segments to delete.",
    ),
    bo(
        "max.connections",
        ConfigType::Int,
        Some("2147483647"),
        "The most client connections at once.",
    ),
    bo(
        "node.id",
        ConfigType::Int,
        Some("-1"),
        "This broker's id (--node-id).",
    ),
    bo(
        "num.partitions",
        ConfigType::Int,
        Some("1"),
        "Partitions of a topic created without a count.",
    ),
    bo(
        "offsets.retention.minutes",
        ConfigType::Int,
        Some("10080"),
        "How long an empty group's offsets are kept.",
    ),
    bo(
        "offsets.topic.num.partitions",
        ConfigType::Int,
        Some("50"),
        "Partitions of __consumer_offsets.",
    ),
    bo(
        "socket.request.max.bytes",
        ConfigType::Int,
        Some("104857600"),
        "The largest request accepted.",
    ),
    bo(
        "transaction.max.timeout.ms",
        ConfigType::Int,
        Some("900000"),
        "The largest transaction timeout a producer may ask for.",
    ),
    bo(
        "transaction.state.log.num.partitions",
        ConfigType::Int,
        Some("50"),
        "Partitions of __transaction_state.",
    ),
];

const fn bo(
    name: &'static str,
    ty: ConfigType,
    kafka_default: Option<&'static str>,
    doc: &'static str,
) -> BrokerOption {
    BrokerOption {
        name,
        ty,
        kafka_default,
        doc,
    }
}

/// Broker options that change at run time, per broker only (Kafka's
/// `PerBrokerConfigs`): `advertised.listeners` (see `advertised.rs`).
pub const DYNAMIC_PER_BROKER: &[&str] = &["advertised.listeners"];

/// Whether `name` is one of Sluice's read-only broker options (altering it
/// is Kafka's "Cannot update these configs dynamically").
pub fn is_read_only_broker_config(name: &str) -> bool {
    (BROKER_OPTIONS.iter().any(|o| o.name == name) || name == "log.dir")
        && !DYNAMIC_PER_BROKER.contains(&name)
}

/// The broker's own options under Kafka's names (the static layer).
/// Topic-config synonyms appear only where the option differs from Kafka's
/// default, so that an untouched option reads as DEFAULT_CONFIG.
pub fn static_layer(c: &Config) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    // An option at Kafka's default reads as DEFAULT_CONFIG.
    let mut put = |k: &str, v: String| {
        if kafka_default_of(k) != Some(v.as_str()) {
            m.insert(k.to_string(), v);
        }
    };
    if let Some(adv) = &c.advertised_listener {
        put("advertised.listeners", format!("PLAINTEXT://{adv}"));
    }
    put(
        "auto.create.topics.enable",
        c.auto_create_topics.to_string(),
    );
    put("broker.id", c.node_id.to_string());
    put(
        "connections.max.idle.ms",
        c.connections_max_idle_ms.to_string(),
    );
    put(
        "group.initial.rebalance.delay.ms",
        c.initial_rebalance_delay_ms().to_string(),
    );
    put(
        "group.max.session.timeout.ms",
        c.group_max_session_timeout_ms.to_string(),
    );
    put(
        "group.min.session.timeout.ms",
        c.group_min_session_timeout_ms.to_string(),
    );
    put("listeners", format!("PLAINTEXT://{}", c.listen));
    if !c.ephemeral {
        put("log.dirs", c.data_dir.display().to_string());
    }
    put(
        "log.retention.check.interval.ms",
        c.retention_check_interval_ms.to_string(),
    );
    put("max.connections", c.max_connections.to_string());
    put("node.id", c.node_id.to_string());
    put("num.partitions", c.default_partitions.to_string());
    put(
        "offsets.retention.minutes",
        c.offsets_retention_minutes.to_string(),
    );
    put(
        "offsets.topic.num.partitions",
        c.offsets_topic_partitions.to_string(),
    );
    put("socket.request.max.bytes", c.max_frame_bytes.to_string());
    put(
        "transaction.max.timeout.ms",
        c.transaction_max_timeout_ms.to_string(),
    );
    put(
        "transaction.state.log.num.partitions",
        c.transaction_state_partitions.to_string(),
    );
    let mut topic = |k: &str, v: String| {
        if let Some((def, s)) = catalog::topic_def_of_broker_config(k) {
            if v != def.default || s.unit_ms != 1 {
                m.insert(k.to_string(), v);
            }
        }
    };
    topic("message.max.bytes", c.max_message_bytes.to_string());
    topic("compression.type", c.compression_type.clone());
    topic(
        "log.cleaner.min.cleanable.ratio",
        c.cleaner_min_cleanable_ratio.to_string(),
    );
    topic(
        "log.cleaner.delete.retention.ms",
        c.cleaner_delete_retention_ms.to_string(),
    );
    topic(
        "log.cleaner.min.compaction.lag.ms",
        c.cleaner_min_compaction_lag_ms.to_string(),
    );
    topic(
        "log.cleaner.max.compaction.lag.ms",
        c.cleaner_max_compaction_lag_ms.to_string(),
    );
    topic("log.segment.bytes", c.segment_bytes.to_string());
    topic("log.retention.ms", c.retention_ms.to_string());
    topic("log.retention.bytes", c.retention_bytes.to_string());
    topic(
        "log.roll.ms",
        c.segment_ms
            .map(|v| v.to_string())
            .unwrap_or_else(|| i64::MAX.to_string()),
    );
    if let FsyncMode::Interval(ms) = c.fsync {
        topic("log.flush.interval.ms", ms.to_string());
    }
    m
}

/// The broker's configs in layers, with every topic config's broker-level
/// value resolved. Replaced whole when a dynamic broker config changes.
#[derive(Debug, Clone, Default)]
pub struct BrokerDefaults {
    /// Dynamic configs of this node.
    node: BTreeMap<String, String>,
    /// Dynamic cluster-wide defaults.
    cluster: BTreeMap<String, String>,
    /// The broker's own options (Kafka names).
    fixed: BTreeMap<String, String>,
    /// Topic config name → its value for a topic that does not set it.
    values: BTreeMap<String, String>,
}

impl BrokerDefaults {
    /// Kafka's defaults overlaid with broker options given as topic
    /// configs (`("retention.ms", "1000")` is the option `log.retention.ms`).
    #[cfg(test)]
    pub fn new(overrides: &[(&str, String)]) -> Self {
        let mut fixed = BTreeMap::new();
        for (k, v) in overrides {
            if let Some(primary) = catalog::topic_def(k).and_then(|d| d.synonyms.first()) {
                fixed.insert(primary.name.to_string(), v.clone());
            }
        }
        Self::from_layers(BTreeMap::new(), BTreeMap::new(), fixed)
    }

    /// The layers of the broker's configs: dynamic for this node, dynamic
    /// for the cluster, the broker's options (all by Kafka name).
    pub fn from_layers(
        node: BTreeMap<String, String>,
        cluster: BTreeMap<String, String>,
        fixed: BTreeMap<String, String>,
    ) -> Self {
        let mut d = BrokerDefaults {
            node,
            cluster,
            fixed,
            values: BTreeMap::new(),
        };
        d.values = TOPIC_CONFIGS
            .iter()
            .map(|def| (def.name.to_string(), d.resolve_topic_default(def)))
            .collect();
        d
    }

    /// A broker config's value and the layer it comes from, or its Kafka
    /// default (`None` when it has none).
    fn broker_value(&self, name: &str) -> Option<(&str, ConfigSource)> {
        self.layers()
            .into_iter()
            .find_map(|(layer, source)| layer.get(name).map(|v| (v.as_str(), source)))
            .or_else(|| kafka_default_of(name).map(|v| (v, ConfigSource::Default)))
    }

    /// A broker config's value as an entity sees it: this node
    /// (`for_node`) from every layer, the cluster default from every layer
    /// but the node's.
    pub fn broker_config(&self, name: &str, for_node: bool) -> Option<String> {
        self.layers()
            .into_iter()
            .filter(|(_, source)| for_node || *source != ConfigSource::DynamicBroker)
            .find_map(|(layer, _)| layer.get(name).cloned())
            .or_else(|| kafka_default_of(name).map(str::to_string))
    }

    fn layers(&self) -> [(&BTreeMap<String, String>, ConfigSource); 3] {
        [
            (&self.node, ConfigSource::DynamicBroker),
            (&self.cluster, ConfigSource::DynamicDefaultBroker),
            (&self.fixed, ConfigSource::StaticBroker),
        ]
    }

    fn resolve_topic_default(&self, def: &ConfigDef) -> String {
        def.synonyms
            .iter()
            .find_map(|s| {
                let (v, _) = self.broker_value(s.name)?;
                catalog::synonym_value(s, v)
            })
            .unwrap_or_else(|| def.default.to_string())
    }

    /// The value of topic config `key` for a topic that does not set it.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(|s| s.as_str())
    }

    /// Kafka's synonym list for `names` (one family, priority order),
    /// cut before the first entry named `primary`.
    fn synonyms(&self, primary: &str, names: &[&str], with_defaults: bool) -> Vec<Synonym> {
        let mut out = Vec::new();
        for (layer, source) in self.layers() {
            for n in names {
                if let Some(v) = layer.get(*n) {
                    out.push(Synonym {
                        name: n.to_string(),
                        value: v.clone(),
                        source,
                    });
                }
            }
        }
        if with_defaults {
            for n in names {
                if let Some(v) = kafka_default_of(n) {
                    out.push(Synonym {
                        name: n.to_string(),
                        value: v.to_string(),
                        source: ConfigSource::Default,
                    });
                }
            }
        }
        match out.iter().position(|s| s.name == primary) {
            Some(at) => out.split_off(at),
            None => Vec::new(),
        }
    }

    /// Every topic config of `topic`: value, source, synonyms (Kafka's
    /// `createTopicConfigEntry`).
    pub fn describe_topic(&self, topic: &TopicMeta) -> Vec<Described> {
        TOPIC_CONFIGS
            .iter()
            .map(|def| {
                let mut synonyms = match def.synonyms.first() {
                    Some(primary) => {
                        let names: Vec<&str> = def.synonyms.iter().map(|s| s.name).collect();
                        self.synonyms(primary.name, &names, true)
                    }
                    None => Vec::new(),
                };
                let value = match topic.configs.get(def.name) {
                    Some(v) => {
                        synonyms.insert(
                            0,
                            Synonym {
                                name: def.name.to_string(),
                                value: v.clone(),
                                source: ConfigSource::Topic,
                            },
                        );
                        v.clone()
                    }
                    None => self.get(def.name).unwrap_or(def.default).to_string(),
                };
                Described {
                    name: def.name.to_string(),
                    value: Some(value),
                    source: synonyms.first().map_or(ConfigSource::Default, |s| s.source),
                    read_only: false,
                    ty: Some(def.ty),
                    doc: def.documentation(),
                    synonyms,
                }
            })
            .collect()
    }

    /// The broker's configs: per node (`per_node`: every config Sluice has,
    /// and any set dynamically) or the cluster default (only the ones set
    /// there), as Kafka's `createBrokerConfigEntry`.
    pub fn describe_broker(&self, per_node: bool) -> Vec<Described> {
        let mut names: Vec<&str> = Vec::new();
        if per_node {
            names.extend(BROKER_OPTIONS.iter().map(|o| o.name));
            for def in TOPIC_CONFIGS {
                names.extend(def.synonyms.iter().map(|s| s.name));
            }
            names.extend(self.node.keys().map(String::as_str));
            names.extend(self.cluster.keys().map(String::as_str));
            names.extend(self.fixed.keys().map(String::as_str));
        } else {
            names.extend(self.cluster.keys().map(String::as_str));
        }
        names.sort_unstable();
        names.dedup();
        names
            .into_iter()
            .filter_map(|name| {
                let family = synonym_family(name);
                let mut synonyms = self.synonyms(name, &family, true);
                if !per_node {
                    synonyms.retain(|s| s.source == ConfigSource::DynamicDefaultBroker);
                }
                let value = if per_node {
                    self.broker_value(name).map(|(v, _)| v.to_string())
                } else {
                    Some(self.cluster.get(name)?.clone())
                };
                let topic = catalog::topic_def_of_broker_config(name);
                let option = BROKER_OPTIONS.iter().find(|o| o.name == name);
                let ty = match (topic, option) {
                    (Some((def, s)), _) => Some(if s.unit_ms == 1 {
                        def.ty
                    } else {
                        ConfigType::Int
                    }),
                    (None, Some(o)) => Some(o.ty),
                    (None, None) => None,
                };
                let doc = match (topic, option) {
                    (Some((def, _)), _) => def.documentation(),
                    (None, Some(o)) => o.doc.to_string(),
                    (None, None) => {
                        "Set dynamically; Sluice keeps it without acting on it.".to_string()
                    }
                };
                Some(Described {
                    name: name.to_string(),
                    value,
                    source: synonyms.first().map_or(ConfigSource::Default, |s| s.source),
                    read_only: option.is_some() && !DYNAMIC_PER_BROKER.contains(&name),
                    ty,
                    doc,
                    synonyms,
                })
            })
            .collect()
    }
}

/// A broker config's synonyms in priority order (Kafka's
/// `brokerConfigSynonyms`): the ms/minutes/hours family of a time, else
/// the name alone.
fn synonym_family(name: &str) -> Vec<&str> {
    TOPIC_CONFIGS
        .iter()
        .find(|d| d.synonyms.iter().any(|s| s.name == name) && d.synonyms.len() > 1)
        .filter(|d| {
            d.synonyms
                .iter()
                .all(|s| s.name != "log.flush.scheduler.interval.ms")
        })
        .map(|d| d.synonyms.iter().map(|s| s.name).collect())
        .unwrap_or_else(|| vec![name])
}

/// Kafka's default of a broker config, where it has one.
fn kafka_default_of(name: &str) -> Option<&'static str> {
    if let Some((_, s)) = catalog::topic_def_of_broker_config(name) {
        return s.default;
    }
    BROKER_OPTIONS
        .iter()
        .find(|o| o.name == name)
        .and_then(|o| o.kafka_default)
}

/// A group's configs: set on the group, else Kafka's default (Kafka's
/// `createGroupConfigEntry`: the synonym list starts with the entry itself).
pub fn describe_group(configs: &BTreeMap<String, String>) -> Vec<Described> {
    catalog::GROUP_CONFIGS
        .iter()
        .map(|def| {
            let (value, source) = match configs.get(def.name) {
                Some(v) => (v.clone(), ConfigSource::Group),
                None => (def.default.to_string(), ConfigSource::Default),
            };
            Described {
                name: def.name.to_string(),
                value: Some(value.clone()),
                source,
                read_only: false,
                ty: Some(def.ty),
                doc: def.documentation(),
                synonyms: vec![Synonym {
                    name: def.name.to_string(),
                    value,
                    source,
                }],
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn topic(kv: &[(&str, &str)]) -> TopicMeta {
        TopicMeta {
            name: "t".into(),
            id: uuid::Uuid::nil(),
            partitions: 1,
            configs: map(kv),
            internal: false,
        }
    }

    fn find<'a>(all: &'a [Described], name: &str) -> &'a Described {
        all.iter().find(|d| d.name == name).unwrap()
    }

    #[test]
    fn kafka_defaults_describe_as_kafka_does() {
        let d = BrokerDefaults::new(&[]);
        let all = d.describe_topic(&topic(&[]));
        let retention = find(&all, "retention.ms");
        assert_eq!(retention.value.as_deref(), Some("604800000"));
        // Only log.retention.hours has a default; it is cut (not the primary).
        assert_eq!(retention.source, ConfigSource::Default);
        assert!(retention.synonyms.is_empty());
        let segment = find(&all, "segment.bytes");
        assert_eq!(segment.source, ConfigSource::Default);
        assert_eq!(segment.synonyms.len(), 1);
        assert_eq!(segment.synonyms[0].name, "log.segment.bytes");
    }

    #[test]
    fn layers_give_values_sources_and_synonyms_in_kafka_order() {
        let d = BrokerDefaults::from_layers(
            map(&[("log.retention.ms", "1000")]),
            map(&[("log.retention.hours", "2"), ("log.segment.bytes", "2048")]),
            map(&[("log.retention.ms", "5000")]),
        );
        assert_eq!(d.get("retention.ms"), Some("1000"));
        assert_eq!(d.get("segment.bytes"), Some("2048"));
        let all = d.describe_topic(&topic(&[("retention.ms", "7")]));
        let r = find(&all, "retention.ms");
        assert_eq!(r.value.as_deref(), Some("7"));
        assert_eq!(r.source, ConfigSource::Topic);
        let names: Vec<(&str, ConfigSource)> = r
            .synonyms
            .iter()
            .map(|s| (s.name.as_str(), s.source))
            .collect();
        assert_eq!(
            names,
            [
                ("retention.ms", ConfigSource::Topic),
                ("log.retention.ms", ConfigSource::DynamicBroker),
                ("log.retention.hours", ConfigSource::DynamicDefaultBroker),
                ("log.retention.ms", ConfigSource::StaticBroker),
                ("log.retention.hours", ConfigSource::Default),
            ]
        );
        // Hours alone, dynamically: converted.
        let d = BrokerDefaults::from_layers(
            BTreeMap::new(),
            map(&[("log.retention.hours", "2")]),
            BTreeMap::new(),
        );
        assert_eq!(d.get("retention.ms"), Some("7200000"));
        let broker = d.describe_broker(false);
        assert_eq!(broker.len(), 1);
        assert_eq!(broker[0].source, ConfigSource::DynamicDefaultBroker);
        let node = d.describe_broker(true);
        assert_eq!(find(&node, "num.partitions").source, ConfigSource::Default);
        assert!(find(&node, "num.partitions").read_only);
        assert!(!find(&node, "log.retention.hours").read_only);
    }
}
