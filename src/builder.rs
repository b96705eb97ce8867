//! [`BrokerBuilder`]: the embedder's way to start a [`Broker`], and the
//! embedded broker for Rust tests.
//!
//! A test starts a real broker in its own process — ephemeral (nothing on
//! disk), on a free port, with its topics — points any Kafka client at
//! [`Broker::bootstrap_servers`], uses [`Broker::admin`] to look and
//! change things without a client, [`Broker::reset`] between tests, and
//! [`Broker::shutdown`] at the end. This example runs as a doc test:
//!
//! ```
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let broker = sluice::Broker::builder()
//!     .topic("orders", 3)
//!     .topics("payments:1:cleanup.policy=compact")
//!     .option("auto.create.topics.enable", "false")
//!     .start()
//!     .await?;
//! // What a client's bootstrap.servers should say: 127.0.0.1 and a free port.
//! let bootstrap = broker.bootstrap_servers();
//! assert!(bootstrap.starts_with("127.0.0.1:"));
//!
//! let admin = broker.admin();
//! assert_eq!(admin.describe_topic("orders")?.partitions, 3);
//! admin
//!     .create_topic(sluice::admin::NewTopic::new("scratch", 1))
//!     .await?;
//!
//! // Between tests: user topics and groups gone, --topics back, empty.
//! let reset = broker.reset().await?;
//! assert_eq!(reset.deleted_topics, ["orders", "payments", "scratch"]);
//! assert_eq!(reset.created_topics, ["orders", "payments"]);
//! assert!(admin.describe_topic("scratch").is_err());
//!
//! broker.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! `tests/embedded_downstream.rs` is the same as a test file a downstream
//! crate can copy, with librdkafka producing and consuming; `docs/embedding.md`
//! is the guide.

use std::path::PathBuf;

use crate::clock::{SharedClock, SystemClock};
use crate::config::{parse_topics, TopicSpec};
use crate::{Broker, Config, StartError};

/// A topic given to the builder: by name and count, or as a `--topics` spec
/// (parsed at [`BrokerBuilder::start`], which reports a bad one).
#[derive(Debug, Clone)]
enum TopicArg {
    One(TopicSpec),
    Spec(String),
}

/// Configures an embedded [`Broker`]; [`Broker::builder`] makes one.
///
/// Starts from [`Config::default`] with three changes that suit embedding:
/// the broker is ephemeral (in memory, nothing written to disk), listens
/// on `127.0.0.1:0` (a free port the operating system picks; read it back
/// with [`Broker::local_addr`] or [`Broker::bootstrap_servers`]) and runs
/// no HTTP server unless [`http_listen`](Self::http_listen) asks for one.
/// Being ephemeral, its groups rebalance at once
/// (`group.initial.rebalance.delay.ms` 0) unless that option is set.
///
/// Fault injection (failing requests on purpose) is switched on here too,
/// by its own builder method, and used through the broker's handle; see
/// the `faults` module.
///
/// ```no_run
/// # async fn example() -> Result<(), sluice::StartError> {
/// let broker = sluice::Broker::builder()
///     .data_dir("/var/lib/myapp/kafka")
///     .listen("0.0.0.0:9092")
///     .advertised_listener("kafka.internal:9092")
///     .with_config(|c| {
///         c.auto_create_topics = false;
///         c.retention_ms = 60 * 60 * 1000;
///     })
///     .start()
///     .await?;
/// # broker.shutdown().await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `start` is awaited"]
pub struct BrokerBuilder {
    config: Config,
    clock: SharedClock,
    /// Options given by name ([`option`](Self::option)), set in order by
    /// [`start`](Self::start), which reports the first that cannot be.
    options: Vec<(String, String)>,
    /// Topics to create at start ([`topic`](Self::topic),
    /// [`topics`](Self::topics)), after the configuration's own `topics`.
    topics: Vec<TopicArg>,
}

impl Default for BrokerBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl BrokerBuilder {
    /// Ephemeral, on `127.0.0.1:0`, every other option at its default.
    pub fn new() -> Self {
        BrokerBuilder {
            config: Config {
                listen: "127.0.0.1:0".to_string(),
                ephemeral: true,
                ..Config::default()
            },
            clock: SystemClock::shared(),
            options: Vec::new(),
            topics: Vec::new(),
        }
    }

    /// Keeps everything in memory: topics, offsets and transactions are
    /// gone when the broker stops (the default).
    pub fn ephemeral(mut self) -> Self {
        self.config.ephemeral = true;
        self
    }

    /// Keeps data in `path` (created if missing, locked while the broker
    /// runs), so that a broker started on it later finds it again.
    pub fn data_dir(mut self, path: impl Into<PathBuf>) -> Self {
        self.config.data_dir = path.into();
        self.config.ephemeral = false;
        self
    }

    /// The `host:port` to listen on; port 0 picks a free one.
    pub fn listen(mut self, addr: impl Into<String>) -> Self {
        self.config.listen = addr.into();
        self
    }

    /// The `host:port` clients are told to connect to (Metadata,
    /// FindCoordinator), when it is not the listening address.
    pub fn advertised_listener(mut self, addr: impl Into<String>) -> Self {
        self.config.advertised_listener = Some(addr.into());
        self
    }

    /// Runs the HTTP server (health, readiness, admin) on `addr`;
    /// `127.0.0.1:0` picks a free port ([`Broker::http_addr`] tells it).
    pub fn http_listen(mut self, addr: impl Into<String>) -> Self {
        self.config.http_listen = Some(addr.into());
        self
    }

    /// Turns fault injection on (`--fault-injection`): [`Broker::faults`]
    /// then gives the rules, broker down/up and the request log, and the
    /// HTTP server (if any) serves `/v1/faults` and `/v1/requests`.
    pub fn fault_injection(mut self) -> Self {
        self.config.fault_injection = true;
        self
    }

    /// Replaces the whole configuration, including what `ephemeral`,
    /// `data_dir` and `listen` set before.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Changes any option: `.with_config(|c| c.default_partitions = 3)`.
    /// [`start`](Self::start) validates the result as the command line's
    /// options are validated.
    pub fn with_config(mut self, change: impl FnOnce(&mut Config)) -> Self {
        change(&mut self.config);
        self
    }

    /// Sets one option by its name or its Kafka property name, as
    /// `--override KEY=VALUE` does: `.option("num.partitions", "3")`,
    /// `.option("log.retention.ms", "60000")`. An unknown key or a bad value
    /// is [`StartError::Config`] from [`start`](Self::start), which applies
    /// these in order over what the builder's other methods set.
    pub fn option(mut self, key: &str, value: &str) -> Self {
        self.options.push((key.to_string(), value.to_string()));
        self
    }

    /// A topic created at start, before [`start`](Self::start) returns, and
    /// again (empty) by [`Broker::reset`]. Its name and count are checked as
    /// CreateTopics checks them.
    pub fn topic(mut self, name: impl Into<String>, partitions: i32) -> Self {
        self.topics
            .push(TopicArg::One(TopicSpec::new(name, Some(partitions))));
        self
    }

    /// Topics in the `--topics` form:
    /// `"orders:3,payments:1:cleanup.policy=compact"` (the grammar is in
    /// `docs/configuration.md`; a value with `,` or `:` goes in square
    /// brackets). A bad spec is [`StartError::Config`] from
    /// [`start`](Self::start).
    pub fn topics(mut self, spec: impl Into<String>) -> Self {
        self.topics.push(TopicArg::Spec(spec.into()));
        self
    }

    /// The clock the broker reads (the system's by default): session and
    /// transaction timeouts, offset expiry, LogAppendTime timestamps and
    /// retention all follow it. A [`ManualClock`](crate::clock::ManualClock)
    /// lets a test move time. Socket and fetch-wait timeouts run on real
    /// time whatever the clock says.
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Validates the options, opens the data directory (unless ephemeral),
    /// loads every topic and the coordinators' state, and starts listening;
    /// returns once everything is loaded and every request is served. Stop it with
    /// [`Broker::shutdown`].
    pub async fn start(mut self) -> Result<Broker, StartError> {
        for (key, value) in &self.options {
            self.config.set(key, value)?;
        }
        for arg in self.topics {
            let specs = match arg {
                TopicArg::One(spec) => vec![spec],
                TopicArg::Spec(spec) => {
                    parse_topics(&spec).map_err(|message| crate::config::ConfigError::Invalid {
                        option: "topics",
                        message,
                    })?
                }
            };
            for spec in specs {
                if self.config.topics.iter().any(|t| t.name == spec.name) {
                    return Err(StartError::TopicSpec {
                        topic: spec.name,
                        message: "is given twice".into(),
                    });
                }
                self.config.topics.push(spec);
            }
        }
        Broker::launch(self.config, self.clock).await
    }
}
