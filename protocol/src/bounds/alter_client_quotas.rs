//! AlterClientQuotas (api key 49), versions 0–1, flexible from 1.

use super::schema::{between, field, Api, Ty, Ty::*, ALL};

pub(super) static API: Api = Api {
    key: 49,
    name: "AlterClientQuotas",
    versions: between(0, 1),
    flexible_from: Some(1),
    body: &[
        field("entries", ALL, Array(&ENTRY)),
        field("validate_only", ALL, Bool),
    ],
};

const ENTRY: Ty = Struct(&[
    field("entity", ALL, Array(&ENTITY)),
    field("ops", ALL, Array(&OP)),
]);

const ENTITY: Ty = Struct(&[
    field("entity_type", ALL, String),
    field("entity_name", ALL, NullableString),
]);

const OP: Ty = Struct(&[
    field("key", ALL, String),
    field("value", ALL, Float64),
    field("remove", ALL, Bool),
]);
