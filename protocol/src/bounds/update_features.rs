//! UpdateFeatures (api key 57), versions 0-2, flexible.

use super::schema::{between, field, since, until, Api, Ty, Ty::*, ALL};

pub(super) static API: Api = Api {
    key: 57,
    name: "UpdateFeatures",
    versions: between(0, 2),
    flexible_from: Some(0),
    body: &[
        field("timeout_ms", ALL, Int32),
        field("feature_updates", ALL, Array(&UPDATE)),
        field("validate_only", since(1), Bool),
    ],
};

const UPDATE: Ty = Struct(&[
    field("feature", ALL, String),
    field("max_version_level", ALL, Int16),
    field("allow_downgrade", until(0), Bool),
    field("upgrade_type", since(1), Int8),
]);
