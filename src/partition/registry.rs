//! The registry: every open partition of every topic, by (topic, index).
//!
//! It is the only code in the broker that names partition directories
//! (`<data-dir>/<topic>-<partition>/`, Kafka's layout; see `dirs.rs`),
//! and the only code that opens, creates or deletes partitions. Topic
//! changes are all or nothing and survive a crash at any point, through the
//! intent of `creation.rs`. When a topic is opened its configs are parsed
//! once into a [`TopicConfig`] that its partitions share.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
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
    /// Held while a topic is created, grown or deleted: one such change at a
    /// time, so that limits are checked against settled counts and two
    /// creations never make the same directories.
    changes: Mutex<()>,
}

impl Partitions {
    pub fn new(data_dir: &Path, ephemeral: bool) -> Self {
        Partitions {
            data_dir: data_dir.to_path_buf(),
            ephemeral,
            map: DashMap::new(),
            flusher: Flusher::default(),
            stopping: AtomicBool::new(false),
            changes: Mutex::new(()),
        }
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

    /// [`Self::lock_changes`] for a new topic change: `None` once shutdown has
    /// begun. Shutdown takes the lock before it closes the logs, so a change
    /// either finishes before they are closed or never starts.
    pub fn begin_change(&self) -> Option<MutexGuard<'_, ()>> {
        let guard = self.lock_changes();
        (!self.shutting_down()).then_some(guard)
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
        self.get(&topic.name, index)
            .ok_or(PartitionError::UnknownTopicOrPartition)
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
        self.get(&topic.name, index)
            .ok_or(PartitionError::UnknownTopicOrPartition)?
            .delete_records(offset)
    }

    /// Every open partition.
    pub fn all(&self) -> Vec<Arc<Partition>> {
        self.map.iter().map(|p| Arc::clone(p.value())).collect()
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
