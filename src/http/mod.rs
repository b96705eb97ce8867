//! The broker's one HTTP server: health and readiness now; the admin API,
//! fault injection, the REST API, the console and metrics join it as route
//! modules (each a `routes()` merged in [`router`]).
//!
//! It runs over [`crate::BrokerState`] (and, for admin routes, the
//! protocol-free [`crate::Admin`]), never over the Kafka request handlers.
//! Bound at start next to the Kafka listener, stopped first at shutdown.
//! Errors are JSON: `{"error": "..."}` with a 4xx/5xx status ([`ApiError`]).

mod ci;
mod faults;
mod health;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::BrokerState;

/// What every route handler is given.
#[derive(Clone)]
pub(crate) struct HttpContext {
    pub state: Arc<BrokerState>,
}

/// An error answer: `status` and `{"error": message}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    /// 404: no such thing (rule, topic, group).
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(serde_json::json!({ "error": self.message })),
        )
            .into_response()
    }
}

/// Every route of the server.
fn router(ctx: HttpContext) -> Router {
    Router::new()
        .merge(health::routes())
        .merge(faults::routes())
        .merge(ci::routes())
        .fallback(no_route)
        .with_state(ctx)
}

async fn no_route(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("no route {}", uri.path()))
}

/// Binds the HTTP listener (at start, beside the Kafka one: a port in use
/// fails at once).
pub(crate) async fn bind(addr: &str) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// The running HTTP server.
pub(crate) struct HttpServer {
    local: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl HttpServer {
    /// Serves `listener` until [`shutdown`](Self::shutdown).
    pub fn start(listener: TcpListener, state: Arc<BrokerState>) -> std::io::Result<HttpServer> {
        let local = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let app = router(HttpContext { state });
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
            if let Err(e) = served {
                tracing::warn!("the HTTP server stopped: {e}");
            }
        });
        Ok(HttpServer { local, stop, task })
    }

    /// The bound address (the real port when 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Stops accepting and lets requests in progress finish for at most
    /// `limit`; connections still open then (a client that never finishes
    /// its request) are dropped.
    pub async fn shutdown(self, limit: std::time::Duration) {
        let _ = self.stop.send(());
        let mut task = self.task;
        if tokio::time::timeout(limit, &mut task).await.is_err() {
            task.abort();
            let _ = task.await;
        }
    }
}
