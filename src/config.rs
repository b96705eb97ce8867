//! One typed configuration for the broker.
//!
//! Precedence, highest first: command-line flags, `SLUICE_*` environment
//! variables, the TOML file given with `--config`, built-in defaults. Clap
//! merges flags and environment; the file and the defaults fill what is left.

use std::path::{Path, PathBuf};

use clap::Parser;
use serde::Deserialize;

/// Kafka's default `socket.request.max.bytes`: the largest frame accepted.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 100 * 1024 * 1024;
/// Kafka's default `message.max.bytes` / topic `max.message.bytes`.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 1_048_588;
/// Kafka's default `log.segment.bytes`.
pub const DEFAULT_SEGMENT_BYTES: u64 = 1024 * 1024 * 1024;
/// Kafka's default `connections.max.idle.ms`: 10 minutes.
pub const DEFAULT_CONNECTIONS_MAX_IDLE_MS: u64 = 600_000;
/// Replies one connection may have waiting to be written before it stops
/// reading: room for a full default-size fetch reply (fetch.max.bytes,
/// 50 MiB) and pipelining besides.
pub const DEFAULT_MAX_QUEUED_REPLY_BYTES_PER_CONNECTION: usize = 64 * 1024 * 1024;
/// Replies waiting to be written across the broker before connections fall
/// back to one request at a time.
pub const DEFAULT_MAX_QUEUED_REPLY_BYTES: usize = 512 * 1024 * 1024;
/// How long shutdown waits for connections to write what they owe.
pub const DEFAULT_SHUTDOWN_TIMEOUT_MS: u64 = 5_000;
/// Default `--max-partitions`: the most partitions (all topics, internal
/// ones included) this broker takes on. Each partition keeps a file
/// descriptor open and its indexes in memory, and every one is opened at
/// start, so the cap keeps a broker startable: 10,000 is well above what
/// Kafka's guidance puts on one broker (a few thousand) yet within a raised
/// `ulimit -n`. Kafka itself has no such cap (KIP-578 proposed one); raise
/// it along with the descriptor limit for more.
pub const DEFAULT_MAX_PARTITIONS: u64 = 10_000;

/// The broker's effective configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address the listener binds, `HOST:PORT`; port 0 picks a free port.
    pub listen: String,
    /// `HOST:PORT` given to clients in Metadata; `None` = what we listen on.
    pub advertised_listener: Option<String>,
    /// Root of all partition directories and the metadata log.
    pub data_dir: PathBuf,
    /// This broker's node id.
    pub node_id: i32,
    /// Create unknown topics when a Metadata request allows it.
    pub auto_create_topics: bool,
    /// Partition count of auto-created topics and of CreateTopics with -1.
    pub default_partitions: i32,
    /// Frames larger than this are refused before their body is read.
    pub max_frame_bytes: usize,
    /// Broker-wide default for the topic config `max.message.bytes`.
    pub max_message_bytes: usize,
    /// Broker-wide default for the topic config `segment.bytes`.
    pub segment_bytes: u64,
    /// Broker-wide default for the topic config `segment.ms` (none = no time roll).
    pub segment_ms: Option<u64>,
    /// Most concurrent client connections.
    pub max_connections: usize,
    /// A connection with no request in flight and none received for this
    /// long is closed (Kafka's connections.max.idle.ms).
    pub connections_max_idle_ms: u64,
    /// A connection stops reading requests while this many bytes of its
    /// replies wait to be written (one reply is always allowed).
    pub max_queued_reply_bytes_per_connection: usize,
    /// Across all connections: beyond this many bytes of replies waiting to
    /// be written, a connection with a reply still unwritten reads no more
    /// requests until it is written (one request at a time, as Kafka does).
    pub max_queued_reply_bytes: usize,
    /// On shutdown, how long connections get to write the replies they
    /// owe before they are closed.
    pub shutdown_timeout_ms: u64,
    /// When appended data is fsynced, and so when a produce is acknowledged.
    pub fsync: FsyncMode,
    /// Keep every log and all metadata in memory; write nothing to disk.
    pub ephemeral: bool,
    /// Broker-wide default for the topic config `retention.ms` (-1 = forever).
    pub retention_ms: i64,
    /// Broker-wide default for the topic config `retention.bytes` (-1 = no limit).
    pub retention_bytes: i64,
    /// How often retention looks for segments to delete.
    pub retention_check_interval_ms: u64,
    /// How long a group that was empty waits for more members before its
    /// first rebalance completes (Kafka's group.initial.rebalance.delay.ms).
    pub group_initial_rebalance_delay_ms: u64,
    /// Smallest session timeout a group member may ask for.
    pub group_min_session_timeout_ms: i32,
    /// Largest session timeout a group member may ask for.
    pub group_max_session_timeout_ms: i32,
    /// How long an empty group's committed offsets are kept.
    pub offsets_retention_minutes: u64,
    /// Partitions of `__consumer_offsets` when it is created.
    pub offsets_topic_partitions: i32,
    /// Partitions of `__transaction_state` when it is created.
    pub transaction_state_partitions: i32,
    /// Largest `transaction.timeout.ms` a producer may ask for.
    pub transaction_max_timeout_ms: i32,
    /// Most partitions the broker holds, over all topics (internal ones
    /// included); creations beyond it are POLICY_VIOLATION.
    pub max_partitions: u64,
}

/// Durability of acknowledged writes (`--fsync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncMode {
    /// A produce with acks=1 or -1 is answered only after its data is
    /// fsynced; concurrent producers share one fsync (group commit).
    Always,
    /// A background task fsyncs every partition with new data this often;
    /// a crash can lose up to that much acknowledged data.
    Interval(u64),
    /// Never fsync explicitly (the OS writes back on its own schedule, and
    /// at clean shutdown); a crash of the machine can lose acknowledged data.
    Never,
}

impl std::str::FromStr for FsyncMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "always" => Ok(FsyncMode::Always),
            "never" => Ok(FsyncMode::Never),
            other => {
                let ms = other
                    .strip_prefix("interval=")
                    .ok_or_else(|| format!("{other:?} is not always, interval=<ms> or never"))?;
                let ms: u64 = ms
                    .parse()
                    .map_err(|_| format!("{other:?}: the interval must be milliseconds"))?;
                if ms == 0 {
                    return Err("the fsync interval must be at least 1 ms".into());
                }
                Ok(FsyncMode::Interval(ms))
            }
        }
    }
}

impl std::fmt::Display for FsyncMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FsyncMode::Always => f.write_str("always"),
            FsyncMode::Interval(ms) => write!(f, "interval={ms}"),
            FsyncMode::Never => f.write_str("never"),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:9092".to_string(),
            advertised_listener: None,
            data_dir: PathBuf::from("./sluice-data"),
            node_id: 0,
            auto_create_topics: true,
            default_partitions: 1,
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            segment_bytes: DEFAULT_SEGMENT_BYTES,
            segment_ms: Some(7 * 24 * 60 * 60 * 1000),
            max_connections: 10_000,
            connections_max_idle_ms: DEFAULT_CONNECTIONS_MAX_IDLE_MS,
            max_queued_reply_bytes_per_connection: DEFAULT_MAX_QUEUED_REPLY_BYTES_PER_CONNECTION,
            max_queued_reply_bytes: DEFAULT_MAX_QUEUED_REPLY_BYTES,
            shutdown_timeout_ms: DEFAULT_SHUTDOWN_TIMEOUT_MS,
            fsync: FsyncMode::Always,
            ephemeral: false,
            retention_ms: 7 * 24 * 60 * 60 * 1000,
            retention_bytes: -1,
            retention_check_interval_ms: 30_000,
            group_initial_rebalance_delay_ms: 3_000,
            group_min_session_timeout_ms: 6_000,
            group_max_session_timeout_ms: 1_800_000,
            offsets_retention_minutes: 10_080,
            offsets_topic_partitions: 1,
            transaction_state_partitions: 1,
            transaction_max_timeout_ms: 900_000,
            max_partitions: DEFAULT_MAX_PARTITIONS,
        }
    }
}

/// Sluice: a Kafka-wire-protocol compatible broker.
///
/// Every option can also be set with the environment variable shown, or in
/// the TOML file given with --config (keys are the long option names with
/// dashes or underscores, e.g. `default-partitions = 3`). Flags win over the
/// environment, which wins over the file.
#[derive(Debug, Parser, Default)]
#[command(name = "sluice", version, about, long_about)]
#[doc(hidden)]
pub struct Cli {
    /// Address to listen on, HOST:PORT (port 0 picks a free port) [default: 127.0.0.1:9092]
    #[arg(long, env = "SLUICE_LISTEN", value_name = "HOST:PORT")]
    pub listen: Option<String>,
    /// Address advertised to clients in Metadata, HOST:PORT [default: the listen address]
    #[arg(long, env = "SLUICE_ADVERTISED_LISTENER", value_name = "HOST:PORT")]
    pub advertised_listener: Option<String>,
    /// Directory holding partition logs and topic metadata [default: ./sluice-data]
    #[arg(long, env = "SLUICE_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Node id of this broker [default: 0]
    #[arg(long, env = "SLUICE_NODE_ID", value_name = "ID")]
    pub node_id: Option<i32>,
    /// Create topics on first use when a client's Metadata request allows it [default: true]
    #[arg(long, env = "SLUICE_AUTO_CREATE_TOPICS", value_name = "BOOL")]
    pub auto_create_topics: Option<bool>,
    /// Partitions of auto-created topics and of CreateTopics with num_partitions=-1 [default: 1]
    #[arg(long, env = "SLUICE_DEFAULT_PARTITIONS", value_name = "N")]
    pub default_partitions: Option<i32>,
    /// Largest request frame accepted, in bytes (Kafka's socket.request.max.bytes) [default: 104857600]
    #[arg(long, env = "SLUICE_MAX_FRAME_BYTES", value_name = "BYTES")]
    pub max_frame_bytes: Option<usize>,
    /// Default largest record batch a topic accepts (topic config max.message.bytes) [default: 1048588]
    #[arg(long, env = "SLUICE_MAX_MESSAGE_BYTES", value_name = "BYTES")]
    pub max_message_bytes: Option<usize>,
    /// Default segment size before a new segment is rolled (topic config segment.bytes) [default: 1073741824]
    #[arg(long, env = "SLUICE_SEGMENT_BYTES", value_name = "BYTES")]
    pub segment_bytes: Option<u64>,
    /// Default segment age before a new segment is rolled (topic config segment.ms) [default: 604800000]
    #[arg(long, env = "SLUICE_SEGMENT_MS", value_name = "MS")]
    pub segment_ms: Option<u64>,
    /// Most concurrent client connections [default: 10000]
    #[arg(long, env = "SLUICE_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<usize>,
    /// Close connections with no request in flight and none received for this long, in ms (Kafka's connections.max.idle.ms) [default: 600000]
    #[arg(long, env = "SLUICE_CONNECTIONS_MAX_IDLE_MS", value_name = "MS")]
    pub connections_max_idle_ms: Option<u64>,
    /// Stop reading a connection's requests while this many bytes of its replies are unwritten [default: 67108864]
    #[arg(
        long,
        env = "SLUICE_MAX_QUEUED_REPLY_BYTES_PER_CONNECTION",
        value_name = "BYTES"
    )]
    pub max_queued_reply_bytes_per_connection: Option<usize>,
    /// Unwritten reply bytes across all connections beyond which each connection handles one request at a time [default: 536870912]
    #[arg(long, env = "SLUICE_MAX_QUEUED_REPLY_BYTES", value_name = "BYTES")]
    pub max_queued_reply_bytes: Option<usize>,
    /// On shutdown, how long connections may take to write the replies they owe, in ms [default: 5000]
    #[arg(long, env = "SLUICE_SHUTDOWN_TIMEOUT_MS", value_name = "MS")]
    pub shutdown_timeout_ms: Option<u64>,
    /// When data is fsynced: always (before acknowledging acks=1/all), interval=<ms>, or never [default: always]
    #[arg(long, env = "SLUICE_FSYNC", value_name = "MODE")]
    pub fsync: Option<FsyncMode>,
    /// Keep logs and metadata in memory only; nothing is written to disk
    #[arg(long, env = "SLUICE_EPHEMERAL")]
    pub ephemeral: bool,
    /// Default topic retention.ms; -1 keeps data forever [default: 604800000]
    #[arg(
        long,
        env = "SLUICE_RETENTION_MS",
        value_name = "MS",
        allow_hyphen_values = true
    )]
    pub retention_ms: Option<i64>,
    /// Default topic retention.bytes per partition; -1 means no limit [default: -1]
    #[arg(
        long,
        env = "SLUICE_RETENTION_BYTES",
        value_name = "BYTES",
        allow_hyphen_values = true
    )]
    pub retention_bytes: Option<i64>,
    /// How often retention deletes expired segments, in ms [default: 30000]
    #[arg(long, env = "SLUICE_RETENTION_CHECK_INTERVAL_MS", value_name = "MS")]
    pub retention_check_interval_ms: Option<u64>,
    /// How long a new group waits for more members before its first rebalance, in ms [default: 3000]
    #[arg(
        long,
        env = "SLUICE_GROUP_INITIAL_REBALANCE_DELAY_MS",
        value_name = "MS"
    )]
    pub group_initial_rebalance_delay_ms: Option<u64>,
    /// Smallest session timeout a consumer group member may use, in ms [default: 6000]
    #[arg(long, env = "SLUICE_GROUP_MIN_SESSION_TIMEOUT_MS", value_name = "MS")]
    pub group_min_session_timeout_ms: Option<i32>,
    /// Largest session timeout a consumer group member may use, in ms [default: 1800000]
    #[arg(long, env = "SLUICE_GROUP_MAX_SESSION_TIMEOUT_MS", value_name = "MS")]
    pub group_max_session_timeout_ms: Option<i32>,
    /// How long committed offsets of an empty group are kept, in minutes [default: 10080]
    #[arg(long, env = "SLUICE_OFFSETS_RETENTION_MINUTES", value_name = "MINUTES")]
    pub offsets_retention_minutes: Option<u64>,
    /// Partitions of the internal __consumer_offsets topic when it is created [default: 1]
    #[arg(long, env = "SLUICE_OFFSETS_TOPIC_PARTITIONS", value_name = "N")]
    pub offsets_topic_partitions: Option<i32>,
    /// Partitions of the internal __transaction_state topic when it is created [default: 1]
    #[arg(long, env = "SLUICE_TRANSACTION_STATE_PARTITIONS", value_name = "N")]
    pub transaction_state_partitions: Option<i32>,
    /// Largest transaction.timeout.ms a transactional producer may use [default: 900000]
    #[arg(long, env = "SLUICE_TRANSACTION_MAX_TIMEOUT_MS", value_name = "MS")]
    pub transaction_max_timeout_ms: Option<i32>,
    /// Most partitions the broker holds over all topics, internal ones included; creating more is POLICY_VIOLATION [default: 10000]
    #[arg(long, env = "SLUICE_MAX_PARTITIONS", value_name = "N")]
    pub max_partitions: Option<u64>,
    /// TOML file with any of the options above
    #[arg(long, env = "SLUICE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// The optional TOML file: the same options as the command line.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileConfig {
    #[serde(alias = "listen_address")]
    listen: Option<String>,
    #[serde(alias = "advertised_listener")]
    advertised_listener: Option<String>,
    #[serde(alias = "data_dir")]
    data_dir: Option<PathBuf>,
    #[serde(alias = "node_id")]
    node_id: Option<i32>,
    #[serde(alias = "auto_create_topics")]
    auto_create_topics: Option<bool>,
    #[serde(alias = "default_partitions")]
    default_partitions: Option<i32>,
    #[serde(alias = "max_frame_bytes")]
    max_frame_bytes: Option<usize>,
    #[serde(alias = "max_message_bytes")]
    max_message_bytes: Option<usize>,
    #[serde(alias = "segment_bytes")]
    segment_bytes: Option<u64>,
    #[serde(alias = "segment_ms")]
    segment_ms: Option<u64>,
    #[serde(alias = "max_connections")]
    max_connections: Option<usize>,
    #[serde(alias = "connections_max_idle_ms", alias = "connections.max.idle.ms")]
    connections_max_idle_ms: Option<u64>,
    #[serde(alias = "max_queued_reply_bytes_per_connection")]
    max_queued_reply_bytes_per_connection: Option<usize>,
    #[serde(alias = "max_queued_reply_bytes")]
    max_queued_reply_bytes: Option<usize>,
    #[serde(alias = "shutdown_timeout_ms")]
    shutdown_timeout_ms: Option<u64>,
    fsync: Option<String>,
    ephemeral: Option<bool>,
    #[serde(alias = "retention_ms")]
    retention_ms: Option<i64>,
    #[serde(alias = "retention_bytes")]
    retention_bytes: Option<i64>,
    #[serde(alias = "retention_check_interval_ms")]
    retention_check_interval_ms: Option<u64>,
    #[serde(alias = "group_initial_rebalance_delay_ms")]
    group_initial_rebalance_delay_ms: Option<u64>,
    #[serde(alias = "group_min_session_timeout_ms")]
    group_min_session_timeout_ms: Option<i32>,
    #[serde(alias = "group_max_session_timeout_ms")]
    group_max_session_timeout_ms: Option<i32>,
    #[serde(alias = "offsets_retention_minutes")]
    offsets_retention_minutes: Option<u64>,
    #[serde(alias = "offsets_topic_partitions")]
    offsets_topic_partitions: Option<i32>,
    #[serde(alias = "transaction_state_partitions")]
    transaction_state_partitions: Option<i32>,
    #[serde(alias = "transaction_max_timeout_ms")]
    transaction_max_timeout_ms: Option<i32>,
    #[serde(alias = "max_partitions")]
    max_partitions: Option<u64>,
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid value for {option}: {message}")]
    Invalid {
        option: &'static str,
        message: String,
    },
}

impl Config {
    /// Builds the configuration from parsed flags/environment plus the file.
    pub fn from_cli(cli: Cli) -> Result<Config, ConfigError> {
        let file = match &cli.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let d = Config::default();
        let config = Config {
            listen: cli.listen.or(file.listen).unwrap_or(d.listen),
            advertised_listener: cli.advertised_listener.or(file.advertised_listener),
            data_dir: cli.data_dir.or(file.data_dir).unwrap_or(d.data_dir),
            node_id: cli.node_id.or(file.node_id).unwrap_or(d.node_id),
            auto_create_topics: cli
                .auto_create_topics
                .or(file.auto_create_topics)
                .unwrap_or(d.auto_create_topics),
            default_partitions: cli
                .default_partitions
                .or(file.default_partitions)
                .unwrap_or(d.default_partitions),
            max_frame_bytes: cli
                .max_frame_bytes
                .or(file.max_frame_bytes)
                .unwrap_or(d.max_frame_bytes),
            max_message_bytes: cli
                .max_message_bytes
                .or(file.max_message_bytes)
                .unwrap_or(d.max_message_bytes),
            segment_bytes: cli
                .segment_bytes
                .or(file.segment_bytes)
                .unwrap_or(d.segment_bytes),
            segment_ms: cli.segment_ms.or(file.segment_ms).or(d.segment_ms),
            max_connections: cli
                .max_connections
                .or(file.max_connections)
                .unwrap_or(d.max_connections),
            connections_max_idle_ms: cli
                .connections_max_idle_ms
                .or(file.connections_max_idle_ms)
                .unwrap_or(d.connections_max_idle_ms),
            max_queued_reply_bytes_per_connection: cli
                .max_queued_reply_bytes_per_connection
                .or(file.max_queued_reply_bytes_per_connection)
                .unwrap_or(d.max_queued_reply_bytes_per_connection),
            max_queued_reply_bytes: cli
                .max_queued_reply_bytes
                .or(file.max_queued_reply_bytes)
                .unwrap_or(d.max_queued_reply_bytes),
            shutdown_timeout_ms: cli
                .shutdown_timeout_ms
                .or(file.shutdown_timeout_ms)
                .unwrap_or(d.shutdown_timeout_ms),
            fsync: match (cli.fsync, file.fsync) {
                (Some(mode), _) => mode,
                (None, Some(text)) => text.parse().map_err(|message| ConfigError::Invalid {
                    option: "fsync",
                    message,
                })?,
                (None, None) => d.fsync,
            },
            ephemeral: cli.ephemeral || file.ephemeral.unwrap_or(d.ephemeral),
            retention_ms: cli
                .retention_ms
                .or(file.retention_ms)
                .unwrap_or(d.retention_ms),
            retention_bytes: cli
                .retention_bytes
                .or(file.retention_bytes)
                .unwrap_or(d.retention_bytes),
            retention_check_interval_ms: cli
                .retention_check_interval_ms
                .or(file.retention_check_interval_ms)
                .unwrap_or(d.retention_check_interval_ms),
            group_initial_rebalance_delay_ms: cli
                .group_initial_rebalance_delay_ms
                .or(file.group_initial_rebalance_delay_ms)
                .unwrap_or(d.group_initial_rebalance_delay_ms),
            group_min_session_timeout_ms: cli
                .group_min_session_timeout_ms
                .or(file.group_min_session_timeout_ms)
                .unwrap_or(d.group_min_session_timeout_ms),
            group_max_session_timeout_ms: cli
                .group_max_session_timeout_ms
                .or(file.group_max_session_timeout_ms)
                .unwrap_or(d.group_max_session_timeout_ms),
            offsets_retention_minutes: cli
                .offsets_retention_minutes
                .or(file.offsets_retention_minutes)
                .unwrap_or(d.offsets_retention_minutes),
            offsets_topic_partitions: cli
                .offsets_topic_partitions
                .or(file.offsets_topic_partitions)
                .unwrap_or(d.offsets_topic_partitions),
            transaction_state_partitions: cli
                .transaction_state_partitions
                .or(file.transaction_state_partitions)
                .unwrap_or(d.transaction_state_partitions),
            transaction_max_timeout_ms: cli
                .transaction_max_timeout_ms
                .or(file.transaction_max_timeout_ms)
                .unwrap_or(d.transaction_max_timeout_ms),
            max_partitions: cli
                .max_partitions
                .or(file.max_partitions)
                .unwrap_or(d.max_partitions),
        };
        config.validate()?;
        Ok(config)
    }

    /// Checks values that would make the broker misbehave.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.default_partitions < 1 {
            return Err(invalid("default-partitions", "must be at least 1"));
        }
        if self.node_id < 0 {
            return Err(invalid("node-id", "must not be negative"));
        }
        if self.max_frame_bytes < 64 || self.max_frame_bytes > i32::MAX as usize {
            return Err(invalid(
                "max-frame-bytes",
                "must be between 64 and 2147483647",
            ));
        }
        if self.max_message_bytes == 0 || self.max_message_bytes > i32::MAX as usize {
            return Err(invalid(
                "max-message-bytes",
                "must be between 1 and 2147483647",
            ));
        }
        if self.segment_bytes < 1024 {
            return Err(invalid("segment-bytes", "must be at least 1024"));
        }
        if self.retention_ms < -1 {
            return Err(invalid("retention-ms", "must be -1 or more"));
        }
        if self.retention_bytes < -1 {
            return Err(invalid("retention-bytes", "must be -1 or more"));
        }
        if self.retention_check_interval_ms == 0 {
            return Err(invalid("retention-check-interval-ms", "must be at least 1"));
        }
        if self.group_min_session_timeout_ms < 1
            || self.group_max_session_timeout_ms < self.group_min_session_timeout_ms
        {
            return Err(invalid(
                "group-max-session-timeout-ms",
                "must be at least group-min-session-timeout-ms, which must be at least 1",
            ));
        }
        if self.offsets_retention_minutes == 0
            || self.offsets_retention_minutes > i64::MAX as u64 / 60_000
        {
            return Err(invalid("offsets-retention-minutes", "must be at least 1"));
        }
        if !(1..=1000).contains(&self.transaction_state_partitions) {
            return Err(invalid(
                "transaction-state-partitions",
                "must be between 1 and 1000",
            ));
        }
        if self.transaction_max_timeout_ms < 1 {
            return Err(invalid("transaction-max-timeout-ms", "must be at least 1"));
        }
        if !(1..=1000).contains(&self.offsets_topic_partitions) {
            return Err(invalid(
                "offsets-topic-partitions",
                "must be between 1 and 1000",
            ));
        }
        if self.max_partitions == 0 {
            return Err(invalid("max-partitions", "must be at least 1"));
        }
        if self.max_connections == 0 {
            return Err(invalid("max-connections", "must be at least 1"));
        }
        if self.connections_max_idle_ms == 0 {
            return Err(invalid("connections-max-idle-ms", "must be at least 1"));
        }
        if self.max_queued_reply_bytes_per_connection == 0 {
            return Err(invalid(
                "max-queued-reply-bytes-per-connection",
                "must be at least 1",
            ));
        }
        if self.max_queued_reply_bytes == 0 {
            return Err(invalid("max-queued-reply-bytes", "must be at least 1"));
        }
        for (option, value) in [
            ("listen", Some(&self.listen)),
            ("advertised-listener", self.advertised_listener.as_ref()),
        ] {
            if let Some(value) = value {
                split_host_port(value).map_err(|message| invalid(option, &message))?;
            }
        }
        Ok(())
    }
}

fn invalid(option: &'static str, message: &str) -> ConfigError {
    ConfigError::Invalid {
        option,
        message: message.to_string(),
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Splits `HOST:PORT` (IPv6 hosts in brackets) into its parts.
pub(crate) fn split_host_port(value: &str) -> Result<(String, u16), String> {
    let (host, port) = value
        .rsplit_once(':')
        .ok_or_else(|| format!("{value:?} is not HOST:PORT"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("{value:?} has an invalid port"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(format!("{value:?} has an empty host"));
    }
    Ok((host.to_string(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_need_no_flags() {
        let c = Config::from_cli(Cli::parse_from(["sluice"])).unwrap();
        assert_eq!(c.listen, "127.0.0.1:9092");
        assert_eq!(c.data_dir, PathBuf::from("./sluice-data"));
        assert_eq!(c.node_id, 0);
        assert!(c.auto_create_topics);
        assert_eq!(c.default_partitions, 1);
    }

    #[test]
    fn flags_win_over_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sluice.toml");
        std::fs::write(
            &path,
            "default-partitions = 3\nlisten = \"127.0.0.1:1\"\ndata_dir = \"/x\"\n",
        )
        .unwrap();
        let cli = Cli::parse_from([
            "sluice",
            "--config",
            path.to_str().unwrap(),
            "--listen",
            "127.0.0.1:2",
        ]);
        let c = Config::from_cli(cli).unwrap();
        assert_eq!(c.default_partitions, 3);
        assert_eq!(c.listen, "127.0.0.1:2");
        assert_eq!(c.data_dir, PathBuf::from("/x"));
    }

    #[test]
    fn unknown_file_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sluice.toml");
        std::fs::write(&path, "no-such-option = 1\n").unwrap();
        let cli = Cli::parse_from(["sluice", "--config", path.to_str().unwrap()]);
        assert!(matches!(
            Config::from_cli(cli),
            Err(ConfigError::Parse { .. })
        ));
    }

    #[test]
    fn bad_values_are_refused() {
        let cli = Cli::parse_from(["sluice", "--default-partitions", "0"]);
        assert!(Config::from_cli(cli).is_err());
        let cli = Cli::parse_from(["sluice", "--listen", "nohost"]);
        assert!(Config::from_cli(cli).is_err());
    }

    #[test]
    fn fsync_modes_parse() {
        assert_eq!("always".parse::<FsyncMode>(), Ok(FsyncMode::Always));
        assert_eq!("never".parse::<FsyncMode>(), Ok(FsyncMode::Never));
        assert_eq!(
            "interval=250".parse::<FsyncMode>(),
            Ok(FsyncMode::Interval(250))
        );
        assert!("interval=0".parse::<FsyncMode>().is_err());
        assert!("sometimes".parse::<FsyncMode>().is_err());
        let c = Config::from_cli(Cli::parse_from([
            "sluice",
            "--fsync",
            "interval=5",
            "--ephemeral",
        ]))
        .unwrap();
        assert_eq!(c.fsync, FsyncMode::Interval(5));
        assert!(c.ephemeral);
    }

    #[test]
    fn group_options() {
        let c = Config::from_cli(Cli::parse_from(["sluice"])).unwrap();
        assert_eq!(c.group_initial_rebalance_delay_ms, 3000);
        assert_eq!(
            (
                c.group_min_session_timeout_ms,
                c.group_max_session_timeout_ms
            ),
            (6000, 1_800_000)
        );
        assert_eq!(
            (c.offsets_retention_minutes, c.offsets_topic_partitions),
            (10_080, 1)
        );
        let c = Config::from_cli(Cli::parse_from([
            "sluice",
            "--group-initial-rebalance-delay-ms",
            "0",
            "--offsets-topic-partitions",
            "4",
        ]))
        .unwrap();
        assert_eq!(
            (
                c.group_initial_rebalance_delay_ms,
                c.offsets_topic_partitions
            ),
            (0, 4)
        );
        let cli = Cli::parse_from(["sluice", "--group-max-session-timeout-ms", "10"]);
        assert!(Config::from_cli(cli).is_err(), "max below min");
        let cli = Cli::parse_from(["sluice", "--offsets-topic-partitions", "0"]);
        assert!(Config::from_cli(cli).is_err());
    }

    #[test]
    fn connection_options() {
        let c = Config::from_cli(Cli::parse_from(["sluice"])).unwrap();
        assert_eq!(c.connections_max_idle_ms, 600_000);
        assert_eq!(c.shutdown_timeout_ms, 5_000);
        assert_eq!(c.max_queued_reply_bytes_per_connection, 64 << 20);
        assert_eq!(c.max_queued_reply_bytes, 512 << 20);
        let c = Config::from_cli(Cli::parse_from([
            "sluice",
            "--connections-max-idle-ms",
            "300",
            "--shutdown-timeout-ms",
            "0",
            "--max-queued-reply-bytes-per-connection",
            "1024",
        ]))
        .unwrap();
        assert_eq!(
            (
                c.connections_max_idle_ms,
                c.shutdown_timeout_ms,
                c.max_queued_reply_bytes_per_connection
            ),
            (300, 0, 1024)
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sluice.toml");
        std::fs::write(
            &path,
            "\"connections.max.idle.ms\" = 1000\nmax-queued-reply-bytes = 4096\n",
        )
        .unwrap();
        let c = Config::from_cli(Cli::parse_from([
            "sluice",
            "--config",
            path.to_str().unwrap(),
        ]))
        .unwrap();
        assert_eq!(
            (c.connections_max_idle_ms, c.max_queued_reply_bytes),
            (1000, 4096)
        );
        let cli = Cli::parse_from(["sluice", "--connections-max-idle-ms", "0"]);
        assert!(Config::from_cli(cli).is_err());
    }

    #[test]
    fn max_partitions_option() {
        let c = Config::from_cli(Cli::parse_from(["sluice"])).unwrap();
        assert_eq!(c.max_partitions, DEFAULT_MAX_PARTITIONS);
        let c = Config::from_cli(Cli::parse_from(["sluice", "--max-partitions", "50"])).unwrap();
        assert_eq!(c.max_partitions, 50);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sluice.toml");
        std::fs::write(&path, "max-partitions = 7\n").unwrap();
        let cli = Cli::parse_from(["sluice", "--config", path.to_str().unwrap()]);
        assert_eq!(Config::from_cli(cli).unwrap().max_partitions, 7);
        let cli = Cli::parse_from(["sluice", "--max-partitions", "0"]);
        assert!(Config::from_cli(cli).is_err());
    }

    #[test]
    fn host_port_split() {
        assert_eq!(
            split_host_port("[::1]:9092").unwrap(),
            ("::1".to_string(), 9092)
        );
        assert!(split_host_port("h:99999").is_err());
    }
}
