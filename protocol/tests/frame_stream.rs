//! Frames arriving in pieces, as they do from a socket.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sluice_protocol::frame::{check, FrameError, LENGTH_PREFIX_LEN};
use sluice_protocol::header::{peek_request_header, RequestHeaderPrefix};

fn frame(api_key: i16, version: i16, correlation_id: i32, rest: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&api_key.to_be_bytes());
    body.extend_from_slice(&version.to_be_bytes());
    body.extend_from_slice(&correlation_id.to_be_bytes());
    body.extend_from_slice(rest);
    let mut out = i32::try_from(body.len()).unwrap().to_be_bytes().to_vec();
    out.extend_from_slice(&body);
    out
}

#[test]
fn byte_by_byte_arrival_yields_each_frame_once() {
    let stream = [
        frame(18, 3, 1, &[0, 0]),
        frame(3, 12, 2, &[1; 40]),
        frame(999, 0, 3, &[]),
    ]
    .concat();

    let mut buffer = Vec::new();
    let mut seen = Vec::new();
    for byte in stream {
        buffer.push(byte);
        while let Some(body_len) = check(&buffer, 1024).unwrap() {
            let body = &buffer[LENGTH_PREFIX_LEN..LENGTH_PREFIX_LEN + body_len];
            seen.push(peek_request_header(body).unwrap());
            buffer.drain(..LENGTH_PREFIX_LEN + body_len);
        }
    }
    assert!(buffer.is_empty());
    assert_eq!(
        seen,
        [
            RequestHeaderPrefix {
                api_key: 18,
                api_version: 3,
                correlation_id: 1
            },
            RequestHeaderPrefix {
                api_key: 3,
                api_version: 12,
                correlation_id: 2
            },
            // Unknown api keys are still peekable, so they can be answered.
            RequestHeaderPrefix {
                api_key: 999,
                api_version: 0,
                correlation_id: 3
            },
        ]
    );
}

#[test]
fn oversized_frame_is_refused_before_its_body_arrives() {
    let big = frame(0, 9, 1, &[0; 2048]);
    assert_eq!(
        check(&big[..LENGTH_PREFIX_LEN], 1024),
        Err(FrameError::TooLarge {
            size: 2056,
            max: 1024
        })
    );
}
