//! One file per Kafka API. Each states the versions it serves (`VERSIONS`,
//! fed to the registry in [`crate::dispatch`]) and what it does not do yet.
//! Handlers are thin: they validate, call the domain, build the response.

pub mod api_versions;
pub mod create_topics;
pub mod delete_records;
pub mod delete_topics;
pub mod fetch;
pub mod list_offsets;
pub mod metadata;
pub mod produce;
