//! A fault rule: which requests it matches, what it does to them, and when
//! it fires. The same type is the Rust handle's and the JSON of
//! `/v1/faults` (field names in `docs/fault-injection.md`).
//!
//! After librdkafka's mock cluster (push request errors per API, RTT,
//! request tracking) and franz-go kfake's `ControlKey` (intercept one API;
//! the control is used up after one request unless kept).

use std::time::Duration;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::ApiKey;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::inspect::{self, RequestFacts};

/// Longest string a rule may match on (topic, group id, ...): Kafka's own
/// names are at most 249 bytes, client ids a few hundred.
pub const MAX_NAME_LEN: usize = 1024;

/// What a rule does to a request it fires on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Answer with this Kafka error code instead of handling the request:
    /// a real response of the request's API and version, with the error
    /// in every place the request names (per partition for Produce, Fetch
    /// and ListOffsets; at the top level for JoinGroup and the like).
    /// JSON: `{"type": "error", "error": "NOT_LEADER_OR_FOLLOWER"}` (a
    /// name or a number).
    Error {
        #[serde(serialize_with = "error_name", deserialize_with = "error_code")]
        error: i16,
    },
    /// Close the connection without handling the request (nor the ones
    /// pipelined behind it).
    Close,
    /// Handle the request (a produce is written), then close the connection
    /// instead of answering.
    CloseAfter,
    /// Wait `ms` (± up to `jitter_ms`, drawn per request) before handling
    /// the request; the connection reads nothing meanwhile, as a slow
    /// broker would.
    Delay {
        ms: u64,
        #[serde(default)]
        jitter_ms: u64,
    },
    /// Never answer the request (it is not handled either): the client's
    /// request timeout is what ends it.
    Drop,
}

impl Action {
    /// `Action::Error` with Kafka's error `code`.
    pub fn error(code: i16) -> Action {
        Action::Error { error: code }
    }

    /// `Action::Delay` of `delay`, no jitter.
    pub fn delay(delay: Duration) -> Action {
        Action::Delay {
            ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            jitter_ms: 0,
        }
    }
}

/// Which requests a rule matches, what it does, and when it fires.
///
/// Every filter that is set must match (and a request that does not hold
/// the field, say a topic in a Heartbeat, does not match a rule that asks
/// for one). Triggers: the rule fires on matching requests while it has
/// `count` left (1 unless `keep` or `count` says otherwise), each with
/// `probability`, on every `every`-th, inside its time window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The API, by Kafka's name (`"Produce"`, `"JoinGroup"`) or key number.
    #[serde(serialize_with = "api_name", deserialize_with = "api_key")]
    pub api: ApiKey,
    /// Lowest request version matched (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_version: Option<i16>,
    /// Highest request version matched (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_version: Option<i16>,
    /// The request names this topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// The request names this partition (of `topic`, if given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<i32>,
    /// The request is for this consumer group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// The request is for this transactional id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transactional_id: Option<String>,
    /// The request header's client id is this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    pub action: Action,
    /// Fire this many times, then stop (default 1, kfake's one shot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Fire until deleted (no `count`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep: bool,
    /// Fire on a matching request with this probability (0 to 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Fire on every n-th matching request only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<u64>,
    /// Fire only from this long after the rule was added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_ms: Option<u64>,
    /// Fire only for this long (from `after_ms`, or from when added).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_ms: Option<u64>,
    /// Fire only from this time on (ms since the Unix epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_unix_ms: Option<i64>,
    /// Fire only before this time (ms since the Unix epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_unix_ms: Option<i64>,
}

impl Rule {
    /// A rule firing `action` once on the next request of `api`.
    pub fn new(api: ApiKey, action: Action) -> Rule {
        Rule {
            api,
            min_version: None,
            max_version: None,
            topic: None,
            partition: None,
            group_id: None,
            transactional_id: None,
            client_id: None,
            action,
            count: None,
            keep: false,
            probability: None,
            every: None,
            after_ms: None,
            for_ms: None,
            from_unix_ms: None,
            until_unix_ms: None,
        }
    }

    /// Fire on the next `n` matching requests.
    pub fn count(mut self, n: u64) -> Rule {
        self.count = Some(n);
        self.keep = false;
        self
    }

    /// Fire until deleted.
    pub fn keep(mut self) -> Rule {
        self.keep = true;
        self.count = None;
        self
    }

    /// Match versions `min..=max` only.
    pub fn versions(mut self, min: i16, max: i16) -> Rule {
        self.min_version = Some(min);
        self.max_version = Some(max);
        self
    }

    /// Match requests naming `topic`.
    pub fn topic(mut self, topic: impl Into<String>) -> Rule {
        self.topic = Some(topic.into());
        self
    }

    /// Match requests naming `partition`.
    pub fn partition(mut self, partition: i32) -> Rule {
        self.partition = Some(partition);
        self
    }

    /// Match requests of consumer group `group`.
    pub fn group_id(mut self, group: impl Into<String>) -> Rule {
        self.group_id = Some(group.into());
        self
    }

    /// Match requests of transactional id `id`.
    pub fn transactional_id(mut self, id: impl Into<String>) -> Rule {
        self.transactional_id = Some(id.into());
        self
    }

    /// Match requests whose header names client id `id`.
    pub fn client_id(mut self, id: impl Into<String>) -> Rule {
        self.client_id = Some(id.into());
        self
    }

    /// Fire with probability `p` (0 to 1) on each matching request.
    pub fn probability(mut self, p: f64) -> Rule {
        self.probability = Some(p);
        self
    }

    /// Fire on every `n`-th matching request.
    pub fn every(mut self, n: u64) -> Rule {
        self.every = Some(n);
        self
    }

    /// Fire only for `window` from now (when added).
    pub fn for_duration(mut self, window: Duration) -> Rule {
        self.for_ms = Some(u64::try_from(window.as_millis()).unwrap_or(u64::MAX));
        self
    }

    /// Fire only from `delay` after it is added.
    pub fn after(mut self, delay: Duration) -> Rule {
        self.after_ms = Some(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX));
        self
    }

    /// How many times it may fire (None: until deleted).
    pub(super) fn limit(&self) -> Option<u64> {
        if self.keep {
            None
        } else {
            Some(self.count.unwrap_or(1))
        }
    }

    /// Whether the rule needs the decoded request to match (a filter on
    /// what the body holds).
    pub(super) fn needs_body(&self) -> bool {
        self.topic.is_some()
            || self.partition.is_some()
            || self.group_id.is_some()
            || self.transactional_id.is_some()
    }

    /// Checks everything a user can get wrong, with a message saying what.
    pub fn validate(&self) -> Result<(), String> {
        if let (Some(min), Some(max)) = (self.min_version, self.max_version) {
            if min > max {
                return Err(format!("min_version {min} is above max_version {max}"));
            }
        }
        for v in [self.min_version, self.max_version].into_iter().flatten() {
            if v < 0 {
                return Err(format!("version {v} is negative"));
            }
        }
        for (field, value) in [
            ("topic", &self.topic),
            ("group_id", &self.group_id),
            ("transactional_id", &self.transactional_id),
            ("client_id", &self.client_id),
        ] {
            if value.as_ref().is_some_and(|v| v.len() > MAX_NAME_LEN) {
                return Err(format!("{field} is longer than {MAX_NAME_LEN} bytes"));
            }
        }
        if self.partition.is_some_and(|p| p < 0) {
            return Err("partition must not be negative".into());
        }
        if self.keep && self.count.is_some() {
            return Err("give count or keep, not both".into());
        }
        if self.count == Some(0) {
            return Err("count must be at least 1 (keep: true fires until deleted)".into());
        }
        if self.every == Some(0) {
            return Err("every must be at least 1".into());
        }
        if let Some(p) = self.probability {
            if !(0.0..=1.0).contains(&p) || p.is_nan() {
                return Err(format!("probability {p} is not between 0 and 1"));
            }
        }
        match self.action {
            Action::Error { error } => {
                if !known_error(error) {
                    return Err(format!("{error} is not a Kafka error code"));
                }
                if error == 0 {
                    return Err("error 0 is NONE: an error rule needs an error".into());
                }
                if !inspect::answers_errors(self.api) {
                    return Err(format!(
                        "error answers are not available for {:?}; they are for {}",
                        self.api,
                        inspect::ERROR_APIS
                            .iter()
                            .map(|k| format!("{k:?}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
            Action::Delay { ms, jitter_ms } => {
                if ms.saturating_add(jitter_ms) > MAX_DELAY_MS {
                    return Err(format!(
                        "a delay (with its jitter) may be at most {MAX_DELAY_MS} ms"
                    ));
                }
            }
            Action::Close | Action::CloseAfter | Action::Drop => {}
        }
        Ok(())
    }

    /// Whether the header fields match (api key checked by the caller).
    pub(super) fn matches_header(&self, version: i16, client_id: Option<&str>) -> bool {
        self.min_version.is_none_or(|min| version >= min)
            && self.max_version.is_none_or(|max| version <= max)
            && self
                .client_id
                .as_deref()
                .is_none_or(|want| client_id == Some(want))
    }

    /// Whether what the body holds matches.
    pub(super) fn matches_body(&self, facts: &RequestFacts) -> bool {
        let topic_ok = match (&self.topic, self.partition) {
            (None, None) => true,
            (Some(t), None) => facts.topics.iter().any(|(name, _)| name == t),
            (None, Some(p)) => facts.topics.iter().any(|(_, ps)| ps.contains(&p)),
            (Some(t), Some(p)) => facts
                .topics
                .iter()
                .any(|(name, ps)| name == t && ps.contains(&p)),
        };
        topic_ok
            && self
                .group_id
                .as_deref()
                .is_none_or(|g| facts.groups.iter().any(|x| x == g))
            && self
                .transactional_id
                .as_deref()
                .is_none_or(|t| facts.transactional_id.as_deref() == Some(t))
    }
}

/// The longest delay a rule may hold a request (10 minutes).
pub const MAX_DELAY_MS: u64 = 600_000;

fn known_error(code: i16) -> bool {
    !matches!(
        ResponseError::try_from_code(code),
        Some(ResponseError::Unknown(_))
    )
}

pub use crate::admin::error_name as error_code_name;

/// The code of an error named as Kafka does (`NOT_LEADER_OR_FOLLOWER`,
/// case-insensitive), or a number.
pub fn parse_error_code(text: &str) -> Option<i16> {
    if let Ok(n) = text.trim().parse::<i16>() {
        return known_error(n).then_some(n);
    }
    let want = text.trim().to_ascii_uppercase();
    (-1..=200)
        .filter(|&c| c != 0 && known_error(c))
        .find(|&c| error_code_name(c) == want)
}

/// An API key by Kafka's name (`Produce`, case-insensitive) or number.
pub fn parse_api(text: &str) -> Option<ApiKey> {
    if let Ok(n) = text.trim().parse::<i16>() {
        return ApiKey::try_from(n).ok();
    }
    let want = text.trim().to_ascii_lowercase();
    // Kafka's keys are below 100 (kafka-protocol knows every one).
    (0..1000_i16)
        .filter_map(|n| ApiKey::try_from(n).ok())
        .find(|k| format!("{k:?}").to_ascii_lowercase() == want)
}

fn api_name<S: Serializer>(key: &ApiKey, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{key:?}"))
}

/// A name or a number, as JSON allows either.
#[derive(Deserialize)]
#[serde(untagged)]
enum NameOrNumber {
    Number(i64),
    Name(String),
}

fn api_key<'de, D: Deserializer<'de>>(d: D) -> Result<ApiKey, D::Error> {
    let text = match NameOrNumber::deserialize(d)? {
        NameOrNumber::Number(n) => n.to_string(),
        NameOrNumber::Name(s) => s,
    };
    parse_api(&text).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "unknown API {text:?}: give Kafka's name of an API Sluice serves (Produce, Fetch, JoinGroup, ...) or its key number"
        ))
    })
}

fn error_name<S: Serializer>(code: &i16, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&error_code_name(*code))
}

fn error_code<'de, D: Deserializer<'de>>(d: D) -> Result<i16, D::Error> {
    let text = match NameOrNumber::deserialize(d)? {
        NameOrNumber::Number(n) => n.to_string(),
        NameOrNumber::Name(s) => s,
    };
    parse_error_code(&text).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "unknown error {text:?}: give Kafka's error name (NOT_LEADER_OR_FOLLOWER) or code (6)"
        ))
    })
}
