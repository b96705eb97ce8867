//! FindCoordinator (api key 10), versions 0–6, flexible from 3.
//!
//! Up to v3 one key; from v4 a batch of keys.

use super::schema::{between, field, since, until, Api, Ty::*};

pub(super) static API: Api = Api {
    key: 10,
    name: "FindCoordinator",
    versions: between(0, 6),
    flexible_from: Some(3),
    body: &[
        field("key", until(3), String),
        field("key_type", since(1), Int8),
        field("coordinator_keys", since(4), Array(&String)),
    ],
};
