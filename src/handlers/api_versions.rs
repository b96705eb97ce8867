//! ApiVersions (key 18), v0–v4.
//!
//! Lists every API of the one table ([`dispatch::API_TABLE`]) with its
//! version range. v3+ requests name the client software (KIP-511), which
//! the session keeps. v3+ responses carry no tagged fields (no
//! supported/finalized features): librdkafka before 2.2 misreads a
//! non-empty tagged-field section in this response. An unknown version gets
//! UNSUPPORTED_VERSION with a v0 body (KIP-511).

use bytes::BytesMut;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse};

use crate::dispatch::{self, HandlerOutput, RequestContext};
use crate::error;

pub const VERSIONS: (i16, i16) = (0, 4);

pub async fn handle(
    ctx: RequestContext,
    req: ApiVersionsRequest,
) -> HandlerOutput<ApiVersionsResponse> {
    if ctx.api_version >= 3 {
        ctx.session.note_client_software(
            req.client_software_name.as_str(),
            req.client_software_version.as_str(),
        );
    }
    HandlerOutput::Respond(listing(0))
}

fn listing(error_code: i16) -> ApiVersionsResponse {
    let api_keys = dispatch::API_TABLE
        .iter()
        .map(|api| {
            ApiVersion::default()
                .with_api_key(api.key as i16)
                .with_min_version(api.min_version)
                .with_max_version(api.max_version)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listing_is_the_table() {
        let listed: Vec<(i16, i16, i16)> = listing(0)
            .api_keys
            .iter()
            .map(|k| (k.api_key, k.min_version, k.max_version))
            .collect();
        let table: Vec<(i16, i16, i16)> = dispatch::API_TABLE
            .iter()
            .map(|api| (api.key as i16, api.min_version, api.max_version))
            .collect();
        assert_eq!(listed, table);
    }
}
