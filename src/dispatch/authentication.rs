//! The first stage: is the connection allowed to send this request yet?
//!
//! A PLAINTEXT session is authenticated (as `User:ANONYMOUS`) from its
//! first byte, so today every request passes. A SASL listener will open
//! its sessions unauthenticated; until SaslAuthenticate succeeds, Kafka's
//! broker accepts only the requests that lead there and closes the
//! connection on anything else — this gate is where that refusal lives.

use kafka_protocol::messages::ApiKey;

use crate::session::Session;

/// What an unauthenticated session may send: enough to learn the broker's
/// versions and to authenticate.
const BEFORE_AUTHENTICATION: [ApiKey; 3] = [
    ApiKey::ApiVersions,
    ApiKey::SaslHandshake,
    ApiKey::SaslAuthenticate,
];

/// `Err` with the reason to close the connection if `session` may not send
/// a request of `api_key` now.
pub(super) fn gate(session: &Session, api_key: ApiKey) -> Result<(), String> {
    if session.is_authenticated() || BEFORE_AUTHENTICATION.contains(&api_key) {
        Ok(())
    } else {
        Err(format!(
            "{api_key:?} before authentication (only ApiVersions, SaslHandshake and SaslAuthenticate are accepted)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;
    use crate::session::Principal;

    fn peer() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 9))
    }

    #[test]
    fn a_plaintext_session_passes_every_request() {
        let session = Session::plaintext(peer());
        for key in [ApiKey::Produce, ApiKey::Fetch, ApiKey::ApiVersions] {
            assert!(gate(&session, key).is_ok(), "{key:?}");
        }
    }

    #[test]
    fn an_unauthenticated_session_may_only_authenticate() {
        let session = Session::unauthenticated(peer());
        for key in BEFORE_AUTHENTICATION {
            assert!(gate(&session, key).is_ok(), "{key:?}");
        }
        let refused = gate(&session, ApiKey::Metadata).unwrap_err();
        assert!(
            refused.contains("Metadata before authentication"),
            "{refused}"
        );
        session.authenticated_as(Principal::user("alice"));
        assert!(gate(&session, ApiKey::Metadata).is_ok());
    }
}
