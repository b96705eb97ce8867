//! DeleteGroups (api key 42), versions 0–2, flexible from 2.

use super::schema::{between, field, Api, Ty::*, ALL};

pub(super) static API: Api = Api {
    key: 42,
    name: "DeleteGroups",
    versions: between(0, 2),
    flexible_from: Some(2),
    body: &[field("groups_names", ALL, Array(&String))],
};
