//! One task per client connection.
//!
//! The task turns bytes into frames and hands each to [`dispatch`]; it
//! handles requests one after another, in arrival order, so that appends from
//! one producer connection keep their order. A request whose answer must wait
//! (a long-poll fetch, a produce waiting for its fsync) yields a deferred
//! reply; replies go out strictly in request order, while later requests are
//! already being handled. Replies that are ready together are written with
//! one system call.
//!
//! Reading, handling and writing share the task (no hand-off to a writer
//! task): for a stream of small requests the wake-ups between two tasks cost
//! more than the requests themselves.
//!
//! A frame that is too large, negative, or cannot be parsed closes the
//! connection with a logged reason; nothing else on the broker is affected.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Buf, BytesMut};
use sluice_protocol::frame;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::dispatch::{self, Deferred, Reply};
use crate::BrokerState;

/// Replies queued behind a slow (long-poll) one before reading stops.
const MAX_IN_FLIGHT: usize = 64;
/// The most the task asks the socket for at once.
const READ_CHUNK: usize = 256 * 1024;
/// Buffer kept for a connection between frames (idle connections stay small).
const IDLE_CHUNK: usize = 4 * 1024;
/// Ready replies up to this size are gathered into one write.
const GATHER_BYTES: usize = 64 * 1024;

/// A reply in its place in line.
enum Queued {
    Ready(BytesMut),
    Waiting(Deferred<BytesMut>),
    /// Close once everything before it is written.
    Close(String),
}

/// Serves one client until it disconnects, misbehaves or the broker stops.
pub async fn run(
    stream: TcpStream,
    peer: SocketAddr,
    state: Arc<BrokerState>,
    mut shutdown: watch::Receiver<bool>,
) {
    tracing::debug!(%peer, "connection opened");
    let (mut reader, mut writer) = stream.into_split();
    let max_frame = state.config.max_frame_bytes;
    let mut buf = BytesMut::with_capacity(IDLE_CHUNK);
    let mut queue: VecDeque<Queued> = VecDeque::new();
    let mut out = Output::default();
    // False once the client closed its side, a frame was bad, a Close is
    // queued or the broker is stopping: no more requests are read.
    let mut reading = true;
    loop {
        // Handle every whole frame already buffered.
        while reading && queue.len() < MAX_IN_FLIGHT {
            match frame::check(&buf, max_frame) {
                Ok(Some(len)) => {
                    buf.advance(4);
                    let body = buf.split_to(len).freeze();
                    let api_key = sluice_protocol::header::peek_request_header(&body)
                        .map_or(-1, |h| h.api_key);
                    let mut reply = dispatch::dispatch(&state, body).await;
                    if state.faults.should_drop(api_key) {
                        reply = Reply::Close("fault injection: dropping the connection".into());
                    }
                    match reply {
                        Reply::Now(bytes) => queue.push_back(Queued::Ready(bytes)),
                        Reply::Later(pending) => queue.push_back(Queued::Waiting(pending)),
                        Reply::NoResponse => {}
                        Reply::Close(reason) => {
                            queue.push_back(Queued::Close(reason));
                            reading = false;
                        }
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(%peer, error = %e, "closing connection: bad frame");
                    reading = false;
                }
            }
        }
        // Everything ready at the front of the line goes out together.
        let mut closing = None;
        while let Some(front) = queue.front() {
            match front {
                Queued::Waiting(_) => break,
                Queued::Ready(_) => {
                    if let Some(Queued::Ready(bytes)) = queue.pop_front() {
                        out.push(bytes);
                    }
                }
                Queued::Close(reason) => {
                    closing = Some(reason.clone());
                    break;
                }
            }
        }
        if let Err(e) = out.write_to(&mut writer).await {
            tracing::debug!(%peer, error = %e, "write failed");
            break;
        }
        if let Some(reason) = closing {
            tracing::warn!(%peer, %reason, "closing connection");
            break;
        }
        if !reading && queue.is_empty() {
            break;
        }
        let can_read = reading && queue.len() < MAX_IN_FLIGHT;
        if can_read {
            // Grow the buffer by what the pending frame still needs, bounded,
            // so a declared size is never allocated before its bytes arrive.
            let want = pending_frame_len(&buf).map_or(IDLE_CHUNK, |total| {
                total.saturating_sub(buf.len()).clamp(1, READ_CHUNK)
            });
            buf.reserve(want);
        }
        let waiting = match queue.front_mut() {
            Some(Queued::Waiting(pending)) => Some(pending),
            _ => None,
        };
        let has_waiting = waiting.is_some();
        let stopping = *shutdown.borrow();
        tokio::select! {
            bytes = async {
                match waiting {
                    Some(pending) => pending.await,
                    None => std::future::pending().await,
                }
            }, if has_waiting => {
                queue.pop_front();
                out.push(bytes);
            }
            read = reader.read_buf(&mut buf), if can_read && !stopping => match read {
                Ok(0) => {
                    if !buf.is_empty() {
                        tracing::debug!(%peer, bytes = buf.len(), "client closed mid-frame");
                    }
                    reading = false;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(%peer, error = %e, "read failed");
                    reading = false;
                }
            },
            changed = shutdown.changed(), if !stopping => {
                if changed.is_err() {
                    reading = false; // the broker is gone
                }
            }
            // Stopping: no more requests; what is queued still goes out.
            () = std::future::ready(()), if stopping && can_read => reading = false,
            else => break,
        }
    }
    let _ = writer.shutdown().await;
    tracing::debug!(%peer, "connection closed");
}

/// Replies ready to be written, small ones gathered into one buffer.
#[derive(Default)]
struct Output {
    gathered: BytesMut,
    /// Large replies, each after the gathered bytes before it.
    parts: Vec<(usize, BytesMut)>,
}

impl Output {
    fn push(&mut self, bytes: BytesMut) {
        if self.parts.is_empty() && self.gathered.len() + bytes.len() <= GATHER_BYTES {
            if self.gathered.is_empty() {
                self.gathered = bytes;
            } else {
                self.gathered.extend_from_slice(&bytes);
            }
        } else {
            self.parts.push((self.gathered.len(), bytes));
        }
    }

    async fn write_to(&mut self, writer: &mut (impl AsyncWriteExt + Unpin)) -> std::io::Result<()> {
        let mut written = 0;
        for (at, bytes) in std::mem::take(&mut self.parts) {
            writer.write_all(&self.gathered[written..at]).await?;
            written = at;
            writer.write_all(&bytes).await?;
        }
        if written < self.gathered.len() {
            writer.write_all(&self.gathered[written..]).await?;
        }
        // Not kept: an idle connection holds no reply-sized buffer.
        self.gathered = BytesMut::new();
        Ok(())
    }
}

/// Total size (prefix included) of the frame at the front of `buf`, if known.
fn pending_frame_len(buf: &[u8]) -> Option<usize> {
    let prefix: [u8; 4] = buf.get(..4)?.try_into().ok()?;
    let len = i32::from_be_bytes(prefix);
    usize::try_from(len).ok().map(|l| l + 4)
}
