//! AddOffsetsToTxn (api key 25), versions 0–4, flexible from 3.

use super::schema::{between, field, Api, Ty::*, ALL};

pub(super) static API: Api = Api {
    key: 25,
    name: "AddOffsetsToTxn",
    versions: between(0, 4),
    flexible_from: Some(3),
    body: &[
        field("transactional_id", ALL, String),
        field("producer_id", ALL, Int64),
        field("producer_epoch", ALL, Int16),
        field("group_id", ALL, String),
    ],
};
