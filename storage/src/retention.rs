//! Retention (`cleanup.policy=delete`): which whole segments to delete, decided here
//! from segment sizes and timestamps only; `Log::apply_retention` carries it out.
//!
//! Rules, as Kafka applies them, each deleting a run of segments from the oldest and
//! stopping at the first segment it would keep:
//!
//! 1. **Log start**: a segment whose successor starts at or below the log start offset
//!    holds nothing readable (DeleteRecords moved the start past it).
//! 2. **Time** (`retention.ms`): a segment whose largest timestamp is older than
//!    `now - retention.ms`. The active segment too, if it is non-empty, expired and
//!    every older segment goes as well: then a new empty active segment is rolled at
//!    the log end first, so the log stays appendable and its end does not move.
//! 3. **Size** (`retention.bytes`): the oldest segment while the log would still hold
//!    at least `retention.bytes` without it. Never the active segment.
//!
//! A negative `retention.ms` means "forever", as in Kafka. A segment is never split:
//! data is deleted a whole segment at a time, so a log may keep up to a segment more
//! than the limits say.

/// What retention needs to know about a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SegmentInfo {
    pub(crate) base_offset: i64,
    pub(crate) size: u64,
    /// Largest batch max_timestamp; `None` when the segment holds no batch.
    pub(crate) max_timestamp: Option<i64>,
}

/// The retention settings of one pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    pub(crate) now_ms: i64,
    pub(crate) retention_ms: Option<i64>,
    pub(crate) retention_bytes: Option<u64>,
}

/// Which segments to delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Plan {
    /// How many of the oldest sealed segments go.
    pub(crate) sealed: usize,
    /// Whether the active segment goes too (after rolling a new one); then every
    /// sealed segment goes as well.
    pub(crate) active: bool,
}

/// Applies the rules of the module doc to `sealed` (oldest first) and `active`.
pub(crate) fn plan(
    sealed: &[SegmentInfo],
    active: &SegmentInfo,
    log_start_offset: i64,
    limits: Limits,
) -> Plan {
    let next_base = |i: usize| sealed.get(i + 1).unwrap_or(active).base_offset;
    let mut doomed = 0;
    while doomed < sealed.len() && next_base(doomed) <= log_start_offset {
        doomed += 1;
    }

    let mut active_doomed = false;
    if let Some(retention_ms) = limits.retention_ms.filter(|ms| *ms >= 0) {
        let cutoff = limits.now_ms.saturating_sub(retention_ms);
        // A sealed segment without batches has nothing to keep.
        let expired = |s: &SegmentInfo| s.max_timestamp.is_none_or(|ts| ts < cutoff);
        while sealed.get(doomed).is_some_and(expired) {
            doomed += 1;
        }
        active_doomed = doomed == sealed.len()
            && active.size > 0
            && active.max_timestamp.is_some_and(|ts| ts < cutoff);
    }

    if let Some(retention_bytes) = limits.retention_bytes.filter(|_| !active_doomed) {
        let kept = sealed.get(doomed..).unwrap_or_default();
        let mut total: u64 = kept.iter().map(|s| s.size).sum::<u64>() + active.size;
        for segment in kept {
            if total - segment.size < retention_bytes {
                break;
            }
            total -= segment.size;
            doomed += 1;
        }
    }
    Plan {
        sealed: if active_doomed { sealed.len() } else { doomed },
        active: active_doomed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Segments of 100 bytes, based 10 offsets apart, with these max timestamps; the
    /// last one is the active segment.
    fn log(timestamps: &[Option<i64>]) -> (Vec<SegmentInfo>, SegmentInfo) {
        let mut all: Vec<_> = timestamps
            .iter()
            .enumerate()
            .map(|(i, ts)| SegmentInfo {
                base_offset: 10 * i as i64,
                size: if ts.is_some() { 100 } else { 0 },
                max_timestamp: *ts,
            })
            .collect();
        let active = all.pop().unwrap();
        (all, active)
    }

    fn limits(retention_ms: Option<i64>, retention_bytes: Option<u64>) -> Limits {
        Limits {
            now_ms: 1_000,
            retention_ms,
            retention_bytes,
        }
    }

    #[test]
    fn time_deletes_the_expired_prefix_only() {
        let (sealed, active) = log(&[Some(100), Some(850), Some(300), Some(950)]);
        // Cutoff now - retention = 900: the three sealed segments, not the active one.
        let p = plan(&sealed, &active, 0, limits(Some(100), None));
        assert_eq!(
            p,
            Plan {
                sealed: 3,
                active: false
            }
        );
        // Cutoff 200: the first segment only; the third is older but after a kept one.
        let p = plan(&sealed, &active, 0, limits(Some(800), None));
        assert_eq!(
            p,
            Plan {
                sealed: 1,
                active: false
            }
        );
        for forever in [None, Some(-1)] {
            assert_eq!(
                plan(&sealed, &active, 0, limits(forever, None)),
                Plan::default()
            );
        }
    }

    #[test]
    fn an_expired_active_segment_goes_only_when_non_empty() {
        let (sealed, active) = log(&[Some(100), Some(200)]);
        let p = plan(&sealed, &active, 0, limits(Some(100), None));
        assert_eq!(
            p,
            Plan {
                sealed: 1,
                active: true
            }
        );
        let (sealed, active) = log(&[Some(100), None]);
        let p = plan(&sealed, &active, 0, limits(Some(100), None));
        assert_eq!(
            p,
            Plan {
                sealed: 1,
                active: false
            }
        );
    }

    #[test]
    fn size_keeps_at_least_retention_bytes() {
        let (sealed, active) = log(&[Some(1), Some(2), Some(3), Some(4), Some(5)]);
        // 500 bytes in all.
        let bytes = |b| plan(&sealed, &active, 0, limits(None, Some(b))).sealed;
        assert_eq!(bytes(500), 0);
        assert_eq!(bytes(401), 0);
        assert_eq!(bytes(400), 1);
        assert_eq!(bytes(250), 2);
        assert_eq!(bytes(0), 4, "never the active segment");
    }

    #[test]
    fn segments_below_the_log_start_go() {
        let (sealed, active) = log(&[Some(1), Some(2), Some(3), Some(4)]);
        assert_eq!(plan(&sealed, &active, 19, limits(None, None)).sealed, 1);
        assert_eq!(plan(&sealed, &active, 20, limits(None, None)).sealed, 2);
        assert_eq!(plan(&sealed, &active, 35, limits(None, None)).sealed, 3);
    }

    #[test]
    fn rules_combine() {
        let (sealed, active) = log(&[Some(100), Some(900), Some(950), Some(990), Some(999)]);
        // Start rule takes 1, time (cutoff 500) none more, size 250 takes 2 more.
        let p = plan(&sealed, &active, 10, limits(Some(500), Some(250)));
        assert_eq!(
            p,
            Plan {
                sealed: 2,
                active: false
            }
        );
    }
}
