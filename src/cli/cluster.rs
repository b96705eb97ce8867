//! The cluster as an admin command sees it: a bootstrap connection, the
//! brokers Metadata names, and a connection per broker opened when a
//! request must go there (the leader for ListOffsets, the coordinator for
//! group APIs, the broker itself for its own configs).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    FindCoordinatorRequest, MetadataRequest, MetadataResponse, TopicName,
};
use kafka_protocol::protocol::{Request, StrBytes};

use super::client::Connection;
use super::error::CliError;

/// How long to wait before asking again after a transient error.
const RETRY_BACKOFF: Duration = Duration::from_millis(100);

/// Connections to a cluster, opened as needed.
pub struct Cluster {
    bootstrap: Connection,
    timeout: Duration,
    /// Broker id → `host:port`, from the last Metadata.
    brokers: HashMap<i32, String>,
    /// Broker id → open connection.
    connections: HashMap<i32, Connection>,
}

impl Cluster {
    /// Connects to the first of the comma-separated `bootstrap` addresses
    /// that answers.
    pub async fn connect(bootstrap: &str, timeout: Duration) -> Result<Cluster, CliError> {
        let mut last = None;
        for addr in bootstrap
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
        {
            match Connection::connect(addr, timeout).await {
                Ok(bootstrap) => {
                    let mut cluster = Cluster {
                        bootstrap,
                        timeout,
                        brokers: HashMap::new(),
                        connections: HashMap::new(),
                    };
                    cluster.metadata(Some(&[])).await?;
                    return Ok(cluster);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            CliError::Refused("--bootstrap-server names no address".to_string())
        }))
    }

    /// The request timeout of the command.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The time by which a retried operation gives up.
    pub fn deadline(&self) -> Instant {
        Instant::now() + self.timeout
    }

    /// Sends `request` to any broker (the bootstrap one).
    pub async fn send_any<R: Request>(
        &mut self,
        request: &R,
        floor: i16,
    ) -> Result<(R::Response, i16), CliError> {
        self.bootstrap.send(request, floor).await
    }

    /// The version `R` goes at on the bootstrap broker.
    pub fn version_any<R: Request>(&self, floor: i16) -> Result<i16, CliError> {
        self.bootstrap.version::<R>(floor)
    }

    /// The version `R` goes at on broker `node`.
    pub async fn version_on<R: Request>(&mut self, node: i32, floor: i16) -> Result<i16, CliError> {
        self.node(node).await?.version::<R>(floor)
    }

    /// Sends `request` to broker `node` (connecting to it if need be).
    pub async fn send_to<R: Request>(
        &mut self,
        node: i32,
        request: &R,
        floor: i16,
    ) -> Result<(R::Response, i16), CliError> {
        self.node(node).await?.send(request, floor).await
    }

    async fn node(&mut self, node: i32) -> Result<&mut Connection, CliError> {
        if !self.connections.contains_key(&node) {
            let addr = self.brokers.get(&node).cloned().ok_or_else(|| {
                CliError::Refused(format!("broker {node} is not in the cluster's metadata"))
            })?;
            let conn = Connection::connect(&addr, self.timeout).await?;
            self.connections.insert(node, conn);
        }
        self.connections
            .get_mut(&node)
            .ok_or_else(|| CliError::Refused(format!("no connection to broker {node}")))
    }

    /// The ids of the brokers in the cluster, in order.
    pub fn broker_ids(&self) -> Vec<i32> {
        let mut ids: Vec<i32> = self.brokers.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    /// `host:port` of broker `node`, if Metadata named it.
    pub fn broker_addr(&self, node: i32) -> Option<&str> {
        self.brokers.get(&node).map(String::as_str)
    }

    /// Metadata for `topics` (`None`: every topic; `Some(&[])`: brokers
    /// only). Never creates a topic. Remembers the brokers it names.
    pub async fn metadata(
        &mut self,
        topics: Option<&[String]>,
    ) -> Result<MetadataResponse, CliError> {
        let mut request = MetadataRequest::default();
        request.allow_auto_topic_creation = false;
        request.topics = topics.map(|names| {
            names
                .iter()
                .map(|n| {
                    let mut t = MetadataRequestTopic::default();
                    t.name = Some(TopicName(StrBytes::from_string(n.clone())));
                    t
                })
                .collect()
        });
        let (response, _) = self.bootstrap.send(&request, 1).await?;
        for b in &response.brokers {
            self.brokers
                .insert(b.node_id.0, format!("{}:{}", b.host.as_str(), b.port));
        }
        Ok(response)
    }

    /// The broker that coordinates `group`, asked again while the answer
    /// is transient (COORDINATOR_NOT_AVAILABLE while the broker loads).
    pub async fn coordinator(&mut self, group: &str) -> Result<i32, CliError> {
        let deadline = self.deadline();
        loop {
            match self.find_coordinator(group).await {
                Err(e) if e.is_transient() && Instant::now() + RETRY_BACKOFF < deadline => {
                    tokio::time::sleep(RETRY_BACKOFF).await;
                }
                other => return other,
            }
        }
    }

    async fn find_coordinator(&mut self, group: &str) -> Result<i32, CliError> {
        let context = || format!("coordinator of group '{group}'");
        let version = self.version_any::<FindCoordinatorRequest>(1)?;
        let mut request = FindCoordinatorRequest::default();
        request.key_type = 0;
        if version >= 4 {
            request.coordinator_keys = vec![StrBytes::from_string(group.to_string())];
        } else {
            request.key = StrBytes::from_string(group.to_string());
        }
        let (response, version) = self.bootstrap.send(&request, 1).await?;
        let (node, host, port) = if version >= 4 {
            let c = response
                .coordinators
                .first()
                .ok_or_else(|| CliError::Refused(format!("no answer for the {}", context())))?;
            CliError::check(c.error_code, c.error_message.as_deref(), context())?;
            (c.node_id.0, c.host.to_string(), c.port)
        } else {
            CliError::check(
                response.error_code,
                response.error_message.as_deref(),
                context(),
            )?;
            (response.node_id.0, response.host.to_string(), response.port)
        };
        self.brokers.insert(node, format!("{host}:{port}"));
        Ok(node)
    }

    /// Waits [`RETRY_BACKOFF`] if `error` is transient and there is time
    /// left before `deadline`; says whether to try again.
    pub async fn backoff(error: &CliError, deadline: Instant) -> bool {
        if error.is_transient() && Instant::now() + RETRY_BACKOFF < deadline {
            tokio::time::sleep(RETRY_BACKOFF).await;
            return true;
        }
        false
    }
}
