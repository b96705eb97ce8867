//! DescribeTopicPartitions (key 75), v0 (KIP-966): Metadata's topic view,
//! paged.
//!
//! An empty topic list means every topic (unknown names then never show);
//! otherwise the topics named, an unknown one with UNKNOWN_TOPIC_OR_PARTITION
//! (INVALID_TOPIC_EXCEPTION for an invalid name). Topics are answered in name
//! order from the cursor's topic on, starting at the cursor's partition in
//! that topic, until `response_partition_limit` partitions (at least 1, at
//! most Kafka's `max.request.partition.size.limit` default of 2000) are
//! given; `next_cursor` then names the first partition left out. A cursor
//! whose topic is not in a non-empty topic list, or with a negative
//! partition, is INVALID_REQUEST for every topic asked for (Kafka's
//! whole-request error). Partitions as Metadata gives them: this node the
//! leader (-1 while the broker loads), the only replica and the ISR, no
//! eligible leader replicas and none offline. Topic authorized operations
//! are every topic operation, as Kafka reports without an authorizer.

use std::collections::BTreeSet;

use kafka_protocol::messages::describe_topic_partitions_response::{
    Cursor, DescribeTopicPartitionsResponsePartition, DescribeTopicPartitionsResponseTopic,
};
use kafka_protocol::messages::{
    BrokerId, DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use super::metadata::TOPIC_OPERATIONS;
use super::{HandlerOutput, RequestContext};
use crate::error::{ClusterError, ErrorCode, TopicError};
use crate::metadata::validate_topic_name;
use crate::partition::LEADER_EPOCH;

pub const VERSIONS: (i16, i16) = (0, 0);

/// Kafka's `max.request.partition.size.limit` default: the most partitions
/// one response carries, whatever the request asks.
const MAX_PARTITIONS_PER_RESPONSE: i32 = 2000;

pub async fn handle(
    ctx: RequestContext,
    req: DescribeTopicPartitionsRequest,
) -> HandlerOutput<DescribeTopicPartitionsResponse> {
    let state = &ctx.state;
    let fetch_all = req.topics.is_empty();
    let cursor = req
        .cursor
        .as_ref()
        .map(|c| (c.topic_name.as_str().to_string(), c.partition_index));
    let cursor_topic = cursor.as_ref().map_or("", |(t, _)| t.as_str());
    let names: BTreeSet<String> = if fetch_all {
        state
            .metadata
            .topics()
            .into_iter()
            .map(|t| t.name.clone())
            .filter(|n| n.as_str() >= cursor_topic)
            .collect()
    } else {
        req.topics
            .iter()
            .map(|t| t.name.as_str().to_string())
            .filter(|n| n.as_str() >= cursor_topic)
            .collect()
    };
    if let Err(e) = check_cursor(fetch_all, cursor.as_ref(), &names) {
        let topics = req
            .topics
            .iter()
            .map(|t| {
                DescribeTopicPartitionsResponseTopic::default()
                    .with_name(Some(t.name.clone()))
                    .with_error_code(e.code())
            })
            .collect();
        return HandlerOutput::Respond(
            DescribeTopicPartitionsResponse::default().with_topics(topics),
        );
    }
    let limit = req
        .response_partition_limit
        .clamp(1, MAX_PARTITIONS_PER_RESPONSE);
    let metas: Vec<(String, Option<std::sync::Arc<crate::metadata::TopicMeta>>)> = names
        .into_iter()
        .map(|n| {
            let meta = state.metadata.topic(&n);
            (n, meta)
        })
        .collect();
    let listing: Vec<(&str, Option<i32>)> = metas
        .iter()
        .map(|(n, m)| (n.as_str(), m.as_ref().map(|m| m.partitions)))
        .collect();
    let start = cursor.as_ref().map_or(0, |(_, p)| *p);
    let page = page(&listing, cursor_topic, start, limit, fetch_all);

    let node_id = state.config.node_id;
    let leader = if state.partitions.serving() {
        node_id
    } else {
        -1
    };
    let mut topics = Vec::new();
    for entry in page.entries {
        let (name, meta) = &metas[entry.index];
        let topic = DescribeTopicPartitionsResponseTopic::default()
            .with_name(Some(TopicName(StrBytes::from_string(name.clone()))))
            .with_is_internal(meta.as_ref().is_some_and(|m| m.internal))
            .with_topic_authorized_operations(TOPIC_OPERATIONS);
        topics.push(match (meta, entry.partitions) {
            (Some(meta), Some(range)) => topic.with_topic_id(meta.id).with_partitions(
                range
                    .map(|index| {
                        DescribeTopicPartitionsResponsePartition::default()
                            .with_partition_index(index)
                            .with_leader_id(BrokerId(leader))
                            .with_leader_epoch(LEADER_EPOCH)
                            .with_replica_nodes(vec![BrokerId(node_id)])
                            .with_isr_nodes(vec![BrokerId(node_id)])
                            .with_eligible_leader_replicas(Some(Vec::new()))
                            .with_last_known_elr(Some(Vec::new()))
                    })
                    .collect(),
            ),
            _ => {
                let code = match validate_topic_name(name) {
                    Ok(()) => TopicError::UnknownTopicOrPartition.code(),
                    Err(e) => e.code(),
                };
                topic.with_error_code(code).with_topic_id(Uuid::nil())
            }
        });
    }
    let next_cursor = page.next.map(|(index, partition)| {
        Cursor::default()
            .with_topic_name(TopicName(StrBytes::from_string(
                listing[index].0.to_string(),
            )))
            .with_partition_index(partition)
    });
    HandlerOutput::Respond(
        DescribeTopicPartitionsResponse::default()
            .with_topics(topics)
            .with_next_cursor(next_cursor),
    )
}

/// Kafka's checks of the cursor: its topic must be among those asked for
/// (when some are named), its partition not negative.
fn check_cursor(
    fetch_all: bool,
    cursor: Option<&(String, i32)>,
    names: &BTreeSet<String>,
) -> Result<(), ClusterError> {
    let Some((topic, partition)) = cursor else {
        return Ok(());
    };
    if !fetch_all && !names.contains(topic) {
        return Err(ClusterError::InvalidRequest(format!(
            "DescribeTopicPartitionsRequest topic list should contain the cursor topic: {topic}"
        )));
    }
    if *partition < 0 {
        return Err(ClusterError::InvalidRequest(format!(
            "DescribeTopicPartitionsRequest cursor partition must be valid: {topic}-{partition}"
        )));
    }
    Ok(())
}

/// One topic of a page: its index in the listing and the partitions given
/// (None: the topic is unknown).
#[derive(Debug, PartialEq, Eq)]
struct PageEntry {
    index: usize,
    partitions: Option<std::ops::Range<i32>>,
}

#[derive(Debug, PartialEq, Eq)]
struct Page {
    entries: Vec<PageEntry>,
    /// The first partition left out: (listing index, partition).
    next: Option<(usize, i32)>,
}

/// Kafka's paging over topics sorted by name (`listing`: name and partition
/// count, None if unknown): partitions from `start` in the cursor's topic,
/// from 0 in the others, at most `limit` in all. A topic that gets no
/// partition because the limit was reached is where the next cursor points,
/// at partition 0; a topic cut short is where it points, at the first
/// partition left out. Unknown topics are listed (with an error) unless
/// every topic was asked for, and cost nothing against the limit.
fn page(
    listing: &[(&str, Option<i32>)],
    cursor_topic: &str,
    start: i32,
    limit: i32,
    fetch_all: bool,
) -> Page {
    let mut remaining = limit;
    let mut entries = Vec::new();
    for (index, (name, count)) in listing.iter().enumerate() {
        if remaining <= 0 {
            return Page {
                entries,
                next: Some((index, 0)),
            };
        }
        match count {
            Some(count) => {
                let first = if *name == cursor_topic { start } else { 0 };
                let upper = (*count).min(first.saturating_add(remaining));
                let given = first.min(upper)..upper;
                let taken = given.end - given.start;
                entries.push(PageEntry {
                    index,
                    partitions: Some(given),
                });
                if upper < *count {
                    return Page {
                        entries,
                        next: Some((index, upper)),
                    };
                }
                remaining -= taken;
            }
            None if !fetch_all => entries.push(PageEntry {
                index,
                partitions: None,
            }),
            None => {}
        }
    }
    Page {
        entries,
        next: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(p: &Page) -> Vec<(usize, Option<(i32, i32)>)> {
        p.entries
            .iter()
            .map(|e| (e.index, e.partitions.as_ref().map(|r| (r.start, r.end))))
            .collect()
    }

    #[test]
    fn a_topic_cut_short_is_where_the_cursor_points() {
        let listing = [("a", Some(3)), ("b", Some(2))];
        let p = page(&listing, "", 0, 4, true);
        assert_eq!(ranges(&p), vec![(0, Some((0, 3))), (1, Some((0, 1)))]);
        assert_eq!(p.next, Some((1, 1)));
    }

    #[test]
    fn the_limit_reached_at_a_topic_end_points_at_the_next_topic() {
        let listing = [("a", Some(2)), ("b", Some(2))];
        let p = page(&listing, "", 0, 2, true);
        assert_eq!(ranges(&p), vec![(0, Some((0, 2)))]);
        assert_eq!(p.next, Some((1, 0)));
    }

    #[test]
    fn the_cursor_partition_is_where_its_topic_starts() {
        let listing = [("a", Some(5)), ("b", Some(1))];
        let p = page(&listing, "a", 3, 10, true);
        assert_eq!(ranges(&p), vec![(0, Some((3, 5))), (1, Some((0, 1)))]);
        assert_eq!(p.next, None);
    }

    #[test]
    fn unknown_topics_are_listed_only_when_named_and_cost_nothing() {
        let listing = [("a", None), ("b", Some(1))];
        assert_eq!(
            ranges(&page(&listing, "", 0, 1, false)),
            vec![(0, None), (1, Some((0, 1)))]
        );
        assert_eq!(
            ranges(&page(&listing, "", 0, 1, true)),
            vec![(1, Some((0, 1)))]
        );
    }

    #[test]
    fn a_cursor_must_name_a_requested_topic_and_a_real_partition() {
        let names: BTreeSet<String> = ["b".to_string()].into();
        assert!(check_cursor(false, Some(&("a".into(), 0)), &names).is_err());
        assert!(check_cursor(false, Some(&("b".into(), -1)), &names).is_err());
        assert!(check_cursor(false, Some(&("b".into(), 0)), &names).is_ok());
        assert!(check_cursor(true, Some(&("zz".into(), 0)), &BTreeSet::new()).is_ok());
    }
}
