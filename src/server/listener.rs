//! The listener: accepts connections under a connection limit, spawns one
//! connection task with its own [`Session`] each, all sharing one
//! [`Dispatcher`], and shuts them all down on request:
//! readers stop at once, and connections still writing what they owe when
//! `shutdown_timeout_ms` has passed are closed (a client that does not read
//! cannot keep the broker from stopping). A connection over its IP's
//! `connection_creation_rate` quota is held for the throttle time and
//! closed without being served (KIP-612).

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;

use super::connection;
use super::flow::ConnectionStats;
use crate::dispatch::metrics::RequestMetrics;
use crate::dispatch::Dispatcher;
use crate::session::Session;
use crate::BrokerState;

/// Binds the listen address (`HOST:PORT`, port 0 for a free one).
pub async fn bind(addr: &str) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// A running accept loop.
pub struct Server {
    local: SocketAddr,
    shutdown: watch::Sender<bool>,
    accept_task: JoinHandle<()>,
    stats: Arc<ConnectionStats>,
    metrics: Arc<RequestMetrics>,
}

impl Server {
    /// Starts accepting on `listener`.
    pub fn start(listener: TcpListener, state: Arc<BrokerState>) -> Server {
        let local = listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let (shutdown, shutdown_rx) = watch::channel(false);
        let stats = Arc::new(ConnectionStats::default());
        let dispatcher = Arc::new(Dispatcher::new(state));
        let metrics = Arc::clone(dispatcher.metrics());
        let accept_task = tokio::spawn(accept_loop(
            listener,
            dispatcher,
            Arc::clone(&stats),
            shutdown_rx,
        ));
        Server {
            local,
            shutdown,
            accept_task,
            stats,
            metrics,
        }
    }

    /// Per-API request counts and latencies over all connections.
    pub fn request_metrics(&self) -> &Arc<RequestMetrics> {
        &self.metrics
    }

    /// Figures over all connections (queued reply bytes, paused readers).
    pub fn stats(&self) -> &Arc<ConnectionStats> {
        &self.stats
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Stops accepting and closes every connection, waiting for their tasks
    /// at most the shutdown timeout.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.accept_task.await;
    }
}

async fn accept_loop(
    listener: TcpListener,
    dispatcher: Arc<Dispatcher>,
    stats: Arc<ConnectionStats>,
    mut shutdown: watch::Receiver<bool>,
) {
    let state = Arc::clone(dispatcher.state());
    let limit = Arc::new(Semaphore::new(state.config.max_connections));
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&limit).acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = shutdown.changed() => break,
        };
        let accepted: std::io::Result<(TcpStream, SocketAddr)> = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => break,
        };
        match accepted {
            Ok((stream, peer)) => {
                let throttle = state
                    .quotas
                    .record_connection(state.metadata.client_quotas(), peer.ip());
                if throttle > 0 {
                    // KIP-612: over its IP's connection rate, the connection
                    // is held unserved for the throttle time, then closed.
                    tracing::debug!(%peer, throttle_ms = throttle, "connection rate quota: closing");
                    let mut shutdown = shutdown.clone();
                    connections.spawn(async move {
                        let hold =
                            std::time::Duration::from_millis(u64::try_from(throttle).unwrap_or(0));
                        tokio::select! {
                            () = tokio::time::sleep(hold) => {}
                            _ = shutdown.changed() => {}
                        }
                        drop(stream);
                        drop(permit);
                    });
                    continue;
                }
                let faults = state.faults.clone();
                if faults.as_ref().is_some_and(|f| f.is_down()) {
                    // Fault injection: the broker is "down" (accept and close).
                    tracing::debug!(%peer, "fault injection: broker down, closing");
                    drop(stream);
                    continue;
                }
                let _ = stream.set_nodelay(true);
                let dispatcher = Arc::clone(&dispatcher);
                let shutdown = shutdown.clone();
                let stats = Arc::clone(&stats);
                let session = Arc::new(Session::plaintext(peer));
                connections.spawn(async move {
                    let (reader, writer) = stream.into_split();
                    let serve =
                        connection::run(reader, writer, session, dispatcher, stats, shutdown);
                    match faults {
                        None => serve.await,
                        // Taking the broker "down" ends the connection (its
                        // socket and writer are dropped: closed).
                        Some(faults) => tokio::select! {
                            () = serve => {}
                            () = faults.wait_down() => {
                                tracing::debug!(%peer, "fault injection: broker down, closing");
                            }
                        },
                    }
                    drop(permit);
                });
            }
            Err(e) => {
                // Out of descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
        // Reap finished connection tasks so the set does not grow forever.
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    // Readers have stopped; writers send what they owe for a bounded time.
    let grace = std::time::Duration::from_millis(state.config.shutdown_timeout_ms);
    let drained = tokio::time::timeout(grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            connections = connections.len(),
            timeout_ms = state.config.shutdown_timeout_ms,
            "closing connections with replies still unwritten at the shutdown timeout"
        );
        connections.shutdown().await;
    }
}
