//! DescribeCluster (key 60), v0–v2.
//!
//! One broker, this node, with the advertised host and port; it is also the
//! controller id (a KRaft broker names a live broker there, since clients
//! cannot reach the controllers). Authorized operations of the cluster only
//! when asked for (every cluster operation, as Kafka reports without an
//! authorizer), else Kafka's "not requested" (-2147483648). v1 endpoint
//! type: this is a broker listener, so a request for controllers gets
//! MISMATCHED_ENDPOINT_TYPE and an unknown type UNSUPPORTED_ENDPOINT_TYPE
//! (INVALID_REQUEST in v0, as Kafka). v2 `include_fenced_brokers`: there is
//! no fenced broker to add. No racks.

use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{BrokerId, DescribeClusterRequest, DescribeClusterResponse};
use kafka_protocol::protocol::StrBytes;

use super::metadata::{CLUSTER_OPERATIONS, NOT_REQUESTED};
use super::{HandlerOutput, RequestContext};
use crate::error::{ClusterError, ErrorCode};

pub const VERSIONS: (i16, i16) = (0, 2);

/// Kafka's endpoint types (KIP-919).
const ENDPOINT_BROKER: i8 = 1;
const ENDPOINT_CONTROLLER: i8 = 2;

pub async fn handle(
    ctx: RequestContext,
    req: DescribeClusterRequest,
) -> HandlerOutput<DescribeClusterResponse> {
    if let Err(e) = check_endpoint_type(req.endpoint_type) {
        // v0 has no endpoint type of its own; Kafka answers INVALID_REQUEST.
        let code = if ctx.api_version == 0 {
            ClusterError::InvalidRequest(String::new()).code()
        } else {
            e.code()
        };
        return HandlerOutput::Respond(
            DescribeClusterResponse::default()
                .with_error_code(code)
                .with_error_message(Some(StrBytes::from_string(e.to_string()))),
        );
    }
    let state = &ctx.state;
    let node_id = state.config.node_id;
    let (host, port) = &state.advertised();
    let broker = DescribeClusterBroker::default()
        .with_broker_id(BrokerId(node_id))
        .with_host(StrBytes::from_string(host.clone()))
        .with_port(i32::from(*port));
    let cluster_ops = if req.include_cluster_authorized_operations {
        CLUSTER_OPERATIONS
    } else {
        NOT_REQUESTED
    };
    HandlerOutput::Respond(
        DescribeClusterResponse::default()
            .with_endpoint_type(ENDPOINT_BROKER)
            .with_cluster_id(StrBytes::from_string(
                state.metadata.cluster_id().to_string(),
            ))
            .with_controller_id(BrokerId(node_id))
            .with_brokers(vec![broker])
            .with_cluster_authorized_operations(cluster_ops),
    )
}

/// A broker listener serves the broker endpoint type only (v0 requests
/// decode with the default, broker).
fn check_endpoint_type(endpoint_type: i8) -> Result<(), ClusterError> {
    match endpoint_type {
        ENDPOINT_BROKER => Ok(()),
        ENDPOINT_CONTROLLER => Err(ClusterError::MismatchedEndpointType(
            "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER"
                .to_string(),
        )),
        other => Err(ClusterError::UnsupportedEndpointType(format!(
            "Unsupported endpoint type {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_broker_endpoint_type_is_served() {
        assert_eq!(check_endpoint_type(1), Ok(()));
        assert_eq!(
            check_endpoint_type(2).unwrap_err().code(),
            kafka_protocol::ResponseError::MismatchedEndpointType.code()
        );
        assert_eq!(
            check_endpoint_type(0).unwrap_err().code(),
            kafka_protocol::ResponseError::UnsupportedEndpointType.code()
        );
    }
}
