//! AddPartitionsToTxn (api key 24), versions 0–3, flexible from 3.
//!
//! Only the client versions: v4+ (KIP-890) batches transactions for
//! broker-to-broker use and is not served.

use super::schema::{between, field, Api, Ty, Ty::*, ALL};

pub(super) static API: Api = Api {
    key: 24,
    name: "AddPartitionsToTxn",
    versions: between(0, 3),
    flexible_from: Some(3),
    body: &[
        field("transactional_id", ALL, String),
        field("producer_id", ALL, Int64),
        field("producer_epoch", ALL, Int16),
        field("topics", ALL, Array(&TOPIC)),
    ],
};

const TOPIC: Ty = Struct(&[
    field("name", ALL, String),
    field("partitions", ALL, Array(&Int32)),
]);
