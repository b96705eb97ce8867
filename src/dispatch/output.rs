//! What a handler gives back ([`HandlerOutput`]) and what the connection
//! does with a request once it went through the pipeline
//! ([`ConnectionAction`]). Both may hold a [`PendingResponse`]: the one
//! spelling, on the dispatch side, of an answer still to come.

use bytes::{BufMut, BytesMut};

use crate::handlers::{HandlerOutput, PendingResponse};
use kafka_protocol::messages::{ApiKey, ResponseHeader};
use kafka_protocol::protocol::Encodable;

/// What the connection does with a request: encoded bytes, now or to come.
pub enum ConnectionAction {
    /// Write this frame.
    Write(BytesMut),
    /// Write the frame this future yields, in request order.
    WritePending(PendingResponse<BytesMut>),
    /// Write nothing.
    NoResponse,
    /// Close the connection after the frames already queued, logging why.
    Close(String),
}

/// A whole response frame: length prefix, response header, body.
pub fn encode_frame<R: Encodable>(
    api_key: ApiKey,
    version: i16,
    correlation_id: i32,
    resp: &R,
) -> Result<BytesMut, String> {
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    let header_version = api_key.response_header_version(version);
    let mut frame = BytesMut::with_capacity(64);
    frame.put_i32(0);
    header
        .encode(&mut frame, header_version)
        .map_err(|e| e.to_string())?;
    resp.encode(&mut frame, version)
        .map_err(|e| e.to_string())?;
    let len =
        i32::try_from(frame.len() - 4).map_err(|_| "response larger than 2 GiB".to_string())?;
    frame[..4].copy_from_slice(&len.to_be_bytes());
    Ok(frame)
}

/// The connection's action for a handler's output: the response encoded
/// with the header version of `api_key` at `version`.
pub(super) fn encode_output<R: Encodable + Send + 'static>(
    api_key: ApiKey,
    version: i16,
    correlation_id: i32,
    output: HandlerOutput<R>,
) -> ConnectionAction {
    match output {
        HandlerOutput::Respond(resp) => match encode_frame(api_key, version, correlation_id, &resp)
        {
            Ok(frame) => ConnectionAction::Write(frame),
            Err(e) => ConnectionAction::Close(format!(
                "cannot encode {api_key:?} v{version} response: {e}"
            )),
        },
        HandlerOutput::NoResponse => ConnectionAction::NoResponse,
        HandlerOutput::Pending(pending) => ConnectionAction::WritePending(Box::pin(async move {
            let resp = pending.await;
            match encode_frame(api_key, version, correlation_id, &resp) {
                Ok(frame) => frame,
                // Cannot happen for a version we decoded; an empty frame
                // makes the client time out rather than misread.
                Err(e) => {
                    tracing::error!(error = %e, "cannot encode response");
                    BytesMut::new()
                }
            }
        })),
    }
}
