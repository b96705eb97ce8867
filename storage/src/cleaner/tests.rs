use std::collections::{BTreeMap, HashSet};

use sluice_protocol::records::builder::BatchBuilder;
use sluice_protocol::records::{self, marker_batch, parse_header, ControlType};

use super::*;
use crate::LogConfig;

fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 600,
        ..LogConfig::default()
    }
}

fn append(log: &mut Log, mut batch: Vec<u8>) -> i64 {
    let base = log.log_end_offset();
    records::set_base_offset(&mut batch, base).unwrap();
    let h = parse_header(&batch).unwrap();
    log.append(
        &batch,
        BatchMeta {
            base_offset: base,
            last_offset: h.last_offset(),
            max_timestamp: h.max_timestamp,
        },
    )
    .unwrap();
    base
}

fn keyed(pairs: &[(String, Option<String>)]) -> Vec<u8> {
    let mut b = BatchBuilder::new();
    for (k, v) in pairs {
        b = b.record(
            1_000,
            Some(k.as_bytes()),
            v.as_deref().map(str::as_bytes),
            &[],
        );
    }
    b.build()
}

/// Every record readable from the log start: (offset, key, value).
fn contents(log: &Log) -> Vec<(i64, String, Option<String>)> {
    let mut out = Vec::new();
    let mut next = log.log_start_offset();
    while next < log.log_end_offset() {
        let bytes = log.read(next, 1 << 20).unwrap();
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            let h = parse_header(rest).unwrap();
            let batch = &rest[..h.total_len()];
            if !h.is_control() {
                for r in filter::read_records(batch, &h).unwrap() {
                    let key = String::from_utf8(r.key.clone().unwrap()).unwrap();
                    let value = r.value.map(|v| String::from_utf8(v).unwrap());
                    out.push((r.offset, key, value));
                }
            }
            next = h.last_offset() + 1;
            rest = &rest[h.total_len()..];
        }
    }
    out
}

fn request(now_ms: i64) -> CleanRequest {
    CleanRequest {
        now_ms,
        delete_retention_ms: 1_000,
        min_compaction_lag_ms: 0,
        first_unstable_offset: i64::MAX,
        segment_bytes: 2_000,
        aborted: Vec::new(),
        producer_last_offsets: HashSet::new(),
    }
}

/// 10 keys x 10 versions, one batch per version round; then one more batch so the
/// versions are all in sealed segments. Returns the latest (offset, value) per key.
fn fill(log: &mut Log) -> BTreeMap<String, (i64, Option<String>)> {
    let mut latest = BTreeMap::new();
    for version in 0..10 {
        let pairs: Vec<_> = (0..10)
            .map(|k| (format!("key-{k}"), Some(format!("v{version}-{k}"))))
            .collect();
        let base = append(log, keyed(&pairs));
        for (i, (k, v)) in pairs.into_iter().enumerate() {
            latest.insert(k, (base + i as i64, v));
        }
    }
    latest
}

fn roll_away(log: &mut Log) {
    // A batch big enough to go into a segment of its own: everything before is sealed.
    let big = vec![("filler".to_string(), Some("x".repeat(2_100)))];
    append(log, keyed(&big));
}

fn latest_in(c: &[(i64, String, Option<String>)]) -> BTreeMap<String, (i64, Option<String>)> {
    c.iter()
        .filter(|(_, k, _)| k != "filler")
        .map(|(o, k, v)| (k.clone(), (*o, v.clone())))
        .collect()
}

#[test]
fn keeps_only_the_latest_record_of_each_key_at_its_offset() {
    for in_memory in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let mut log = if in_memory {
            Log::open_in_memory(config())
        } else {
            Log::open(dir.path(), config()).unwrap()
        };
        let latest = fill(&mut log);
        roll_away(&mut log);
        let segments_before = log.segment_count();
        assert!(segments_before > 3);
        let end = log.log_end_offset();
        let outcome = log
            .clean(request(0), &CleanerConfig::default())
            .unwrap()
            .unwrap();
        assert_eq!(outcome.records_removed, 90);
        assert!(
            outcome.bytes_after < outcome.bytes_before / 3,
            "{outcome:?}"
        );
        let c = contents(&log);
        assert_eq!(c.len(), 11, "10 keys and the filler: {c:?}");
        assert_eq!(latest_in(&c), latest);
        assert_eq!(log.log_end_offset(), end);
        assert!(log.segment_count() < segments_before);
        // Nothing more to do until new data comes.
        assert!(log
            .clean(request(0), &CleanerConfig::default())
            .unwrap()
            .is_none());
        if !in_memory {
            drop(log);
            let log = Log::open(dir.path(), config()).unwrap();
            assert_eq!(latest_in(&contents(&log)), latest, "the same after a crash");
            assert_eq!(log.first_dirty_offset(), Some(outcome.cleaned_up_to));
        }
    }
}

#[test]
fn leading_segments_left_empty_are_deleted_and_the_log_start_rises() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), config()).unwrap();
    // Old versions fill the first segments; all keys are rewritten later.
    fill(&mut log);
    let latest = fill(&mut log);
    roll_away(&mut log);
    let outcome = log
        .clean(request(0), &CleanerConfig::default())
        .unwrap()
        .unwrap();
    assert!(outcome.segments_deleted > 0, "{outcome:?}");
    assert!(log.log_start_offset() > 0);
    assert_eq!(latest_in(&contents(&log)), latest);
}

#[test]
fn tombstones_stay_for_delete_retention_then_go() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), config()).unwrap();
    let mut latest = fill(&mut log);
    let pairs = vec![("key-3".to_string(), None), ("key-7".to_string(), None)];
    let base = append(&mut log, keyed(&pairs));
    roll_away(&mut log);
    log.clean(request(10_000), &CleanerConfig::default())
        .unwrap()
        .unwrap();
    latest.insert("key-3".into(), (base, None));
    latest.insert("key-7".into(), (base + 1, None));
    assert_eq!(
        latest_in(&contents(&log)),
        latest,
        "tombstones kept at first"
    );
    // Nothing dirty: no pass before the horizon (10_000 + 1_000), one after it.
    assert!(log
        .clean(request(10_500), &CleanerConfig::default())
        .unwrap()
        .is_none());
    append(&mut log, keyed(&[("key-1".into(), Some("newer".into()))]));
    roll_away(&mut log);
    log.clean(request(10_600), &CleanerConfig::default())
        .unwrap()
        .unwrap();
    assert!(latest_in(&contents(&log)).contains_key("key-3"));
    let outcome = log
        .clean(request(11_001), &CleanerConfig::default())
        .unwrap()
        .unwrap();
    assert_eq!(outcome.tombstones_removed, 2);
    assert!(log
        .clean(request(20_000), &CleanerConfig::default())
        .unwrap()
        .is_none());
    let now = latest_in(&contents(&log));
    assert!(!now.contains_key("key-3") && !now.contains_key("key-7"));
    assert_eq!(now["key-1"].1.as_deref(), Some("newer"));
    assert_eq!(now.len(), 8);
}

#[test]
fn aborted_transactions_go_and_their_markers_after_the_horizon() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), config()).unwrap();
    let txn = |pid: i64, k: &str, v: &str| {
        BatchBuilder::new()
            .producer(pid, 0, 0)
            .transactional(true)
            .record(1_000, Some(k.as_bytes()), Some(v.as_bytes()), &[])
            .build()
    };
    let committed = append(&mut log, txn(1, "a", "committed"));
    let aborted = append(&mut log, txn(2, "b", "aborted"));
    append(&mut log, marker_batch(1, 0, ControlType::Commit, 0, 1_000));
    let abort_marker = append(&mut log, marker_batch(2, 0, ControlType::Abort, 0, 1_000));
    roll_away(&mut log);
    let mut req = request(5_000);
    req.aborted = vec![AbortedRange {
        producer_id: 2,
        first_offset: aborted,
        last_offset: abort_marker,
    }];
    let outcome = log
        .clean(req.clone(), &CleanerConfig::default())
        .unwrap()
        .unwrap();
    assert_eq!(outcome.aborted_batches_removed, 1);
    let c = contents(&log);
    assert_eq!(c[0], (committed, "a".into(), Some("committed".into())));
    assert!(c.iter().all(|(_, k, _)| k != "b"));
    let markers = |log: &Log| {
        let mut count = 0;
        let mut next = log.log_start_offset();
        while next < log.log_end_offset() {
            let bytes = log.read(next, 1 << 20).unwrap();
            let mut rest = &bytes[..];
            while !rest.is_empty() {
                let h = parse_header(rest).unwrap();
                count += usize::from(h.is_control());
                next = h.last_offset() + 1;
                rest = &rest[h.total_len()..];
            }
        }
        count
    };
    assert_eq!(
        markers(&log),
        2,
        "both markers stay in the pass that removed data"
    );
    // Later passes: the abort marker's data is gone, so it gets a horizon, then goes;
    // the commit marker stays while its record does.
    for now in [6_000, 20_000] {
        append(&mut log, keyed(&[("c".into(), Some(now.to_string()))]));
        roll_away(&mut log);
        req.now_ms = now;
        log.clean(req.clone(), &CleanerConfig::default())
            .unwrap()
            .unwrap();
    }
    assert_eq!(markers(&log), 1);
    assert!(contents(&log).iter().any(|(_, k, _)| k == "a"));
}

#[test]
fn a_producers_last_batch_stays_as_an_empty_batch() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), config()).unwrap();
    let batch = BatchBuilder::new()
        .producer(7, 3, 41)
        .record(1_000, Some(b"k"), Some(b"old"), &[])
        .build();
    let producer_batch = append(&mut log, batch);
    append(&mut log, keyed(&[("k".into(), Some("new".into()))]));
    roll_away(&mut log);
    let mut req = request(0);
    req.producer_last_offsets = HashSet::from([producer_batch]);
    log.clean(req, &CleanerConfig::default()).unwrap().unwrap();
    let bytes = log.read(log.log_start_offset(), 1 << 20).unwrap();
    let first = parse_header(&bytes).unwrap();
    assert_eq!(
        (
            first.base_offset,
            first.producer_id,
            first.producer_epoch,
            first.base_sequence,
            first.records_count
        ),
        (producer_batch, 7, 3, 41, 0)
    );
    assert_eq!(latest_in(&contents(&log))["k"].1.as_deref(), Some("new"));
}

#[test]
fn a_full_offset_map_cleans_up_to_where_it_got() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), config()).unwrap();
    let mut latest = BTreeMap::new();
    for round in 0..3 {
        for k in 0..8 {
            let (key, value) = (format!("key-{k}"), Some(format!("{round}")));
            let offset = append(&mut log, keyed(&[(key.clone(), value.clone())]));
            latest.insert(key, (offset, value));
        }
    }
    roll_away(&mut log);
    // Room for 5 keys: each pass maps 5 keys and cleans up to there.
    let small = CleanerConfig {
        dedupe_buffer_bytes: 6 * offset_map::BYTES_PER_ENTRY,
        ..CleanerConfig::default()
    };
    let mut passes = 0;
    let mut reached = Vec::new();
    while let Some(outcome) = log.clean(request(0), &small).unwrap() {
        reached.push(outcome.cleaned_up_to);
        passes += 1;
        assert!(passes < 20);
    }
    assert!(passes >= 4, "{reached:?}");
    assert_eq!(latest_in(&contents(&log)), latest);
    let too_small = CleanerConfig {
        dedupe_buffer_bytes: 4 * offset_map::BYTES_PER_ENTRY,
        ..CleanerConfig::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), config()).unwrap();
    let five: Vec<_> = (0..5)
        .map(|k| (format!("new-{k}"), Some("x".to_string())))
        .collect();
    append(&mut log, keyed(&five));
    roll_away(&mut log);
    assert!(
        log.clean(request(0), &too_small).is_err(),
        "fewer keys than one batch"
    );
    assert!(!log.is_poisoned());
}

#[test]
fn a_crash_at_any_step_of_a_swap_loses_nothing() {
    for step in 1..=4 {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::open(dir.path(), config()).unwrap();
        let latest = fill(&mut log);
        roll_away(&mut log);
        let end = log.log_end_offset();
        crash::AT.with(|c| c.set(Some(step)));
        let result = log.clean(request(0), &CleanerConfig::default());
        crash::AT.with(|c| c.set(None));
        assert!(result.is_err(), "step {step}");
        drop(log); // the crash: nothing closed
        let mut log = Log::open(dir.path(), config()).unwrap();
        assert_eq!(latest_in(&contents(&log)), latest, "step {step}");
        assert_eq!(log.log_end_offset(), end);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".cleaned") || n.ends_with(".swap"))
            .collect();
        assert!(leftovers.is_empty(), "step {step}: {leftovers:?}");
        // And a pass afterwards finishes the job.
        log.clean(request(0), &CleanerConfig::default()).unwrap();
        assert_eq!(contents(&log).len(), 11, "step {step}");
    }
}

#[test]
fn compressed_batches_are_filtered_and_recompressed_with_their_codec() {
    use sluice_protocol::records::Compression;
    for codec in [
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::open(dir.path(), config()).unwrap();
        let mut latest = BTreeMap::new();
        for version in 0..10 {
            let pairs: Vec<_> = (0..10)
                .map(|k| (format!("key-{k}"), Some(format!("v{version}-{k}"))))
                .collect();
            let plain = keyed(&pairs);
            let area = plain[records::batch::BATCH_HEADER_LEN..].to_vec();
            let batch = records::with_codec(&plain, &area, codec, None).unwrap();
            let base = append(&mut log, batch);
            for (i, (k, v)) in pairs.into_iter().enumerate() {
                // Every other batch loses all but one record below, so both kinds
                // (rewritten, kept) are checked.
                latest.insert(k, (base + i as i64, v));
            }
        }
        // The last version of half the keys again, alone.
        for k in 0..5 {
            let pairs = vec![(format!("key-{k}"), Some(format!("final-{k}")))];
            let plain = keyed(&pairs);
            let area = plain[records::batch::BATCH_HEADER_LEN..].to_vec();
            let base = append(
                &mut log,
                records::with_codec(&plain, &area, codec, None).unwrap(),
            );
            latest.insert(pairs[0].0.clone(), (base, pairs[0].1.clone()));
        }
        roll_away(&mut log);
        log.clean(request(0), &CleanerConfig::default())
            .unwrap()
            .unwrap();
        assert_eq!(latest_in(&contents(&log)), latest, "{codec:?}");
        let bytes = log.read(log.log_start_offset(), 1 << 20).unwrap();
        let mut rest = &bytes[..];
        let mut with_records = 0;
        while !rest.is_empty() {
            let h = parse_header(rest).unwrap();
            if h.records_count > 0 {
                assert_eq!(h.compression(), codec, "recompressed with its codec");
                with_records += 1;
            }
            rest = &rest[h.total_len()..];
        }
        assert!(
            with_records > 0,
            "{codec:?} start {} end {} segs {} bytes {}",
            log.log_start_offset(),
            log.log_end_offset(),
            log.segment_count(),
            bytes.len()
        );
    }
}
