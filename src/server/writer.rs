//! A connection's writer task: writes the frames the reader hands it
//! strictly in request order, awaiting pending ones in place, and gathers
//! small frames ready together into one write.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::Poll;

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use super::flow::Flow;
use crate::dispatch::ConnectionAction;

/// Frames ready together are written with one call up to this size.
const GATHER_BYTES: usize = 64 * 1024;

pub(super) async fn write_replies<W: AsyncWrite + Unpin>(
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
        // Replies in this write; the bytes of pending ones are counted as
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
                // Pending replies answered by now (produce replies released
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

    use bytes::BytesMut;

    use super::*;
    use crate::server::connection::MAX_IN_FLIGHT;

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

    fn pending(s: &'static str) -> ConnectionAction {
        ConnectionAction::WritePending(Box::pin(async move { BytesMut::from(s.as_bytes()) }))
    }

    fn test_flow() -> Arc<Flow> {
        Arc::new(Flow::new(Arc::default()))
    }

    fn peer() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 9))
    }

    #[tokio::test]
    async fn pending_replies_answered_together_go_out_in_one_write() {
        let writes = Writes::default();
        let (tx, rx) = mpsc::channel(MAX_IN_FLIGHT);
        for reply in [pending("a"), pending("b"), now("c"), pending("d")] {
            tx.send(reply).await.unwrap();
        }
        drop(tx);
        write_replies(writes.clone(), rx, peer(), test_flow()).await;
        assert_eq!(*writes.0.lock().unwrap(), [b"abcd".to_vec()]);
    }

    #[tokio::test]
    async fn a_pending_reply_not_yet_answered_keeps_its_place() {
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
