//! DescribeConfigs (api key 32), versions 1–4, flexible from 4.
//!
//! A null `configuration_keys` asks for every config of the resource.

use super::schema::{between, field, since, Api, Ty, Ty::*, ALL};

pub(super) static API: Api = Api {
    key: 32,
    name: "DescribeConfigs",
    versions: between(1, 4),
    flexible_from: Some(4),
    body: &[
        field("resources", ALL, Array(&RESOURCE)),
        field("include_synonyms", ALL, Bool),
        field("include_documentation", since(3), Bool),
    ],
};

const RESOURCE: Ty = Struct(&[
    field("resource_type", ALL, Int8),
    field("resource_name", ALL, String),
    field("configuration_keys", ALL, NullableArray(&String)),
]);
