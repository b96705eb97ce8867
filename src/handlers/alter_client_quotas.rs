//! AlterClientQuotas (key 49), v0–v1.
//!
//! Sets or removes quota values of user, client-id and IP entities (the
//! default entity of a type is a null name), with Kafka's checks and
//! messages (`quota::alteration`): INVALID_REQUEST for an unknown entity
//! type or key, a duplicate, an empty name, IP combined with user or
//! client id, a value not above 0 or fractional where Kafka wants an
//! integer. An entity named twice in one request is refused the second
//! time. The accepted changes are written to the metadata log with one
//! fsync and apply from the next request on (more than 10,000 changes in
//! one request: POLICY_VIOLATION for all, as Kafka); `validate_only` checks
//! without writing. `controller_mutation_rate` is stored but not
//! enforced.

use std::collections::BTreeSet;

use kafka_protocol::messages::alter_client_quotas_response::{EntityData, EntryData};
use kafka_protocol::messages::{AlterClientQuotasRequest, AlterClientQuotasResponse};
use kafka_protocol::protocol::StrBytes;

use super::{HandlerOutput, RequestContext};
use crate::error::{ErrorCode, QuotaError};
use crate::quota::{alteration, AlterEntry};

pub const VERSIONS: (i16, i16) = (0, 1);

/// Kafka's `MAX_RECORDS_PER_USER_OP`: the most records one request makes.
const MAX_CHANGES_PER_REQUEST: usize = 10_000;

pub async fn handle(
    ctx: RequestContext,
    req: AlterClientQuotasRequest,
) -> HandlerOutput<AlterClientQuotasResponse> {
    let store = ctx.state.metadata.client_quotas();
    let mut outcomes: Vec<Result<(), QuotaError>> = Vec::with_capacity(req.entries.len());
    let mut entities = BTreeSet::new();
    let mut changes = Vec::new();
    for entry in &req.entries {
        let wire = AlterEntry {
            entity: entry
                .entity
                .iter()
                .map(|e| (e.entity_type.as_str(), e.entity_name.as_deref()))
                .collect(),
            ops: entry
                .ops
                .iter()
                .map(|op| (op.key.as_str(), (!op.remove).then_some(op.value)))
                .collect(),
        };
        let outcome = store
            .with_quotas(|table| alteration(table, &wire))
            .and_then(|(entity, more)| {
                if entities.contains(&entity) {
                    return Err(QuotaError::InvalidRequest(format!(
                        "Ignoring duplicate entity {entity}"
                    )));
                }
                entities.insert(entity);
                changes.extend(more);
                Ok(())
            });
        outcomes.push(outcome);
    }
    if changes.len() > MAX_CHANGES_PER_REQUEST {
        // Kafka's controller takes at most this many records from one
        // operation and refuses the whole of a larger one.
        for o in outcomes.iter_mut().filter(|o| o.is_ok()) {
            *o = Err(QuotaError::PolicyViolation(crate::TOO_LARGE_BATCH.into()));
        }
    } else if !req.validate_only {
        if let Err(e) = ctx.state.metadata.alter_client_quotas(changes) {
            let message = e.to_string();
            for o in outcomes.iter_mut().filter(|o| o.is_ok()) {
                *o = Err(QuotaError::MetadataLog(message.clone()));
            }
        }
    }
    let entries = req
        .entries
        .iter()
        .zip(outcomes)
        .map(|(entry, outcome)| {
            let entity = entry
                .entity
                .iter()
                .map(|e| {
                    EntityData::default()
                        .with_entity_type(e.entity_type.clone())
                        .with_entity_name(e.entity_name.clone())
                })
                .collect();
            let data = EntryData::default().with_entity(entity);
            match outcome {
                Ok(()) => data.with_error_message(None),
                Err(e) => data
                    .with_error_code(e.code())
                    .with_error_message(Some(StrBytes::from_string(e.to_string()))),
            }
        })
        .collect();
    HandlerOutput::Respond(AlterClientQuotasResponse::default().with_entries(entries))
}
