//! DescribeClientQuotas (key 48), v0–v1.
//!
//! The quota entities the filter selects, with their values: each
//! component matches an entity type EXACT (a name), DEFAULT or ANY
//! (Kafka's MATCH_TYPE_SPECIFIED); `strict` leaves out entities naming
//! other types too. A malformed filter is INVALID_REQUEST with Kafka's
//! message, an unknown entity type UNSUPPORTED_VERSION (as Kafka); the
//! entries are then null.

use kafka_protocol::messages::describe_client_quotas_response::{EntityData, EntryData, ValueData};
use kafka_protocol::messages::{DescribeClientQuotasRequest, DescribeClientQuotasResponse};
use kafka_protocol::protocol::StrBytes;

use super::{HandlerOutput, RequestContext};
use crate::error::ErrorCode;
use crate::quota::{describe, DescribeFilter};

pub const VERSIONS: (i16, i16) = (0, 1);

pub async fn handle(
    ctx: RequestContext,
    req: DescribeClientQuotasRequest,
) -> HandlerOutput<DescribeClientQuotasResponse> {
    let filter: Vec<DescribeFilter<'_>> = req
        .components
        .iter()
        .map(|c| DescribeFilter {
            entity_type: c.entity_type.as_str(),
            match_type: c.match_type,
            name: c._match.as_deref(),
        })
        .collect();
    let found = ctx
        .state
        .metadata
        .client_quotas()
        .with_quotas(|table| describe(table, &filter, req.strict));
    let resp = DescribeClientQuotasResponse::default();
    HandlerOutput::Respond(match found {
        Err(e) => resp
            .with_error_code(e.code())
            .with_error_message(Some(StrBytes::from_string(e.to_string())))
            .with_entries(None),
        Ok(found) => resp.with_error_message(None).with_entries(Some(
            found
                .into_iter()
                .map(|(entity, values)| {
                    EntryData::default()
                        .with_entity(
                            entity
                                .components()
                                .map(|(t, n)| {
                                    EntityData::default()
                                        .with_entity_type(StrBytes::from_static_str(t))
                                        .with_entity_name(
                                            n.as_wire().map(|n| StrBytes::from_string(n.into())),
                                        )
                                })
                                .collect(),
                        )
                        .with_values(
                            values
                                .into_iter()
                                .map(|(k, v)| {
                                    ValueData::default()
                                        .with_key(StrBytes::from_string(k))
                                        .with_value(v)
                                })
                                .collect(),
                        )
                })
                .collect(),
        )),
    })
}
