//! DescribeGroups (api key 15), versions 0–6, flexible from 5.

use super::schema::{between, field, since, Api, Ty::*, ALL};

pub(super) static API: Api = Api {
    key: 15,
    name: "DescribeGroups",
    versions: between(0, 6),
    flexible_from: Some(5),
    body: &[
        field("groups", ALL, Array(&String)),
        field("include_authorized_operations", since(3), Bool),
    ],
};
