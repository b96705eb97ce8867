//! IncrementalAlterConfigs (api key 44), versions 0–1, flexible from 1.

use super::schema::{between, field, Api, Ty, Ty::*, ALL};

pub(super) static API: Api = Api {
    key: 44,
    name: "IncrementalAlterConfigs",
    versions: between(0, 1),
    flexible_from: Some(1),
    body: &[
        field("resources", ALL, Array(&RESOURCE)),
        field("validate_only", ALL, Bool),
    ],
};

const RESOURCE: Ty = Struct(&[
    field("resource_type", ALL, Int8),
    field("resource_name", ALL, String),
    field("configs", ALL, Array(&CONFIG)),
]);

const CONFIG: Ty = Struct(&[
    field("name", ALL, String),
    field("config_operation", ALL, Int8),
    field("value", ALL, NullableString),
]);
