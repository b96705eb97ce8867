//! What the broker knows about the client on one connection: where it
//! connects from, who it is (the principal, once authenticated), and what
//! it calls itself (client id, client software). One [`Session`] per
//! connection, created by the listener, shared by every request of that
//! connection through `RequestContext::session`.
//!
//! Each field is set at most once: the principal by authentication (at
//! accept for PLAINTEXT), the client id by the first request that carries
//! one, the client software by the first ApiVersions v3+ that names it.

use std::borrow::Cow;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Who a client is, as Kafka's `KafkaPrincipal`: a type and a name,
/// written `User:alice`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub principal_type: Cow<'static, str>,
    pub name: Cow<'static, str>,
}

impl Principal {
    /// Kafka's `User:ANONYMOUS`: the principal of an unauthenticated
    /// client, and of every PLAINTEXT one.
    pub const ANONYMOUS: Principal = Principal {
        principal_type: Cow::Borrowed("User"),
        name: Cow::Borrowed("ANONYMOUS"),
    };

    /// `User:<name>`.
    #[cfg(test)]
    pub fn user(name: impl Into<String>) -> Principal {
        Principal {
            principal_type: Cow::Borrowed("User"),
            name: Cow::Owned(name.into()),
        }
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.principal_type, self.name)
    }
}

/// Whether a session has authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthenticationState {
    /// Not yet (a SASL listener's session before SaslAuthenticate).
    None,
    /// Authenticated; [`Session::principal`] says as whom.
    Authenticated,
}

/// The client software a client names in ApiVersions v3+ (KIP-511).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSoftware {
    pub name: String,
    pub version: String,
}

/// One connection's client.
#[derive(Debug)]
pub struct Session {
    peer: SocketAddr,
    /// Set once authenticated; unset means not authenticated.
    principal: OnceLock<Principal>,
    client_id: OnceLock<String>,
    client_software: OnceLock<ClientSoftware>,
    /// Until when the connection is muted by a quota (KIP-219).
    throttle: ConnectionThrottle,
}

/// Until when a connection handles no further request because its client
/// went over a quota: set by the request pipeline, obeyed by the
/// connection's reader. One atomic, read once per request.
#[derive(Debug)]
struct ConnectionThrottle {
    base: Instant,
    /// Ms after `base` the mute ends; 0 for none.
    until_ms: AtomicU64,
}

impl Session {
    /// A PLAINTEXT connection's session: authenticated as `User:ANONYMOUS`.
    pub fn plaintext(peer: SocketAddr) -> Session {
        let session = Session::unauthenticated(peer);
        session.authenticated_as(Principal::ANONYMOUS);
        session
    }

    /// A session that must authenticate before anything but ApiVersions and
    /// the SASL requests (a SASL listener's).
    pub fn unauthenticated(peer: SocketAddr) -> Session {
        Session {
            peer,
            principal: OnceLock::new(),
            client_id: OnceLock::new(),
            client_software: OnceLock::new(),
            throttle: ConnectionThrottle {
                base: Instant::now(),
                until_ms: AtomicU64::new(0),
            },
        }
    }

    /// Mutes the connection for `ms` from now (a quota's throttle time);
    /// a mute already running longer is kept.
    pub(crate) fn throttle_for(&self, ms: i32) {
        let Ok(ms) = u64::try_from(ms) else { return };
        if ms == 0 {
            return;
        }
        let now = u64::try_from(self.throttle.base.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.throttle
            .until_ms
            .fetch_max(now.saturating_add(ms), Ordering::Relaxed);
    }

    /// When the current mute ends, if the connection is muted.
    pub(crate) fn throttled_until(&self) -> Option<Instant> {
        let until = self.throttle.until_ms.load(Ordering::Relaxed);
        if until == 0 {
            return None;
        }
        let until = self.throttle.base + Duration::from_millis(until);
        (until > Instant::now()).then_some(until)
    }

    /// The client's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Who the client is: `User:ANONYMOUS` until it has authenticated.
    pub fn principal(&self) -> &Principal {
        self.principal.get().unwrap_or(&Principal::ANONYMOUS)
    }

    pub fn authentication_state(&self) -> AuthenticationState {
        if self.principal.get().is_some() {
            AuthenticationState::Authenticated
        } else {
            AuthenticationState::None
        }
    }

    pub fn is_authenticated(&self) -> bool {
        self.authentication_state() == AuthenticationState::Authenticated
    }

    /// Records a successful authentication; false (and no change) if the
    /// session had already authenticated — a principal never changes.
    pub fn authenticated_as(&self, principal: Principal) -> bool {
        self.principal.set(principal).is_ok()
    }

    /// The client id of the first request that carried one.
    #[cfg(test)]
    pub fn client_id(&self) -> Option<&str> {
        self.client_id.get().map(String::as_str)
    }

    /// Keeps `id` unless a client id is known already.
    pub(crate) fn note_client_id(&self, id: &str) {
        if self.client_id.get().is_none() {
            let _ = self.client_id.set(id.to_string());
        }
    }

    /// What the client named itself in ApiVersions v3+, if it did.
    #[cfg(test)]
    pub fn client_software(&self) -> Option<&ClientSoftware> {
        self.client_software.get()
    }

    /// Keeps the client software unless known already; empty names are
    /// ignored.
    pub(crate) fn note_client_software(&self, name: &str, version: &str) {
        if !name.is_empty() && self.client_software.get().is_none() {
            let _ = self.client_software.set(ClientSoftware {
                name: name.to_string(),
                version: version.to_string(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 9))
    }

    #[test]
    fn plaintext_is_authenticated_as_anonymous() {
        let session = Session::plaintext(peer());
        assert!(session.is_authenticated());
        assert_eq!(session.principal().to_string(), "User:ANONYMOUS");
        assert!(!session.authenticated_as(Principal::user("mallory")));
        assert_eq!(session.principal(), &Principal::ANONYMOUS);
    }

    #[test]
    fn an_unauthenticated_session_authenticates_once() {
        let session = Session::unauthenticated(peer());
        assert_eq!(session.authentication_state(), AuthenticationState::None);
        assert_eq!(session.principal(), &Principal::ANONYMOUS);
        assert!(session.authenticated_as(Principal::user("alice")));
        assert_eq!(session.principal().to_string(), "User:alice");
    }

    #[test]
    fn client_names_are_set_once() {
        let session = Session::plaintext(peer());
        assert_eq!(session.client_id(), None);
        session.note_client_id("first");
        session.note_client_id("second");
        assert_eq!(session.client_id(), Some("first"));
        session.note_client_software("", "");
        assert_eq!(session.client_software(), None);
        session.note_client_software("librdkafka", "2.12.1");
        session.note_client_software("other", "1");
        let software = session.client_software().unwrap();
        assert_eq!(
            (software.name.as_str(), software.version.as_str()),
            ("librdkafka", "2.12.1")
        );
    }
}
