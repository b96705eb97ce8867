//! Topics, their ids, partition counts and configs; node identity.
//!
//! The topic set is persisted as a small append-only metadata log,
//! `<data-dir>/__sluice_metadata/topics.log`, one record a line:
//!
//! ```text
//! create <topic-id uuid> <name> <partitions> <config-key>=<pct-encoded value> ...
//! delete <topic-id uuid>
//! partitions <topic-id uuid> <new partition count>
//! quota <key> <value | -> <type>[=<pct-encoded name>] ...
//! topic-configs <topic-id uuid> <config-key>=<pct-encoded value> ...
//! broker-configs <node id, or - for the cluster default> <key>=<value> ...
//! group-configs <pct-encoded group id> <key>=<value> ...
//! ```
//!
//! A `*-configs` line holds the whole set of configs of its topic, broker
//! entity or group after a change (AlterConfigs, IncrementalAlterConfigs),
//! replacing the set before; an empty set clears it. Logs written before
//! these lines existed read as before.
//!
//! Fields are separated by single spaces; topic names cannot contain spaces
//! (Kafka allows only `[a-zA-Z0-9._-]`) and config values are percent-encoded.
//! A line is only acted on when it ends in `\n`, so a torn last line from a
//! crash mid-write is ignored (and cut off on the next append). The log is
//! fsynced after every change, before the change is acknowledged.
//! The cluster id is kept in `<data-dir>/__sluice_metadata/cluster.id`.
//!
//! Which configs exist, their types, checks and broker synonyms are in
//! `catalog.rs`; the broker's config layers and DescribeConfigs' sources in
//! `broker_configs.rs`.
//!
//! A topic's configs are kept as strings (as set, for DescribeConfigs);
//! [`TopicConfig`] (`topic_config.rs`) is their typed form, parsed once when
//! the partition layer opens the topic.
//!
//! `quota` lines are client quotas (`client_quotas.rs`); a log written
//! before they existed has none, and an older broker skips them as
//! unreadable lines.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use dashmap::DashMap;
use sluice_storage::durable;
use uuid::Uuid;

use crate::error::TopicError;

pub mod broker_configs;
pub mod catalog;
pub mod client_quotas;
pub mod topic_config;

pub use broker_configs::{BrokerDefaults, ConfigSource, Described};
pub use topic_config::{TimestampType, TopicConfig};

/// One topic's description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicMeta {
    pub name: String,
    pub id: Uuid,
    pub partitions: i32,
    /// Configs set explicitly for this topic (not defaults).
    pub configs: BTreeMap<String, String>,
    pub internal: bool,
}

impl TopicMeta {
    /// The topic's value for `key`: explicit, else broker default, else Kafka default.
    pub fn config<'a>(&'a self, key: &str, broker_defaults: &'a BrokerDefaults) -> Option<&'a str> {
        if let Some(v) = self.configs.get(key) {
            return Some(v.as_str());
        }
        broker_defaults.get(key)
    }
}

/// The topic registry with its persistent log.
pub struct Metadata {
    topics: DashMap<String, Arc<TopicMeta>>,
    by_id: DashMap<Uuid, String>,
    log: Mutex<MetadataLog>,
    cluster_id: String,
    client_quotas: client_quotas::ClientQuotaStore,
    /// Dynamic broker configs by entity: a node id, or "" for the cluster
    /// default (Kafka names, as set).
    broker_configs: DashMap<String, BTreeMap<String, String>>,
    /// Configs set on groups, by group id.
    group_configs: DashMap<String, BTreeMap<String, String>>,
}

impl Metadata {
    /// Loads (or starts) the metadata kept under `data_dir`.
    pub fn open(data_dir: &Path) -> std::io::Result<Metadata> {
        let dir = data_dir.join(METADATA_DIR);
        durable::create_dir(&dir)?;
        let cluster_id = load_or_create_cluster_id(&dir)?;
        let (log, records) = MetadataLog::open(dir.join("topics.log"))?;
        let topics = DashMap::new();
        let by_id = DashMap::new();
        let client_quotas = client_quotas::ClientQuotaStore::default();
        let broker_configs = DashMap::new();
        let group_configs = DashMap::new();
        for record in records {
            match record {
                Record::Create(meta) => {
                    by_id.insert(meta.id, meta.name.clone());
                    topics.insert(meta.name.clone(), Arc::new(meta));
                }
                Record::Delete(id) => {
                    if let Some((_, name)) = by_id.remove(&id) {
                        topics.remove(&name);
                    }
                }
                Record::Partitions(id, count) => {
                    if let Some(name) = by_id.get(&id).map(|n| n.value().clone()) {
                        if let Some(mut meta) = topics.get_mut(&name) {
                            let mut updated = (**meta).clone();
                            updated.partitions = count;
                            *meta = Arc::new(updated);
                        }
                    }
                }
                Record::Quota(change) => client_quotas.apply(std::slice::from_ref(&change)),
                Record::TopicConfigs(id, configs) => {
                    if let Some(name) = by_id.get(&id).map(|n| n.value().clone()) {
                        if let Some(mut meta) = topics.get_mut(&name) {
                            let mut updated = (**meta).clone();
                            updated.configs = configs;
                            *meta = Arc::new(updated);
                        }
                    }
                }
                Record::BrokerConfigs(entity, configs) => {
                    broker_configs.insert(entity, configs);
                }
                Record::GroupConfigs(group, configs) => {
                    if configs.is_empty() {
                        group_configs.remove(&group);
                    } else {
                        group_configs.insert(group, configs);
                    }
                }
            }
        }
        Ok(Metadata {
            topics,
            by_id,
            log: Mutex::new(log),
            cluster_id,
            client_quotas,
            broker_configs,
            group_configs,
        })
    }

    /// Metadata that lives only in memory (`--ephemeral`): nothing is written.
    pub fn in_memory() -> Metadata {
        Metadata {
            topics: DashMap::new(),
            by_id: DashMap::new(),
            log: Mutex::new(MetadataLog {
                path: PathBuf::new(),
                file: None,
                failed: None,
            }),
            cluster_id: base64_url(Uuid::new_v4().as_bytes()),
            client_quotas: client_quotas::ClientQuotaStore::default(),
            broker_configs: DashMap::new(),
            group_configs: DashMap::new(),
        }
    }

    /// The client quotas as configured.
    pub fn client_quotas(&self) -> &client_quotas::ClientQuotaStore {
        &self.client_quotas
    }

    /// Records client quota changes durably (one write, one fsync), then
    /// applies them: enforcement sees them from the next request on.
    pub fn alter_client_quotas(
        &self,
        changes: Vec<client_quotas::QuotaChange>,
    ) -> Result<(), TopicError> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut log = self.lock_log();
        let records: Vec<Record> = changes.into_iter().map(Record::Quota).collect();
        log.append_all(&records).map_err(TopicError::MetadataLog)?;
        let changes: Vec<_> = records
            .into_iter()
            .filter_map(|r| match r {
                Record::Quota(c) => Some(c),
                _ => None,
            })
            .collect();
        self.client_quotas.apply(&changes);
        Ok(())
    }

    pub fn cluster_id(&self) -> &str {
        &self.cluster_id
    }

    pub fn topic(&self, name: &str) -> Option<Arc<TopicMeta>> {
        self.topics.get(name).map(|t| Arc::clone(t.value()))
    }

    pub fn topic_by_id(&self, id: &Uuid) -> Option<Arc<TopicMeta>> {
        let name = self.by_id.get(id)?.value().clone();
        self.topic(&name)
    }

    /// All topics, sorted by name.
    pub fn topics(&self) -> Vec<Arc<TopicMeta>> {
        let mut all: Vec<_> = self.topics.iter().map(|t| Arc::clone(t.value())).collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    /// Records a new topic durably. The caller has validated it.
    pub fn create(&self, meta: TopicMeta) -> Result<Arc<TopicMeta>, TopicError> {
        let mut log = self.lock_log();
        if self.topics.contains_key(&meta.name) {
            return Err(TopicError::AlreadyExists(meta.name.clone()));
        }
        log.append(&Record::Create(meta.clone()))
            .map_err(TopicError::MetadataLog)?;
        let meta = Arc::new(meta);
        self.by_id.insert(meta.id, meta.name.clone());
        self.topics.insert(meta.name.clone(), Arc::clone(&meta));
        Ok(meta)
    }

    /// Removes a topic durably; returns what it was.
    pub fn delete(&self, name: &str) -> Result<Arc<TopicMeta>, TopicError> {
        let mut log = self.lock_log();
        let meta = self
            .topic(name)
            .ok_or(TopicError::UnknownTopicOrPartition)?;
        log.append(&Record::Delete(meta.id))
            .map_err(TopicError::MetadataLog)?;
        self.topics.remove(name);
        self.by_id.remove(&meta.id);
        Ok(meta)
    }

    /// Raises a topic's partition count durably (CreatePartitions).
    pub fn set_partition_count(
        &self,
        name: &str,
        count: i32,
    ) -> Result<Arc<TopicMeta>, TopicError> {
        let mut log = self.lock_log();
        let meta = self
            .topic(name)
            .ok_or(TopicError::UnknownTopicOrPartition)?;
        log.append(&Record::Partitions(meta.id, count))
            .map_err(TopicError::MetadataLog)?;
        let mut updated = (*meta).clone();
        updated.partitions = count;
        let updated = Arc::new(updated);
        self.topics.insert(name.to_string(), Arc::clone(&updated));
        Ok(updated)
    }

    /// Replaces a topic's explicit configs durably (AlterConfigs and
    /// IncrementalAlterConfigs; the caller has validated them).
    pub fn set_topic_configs(
        &self,
        name: &str,
        configs: BTreeMap<String, String>,
    ) -> Result<Arc<TopicMeta>, TopicError> {
        let mut log = self.lock_log();
        let meta = self
            .topic(name)
            .ok_or(TopicError::UnknownTopicOrPartition)?;
        log.append(&Record::TopicConfigs(meta.id, configs.clone()))
            .map_err(TopicError::MetadataLog)?;
        let mut updated = (*meta).clone();
        updated.configs = configs;
        let updated = Arc::new(updated);
        self.topics.insert(name.to_string(), Arc::clone(&updated));
        Ok(updated)
    }

    /// The dynamic configs of a broker entity: a node id, or "" for the
    /// cluster default.
    pub fn broker_configs(&self, entity: &str) -> BTreeMap<String, String> {
        self.broker_configs
            .get(entity)
            .map(|c| c.value().clone())
            .unwrap_or_default()
    }

    /// Replaces a broker entity's dynamic configs durably.
    pub fn set_broker_configs(
        &self,
        entity: &str,
        configs: BTreeMap<String, String>,
    ) -> Result<(), TopicError> {
        let mut log = self.lock_log();
        log.append(&Record::BrokerConfigs(entity.to_string(), configs.clone()))
            .map_err(TopicError::MetadataLog)?;
        self.broker_configs.insert(entity.to_string(), configs);
        Ok(())
    }

    /// The configs set on a group (none for a group never configured).
    pub fn group_configs(&self, group: &str) -> BTreeMap<String, String> {
        self.group_configs
            .get(group)
            .map(|c| c.value().clone())
            .unwrap_or_default()
    }

    /// Replaces a group's configs durably; an empty set forgets the group.
    pub fn set_group_configs(
        &self,
        group: &str,
        configs: BTreeMap<String, String>,
    ) -> Result<(), TopicError> {
        let mut log = self.lock_log();
        log.append(&Record::GroupConfigs(group.to_string(), configs.clone()))
            .map_err(TopicError::MetadataLog)?;
        if configs.is_empty() {
            self.group_configs.remove(group);
        } else {
            self.group_configs.insert(group.to_string(), configs);
        }
        Ok(())
    }

    fn lock_log(&self) -> std::sync::MutexGuard<'_, MetadataLog> {
        // A panic while holding this lock cannot leave the log half-written
        // in memory (append is all-or-nothing on the file), so recover.
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Kafka's topic name rule: 1–249 chars of `[a-zA-Z0-9._-]`, not `.` or `..`.
/// Creates an internal, compacted topic kept forever (`__consumer_offsets`,
/// `__transaction_state`) unless it exists; an existing one keeps its
/// partition count. `segment_bytes` is Kafka's setting for that topic.
pub fn ensure_internal_topic(
    metadata: &Metadata,
    name: &str,
    partitions: i32,
    segment_bytes: &str,
) -> Result<(), TopicError> {
    if let Some(existing) = metadata.topic(name) {
        if existing.partitions != partitions {
            tracing::warn!(
                topic = name,
                existing = existing.partitions,
                configured = partitions,
                "an internal topic keeps the partition count it was created with"
            );
        }
        return Ok(());
    }
    let configs = [
        ("cleanup.policy", "compact"),
        ("retention.ms", "-1"),
        ("retention.bytes", "-1"),
        ("segment.bytes", segment_bytes),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    metadata.create(TopicMeta {
        name: name.to_string(),
        id: Uuid::new_v4(),
        partitions,
        configs,
        internal: true,
    })?;
    tracing::info!(topic = name, partitions, "created internal topic");
    Ok(())
}

/// The broker's own directory inside the data directory: the metadata
/// log, the cluster id, producer id blocks, the creation intent.
pub const METADATA_DIR: &str = "__sluice_metadata";

pub fn validate_topic_name(name: &str) -> Result<(), TopicError> {
    if name.is_empty() {
        return Err(TopicError::InvalidTopic("topic name is empty".into()));
    }
    if name == "." || name == ".." {
        return Err(TopicError::InvalidTopic(format!("{name:?} is not allowed")));
    }
    if name.len() > 249 {
        return Err(TopicError::InvalidTopic(format!(
            "topic name is {} characters, more than 249",
            name.len()
        )));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(TopicError::InvalidTopic(format!(
            "topic name {name:?} contains {c:?}; only [a-zA-Z0-9._-] are allowed"
        )));
    }
    Ok(())
}

/// Checks one topic config key and value (INVALID_CONFIG for an unknown
/// key or a bad value, with Kafka's message).
pub fn validate_topic_config(key: &str, value: &str) -> Result<(), TopicError> {
    let def = catalog::topic_def(key)
        .ok_or_else(|| TopicError::InvalidConfig(format!("Unknown topic config name: {key}")))?;
    catalog::check_value(def, value)
        .map(|_| ())
        .map_err(TopicError::InvalidConfig)
}

enum Record {
    Create(TopicMeta),
    Delete(Uuid),
    Partitions(Uuid, i32),
    Quota(client_quotas::QuotaChange),
    /// A topic's whole set of explicit configs, replacing the one before.
    TopicConfigs(Uuid, BTreeMap<String, String>),
    /// A broker entity's whole set of dynamic configs ("" = cluster default).
    BrokerConfigs(String, BTreeMap<String, String>),
    /// A group's whole set of configs.
    GroupConfigs(String, BTreeMap<String, String>),
}

struct MetadataLog {
    path: PathBuf,
    /// None in memory-only mode.
    file: Option<File>,
    /// Why an append failed, after which the log takes no more.
    failed: Option<String>,
}

impl MetadataLog {
    fn open(path: PathBuf) -> std::io::Result<(MetadataLog, Vec<Record>)> {
        let text = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        let mut records = Vec::new();
        let mut complete_len = 0usize;
        let mut start = 0usize;
        while let Some(nl) = text.iter().skip(start).position(|b| *b == b'\n') {
            let end = start + nl;
            let line = String::from_utf8_lossy(text.get(start..end).unwrap_or_default());
            match parse_record(&line) {
                Some(r) => records.push(r),
                None => {
                    tracing::warn!(path = %path.display(), line = %line, "ignoring unreadable metadata record")
                }
            }
            start = end + 1;
            complete_len = start;
        }
        if complete_len < text.len() {
            tracing::warn!(
                path = %path.display(),
                bytes = text.len() - complete_len,
                "cutting a torn last metadata record"
            );
            let f = OpenOptions::new().write(true).open(&path)?;
            f.set_len(complete_len as u64)?;
            durable::sync_all(&f)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        if let Some(parent) = path.parent() {
            durable::sync_dir(parent)?;
        }
        Ok((
            MetadataLog {
                path,
                file: Some(file),
                failed: None,
            },
            records,
        ))
    }

    /// Appends `record` and fsyncs it. After a failed write or fsync the log
    /// refuses every later append until the broker restarts: the file may end
    /// in a torn line (which a later line would be glued to), and after a
    /// failed fsync the page cache cannot be trusted. A restart cuts the torn
    /// line and reads what is on disk.
    fn append(&mut self, record: &Record) -> std::io::Result<()> {
        self.append_all(std::slice::from_ref(record))
    }

    /// Appends `records` with one write and one fsync (see [`Self::append`]).
    fn append_all(&mut self, records: &[Record]) -> std::io::Result<()> {
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        if let Some(earlier) = &self.failed {
            return Err(std::io::Error::other(format!(
                "the metadata log refuses writes until restart after an earlier failure: {earlier}"
            )));
        }
        let line: String = records.iter().map(format_record).collect();
        let before = file.metadata()?.len();
        if let Err(e) = file
            .write_all(line.as_bytes())
            .and_then(|()| durable::sync_data(file))
        {
            tracing::error!(path = %self.path.display(), error = %e,
                "metadata log write or fsync failed; refusing metadata changes until restart");
            self.failed = Some(e.to_string());
            // Best effort: the change was refused, so the file should not
            // keep it either.
            let _ = file.set_len(before);
            return Err(e);
        }
        tracing::debug!(path = %self.path.display(), record = %line.trim_end(), "metadata record written");
        Ok(())
    }
}

fn format_record(record: &Record) -> String {
    match record {
        Record::Create(m) => {
            let mut line = format!(
                "create {} {} {}{}",
                m.id,
                m.name,
                m.partitions,
                if m.internal { " !internal" } else { "" }
            );
            for (k, v) in &m.configs {
                line.push(' ');
                line.push_str(&pct_encode(k));
                line.push('=');
                line.push_str(&pct_encode(v));
            }
            line.push('\n');
            line
        }
        Record::Delete(id) => format!("delete {id}\n"),
        Record::Partitions(id, count) => format!("partitions {id} {count}\n"),
        Record::Quota(change) => client_quotas::format_change(change),
        Record::TopicConfigs(id, configs) => config_line(&format!("topic-configs {id}"), configs),
        Record::BrokerConfigs(entity, configs) => {
            let entity = if entity.is_empty() { "-" } else { entity };
            config_line(&format!("broker-configs {entity}"), configs)
        }
        Record::GroupConfigs(group, configs) => {
            config_line(&format!("group-configs {}", pct_encode(group)), configs)
        }
    }
}

/// `head` followed by ` key=value` for each config, pct-encoded, and `\n`.
fn config_line(head: &str, configs: &BTreeMap<String, String>) -> String {
    let mut line = head.to_string();
    for (k, v) in configs {
        line.push(' ');
        line.push_str(&pct_encode(k));
        line.push('=');
        line.push_str(&pct_encode(v));
    }
    line.push('\n');
    line
}

/// The `key=value` fields of a line, decoded; `None` if one is malformed.
fn parse_configs<'a>(parts: impl Iterator<Item = &'a str>) -> Option<BTreeMap<String, String>> {
    let mut configs = BTreeMap::new();
    for kv in parts {
        let (k, v) = kv.split_once('=')?;
        configs.insert(pct_decode(k)?, pct_decode(v)?);
    }
    Some(configs)
}

fn parse_record(line: &str) -> Option<Record> {
    let mut parts = line.split(' ');
    match parts.next()? {
        "create" => {
            let id = Uuid::parse_str(parts.next()?).ok()?;
            let name = parts.next()?.to_string();
            let partitions: i32 = parts.next()?.parse().ok()?;
            // The file is not trusted: a name that is no topic name would
            // make directories outside the data directory.
            if validate_topic_name(&name).is_err() || partitions < 1 {
                return None;
            }
            let mut configs = BTreeMap::new();
            let mut internal = false;
            for kv in parts {
                if kv == "!internal" {
                    internal = true;
                    continue;
                }
                let (k, v) = kv.split_once('=')?;
                configs.insert(pct_decode(k)?, pct_decode(v)?);
            }
            Some(Record::Create(TopicMeta {
                name,
                id,
                partitions,
                configs,
                internal,
            }))
        }
        "delete" => Some(Record::Delete(Uuid::parse_str(parts.next()?).ok()?)),
        "partitions" => {
            let id = Uuid::parse_str(parts.next()?).ok()?;
            let count: i32 = parts.next()?.parse().ok()?;
            (count >= 1).then_some(Record::Partitions(id, count))
        }
        "quota" => client_quotas::parse_change(parts).map(Record::Quota),
        "topic-configs" => {
            let id = Uuid::parse_str(parts.next()?).ok()?;
            Some(Record::TopicConfigs(id, parse_configs(parts)?))
        }
        "broker-configs" => {
            let entity = match parts.next()? {
                "-" => String::new(),
                id => id.parse::<i32>().ok()?.to_string(),
            };
            Some(Record::BrokerConfigs(entity, parse_configs(parts)?))
        }
        "group-configs" => {
            let group = pct_decode(parts.next()?)?;
            if group.is_empty() {
                return None;
            }
            Some(Record::GroupConfigs(group, parse_configs(parts)?))
        }
        _ => None,
    }
}

fn pct_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b',') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn pct_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = *bytes.get(i)?;
        if b == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The cluster id from `cluster.id`, or a new one. The file is untrusted input:
/// anything but a Kafka cluster id (22 characters of url-safe base64) is logged
/// and replaced, never served to clients as is, and never stops the start.
fn load_or_create_cluster_id(dir: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let path = dir.join("cluster.id");
    let mut text = String::new();
    let read = std::fs::File::open(&path).and_then(|f| {
        // A cluster id is 22 bytes; 64 are enough to tell one from garbage.
        let mut bytes = Vec::new();
        f.take(64).read_to_end(&mut bytes)?;
        text = String::from_utf8_lossy(&bytes).into_owned();
        Ok(())
    });
    match read {
        Ok(()) => {
            let id = text.trim();
            if is_cluster_id(id) {
                return Ok(id.to_string());
            }
            tracing::warn!(file = %path.display(), found = ?text,
                "cluster.id does not hold a cluster id; a new one is made (clients see a new cluster)");
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::warn!(file = %path.display(), error = %e,
                "cannot read cluster.id; a new cluster id is made (clients see a new cluster)");
        }
    }
    let id = base64_url(Uuid::new_v4().as_bytes());
    durable::replace_file(&path, id.as_bytes())?;
    Ok(id)
}

/// Whether `id` is shaped like a Kafka cluster id: a UUID's 16 bytes in url-safe
/// base64 without padding.
fn is_cluster_id(id: &str) -> bool {
    id.len() == 22
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub(crate) fn base64_url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b0 = chunk.first().copied().unwrap_or(0) as u32;
        let b1 = chunk.get(1).copied().unwrap_or(0) as u32;
        let b2 = chunk.get(2).copied().unwrap_or(0) as u32;
        let n = (b0 << 16) | (b1 << 8) | b2;
        let chars = chunk.len() + 1;
        for i in 0..chars {
            let idx = ((n >> (18 - 6 * i)) & 63) as usize;
            out.push(ALPHABET[idx] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(name: &str) -> TopicMeta {
        let mut configs = BTreeMap::new();
        configs.insert("retention.ms".to_string(), "1000".to_string());
        configs.insert("x y".to_string(), "a=b c%".to_string());
        TopicMeta {
            name: name.to_string(),
            id: Uuid::new_v4(),
            partitions: 3,
            configs,
            internal: false,
        }
    }

    #[test]
    fn topics_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let a = meta("a");
        let cluster;
        {
            let m = Metadata::open(dir.path()).unwrap();
            cluster = m.cluster_id().to_string();
            m.create(a.clone()).unwrap();
            m.create(meta("b")).unwrap();
            m.delete("b").unwrap();
            assert!(matches!(
                m.create(meta("a")),
                Err(TopicError::AlreadyExists(_))
            ));
        }
        let m = Metadata::open(dir.path()).unwrap();
        assert_eq!(m.cluster_id(), cluster);
        assert_eq!(cluster.len(), 22);
        assert_eq!(*m.topic("a").unwrap(), a);
        assert_eq!(m.topic_by_id(&a.id).unwrap().name, "a");
        assert!(m.topic("b").is_none());
    }

    #[test]
    fn config_changes_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let set = |kv: &[(&str, &str)]| -> BTreeMap<String, String> {
            kv.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        {
            let m = Metadata::open(dir.path()).unwrap();
            m.create(meta("a")).unwrap();
            m.set_topic_configs("a", set(&[("cleanup.policy", "compact,delete")]))
                .unwrap();
            m.set_broker_configs("", set(&[("log.retention.ms", "5 000")]))
                .unwrap();
            m.set_broker_configs("0", set(&[("log.segment.bytes", "2048")]))
                .unwrap();
            m.set_group_configs("g 1", set(&[("consumer.session.timeout.ms", "50000")]))
                .unwrap();
            m.set_group_configs("gone", set(&[("share.session.timeout.ms", "50000")]))
                .unwrap();
            m.set_group_configs("gone", BTreeMap::new()).unwrap();
            assert!(matches!(
                m.set_topic_configs("nope", BTreeMap::new()),
                Err(TopicError::UnknownTopicOrPartition)
            ));
        }
        let m = Metadata::open(dir.path()).unwrap();
        assert_eq!(
            m.topic("a").unwrap().configs,
            set(&[("cleanup.policy", "compact,delete")])
        );
        assert_eq!(m.broker_configs(""), set(&[("log.retention.ms", "5 000")]));
        assert_eq!(m.broker_configs("0"), set(&[("log.segment.bytes", "2048")]));
        assert!(m.broker_configs("1").is_empty());
        assert_eq!(
            m.group_configs("g 1"),
            set(&[("consumer.session.timeout.ms", "50000")])
        );
        assert!(m.group_configs("gone").is_empty());
        // Lines that name no entity are not acted on.
        assert!(parse_record("broker-configs x a=b").is_none());
        assert!(parse_record("group-configs  a=b").is_none());
        assert!(parse_record("topic-configs not-a-uuid a=b").is_none());
    }

    #[test]
    fn records_naming_no_topic_or_no_partitions_are_ignored() {
        let id = Uuid::new_v4();
        assert!(parse_record(&format!("create {id} ../escape 1")).is_none());
        assert!(parse_record(&format!("create {id} t 0")).is_none());
        assert!(parse_record(&format!("create {id} t -5")).is_none());
        assert!(parse_record(&format!("partitions {id} 0")).is_none());
        assert!(parse_record(&format!("create {id} t 2")).is_some());
        assert!(parse_record(&format!("partitions {id} 3")).is_some());
    }

    #[test]
    fn torn_last_record_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        {
            let m = Metadata::open(dir.path()).unwrap();
            m.create(meta("a")).unwrap();
        }
        let path = dir.path().join("__sluice_metadata/topics.log");
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"create 1234 half").unwrap();
        drop(f);
        let m = Metadata::open(dir.path()).unwrap();
        assert_eq!(m.topics().len(), 1);
        m.create(meta("c")).unwrap();
        drop(m);
        let m = Metadata::open(dir.path()).unwrap();
        assert_eq!(m.topics().len(), 2);
    }

    #[test]
    fn the_log_refuses_appends_after_a_failed_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("topics.log");
        let (mut log, _) = MetadataLog::open(path.clone()).unwrap();
        log.append(&Record::Create(meta("a"))).unwrap();
        // A handle that cannot write: the next append fails.
        log.file = Some(File::open(&path).unwrap());
        assert!(log.append(&Record::Create(meta("b"))).is_err());
        // Writable again, yet refused until the log is reopened.
        log.file = Some(OpenOptions::new().append(true).open(&path).unwrap());
        assert!(log.append(&Record::Create(meta("c"))).is_err());
        drop(log);
        let (mut log, records) = MetadataLog::open(path).unwrap();
        assert_eq!(records.len(), 1);
        log.append(&Record::Create(meta("d"))).unwrap();
    }

    #[test]
    fn client_quotas_survive_reopen() {
        use client_quotas::{EntityName, QuotaChange, QuotaEntity, QuotaKind};
        let dir = tempfile::tempdir().unwrap();
        let alice = QuotaEntity {
            user: Some(EntityName::Named("alice".into())),
            client_id: Some(EntityName::Default),
            ip: None,
        };
        let set = |key: &str, value| QuotaChange {
            entity: alice.clone(),
            key: key.into(),
            value,
        };
        {
            let m = Metadata::open(dir.path()).unwrap();
            m.create(meta("a")).unwrap();
            m.alter_client_quotas(vec![
                set("producer_byte_rate", Some(1024.0)),
                set("request_percentage", Some(50.0)),
            ])
            .unwrap();
            m.alter_client_quotas(vec![set("request_percentage", None)])
                .unwrap();
        }
        let m = Metadata::open(dir.path()).unwrap();
        assert!(m.topic("a").is_some());
        let quotas = m.client_quotas();
        assert!(quotas.enabled(QuotaKind::Produce));
        assert!(!quotas.enabled(QuotaKind::Request));
        let values = quotas.with_quotas(|t| t.get(&alice).cloned()).unwrap();
        assert_eq!(
            values.into_iter().collect::<Vec<_>>(),
            [("producer_byte_rate".to_string(), 1024.0)]
        );
    }

    #[test]
    fn topic_names() {
        assert!(validate_topic_name("ok.topic_1-x").is_ok());
        assert!(validate_topic_name("").is_err());
        assert!(validate_topic_name("..").is_err());
        assert!(validate_topic_name("a b").is_err());
        assert!(validate_topic_name(&"x".repeat(250)).is_err());
    }

    #[test]
    fn topic_configs() {
        assert!(validate_topic_config("retention.ms", "-1").is_ok());
        assert!(validate_topic_config("retention.ms", "soon").is_err());
        assert!(validate_topic_config("message.timestamp.type", "LogAppendTime").is_ok());
        assert!(validate_topic_config("no.such", "1").is_err());
    }
}
