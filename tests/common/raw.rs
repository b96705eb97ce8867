//! A minimal blocking Kafka client over a plain TcpStream, for tests that
//! need exact control of the bytes (long poll timing, hostile frames).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{ApiKey, FetchRequest, RequestHeader, ResponseHeader, TopicName};
use kafka_protocol::protocol::{Decodable, Encodable, Request, StrBytes};

/// A Fetch of partition 0 of `topic` from `offset` (1 MiB at most, no
/// session), waiting up to `max_wait_ms` for `min_bytes`.
pub fn fetch_request(topic: &str, offset: i64, max_wait_ms: i32, min_bytes: i32) -> FetchRequest {
    FetchRequest::default()
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(min_bytes)
        .with_max_bytes(1 << 20)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(TopicName(StrBytes::from_string(topic.to_string())))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(offset)
                .with_partition_max_bytes(1 << 20)])])
}

pub struct Raw {
    pub stream: TcpStream,
    next_correlation: i32,
}

impl Raw {
    pub fn connect(addr: &str) -> Raw {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        stream.set_nodelay(true).unwrap();
        Raw {
            stream,
            next_correlation: 1,
        }
    }

    /// Encodes `req` as a whole frame (length prefix, header, body).
    pub fn frame<R: Request>(&mut self, version: i16, req: &R) -> (i32, BytesMut) {
        let correlation_id = self.next_correlation;
        self.next_correlation += 1;
        let key = ApiKey::try_from(R::KEY).unwrap();
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(correlation_id)
            .with_client_id(Some(StrBytes::from_static_str("raw-test")));
        let mut buf = BytesMut::new();
        buf.put_i32(0);
        header
            .encode(&mut buf, key.request_header_version(version))
            .unwrap();
        req.encode(&mut buf, version).unwrap();
        let len = (buf.len() - 4) as i32;
        buf[..4].copy_from_slice(&len.to_be_bytes());
        (correlation_id, buf)
    }

    pub fn send<R: Request>(&mut self, version: i16, req: &R) -> i32 {
        let (id, frame) = self.frame(version, req);
        self.stream.write_all(&frame).unwrap();
        id
    }

    pub fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Reads one response frame body; None if the broker closed the connection.
    pub fn read_frame(&mut self) -> Option<Bytes> {
        let mut len = [0u8; 4];
        self.stream.read_exact(&mut len).ok()?;
        let len = i32::from_be_bytes(len) as usize;
        let mut body = vec![0u8; len];
        self.stream.read_exact(&mut body).ok()?;
        Some(Bytes::from(body))
    }

    /// Reads the response to a request of type R sent at `version`.
    pub fn recv<R: Request>(&mut self, version: i16, correlation_id: i32) -> R::Response {
        let mut body = self.read_frame().expect("response frame");
        let key = ApiKey::try_from(R::KEY).unwrap();
        let header =
            ResponseHeader::decode(&mut body, key.response_header_version(version)).unwrap();
        assert_eq!(
            header.correlation_id, correlation_id,
            "responses in request order"
        );
        R::Response::decode(&mut body, version).unwrap()
    }

    pub fn call<R: Request>(&mut self, version: i16, req: &R) -> R::Response {
        let id = self.send(version, req);
        self.recv::<R>(version, id)
    }

    /// True if the broker closed the connection (EOF) within the read timeout.
    pub fn is_closed(&mut self) -> bool {
        let mut byte = [0u8; 1];
        loop {
            match self.stream.read(&mut byte) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
                Err(_) => return false,
            }
        }
    }
}

/// Reads the correlation id at the front of a response body.
pub fn correlation_of(body: &Bytes) -> i32 {
    body.clone().get_i32()
}
