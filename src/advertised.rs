//! The advertised address: what Metadata, FindCoordinator and
//! DescribeCluster tell clients to connect to, changeable while the broker
//! runs.
//!
//! At start it is `--advertised-listener`, else the bound address. Kafka's
//! `advertised.listeners` is a per-broker dynamic config, and so it is here:
//! IncrementalAlterConfigs / AlterConfigs of BROKER `<node id>` (and the HTTP
//! route `/v1/advertised-listener`, which makes the same change) keep it in
//! the metadata log as this node's dynamic config, which wins over the option
//! (as in Kafka), also after a restart; deleting it goes back to the option.
//! The new address is in every answer from the moment the change returns;
//! connections already open stay open (a client that reconnects, or fetches
//! metadata, follows it).
//!
//! Validation is Kafka's: one listener, named PLAINTEXT (Sluice has one
//! PLAINTEXT listener), `PLAINTEXT://HOST:PORT` with a routable host; a bad
//! value is INVALID_REQUEST with Kafka's message (a broker config that fails
//! its check is INVALID_REQUEST in Kafka, KAFKA-13609), and so is a change
//! of the cluster-wide default (BROKER `""`): listeners are per broker.

use crate::BrokerState;

/// Kafka's name of the config.
pub const ADVERTISED_LISTENERS: &str = "advertised.listeners";

/// Kafka's default listener security protocol map: the listener names
/// Kafka knows without `listener.security.protocol.map`.
const KNOWN_LISTENER_NAMES: [&str; 4] = ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"];

/// Parses an `advertised.listeners` value into this broker's `(host,
/// port)`, with Kafka's messages for what it refuses.
pub fn parse(value: &str) -> Result<(String, u16), String> {
    let entries: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    let creating = |why: String| format!("Error creating broker listeners from '{value}': {why}");
    let mut endpoints = Vec::with_capacity(entries.len());
    for entry in &entries {
        let (name, address) = entry
            .split_once("://")
            .ok_or_else(|| creating(format!("Unable to parse {entry} to a broker endpoint")))?;
        let (host, port) = address
            .rsplit_once(':')
            .ok_or_else(|| creating(format!("Unable to parse {entry} to a broker endpoint")))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let host_ok = host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-%._:".contains(c));
        let port: i64 = match port.parse() {
            Ok(p) if host_ok && !name.is_empty() => p,
            _ => {
                return Err(creating(format!(
                    "Unable to parse {entry} to a broker endpoint"
                )))
            }
        };
        let name = name.to_ascii_uppercase();
        if !KNOWN_LISTENER_NAMES.contains(&name.as_str()) {
            return Err(creating(format!(
                "No security protocol defined for listener {name}"
            )));
        }
        endpoints.push((name, host.to_string(), port));
    }
    let mut names: Vec<String> = endpoints.iter().map(|(n, _, _)| n.clone()).collect();
    names.sort_unstable();
    names.dedup();
    if names.len() != endpoints.len() {
        return Err(format!(
            "Each listener must have a different name, listeners: {value}"
        ));
    }
    let Some((name, host, port)) = endpoints.into_iter().next() else {
        return Err(format!(
            "{ADVERTISED_LISTENERS} must name this broker's listener: PLAINTEXT://HOST:PORT"
        ));
    };
    if names.len() > 1 || name != "PLAINTEXT" {
        return Err(format!(
            "requirement failed: {ADVERTISED_LISTENERS} listener names must be equal to or a subset of the ones defined in listeners. Found {}. The valid options based on the current configuration are PLAINTEXT",
            names.join(",")
        ));
    }
    if host == "0.0.0.0" {
        return Err(format!(
            "requirement failed: {ADVERTISED_LISTENERS} cannot use the nonroutable meta-address 0.0.0.0. Use a routable IP address."
        ));
    }
    if host.is_empty() {
        return Err(format!(
            "{ADVERTISED_LISTENERS} needs a host that clients can reach: {value} has none"
        ));
    }
    let port = u16::try_from(port)
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| {
            format!("{ADVERTISED_LISTENERS}: port {port} of {value} is not between 1 and 65535")
        })?;
    Ok((host, port))
}

/// `(host, port)` as `HOST:PORT` (an IPv6 host in brackets).
pub fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Where the address in force comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Set while running (this node's dynamic `advertised.listeners`).
    Dynamic,
    /// `--advertised-listener` (or `advertised.listeners` in the file).
    Option,
    /// Neither: the address the listener is bound to.
    Bound,
}

impl Origin {
    pub fn name(self) -> &'static str {
        match self {
            Origin::Dynamic => "dynamic",
            Origin::Option => "option",
            Origin::Bound => "bound",
        }
    }
}

impl BrokerState {
    /// The `(host, port)` clients are told to connect to, now.
    pub fn advertised(&self) -> (String, u16) {
        self.advertised
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .clone()
    }

    /// [`advertised`](Self::advertised) and where it comes from.
    pub fn advertised_with_origin(&self) -> ((String, u16), Origin) {
        self.advertised
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Sets the address in force from this node's dynamic config (after a
    /// change, and at start), else the start-up address.
    pub fn refresh_advertised(&self) {
        let next = advertised_from(
            self.metadata
                .broker_configs(&self.config.node_id.to_string())
                .get(ADVERTISED_LISTENERS)
                .map(String::as_str),
            &self.advertised_at_start,
        );
        let mut current = self.advertised.write().unwrap_or_else(|e| e.into_inner());
        if current.0 != next.0 {
            tracing::info!(
                advertised = %host_port(&next.0 .0, next.0 .1),
                from = next.1.name(),
                "advertised address changed"
            );
        }
        *current = next;
    }
}

/// The address in force: this node's dynamic value if it parses, else the
/// address at start.
pub fn advertised_from(
    dynamic: Option<&str>,
    at_start: &((String, u16), Origin),
) -> ((String, u16), Origin) {
    match dynamic.map(parse) {
        Some(Ok(address)) => (address, Origin::Dynamic),
        Some(Err(e)) => {
            tracing::warn!("ignoring the stored {ADVERTISED_LISTENERS}: {e}");
            at_start.clone()
        }
        None => at_start.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_plaintext_listener_is_taken() {
        assert_eq!(
            parse("PLAINTEXT://kafka.example:19092").unwrap(),
            ("kafka.example".to_string(), 19092)
        );
        assert_eq!(
            parse("plaintext://[::1]:9092").unwrap(),
            ("::1".to_string(), 9092)
        );
        assert_eq!(host_port("::1", 9092), "[::1]:9092");
    }

    #[test]
    fn kafkas_refusals_and_messages() {
        for (value, says) in [
            (
                "localhost:9092",
                "Unable to parse localhost:9092 to a broker endpoint",
            ),
            (
                "PLAINTEXT://host",
                "Unable to parse PLAINTEXT://host to a broker endpoint",
            ),
            ("PLAINTEXT://ho st:1", "to a broker endpoint"),
            (
                "EXTERNAL://h:1",
                "No security protocol defined for listener EXTERNAL",
            ),
            ("SSL://h:1", "listener names must be equal to or a subset"),
            (
                "PLAINTEXT://a:1,PLAINTEXT://b:2",
                "Each listener must have a different name",
            ),
            ("PLAINTEXT://a:1,SSL://b:2", "Found PLAINTEXT,SSL"),
            (
                "PLAINTEXT://0.0.0.0:9092",
                "nonroutable meta-address 0.0.0.0",
            ),
            ("PLAINTEXT://:9092", "has none"),
            ("PLAINTEXT://h:0", "not between 1 and 65535"),
            ("PLAINTEXT://h:70000", "not between 1 and 65535"),
            ("", "must name this broker's listener"),
        ] {
            let e = parse(value).unwrap_err();
            assert!(e.contains(says), "{value}: {e}");
        }
    }
}
