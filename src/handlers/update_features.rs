//! UpdateFeatures (key 57), v0–v2.
//!
//! Kafka's controller checks, in request order, each update (known upgrade
//! type, level not negative, within the levels this node supports, no
//! downgrade without a downgrade type, no "downgrade" to a newer level);
//! the first failure fails the whole request with INVALID_UPDATE_VERSION
//! and no per-feature results. Sluice supports one level per feature (see
//! `features.rs`), so a request that passes changes nothing and there is
//! nothing to persist; `validate_only` (v1+) answers the same. On success
//! v0–v1 list each feature with no error; v2 has no per-feature results.
//! v0's `allow_downgrade` means a safe downgrade.

use kafka_protocol::messages::update_features_response::UpdatableFeatureResult;
use kafka_protocol::messages::{UpdateFeaturesRequest, UpdateFeaturesResponse};
use kafka_protocol::protocol::StrBytes;

use super::{HandlerOutput, RequestContext};
use crate::error::ErrorCode;
use crate::features::{check_updates, UpgradeType};

pub const VERSIONS: (i16, i16) = (0, 2);

pub async fn handle(
    ctx: RequestContext,
    req: UpdateFeaturesRequest,
) -> HandlerOutput<UpdateFeaturesResponse> {
    let version = ctx.api_version;
    let updates: Vec<(&str, i16, UpgradeType)> = req
        .feature_updates
        .iter()
        .map(|u| {
            let upgrade_type = if version == 0 {
                if u.allow_downgrade {
                    UpgradeType::SafeDowngrade
                } else {
                    UpgradeType::Upgrade
                }
            } else {
                UpgradeType::from_code(u.upgrade_type)
            };
            (u.feature.as_str(), u.max_version_level, upgrade_type)
        })
        .collect();
    let response = match check_updates(ctx.state.config.node_id, &updates) {
        Err(e) => UpdateFeaturesResponse::default()
            .with_error_code(e.code())
            .with_error_message(Some(StrBytes::from_string(e.to_string()))),
        Ok(()) if version <= 1 => UpdateFeaturesResponse::default()
            .with_error_message(None)
            .with_results(
                req.feature_updates
                    .iter()
                    .map(|u| {
                        UpdatableFeatureResult::default()
                            .with_feature(u.feature.clone())
                            .with_error_message(None)
                    })
                    .collect(),
            ),
        Ok(()) => UpdateFeaturesResponse::default().with_error_message(None),
    };
    HandlerOutput::Respond(response)
}
