//! ApiVersions (key 18), v0–v4.
//!
//! Lists every API of the one table (the pipeline's one table, handed over as `ctx.served_apis`) with its
//! version range. v3+ requests name the client software (KIP-511), which
//! the session keeps. v3+ responses carry no tagged fields (no
//! supported/finalized features): librdkafka before 2.2 misreads a
//! non-empty tagged-field section in this response. An unknown version gets
//! UNSUPPORTED_VERSION with a v0 body (KIP-511).

use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiVersionsRequest, ApiVersionsResponse};

use super::{HandlerOutput, RequestContext, ServedApi};

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
    HandlerOutput::Respond(listing(ctx.served_apis, 0))
}

/// The response listing `served` (also the body of the KIP-511 fallback,
/// with UNSUPPORTED_VERSION, that the pipeline sends itself).
pub fn listing(served: &[ServedApi], error_code: i16) -> ApiVersionsResponse {
    let api_keys = served
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
