//! `sluice groups reset-offsets`, as `kafka-consumer-groups.sh
//! --reset-offsets`: computes each partition's new offset, prints it, and
//! commits it (OffsetCommit to the coordinator, as the group's admin, with
//! no member id and generation -1) only with `--execute`.
//!
//! Only an inactive group (Empty, or Dead: no such group yet) is reset; a
//! group with members is refused, as Kafka's tool refuses it (its members
//! would overwrite the offsets with their own commits). New offsets are
//! clamped to the partition's log start and end, as Kafka's tool does.

use std::collections::BTreeMap;

use clap::{ArgGroup, Args};
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::{GroupId, OffsetCommitRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use serde::Serialize;

use super::cluster::Cluster;
use super::error::CliError;
use super::groups::{
    committed_offsets, group_state, list_offsets, partitions_of, TopicPartition, EARLIEST, LATEST,
};
use super::output::{or_dash, print, print_json, Format, Table};

#[derive(Args)]
#[command(group(ArgGroup::new("scope").required(true).args(["topics", "all_topics"])))]
#[command(group(
    ArgGroup::new("target")
        .required(true)
        .args(["to_earliest", "to_latest", "to_offset", "shift_by", "to_datetime"])
))]
pub struct ResetArgs {
    /// The group
    #[arg(long)]
    group: String,
    /// A topic, or some of its partitions as TOPIC:0,2 (repeatable)
    #[arg(long = "topic", value_name = "TOPIC[:P,...]")]
    topics: Vec<String>,
    /// Every topic the group has committed offsets for
    #[arg(long)]
    all_topics: bool,
    /// To the log start offset
    #[arg(long)]
    to_earliest: bool,
    /// To the log end offset
    #[arg(long)]
    to_latest: bool,
    /// To this offset (clamped to the log start and end)
    #[arg(long, value_name = "OFFSET")]
    to_offset: Option<i64>,
    /// By N from the committed offset, back if negative (clamped)
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    shift_by: Option<i64>,
    /// To the first offset at or after a time: YYYY-MM-DDTHH:mm:SS[.sss][Z|+HH:MM] (no zone = UTC)
    #[arg(long, value_name = "DATETIME")]
    to_datetime: Option<String>,
    /// Only show the new offsets (the default)
    #[arg(long, conflicts_with = "execute")]
    dry_run: bool,
    /// Commit the new offsets
    #[arg(long)]
    execute: bool,
}

/// One partition's offsets before and after.
#[derive(Serialize)]
struct Reset {
    topic: String,
    partition: i32,
    previous_offset: Option<i64>,
    new_offset: i64,
}

#[derive(Serialize)]
struct Outcome {
    group: String,
    executed: bool,
    offsets: Vec<Reset>,
}

pub async fn run(cluster: &mut Cluster, format: Format, args: ResetArgs) -> Result<(), CliError> {
    let target_time = match &args.to_datetime {
        Some(text) => Some(parse_datetime(text)?),
        None => None,
    };
    let state = group_state(cluster, &args.group).await?;
    if !state.is_inactive() {
        return Err(CliError::Refused(format!(
            "cannot reset the offsets of group '{}': it is {} with {} member(s); offsets are reset \
             only while a group is inactive (Empty), so stop its consumers first",
            args.group,
            state.state,
            state.members.len()
        )));
    }
    let committed = committed_offsets(cluster, &args.group).await?;
    let partitions = if args.all_topics {
        committed.keys().cloned().collect()
    } else {
        chosen_partitions(cluster, &args.topics).await?
    };
    let earliest = list_offsets(cluster, &partitions, EARLIEST).await?;
    let latest = list_offsets(cluster, &partitions, LATEST).await?;
    let at_time = match target_time {
        Some(ms) => Some(list_offsets(cluster, &partitions, ms).await?),
        None => None,
    };
    let mut offsets = Vec::new();
    for tp in &partitions {
        let start = earliest.get(tp).copied().flatten().unwrap_or(0);
        let end = latest.get(tp).copied().flatten().unwrap_or(start);
        let previous = committed.get(tp).copied();
        let new_offset = if args.to_earliest {
            start
        } else if args.to_latest {
            end
        } else if let Some(o) = args.to_offset {
            o.clamp(start, end)
        } else if let Some(n) = args.shift_by {
            let current = previous.ok_or_else(|| {
                CliError::Refused(format!(
                    "cannot shift {}-{}: group '{}' has no committed offset for it",
                    tp.0, tp.1, args.group
                ))
            })?;
            current.saturating_add(n).clamp(start, end)
        } else {
            at_time
                .as_ref()
                .and_then(|m| m.get(tp).copied().flatten())
                .unwrap_or(end)
        };
        offsets.push(Reset {
            topic: tp.0.clone(),
            partition: tp.1,
            previous_offset: previous,
            new_offset,
        });
    }
    if args.execute {
        commit(cluster, &args.group, &offsets).await?;
    }
    let outcome = Outcome {
        group: args.group,
        executed: args.execute,
        offsets,
    };
    match format {
        Format::Json => print_json(&outcome),
        Format::Table => {
            let mut table = Table::new(&[
                "GROUP",
                "TOPIC",
                "PARTITION",
                "PREVIOUS-OFFSET",
                "NEW-OFFSET",
            ]);
            for r in &outcome.offsets {
                table.row(vec![
                    outcome.group.clone(),
                    r.topic.clone(),
                    r.partition.to_string(),
                    or_dash(r.previous_offset),
                    r.new_offset.to_string(),
                ]);
            }
            print(&table.render());
        }
    }
    if !outcome.executed {
        eprintln!("Dry run: no offset was changed. Add --execute to commit these offsets.");
    }
    Ok(())
}

/// `--topic T` (every partition) and `--topic T:0,2`, checked against
/// Metadata.
async fn chosen_partitions(
    cluster: &mut Cluster,
    args: &[String],
) -> Result<Vec<TopicPartition>, CliError> {
    let mut chosen: BTreeMap<String, Option<Vec<i32>>> = BTreeMap::new();
    for arg in args {
        let (topic, list) = match arg.split_once(':') {
            Some((t, l)) => (t, Some(l)),
            None => (arg.as_str(), None),
        };
        let partitions = match list {
            None => None,
            Some(l) => Some(
                l.split(',')
                    .map(|p| p.trim().parse::<i32>())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| {
                        CliError::Refused(format!("--topic {arg}: expected TOPIC or TOPIC:P,P,..."))
                    })?,
            ),
        };
        chosen.insert(topic.to_string(), partitions);
    }
    let topics: Vec<String> = chosen.keys().cloned().collect();
    let existing = partitions_of(cluster, &topics).await?;
    let mut partitions = Vec::new();
    for (topic, wanted) in chosen {
        match wanted {
            None => partitions.extend(existing.iter().filter(|(t, _)| *t == topic).cloned()),
            Some(ps) => {
                for p in ps {
                    let tp = (topic.clone(), p);
                    if !existing.contains(&tp) {
                        return Err(CliError::Kafka {
                            code: 3,
                            message: None,
                            context: format!("partition {topic}-{p}"),
                        });
                    }
                    partitions.push(tp);
                }
            }
        }
    }
    partitions.sort();
    partitions.dedup();
    Ok(partitions)
}

/// Commits `offsets` for `group` as its admin (no member, generation -1).
async fn commit(cluster: &mut Cluster, group: &str, offsets: &[Reset]) -> Result<(), CliError> {
    let mut topics: BTreeMap<&str, Vec<OffsetCommitRequestPartition>> = BTreeMap::new();
    for r in offsets {
        let mut p = OffsetCommitRequestPartition::default();
        p.partition_index = r.partition;
        p.committed_offset = r.new_offset;
        p.committed_leader_epoch = -1;
        p.committed_metadata = Some(StrBytes::from_static_str(""));
        topics.entry(&r.topic).or_default().push(p);
    }
    let mut request = OffsetCommitRequest::default();
    request.group_id = GroupId(StrBytes::from_string(group.to_string()));
    request.generation_id_or_member_epoch = -1;
    request.member_id = StrBytes::from_static_str("");
    request.retention_time_ms = -1;
    request.topics = topics
        .into_iter()
        .map(|(name, partitions)| {
            let mut t = OffsetCommitRequestTopic::default();
            t.name = TopicName(StrBytes::from_string(name.to_string()));
            t.partitions = partitions;
            t
        })
        .collect();
    let deadline = cluster.deadline();
    loop {
        let attempt = async {
            let coordinator = cluster.coordinator(group).await?;
            let (response, _) = cluster.send_to(coordinator, &request, 2).await?;
            for t in &response.topics {
                for p in &t.partitions {
                    CliError::check(
                        p.error_code,
                        None,
                        format!(
                            "offset of {}-{} in group '{group}'",
                            t.name.0.as_str(),
                            p.partition_index
                        ),
                    )?;
                }
            }
            Ok::<(), CliError>(())
        };
        match attempt.await {
            Err(e) if Cluster::backoff(&e, deadline).await => continue,
            other => return other,
        }
    }
}

/// `YYYY-MM-DDTHH:mm:SS[.sss][Z|±HH:MM|±HHMM]` as milliseconds since the
/// epoch; no zone means UTC.
pub fn parse_datetime(text: &str) -> Result<i64, CliError> {
    let bad = || {
        CliError::Refused(format!(
            "--to-datetime {text}: expected YYYY-MM-DDTHH:mm:SS[.sss][Z|+HH:MM], e.g. 2026-01-31T08:00:00.000Z"
        ))
    };
    let (date, time) = text.split_once('T').ok_or_else(bad)?;
    let date: Vec<&str> = date.split('-').collect();
    let [y, mo, d] = date.as_slice() else {
        return Err(bad());
    };
    let num = |s: &str, len: usize| -> Result<i64, CliError> {
        if s.len() != len || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse::<i64>().map_err(|_| bad())
    };
    let (year, month, day) = (num(y, 4)?, num(mo, 2)?, num(d, 2)?);
    // The zone: Z, or a sign after the seconds.
    let (clock, offset_minutes) = if let Some(c) = time.strip_suffix('Z') {
        (c, 0)
    } else if let Some(i) = time.rfind(['+', '-']) {
        let (c, zone) = time.split_at(i);
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let digits: String = zone[1..].chars().filter(|c| *c != ':').collect();
        // Digits first: slicing a non-ASCII character would panic.
        if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        (
            c,
            sign * (num(&digits[..2], 2)? * 60 + num(&digits[2..], 2)?),
        )
    } else {
        (time, 0)
    };
    let (hms, millis) = match clock.split_once('.') {
        Some((hms, ms)) if !ms.is_empty() && ms.len() <= 3 => {
            let digits = ms.len() as u32;
            (hms, num(ms, ms.len())? * 10i64.pow(3 - digits))
        }
        Some(_) => return Err(bad()),
        None => (clock, 0),
    };
    let hms: Vec<&str> = hms.split(':').collect();
    let [h, mi, s] = hms.as_slice() else {
        return Err(bad());
    };
    let (hour, minute, second) = (num(h, 2)?, num(mi, 2)?, num(s, 2)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return Err(bad());
    }
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_minutes * 60;
    Ok(seconds * 1_000 + millis)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// well-known civil-from-days inverse).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_zone_with_non_ascii_characters_is_refused_not_a_panic() {
        assert!(parse_datetime("2026-01-01T00:00:00+é:0").is_err());
        assert!(parse_datetime("2026-01-01T00:00:00-0\u{e9}").is_err());
    }

    #[test]
    fn datetimes_parse_to_epoch_milliseconds() {
        assert_eq!(parse_datetime("1970-01-01T00:00:00.000").unwrap(), 0);
        assert_eq!(parse_datetime("1970-01-01T00:00:01Z").unwrap(), 1_000);
        assert_eq!(
            parse_datetime("2024-02-29T12:30:00.5Z").unwrap(),
            1_709_209_800_500
        );
        assert_eq!(
            parse_datetime("2024-02-29T13:30:00.500+01:00").unwrap(),
            1_709_209_800_500
        );
        assert_eq!(
            parse_datetime("2024-02-29T07:30:00.500-0500").unwrap(),
            1_709_209_800_500
        );
        for bad in [
            "2024-02-29",
            "2024-13-01T00:00:00",
            "2024-02-29T25:00:00",
            "x",
            "2024-02-29T12:30:00.1234",
        ] {
            assert!(parse_datetime(bad).is_err(), "{bad}");
        }
    }
}
