//! EndTxn (api key 26), versions 0–4, flexible from 3.
//!
//! v5 (KIP-890 transaction version 2) has the same request layout but is
//! not served.

use super::schema::{between, field, Api, Ty::*, ALL};

pub(super) static API: Api = Api {
    key: 26,
    name: "EndTxn",
    versions: between(0, 4),
    flexible_from: Some(3),
    body: &[
        field("transactional_id", ALL, String),
        field("producer_id", ALL, Int64),
        field("producer_epoch", ALL, Int16),
        field("committed", ALL, Bool),
    ],
};
