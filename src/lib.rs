//! Sluice: a broker that speaks the Kafka wire protocol, as a program or
//! inside yours.
//!
//! The `sluice` binary runs it from the command line. This crate runs the
//! same broker in-process: a test suite that wants a real Kafka endpoint
//! without a JVM or a container, a tool that needs a scratch broker, an
//! application that ships its own. Any Kafka client talks to it over TCP
//! exactly as to the binary.
//!
//! # Embedding
//!
//! [`Broker::builder`] configures one; [`BrokerBuilder::start`] loads it and
//! returns once it has loaded its data and serves. By default the builder's broker is
//! ephemeral (everything in memory) and listens on `127.0.0.1:0`, a port
//! the operating system picks: [`Broker::bootstrap_servers`] is what a
//! client's `bootstrap.servers` should say.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use sluice::admin::NewTopic;
//!
//! let broker = sluice::Broker::builder()
//!     .ephemeral()
//!     .with_config(|c| c.default_partitions = 3)
//!     .start()
//!     .await?;
//! broker
//!     .admin()
//!     .create_topic(NewTopic::new("orders", 6).config("retention.ms", "60000"))
//!     .await?;
//! let bootstrap = broker.bootstrap_servers(); // e.g. "127.0.0.1:40123"
//! // ... point a Kafka producer or consumer at `bootstrap` ...
//! broker.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! `examples/embedded.rs` goes on to produce and consume with librdkafka.
//! For tests, the builder also creates topics before `start` returns
//! ([`BrokerBuilder::topic`], [`BrokerBuilder::topics`]) and
//! [`Broker::reset`] empties the broker between tests; the builder module's
//! example runs as a doc test, and `docs/embedding.md` is the guide.
//!
//! # What is here
//!
//! - [`Broker`], [`BrokerBuilder`]: start, address, reset, shutdown.
//! - [`Config`] (and [`config::FsyncMode`]): every broker option, the same
//!   ones the command line takes; [`BrokerBuilder::with_config`] sets any.
//! - [`Admin`] ([`Broker::admin`]): topics, configs, consumer groups and
//!   their offsets, producers and transactions, as plain Rust values,
//!   without a Kafka client. [`AdminError::code`] is Kafka's error code.
//! - [`clock`]: the broker's one clock, replaceable with a
//!   [`clock::ManualClock`] so that tests move time themselves.
//! - [`RequestMetrics`], [`ConnectionStats`]: read-outs for a metrics
//!   exporter.
//! - [`faults`]: fault injection ([`Broker::faults`], when started with
//!   [`BrokerBuilder::fault_injection`]): rules that make the broker fail,
//!   delay or drop requests, broker down/up, and the request log, for
//!   tests of client resilience.
//! - [`logging::init`]: the log subscriber the `sluice` command installs,
//!   whose levels Kafka's BROKER_LOGGER resource changes at run time.
//!
//! Everything else (the request handlers, coordinators, storage layout) is
//! internal and may change between versions.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod admin;
pub(crate) mod advertised;
mod builder;
pub(crate) mod cleaner;
pub mod config;
pub(crate) mod config_admin;
pub(crate) mod coordinator;
pub(crate) mod data_dir_lock;
pub(crate) mod dispatch;
pub(crate) mod error;
pub mod faults;
pub(crate) mod features;
pub(crate) mod group;
pub(crate) mod handlers;
pub(crate) mod http;
pub mod logging;
pub(crate) mod maintenance;
pub(crate) mod metadata;
pub(crate) mod partition;
pub(crate) mod quota;
pub(crate) mod reset;
pub(crate) mod server;
pub(crate) mod session;
pub(crate) mod startup;
pub(crate) mod txn;

use std::net::SocketAddr;
use std::sync::Arc;

use uuid::Uuid;

pub use admin::{Admin, AdminError};
pub use builder::BrokerBuilder;
pub use config::Config;
pub use data_dir_lock::LockError;
pub use dispatch::metrics::{ApiMetrics, RequestMetrics, LATENCY_BUCKETS_US};
pub use server::ConnectionStats;

pub(crate) use admin::NewTopic;
use coordinator::SharedClock;
use error::TopicError;
use metadata::{BrokerDefaults, Metadata, TopicMeta};
use partition::Partitions;

/// Shared state of a running broker: what every request handler sees
/// (configuration, topic metadata, the partition registry, the
/// coordinators). Internal; embedders reach it through [`Broker`] and
/// [`Admin`].
pub(crate) struct BrokerState {
    pub config: Config,
    pub metadata: Metadata,
    pub partitions: Partitions,
    /// The broker's config layers (dynamic per node and cluster-wide,
    /// options, Kafka's defaults); read through `topic_defaults()`, replaced
    /// whole when a dynamic broker config changes (`config_admin.rs`).
    pub broker_defaults: std::sync::RwLock<Arc<BrokerDefaults>>,
    /// Host and port given to clients in Metadata, FindCoordinator and
    /// DescribeCluster answers, and where they come from; changed at run
    /// time through `advertised.listeners` (see `advertised.rs`). Read it
    /// with `advertised()`.
    advertised: std::sync::RwLock<((String, u16), advertised::Origin)>,
    /// The address of the option or the bound one: what a deleted dynamic
    /// `advertised.listeners` goes back to.
    advertised_at_start: ((String, u16), advertised::Origin),
    /// Start-up is over: data loaded and the `--topics` created
    /// (`/readyz`).
    pub started: std::sync::atomic::AtomicBool,
    /// One reset at a time (`reset.rs`).
    pub reset_lock: tokio::sync::Mutex<()>,
    /// The group coordinator (consumer groups and committed offsets).
    pub groups: group::Groups,
    /// Producer id allocation (idempotent and transactional producers).
    pub producer_ids: txn::ProducerIds,
    /// The transaction coordinator.
    pub txns: txn::Transactions,
    /// Fault injection (rules, broker down, the request log): `None`
    /// unless the broker runs with `--fault-injection`.
    pub faults: Option<Arc<faults::Faults>>,
    /// The one clock: coordinators' deadlines, produce timestamps
    /// (LogAppendTime and the timestamp bounds) and retention read it.
    pub clock: SharedClock,
    /// Client quota enforcement (the quotas themselves are in `metadata`).
    pub quotas: quota::QuotaManager,
}

/// Kafka's controller refuses a request that would create more partitions
/// than this (`ReplicationControlManager.MAX_PARTITIONS_PER_BATCH`), before
/// creating any: no request makes the broker do unbounded work.
pub(crate) const MAX_PARTITIONS_PER_REQUEST: i64 = 10_000;
/// Kafka's message for CreateTopics over [`MAX_PARTITIONS_PER_REQUEST`].
pub(crate) const TOO_MANY_PARTITIONS_PER_REQUEST: &str =
    "Excessively large number of partitions per request.";
/// Kafka's message for an operation over its batch bound (CreatePartitions
/// adding more than [`MAX_PARTITIONS_PER_REQUEST`]).
pub(crate) const TOO_LARGE_BATCH: &str = "Unable to perform excessively large batch operation.";

impl BrokerState {
    /// Validates a topic without creating it.
    pub fn validate_new_topic(&self, topic: &NewTopic) -> Result<(), TopicError> {
        metadata::validate_topic_name(&topic.name)?;
        if topic.partitions < 1 {
            return Err(TopicError::InvalidPartitions(format!(
                "number of partitions must be at least 1, got {}",
                topic.partitions
            )));
        }
        for (k, v) in &topic.configs {
            metadata::validate_topic_config(k, v)?;
        }
        let defaults = self.topic_defaults();
        metadata::catalog::check_topic_set(&topic.configs, |k| defaults.get(k).map(str::to_string))
            .map_err(TopicError::InvalidConfig)?;
        if self.metadata.topic(&topic.name).is_some() {
            return Err(TopicError::AlreadyExists(topic.name.clone()));
        }
        if i64::from(topic.partitions) > MAX_PARTITIONS_PER_REQUEST {
            return Err(TopicError::PolicyViolation(
                TOO_MANY_PARTITIONS_PER_REQUEST.into(),
            ));
        }
        self.check_partition_limit(i64::from(topic.partitions))?;
        Ok(())
    }

    /// Refuses `more` partitions when the broker would then hold more than
    /// `--max-partitions`.
    pub fn check_partition_limit(&self, more: i64) -> Result<(), TopicError> {
        let held: i64 = self
            .metadata
            .topics()
            .iter()
            .map(|t| i64::from(t.partitions))
            .sum();
        let limit = i64::try_from(self.config.max_partitions).unwrap_or(i64::MAX);
        if held.saturating_add(more) > limit {
            return Err(TopicError::PolicyViolation(format!(
                "the broker holds {held} partitions; {more} more would exceed its limit of {limit} (max-partitions)"
            )));
        }
        Ok(())
    }

    /// UNKNOWN_TOPIC_OR_PARTITION for a partition the broker does not have
    /// (the per-partition check of the offset APIs).
    pub fn unknown_partition(&self, topic: &str, partition: i32) -> Option<error::GroupError> {
        let known = self
            .metadata
            .topic(topic)
            .is_some_and(|t| (0..t.partitions).contains(&partition));
        (!known).then_some(error::GroupError::UnknownTopicOrPartition)
    }

    /// Whether a known topic owns partition `index` of `name`.
    fn owns(&self, name: &str, index: i32) -> bool {
        self.metadata
            .topic(name)
            .is_some_and(|t| index < t.partitions)
    }

    /// Creates a topic, all or nothing: its partitions are made durable,
    /// then the metadata log records it (see `Partitions::create`).
    pub fn create_topic(&self, topic: NewTopic) -> Result<Arc<TopicMeta>, TopicError> {
        let _changing = self.partitions.begin_change()?;
        self.validate_new_topic(&topic)?;
        let meta = TopicMeta {
            name: topic.name,
            id: Uuid::new_v4(),
            partitions: topic.partitions,
            configs: topic.configs,
            internal: false,
        };
        let owns = |name: &str, index: i32| self.owns(name, index);
        let meta = self
            .partitions
            .create(&meta, 0, &self.topic_defaults(), &owns, || {
                self.metadata.create(meta.clone())
            })?;
        tracing::info!(topic = %meta.name, id = %meta.id, partitions = meta.partitions, "topic created");
        Ok(meta)
    }

    /// Deletes a topic and its data.
    pub fn delete_topic(&self, name: &str) -> Result<Arc<TopicMeta>, TopicError> {
        let _changing = self.partitions.begin_change()?;
        let meta = self
            .metadata
            .topic(name)
            .ok_or(TopicError::UnknownTopicOrPartition)?;
        if meta.internal {
            return Err(TopicError::TopicDeletionDisabled);
        }
        let owns = |name: &str, index: i32| self.owns(name, index);
        let meta = self
            .partitions
            .delete(&meta, &owns, || self.metadata.delete(name))?;
        tracing::info!(topic = %meta.name, id = %meta.id, "topic deleted");
        Ok(meta)
    }

    /// CreatePartitions: raises `name`'s partition count to `count`.
    pub fn create_partitions(
        &self,
        name: &str,
        count: i32,
        validate_only: bool,
    ) -> Result<(), TopicError> {
        let _changing = self.partitions.begin_change()?;
        let meta = self
            .metadata
            .topic(name)
            .ok_or(TopicError::UnknownTopicOrPartition)?;
        if meta.internal {
            return Err(TopicError::InvalidRequest(format!(
                "internal topic {name} cannot grow"
            )));
        }
        if count <= meta.partitions {
            return Err(TopicError::InvalidPartitions(format!(
                "topic currently has {} partitions, which is not fewer than the requested {count}",
                meta.partitions
            )));
        }
        let added = i64::from(count) - i64::from(meta.partitions);
        if added > MAX_PARTITIONS_PER_REQUEST {
            return Err(TopicError::PolicyViolation(TOO_LARGE_BATCH.into()));
        }
        self.check_partition_limit(added)?;
        if validate_only {
            return Ok(());
        }
        let mut grown = (*meta).clone();
        grown.partitions = count;
        let owns = |name: &str, index: i32| self.owns(name, index);
        self.partitions.create(
            &grown,
            meta.partitions,
            &self.topic_defaults(),
            &owns,
            || self.metadata.set_partition_count(name, count),
        )?;
        tracing::info!(topic = %name, partitions = count, "partitions added");
        Ok(())
    }

    /// Creates `name` with default settings if auto-creation is on.
    pub fn auto_create_topic(&self, name: &str) -> Result<Arc<TopicMeta>, TopicError> {
        let topic = NewTopic {
            name: name.to_string(),
            partitions: self.config.default_partitions,
            configs: Default::default(),
        };
        match self.create_topic(topic) {
            // Two clients raced to create it: both see the topic.
            Err(TopicError::AlreadyExists(_)) => self
                .metadata
                .topic(name)
                .ok_or(TopicError::UnknownTopicOrPartition),
            other => other,
        }
    }
}

/// The transaction coordinator answers the partition layer's question
/// whether a transactional batch belongs to an open transaction.
impl partition::TransactionMembership for txn::Transactions {
    fn verify(
        &self,
        producer_id: i64,
        epoch: i16,
        topic: &str,
        partition: i32,
    ) -> Result<(), error::TxnError> {
        txn::Transactions::verify(self, producer_id, epoch, topic, partition)
    }
}

/// The transaction coordinator's markers go to the broker's partitions
/// (and, for `__consumer_offsets`, through the group coordinator, which
/// commits or drops the transaction's offsets); its producer ids come from
/// the broker's allocator.
impl txn::TxnParticipants for BrokerState {
    fn next_producer_id(&self) -> Result<i64, error::TxnError> {
        self.producer_ids.next_id()
    }

    fn write_marker(
        &self,
        topic: &str,
        index: i32,
        producer_id: i64,
        epoch: i16,
        control: sluice_protocol::records::ControlType,
        now: i64,
    ) -> Option<Result<coordinator::pending::Write, error::PartitionError>> {
        if topic == group::OFFSETS_TOPIC {
            let commit = control == sluice_protocol::records::ControlType::Commit;
            return Some(
                self.groups
                    .complete_transaction(index, producer_id, epoch, commit),
            );
        }
        let partition = self.partitions.get(topic, index)?;
        Some(
            coordinator::PartitionWriter::append_marker(
                &*partition,
                producer_id,
                epoch,
                control,
                now,
            )
            .map(|end| (partition as Arc<dyn coordinator::PartitionWriter>, end)),
        )
    }
}

/// The broker's clock: milliseconds since the Unix epoch, read by every
/// part that keeps time (coordinator deadlines, produce timestamps,
/// retention). [`BrokerBuilder::clock`] replaces the
/// [`SystemClock`](crate::clock::SystemClock) with, for instance, a
/// [`ManualClock`](crate::clock::ManualClock) a test advances itself.
pub mod clock {
    pub use crate::coordinator::{Clock, ManualClock, SharedClock, SystemClock};
}

/// What the fsync batcher has done, from [`Broker::flush_stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct FlushStats {
    /// Flush rounds run so far; one round fsyncs every partition that has
    /// unflushed data, for all the produce requests waiting on it.
    pub rounds: u64,
}

/// Failure to start the broker.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("cannot use data directory {dir}: {source}")]
    DataDir {
        dir: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Locked(#[from] data_dir_lock::LockError),
    #[error("cannot open topic {topic}: {message}")]
    Topic { topic: String, message: String },
    #[error("cannot open the partitions of topic {topic}: {source}")]
    Partitions {
        topic: String,
        source: sluice_storage::StorageError,
    },
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
    /// The broker was shut down before it finished loading.
    #[error("the broker was shut down before it finished starting")]
    Stopped,
    /// The load task failed (it panicked).
    #[error("loading the data directory failed: {0}")]
    LoadFailed(String),
    /// A topic of `--topics` is refused (Kafka's checks of its name and
    /// configs, or the broker's limits).
    #[error("--topics: topic {topic:?}: {message}")]
    TopicSpec { topic: String, message: String },
    /// `--ready-file` could not be written.
    #[error("cannot write the ready file {path}: {source}")]
    ReadyFile {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// A running broker.
pub struct Broker {
    server: server::Server,
    /// The HTTP server, unless `http_listen` is off.
    http: Option<http::HttpServer>,
    state: Arc<BrokerState>,
    background: Vec<tokio::task::JoinHandle<()>>,
    stop_background: tokio::sync::watch::Sender<bool>,
    /// The data directory's lock, held until shutdown ends (none in memory).
    data_dir_lock: Option<data_dir_lock::DataDirLock>,
    /// The load still running after [`Broker::start_serving`] (see
    /// `startup.rs`); `None` once it ended.
    loader: Option<startup::Loader>,
}

impl Broker {
    /// A builder for an embedded broker: ephemeral, on `127.0.0.1:0`,
    /// with every other option at its default until told otherwise.
    pub fn builder() -> BrokerBuilder {
        BrokerBuilder::new()
    }

    /// Binds the listener, opens the data directory, loads every topic and
    /// serves. Returns once everything is loaded; a load that fails stops
    /// the broker and returns its error.
    pub async fn start(config: Config) -> Result<Broker, StartError> {
        Self::launch(config, coordinator::SystemClock::shared()).await
    }

    /// [`Broker::start`] on the given clock (every reader of the time in the
    /// broker reads this one).
    pub(crate) async fn launch(config: Config, clock: SharedClock) -> Result<Broker, StartError> {
        let mut broker = Broker::start_with(config, clock, None).await?;
        match broker.ready().await {
            Ok(()) => Ok(broker),
            Err(e) => {
                broker.stop(false).await;
                Err(e)
            }
        }
    }

    /// Binds the listener first (a port in use fails at once, whatever the
    /// data size), then locks the data directory and reads the metadata
    /// log, and returns a broker that already serves while its partitions
    /// and coordinators load in the background: until [`Broker::ready`]
    /// requests get Kafka's retriable answers for a broker that is loading
    /// (see `startup.rs`).
    pub async fn start_serving(config: Config) -> Result<Broker, StartError> {
        Self::start_with(config, coordinator::SystemClock::shared(), None).await
    }

    /// [`Broker::start_serving`] whose load waits for the returned hold to
    /// be released (tests of the loading answers).
    #[doc(hidden)]
    pub async fn start_held(config: Config) -> Result<(Broker, startup::LoadHold), StartError> {
        let (hold, held) = startup::hold();
        let broker =
            Self::start_with(config, coordinator::SystemClock::shared(), Some(held)).await?;
        Ok((broker, hold))
    }

    /// Waits until everything is loaded and clients are served. On an
    /// error the broker serves nothing more; shut it down. Cancel-safe.
    pub async fn ready(&mut self) -> Result<(), StartError> {
        let Some(loader) = &mut self.loader else {
            return Ok(());
        };
        let outcome = loader.wait().await;
        self.loader = None;
        self.background.extend(outcome?);
        if let Some(path) = &self.state.config.ready_file {
            reset::write_ready_file(path, &self.bootstrap_servers()).map_err(|source| {
                StartError::ReadyFile {
                    path: path.clone(),
                    source,
                }
            })?;
        }
        Ok(())
    }

    async fn start_with(
        config: Config,
        clock: SharedClock,
        hold: Option<tokio::sync::oneshot::Receiver<()>>,
    ) -> Result<Broker, StartError> {
        config.validate()?;
        reset::check_topic_specs(&config)?;
        if let Some(path) = &config.ready_file {
            // A file left by an earlier run must not say this one is ready.
            reset::remove_ready_file(path);
        }
        // Before the data directory is touched: "port in use" must not wait
        // for a recovery.
        let listener = server::bind(&config.listen)
            .await
            .map_err(|source| StartError::Listen {
                addr: config.listen.clone(),
                source,
            })?;
        let local = listener.local_addr().map_err(|source| StartError::Listen {
            addr: config.listen.clone(),
            source,
        })?;
        let http_listener = match &config.http_listen {
            Some(addr) => Some(
                http::bind(addr)
                    .await
                    .map_err(|source| StartError::Listen {
                        addr: addr.clone(),
                        source,
                    })?,
            ),
            None => None,
        };
        let advertised_at_start = advertised_address(&config, local)?;
        let mut data_dir_lock = None;
        let metadata = if config.ephemeral {
            Metadata::in_memory()
        } else {
            std::fs::create_dir_all(&config.data_dir).map_err(|source| StartError::DataDir {
                dir: config.data_dir.clone(),
                source,
            })?;
            // Before anything in the directory is read or written.
            data_dir_lock = Some(data_dir_lock::lock(&config.data_dir)?);
            Metadata::open(&config.data_dir).map_err(|source| StartError::DataDir {
                dir: config.data_dir.clone(),
                source,
            })?
        };
        let metadata_advertised = metadata
            .broker_configs(&config.node_id.to_string())
            .get(advertised::ADVERTISED_LISTENERS)
            .cloned();
        let topic_defaults = BrokerDefaults::from_layers(
            metadata.broker_configs(&config.node_id.to_string()),
            metadata.broker_configs(""),
            metadata::broker_configs::static_layer(&config),
        );
        group::service::ensure_offsets_topic(&metadata, &config).map_err(|e| {
            StartError::Topic {
                topic: group::OFFSETS_TOPIC.to_string(),
                message: e.to_string(),
            }
        })?;
        txn::service::ensure_state_topic(&metadata, &config).map_err(|e| StartError::Topic {
            topic: txn::TXN_STATE_TOPIC.to_string(),
            message: e.to_string(),
        })?;
        // Partitions, coordinators and producer ids start empty and are
        // loaded by `startup::Loader` while the listener already answers.
        let partitions = Partitions::new_loading(&config.data_dir, config.ephemeral);
        let groups = group::Groups::loading(&metadata, Arc::clone(&clock));
        let txns = txn::Transactions::loading(&metadata, Arc::clone(&clock));
        let quotas =
            quota::QuotaManager::new(config.quota_window_num, config.quota_window_size_seconds);
        let faults = config.fault_injection.then(|| {
            Arc::new(faults::Faults::new(
                dispatch::table::API_TABLE.iter().map(|e| e.key).collect(),
            ))
        });
        let state = Arc::new(BrokerState {
            config,
            metadata,
            partitions,
            broker_defaults: std::sync::RwLock::new(Arc::new(topic_defaults)),
            advertised: std::sync::RwLock::new(advertised::advertised_from(
                metadata_advertised.as_deref(),
                &advertised_at_start,
            )),
            advertised_at_start,
            started: std::sync::atomic::AtomicBool::new(false),
            reset_lock: tokio::sync::Mutex::new(()),
            groups,
            producer_ids: txn::ProducerIds::loading(),
            txns,
            faults,
            quotas,
            clock,
        });
        tracing::info!(
            listen = %local,
            advertised = %{ let (h, p) = state.advertised(); advertised::host_port(&h, p) },
            data_dir = %if state.config.ephemeral { "(ephemeral: in memory)".to_string() } else { state.config.data_dir.display().to_string() },
            fsync = %state.config.fsync,
            version = env!("CARGO_PKG_VERSION"),
            "sluice started; loading partitions"
        );
        if state.faults.is_some() {
            tracing::warn!(
                "fault injection is ON (--fault-injection): requests may be failed, delayed or dropped on purpose; never use this in production"
            );
        }
        let (stop_background, background_rx) = tokio::sync::watch::channel(false);
        let server = server::Server::start(listener, Arc::clone(&state));
        let http = match http_listener {
            Some(listener) => {
                let addr = state.config.http_listen.clone().unwrap_or_default();
                Some(
                    http::HttpServer::start(listener, Arc::clone(&state))
                        .map_err(|source| StartError::Listen { addr, source })?,
                )
            }
            None => None,
        };
        let loader = startup::Loader::spawn(Arc::clone(&state), hold, background_rx);
        Ok(Broker {
            server,
            http,
            state,
            background: Vec::new(),
            stop_background,
            data_dir_lock,
            loader: Some(loader),
        })
    }

    /// The address the listener is bound to (the real port when 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// The address the HTTP server is bound to, if it runs (`http_listen`).
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http.as_ref().map(http::HttpServer::local_addr)
    }

    /// What a Kafka client's `bootstrap.servers` should say to reach this
    /// broker: the advertised `host:port` (the real port when 0 was asked).
    /// It follows a change of `advertised.listeners` at run time.
    pub fn bootstrap_servers(&self) -> String {
        let (host, port) = self.state.advertised();
        advertised::host_port(&host, port)
    }

    /// The admin facade: topics, configs, groups and offsets, producers and
    /// transactions, without a Kafka client. Cheap; clone it freely, it
    /// stays usable until [`shutdown`](Broker::shutdown).
    pub fn admin(&self) -> Admin {
        Admin::new(Arc::clone(&self.state))
    }

    /// Shared state, for the crate's own tests (embedders use [`admin`](Broker::admin)).
    #[cfg(test)]
    pub(crate) fn state(&self) -> &Arc<BrokerState> {
        &self.state
    }

    /// The configuration the broker runs with.
    pub fn config(&self) -> &Config {
        &self.state.config
    }

    /// Figures over all client connections (queued reply bytes, paused readers).
    pub fn connection_stats(&self) -> &Arc<ConnectionStats> {
        self.server.stats()
    }

    /// Per-API request counts and latencies (for a metrics exporter).
    pub fn request_metrics(&self) -> &Arc<RequestMetrics> {
        self.server.request_metrics()
    }

    /// Resets the broker between tests: see [`Admin::reset`].
    pub async fn reset(&self) -> Result<admin::ResetSummary, AdminError> {
        self.admin().reset().await
    }

    /// Fault injection: rules, broker down/up, the request log (see
    /// [`faults`]). `None` unless the broker was started with it
    /// ([`BrokerBuilder::fault_injection`], `--fault-injection`).
    pub fn faults(&self) -> Option<&Arc<faults::Faults>> {
        self.state.faults.as_ref()
    }

    /// How often the fsync batcher has flushed (see [`FlushStats`]).
    pub fn flush_stats(&self) -> FlushStats {
        FlushStats {
            rounds: self.state.partitions.flusher.rounds(),
        }
    }

    /// Whether partition `partition` of `topic` has appended data not yet
    /// fsynced (`None` if there is no such partition). In `--fsync always`
    /// mode an acknowledged produce never leaves any.
    pub fn has_unflushed_data(&self, topic: &str, partition: i32) -> Option<bool> {
        self.state
            .partitions
            .get(topic, partition)
            .map(|p| p.has_unflushed_data())
    }

    /// Makes every fsync round wait `hold` before flushing, so that
    /// requests arriving meanwhile share it (tests of batching on slow
    /// machines).
    #[doc(hidden)]
    pub fn hold_each_flush_round_for_tests(&self, hold: std::time::Duration) {
        self.state
            .partitions
            .flusher
            .hold_each_round_for_tests(hold);
    }

    /// Answers parked requests, stops reading, gives connections the
    /// shutdown timeout to write what they owe (then closes them), stops
    /// background work, then closes every log cleanly (flush and a
    /// clean-shutdown marker, so the next start skips the recovery scan).
    pub async fn shutdown(self) {
        self.stop(true).await;
    }

    /// [`Broker::shutdown`]; `started` is false after a failed load (nothing
    /// to announce).
    async fn stop(mut self, started: bool) {
        if let Some(loader) = self.loader.take() {
            // Stops at the next topic; what was opened is closed below.
            self.background.extend(loader.cancel().await);
        }
        if let Some(http) = self.http.take() {
            let limit = std::time::Duration::from_millis(self.state.config.shutdown_timeout_ms);
            http.shutdown(limit).await;
        }
        // Parked JoinGroup/SyncGroup answers would hold their connections open.
        self.state.groups.close();
        // So would parked long-poll fetches, for up to their max wait.
        self.state.partitions.stop_long_polls();
        self.server.shutdown().await;
        let _ = self.stop_background.send(true);
        for task in self.background {
            let _ = task.await;
        }
        let state = Arc::clone(&self.state);
        let _ = tokio::task::spawn_blocking(move || {
            // A topic change still running (its connection may already be
            // gone) finishes first; none starts after this (`begin_change`).
            let _changes = state.partitions.lock_changes();
            state.partitions.close_all();
        })
        .await;
        if let Some(path) = &self.state.config.ready_file {
            reset::remove_ready_file(path);
        }
        // Only now may another broker open the directory.
        drop(self.data_dir_lock);
        if started {
            tracing::info!("sluice stopped");
        }
    }
}

fn advertised_address(
    config: &Config,
    local: SocketAddr,
) -> Result<((String, u16), advertised::Origin), StartError> {
    if let Some(adv) = &config.advertised_listener {
        return config::split_host_port(adv)
            .map(|a| (a, advertised::Origin::Option))
            .map_err(|message| {
                StartError::Config(config::ConfigError::Invalid {
                    option: "advertised-listener",
                    message,
                })
            });
    }
    let host = if local.ip().is_unspecified() {
        tracing::warn!(
            "listening on an unspecified address; advertising 127.0.0.1 (set --advertised-listener)"
        );
        "127.0.0.1".to_string()
    } else {
        local.ip().to_string()
    };
    Ok(((host, local.port()), advertised::Origin::Bound))
}
