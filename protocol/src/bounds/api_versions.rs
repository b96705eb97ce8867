//! ApiVersions (api key 18), versions 0–4, flexible from 3.
//!
//! Clients send it first, before they know what the broker speaks; a v3+
//! request to a broker that only knows v0–2 is answered with v0.

use super::schema::{between, field, since, Api, Ty::*};

pub(super) static API: Api = Api {
    key: 18,
    name: "ApiVersions",
    versions: between(0, 4),
    flexible_from: Some(3),
    body: &[
        field("client_software_name", since(3), String),
        field("client_software_version", since(3), String),
    ],
};
