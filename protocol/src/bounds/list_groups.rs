//! ListGroups (api key 16), versions 0–5, flexible from 3.
//!
//! Versions 0–3 have an empty body (apart from v3's tagged fields).

use super::schema::{between, field, since, Api, Ty::*};

pub(super) static API: Api = Api {
    key: 16,
    name: "ListGroups",
    versions: between(0, 5),
    flexible_from: Some(3),
    body: &[
        field("states_filter", since(4), Array(&String)),
        field("types_filter", since(5), Array(&String)),
    ],
};
