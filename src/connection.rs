//! One task pair per client connection.
//!
//! The reader turns bytes into frames and hands each to [`dispatch`]; it
//! handles requests one after another, in arrival order, so that appends from
//! one producer connection keep their order. A request whose answer must wait
//! (a long-poll fetch) yields a deferred reply; the writer awaits replies
//! strictly in request order, so responses always go out in the order the
//! requests came in while later requests are already being handled. Small
//! replies that are ready together are written with one system call,
//! deferred ones included (one group commit releases many produce replies).
//!
//! Reading never waits for a write: a client may be sending a large request
//! while a large reply is being written to it, and a reader that waited
//! for the write would deadlock with it.
//!
//! A frame that is too large, negative, or cannot be parsed closes the
//! connection with a logged reason; nothing else on the broker is affected.

use std::net::SocketAddr;
use std::sync::Arc;
use std::task::Poll;

use bytes::{Buf, BytesMut};
use sluice_protocol::frame;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};

use crate::dispatch::{self, Reply};
use crate::BrokerState;

/// Replies queued behind a slow (long-poll) one before the reader waits.
const MAX_IN_FLIGHT: usize = 64;
/// The most the reader asks the socket for at once.
const READ_CHUNK: usize = 256 * 1024;
/// The least the reader asks the socket for at a frame boundary.
const IDLE_CHUNK: usize = 4 * 1024;
/// Replies ready together are written with one call up to this size.
const GATHER_BYTES: usize = 64 * 1024;

/// Serves one client until it disconnects, misbehaves or the broker stops.
pub async fn run(
    stream: TcpStream,
    peer: SocketAddr,
    state: Arc<BrokerState>,
    mut shutdown: watch::Receiver<bool>,
) {
    tracing::debug!(%peer, "connection opened");
    let (reader, writer) = stream.into_split();
    let (tx, rx) = mpsc::channel::<Reply>(MAX_IN_FLIGHT);
    let writer_task = tokio::spawn(write_replies(writer, rx, peer));
    let max_frame = state.config.max_frame_bytes;
    let mut buf = BytesMut::new();
    // Size of the last whole frame read: how much the next read asks for.
    let mut last_frame = IDLE_CHUNK;
    'conn: loop {
        // Handle every whole frame already buffered.
        loop {
            match frame::check(&buf, max_frame) {
                Ok(Some(len)) => {
                    last_frame = len + 4;
                    buf.advance(4);
                    let body = buf.split_to(len).freeze();
                    let api_key = sluice_protocol::header::peek_request_header(&body)
                        .map_or(-1, |h| h.api_key);
                    let mut reply = dispatch::dispatch(&state, body).await;
                    if state.faults.should_drop(api_key) {
                        reply = Reply::Close("fault injection: dropping the connection".into());
                    }
                    let close = matches!(reply, Reply::Close(_));
                    if tx.send(reply).await.is_err() || close {
                        break 'conn;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(%peer, error = %e, "closing connection: bad frame");
                    break 'conn;
                }
            }
        }
        // Wait for bytes before taking memory for them: a connection waiting
        // between requests holds no read buffer.
        if buf.is_empty() {
            buf = BytesMut::new();
        }
        let ready = tokio::select! {
            r = reader.readable() => r,
            _ = shutdown.changed() => break 'conn,
        };
        if let Err(e) = ready {
            tracing::debug!(%peer, error = %e, "read failed");
            break;
        }
        // Grow the buffer by what the pending frame still needs, bounded, so
        // a declared size is never allocated before its bytes arrive. At a
        // frame boundary, room for one frame like the last one (at least
        // 4 KiB), so a request usually comes in with one read.
        let want = pending_frame_len(&buf)
            .map_or(last_frame.clamp(IDLE_CHUNK, READ_CHUNK), |total| {
                total.saturating_sub(buf.len()).clamp(1, READ_CHUNK)
            });
        buf.reserve(want);
        match reader.try_read_buf(&mut buf) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Ok(0) => {
                if !buf.is_empty() {
                    tracing::debug!(%peer, bytes = buf.len(), "client closed mid-frame");
                }
                break;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::debug!(%peer, error = %e, "read failed");
                break;
            }
        }
    }
    drop(tx);
    let _ = writer_task.await;
    tracing::debug!(%peer, "connection closed");
}

/// Total size (prefix included) of the frame at the front of `buf`, if known.
fn pending_frame_len(buf: &[u8]) -> Option<usize> {
    let prefix: [u8; 4] = buf.get(..4)?.try_into().ok()?;
    let len = i32::from_be_bytes(prefix);
    usize::try_from(len).ok().map(|l| l + 4)
}

async fn write_replies<W: AsyncWrite + Unpin>(
    mut writer: W,
    mut rx: mpsc::Receiver<Reply>,
    peer: SocketAddr,
) {
    let mut next: Option<Reply> = None;
    loop {
        let reply = match next.take() {
            Some(reply) => reply,
            None => match rx.recv().await {
                Some(reply) => reply,
                None => break,
            },
        };
        let mut bytes = match reply {
            Reply::Now(bytes) => bytes,
            Reply::Later(pending) => pending.await,
            Reply::NoResponse => continue,
            Reply::Close(reason) => {
                tracing::warn!(%peer, %reason, "closing connection");
                break;
            }
        };
        // Small replies already answered behind this one go out in the same
        // write; anything else waits for the next round.
        while bytes.len() < GATHER_BYTES {
            match rx.try_recv() {
                Ok(Reply::Now(more)) if bytes.len() + more.len() <= GATHER_BYTES => {
                    bytes.extend_from_slice(&more);
                }
                // Deferred replies answered by now (produce replies released
                // together by one group commit) join the same write, so the
                // client reads them with one call too.
                Ok(Reply::Later(mut pending)) => {
                    match std::future::poll_fn(|cx| Poll::Ready(pending.as_mut().poll(cx))).await {
                        Poll::Ready(more) if bytes.len() + more.len() <= GATHER_BYTES => {
                            bytes.extend_from_slice(&more);
                        }
                        Poll::Ready(more) => {
                            next = Some(Reply::Now(more));
                            break;
                        }
                        Poll::Pending => {
                            next = Some(Reply::Later(pending));
                            break;
                        }
                    }
                }
                Ok(Reply::NoResponse) => {}
                Ok(other) => {
                    next = Some(other);
                    break;
                }
                Err(_) => break,
            }
        }
        if let Err(e) = writer.write_all(&bytes).await {
            tracing::debug!(%peer, error = %e, "write failed");
            break;
        }
    }
    let _ = writer.shutdown().await;
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::pin::Pin;
    use std::sync::Mutex;
    use std::task::Context;

    use super::*;

    /// Records each write call's bytes.
    #[derive(Clone, Default)]
    struct Writes(Arc<Mutex<Vec<Vec<u8>>>>);

    impl AsyncWrite for Writes {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<std::io::Result<usize>> {
            self.0.lock().unwrap().push(buf.to_vec());
            Poll::Ready(Ok(buf.len()))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    fn now(s: &str) -> Reply {
        Reply::Now(BytesMut::from(s.as_bytes()))
    }

    fn later(s: &'static str) -> Reply {
        Reply::Later(Box::pin(async move { BytesMut::from(s.as_bytes()) }))
    }

    fn peer() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 9))
    }

    #[tokio::test]
    async fn deferred_replies_answered_together_go_out_in_one_write() {
        let writes = Writes::default();
        let (tx, rx) = mpsc::channel(MAX_IN_FLIGHT);
        for reply in [later("a"), later("b"), now("c"), later("d")] {
            tx.send(reply).await.unwrap();
        }
        drop(tx);
        write_replies(writes.clone(), rx, peer()).await;
        assert_eq!(*writes.0.lock().unwrap(), [b"abcd".to_vec()]);
    }

    #[tokio::test]
    async fn a_deferred_reply_not_yet_answered_keeps_its_place() {
        let writes = Writes::default();
        let (tx, rx) = mpsc::channel(MAX_IN_FLIGHT);
        let (answer, answered) = tokio::sync::oneshot::channel::<&'static str>();
        let waiting = Reply::Later(Box::pin(async move {
            BytesMut::from(answered.await.unwrap().as_bytes())
        }));
        for reply in [now("x"), waiting, now("z")] {
            tx.send(reply).await.unwrap();
        }
        drop(tx);
        let writer = tokio::spawn(write_replies(writes.clone(), rx, peer()));
        tokio::task::yield_now().await;
        answer.send("y").unwrap();
        writer.await.unwrap();
        let writes = writes.0.lock().unwrap();
        assert_eq!(writes.concat(), b"xyz");
        assert_eq!(writes[0], b"x");
    }
}
