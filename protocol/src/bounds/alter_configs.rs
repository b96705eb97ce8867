//! AlterConfigs (api key 33), versions 0–2, flexible from 2.

use super::schema::{between, field, Api, Ty, Ty::*, ALL};

pub(super) static API: Api = Api {
    key: 33,
    name: "AlterConfigs",
    versions: between(0, 2),
    flexible_from: Some(2),
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
    field("value", ALL, NullableString),
]);
