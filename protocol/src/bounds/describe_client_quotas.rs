//! DescribeClientQuotas (api key 48), versions 0–1, flexible from 1.

use super::schema::{between, field, Api, Ty, Ty::*, ALL};

pub(super) static API: Api = Api {
    key: 48,
    name: "DescribeClientQuotas",
    versions: between(0, 1),
    flexible_from: Some(1),
    body: &[
        field("components", ALL, Array(&COMPONENT)),
        field("strict", ALL, Bool),
    ],
};

const COMPONENT: Ty = Struct(&[
    field("entity_type", ALL, String),
    field("match_type", ALL, Int8),
    field("match", ALL, NullableString),
]);
