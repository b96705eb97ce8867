//! One typed configuration for the broker.
//!
//! [`Config`] is what the broker runs with. Every option of the `sluice`
//! command is defined once, in [`options::OPTIONS`]; its flag, `SLUICE_*`
//! variable, file key, Kafka property names and the option table of
//! `docs/configuration.md` all come from there. `sources.rs` reads the
//! command line, the environment, `--override` and the file, and decides
//! which value wins: flags, then environment, then (with `--kafka-env`) the
//! `KAFKA_*` variables of Kafka's images (`kafka_env.rs`), then
//! `--override`, then the file, then the defaults.

use std::path::PathBuf;

pub(crate) mod docs;
mod kafka_env;
pub mod options;
mod sources;
pub mod topics;

pub use docs::options_table;
pub use kafka_env::{property_name as kafka_env_property, Notice};
pub use options::{LogFormat, OptionDef, Settings, OPTIONS};
pub use sources::{command, Cli};
pub use topics::{parse_topics, TopicSpec};

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

/// The `sluice` command's HTTP address unless `--http-listen` says otherwise.
pub const DEFAULT_HTTP_LISTEN: &str = "127.0.0.1:8082";

/// The broker's effective configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address the listener binds, `HOST:PORT`; port 0 picks a free port.
    pub listen: String,
    /// `HOST:PORT` given to clients in Metadata; `None` = what we listen on.
    pub advertised_listener: Option<String>,
    /// Address the HTTP server binds (health, readiness, admin, fault
    /// injection), `HOST:PORT`; `None` runs no HTTP server. The `sluice`
    /// command's default is [`DEFAULT_HTTP_LISTEN`]; `Config::default()`
    /// (a library or embedded broker) has none unless asked.
    pub http_listen: Option<String>,
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
    /// Broker-wide default for the topic config `compression.type`
    /// (`producer`, `uncompressed`, `gzip`, `snappy`, `lz4` or `zstd`).
    pub compression_type: String,
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
    /// Fault injection (rules, broker down/up, the request log) for tests
    /// of clients: off unless asked for.
    pub fault_injection: bool,
    /// Broker-wide default for the topic config `retention.ms` (-1 = forever).
    pub retention_ms: i64,
    /// Broker-wide default for the topic config `retention.bytes` (-1 = no limit).
    pub retention_bytes: i64,
    /// How often retention looks for segments to delete.
    pub retention_check_interval_ms: u64,
    /// Run the log cleaner (Kafka's log.cleaner.enable).
    pub cleaner_enable: bool,
    /// Partitions cleaned at once (log.cleaner.threads).
    pub cleaner_threads: usize,
    /// Sleep when no log needs cleaning (log.cleaner.backoff.ms).
    pub cleaner_backoff_ms: u64,
    /// The cleaner's I/O rate limit (log.cleaner.io.max.bytes.per.second).
    pub cleaner_io_max_bytes_per_second: f64,
    /// Memory for all cleaner threads' offset maps (log.cleaner.dedupe.buffer.size).
    pub cleaner_dedupe_buffer_size: u64,
    /// Broker default of min.cleanable.dirty.ratio.
    pub cleaner_min_cleanable_ratio: f64,
    /// Broker default of delete.retention.ms.
    pub cleaner_delete_retention_ms: i64,
    /// Broker default of min.compaction.lag.ms.
    pub cleaner_min_compaction_lag_ms: i64,
    /// Broker default of max.compaction.lag.ms.
    pub cleaner_max_compaction_lag_ms: i64,
    /// How long a group that was empty waits for more members before its
    /// first rebalance completes (Kafka's group.initial.rebalance.delay.ms).
    /// `None`: Kafka's 3000 ms, or 0 for an ephemeral broker (a CI run
    /// wants its consumers assigned at once); see
    /// [`Config::initial_rebalance_delay_ms`].
    pub group_initial_rebalance_delay_ms: Option<u64>,
    /// Topics created at start, before the broker is ready, and again
    /// (empty) after a reset (`--topics`). One that exists already is left
    /// as it is.
    pub topics: Vec<TopicSpec>,
    /// Written with the bootstrap address (`HOST:PORT` and a newline) once
    /// the broker is ready, by a rename so that a reader never sees it half
    /// written (`--ready-file`); removed at start and at shutdown.
    pub ready_file: Option<PathBuf>,
    /// Smallest session timeout a group member may ask for.
    pub group_min_session_timeout_ms: i32,
    /// Largest session timeout a group member may ask for.
    pub group_max_session_timeout_ms: i32,
    /// How long an empty group's committed offsets are kept.
    pub offsets_retention_minutes: u64,
    /// Partitions of `__consumer_offsets` when it is created.
    pub offsets_topic_partitions: i32,
    /// `segment.bytes` of `__consumer_offsets` when it is created.
    pub offsets_topic_segment_bytes: u64,
    /// Partitions of `__transaction_state` when it is created.
    pub transaction_state_partitions: i32,
    /// Largest `transaction.timeout.ms` a producer may ask for.
    pub transaction_max_timeout_ms: i32,
    /// How long an idle transactional id is kept after its last update.
    pub transactional_id_expiration_ms: i32,
    /// How often expired transactional ids are removed.
    pub transaction_remove_expired_transaction_cleanup_interval_ms: i32,
    /// How long a partition keeps an idle producer's state.
    pub producer_id_expiration_ms: i32,
    /// How often expired producer states are removed.
    pub producer_id_expiration_check_interval_ms: i32,
    /// Most partitions the broker holds, over all topics (internal ones
    /// included); creations beyond it are POLICY_VIOLATION.
    pub max_partitions: u64,
    /// Samples a client quota's rate is measured over (Kafka's
    /// quota.window.num).
    pub quota_window_num: u32,
    /// Length of one quota sample, in seconds (Kafka's
    /// quota.window.size.seconds).
    pub quota_window_size_seconds: u32,
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

/// Kafka's default `group.initial.rebalance.delay.ms`.
pub const DEFAULT_GROUP_INITIAL_REBALANCE_DELAY_MS: u64 = 3_000;

impl Config {
    /// The `group.initial.rebalance.delay.ms` in force: the one set, else 0
    /// when ephemeral and Kafka's 3000 ms otherwise.
    pub fn initial_rebalance_delay_ms(&self) -> u64 {
        match self.group_initial_rebalance_delay_ms {
            Some(ms) => ms,
            None if self.ephemeral => 0,
            None => DEFAULT_GROUP_INITIAL_REBALANCE_DELAY_MS,
        }
    }
}

/// The longest timer interval an option may set: a year, in ms.
const MAX_INTERVAL_MS: u64 = 365 * 24 * 60 * 60 * 1000;

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:9092".to_string(),
            advertised_listener: None,
            http_listen: None,
            data_dir: PathBuf::from("./sluice-data"),
            node_id: 0,
            auto_create_topics: true,
            default_partitions: 1,
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            compression_type: "producer".to_string(),
            segment_bytes: DEFAULT_SEGMENT_BYTES,
            segment_ms: Some(7 * 24 * 60 * 60 * 1000),
            max_connections: 10_000,
            connections_max_idle_ms: DEFAULT_CONNECTIONS_MAX_IDLE_MS,
            max_queued_reply_bytes_per_connection: DEFAULT_MAX_QUEUED_REPLY_BYTES_PER_CONNECTION,
            max_queued_reply_bytes: DEFAULT_MAX_QUEUED_REPLY_BYTES,
            shutdown_timeout_ms: DEFAULT_SHUTDOWN_TIMEOUT_MS,
            fsync: FsyncMode::Always,
            ephemeral: false,
            fault_injection: false,
            retention_ms: 7 * 24 * 60 * 60 * 1000,
            retention_bytes: -1,
            retention_check_interval_ms: 30_000,
            cleaner_enable: true,
            cleaner_threads: 1,
            cleaner_backoff_ms: 15_000,
            cleaner_io_max_bytes_per_second: f64::MAX,
            cleaner_dedupe_buffer_size: 128 << 20,
            cleaner_min_cleanable_ratio: 0.5,
            cleaner_delete_retention_ms: 86_400_000,
            cleaner_min_compaction_lag_ms: 0,
            cleaner_max_compaction_lag_ms: i64::MAX,
            group_initial_rebalance_delay_ms: None,
            topics: Vec::new(),
            ready_file: None,
            group_min_session_timeout_ms: 6_000,
            group_max_session_timeout_ms: 1_800_000,
            offsets_retention_minutes: 10_080,
            offsets_topic_partitions: 1,
            offsets_topic_segment_bytes: 104_857_600,
            transaction_state_partitions: 1,
            transaction_max_timeout_ms: 900_000,
            transactional_id_expiration_ms: 604_800_000,
            transaction_remove_expired_transaction_cleanup_interval_ms: 3_600_000,
            producer_id_expiration_ms: 86_400_000,
            producer_id_expiration_check_interval_ms: 600_000,
            max_partitions: DEFAULT_MAX_PARTITIONS,
            quota_window_num: crate::quota::DEFAULT_WINDOW_NUM,
            quota_window_size_seconds: crate::quota::DEFAULT_WINDOW_SIZE_SECONDS,
        }
    }
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
    /// A `SLUICE_*` variable whose value does not parse.
    #[error("invalid value for {var}: {message}")]
    Env { var: String, message: String },
    /// An `--override KEY=VALUE` that is malformed, names no option, sets one
    /// twice or does not parse.
    #[error("invalid --override {arg:?}: {message}")]
    Override { arg: String, message: String },
}

impl Config {
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
        if !matches!(
            self.compression_type.as_str(),
            "producer" | "uncompressed" | "gzip" | "snappy" | "lz4" | "zstd"
        ) {
            return Err(invalid(
                "compression-type",
                "must be producer, uncompressed, gzip, snappy, lz4 or zstd",
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
        // Timers add these to the current instant, which panics past the
        // clock's range: intervals are bounded (a year is beyond any use).
        if !(1..=MAX_INTERVAL_MS).contains(&self.retention_check_interval_ms) {
            return Err(invalid(
                "retention-check-interval-ms",
                "must be between 1 and 31536000000 (a year)",
            ));
        }
        if !(1024..=i32::MAX as u64).contains(&self.offsets_topic_segment_bytes) {
            return Err(invalid(
                "offsets-topic-segment-bytes",
                "must be between 1024 and 2147483647",
            ));
        }
        if !(1..=MAX_INTERVAL_MS).contains(&self.cleaner_backoff_ms) {
            return Err(invalid(
                "cleaner-backoff-ms",
                "must be between 1 and 31536000000 (a year)",
            ));
        }
        if !(1..=64).contains(&self.cleaner_threads) {
            return Err(invalid("cleaner-threads", "must be between 1 and 64"));
        }
        if self.cleaner_dedupe_buffer_size < 1024 {
            return Err(invalid(
                "cleaner-dedupe-buffer-size",
                "must be at least 1024",
            ));
        }
        if self.cleaner_io_max_bytes_per_second.is_nan()
            || self.cleaner_io_max_bytes_per_second <= 0.0
        {
            return Err(invalid(
                "cleaner-io-max-bytes-per-second",
                "must be more than 0",
            ));
        }
        if !(0.0..=1.0).contains(&self.cleaner_min_cleanable_ratio) {
            return Err(invalid(
                "cleaner-min-cleanable-ratio",
                "must be between 0 and 1",
            ));
        }
        if self.cleaner_delete_retention_ms < 0
            || self.cleaner_min_compaction_lag_ms < 0
            || self.cleaner_max_compaction_lag_ms < 1
        {
            return Err(invalid(
                "cleaner-delete-retention-ms",
                "the cleaner's delete retention and minimum lag must be 0 or more, its maximum lag at least 1",
            ));
        }
        if let FsyncMode::Interval(ms) = self.fsync {
            if ms > MAX_INTERVAL_MS {
                return Err(invalid(
                    "fsync",
                    "the interval must be at most 31536000000 ms (a year)",
                ));
            }
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
            return Err(invalid(
                "offsets-retention-minutes",
                "must be at least 1 and at most 153722867280912",
            ));
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
        for (option, value) in [
            (
                "transactional-id-expiration-ms",
                self.transactional_id_expiration_ms,
            ),
            (
                "transaction-remove-expired-transaction-cleanup-interval-ms",
                self.transaction_remove_expired_transaction_cleanup_interval_ms,
            ),
            ("producer-id-expiration-ms", self.producer_id_expiration_ms),
            (
                "producer-id-expiration-check-interval-ms",
                self.producer_id_expiration_check_interval_ms,
            ),
        ] {
            if value < 1 {
                return Err(invalid(option, "must be at least 1"));
            }
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
        if !(1..=tokio::sync::Semaphore::MAX_PERMITS).contains(&self.max_connections) {
            return Err(invalid(
                "max-connections",
                &format!(
                    "must be between 1 and {}",
                    tokio::sync::Semaphore::MAX_PERMITS
                ),
            ));
        }
        if !(1..=MAX_INTERVAL_MS).contains(&self.connections_max_idle_ms) {
            return Err(invalid(
                "connections-max-idle-ms",
                "must be between 1 and 31536000000 (a year)",
            ));
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
        // Each client's rate keeps this many samples: bounded, so that
        // quota memory stays small.
        if !(1..=1000).contains(&self.quota_window_num) {
            return Err(invalid("quota-window-num", "must be between 1 and 1000"));
        }
        if !(1..=3600).contains(&self.quota_window_size_seconds) {
            return Err(invalid(
                "quota-window-size-seconds",
                "must be between 1 and 3600",
            ));
        }
        for (option, value) in [
            ("listen", Some(&self.listen)),
            ("advertised-listener", self.advertised_listener.as_ref()),
            ("http-listen", self.http_listen.as_ref()),
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

/// Splits `HOST:PORT` (IPv6 hosts in brackets) into its parts.
pub fn split_host_port(value: &str) -> Result<(String, u16), String> {
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
mod tests;
