//! ListTransactions (api key 66), versions 0–1, flexible.
//!
//! v2 adds a transactional id regular expression and is not served.

use super::schema::{between, field, since, Api, Ty::*, ALL};

pub(super) static API: Api = Api {
    key: 66,
    name: "ListTransactions",
    versions: between(0, 1),
    flexible_from: Some(0),
    body: &[
        field("state_filters", ALL, Array(&String)),
        field("producer_id_filters", ALL, Array(&Int64)),
        field("duration_filter", since(1), Int64),
    ],
};
