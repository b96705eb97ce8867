//! [`Admin`]: the broker's administration as plain Rust calls.
//!
//! What Kafka's admin client does over the wire (topics, configs, consumer
//! groups and their offsets, producers and transactions), without a
//! client, without the protocol's types. The Kafka API handlers answer the
//! same questions through the functions here or the same domain calls, so
//! an embedded test, a future HTTP API or CLI and a Kafka admin client all
//! see one implementation.
//!
//! Operations that write (create, delete, alter) are `async`: they return
//! once the change is durable, as the Kafka API answers. Reads are
//! immediate.
//!
//! ```no_run
//! # async fn example(broker: &sluice::Broker) -> Result<(), sluice::AdminError> {
//! use sluice::admin::NewTopic;
//!
//! let admin = broker.admin();
//! admin.create_topic(NewTopic::new("events", 3).config("cleanup.policy", "compact")).await?;
//! let topic = admin.describe_topic("events")?;
//! assert_eq!(topic.partitions, 3);
//! for group in admin.list_groups() {
//!     println!("{} is {}", group.group_id, group.state);
//! }
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use kafka_protocol::ResponseError;

use crate::config_admin::{self, AlterOp, ConfigChange, Mode};
use crate::error::{ErrorCode, GroupError, PartitionError, TopicError, TxnError};
use crate::group::operations::DeletePartition;
use crate::group::records::OffsetValue;
use crate::metadata;
use crate::txn::state::{TxnMetadata, TxnState};
use crate::BrokerState;

pub use crate::reset::ResetSummary;

/// A handle on a running broker's administration; [`Broker::admin`]
/// makes one. Cloning is cheap. After [`Broker::shutdown`] its writes
/// fail with retriable errors (the broker is gone) and reads answer from
/// what was last in memory; nothing panics.
///
/// [`Broker::admin`]: crate::Broker::admin
/// [`Broker::shutdown`]: crate::Broker::shutdown
#[derive(Clone)]
pub struct Admin {
    state: Arc<BrokerState>,
}

impl fmt::Debug for Admin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Admin").finish_non_exhaustive()
    }
}

/// Kafka's printed form of a topic or cluster id: url-safe base64 of its 16
/// bytes without padding (`Uuid.toString()` in Kafka's clients).
pub fn kafka_uuid(id: &uuid::Uuid) -> String {
    crate::metadata::base64_url(id.as_bytes())
}

/// Kafka's name for an error code, as its documentation and logs spell it:
/// `TOPIC_ALREADY_EXISTS`, `NOT_LEADER_OR_FOLLOWER`, `NONE` for 0,
/// `UNKNOWN_ERROR_CODE_N` for a code Kafka does not define. The one
/// conversion: the admin facade, the fault rules and the CLI use it.
pub fn error_name(code: i16) -> String {
    let Some(e) = ResponseError::try_from_code(code) else {
        return "NONE".into();
    };
    if let ResponseError::Unknown(c) = e {
        return format!("UNKNOWN_ERROR_CODE_{c}");
    }
    let camel = format!("{e:?}");
    let mut name = String::with_capacity(camel.len() + 8);
    let mut prev_lower = false;
    for c in camel.chars() {
        if c.is_ascii_uppercase() && prev_lower {
            name.push('_');
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        name.push(c.to_ascii_uppercase());
    }
    name
}

/// A failed admin operation: Kafka's error code and name for it, and what
/// went wrong. The code is the one a Kafka client would have received for
/// the same request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminError {
    code: i16,
    message: String,
}

impl AdminError {
    fn new(code: i16, message: impl Into<String>) -> Self {
        AdminError {
            code,
            message: message.into(),
        }
    }

    /// Kafka's error code (`UNKNOWN_TOPIC_OR_PARTITION` is 3, and so on).
    pub fn code(&self) -> i16 {
        self.code
    }

    /// Kafka's name for the error, as its documentation and logs spell it:
    /// `TOPIC_ALREADY_EXISTS`, `GROUP_ID_NOT_FOUND`, ...
    pub fn name(&self) -> String {
        error_name(self.code)
    }

    /// Whether Kafka's clients retry this error (the broker is loading or
    /// stopping, for instance).
    pub fn is_retriable(&self) -> bool {
        ResponseError::try_from_code(self.code).is_some_and(|e| e.is_retriable())
    }

    /// What went wrong, in words.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for AdminError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name(), self.message)
    }
}

impl std::error::Error for AdminError {}

impl From<TopicError> for AdminError {
    fn from(e: TopicError) -> Self {
        AdminError::new(e.code(), e.to_string())
    }
}

impl From<GroupError> for AdminError {
    fn from(e: GroupError) -> Self {
        AdminError::new(e.code(), e.to_string())
    }
}

impl From<TxnError> for AdminError {
    fn from(e: TxnError) -> Self {
        AdminError::new(e.code(), e.to_string())
    }
}

impl From<PartitionError> for AdminError {
    fn from(e: PartitionError) -> Self {
        AdminError::new(e.code(), e.to_string())
    }
}

/// A topic to create: name, partition count and the configs set on it
/// (the rest take the broker's defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewTopic {
    pub name: String,
    pub partitions: i32,
    pub configs: BTreeMap<String, String>,
}

impl NewTopic {
    /// `partitions` partitions, no configs of its own.
    pub fn new(name: impl Into<String>, partitions: i32) -> Self {
        NewTopic {
            name: name.into(),
            partitions,
            configs: BTreeMap::new(),
        }
    }

    /// Sets a topic config (`retention.ms`, `cleanup.policy`, ... the keys
    /// Kafka's topic configs have); validated on creation.
    pub fn config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.configs.insert(key.into(), value.into());
        self
    }
}

/// Where a config's effective value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigSource {
    /// Set on the topic itself.
    Topic,
    /// A broker option (the command line, its environment or file, or
    /// [`Config`](crate::Config)): Kafka's STATIC_BROKER_CONFIG.
    Broker,
    /// Set at run time for this broker (DYNAMIC_BROKER_CONFIG).
    DynamicBroker,
    /// Set at run time for every broker, the cluster default
    /// (DYNAMIC_DEFAULT_BROKER_CONFIG).
    DynamicDefaultBroker,
    /// Kafka's default; nothing set it.
    Default,
    /// A logger's level (DYNAMIC_BROKER_LOGGER_CONFIG).
    BrokerLogger,
    /// Set on the group (GROUP_CONFIG).
    Group,
}

impl From<metadata::ConfigSource> for ConfigSource {
    fn from(s: metadata::ConfigSource) -> Self {
        match s {
            metadata::ConfigSource::Topic => ConfigSource::Topic,
            metadata::ConfigSource::StaticBroker => ConfigSource::Broker,
            metadata::ConfigSource::DynamicBroker => ConfigSource::DynamicBroker,
            metadata::ConfigSource::DynamicDefaultBroker => ConfigSource::DynamicDefaultBroker,
            metadata::ConfigSource::Default => ConfigSource::Default,
            metadata::ConfigSource::BrokerLogger => ConfigSource::BrokerLogger,
            metadata::ConfigSource::Group => ConfigSource::Group,
        }
    }
}

/// One config with its effective value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigEntry {
    pub name: String,
    /// None where Kafka answers a null value (a broker config with no value
    /// set and no default of its own).
    pub value: Option<String>,
    pub source: ConfigSource,
    /// Cannot be changed while the broker runs.
    pub read_only: bool,
    /// Where else a value for it is set, the one in force first (Kafka's
    /// synonyms).
    pub synonyms: Vec<(String, String, ConfigSource)>,
}

impl From<metadata::Described> for ConfigEntry {
    fn from(d: metadata::Described) -> Self {
        ConfigEntry {
            name: d.name,
            value: d.value,
            source: d.source.into(),
            read_only: d.read_only,
            synonyms: d
                .synonyms
                .into_iter()
                .map(|s| (s.name, s.value, s.source.into()))
                .collect(),
        }
    }
}

/// What a config change applies to (Kafka's config resources).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigResource {
    /// A topic's configs.
    Topic(String),
    /// Dynamic broker configs: `Some(node id)` for this broker, `None` for
    /// the cluster-wide default.
    Broker(Option<i32>),
    /// Log levels of this broker (by node id).
    BrokerLogger(i32),
    /// A group's configs (KIP-848 group configs).
    Group(String),
}

impl ConfigResource {
    fn wire(&self) -> (i8, String) {
        match self {
            ConfigResource::Topic(t) => (config_admin::TOPIC, t.clone()),
            ConfigResource::Broker(id) => (
                config_admin::BROKER,
                id.map(|i| i.to_string()).unwrap_or_default(),
            ),
            ConfigResource::BrokerLogger(id) => (config_admin::BROKER_LOGGER, id.to_string()),
            ConfigResource::Group(g) => (config_admin::GROUP, g.clone()),
        }
    }
}

/// One change of [`Admin::incremental_alter_configs`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigOp {
    /// Sets a config to a value.
    Set(String, String),
    /// Removes the resource's own value: the default applies again.
    Delete(String),
    /// Adds items to a list config.
    Append(String, String),
    /// Removes items from a list config.
    Subtract(String, String),
}

impl ConfigOp {
    fn change(&self) -> ConfigChange {
        let (name, op, value) = match self {
            ConfigOp::Set(k, v) => (k, AlterOp::Set, Some(v.clone())),
            ConfigOp::Delete(k) => (k, AlterOp::Delete, None),
            ConfigOp::Append(k, v) => (k, AlterOp::Append, Some(v.clone())),
            ConfigOp::Subtract(k, v) => (k, AlterOp::Subtract, Some(v.clone())),
        };
        ConfigChange {
            name: name.clone(),
            op,
            value,
        }
    }
}

/// A topic as the broker holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TopicDescription {
    pub name: String,
    /// The topic id (a UUID, hyphenated) Kafka's newer APIs name it by.
    pub id: String,
    pub partitions: i32,
    /// `__consumer_offsets` and `__transaction_state`.
    pub internal: bool,
    /// Every topic config Sluice knows, with its effective value.
    pub configs: Vec<ConfigEntry>,
}

/// A consumer group in [`Admin::list_groups`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupListing {
    pub group_id: String,
    /// `consumer` for Kafka consumers; empty for a group that only commits
    /// offsets.
    pub protocol_type: String,
    /// Kafka's state name: `Empty`, `PreparingRebalance`,
    /// `CompletingRebalance`, `Stable` or `Dead`.
    pub state: String,
}

/// A consumer group and its members.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupDescription {
    pub group_id: String,
    pub state: String,
    pub protocol_type: String,
    /// The assignor the members agreed on (`range`, ...), for Stable groups.
    pub protocol: String,
    pub members: Vec<MemberDescription>,
}

/// One member of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemberDescription {
    pub member_id: String,
    /// Static membership's `group.instance.id`.
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    /// The member's subscription, as its client encoded it (Stable groups
    /// only, as in Kafka).
    pub metadata: Vec<u8>,
    /// The member's assignment, as the leader encoded it (Stable only).
    pub assignment: Vec<u8>,
}

/// A committed offset of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CommittedOffset {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// -1 when the client did not give one.
    pub leader_epoch: i32,
    pub metadata: String,
}

/// A producer a partition remembers (idempotent or transactional).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProducerDescription {
    pub producer_id: i64,
    pub epoch: i16,
    /// -1 if none is remembered.
    pub last_sequence: i32,
    pub last_timestamp: i64,
    /// First offset of its open transaction in this partition, if any.
    pub current_txn_start_offset: Option<i64>,
}

/// Which transactions [`Admin::list_transactions`] lists; the default
/// lists all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransactionFilter {
    /// Kafka's state names (`Ongoing`, `CompleteCommit`, ...); empty for
    /// any.
    pub states: Vec<String>,
    /// Empty for any.
    pub producer_ids: Vec<i64>,
    /// Only transactions open longer than this.
    pub min_duration_ms: Option<i64>,
}

impl TransactionFilter {
    /// Every transaction.
    pub fn all() -> Self {
        Self::default()
    }

    /// Only those in `state` (may be repeated).
    pub fn state(mut self, state: impl Into<String>) -> Self {
        self.states.push(state.into());
        self
    }

    /// Only that producer's (may be repeated).
    pub fn producer_id(mut self, producer_id: i64) -> Self {
        self.producer_ids.push(producer_id);
        self
    }

    /// Only transactions open longer than `ms`.
    pub fn open_longer_than_ms(mut self, ms: i64) -> Self {
        self.min_duration_ms = Some(ms);
        self
    }

    fn matches(&self, m: &TxnMetadata, now: i64) -> bool {
        (self.states.is_empty() || self.states.iter().any(|s| s == m.state.name()))
            && (self.producer_ids.is_empty() || self.producer_ids.contains(&m.producer_id))
            && self.min_duration_ms.is_none_or(|min| {
                min < 0
                    || (m.state == TxnState::Ongoing
                        && m.txn_start_ms >= 0
                        && now.saturating_sub(m.txn_start_ms) > min)
            })
    }
}

/// A transactional id in [`Admin::list_transactions`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransactionListing {
    pub transactional_id: String,
    pub producer_id: i64,
    /// Kafka's state name (`Empty`, `Ongoing`, `PrepareCommit`, ...).
    pub state: String,
}

/// A transactional id's coordinator state.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransactionDescription {
    pub transactional_id: String,
    pub state: String,
    pub timeout_ms: i32,
    /// When the open transaction started (-1 if none is open).
    pub start_time_ms: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    /// The partitions of the open transaction, by topic then index.
    pub partitions: Vec<(String, i32)>,
}

/// Every state a transaction can be in; a state filter naming anything
/// else matches nothing.
const TXN_STATES: [TxnState; 8] = [
    TxnState::Empty,
    TxnState::Ongoing,
    TxnState::PrepareCommit,
    TxnState::PrepareAbort,
    TxnState::CompleteCommit,
    TxnState::CompleteAbort,
    TxnState::Dead,
    TxnState::PrepareEpochFence,
];

/// Whether `name` is one of Kafka's transaction state names.
pub(crate) fn is_transaction_state(name: &str) -> bool {
    TXN_STATES.iter().any(|s| s.name() == name)
}

/// ListTransactions' answer, also the handler's.
pub(crate) fn list_transactions(
    state: &BrokerState,
    filter: &TransactionFilter,
) -> Vec<TransactionListing> {
    let now = state.txns.now_ms();
    state
        .txns
        .list()
        .into_iter()
        .filter(|m| filter.matches(m, now))
        .map(|m| TransactionListing {
            state: m.state.name().to_string(),
            transactional_id: m.transactional_id,
            producer_id: m.producer_id,
        })
        .collect()
}

/// DescribeTransactions' answer for one id, also the handler's.
pub(crate) fn describe_transaction(
    state: &BrokerState,
    transactional_id: &str,
) -> Result<TransactionDescription, TxnError> {
    let m = state.txns.describe(transactional_id).ok_or(
        // Not known yet is not unknown: the coordinator is still loading.
        if state.txns.is_loaded() {
            TxnError::TransactionalIdNotFound
        } else {
            TxnError::CoordinatorLoadInProgress
        },
    )?;
    Ok(TransactionDescription {
        transactional_id: m.transactional_id,
        state: m.state.name().to_string(),
        timeout_ms: m.timeout_ms,
        start_time_ms: m.txn_start_ms,
        producer_id: m.producer_id,
        producer_epoch: m.producer_epoch,
        partitions: m.partitions.into_iter().collect(),
    })
}

/// ListGroups' answer (filters by state and type, case-insensitive as in
/// Kafka; empty filters match all), sorted by group id; also the handler's.
pub(crate) fn list_groups(
    state: &BrokerState,
    states: &[String],
    types: &[String],
) -> Vec<GroupListing> {
    let mut groups = state.groups.collect(|c| c.list_groups(states, types));
    groups.sort_by(|a, b| a.group_id.cmp(&b.group_id));
    groups
        .into_iter()
        .map(|g| GroupListing {
            group_id: g.group_id,
            protocol_type: g.protocol_type,
            state: g.state.to_string(),
        })
        .collect()
}

/// DescribeGroups' answer for one group, also the handler's.
pub(crate) fn describe_group(
    state: &BrokerState,
    group_id: &str,
) -> Result<GroupDescription, GroupError> {
    let d = state
        .groups
        .read(group_id, |c| c.describe_group(group_id))??;
    Ok(GroupDescription {
        group_id: group_id.to_string(),
        state: d.state.to_string(),
        protocol_type: d.protocol_type,
        protocol: d.protocol,
        members: d
            .members
            .into_iter()
            .map(|m| MemberDescription {
                member_id: m.member_id,
                group_instance_id: m.group_instance_id,
                client_id: m.client_id,
                client_host: m.client_host,
                metadata: m.metadata.to_vec(),
                assignment: m.assignment.to_vec(),
            })
            .collect(),
    })
}

/// One topic's partitions in OffsetFetch: the committed offset (`None`
/// if nothing is committed), or that partition's error.
pub(crate) type FetchedOffsets = (String, Vec<(i32, Result<Option<OffsetValue>, GroupError>)>);

/// OffsetFetch's answer for one group (every committed offset when
/// `topics` is `None`), also the handler's. With `require_stable`, a
/// partition whose offset an open transaction holds gets
/// UNSTABLE_OFFSET_COMMIT.
pub(crate) fn fetch_offsets(
    state: &BrokerState,
    group: &str,
    topics: Option<&[(String, Vec<i32>)]>,
    require_stable: bool,
) -> Result<Vec<FetchedOffsets>, GroupError> {
    state.groups.read(group, |c| {
        c.fetch_offsets(group, topics)
            .into_iter()
            .map(|(topic, parts)| {
                let parts = parts
                    .into_iter()
                    .map(|(p, v)| {
                        if require_stable && c.has_pending_txn_offset(group, &topic, p) {
                            (p, Err(GroupError::UnstableOffsetCommit))
                        } else {
                            (p, Ok(v))
                        }
                    })
                    .collect();
                (topic, parts)
            })
            .collect()
    })
}

/// This broker's configs (DescribeConfigs of the broker resource).
pub(crate) fn broker_config_entries(state: &BrokerState) -> Vec<ConfigEntry> {
    state
        .describe_configs(config_admin::BROKER, &state.config.node_id.to_string())
        .unwrap_or_default()
        .into_iter()
        .map(ConfigEntry::from)
        .collect()
}

/// Every topic config of `name` with its effective value and source,
/// also DescribeConfigs' answer for a topic.
pub(crate) fn topic_configs(
    state: &BrokerState,
    name: &str,
) -> Result<Vec<ConfigEntry>, TopicError> {
    Ok(state
        .describe_configs(config_admin::TOPIC, name)?
        .into_iter()
        .map(ConfigEntry::from)
        .collect())
}

impl Admin {
    pub(crate) fn new(state: Arc<BrokerState>) -> Self {
        Admin { state }
    }

    /// Runs a blocking domain call (disk writes, fsyncs) off the async
    /// threads.
    async fn blocking<T: Send + 'static>(
        &self,
        op: impl FnOnce(&BrokerState) -> Result<T, AdminError> + Send + 'static,
    ) -> Result<T, AdminError> {
        let state = Arc::clone(&self.state);
        tokio::task::spawn_blocking(move || op(&state))
            .await
            .map_err(|e| AdminError::new(ResponseError::UnknownServerError.code(), e.to_string()))?
    }

    // Topics.

    /// Creates a topic, all or nothing, with the same checks as
    /// CreateTopics (name, partition count, configs, the broker's
    /// partition limit); returns it as created.
    pub async fn create_topic(&self, topic: NewTopic) -> Result<TopicDescription, AdminError> {
        let name = topic.name.clone();
        self.blocking(move |state| Ok(state.create_topic(topic)?))
            .await?;
        self.describe_topic(&name)
    }

    /// Checks a topic as [`create_topic`](Self::create_topic) would,
    /// creating nothing (CreateTopics' `validate_only`).
    pub fn validate_topic(&self, topic: &NewTopic) -> Result<(), AdminError> {
        Ok(self.state.validate_new_topic(topic)?)
    }

    /// Deletes a topic and its data. Internal topics cannot be deleted.
    pub async fn delete_topic(&self, name: &str) -> Result<(), AdminError> {
        let name = name.to_string();
        self.blocking(move |state| Ok(state.delete_topic(&name).map(|_| ())?))
            .await
    }

    /// Grows `name` to `count` partitions (never shrinks, as in Kafka).
    pub async fn create_partitions(&self, name: &str, count: i32) -> Result<(), AdminError> {
        let name = name.to_string();
        self.blocking(move |state| Ok(state.create_partitions(&name, count, false)?))
            .await
    }

    /// Every topic's name, internal ones included, sorted.
    pub fn list_topics(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .state
            .metadata
            .topics()
            .iter()
            .map(|t| t.name.clone())
            .collect();
        names.sort();
        names
    }

    /// A topic's id, partition count and effective configs.
    pub fn describe_topic(&self, name: &str) -> Result<TopicDescription, AdminError> {
        let meta = self
            .state
            .metadata
            .topic(name)
            .ok_or(TopicError::UnknownTopicOrPartition)?;
        Ok(TopicDescription {
            name: meta.name.clone(),
            id: meta.id.hyphenated().to_string(),
            partitions: meta.partitions,
            internal: meta.internal,
            configs: topic_configs(&self.state, name)?,
        })
    }

    // Configs.

    /// Every config of a topic with its effective value and where that
    /// comes from (DescribeConfigs of a topic).
    pub fn describe_topic_configs(&self, name: &str) -> Result<Vec<ConfigEntry>, AdminError> {
        Ok(topic_configs(&self.state, name)?)
    }

    /// The broker options Kafka has a broker config name for, with their
    /// values (DescribeConfigs of the broker).
    pub fn describe_broker_configs(&self) -> Vec<ConfigEntry> {
        broker_config_entries(&self.state)
    }

    /// Every config of a resource with its value and source, as
    /// DescribeConfigs answers (a group that was never configured shows
    /// the defaults).
    pub fn describe_configs(
        &self,
        resource: &ConfigResource,
    ) -> Result<Vec<ConfigEntry>, AdminError> {
        let (t, name) = resource.wire();
        Ok(self
            .state
            .describe_configs(t, &name)?
            .into_iter()
            .map(ConfigEntry::from)
            .collect())
    }

    /// IncrementalAlterConfigs of one resource, with Kafka's checks and
    /// errors; returns once the change is durable and in force (every
    /// partition it concerns uses it). `validate_only` changes nothing.
    pub async fn incremental_alter_configs(
        &self,
        resource: &ConfigResource,
        ops: &[ConfigOp],
        validate_only: bool,
    ) -> Result<(), AdminError> {
        let (t, name) = resource.wire();
        let changes: Vec<ConfigChange> = ops.iter().map(ConfigOp::change).collect();
        self.blocking(move |state| {
            Ok(state.alter_configs(t, &name, &changes, Mode::Incremental, validate_only)?)
        })
        .await
    }

    // Groups and offsets.

    /// Every consumer group, with its state, sorted by id.
    pub fn list_groups(&self) -> Vec<GroupListing> {
        list_groups(&self.state, &[], &[])
    }

    /// The groups in one of `states` (Kafka's state names,
    /// case-insensitive).
    pub fn list_groups_in_states(&self, states: &[&str]) -> Vec<GroupListing> {
        let states: Vec<String> = states.iter().map(|s| s.to_string()).collect();
        list_groups(&self.state, &states, &[])
    }

    /// A group's state, protocol and members. An unknown group is
    /// GROUP_ID_NOT_FOUND.
    pub fn describe_group(&self, group_id: &str) -> Result<GroupDescription, AdminError> {
        Ok(describe_group(&self.state, group_id)?)
    }

    /// Deletes an empty group with all its offsets (NON_EMPTY_GROUP while
    /// members remain); returns once the deletion is written.
    pub async fn delete_group(&self, group_id: &str) -> Result<(), AdminError> {
        match self.state.groups.delete_group(group_id).wait().await {
            Ok(None) => Ok(()),
            Ok(Some(e)) | Err(e) => Err(e.into()),
        }
    }

    /// Every offset `group_id` has committed, by topic and partition (none
    /// for an unknown group).
    pub fn committed_offsets(&self, group_id: &str) -> Result<Vec<CommittedOffset>, AdminError> {
        let found = fetch_offsets(&self.state, group_id, None, false)?;
        let mut offsets = Vec::new();
        for (topic, parts) in found {
            for (partition, value) in parts {
                if let Some(v) = value? {
                    offsets.push(CommittedOffset {
                        topic: topic.clone(),
                        partition,
                        offset: v.offset,
                        leader_epoch: v.leader_epoch,
                        metadata: v.metadata,
                    });
                }
            }
        }
        Ok(offsets)
    }

    /// Deletes a group's committed offsets of `partitions` (OffsetDelete:
    /// the group must be empty or no longer subscribed to the topic); one
    /// result per partition, in order.
    pub async fn delete_offsets(
        &self,
        group_id: &str,
        partitions: &[(&str, i32)],
    ) -> Result<Vec<Result<(), AdminError>>, AdminError> {
        let partitions: Vec<DeletePartition> = partitions
            .iter()
            .map(|&(topic, partition)| DeletePartition {
                topic: topic.to_string(),
                partition,
                precheck: self.state.unknown_partition(topic, partition),
            })
            .collect();
        let errors = self
            .state
            .groups
            .delete_offsets(group_id, &partitions)
            .wait()
            .await
            .and_then(|answer| answer)?;
        Ok(errors
            .into_iter()
            .map(|e| e.map_or(Ok(()), |e| Err(e.into())))
            .collect())
    }

    // Producers and transactions.

    /// The producers partition `partition` of `topic` remembers, by
    /// producer id (DescribeProducers).
    pub fn describe_producers(
        &self,
        topic: &str,
        partition: i32,
    ) -> Result<Vec<ProducerDescription>, AdminError> {
        let p = self
            .state
            .partitions
            .get(topic, partition)
            .ok_or(PartitionError::UnknownTopicOrPartition)?;
        Ok(p.producers()
            .into_iter()
            .map(|p| ProducerDescription {
                producer_id: p.producer_id,
                epoch: p.epoch,
                last_sequence: p.last_sequence,
                last_timestamp: p.last_timestamp,
                current_txn_start_offset: (p.current_txn_start_offset >= 0)
                    .then_some(p.current_txn_start_offset),
            })
            .collect())
    }

    /// The transactional ids the coordinator knows that `filter` matches.
    pub fn list_transactions(&self, filter: &TransactionFilter) -> Vec<TransactionListing> {
        list_transactions(&self.state, filter)
    }

    /// A transactional id's state and open transaction
    /// (TRANSACTIONAL_ID_NOT_FOUND if the coordinator does not know it).
    pub fn describe_transaction(
        &self,
        transactional_id: &str,
    ) -> Result<TransactionDescription, AdminError> {
        Ok(describe_transaction(&self.state, transactional_id)?)
    }

    // Between tests.

    /// Resets the broker for the next test, while clients stay connected:
    /// deletes every topic that is not internal and every consumer group
    /// with its committed offsets (members still running are told to
    /// rejoin), then creates the `--topics` topics again, empty. Producer
    /// and transactional ids, dynamic configs, quotas and the advertised
    /// address are kept. Returns once all of it is durable; one reset runs
    /// at a time. HTTP `POST /v1/reset` does the same.
    pub async fn reset(&self) -> Result<ResetSummary, AdminError> {
        crate::reset::reset(Arc::clone(&self.state)).await
    }

    // Maintenance.

    /// Runs a retention pass now, over every topic, instead of waiting for
    /// the next periodic one (`retention-check-interval-ms`); returns when
    /// it is done.
    pub async fn apply_retention_now(&self) -> Result<(), AdminError> {
        self.blocking(|state| {
            crate::maintenance::apply_retention(state);
            Ok(())
        })
        .await
    }
}
