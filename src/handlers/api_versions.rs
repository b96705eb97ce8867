//! ApiVersions (key 18), v0–v4.
//!
//! Lists every API of the one table (the pipeline's one table, handed over as `ctx.served_apis`) with its
//! version range. v3+ requests name the client software (KIP-511), which
//! the session keeps. v3+ responses carry the feature levels in tagged
//! fields as a Kafka 4 KRaft broker does (`features.rs`: only levels whose
//! behaviour Sluice has): supported features (in v3 without those whose
//! lowest supported level is 0, which clients before Kafka 3.9 cannot
//! decode, KAFKA-17492), finalized features (levels above 0), their epoch,
//! and ZkMigrationReady false. An unknown version gets UNSUPPORTED_VERSION
//! with a v0 body (KIP-511).

use kafka_protocol::messages::api_versions_response::{
    ApiVersion, FinalizedFeatureKey, SupportedFeatureKey,
};
use kafka_protocol::messages::{ApiVersionsRequest, ApiVersionsResponse};

use kafka_protocol::protocol::StrBytes;

use super::{HandlerOutput, RequestContext, ServedApi};
use crate::features::{FEATURES, FINALIZED_FEATURES_EPOCH};

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
    let resp = listing(ctx.served_apis, 0);
    HandlerOutput::Respond(if ctx.api_version >= 3 {
        with_features(resp, ctx.api_version)
    } else {
        resp
    })
}

/// The feature levels of a v3+ response.
fn with_features(resp: ApiVersionsResponse, version: i16) -> ApiVersionsResponse {
    let supported = FEATURES
        .iter()
        .filter(|f| version >= 4 || f.min_supported > 0)
        .map(|f| {
            SupportedFeatureKey::default()
                .with_name(StrBytes::from_static_str(f.name))
                .with_min_version(f.min_supported)
                .with_max_version(f.max_supported)
        })
        .collect();
    let finalized = FEATURES
        .iter()
        .filter(|f| f.finalized > 0)
        .map(|f| {
            FinalizedFeatureKey::default()
                .with_name(StrBytes::from_static_str(f.name))
                .with_min_version_level(f.finalized)
                .with_max_version_level(f.finalized)
        })
        .collect();
    resp.with_supported_features(supported)
        .with_finalized_features_epoch(FINALIZED_FEATURES_EPOCH)
        .with_finalized_features(finalized)
        .with_zk_migration_ready(false)
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
