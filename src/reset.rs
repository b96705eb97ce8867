//! The CI conveniences: the topics of `--topics`, the ready file, and the
//! reset between tests.
//!
//! **`--topics`** are checked before the port is bound (Kafka's checks of
//! each name and config, [`check_topic_specs`]) and created at the end of
//! start-up, before the broker is ready ([`BrokerState::create_configured_topics`]).
//! One that exists already — a data directory from an earlier run — is left
//! as it is, with a WARN line if its partition count or configs differ from
//! the spec (Kafka's `--if-not-exists`; grow it with CreatePartitions).
//!
//! **The ready file** holds the bootstrap address and a newline. It is
//! written to `<path>.tmp` and renamed, so whoever sees it sees it whole.
//!
//! **A reset** ([`reset`]) returns the broker to how it started, for the
//! next test, while clients stay connected:
//! 1. every topic that is not internal is deleted with its data (and with it
//!    each partition's producer state: idempotence starts afresh there);
//! 2. every consumer group is deleted with its committed offsets, members
//!    and all (a consumer still running is told UNKNOWN_MEMBER_ID and joins
//!    a new, empty group: `Coordinator::remove_group`);
//! 3. the `--topics` topics are created again, empty.
//!
//! Kept: the internal topics, producer ids and transactional ids (an open
//! transaction is neither aborted nor forgotten: it ends by EndTxn or its
//! timeout as usual, and markers for partitions that are gone are skipped;
//! producer ids are never handed out twice, reset or not), dynamic broker
//! configs, client quotas, group configs and the advertised address — the
//! broker's setup rather than a test's data. Connections stay open; a
//! client that produces to a deleted topic meanwhile gets
//! UNKNOWN_TOPIC_OR_PARTITION (or auto-creates it, if allowed) and carries
//! on. One reset runs at a time.

use std::path::Path;

use crate::admin::{AdminError, NewTopic};
use crate::config::Config;
use crate::error::TopicError;
use crate::{group, metadata, txn, BrokerState, StartError};

/// How often a `--topics` topic is created again when a client's
/// auto-creation got there first during a reset.
const RECREATE_ATTEMPTS: usize = 3;

/// Kafka's checks of the `--topics` names and configs, made before the
/// broker binds its port (the checks that need the broker's defaults,
/// such as `min.compaction.lag.ms` against `max.compaction.lag.ms`, are made
/// when they are created).
pub(crate) fn check_topic_specs(config: &Config) -> Result<(), StartError> {
    for spec in &config.topics {
        let refuse = |message: String| StartError::TopicSpec {
            topic: spec.name.clone(),
            message,
        };
        metadata::validate_topic_name(&spec.name).map_err(|e| refuse(e.to_string()))?;
        if spec.name == group::OFFSETS_TOPIC || spec.name == txn::TXN_STATE_TOPIC {
            return Err(refuse(
                "is an internal topic; the broker creates it itself".into(),
            ));
        }
        for (key, value) in &spec.configs {
            metadata::validate_topic_config(key, value).map_err(|e| refuse(e.to_string()))?;
        }
    }
    Ok(())
}

/// The `--topics` topic as a topic to create.
fn new_topic(config: &Config, spec: &crate::config::TopicSpec) -> NewTopic {
    NewTopic {
        name: spec.name.clone(),
        partitions: spec.partitions.unwrap_or(config.default_partitions),
        configs: spec.configs.clone(),
    }
}

impl BrokerState {
    /// Creates each `--topics` topic that does not exist (blocking: it
    /// writes the metadata log); one that exists is left as it is. Returns
    /// the names created.
    pub fn create_configured_topics(&self) -> Result<Vec<String>, StartError> {
        let mut created = Vec::new();
        for spec in &self.config.topics {
            let topic = new_topic(&self.config, spec);
            if let Some(meta) = self.metadata.topic(&topic.name) {
                if meta.partitions != topic.partitions || meta.configs != topic.configs {
                    tracing::warn!(
                        topic = %topic.name,
                        partitions = meta.partitions,
                        wanted = topic.partitions,
                        configs = ?meta.configs,
                        wanted_configs = ?topic.configs,
                        "--topics: the topic exists already and differs from the spec; left as it is"
                    );
                }
                continue;
            }
            let name = topic.name.clone();
            self.create_topic(topic)
                .map_err(|e| StartError::TopicSpec {
                    topic: name.clone(),
                    message: e.to_string(),
                })?;
            created.push(name);
        }
        Ok(created)
    }

    /// Deletes every topic that is not internal (blocking); returns their
    /// names. A topic deleted meanwhile by someone else is not an error.
    fn delete_user_topics(&self) -> Result<Vec<String>, TopicError> {
        let mut deleted = Vec::new();
        for topic in self.metadata.topics() {
            if topic.internal {
                continue;
            }
            match self.delete_topic(&topic.name) {
                Ok(_) => deleted.push(topic.name.clone()),
                Err(TopicError::UnknownTopicOrPartition) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(deleted)
    }

    /// Creates the `--topics` topics again after a reset (blocking). A
    /// client that auto-created one meanwhile (with the default partition
    /// count) loses that one: it is deleted and created as the spec says.
    fn recreate_configured_topics(&self) -> Result<Vec<String>, TopicError> {
        let mut created = Vec::new();
        for spec in &self.config.topics {
            let mut attempt = 0;
            loop {
                attempt += 1;
                match self.create_topic(new_topic(&self.config, spec)) {
                    Ok(_) => {
                        created.push(spec.name.clone());
                        break;
                    }
                    Err(TopicError::AlreadyExists(_)) if attempt < RECREATE_ATTEMPTS => {
                        match self.delete_topic(&spec.name) {
                            Ok(_) | Err(TopicError::UnknownTopicOrPartition) => {}
                            Err(e) => return Err(e),
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(created)
    }
}

/// What a reset did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResetSummary {
    /// Topics deleted (the `--topics` ones among them), sorted.
    pub deleted_topics: Vec<String>,
    /// Consumer groups deleted with their offsets, sorted.
    pub deleted_groups: Vec<String>,
    /// `--topics` topics created again, in the spec's order.
    pub created_topics: Vec<String>,
}

/// Resets the broker (see the module's doc); returns once every step is
/// durable. Errors are Kafka's codes (a reset during start-up or shutdown
/// is retriable).
pub(crate) async fn reset(state: std::sync::Arc<BrokerState>) -> Result<ResetSummary, AdminError> {
    let _one_at_a_time = state.reset_lock.lock().await;
    let blocking = std::sync::Arc::clone(&state);
    let mut deleted_topics = tokio::task::spawn_blocking(move || blocking.delete_user_topics())
        .await
        .map_err(TopicError::Interrupted)??;
    deleted_topics.sort();
    let mut deleted_groups: Vec<String> = state
        .groups
        .collect(|c| c.list_groups(&[], &[]))
        .into_iter()
        .map(|g| g.group_id)
        .collect();
    deleted_groups.sort();
    deleted_groups.dedup();
    for group_id in &deleted_groups {
        match state.groups.remove_group(group_id).wait().await {
            Ok(None) => {}
            Ok(Some(e)) | Err(e) => return Err(e.into()),
        }
    }
    let blocking = std::sync::Arc::clone(&state);
    let created_topics = tokio::task::spawn_blocking(move || blocking.recreate_configured_topics())
        .await
        .map_err(TopicError::Interrupted)??;
    tracing::info!(
        topics = deleted_topics.len(),
        groups = deleted_groups.len(),
        created = created_topics.len(),
        "broker reset"
    );
    Ok(ResetSummary {
        deleted_topics,
        deleted_groups,
        created_topics,
    })
}

/// Writes `bootstrap` and a newline to `path`, by a rename of a temporary
/// file beside it (whoever sees the file sees it whole).
pub(crate) fn write_ready_file(path: &Path, bootstrap: &str) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, format!("{bootstrap}\n"))?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Removes the ready file (at start, one an earlier run left; at
/// shutdown). A file that is not there is fine; another failure is a
/// warning.
pub(crate) fn remove_ready_file(path: &Path) {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(path = %path.display(), "cannot remove the ready file: {e}"),
    }
}
