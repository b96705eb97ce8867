//! Config changes and descriptions, protocol-free: what AlterConfigs,
//! IncrementalAlterConfigs and DescribeConfigs do (and [`Admin`] with
//! them), after Kafka's `ConfigAdminManager` and controller.
//!
//! Resources: TOPIC (its configs, [`catalog::TOPIC_CONFIGS`]); BROKER, this
//! node's id or `""` for the cluster-wide default (dynamic broker configs:
//! the topic-config synonyms such as `log.retention.ms` re-resolve every
//! topic that does not set its own value; `advertised.listeners`, per
//! broker only, changes the address clients are given (`advertised.rs`);
//! Sluice's other options are read-only; other names Kafka may take dynamically are kept, without
//! effect); BROKER_LOGGER, this node's id (log levels, see `logging.rs`);
//! GROUP (the KIP-848 group configs, kept per group id).
//!
//! A change is checked whole, then written to the metadata log as the
//! resource's whole new set (fsynced), then applied: every partition of
//! the topics it touches gets its configs resolved anew
//! ([`Partitions::refresh_config`]), at once, without a restart.
//! `validate_only` checks and changes nothing.
//!
//! [`Admin`]: crate::Admin
//! [`Partitions::refresh_config`]: crate::partition::Partitions::refresh_config

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use crate::advertised;
use crate::error::TopicError;
use crate::logging;
use crate::metadata::broker_configs::{self, describe_group, is_read_only_broker_config};
use crate::metadata::catalog::{self, ConfigDef, ConfigType};
use crate::metadata::{BrokerDefaults, ConfigSource, Described};
use crate::BrokerState;

/// Kafka's resource type codes (`ConfigResource.Type`).
pub const TOPIC: i8 = 2;
pub const BROKER: i8 = 4;
pub const BROKER_LOGGER: i8 = 8;
pub const GROUP: i8 = 32;

/// An IncrementalAlterConfigs operation (`AlterConfigOp.OpType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlterOp {
    Set,
    Delete,
    /// Adds items to a list config (those not in it yet).
    Append,
    /// Removes items from a list config.
    Subtract,
}

impl AlterOp {
    /// The operation of Kafka's code, or `None` for an unknown one.
    pub fn from_code(code: i8) -> Option<AlterOp> {
        match code {
            0 => Some(AlterOp::Set),
            1 => Some(AlterOp::Delete),
            2 => Some(AlterOp::Append),
            3 => Some(AlterOp::Subtract),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            AlterOp::Set => "SET",
            AlterOp::Delete => "DELETE",
            AlterOp::Append => "APPEND",
            AlterOp::Subtract => "SUBTRACT",
        }
    }
}

/// One change to one config of a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigChange {
    pub name: String,
    pub op: AlterOp,
    /// `None` only for DELETE (Kafka refuses a null value otherwise).
    pub value: Option<String>,
}

/// How a request changes a resource's configs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// IncrementalAlterConfigs: the operations, on the configs as they are.
    Incremental,
    /// AlterConfigs: the given configs become the whole set.
    Replace,
}

/// One resource of an AlterConfigs or IncrementalAlterConfigs request: its
/// type, name and changes (or why its changes were refused on decoding).
pub type AlterResource = (i8, String, Result<Vec<ConfigChange>, TopicError>);

/// The resources (type, name) that appear more than once in a request:
/// Kafka refuses each of them with INVALID_REQUEST.
fn duplicate_resources(resources: &[AlterResource]) -> HashSet<(i8, &str)> {
    let mut seen = HashSet::new();
    let mut dup = HashSet::new();
    for (t, n, _) in resources {
        if !seen.insert((*t, n.as_str())) {
            dup.insert((*t, n.as_str()));
        }
    }
    dup
}

/// Kafka's message for a resource given twice.
const DUPLICATE_RESOURCE: &str = "Each resource must appear at most once.";

/// Alters every resource of one request, each succeeding or failing on its
/// own (a resource named twice is INVALID_REQUEST), in one blocking task:
/// the changes write and fsync the metadata log. Results in request order.
pub async fn alter_resources(
    state: Arc<BrokerState>,
    resources: Vec<AlterResource>,
    mode: Mode,
    validate_only: bool,
) -> Vec<Result<(), TopicError>> {
    let count = resources.len();
    tokio::task::spawn_blocking(move || {
        let duplicates = duplicate_resources(&resources);
        let outcomes = resources
            .iter()
            .map(|(t, name, _)| duplicates.contains(&(*t, name.as_str())))
            .collect::<Vec<bool>>();
        resources
            .into_iter()
            .zip(outcomes)
            .map(|((t, name, changes), duplicate)| {
                if duplicate {
                    return Err(TopicError::InvalidRequest(DUPLICATE_RESOURCE.into()));
                }
                state.alter_configs(t, &name, &changes?, mode, validate_only)
            })
            .collect()
    })
    .await
    .unwrap_or_else(|e| {
        // The task panicked: no resource is known to be changed or not.
        // Every one gets the answer of an interrupted change (the same code).
        let message = e.to_string();
        let mut out = vec![Err(TopicError::Interrupted(e))];
        out.extend((1..count).map(|_| {
            Err(TopicError::MetadataLog(std::io::Error::other(
                message.clone(),
            )))
        }));
        out
    })
}

impl BrokerState {
    /// The broker's configs as they are now (a snapshot; replaced whole
    /// when a dynamic broker config changes).
    pub fn topic_defaults(&self) -> Arc<BrokerDefaults> {
        Arc::clone(
            &self
                .broker_defaults
                .read()
                .unwrap_or_else(|e| e.into_inner()),
        )
    }

    /// Rebuilds the broker's config layers from the metadata and the
    /// options, and returns them.
    fn reload_broker_defaults(&self) -> Arc<BrokerDefaults> {
        let defaults = Arc::new(BrokerDefaults::from_layers(
            self.metadata
                .broker_configs(&self.config.node_id.to_string()),
            self.metadata.broker_configs(""),
            broker_configs::static_layer(&self.config),
        ));
        *self
            .broker_defaults
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Arc::clone(&defaults);
        defaults
    }

    /// DescribeConfigs of one resource: every config with its value,
    /// source, synonyms and documentation.
    pub fn describe_configs(
        &self,
        resource_type: i8,
        name: &str,
    ) -> Result<Vec<Described>, TopicError> {
        match resource_type {
            TOPIC => {
                crate::metadata::validate_topic_name(name)?;
                let meta = self
                    .metadata
                    .topic(name)
                    .ok_or(TopicError::UnknownTopicOrPartition)?;
                Ok(self.topic_defaults().describe_topic(&meta))
            }
            BROKER if name.is_empty() => Ok(self.topic_defaults().describe_broker(false)),
            BROKER => {
                self.check_node_id(name, true)?;
                Ok(self.topic_defaults().describe_broker(true))
            }
            BROKER_LOGGER => {
                if name.is_empty() {
                    return Err(TopicError::InvalidRequest(
                        "Broker id must not be empty".into(),
                    ));
                }
                self.check_node_id(name, false)?;
                Ok(logging::loggers()
                    .into_iter()
                    .map(|(name, level)| Described {
                        name,
                        value: Some(level),
                        source: ConfigSource::BrokerLogger,
                        read_only: false,
                        ty: None,
                        doc: String::new(),
                        synonyms: Vec::new(),
                    })
                    .collect())
            }
            GROUP => {
                if name.is_empty() {
                    return Err(TopicError::InvalidRequest(
                        "Group name must not be empty".into(),
                    ));
                }
                Ok(describe_group(&self.metadata.group_configs(name)))
            }
            other => Err(TopicError::InvalidRequest(format!(
                "Unsupported resource type: {other}"
            ))),
        }
    }

    /// `name` must be this node's id (Kafka's messages when it is not).
    fn check_node_id(&self, name: &str, or_empty: bool) -> Result<(), TopicError> {
        let id: i32 = name.parse().map_err(|_| {
            TopicError::InvalidRequest(format!("Broker id must be an integer, but it is: {name}"))
        })?;
        if id != self.config.node_id {
            let expected = if or_empty {
                format!("{} or empty string", self.config.node_id)
            } else {
                self.config.node_id.to_string()
            };
            return Err(TopicError::InvalidRequest(format!(
                "Unexpected broker id, expected {expected}, but received {name}"
            )));
        }
        Ok(())
    }

    /// AlterConfigs / IncrementalAlterConfigs of one resource (blocking:
    /// it writes and fsyncs the metadata log).
    pub fn alter_configs(
        &self,
        resource_type: i8,
        name: &str,
        changes: &[ConfigChange],
        mode: Mode,
        validate_only: bool,
    ) -> Result<(), TopicError> {
        let mut seen = HashSet::new();
        if !changes.iter().all(|c| seen.insert(c.name.as_str())) {
            return Err(TopicError::InvalidRequest(
                "Error due to duplicate config keys".into(),
            ));
        }
        let nulls: Vec<&str> = changes
            .iter()
            .filter(|c| c.op != AlterOp::Delete && c.value.is_none())
            .map(|c| c.name.as_str())
            .collect();
        if !nulls.is_empty() {
            return Err(TopicError::InvalidRequest(format!(
                "Null value not supported for : {}",
                nulls.join(", ")
            )));
        }
        match resource_type {
            BROKER_LOGGER if mode == Mode::Replace => Err(TopicError::InvalidRequest(format!(
                "Unknown resource type {resource_type}"
            ))),
            BROKER_LOGGER => self.alter_loggers(name, changes, validate_only),
            TOPIC => self.alter_topic(name, changes, mode, validate_only),
            BROKER => self.alter_broker(name, changes, mode, validate_only),
            GROUP => self.alter_group(name, changes, mode, validate_only),
            other => Err(TopicError::InvalidRequest(format!(
                "Unknown resource type {other}"
            ))),
        }
    }

    fn alter_topic(
        &self,
        name: &str,
        changes: &[ConfigChange],
        mode: Mode,
        validate_only: bool,
    ) -> Result<(), TopicError> {
        let _changing = (!validate_only)
            .then(|| self.partitions.begin_change())
            .transpose()?;
        crate::metadata::validate_topic_name(name)?;
        let meta = self
            .metadata
            .topic(name)
            .ok_or(TopicError::UnknownTopicOrPartition)?;
        let defaults = self.topic_defaults();
        let effective = |k: &str| {
            meta.configs
                .get(k)
                .cloned()
                .or_else(|| defaults.get(k).map(str::to_string))
        };
        let proposed = apply_ops(&meta.configs, changes, mode, catalog::topic_def, effective)?;
        let mut checked = BTreeMap::new();
        for (k, v) in &proposed {
            let def = catalog::topic_def(k).ok_or_else(|| {
                TopicError::InvalidConfig(format!("Unknown topic config name: {k}"))
            })?;
            checked.insert(
                k.clone(),
                catalog::check_value(def, v).map_err(TopicError::InvalidConfig)?,
            );
        }
        catalog::check_topic_set(&checked, |k| defaults.get(k).map(str::to_string))
            .map_err(TopicError::InvalidConfig)?;
        if meta.internal {
            let policy = checked
                .get("cleanup.policy")
                .cloned()
                .or_else(|| defaults.get("cleanup.policy").map(str::to_string))
                .unwrap_or_default();
            if !catalog::list_items(&policy).contains(&"compact") {
                return Err(TopicError::PolicyViolation(format!(
                    "internal topic {name} must keep cleanup.policy compact: its coordinator replays the latest record of each key"
                )));
            }
        }
        if validate_only || checked == meta.configs {
            return Ok(());
        }
        let updated = self.metadata.set_topic_configs(name, checked)?;
        self.partitions.refresh_config(&updated, &defaults);
        tracing::info!(topic = %name, configs = ?updated.configs, "topic configs changed");
        Ok(())
    }

    fn alter_broker(
        &self,
        entity: &str,
        changes: &[ConfigChange],
        mode: Mode,
        validate_only: bool,
    ) -> Result<(), TopicError> {
        if !entity.is_empty() {
            self.check_node_id(entity, true)?;
        }
        let _changing = (!validate_only)
            .then(|| self.partitions.begin_change())
            .transpose()?;
        let current = self.metadata.broker_configs(entity);
        let defaults = self.topic_defaults();
        let broker_def = |k: &str| catalog::topic_def_of_broker_config(k).map(|(d, _)| d);
        let effective = |k: &str| defaults.broker_config(k, !entity.is_empty());
        let proposed = apply_ops(&current, changes, mode, broker_def, effective)?;
        let read_only: Vec<&str> = proposed
            .keys()
            .map(String::as_str)
            .filter(|k| is_read_only_broker_config(k))
            .collect();
        if !read_only.is_empty() {
            return Err(TopicError::InvalidRequest(format!(
                "Cannot update these configs dynamically: Set({})",
                read_only.join(", ")
            )));
        }
        if entity.is_empty() {
            let per_broker: Vec<&str> = proposed
                .keys()
                .map(String::as_str)
                .filter(|k| broker_configs::DYNAMIC_PER_BROKER.contains(k))
                .collect();
            if !per_broker.is_empty() {
                return Err(TopicError::InvalidRequest(format!(
                    "Cannot update these configs at default cluster level, broker id must be specified: [{}]",
                    per_broker.join(", ")
                )));
            }
        }
        let mut checked = BTreeMap::new();
        for (k, v) in &proposed {
            if k == advertised::ADVERTISED_LISTENERS {
                advertised::parse(v).map_err(TopicError::InvalidRequest)?;
                checked.insert(k.clone(), v.trim().to_string());
                continue;
            }
            let value = match catalog::topic_def_of_broker_config(k) {
                // Kafka answers a broker config that fails its check with
                // INVALID_REQUEST (KAFKA-13609).
                Some((def, s)) if s.unit_ms == 1 => {
                    catalog::check_value(def, v).map_err(TopicError::InvalidRequest)?
                }
                Some((def, s)) => {
                    let units: i32 = v.trim().parse().map_err(|_| {
                        TopicError::InvalidRequest(format!(
                            "Invalid value {v} for configuration {k}: Not a number of type INT"
                        ))
                    })?;
                    let ms = catalog::synonym_value(s, &units.to_string()).unwrap_or_default();
                    catalog::check_value(def, &ms).map_err(TopicError::InvalidRequest)?;
                    units.to_string()
                }
                None => v.clone(),
            };
            checked.insert(k.clone(), value);
        }
        if validate_only || checked == current {
            return Ok(());
        }
        self.metadata.set_broker_configs(entity, checked)?;
        self.refresh_advertised();
        let defaults = self.reload_broker_defaults();
        for topic in self.metadata.topics() {
            self.partitions.refresh_config(&topic, &defaults);
        }
        tracing::info!(
            broker = if entity.is_empty() {
                "<cluster default>"
            } else {
                entity
            },
            "dynamic broker configs changed"
        );
        Ok(())
    }

    fn alter_group(
        &self,
        group: &str,
        changes: &[ConfigChange],
        mode: Mode,
        validate_only: bool,
    ) -> Result<(), TopicError> {
        if group.is_empty() {
            return Err(TopicError::InvalidRequest(
                "Group name must not be empty".into(),
            ));
        }
        let _changing = (!validate_only)
            .then(|| self.partitions.begin_change())
            .transpose()?;
        let current = self.metadata.group_configs(group);
        let effective = |k: &str| {
            current
                .get(k)
                .cloned()
                .or_else(|| catalog::group_def(k).map(|d| d.default.to_string()))
        };
        let proposed = apply_ops(&current, changes, mode, catalog::group_def, effective)?;
        let mut checked = BTreeMap::new();
        for (k, v) in &proposed {
            let def = catalog::group_def(k).ok_or_else(|| {
                TopicError::InvalidConfig(format!("Unknown group config name: {k}"))
            })?;
            checked.insert(
                k.clone(),
                catalog::check_value(def, v).map_err(TopicError::InvalidConfig)?,
            );
        }
        catalog::check_group_set(&checked).map_err(TopicError::InvalidConfig)?;
        if validate_only || checked == current {
            return Ok(());
        }
        self.metadata.set_group_configs(group, checked)?;
        tracing::info!(group = %group, "group configs changed");
        Ok(())
    }

    fn alter_loggers(
        &self,
        name: &str,
        changes: &[ConfigChange],
        validate_only: bool,
    ) -> Result<(), TopicError> {
        if name.is_empty() {
            return Err(TopicError::InvalidRequest(
                "Broker id must not be empty".into(),
            ));
        }
        self.check_node_id(name, false)?;
        let mut levels = Vec::with_capacity(changes.len());
        for c in changes {
            match c.op {
                AlterOp::Set => levels.push((c.name.clone(), c.value.clone())),
                AlterOp::Delete => levels.push((c.name.clone(), None)),
                op => {
                    return Err(TopicError::InvalidRequest(format!(
                        "{} operation is not allowed for the BROKER_LOGGER resource",
                        op.name()
                    )))
                }
            }
        }
        logging::check(&levels).map_err(|(request, message)| {
            if request {
                TopicError::InvalidRequest(message)
            } else {
                TopicError::InvalidConfig(message)
            }
        })?;
        if validate_only {
            return Ok(());
        }
        logging::apply(&levels).map_err(TopicError::InvalidConfig)?;
        tracing::info!(changes = ?levels, "log levels changed");
        Ok(())
    }
}

/// The resource's configs after `changes`: SET/DELETE/APPEND/SUBTRACT on
/// `current` (APPEND/SUBTRACT only for list configs, over the value in
/// force, `effective`), or the given set for [`Mode::Replace`].
fn apply_ops(
    current: &BTreeMap<String, String>,
    changes: &[ConfigChange],
    mode: Mode,
    def_of: impl Fn(&str) -> Option<&'static ConfigDef>,
    effective: impl Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, String>, TopicError> {
    if mode == Mode::Replace {
        return Ok(changes
            .iter()
            .filter_map(|c| Some((c.name.clone(), c.value.clone()?)))
            .collect());
    }
    let mut next = current.clone();
    for c in changes {
        let value = c.value.clone().unwrap_or_default();
        match c.op {
            AlterOp::Set => {
                next.insert(c.name.clone(), value);
            }
            AlterOp::Delete => {
                next.remove(&c.name);
            }
            AlterOp::Append | AlterOp::Subtract => {
                if def_of(&c.name).is_none_or(|d| d.ty != ConfigType::List) {
                    return Err(TopicError::InvalidConfig(format!(
                        "Can't {} to key {} because its type is not LIST.",
                        c.op.name(),
                        c.name
                    )));
                }
                let base = effective(&c.name).unwrap_or_default();
                let mut items: Vec<String> = catalog::list_items(&base)
                    .into_iter()
                    .map(str::to_string)
                    .collect();
                let given = catalog::list_items(&value);
                if c.op == AlterOp::Append {
                    for item in given {
                        if !items.iter().any(|i| i == item) {
                            items.push(item.to_string());
                        }
                    }
                } else {
                    items.retain(|i| !given.contains(&i.as_str()));
                }
                next.insert(c.name.clone(), items.join(","));
            }
        }
    }
    Ok(next)
}
