//! The option table: every setting of the `sluice` command, defined once.
//!
//! Each [`OptionDef`] gives the option's name (the flag `--NAME`, the
//! variable `SLUICE_NAME` and the file key `NAME` all come from it), the
//! Kafka broker property names that mean the same thing, the default shown to
//! users, the doc line, and how a value is parsed into [`Settings`]. The
//! command line (`sources.rs`), `--help` and `docs/configuration.md`
//! (`docs.rs`) are all built from [`OPTIONS`]; nothing else lists the
//! options. The typed defaults are those of [`Config::default`]; a test checks
//! that the default shown here parses to the same value.

use std::fmt::Display;
use std::path::PathBuf;
use std::str::FromStr;

use super::{Config, FsyncMode};

/// Everything the command line, the environment and the file decide: the
/// broker's [`Config`] and the settings of the process around it.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// What [`crate::Broker::start`] is given.
    pub config: Config,
    /// How log lines on stderr are written.
    pub log_format: LogFormat,
    /// Whether the `KAFKA_*` variables of Kafka's images are read
    /// (`--kafka-env`).
    pub kafka_env: bool,
    /// Variables read but not used, to be logged once logging is set up
    /// (one line each).
    pub notices: Vec<super::Notice>,
}

impl Settings {
    /// The `sluice` command's starting point before any source is read:
    /// [`Config::default`], plus the HTTP server a library broker does not
    /// run unless asked ([`super::DEFAULT_HTTP_LISTEN`]).
    pub fn command_defaults() -> Settings {
        let mut settings = Settings::default();
        settings.config.http_listen = Some(super::DEFAULT_HTTP_LISTEN.to_string());
        settings
    }
}

/// Format of the log lines written to stderr (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One human-readable line per event (coloured only on a terminal).
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(format!("{s:?} is not text or json")),
        }
    }
}

/// Parses one value (as text: a flag's or variable's value, or a file value
/// turned into text) into its place in [`Settings`].
pub(crate) type Setter = fn(&mut Settings, &str) -> Result<(), String>;

/// The default an option shows in `--help` and the docs.
#[derive(Debug, Clone, Copy)]
pub enum Shown {
    /// A value, written as a user would write it; it parses to the default.
    Value(&'static str),
    /// A description of what happens when the option is not given.
    Prose(&'static str),
}

/// One option of the `sluice` command.
pub struct OptionDef {
    /// Kebab-case name: the flag `--NAME`, the variable `SLUICE_NAME` (upper
    /// case, `_` for `-`) and the file key (`-` or `_`).
    pub name: &'static str,
    /// What the value looks like in `--help` (`N`, `MS`, ...); empty for a
    /// switch, which takes no value on the command line.
    pub value_name: &'static str,
    /// The default shown to users.
    pub default: Shown,
    /// One line for `--help`, the start of the docs' description.
    pub help: &'static str,
    /// More for `docs/configuration.md` only; may be empty.
    pub details: &'static str,
    /// Other names accepted in the file and in `--override` (kebab-case).
    pub aliases: &'static [&'static str],
    /// Kafka broker property names for this option.
    pub kafka: &'static [KafkaName],
    pub(crate) set: Setter,
}

/// A Kafka broker property name for one of our options.
pub struct KafkaName {
    /// The property, as in Kafka's `server.properties`.
    pub name: &'static str,
    /// When one source gives several Kafka names of one option, the higher
    /// rank wins, as in Kafka (`log.retention.ms` over `.minutes` over
    /// `.hours`). Names of rank 0 may not be given together.
    pub rank: u8,
    pub(crate) set: Setter,
}

impl OptionDef {
    /// The environment variable of this option.
    pub fn env_var(&self) -> String {
        format!(
            "SLUICE_{}",
            self.name.replace('-', "_").to_ascii_uppercase()
        )
    }

    /// True for a switch (`--ephemeral`), which takes no value as a flag.
    pub fn is_switch(&self) -> bool {
        self.value_name.is_empty()
    }
}

const fn kafka(name: &'static str, set: Setter) -> KafkaName {
    KafkaName { name, rank: 0, set }
}

const fn ranked(name: &'static str, rank: u8, set: Setter) -> KafkaName {
    KafkaName { name, rank, set }
}

/// A whole number of type `T`.
fn number<T: FromStr>(v: &str) -> Result<T, String>
where
    T::Err: Display,
{
    v.trim()
        .parse()
        .map_err(|e| format!("{v:?} is not a valid number ({e})"))
}

/// `true`, `false`, `1` or `0`, in any case; anything else is refused.
pub(crate) fn boolean(v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(format!("{v:?} is not a boolean (true, false, 1 or 0)")),
    }
}

/// A duration in `unit` milliseconds as Kafka reads `log.retention.hours`
/// and `.minutes`: a negative value means forever (-1).
fn retention_in(v: &str, unit: i64) -> Result<i64, String> {
    let n: i64 = number(v)?;
    if n < 0 {
        return Ok(-1);
    }
    n.checked_mul(unit)
        .ok_or_else(|| format!("{v:?} is too large"))
}

/// A decimal number (`0.5`, `1E6`).
fn float(v: &str) -> Result<f64, String> {
    v.trim()
        .parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .ok_or_else(|| format!("{v:?} is not a valid number"))
}

/// Kafka's `log.dirs` (comma-separated) or `log.dir`: sluice keeps all its
/// data in one directory, so exactly one is accepted.
fn one_log_dir(v: &str) -> Result<PathBuf, String> {
    let dirs: Vec<&str> = v
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .collect();
    match dirs.as_slice() {
        [one] => Ok(PathBuf::from(one)),
        [] => Err("no directory given".to_string()),
        many => Err(format!(
            "{} directories given ({v:?}); sluice keeps its data in one directory, so give exactly one",
            many.len()
        )),
    }
}

/// Kafka's `listeners` / `advertised.listeners`: one `PLAINTEXT://HOST:PORT`,
/// turned into our `HOST:PORT`. An empty host binds every interface (as in
/// Kafka) when `bind`, and is refused for an advertised address.
fn plaintext_listener(v: &str, bind: bool) -> Result<String, String> {
    let v = v.trim();
    if v.contains(',') {
        return Err(format!(
            "{v:?} names more than one listener; sluice has a single listener for now"
        ));
    }
    let (protocol, address) = v.split_once("://").ok_or_else(|| {
        format!("{v:?} is not PROTOCOL://HOST:PORT (for example PLAINTEXT://0.0.0.0:9092)")
    })?;
    if !protocol.eq_ignore_ascii_case("PLAINTEXT") {
        return Err(format!(
            "{v:?}: only PLAINTEXT listeners are supported for now ({protocol} is not; TLS and SASL are not implemented yet)"
        ));
    }
    match address.rsplit_once(':') {
        Some(("", port)) if bind => Ok(format!("0.0.0.0:{port}")),
        Some(("", _)) => Err(format!("{v:?} has an empty host")),
        Some(_) => Ok(address.to_string()),
        None => Err(format!("{v:?} is not PROTOCOL://HOST:PORT")),
    }
}

/// Kafka's `compression.type` values.
fn compression_type(v: &str) -> Result<String, String> {
    let v = v.trim();
    match v {
        "producer" | "uncompressed" | "gzip" | "snappy" | "lz4" | "zstd" => Ok(v.to_string()),
        _ => Err(format!(
            "{v:?} is not producer, uncompressed, gzip, snappy, lz4 or zstd"
        )),
    }
}

/// Every option, in the order `--help` and the docs list them.
pub static OPTIONS: &[OptionDef] = &[
    OptionDef {
        name: "listen",
        value_name: "HOST:PORT",
        default: Shown::Value("127.0.0.1:9092"),
        help: "Address to listen on, HOST:PORT (port 0 picks a free port)",
        details: "The port is bound before anything is loaded (a port in use fails at once); the broker prints `listening on HOST:PORT` with the real port once its data is loaded and it serves every request. Kafka's `listeners` takes one `PLAINTEXT://HOST:PORT` (an empty host binds every interface); other security protocols are refused for now.",
        aliases: &["listen-address"],
        kafka: &[kafka("listeners", |s, v| {
            s.config.listen = plaintext_listener(v, true)?;
            Ok(())
        })],
        set: |s, v| {
            s.config.listen = v.to_string();
            Ok(())
        },
    },
    OptionDef {
        name: "advertised-listener",
        value_name: "HOST:PORT",
        default: Shown::Prose("the bound address (127.0.0.1 if bound to 0.0.0.0)"),
        help: "Address advertised to clients in Metadata, HOST:PORT",
        details: "Kafka's `advertised.listeners` takes one `PLAINTEXT://HOST:PORT`. It can be changed while the broker runs (IncrementalAlterConfigs of `advertised.listeners` on this broker, or `PUT /v1/advertised-listener`); that dynamic value wins over this option, also after a restart, until it is deleted. See [Changing configs at run time](#changing-configs-at-run-time).",
        aliases: &[],
        kafka: &[kafka("advertised.listeners", |s, v| {
            s.config.advertised_listener = Some(plaintext_listener(v, false)?);
            Ok(())
        })],
        set: |s, v| {
            s.config.advertised_listener = Some(v.to_string());
            Ok(())
        },
    },
    OptionDef {
        name: "http-listen",
        value_name: "HOST:PORT",
        default: Shown::Value("127.0.0.1:8082"),
        help: "Address of the HTTP server (health, readiness, admin), HOST:PORT; `none` for no HTTP server",
        details: "Port 0 picks a free port. The port is bound at start with the Kafka listener (a port in use fails at once); the broker prints `http listening on HOST:PORT` with the real port, before `listening on`. Serves `/healthz` and `/readyz`; see [http-api.md](http-api.md). An empty value or `none` turns it off.",
        aliases: &[],
        kafka: &[],
        set: |s, v| {
            let v = v.trim();
            s.config.http_listen = if v.is_empty() || v.eq_ignore_ascii_case("none") {
                None
            } else {
                Some(v.to_string())
            };
            Ok(())
        },
    },
    OptionDef {
        name: "data-dir",
        value_name: "DIR",
        default: Shown::Value("./sluice-data"),
        help: "Directory holding partition logs and topic metadata",
        details: "One broker per directory: a running broker locks it (`<dir>/.lock`, see [storage-format.md](storage-format.md#data-directory-lock)) and a second one refuses to start. Kafka's `log.dirs` (which wins over `log.dir`) must name exactly one directory.",
        aliases: &[],
        kafka: &[
            ranked("log.dirs", 2, |s, v| {
                s.config.data_dir = one_log_dir(v)?;
                Ok(())
            }),
            ranked("log.dir", 1, |s, v| {
                s.config.data_dir = one_log_dir(v)?;
                Ok(())
            }),
        ],
        set: |s, v| {
            s.config.data_dir = PathBuf::from(v);
            Ok(())
        },
    },
    OptionDef {
        name: "node-id",
        value_name: "ID",
        default: Shown::Value("0"),
        help: "Node id of this broker",
        details: "",
        aliases: &[],
        kafka: &[
            kafka("node.id", |s, v| {
                s.config.node_id = number(v)?;
                Ok(())
            }),
            kafka("broker.id", |s, v| {
                s.config.node_id = number(v)?;
                Ok(())
            }),
        ],
        set: |s, v| {
            s.config.node_id = number(v)?;
            Ok(())
        },
    },
    OptionDef {
        name: "auto-create-topics",
        value_name: "BOOL",
        default: Shown::Value("true"),
        help: "Create topics on first use when a client's Metadata request allows it",
        details: "",
        aliases: &[],
        kafka: &[kafka("auto.create.topics.enable", |s, v| {
            s.config.auto_create_topics = boolean(v)?;
            Ok(())
        })],
        set: |s, v| {
            s.config.auto_create_topics = boolean(v)?;
            Ok(())
        },
    },
    OptionDef {
        name: "default-partitions",
        value_name: "N",
        default: Shown::Value("1"),
        help: "Partitions of auto-created topics and of CreateTopics with num_partitions=-1",
        details: "",
        aliases: &[],
        kafka: &[kafka("num.partitions", |s, v| {
            s.config.default_partitions = number(v)?;
            Ok(())
        })],
        set: |s, v| {
            s.config.default_partitions = number(v)?;
            Ok(())
        },
    },
    OptionDef {
        name: "max-frame-bytes",
        value_name: "BYTES",
        default: Shown::Value("104857600"),
        help: "Largest request frame accepted, in bytes",
        details: "Larger frames close the connection before their body is read.",
        aliases: &[],
        kafka: &[kafka("socket.request.max.bytes", |s, v| {
            s.config.max_frame_bytes = number(v)?;
            Ok(())
        })],
        set: |s, v| {
            s.config.max_frame_bytes = number(v)?;
            Ok(())
        },
    },
    OptionDef {
        name: "max-message-bytes",
        value_name: "BYTES",
        default: Shown::Value("1048588"),
        help: "Default largest record batch a topic accepts (topic config max.message.bytes)",
        details: "",
        aliases: &[],
        kafka: &[kafka("message.max.bytes", |s, v| {
            s.config.max_message_bytes = number(v)?;
            Ok(())
        })],
        set: |s, v| {
            s.config.max_message_bytes = number(v)?;
            Ok(())
        },
    },
    OptionDef {
        name: "compression-type",
        value_name: "CODEC",
        default: Shown::Value("producer"),
        help: "Default topic compression.type: producer (keep each batch's codec), uncompressed, gzip, snappy, lz4 or zstd",
        details: "A topic whose codec differs from a batch's stores that batch's records recompressed with the topic's codec (at `compression.gzip.level`, `compression.lz4.level`, `compression.zstd.level`), as Kafka does.",
        aliases: &[],
        kafka: &[kafka("compression.type", |s, v| {
            s.config.compression_type = compression_type(v)?;
            Ok(())
        })],
        set: |s, v| {
            s.config.compression_type = compression_type(v)?;
            Ok(())
        },
    },
    OptionDef {
        name: "segment-bytes",
        value_name: "BYTES",
        default: Shown::Value("1073741824"),
        help: "Default segment size before a new segment is rolled (topic config segment.bytes)",
        details: "",
        aliases: &[],
        kafka: &[kafka("log.segment.bytes", |s, v| {
            s.config.segment_bytes = number(v)?;
            Ok(())
        })],
        set: |s, v| {
            s.config.segment_bytes = number(v)?;
            Ok(())
        },
    },
    OptionDef {
        name: "segment-ms",
        value_name: "MS",
        default: Shown::Value("604800000"),
        help: "Default segment age before a new segment is rolled (topic config segment.ms)",
        details: "Kafka's `log.roll.ms` wins over `log.roll.hours`.",
        aliases: &[],
        kafka: &[
            ranked("log.roll.ms", 2, |s, v| {
                s.config.segment_ms = Some(number(v)?);
                Ok(())
            }),
            ranked("log.roll.hours", 1, |s, v| {
                let hours: u64 = number(v)?;
                let ms = hours
                    .checked_mul(3_600_000)
                    .ok_or_else(|| format!("{v:?} is too large"))?;
                s.config.segment_ms = Some(ms);
                Ok(())
            }),
        ],
        set: |s, v| {
            s.config.segment_ms = Some(number(v)?);
            Ok(())
        },
    },
    OptionDef {
        name: "max-connections",
        value_name: "N",
        default: Shown::Value("10000"),
        help: "Most concurrent client connections",
        details: "More wait in the accept queue.",
        aliases: &[],
        kafka: &[kafka("max.connections", |s, v| {
            s.config.max_connections = number(v)?;
            Ok(())
        })],
        set: |s, v| {
            s.config.max_connections = number(v)?;
            Ok(())
        },
    },
    OptionDef {
        name: "connections-max-idle-ms",
        value_name: "MS",
        default: Shown::Value("600000"),
        help: "Close connections with no request in flight and none received for this long, in ms",
        details: "A long-poll fetch in progress keeps its connection. A connection whose client takes none of its reply bytes for this long (nothing read from it either) is closed too.",
        aliases: &[],
        kafka: &[kafka("connections.max.idle.ms", |s, v| {
            s.config.connections_max_idle_ms = number(v)?;
            Ok(())
        })],
        set: |s, v| {
            s.config.connections_max_idle_ms = number(v)?;
            Ok(())
        },
    },
    OptionDef {
        name: "quota-window-num",
        value_name: "N",
        default: Shown::Value("11"),
        help: "Samples a client quota's rate is measured over",
        details: "Client quotas (set with AlterClientQuotas, see [quotas](quotas.md)) are measured over this many samples of `--quota-window-size-seconds` each; a client that has just started is measured as if it had been sending for all but one of them.",
        aliases: &[],
        kafka: &[kafka("quota.window.num", |s, v| {
            s.config.quota_window_num = number(v)?;
            Ok(())
        })],
        set: |s, v| {
            s.config.quota_window_num = number(v)?;
            Ok(())
        },
    },
    OptionDef {
        name: "quota-window-size-seconds",
        value_name: "SECONDS",
        default: Shown::Value("1"),
        help: "Length of one client quota sample, in seconds",
        details: "",
        aliases: &[],
        kafka: &[kafka("quota.window.size.seconds", |s, v| {
            s.config.quota_window_size_seconds = number(v)?;
            Ok(())
        })],
        set: |s, v| {
            s.config.quota_window_size_seconds = number(v)?;
            Ok(())
        },
    },
    OptionDef {
        name: "max-queued-reply-bytes-per-connection",
        value_name: "BYTES",
        default: Shown::Value("67108864"),
        help: "Stop reading a connection's requests while this many bytes of its replies are unwritten",
        details: "The reply that crosses the bound is kept whole; reading resumes as the client reads. A client that never reads its replies costs at most this plus one reply.",
        aliases: &[],
        kafka: &[],
        set: |s, v| {
            s.config.max_queued_reply_bytes_per_connection = number(v)?;
            Ok(())
        },
    },
    OptionDef {
        name: "max-queued-reply-bytes",
        value_name: "BYTES",
        default: Shown::Value("536870912"),
        help: "Unwritten reply bytes across all connections beyond which each connection handles one request at a time",
        details: "Above it, a connection with any reply still unwritten reads no further request until it is written (as Kafka handles every connection). So the broker holds at most this plus one reply per connection (`--max-connections`); a reply is at most a fetch's `max_bytes`, or one whole batch when the first batch is larger.",
        aliases: &[],
        kafka: &[],
        set: |s, v| {
            s.config.max_queued_reply_bytes = number(v)?;
            Ok(())
        },
    },
    OptionDef {
        name: "shutdown-timeout-ms",
        value_name: "MS",
        default: Shown::Value("5000"),
        help: "On shutdown, how long connections may take to write the replies they owe, in ms",
        details: "On SIGTERM/SIGINT, parked requests (long-poll fetches, JoinGroup) are answered at once and no more requests are read; then connections get this long. The logs are closed cleanly either way, so the next start skips recovery.",
        aliases: &[],
        kafka: &[],
        set: |s, v| {
            s.config.shutdown_timeout_ms = number(v)?;
            Ok(())
        },
    },
    OptionDef {
        name: "group-initial-rebalance-delay-ms",
        value_name: "MS",
        default: Shown::Prose("3000 (0 with --ephemeral)"),
        help: "How long a new group waits for more members before its first rebalance, in ms",
        details: "Extended while members keep arriving, never past the rebalance timeout. Unless it is set, an ephemeral broker (`--ephemeral`, and the embedded broker of `Broker::builder()`) uses 0, so that a test's consumer is assigned its partitions at once instead of after Kafka's 3 s; set it (even to 3000) and that value holds.",
        aliases: &[],
        kafka: &[kafka("group.initial.rebalance.delay.ms", |s, v| {
            s.config.group_initial_rebalance_delay_ms = Some(number(v)?);
            Ok(())
        })],
        set: |s, v| {
            s.config.group_initial_rebalance_delay_ms = Some(number(v)?);
            Ok(())
        },
    },
    OptionDef {
        name: "group-min-session-timeout-ms",
        value_name: "MS",
        default: Shown::Value("6000"),
        help: "Smallest session timeout a consumer group member may use, in ms",
        details: "Below it JoinGroup answers INVALID_SESSION_TIMEOUT.",
        aliases: &[],
        kafka: &[kafka("group.min.session.timeout.ms", |s, v| {
            s.config.group_min_session_timeout_ms = number(v)?;
            Ok(())
        })],
        set: |s, v| {
            s.config.group_min_session_timeout_ms = number(v)?;
            Ok(())
        },
    },
    OptionDef {
        name: "group-max-session-timeout-ms",
        value_name: "MS",
        default: Shown::Value("1800000"),
        help: "Largest session timeout a consumer group member may use, in ms",
        details: "",
        aliases: &[],
        kafka: &[kafka("group.max.session.timeout.ms", |s, v| {
            s.config.group_max_session_timeout_ms = number(v)?;
            Ok(())
        })],
        set: |s, v| {
            s.config.group_max_session_timeout_ms = number(v)?;
            Ok(())
        },
    },
    OptionDef {
        name: "offsets-retention-minutes",
        value_name: "MINUTES",
        default: Shown::Value("10080"),
        help: "How long committed offsets of an empty group are kept, in minutes",
        details: "",
        aliases: &[],
        kafka: &[kafka("offsets.retention.minutes", |s, v| {
            s.config.offsets_retention_minutes = number(v)?;
            Ok(())
        })],
        set: |s, v| {
            s.config.offsets_retention_minutes = number(v)?;
            Ok(())
        },
    },
    OptionDef {
        name: "offsets-topic-partitions",
        value_name: "N",
        default: Shown::Value("1"),
        help: "Partitions of the internal __consumer_offsets topic when it is created",
        details: "An existing topic keeps its count.",
        aliases: &[],
        kafka: &[kafka("offsets.topic.num.partitions", |s, v| {
            s.config.offsets_topic_partitions = number(v)?;
            Ok(())
        })],
        set: |s, v| {
            s.config.offsets_topic_partitions = number(v)?;
            Ok(())
        },
    },
    OptionDef {
        name: "offsets-topic-segment-bytes",
        value_name: "BYTES",
        default: Shown::Value("104857600"),
        help: "segment.bytes of the internal __consumer_offsets topic when it is created",
        details: "Smaller segments are compacted sooner (the active segment never is).",
        aliases: &[],
        kafka: &[kafka("offsets.topic.segment.bytes", |s, v| {
            s.config.offsets_topic_segment_bytes = number(v)?;
            Ok(())
        })],
        set: |s, v| {
            s.config.offsets_topic_segment_bytes = number(v)?;
            Ok(())
        },
    },
    OptionDef {
        name: "transaction-state-partitions",
        value_name: "N",
        default: Shown::Value("1"),
        help: "Partitions of the internal __transaction_state topic when it is created",
        details: "An existing topic keeps its count.",
        aliases: &[],
        kafka: &[kafka("transaction.state.log.num.partitions", |s, v| {
            s.config.transaction_state_partitions = number(v)?;
            Ok(())
        })],
        set: |s, v| {
            s.config.transaction_state_partitions = number(v)?;
            Ok(())
        },
    },
    OptionDef {
        name: "transaction-max-timeout-ms",
        value_name: "MS",
        default: Shown::Value("900000"),
        help: "Largest transaction.timeout.ms a transactional producer may use",
        details: "Above it InitProducerId answers INVALID_TRANSACTION_TIMEOUT.",
        aliases: &[],
        kafka: &[kafka("transaction.max.timeout.ms", |s, v| {
            s.config.transaction_max_timeout_ms = number(v)?;
            Ok(())
        })],
        set: |s, v| {
            s.config.transaction_max_timeout_ms = number(v)?;
            Ok(())
        },
    },
    OptionDef {
        name: "transactional-id-expiration-ms",
        value_name: "MS",
        default: Shown::Value("604800000"),
        help: "How long a transactional id with no transaction in progress is kept after its last update",
        details: "Then it is removed (a tombstone in `__transaction_state`): ListTransactions and DescribeTransactions no longer show it, and InitProducerId with it starts afresh with a new producer id. An id with a transaction open or ending never expires.",
        aliases: &[],
        kafka: &[kafka("transactional.id.expiration.ms", |s, v| {
            s.config.transactional_id_expiration_ms = number(v)?;
            Ok(())
        })],
        set: |s, v| {
            s.config.transactional_id_expiration_ms = number(v)?;
            Ok(())
        },
    },
    OptionDef {
        name: "transaction-remove-expired-transaction-cleanup-interval-ms",
        value_name: "MS",
        default: Shown::Value("3600000"),
        help: "How often expired transactional ids are looked for, in ms",
        details: "",
        aliases: &[],
        kafka: &[kafka("transaction.remove.expired.transaction.cleanup.interval.ms", |s, v| {
            s.config.transaction_remove_expired_transaction_cleanup_interval_ms = number(v)?;
            Ok(())
        })],
        set: |s, v| {
            s.config.transaction_remove_expired_transaction_cleanup_interval_ms = number(v)?;
            Ok(())
        },
    },
    OptionDef {
        name: "producer-id-expiration-ms",
        value_name: "MS",
        default: Shown::Value("86400000"),
        help: "How long a partition keeps the state of a producer after its last write",
        details: "Measured from the largest timestamp of its last batch (or its last transaction marker). A producer with a transaction open in the partition never expires. Once expired, DescribeProducers no longer lists it and its next batch is accepted with any sequence number, as Kafka does since KIP-360; a producer state snapshot does not bring it back at start.",
        aliases: &[],
        kafka: &[kafka("producer.id.expiration.ms", |s, v| {
            s.config.producer_id_expiration_ms = number(v)?;
            Ok(())
        })],
        set: |s, v| {
            s.config.producer_id_expiration_ms = number(v)?;
            Ok(())
        },
    },
    OptionDef {
        name: "producer-id-expiration-check-interval-ms",
        value_name: "MS",
        default: Shown::Value("600000"),
        help: "How often expired producer ids are removed from every partition, in ms",
        details: "",
        aliases: &[],
        kafka: &[kafka("producer.id.expiration.check.interval.ms", |s, v| {
            s.config.producer_id_expiration_check_interval_ms = number(v)?;
            Ok(())
        })],
        set: |s, v| {
            s.config.producer_id_expiration_check_interval_ms = number(v)?;
            Ok(())
        },
    },
    OptionDef {
        name: "max-partitions",
        value_name: "N",
        default: Shown::Value("10000"),
        help: "Most partitions the broker holds over all topics, internal ones included; creating more is POLICY_VIOLATION",
        details: "CreateTopics, CreatePartitions and auto-create beyond it are refused before anything is created. Each partition keeps a file descriptor open and is opened at every start, so raise `ulimit -n` with it (about one descriptor per partition and per connection, plus 256). Topics already held beyond it (the limit was lowered) keep working; only new partitions are refused. Kafka has no such option; independently of it, a single request that would create more than 10,000 partitions is refused as Kafka's controller refuses it (POLICY_VIOLATION).",
        aliases: &[],
        kafka: &[],
        set: |s, v| {
            s.config.max_partitions = number(v)?;
            Ok(())
        },
    },
    OptionDef {
        name: "fsync",
        value_name: "MODE",
        default: Shown::Value("always"),
        help: "When data is fsynced: always (before acknowledging acks=1/all), interval=<ms>, or never",
        details: "See Durability below. Kafka's `log.flush.interval.ms = N` is `interval=N`.",
        aliases: &[],
        kafka: &[kafka("log.flush.interval.ms", |s, v| {
            let ms: u64 = number(v)?;
            if ms == 0 {
                return Err("must be at least 1 (for a flush before every acknowledgement, use fsync = \"always\")".to_string());
            }
            s.config.fsync = FsyncMode::Interval(ms);
            Ok(())
        })],
        set: |s, v| {
            s.config.fsync = v.parse()?;
            Ok(())
        },
    },
    OptionDef {
        name: "ephemeral",
        value_name: "",
        default: Shown::Prose("off"),
        help: "Keep logs and metadata in memory only; nothing is written to disk",
        details: "Not even the data directory is created. Data is gone when the broker stops. Unless `--group-initial-rebalance-delay-ms` is set, new groups then rebalance at once (0 ms).",
        aliases: &[],
        kafka: &[],
        set: |s, v| {
            s.config.ephemeral = boolean(v)?;
            Ok(())
        },
    },
    OptionDef {
        name: "fault-injection",
        value_name: "",
        default: Shown::Prose("off"),
        help: "Turn on fault injection (/v1/faults, /v1/requests): for tests of clients, never in production",
        details: "Rules that answer requests with errors, delay, drop them or close the connection, the broker taken down and up, and a log of the requests clients sent (the last 10,000); over HTTP and `Broker::faults()`. See [fault-injection.md](fault-injection.md). The start log says so in a WARN line. Off, the routes answer 403 and a request costs nothing more.",
        aliases: &[],
        kafka: &[],
        set: |s, v| {
            s.config.fault_injection = boolean(v)?;
            Ok(())
        },
    },
    OptionDef {
        name: "topics",
        value_name: "SPEC",
        default: Shown::Prose("none"),
        help: "Topics to create at start, before the broker is ready: NAME[:PARTITIONS][:KEY=VALUE...], comma-separated",
        details: "For example `orders:3,payments:1:cleanup.policy=compact:retention.ms=60000`. Without a count a topic gets `--default-partitions`. A config value holding `,` or `:` goes in square brackets, as `kafka-configs.sh` takes lists: `events:2:cleanup.policy=[compact,delete]`. Kafka's checks of topic names and configs apply; a bad spec stops the start with a message naming it. A topic that exists already (a data directory from an earlier run) is left as it is, even if its partition count or configs differ (a WARN line says so; grow it with CreatePartitions). A reset (`POST /v1/reset`, `Admin::reset`) creates these topics again, empty. At most 1000 topics.",
        aliases: &[],
        kafka: &[],
        set: |s, v| {
            s.config.topics = super::topics::parse_topics(v)?;
            Ok(())
        },
    },
    OptionDef {
        name: "ready-file",
        value_name: "PATH",
        default: Shown::Prose("none"),
        help: "File written with the bootstrap address (HOST:PORT) once the broker is ready",
        details: "Written after the data is loaded and the `--topics` are created, when every request is served: at the moment of the `listening on` line. It is written to a temporary file beside it and renamed, so whoever sees the file sees it whole. A file left there by an earlier run is removed at start, and the file is removed at shutdown.",
        aliases: &[],
        kafka: &[],
        set: |s, v| {
            let v = v.trim();
            s.config.ready_file = (!v.is_empty()).then(|| PathBuf::from(v));
            Ok(())
        },
    },
    OptionDef {
        name: "retention-ms",
        value_name: "MS",
        default: Shown::Value("604800000"),
        help: "Default topic retention.ms; -1 keeps data forever",
        details: "As in Kafka, `log.retention.ms` wins over `log.retention.minutes`, which wins over `log.retention.hours`; a negative minutes or hours value keeps data forever.",
        aliases: &[],
        kafka: &[
            ranked("log.retention.ms", 3, |s, v| {
                s.config.retention_ms = number(v)?;
                Ok(())
            }),
            ranked("log.retention.minutes", 2, |s, v| {
                s.config.retention_ms = retention_in(v, 60_000)?;
                Ok(())
            }),
            ranked("log.retention.hours", 1, |s, v| {
                s.config.retention_ms = retention_in(v, 3_600_000)?;
                Ok(())
            }),
        ],
        set: |s, v| {
            s.config.retention_ms = number(v)?;
            Ok(())
        },
    },
    OptionDef {
        name: "retention-bytes",
        value_name: "BYTES",
        default: Shown::Value("-1"),
        help: "Default topic retention.bytes per partition; -1 means no limit",
        details: "",
        aliases: &[],
        kafka: &[kafka("log.retention.bytes", |s, v| {
            s.config.retention_bytes = number(v)?;
            Ok(())
        })],
        set: |s, v| {
            s.config.retention_bytes = number(v)?;
            Ok(())
        },
    },
    OptionDef {
        name: "retention-check-interval-ms",
        value_name: "MS",
        default: Shown::Value("30000"),
        help: "How often retention deletes expired segments, in ms",
        details: "",
        aliases: &[],
        kafka: &[kafka("log.retention.check.interval.ms", |s, v| {
            s.config.retention_check_interval_ms = number(v)?;
            Ok(())
        })],
        set: |s, v| {
            s.config.retention_check_interval_ms = number(v)?;
            Ok(())
        },
    },
    OptionDef {
        name: "cleaner-enable",
        value_name: "BOOL",
        default: Shown::Value("true"),
        help: "Run the log cleaner, which compacts topics with cleanup.policy=compact",
        details: "Off, compacted topics (`__consumer_offsets` and `__transaction_state` among them) grow without bound, as in Kafka.",
        aliases: &[],
        kafka: &[kafka("log.cleaner.enable", |s, v| {
            s.config.cleaner_enable = boolean(v)?;
            Ok(())
        })],
        set: |s, v| {
            s.config.cleaner_enable = boolean(v)?;
            Ok(())
        },
    },
    OptionDef {
        name: "cleaner-threads",
        value_name: "N",
        default: Shown::Value("1"),
        help: "Log cleaner threads: how many partitions are cleaned at once",
        details: "Each has its own dedupe buffer (`cleaner-dedupe-buffer-size` divided among them, as Kafka does).",
        aliases: &[],
        kafka: &[kafka("log.cleaner.threads", |s, v| {
            s.config.cleaner_threads = number(v)?;
            Ok(())
        })],
        set: |s, v| {
            s.config.cleaner_threads = number(v)?;
            Ok(())
        },
    },
    OptionDef {
        name: "cleaner-backoff-ms",
        value_name: "MS",
        default: Shown::Value("15000"),
        help: "How long the cleaner sleeps when no log needs cleaning, in ms",
        details: "",
        aliases: &[],
        kafka: &[kafka("log.cleaner.backoff.ms", |s, v| {
            s.config.cleaner_backoff_ms = number(v)?;
            Ok(())
        })],
        set: |s, v| {
            s.config.cleaner_backoff_ms = number(v)?;
            Ok(())
        },
    },
    OptionDef {
        name: "cleaner-io-max-bytes-per-second",
        value_name: "BYTES",
        default: Shown::Value("1.7976931348623157E308"),
        help: "The cleaner's read plus write rate limit, in bytes per second",
        details: "The default is no limit (Kafka's `Double.MaxValue`).",
        aliases: &[],
        kafka: &[kafka("log.cleaner.io.max.bytes.per.second", |s, v| {
            s.config.cleaner_io_max_bytes_per_second = float(v)?;
            Ok(())
        })],
        set: |s, v| {
            s.config.cleaner_io_max_bytes_per_second = float(v)?;
            Ok(())
        },
    },
    OptionDef {
        name: "cleaner-dedupe-buffer-size",
        value_name: "BYTES",
        default: Shown::Value("134217728"),
        help: "Memory for the cleaner's key -> offset maps, all threads together",
        details: "24 bytes per key (a 16-byte hash and an offset), filled to 90 %: a pass whose map fills cleans up to where it got, and the next pass goes on from there.",
        aliases: &[],
        kafka: &[kafka("log.cleaner.dedupe.buffer.size", |s, v| {
            s.config.cleaner_dedupe_buffer_size = number(v)?;
            Ok(())
        })],
        set: |s, v| {
            s.config.cleaner_dedupe_buffer_size = number(v)?;
            Ok(())
        },
    },
    OptionDef {
        name: "cleaner-min-cleanable-ratio",
        value_name: "RATIO",
        default: Shown::Value("0.5"),
        help: "Default for the topic config min.cleanable.dirty.ratio",
        details: "A log is cleaned when its dirty (not yet cleaned) part is more than this share of its cleanable bytes, or when `max.compaction.lag.ms` forces it.",
        aliases: &[],
        kafka: &[kafka("log.cleaner.min.cleanable.ratio", |s, v| {
            s.config.cleaner_min_cleanable_ratio = float(v)?;
            Ok(())
        })],
        set: |s, v| {
            s.config.cleaner_min_cleanable_ratio = float(v)?;
            Ok(())
        },
    },
    OptionDef {
        name: "cleaner-delete-retention-ms",
        value_name: "MS",
        default: Shown::Value("86400000"),
        help: "Default for the topic config delete.retention.ms",
        details: "How long tombstones and transaction markers stay after a cleaning pass first found them removable.",
        aliases: &[],
        kafka: &[kafka("log.cleaner.delete.retention.ms", |s, v| {
            s.config.cleaner_delete_retention_ms = number(v)?;
            Ok(())
        })],
        set: |s, v| {
            s.config.cleaner_delete_retention_ms = number(v)?;
            Ok(())
        },
    },
    OptionDef {
        name: "cleaner-min-compaction-lag-ms",
        value_name: "MS",
        default: Shown::Value("0"),
        help: "Default for the topic config min.compaction.lag.ms",
        details: "Segments holding records newer than this are not cleaned yet.",
        aliases: &[],
        kafka: &[kafka("log.cleaner.min.compaction.lag.ms", |s, v| {
            s.config.cleaner_min_compaction_lag_ms = number(v)?;
            Ok(())
        })],
        set: |s, v| {
            s.config.cleaner_min_compaction_lag_ms = number(v)?;
            Ok(())
        },
    },
    OptionDef {
        name: "cleaner-max-compaction-lag-ms",
        value_name: "MS",
        default: Shown::Value("9223372036854775807"),
        help: "Default for the topic config max.compaction.lag.ms",
        details: "A log whose oldest uncleaned segment is older than this is cleaned whatever its dirty ratio.",
        aliases: &[],
        kafka: &[kafka("log.cleaner.max.compaction.lag.ms", |s, v| {
            s.config.cleaner_max_compaction_lag_ms = number(v)?;
            Ok(())
        })],
        set: |s, v| {
            s.config.cleaner_max_compaction_lag_ms = number(v)?;
            Ok(())
        },
    },
    OptionDef {
        name: "kafka-env",
        value_name: "",
        default: Shown::Prose("off (on in the container image)"),
        help: "Also read the KAFKA_* variables of Kafka's container images (KAFKA_NUM_PARTITIONS, KAFKA_ADVERTISED_LISTENERS, ...), below SLUICE_* ones",
        details: "`KAFKA_FOO_BAR` is the property `foo.bar` (after the prefix `_` is `.`, `__` is `_`, `___` is `-`, as in the apache/kafka image; `KAFKA_CFG_FOO_BAR` as in Bitnami's); it takes the Kafka names of the table below, and a bad value is a start error naming the variable. Properties Sluice has no use for (replication factors, ZooKeeper, KRaft controllers, ...) and unknown ones are ignored with one INFO or WARN line each. Several listeners in `KAFKA_LISTENERS` / `KAFKA_ADVERTISED_LISTENERS`: Sluice serves the client-facing one; see [docker.md](docker.md#kafka-variables). Off by default, since shells often have `KAFKA_HOME` or `KAFKA_OPTS` for other tools; Sluice's image turns it on.",
        aliases: &[],
        kafka: &[],
        set: |s, v| {
            s.kafka_env = boolean(v)?;
            Ok(())
        },
    },
    OptionDef {
        name: "log-format",
        value_name: "FORMAT",
        default: Shown::Value("text"),
        help: "Format of the log lines on stderr: text or json",
        details: "Text is coloured only when stderr is a terminal (and `NO_COLOR` is not set). Which events are logged is set by `SLUICE_LOG`, below.",
        aliases: &[],
        kafka: &[],
        set: |s, v| {
            s.log_format = v.parse()?;
            Ok(())
        },
    },
];
