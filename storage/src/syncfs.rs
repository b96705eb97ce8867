//! Many flushes, one filesystem commit: [`sync_many`] makes the data of
//! several [`FlushTicket`]s durable with one `syncfs(2)` per filesystem
//! instead of one `fdatasync` per file. A produce request that touches a
//! thousand partitions costs one journal commit instead of a thousand.
//!
//! Error reporting: since Linux 5.8 `syncfs` returns the writeback errors
//! of the filesystem that happened since the file it is called on last
//! looked (an error sequence per superblock, sampled per open file). An
//! error therefore fails every ticket of that filesystem — the caller
//! poisons all of those logs, which is conservative, never optimistic. On
//! older kernels `syncfs` reports nothing, so [`sync_many`] falls back to
//! one `fdatasync` per ticket there.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::OnceLock;

use crate::durable::{power_loss, sync_filesystem};
use crate::log::FlushTicket;

/// Whether this kernel's `syncfs` reports writeback errors (5.8 and later).
fn syncfs_reports_errors() -> bool {
    static REPORTS: OnceLock<bool> = OnceLock::new();
    *REPORTS.get_or_init(|| {
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        let mut parts = release
            .trim()
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|p| p.parse::<u32>().ok());
        let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        (major, minor) >= (5, 8)
    })
}

/// One `syncfs` for each filesystem holding one of `paths`, after which
/// everything written there so far is durable, file data and directory
/// entries alike. `Ok(false)` where `syncfs` hides writeback errors: then
/// nothing was done, and the caller fsyncs what it wrote itself.
pub(crate) fn sync_filesystems_of(paths: &[&Path]) -> io::Result<bool> {
    if !syncfs_reports_errors() || paths.iter().any(|p| power_loss::syncfs_disabled(p)) {
        return Ok(false);
    }
    let mut done = BTreeSet::new();
    for path in paths {
        if done.insert(std::fs::metadata(path)?.dev()) {
            sync_filesystem(&std::fs::File::open(path)?)?;
        }
    }
    Ok(true)
}

/// Makes every ticket's data durable: one `syncfs` per filesystem, or one
/// `fdatasync` per ticket on kernels whose `syncfs` hides errors. Returns
/// one outcome per ticket, in order (all tickets of a filesystem share its
/// outcome).
pub fn sync_many(tickets: &[&FlushTicket]) -> Vec<io::Result<()>> {
    if !syncfs_reports_errors()
        || tickets.len() < 2
        || tickets
            .iter()
            .filter_map(|t| t.file())
            .any(power_loss::syncfs_disabled_for_file)
    {
        return tickets.iter().map(|t| t.sync()).collect();
    }
    // Filesystem (device) → the tickets on it.
    let mut by_device: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    let mut outcome: Vec<Option<io::Result<()>>> = tickets.iter().map(|_| None).collect();
    for (i, t) in tickets.iter().enumerate() {
        match t.file() {
            None => outcome[i] = Some(Ok(())), // in memory
            Some(f) => match f.metadata() {
                Ok(m) => by_device.entry(m.dev()).or_default().push(i),
                Err(e) => outcome[i] = Some(Err(e)),
            },
        }
    }
    for indexes in by_device.values() {
        let Some(file) = indexes.first().and_then(|&i| tickets[i].file()) else {
            continue;
        };
        let result = sync_filesystem(file);
        for &i in indexes {
            outcome[i] = Some(match &result {
                Ok(()) => Ok(()),
                Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
            });
        }
    }
    outcome
        .into_iter()
        .map(|o| o.unwrap_or_else(|| Err(io::Error::other("ticket not synced"))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::test_batch::batch;
    use crate::log::{BatchMeta, Log, LogConfig};

    fn append(log: &mut Log, offset: i64) {
        let b = batch(offset, 1, 0, 100);
        let h = crate::batch::BatchHeader::parse(&b).unwrap();
        let meta = BatchMeta {
            base_offset: h.base_offset,
            last_offset: h.last_offset,
            max_timestamp: h.max_timestamp,
        };
        log.append(&b, meta).unwrap();
    }

    #[test]
    fn one_commit_covers_every_ticket() {
        let dir = tempfile::tempdir().unwrap();
        let mut logs: Vec<Log> = (0..5)
            .map(|i| Log::open(&dir.path().join(format!("t-{i}")), LogConfig::default()).unwrap())
            .collect();
        let mut memory = Log::open_in_memory(LogConfig::default());
        for (i, log) in logs.iter_mut().enumerate() {
            for o in 0..=i as i64 {
                append(log, o);
            }
        }
        append(&mut memory, 0);
        let mut tickets: Vec<FlushTicket> =
            logs.iter_mut().map(|l| l.begin_flush().unwrap()).collect();
        tickets.push(memory.begin_flush().unwrap());
        let refs: Vec<&FlushTicket> = tickets.iter().collect();
        let outcomes = sync_many(&refs);
        assert_eq!(outcomes.len(), 6);
        assert!(outcomes.iter().all(|o| o.is_ok()));
        for (i, (log, (ticket, outcome))) in logs
            .iter_mut()
            .zip(tickets.iter().zip(outcomes))
            .enumerate()
        {
            assert_eq!(ticket.end(), i as i64 + 1);
            log.finish_flush(ticket, outcome).unwrap();
        }
    }
}
