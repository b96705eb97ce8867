//! ApiVersions (key 18), v0–v4.
//!
//! Lists every API in the registry with its version range. v3+ responses
//! carry no tagged fields (no supported/finalized features): librdkafka
//! before 2.2 misreads a non-empty tagged-field section in this response.
//! An unknown version gets UNSUPPORTED_VERSION with a v0 body (KIP-511).

use bytes::BytesMut;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse};

use crate::dispatch::{self, HandlerOutput, RequestContext};
use crate::error;

pub const VERSIONS: (i16, i16) = (0, 4);

pub async fn handle(
    _ctx: RequestContext,
    _req: ApiVersionsRequest,
) -> HandlerOutput<ApiVersionsResponse> {
    HandlerOutput::Respond(listing(0))
}

fn listing(error_code: i16) -> ApiVersionsResponse {
    let api_keys = dispatch::SUPPORTED
        .iter()
        .map(|(key, min, max)| {
            ApiVersion::default()
                .with_api_key(*key as i16)
                .with_min_version(*min)
                .with_max_version(*max)
        })
        .collect();
    ApiVersionsResponse::default()
        .with_error_code(error_code)
        .with_api_keys(api_keys)
}

/// The KIP-511 fallback frame: header v0, v0 body, UNSUPPORTED_VERSION.
pub fn unsupported_version_frame(correlation_id: i32) -> BytesMut {
    let resp = listing(error::request::unsupported_version());
    dispatch::encode_frame(ApiKey::ApiVersions, 0, correlation_id, &resp).unwrap_or_default()
}
