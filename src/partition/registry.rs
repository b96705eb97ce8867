//! The registry: every open partition of every topic, by (topic, index).
//!
//! It is the only code in the broker that names partition directories
//! (`<data-dir>/<topic>-<partition>/`, Kafka's layout; see `dirs.rs`),
//! and the only code that opens, creates or deletes partitions. Topic
//! changes are all or nothing and survive a crash at any point, through the
//! intent of `creation.rs`. When a topic is opened its configs are parsed
//! once into a [`TopicConfig`] that its partitions share.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use dashmap::DashMap;
use sluice_storage::{make_new_logs_durable, NewLog, StorageError};

use super::creation::{self, Intent, Owned};
use super::dirs::partition_dir;
use super::{validator, Flusher, Partition, LEADER_EPOCH};
use crate::error::{PartitionError, TopicError};
use crate::metadata::{BrokerDefaults, TopicConfig, TopicMeta};

/// All partitions of all topics.
pub struct Partitions {
    data_dir: PathBuf,
    /// Logs in memory only (`--ephemeral`).
    ephemeral: bool,
    map: DashMap<(String, i32), Arc<Partition>>,
    /// The broker's one flusher (see `flusher.rs`), which every partition
    /// holds a handle of.
    pub flusher: Flusher,
    /// Set when the broker begins to shut down: long polls answer at once.
    stopping: AtomicBool,
    /// Whether clients are served: false while the broker loads at start
    /// (see [`Partitions::new_loading`]).
    serving: AtomicBool,
    /// What opening partitions found, since this registry was made.
    pub opened: OpenStats,
    /// Held while a topic is created, grown or deleted: one such change at a
    /// time, so that limits are checked against settled counts and two
    /// creations never make the same directories.
    changes: Mutex<()>,
}

/// Counts over the partitions a registry opened (start-up's progress lines).
#[derive(Debug, Default)]
pub struct OpenStats {
    /// Partitions opened, new ones included.
    pub partitions: AtomicUsize,
    /// Existing logs that had no clean-shutdown marker and were recovered
    /// (a log created now is never counted here).
    pub recovered: AtomicUsize,
    /// Bytes of the existing logs opened (what recovery went through).
    pub bytes: AtomicU64,
}

impl Partitions {
    /// A registry that serves clients at once (tests, tools).
    #[cfg(test)]
    pub fn new(data_dir: &Path, ephemeral: bool) -> Self {
        let partitions = Self::new_loading(data_dir, ephemeral);
        partitions.finish_loading();
        partitions
    }

    /// A registry for a broker that serves while it loads: until
    /// [`Self::finish_loading`], clients' lookups of a partition (produce,
    /// fetch, list offsets, delete records) are NOT_LEADER_OR_FOLLOWER and
    /// topic changes are refused with [`TopicError::Loading`]; the broker's
    /// own code ([`Self::get`]) sees partitions as they open.
    pub fn new_loading(data_dir: &Path, ephemeral: bool) -> Self {
        Partitions {
            data_dir: data_dir.to_path_buf(),
            ephemeral,
            map: DashMap::new(),
            flusher: Flusher::default(),
            stopping: AtomicBool::new(false),
            serving: AtomicBool::new(false),
            opened: OpenStats::default(),
            changes: Mutex::new(()),
        }
    }

    /// Start-up is over: clients are served every partition.
    pub fn finish_loading(&self) {
        self.serving.store(true, Ordering::Release);
    }

    /// Whether clients are served (start-up finished loading).
    pub fn serving(&self) -> bool {
        self.serving.load(Ordering::Acquire)
    }

    /// The partition a client asks for: NOT_LEADER_OR_FOLLOWER while the
    /// broker still loads (the caller checked that a topic owns it).
    pub fn served(&self, topic: &str, index: i32) -> Result<Arc<Partition>, PartitionError> {
        if !self.serving() {
            return Err(PartitionError::NotLeaderOrFollower);
        }
        self.get(topic, index)
            .ok_or(PartitionError::UnknownTopicOrPartition)
    }

    /// Broker shutdown begins: every parked long-poll fetch is woken and
    /// answered with what there is now, and new ones do not wait.
    pub fn stop_long_polls(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        for partition in self.all() {
            partition.wake_fetchers();
        }
    }

    /// Whether long polls must answer at once (shutdown has begun). A fetch
    /// checks this after registering its waiter, so it cannot miss the wake.
    pub fn shutting_down(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Serializes topic creation, growth and deletion (see `changes`).
    pub fn lock_changes(&self) -> MutexGuard<'_, ()> {
        self.changes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// [`Self::lock_changes`] for a new topic change: refused once shutdown
    /// has begun, and while the broker still loads. Shutdown takes the lock
    /// before it closes the logs, so a change either finishes before they
    /// are closed or never starts.
    pub fn begin_change(&self) -> Result<MutexGuard<'_, ()>, TopicError> {
        let guard = self.lock_changes();
        if self.shutting_down() {
            return Err(TopicError::ShuttingDown);
        }
        if !self.serving() {
            return Err(TopicError::Loading);
        }
        Ok(guard)
    }

    /// At start, before any partition is opened: rolls back a topic change a
    /// crash interrupted, then sets aside partition directories no topic
    /// owns (see `creation.rs`). Failures are warnings: what is left is
    /// never opened.
    pub fn settle_dirs(&self, owned: Owned<'_>) {
        if self.ephemeral {
            return;
        }
        if let Err(e) = creation::roll_back_leftover(&self.data_dir, owned) {
            tracing::warn!(error = %e, "cannot roll back an interrupted topic creation; retried at the next one");
        }
        if let Err(e) = creation::set_aside_unknown(&self.data_dir, owned) {
            tracing::warn!(dir = %self.data_dir.display(), error = %e,
                "cannot set aside partition directories no topic owns");
        }
    }

    /// Closes every log cleanly (broker shutdown).
    pub fn close_all(&self) {
        for partition in self.all() {
            partition.close();
        }
        self.map.clear();
    }

    pub fn get(&self, topic: &str, index: i32) -> Option<Arc<Partition>> {
        self.map
            .get(&(topic.to_string(), index))
            .map(|p| Arc::clone(p.value()))
    }

    /// The partition a client reads at `current_leader_epoch` (-1: any):
    /// a newer epoch than this broker's is UNKNOWN_LEADER_EPOCH (the client
    /// knows of a leader this broker has not heard of yet; it retries).
    pub fn leader(
        &self,
        topic: &TopicMeta,
        index: i32,
        current_leader_epoch: i32,
    ) -> Result<Arc<Partition>, PartitionError> {
        if current_leader_epoch > LEADER_EPOCH {
            return Err(PartitionError::UnknownLeaderEpoch {
                requested: current_leader_epoch,
                current: LEADER_EPOCH,
            });
        }
        self.served(&topic.name, index)
    }

    /// DeleteRecords for partition `index` of `topic` (see
    /// [`Partition::delete_records`]); internal topics are the broker's own.
    pub fn delete_records(
        &self,
        topic: &TopicMeta,
        index: i32,
        offset: i64,
    ) -> Result<i64, PartitionError> {
        validator::check_writable(topic)?;
        self.served(&topic.name, index)?.delete_records(offset)
    }

    /// Every open partition.
    pub fn all(&self) -> Vec<Arc<Partition>> {
        self.map.iter().map(|p| Arc::clone(p.value())).collect()
    }

    /// Gives every open partition of `topic` its configs resolved anew
    /// (the topic's or the broker's configs changed). The whole
    /// [`TopicConfig`] is replaced, so every field follows.
    pub fn refresh_config(&self, topic: &TopicMeta, defaults: &BrokerDefaults) {
        let config = Arc::new(TopicConfig::resolve(topic, defaults));
        for index in 0..topic.partitions {
            if let Some(partition) = self.get(&topic.name, index) {
                partition.set_config(Arc::clone(&config));
            }
        }
    }

    /// Opens (creating when new) every partition of `topic`.
    pub fn open_topic(
        &self,
        topic: &TopicMeta,
        defaults: &BrokerDefaults,
    ) -> Result<(), StorageError> {
        self.open_partitions(topic, 0, defaults)
    }

    /// Creates partitions `from..topic.partitions` of a topic being created
    /// (`from` = 0) or grown, all or nothing; `commit` records the change in
    /// the metadata log. The caller holds [`Self::lock_changes`] and has
    /// checked that no topic owns those partitions. In order:
    ///
    /// 1. a creation intent a failed rollback left is rolled back;
    /// 2. directories in the way (no topic owns them) are set aside as
    ///    `<dir>.orphaned`, never deleted;
    /// 3. the creation intent naming the new directories is made durable;
    /// 4. the partitions are opened (created) and made durable together;
    /// 5. `commit` writes the metadata record: the topic now exists;
    /// 6. the partitions are served and the intent is removed.
    ///
    /// A failure before 5 removes what 4 made and returns the error; a crash
    /// before 5 leaves an intent that the next start rolls back the same
    /// way. `owned` tells which partitions a known topic owns (never removed).
    pub fn create<T>(
        &self,
        topic: &TopicMeta,
        from: i32,
        defaults: &BrokerDefaults,
        owned: Owned<'_>,
        commit: impl FnOnce() -> Result<T, TopicError>,
    ) -> Result<T, TopicError> {
        let range = from..topic.partitions;
        if self.ephemeral {
            let (opened, _) = self.open_unserved(topic, range, defaults)?;
            let committed = commit()?;
            self.serve(topic, opened);
            return Ok(committed);
        }
        creation::roll_back_leftover(&self.data_dir, owned).map_err(StorageError::from)?;
        creation::set_aside_in_the_way(&self.data_dir, &topic.name, range.clone())
            .map_err(StorageError::from)?;
        let intent = Intent::begin(&self.data_dir, &topic.name, range.clone())
            .map_err(StorageError::from)?;
        let opened = self
            .open_unserved(topic, range, defaults)
            .and_then(|(opened, created)| {
                make_new_logs_durable(&created)?;
                Ok(opened)
            });
        let opened = match opened {
            Ok(opened) => opened,
            Err(e) => {
                tracing::error!(topic = %topic.name, from, to = topic.partitions, error = %e,
                    "cannot create partitions; removing what was made");
                intent.roll_back(owned);
                return Err(e.into());
            }
        };
        match commit() {
            Ok(committed) => {
                self.serve(topic, opened);
                intent.finish();
                Ok(committed)
            }
            Err(e) => {
                tracing::error!(topic = %topic.name, error = %e,
                    "cannot record the new partitions; removing them");
                drop(opened);
                // Should the record have reached the disk after all, the
                // next start finds the topic and creates its partitions anew.
                intent.roll_back(owned);
                Err(e)
            }
        }
    }

    /// Opens partitions `range` of `topic` without serving them, with the
    /// logs created among them (see `sluice_storage::make_new_logs_durable`).
    fn open_unserved(
        &self,
        topic: &TopicMeta,
        range: std::ops::Range<i32>,
        defaults: &BrokerDefaults,
    ) -> Result<(Vec<Partition>, Vec<NewLog>), StorageError> {
        // Parsed once here, shared by every partition of the topic.
        let config = Arc::new(TopicConfig::resolve(topic, defaults));
        let mut opened = Vec::new();
        let mut created = Vec::new();
        for index in range {
            let dir = partition_dir(&self.data_dir, &topic.name, index);
            let dir = (!self.ephemeral).then_some(dir.as_path());
            let (partition, new_log) = Partition::open(
                &topic.name,
                index,
                dir,
                Arc::clone(&config),
                self.flusher.clone(),
            )?;
            self.opened.partitions.fetch_add(1, Ordering::Relaxed);
            if new_log.is_none() && dir.is_some() {
                let log = partition.lock_log();
                self.opened
                    .bytes
                    .fetch_add(log.size_bytes(), Ordering::Relaxed);
                if !log.recovery_report().clean {
                    self.opened.recovered.fetch_add(1, Ordering::Relaxed);
                }
            }
            opened.push(partition);
            created.extend(new_log);
        }
        Ok((opened, created))
    }

    fn serve(&self, topic: &TopicMeta, opened: Vec<Partition>) {
        for partition in opened {
            self.map
                .insert((topic.name.clone(), partition.index), Arc::new(partition));
        }
    }

    /// Opens partitions `from..topic.partitions` and serves them once the
    /// logs created among them are durable, all with a few filesystem
    /// commits (see `sluice_storage::make_new_logs_durable`).
    fn open_partitions(
        &self,
        topic: &TopicMeta,
        from: i32,
        defaults: &BrokerDefaults,
    ) -> Result<(), StorageError> {
        let (opened, created) = self.open_unserved(topic, from..topic.partitions, defaults)?;
        make_new_logs_durable(&created)?;
        self.serve(topic, opened);
        Ok(())
    }

    /// Deletes `topic`: `commit` records the deletion in the metadata log,
    /// then its partitions and files go. The caller holds
    /// [`Self::lock_changes`]. An intent naming the topic's directories (the
    /// same file as a creation's) is made durable first, so that a crash
    /// after the record, or a removal that failed, is finished at the next
    /// start (or creation) rather than leaving directories that look orphaned.
    pub fn delete<T>(
        &self,
        topic: &TopicMeta,
        owned: Owned<'_>,
        commit: impl FnOnce() -> Result<T, TopicError>,
    ) -> Result<T, TopicError> {
        if self.ephemeral {
            let committed = commit()?;
            self.delete_topic(topic)?;
            return Ok(committed);
        }
        creation::roll_back_leftover(&self.data_dir, owned).map_err(StorageError::from)?;
        let intent = Intent::begin(&self.data_dir, &topic.name, 0..topic.partitions)
            .map_err(StorageError::from)?;
        // If the record failed, the intent stays: it removes nothing while
        // the topic is known, and finishes the deletion if the record made
        // it to disk after all.
        let committed = commit()?;
        match self.delete_topic(topic) {
            Ok(()) => {
                intent.finish();
                Ok(committed)
            }
            Err(e) => {
                tracing::error!(topic = %topic.name, error = %e,
                    "cannot remove the files of a deleted topic; retrying now and at the next start");
                intent.roll_back(owned);
                Err(e.into())
            }
        }
    }

    /// Removes every partition of `topic` and its files.
    pub fn delete_topic(&self, topic: &TopicMeta) -> Result<(), StorageError> {
        for index in 0..topic.partitions {
            if let Some((_, partition)) = self.map.remove(&(topic.name.clone(), index)) {
                partition.wake_fetchers();
                match Arc::try_unwrap(partition) {
                    Ok(p) => p.delete_files()?,
                    Err(_) if self.ephemeral => {}
                    Err(shared) => {
                        // A request still holds it; remove the files by path.
                        let dir = partition_dir(&self.data_dir, &shared.topic, index);
                        std::fs::remove_dir_all(&dir)?;
                    }
                }
            } else if !self.ephemeral {
                // Never opened (e.g. half-created before a crash): remove leftovers.
                let dir = partition_dir(&self.data_dir, &topic.name, index);
                if dir.exists() {
                    std::fs::remove_dir_all(&dir)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loading_registry_serves_clients_nothing_until_it_finishes() {
        let dir = tempfile::tempdir().unwrap();
        let partitions = Partitions::new_loading(dir.path(), false);
        let meta = TopicMeta {
            name: "t".into(),
            id: uuid::Uuid::new_v4(),
            partitions: 1,
            configs: Default::default(),
            internal: false,
        };
        partitions
            .open_topic(&meta, &BrokerDefaults::new(&[]))
            .unwrap();
        // The broker's own code sees it; clients do not, yet.
        assert!(partitions.get("t", 0).is_some());
        assert!(matches!(
            partitions.leader(&meta, 0, -1),
            Err(PartitionError::NotLeaderOrFollower)
        ));
        assert!(matches!(
            partitions.begin_change(),
            Err(TopicError::Loading)
        ));
        // A log created now is opened, not recovered.
        assert_eq!(partitions.opened.partitions.load(Ordering::Relaxed), 1);
        assert_eq!(partitions.opened.recovered.load(Ordering::Relaxed), 0);
        partitions.finish_loading();
        assert!(partitions.leader(&meta, 0, -1).is_ok());
        assert!(matches!(
            partitions.leader(&meta, 1, -1),
            Err(PartitionError::UnknownTopicOrPartition)
        ));
        assert!(partitions.begin_change().is_ok());
    }
}
