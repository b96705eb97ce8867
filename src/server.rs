//! The listener: accepts connections under a connection limit, spawns one
//! [`crate::connection`] task each, and shuts them all down on request.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;

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
}

impl Server {
    /// Starts accepting on `listener`.
    pub fn start(listener: TcpListener, state: Arc<BrokerState>) -> Server {
        let local = listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let (shutdown, shutdown_rx) = watch::channel(false);
        let accept_task = tokio::spawn(accept_loop(listener, state, shutdown_rx));
        Server {
            local,
            shutdown,
            accept_task,
        }
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Stops accepting and closes every connection, waiting for their tasks.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.accept_task.await;
    }
}

async fn accept_loop(
    listener: TcpListener,
    state: Arc<BrokerState>,
    mut shutdown: watch::Receiver<bool>,
) {
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
                let _ = stream.set_nodelay(true);
                let state = Arc::clone(&state);
                let shutdown = shutdown.clone();
                connections.spawn(async move {
                    crate::connection::run(stream, peer, state, shutdown).await;
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
    while connections.join_next().await.is_some() {}
}
