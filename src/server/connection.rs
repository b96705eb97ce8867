//! One task pair per client connection.
//!
//! The reader turns bytes into frames and hands each to the [`Dispatcher`];
//! it handles requests one after another, in arrival order, so that appends
//! from one producer connection keep their order. A request whose answer must wait
//! (a long-poll fetch) yields a pending reply; the writer awaits replies
//! strictly in request order, so responses always go out in the order the
//! requests came in while later requests are already being handled. Small
//! replies that are ready together are written with one system call,
//! pending ones included (one group commit releases many produce replies).
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
//! A client over a quota is throttled: its reply carries the throttle time
//! and the reader handles and reads nothing more for that long (KIP-219's
//! muted channel; the mute is set on the [`Session`] by the pipeline).
//!
//! A frame that is too large, negative, or cannot be parsed closes the
//! connection with a logged reason; nothing else on the broker is affected.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use sluice_protocol::frame;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::flow::{ConnectionStats, Flow};
use super::writer::write_replies;
use crate::dispatch::{ConnectionAction, Dispatcher};
use crate::session::Session;

/// Replies queued behind a slow (long-poll) one before the reader waits.
pub(super) const MAX_IN_FLIGHT: usize = 64;
/// The most the reader asks the socket for at once.
const READ_CHUNK: usize = 256 * 1024;
/// The least the reader asks the socket for at a frame boundary.
const IDLE_CHUNK: usize = 4 * 1024;

/// Aborts the writer task if the connection task is dropped (the server
/// gives up on it at the end of the shutdown timeout).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Serves one client until it disconnects, misbehaves, idles or the broker
/// stops, reading requests from `reader` and writing responses to `writer`.
///
/// Generic over the byte stream, given as its two halves: a TCP stream
/// splits without a lock (`TcpStream::into_split`); any other
/// `AsyncRead + AsyncWrite + Unpin + Send` stream (TLS) with
/// `tokio::io::split`.
pub(crate) async fn run<R, W>(
    mut reader: R,
    writer: W,
    session: Arc<Session>,
    dispatcher: Arc<Dispatcher>,
    stats: Arc<ConnectionStats>,
    mut shutdown: watch::Receiver<bool>,
) where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let peer = session.peer();
    tracing::debug!(%peer, "connection opened");
    let (tx, rx) = mpsc::channel::<ConnectionAction>(MAX_IN_FLIGHT);
    let flow = Arc::new(Flow::new(stats));
    let mut writer_task = AbortOnDrop(tokio::spawn(write_replies(
        writer,
        rx,
        peer,
        Arc::clone(&flow),
    )));
    let config = &dispatcher.state().config;
    let max_frame = config.max_frame_bytes;
    let per_connection = config.max_queued_reply_bytes_per_connection;
    let total = config.max_queued_reply_bytes;
    let max_idle = Duration::from_millis(config.connections_max_idle_ms);
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
                    if session.throttled_until().is_some() {
                        if !wait_while_throttled(&session, &mut shutdown, &tx).await {
                            break 'conn;
                        }
                        last_read = Instant::now();
                    }
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
                    let reply = dispatcher.dispatch(&session, body).await;
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
        // A muted connection reads nothing (KIP-219), not even into its buffer.
        if session.throttled_until().is_some() {
            if !wait_while_throttled(&session, &mut shutdown, &tx).await {
                break 'conn;
            }
            // The broker's own wait does not count as the client idling.
            last_read = Instant::now();
            idle_timer.as_mut().reset(last_read + max_idle);
        }
        // An emptied buffer still shares memory with the bodies split off it
        // (a pending response may hold one): read on into fresh memory.
        if buf.is_empty() {
            buf = BytesMut::new();
        }
        // Grow the buffer by what the incoming frame still needs, bounded, so
        // a declared size is never allocated before its bytes arrive. At a
        // frame boundary, room for one frame like the last one (at least
        // 4 KiB), so a request usually comes in with one read.
        let want = incoming_frame_len(&buf)
            .map_or(last_frame.clamp(IDLE_CHUNK, READ_CHUNK), |total| {
                total.saturating_sub(buf.len()).clamp(1, READ_CHUNK)
            });
        let read = tokio::select! {
            r = read_some(&mut reader, &mut buf, want) => r,
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
        match read {
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

/// Waits out a quota's mute of the connection (none: returns at once);
/// false if the broker stops or the writer gives up meanwhile.
async fn wait_while_throttled(
    session: &Session,
    shutdown: &mut watch::Receiver<bool>,
    tx: &mpsc::Sender<ConnectionAction>,
) -> bool {
    while let Some(until) = session.throttled_until() {
        tokio::select! {
            () = tokio::time::sleep_until(Instant::from_std(until)) => {}
            _ = shutdown.changed() => return false,
            () = tx.closed() => return false,
        }
    }
    true
}

/// Reads what the stream has into `buf`, with room for `want` more bytes.
/// The room is taken only while a read is tried: if nothing has arrived and
/// `buf` held nothing, it is given back, so a connection waiting between
/// requests holds no read buffer (whatever the stream; a TCP socket's
/// readiness alone would need no attempt, a TLS stream's says nothing).
async fn read_some<R: AsyncRead + Unpin>(
    reader: &mut R,
    buf: &mut BytesMut,
    want: usize,
) -> std::io::Result<usize> {
    std::future::poll_fn(|cx| {
        let was_empty = buf.is_empty();
        buf.reserve(want);
        let read = std::pin::pin!(reader.read_buf(&mut *buf)).poll(cx);
        if read.is_pending() && was_empty {
            *buf = BytesMut::new();
        }
        read
    })
    .await
}

/// Total size (prefix included) of the frame at the front of `buf`, if known.
fn incoming_frame_len(buf: &[u8]) -> Option<usize> {
    let prefix: [u8; 4] = buf.get(..4)?.try_into().ok()?;
    let len = i32::from_be_bytes(prefix);
    usize::try_from(len).ok().map(|l| l + 4)
}

#[cfg(test)]
mod tests {
    use bytes::{BufMut, Bytes};
    use kafka_protocol::messages::{
        ApiKey, ApiVersionsRequest, ApiVersionsResponse, RequestHeader, ResponseHeader,
    };
    use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::{Broker, Config};

    /// An ApiVersions v3 request frame naming its client and software.
    fn api_versions_v3(correlation_id: i32) -> BytesMut {
        let key = ApiKey::ApiVersions;
        let mut frame = BytesMut::new();
        frame.put_i32(0);
        RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(3)
            .with_correlation_id(correlation_id)
            .with_client_id(Some(StrBytes::from_static_str("duplex-test")))
            .encode(&mut frame, key.request_header_version(3))
            .unwrap();
        ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("sluice-test"))
            .with_client_software_version(StrBytes::from_static_str("1.0"))
            .encode(&mut frame, 3)
            .unwrap();
        let len = i32::try_from(frame.len() - 4).unwrap();
        frame[..4].copy_from_slice(&len.to_be_bytes());
        frame
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_connection_serves_any_byte_stream_and_keeps_its_session() {
        let config = Config {
            listen: "127.0.0.1:0".into(),
            ephemeral: true,
            ..Config::default()
        };
        let broker = Broker::start(config).await.unwrap();
        let dispatcher = Arc::new(Dispatcher::new(Arc::clone(broker.state())));
        let session = Arc::new(Session::plaintext(([192, 0, 2, 1], 9092).into()));
        let (mut client, stream) = tokio::io::duplex(64 * 1024);
        let (reader, writer) = tokio::io::split(stream);
        let (_stop, shutdown) = watch::channel(false);
        let connection = tokio::spawn(run(
            reader,
            writer,
            Arc::clone(&session),
            Arc::clone(&dispatcher),
            Arc::default(),
            shutdown,
        ));

        client.write_all(&api_versions_v3(7)).await.unwrap();
        let len = client.read_i32().await.unwrap();
        let mut body = vec![0; usize::try_from(len).unwrap()];
        client.read_exact(&mut body).await.unwrap();
        let mut body = Bytes::from(body);
        let header = ResponseHeader::decode(&mut body, 0).unwrap();
        assert_eq!(header.correlation_id, 7);
        let resp = ApiVersionsResponse::decode(&mut body, 3).unwrap();
        assert_eq!(resp.error_code, 0);

        assert_eq!(session.client_id(), Some("duplex-test"));
        let software = session.client_software().unwrap();
        assert_eq!(
            (software.name.as_str(), software.version.as_str()),
            ("sluice-test", "1.0")
        );
        let metrics = dispatcher.metrics().api(ApiKey::ApiVersions).unwrap();
        assert_eq!((metrics.requests(), metrics.answered()), (1, 1));

        drop(client);
        connection.await.unwrap();
        broker.shutdown().await;
    }
}
