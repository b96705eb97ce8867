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
//! Reading does not wait for a write to finish: a client may be sending a
//! large request while a large reply is being written to it, and a reader
//! that waited for each write would deadlock with it. What the reader does
//! wait for is a bound on the bytes of replies not yet written: while
//! `max_queued_reply_bytes_per_connection` of this connection's replies are
//! unwritten, or the broker-wide `max_queued_reply_bytes` is exceeded and this
//! connection has any reply unwritten, it reads no further request (Kafka
//! mutes a channel while a response is pending). A client that never reads
//! its replies so costs the broker a bounded amount of memory.
//!
//! A connection with no reply owed and no request received for
//! `connections_max_idle_ms` is closed (Kafka's `connections.max.idle.ms`),
//! and so is one whose client has taken no reply bytes for that long while
//! a write waits on it (its replies are dropped). A long-poll fetch still
//! waiting for data keeps its connection.
//! On broker shutdown the reader stops at once; the writer still sends the
//! replies already owed, for as long as the server's shutdown timeout allows.
//!
//! A frame that is too large, negative, or cannot be parsed closes the
//! connection with a logged reason; nothing else on the broker is affected.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use sluice_protocol::frame;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch, Notify};
use tokio::time::Instant;

use crate::dispatch::{self, ConnectionAction};
use crate::BrokerState;

/// Replies queued behind a slow (long-poll) one before the reader waits.
const MAX_IN_FLIGHT: usize = 64;
/// The most the reader asks the socket for at once.
const READ_CHUNK: usize = 256 * 1024;
/// The least the reader asks the socket for at a frame boundary.
const IDLE_CHUNK: usize = 4 * 1024;
/// Replies ready together are written with one call up to this size.
const GATHER_BYTES: usize = 64 * 1024;

/// Broker-wide figures of all connections (shared by the server's tasks).
#[derive(Debug, Default)]
pub struct ConnectionStats {
    queued_reply_bytes: AtomicUsize,
    paused_readers: AtomicUsize,
}

impl ConnectionStats {
    /// Bytes of replies handled but not yet written to their sockets.
    pub fn queued_reply_bytes(&self) -> usize {
        self.queued_reply_bytes.load(Ordering::Relaxed)
    }

    /// Connections whose reader waits for their replies to be written.
    pub fn paused_readers(&self) -> usize {
        self.paused_readers.load(Ordering::Relaxed)
    }
}

/// What one connection's reader and writer share: the replies it owes.
struct Flow {
    stats: Arc<ConnectionStats>,
    /// Bytes of this connection's replies in hand but not yet written.
    queued_bytes: AtomicUsize,
    /// Replies handed to the writer and not yet written (deferred included).
    in_flight: AtomicUsize,
    /// When the writer last wrote bytes, in ms since `opened`.
    last_write_ms: AtomicU64,
    /// The writer has bytes in hand that the socket has not taken yet.
    writing: AtomicBool,
    opened: Instant,
    /// Signalled after every write.
    written: Notify,
}

impl Flow {
    fn new(stats: Arc<ConnectionStats>) -> Flow {
        Flow {
            stats,
            queued_bytes: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            last_write_ms: AtomicU64::new(0),
            writing: AtomicBool::new(false),
            opened: Instant::now(),
            written: Notify::new(),
        }
    }

    fn queue(&self, bytes: usize) {
        self.queued_bytes.fetch_add(bytes, Ordering::Relaxed);
        self.stats
            .queued_reply_bytes
            .fetch_add(bytes, Ordering::Relaxed);
    }

    /// `replies` replies of `bytes` bytes in all were written.
    fn wrote(&self, replies: usize, bytes: usize) {
        self.queued_bytes.fetch_sub(bytes, Ordering::Relaxed);
        self.stats
            .queued_reply_bytes
            .fetch_sub(bytes, Ordering::Relaxed);
        self.in_flight.fetch_sub(replies, Ordering::Relaxed);
        self.wrote_some();
        self.written.notify_one();
    }

    /// The socket took bytes: the connection is not idle.
    fn wrote_some(&self) {
        let ms = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_write_ms.store(ms, Ordering::Relaxed);
    }

    /// Whether the connection has been idle for `max_idle`: nothing read
    /// since `last_read` nor written since the last write, and no reply owed
    /// (a parked fetch keeps it open) unless the writer is stuck on a client
    /// that does not read. Otherwise, when to look again.
    fn idle_check(&self, last_read: Instant, max_idle: Duration) -> Result<(), Instant> {
        let active = last_read.max(self.last_write());
        let quiet =
            self.in_flight.load(Ordering::Relaxed) == 0 || self.writing.load(Ordering::Relaxed);
        if quiet && active.elapsed() >= max_idle {
            Ok(())
        } else if quiet {
            Err(active + max_idle)
        } else {
            Err(Instant::now() + max_idle)
        }
    }

    /// Whether the reader may handle another request now.
    fn may_read(&self, per_connection: usize, total: usize) -> bool {
        let mine = self.queued_bytes.load(Ordering::Relaxed);
        mine == 0
            || (mine < per_connection
                && self.stats.queued_reply_bytes.load(Ordering::Relaxed) < total)
    }

    fn last_write(&self) -> Instant {
        self.opened + Duration::from_millis(self.last_write_ms.load(Ordering::Relaxed))
    }
}

impl Drop for Flow {
    fn drop(&mut self) {
        // Replies never written (the connection closed) leave the total.
        let left = *self.queued_bytes.get_mut();
        self.stats
            .queued_reply_bytes
            .fetch_sub(left, Ordering::Relaxed);
    }
}

/// Aborts the writer task if the connection task is dropped (the server
/// gives up on it at the end of the shutdown timeout).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Serves one client until it disconnects, misbehaves, idles or the broker stops.
pub async fn run(
    stream: TcpStream,
    peer: SocketAddr,
    state: Arc<BrokerState>,
    stats: Arc<ConnectionStats>,
    mut shutdown: watch::Receiver<bool>,
) {
    tracing::debug!(%peer, "connection opened");
    let (reader, writer) = stream.into_split();
    let (tx, rx) = mpsc::channel::<ConnectionAction>(MAX_IN_FLIGHT);
    let flow = Arc::new(Flow::new(stats));
    let mut writer_task = AbortOnDrop(tokio::spawn(write_replies(
        writer,
        rx,
        peer,
        Arc::clone(&flow),
    )));
    let max_frame = state.config.max_frame_bytes;
    let per_connection = state.config.max_queued_reply_bytes_per_connection;
    let total = state.config.max_queued_reply_bytes;
    let max_idle = Duration::from_millis(state.config.connections_max_idle_ms);
    let mut last_read = Instant::now();
    // Closed for idling: a writer stuck on the client is not waited for.
    let mut idle = false;
    let idle_timer = tokio::time::sleep(max_idle);
    tokio::pin!(idle_timer);
    let mut buf = BytesMut::new();
    // Size of the last whole frame read: how much the next read asks for.
    let mut last_frame = IDLE_CHUNK;
    'conn: loop {
        // Handle every whole frame already buffered.
        loop {
            match frame::check(&buf, max_frame) {
                Ok(Some(len)) => {
                    if !flow.may_read(per_connection, total) {
                        // Too many reply bytes unwritten: read nothing more
                        // until the client takes some of them.
                        flow.stats.paused_readers.fetch_add(1, Ordering::Relaxed);
                        let stop = loop {
                            tokio::select! {
                                _ = flow.written.notified() => {}
                                _ = shutdown.changed() => break true,
                                // The writer gave up (the client went away).
                                () = tx.closed() => break true,
                                () = &mut idle_timer => match flow.idle_check(last_read, max_idle) {
                                    Ok(()) => {
                                        idle = true;
                                        break true;
                                    }
                                    Err(next) => idle_timer.as_mut().reset(next),
                                },
                            }
                            if flow.may_read(per_connection, total) {
                                break false;
                            }
                        };
                        flow.stats.paused_readers.fetch_sub(1, Ordering::Relaxed);
                        if stop {
                            break 'conn;
                        }
                    }
                    last_frame = len + 4;
                    buf.advance(4);
                    let body = buf.split_to(len).freeze();
                    let api_key = sluice_protocol::header::peek_request_header(&body)
                        .map_or(-1, |h| h.api_key);
                    let mut reply = dispatch::dispatch(&state, body).await;
                    if state.faults.should_drop(api_key) {
                        reply = ConnectionAction::Close(
                            "fault injection: dropping the connection".into(),
                        );
                    }
                    let close = match &reply {
                        ConnectionAction::Write(bytes) => {
                            flow.in_flight.fetch_add(1, Ordering::Relaxed);
                            flow.queue(bytes.len());
                            false
                        }
                        ConnectionAction::WritePending(_) => {
                            flow.in_flight.fetch_add(1, Ordering::Relaxed);
                            false
                        }
                        ConnectionAction::NoResponse => false,
                        ConnectionAction::Close(_) => true,
                    };
                    // A request read before shutdown still gets its reply.
                    let sent = loop {
                        tokio::select! {
                            biased;
                            permit = tx.reserve() => break match permit {
                                Ok(permit) => {
                                    permit.send(reply);
                                    true
                                }
                                Err(_) => false,
                            },
                            _ = shutdown.changed() => break false,
                            // 64 replies queued behind one the client does not take.
                            () = &mut idle_timer => match flow.idle_check(last_read, max_idle) {
                                Ok(()) => {
                                    idle = true;
                                    break false;
                                }
                                Err(next) => idle_timer.as_mut().reset(next),
                            },
                        }
                    };
                    if !sent || close {
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
            () = &mut idle_timer => match flow.idle_check(last_read, max_idle) {
                Ok(()) => {
                    idle = true;
                    break 'conn;
                }
                Err(next) => {
                    idle_timer.as_mut().reset(next);
                    continue 'conn;
                }
            }
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
            Ok(_) => last_read = Instant::now(),
            Err(e) => {
                tracing::debug!(%peer, error = %e, "read failed");
                break;
            }
        }
    }
    drop(tx);
    if idle {
        tracing::debug!(%peer, idle_ms = max_idle.as_millis() as u64, "closing idle connection");
        writer_task.0.abort();
    }
    let _ = (&mut writer_task.0).await;
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
    mut rx: mpsc::Receiver<ConnectionAction>,
    peer: SocketAddr,
    flow: Arc<Flow>,
) {
    let mut next: Option<ConnectionAction> = None;
    loop {
        let reply = match next.take() {
            Some(reply) => reply,
            None => match rx.recv().await {
                Some(reply) => reply,
                None => break,
            },
        };
        // Replies in this write; the bytes of deferred ones are counted as
        // queued once they are in hand.
        let mut replies = 1;
        let mut bytes = match reply {
            ConnectionAction::Write(bytes) => bytes,
            ConnectionAction::WritePending(pending) => {
                let bytes = pending.await;
                flow.queue(bytes.len());
                bytes
            }
            ConnectionAction::NoResponse => continue,
            ConnectionAction::Close(reason) => {
                tracing::warn!(%peer, %reason, "closing connection");
                break;
            }
        };
        // Small replies already answered behind this one go out in the same
        // write; anything else waits for the next round.
        while bytes.len() < GATHER_BYTES {
            match rx.try_recv() {
                Ok(ConnectionAction::Write(more)) if bytes.len() + more.len() <= GATHER_BYTES => {
                    bytes.extend_from_slice(&more);
                    replies += 1;
                }
                // Deferred replies answered by now (produce replies released
                // together by one group commit) join the same write, so the
                // client reads them with one call too.
                Ok(ConnectionAction::WritePending(mut pending)) => {
                    match std::future::poll_fn(|cx| Poll::Ready(pending.as_mut().poll(cx))).await {
                        Poll::Ready(more) if bytes.len() + more.len() <= GATHER_BYTES => {
                            flow.queue(more.len());
                            bytes.extend_from_slice(&more);
                            replies += 1;
                        }
                        Poll::Ready(more) => {
                            flow.queue(more.len());
                            next = Some(ConnectionAction::Write(more));
                            break;
                        }
                        Poll::Pending => {
                            next = Some(ConnectionAction::WritePending(pending));
                            break;
                        }
                    }
                }
                Ok(ConnectionAction::NoResponse) => {}
                Ok(other) => {
                    next = Some(other);
                    break;
                }
                Err(_) => break,
            }
        }
        if let Err(e) = write_out(&mut writer, &bytes, &flow).await {
            tracing::debug!(%peer, error = %e, "write failed");
            break;
        }
        flow.wrote(replies, bytes.len());
    }
    let _ = writer.shutdown().await;
}

/// Writes all of `bytes`, marking the flow as writing meanwhile and noting
/// each partial write as progress (a slow reader is not an idle one).
async fn write_out<W: AsyncWrite + Unpin>(
    writer: &mut W,
    bytes: &[u8],
    flow: &Flow,
) -> std::io::Result<()> {
    if bytes.is_empty() {
        return Ok(());
    }
    flow.writing.store(true, Ordering::Relaxed);
    let mut done = 0;
    let result = loop {
        match writer.write(&bytes[done..]).await {
            Ok(0) => break Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                done += n;
                if done == bytes.len() {
                    break Ok(());
                }
                flow.wrote_some();
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => break Err(e),
        }
    };
    flow.writing.store(false, Ordering::Relaxed);
    result
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

    fn now(s: &str) -> ConnectionAction {
        ConnectionAction::Write(BytesMut::from(s.as_bytes()))
    }

    fn later(s: &'static str) -> ConnectionAction {
        ConnectionAction::WritePending(Box::pin(async move { BytesMut::from(s.as_bytes()) }))
    }

    fn test_flow() -> Arc<Flow> {
        Arc::new(Flow::new(Arc::default()))
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
        write_replies(writes.clone(), rx, peer(), test_flow()).await;
        assert_eq!(*writes.0.lock().unwrap(), [b"abcd".to_vec()]);
    }

    #[tokio::test]
    async fn a_deferred_reply_not_yet_answered_keeps_its_place() {
        let writes = Writes::default();
        let (tx, rx) = mpsc::channel(MAX_IN_FLIGHT);
        let (answer, answered) = tokio::sync::oneshot::channel::<&'static str>();
        let waiting = ConnectionAction::WritePending(Box::pin(async move {
            BytesMut::from(answered.await.unwrap().as_bytes())
        }));
        for reply in [now("x"), waiting, now("z")] {
            tx.send(reply).await.unwrap();
        }
        drop(tx);
        let writer = tokio::spawn(write_replies(writes.clone(), rx, peer(), test_flow()));
        tokio::task::yield_now().await;
        answer.send("y").unwrap();
        writer.await.unwrap();
        let writes = writes.0.lock().unwrap();
        assert_eq!(writes.concat(), b"xyz");
        assert_eq!(writes[0], b"x");
    }
}
