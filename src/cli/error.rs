//! What can go wrong in an admin command, said the way Kafka says it.
//!
//! A broker's refusal carries Kafka's error name and the broker's message
//! (`TOPIC_ALREADY_EXISTS: Topic 'x' already exists.`); when the broker sent
//! no message, what was asked for stands in (`UNKNOWN_TOPIC_OR_PARTITION:
//! topic 'x'`). Every error ends the command with exit status 1; a malformed
//! command line is clap's, status 2.

use std::fmt;

/// A failed admin command.
#[derive(Debug)]
pub enum CliError {
    /// No connection to `addr` (refused, unreachable, timed out).
    Connect { addr: String, message: String },
    /// The connection to `addr` broke, or `addr` sent something unreadable.
    Broker { addr: String, message: String },
    /// A broker answered with a Kafka error code.
    Kafka {
        code: i16,
        message: Option<String>,
        context: String,
    },
    /// The broker does not serve a version of an API this command needs.
    Unsupported { addr: String, api: &'static str },
    /// The command cannot be done as asked (not a Kafka error code).
    Refused(String),
}

impl CliError {
    /// The error `code` a broker answered, unless it is 0 (no error).
    pub fn check(
        code: i16,
        message: Option<&str>,
        context: impl Into<String>,
    ) -> Result<(), CliError> {
        if code == 0 {
            return Ok(());
        }
        Err(CliError::Kafka {
            code,
            message: message.filter(|m| !m.is_empty()).map(str::to_string),
            context: context.into(),
        })
    }

    /// The Kafka error code, if a broker answered with one.
    pub fn code(&self) -> Option<i16> {
        match self {
            CliError::Kafka { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// Whether the error passes by itself soon, so the request is worth
    /// sending again: a coordinator loading or moving, a leader being
    /// elected, a broker still starting. (Not every error Kafka calls
    /// retriable: an unknown topic stays unknown for an admin command.)
    pub fn is_transient(&self) -> bool {
        matches!(self.code(), Some(5 | 6 | 14 | 15 | 16 | 41))
    }
}

pub use sluice::admin::error_name;

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Connect { addr, message } => write!(f, "cannot connect to {addr}: {message}"),
            CliError::Broker { addr, message } => write!(f, "broker {addr}: {message}"),
            CliError::Kafka {
                code,
                message: Some(message),
                ..
            } => write!(f, "{}: {message}", error_name(*code)),
            CliError::Kafka {
                code,
                message: None,
                context,
            } => write!(f, "{}: {context}", error_name(*code)),
            CliError::Unsupported { addr, api } => write!(
                f,
                "broker {addr} serves no version of {api} that this command speaks"
            ),
            CliError::Refused(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for CliError {}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn names_are_kafkas() {
        assert_eq!(error_name(36), "TOPIC_ALREADY_EXISTS");
        assert_eq!(error_name(3), "UNKNOWN_TOPIC_OR_PARTITION");
        assert_eq!(error_name(69), "GROUP_ID_NOT_FOUND");
    }

    #[test]
    fn without_a_message_what_was_asked_for_stands_in() {
        let e = CliError::check(3, None, "topic 'x'").unwrap_err();
        assert_eq!(e.to_string(), "UNKNOWN_TOPIC_OR_PARTITION: topic 'x'");
        let e = CliError::check(36, Some("Topic 'x' already exists."), "topic 'x'").unwrap_err();
        assert_eq!(
            e.to_string(),
            "TOPIC_ALREADY_EXISTS: Topic 'x' already exists."
        );
    }
}
