//! One connection to one broker: Kafka's framing over tokio TCP, with the
//! request and response types of the `kafka-protocol` crate.
//!
//! On connect the broker is asked for its ApiVersions, and every request
//! then goes at the highest version both sides speak. Frames are
//! `i32 length | header | body`; a response longer than
//! [`MAX_RESPONSE_BYTES`] is refused before it is read, and every exchange
//! is bounded by the command's request timeout.

use std::collections::HashMap;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, RequestHeader, ResponseHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::error::CliError;

/// The largest response frame read (a Metadata of a large cluster is a few
/// MiB): a broker, or something else on the port, that announces more is
/// refused rather than allocated for.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// The client id every request carries, so a broker's logs show who asked.
const CLIENT_ID: &str = "sluice-cli";

/// A connection to one broker, with the API versions it serves.
pub struct Connection {
    addr: String,
    stream: TcpStream,
    timeout: Duration,
    next_correlation_id: i32,
    /// API key → (min, max) version the broker serves.
    versions: HashMap<i16, (i16, i16)>,
}

impl Connection {
    /// Connects to `addr` and asks it for its API versions.
    pub async fn connect(addr: &str, timeout: Duration) -> Result<Connection, CliError> {
        let fail = |message: String| CliError::Connect {
            addr: addr.to_string(),
            message,
        };
        let stream = match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(fail(e.to_string())),
            Err(_) => {
                return Err(fail(format!(
                    "no connection within {} ms",
                    timeout.as_millis()
                )))
            }
        };
        let _ = stream.set_nodelay(true);
        let mut conn = Connection {
            addr: addr.to_string(),
            stream,
            timeout,
            next_correlation_id: 1,
            versions: HashMap::new(),
        };
        conn.versions = conn.api_versions().await?;
        Ok(conn)
    }

    /// ApiVersions at v3; a broker that does not speak v3 answers in v0 with
    /// UNSUPPORTED_VERSION and its list, which is all this needs.
    async fn api_versions(&mut self) -> Result<HashMap<i16, (i16, i16)>, CliError> {
        let request = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("sluice-cli"))
            .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
        let body = self.exchange(&request, 3).await?;
        let response = match ApiVersionsResponse::decode(&mut body.clone(), 3) {
            Ok(r) if r.error_code == 0 => r,
            _ => ApiVersionsResponse::decode(&mut body.clone(), 0)
                .map_err(|e| self.broken(format!("unreadable ApiVersions response: {e}")))?,
        };
        if response.error_code != 0 && response.api_keys.is_empty() {
            CliError::check(
                response.error_code,
                None,
                format!("ApiVersions at {}", self.addr),
            )?;
        }
        Ok(response
            .api_keys
            .iter()
            .map(|k| (k.api_key, (k.min_version, k.max_version)))
            .collect())
    }

    /// The version `R` goes at: the highest both this client (the crate's
    /// range, from `floor` up) and the broker serve.
    pub fn version<R: Request>(&self, floor: i16) -> Result<i16, CliError> {
        let unsupported = || CliError::Unsupported {
            addr: self.addr.clone(),
            api: api_name(R::KEY),
        };
        let &(broker_min, broker_max) = self.versions.get(&R::KEY).ok_or_else(unsupported)?;
        let version = broker_max.min(R::VERSIONS.max);
        if version < broker_min.max(R::VERSIONS.min).max(floor) {
            return Err(unsupported());
        }
        Ok(version)
    }

    /// Sends `request` at the version [`Connection::version`] picks (from
    /// `floor` up) and returns the response and that version.
    pub async fn send<R: Request>(
        &mut self,
        request: &R,
        floor: i16,
    ) -> Result<(R::Response, i16), CliError> {
        let version = self.version::<R>(floor)?;
        let mut body = self.exchange(request, version).await?;
        let response = R::Response::decode(&mut body, version).map_err(|e| {
            self.broken(format!(
                "unreadable {} v{version} response: {e}",
                api_name(R::KEY)
            ))
        })?;
        Ok((response, version))
    }

    /// One request out, its response's body (after the header) back.
    async fn exchange<R: Request>(&mut self, request: &R, version: i16) -> Result<Bytes, CliError> {
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id = self.next_correlation_id.wrapping_add(1);
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(correlation_id)
            .with_client_id(Some(StrBytes::from_static_str(CLIENT_ID)));
        let mut frame = BytesMut::new();
        frame.put_i32(0);
        header
            .encode(&mut frame, R::header_version(version))
            .and_then(|()| request.encode(&mut frame, version))
            .map_err(|e| {
                CliError::Refused(format!(
                    "cannot encode {} v{version}: {e}",
                    api_name(R::KEY)
                ))
            })?;
        let length = i32::try_from(frame.len() - 4)
            .map_err(|_| CliError::Refused("request too large".to_string()))?;
        frame[..4].copy_from_slice(&length.to_be_bytes());

        let timeout = self.timeout;
        let exchange = async {
            self.stream.write_all(&frame).await?;
            let mut length = [0u8; 4];
            self.stream.read_exact(&mut length).await?;
            let length = i32::from_be_bytes(length);
            let length = usize::try_from(length)
                .ok()
                .filter(|l| *l <= MAX_RESPONSE_BYTES)
                .ok_or_else(|| {
                    std::io::Error::other(format!(
                    "response frame of {length} bytes (more than {MAX_RESPONSE_BYTES} are refused)"
                ))
                })?;
            let mut body = vec![0u8; length];
            self.stream.read_exact(&mut body).await?;
            Ok::<_, std::io::Error>(Bytes::from(body))
        };
        let mut body = match tokio::time::timeout(timeout, exchange).await {
            Ok(Ok(body)) => body,
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Err(self.broken("closed the connection".to_string()))
            }
            Ok(Err(e)) => return Err(self.broken(e.to_string())),
            Err(_) => {
                return Err(self.broken(format!(
                    "no answer to {} within {} ms",
                    api_name(R::KEY),
                    timeout.as_millis()
                )))
            }
        };
        let header = ResponseHeader::decode(&mut body, R::Response::header_version(version))
            .map_err(|e| self.broken(format!("unreadable response header: {e}")))?;
        if header.correlation_id != correlation_id {
            return Err(self.broken(format!(
                "answered correlation id {} to request {correlation_id}",
                header.correlation_id
            )));
        }
        Ok(body)
    }

    fn broken(&self, message: String) -> CliError {
        CliError::Broker {
            addr: self.addr.clone(),
            message,
        }
    }
}

/// Kafka's name of an API key (`Metadata`, `CreateTopics`, ...).
fn api_name(key: i16) -> &'static str {
    match ApiKey::try_from(key) {
        Ok(k) => api_key_name(k),
        Err(_) => "an unknown API",
    }
}

fn api_key_name(key: ApiKey) -> &'static str {
    match key {
        ApiKey::ApiVersions => "ApiVersions",
        ApiKey::Metadata => "Metadata",
        ApiKey::CreateTopics => "CreateTopics",
        ApiKey::DeleteTopics => "DeleteTopics",
        ApiKey::CreatePartitions => "CreatePartitions",
        ApiKey::ListOffsets => "ListOffsets",
        ApiKey::FindCoordinator => "FindCoordinator",
        ApiKey::ListGroups => "ListGroups",
        ApiKey::DescribeGroups => "DescribeGroups",
        ApiKey::OffsetFetch => "OffsetFetch",
        ApiKey::OffsetCommit => "OffsetCommit",
        ApiKey::DescribeConfigs => "DescribeConfigs",
        ApiKey::IncrementalAlterConfigs => "IncrementalAlterConfigs",
        _ => "a Kafka API",
    }
}
