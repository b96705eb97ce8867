//! `sluice groups list|describe` (and the flag definitions of
//! reset-offsets, `reset.rs`), as `kafka-consumer-groups.sh`.
//!
//! list asks every broker (ListGroups; each lists the groups it
//! coordinates). describe finds the group's coordinator (FindCoordinator),
//! asks it for the members and their assignments (DescribeGroups) and the
//! committed offsets (OffsetFetch), and each partition's leader for its log
//! end offset (ListOffsets, read_uncommitted, as Kafka's tool): the lag is
//! log end offset minus committed offset.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Buf;
use clap::{Args, Subcommand};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestGroup;
use kafka_protocol::messages::{
    ConsumerProtocolAssignment, DescribeGroupsRequest, GroupId, ListGroupsRequest,
    ListOffsetsRequest, OffsetFetchRequest, TopicName,
};
use kafka_protocol::protocol::{Decodable, Message, StrBytes};
use serde::Serialize;

use super::cluster::Cluster;
use super::error::CliError;
use super::output::{or_dash, print, print_json, Format, Table};
use super::reset::ResetArgs;
use super::timeout_ms;

/// A topic partition, ordered by topic then partition.
pub type TopicPartition = (String, i32);

/// ListOffsets' special timestamps.
pub const LATEST: i64 = -1;
pub const EARLIEST: i64 = -2;

const GROUP_ID_NOT_FOUND: i16 = 69;

#[derive(Subcommand)]
pub enum GroupsCommand {
    /// Every group of the cluster with its protocol type and state
    List(ListArgs),
    /// A group's partitions with committed offset, log end offset, lag and owner
    Describe(DescribeArgs),
    /// Move a group's committed offsets (a dry run unless --execute)
    ResetOffsets(ResetArgs),
}

#[derive(Args)]
pub struct ListArgs {
    /// Only groups in this state (Stable, Empty, PreparingRebalance, ...; repeatable)
    #[arg(long = "state")]
    states: Vec<String>,
}

#[derive(Args)]
pub struct DescribeArgs {
    /// The group (repeatable)
    #[arg(long = "group", required_unless_present = "all_groups")]
    groups: Vec<String>,
    /// Every group of the cluster
    #[arg(long, conflicts_with = "groups")]
    all_groups: bool,
    /// Show the members (CONSUMER-ID HOST CLIENT-ID #PARTITIONS ASSIGNMENT) instead of offsets
    #[arg(long, conflicts_with = "state")]
    members: bool,
    /// Show the group's state (COORDINATOR ASSIGNMENT-STRATEGY STATE #MEMBERS) instead of offsets
    #[arg(long)]
    state: bool,
}

impl GroupsCommand {
    pub async fn run(self, cluster: &mut Cluster, format: Format) -> Result<(), CliError> {
        match self {
            GroupsCommand::List(a) => list(cluster, format, a).await,
            GroupsCommand::Describe(a) => describe(cluster, format, a).await,
            GroupsCommand::ResetOffsets(a) => super::reset::run(cluster, format, a).await,
        }
    }
}

#[derive(Serialize)]
struct ListedGroup {
    group: String,
    protocol_type: String,
    state: String,
}

/// Every group, from every broker (each lists those it coordinates).
async fn all_groups(cluster: &mut Cluster) -> Result<Vec<ListedGroup>, CliError> {
    let mut groups = BTreeMap::new();
    for node in cluster.broker_ids() {
        let (response, _) = cluster
            .send_to(node, &ListGroupsRequest::default(), 0)
            .await?;
        CliError::check(
            response.error_code,
            None,
            format!("groups of broker {node}"),
        )?;
        for g in response.groups {
            groups.insert(
                g.group_id.0.to_string(),
                ListedGroup {
                    group: g.group_id.0.to_string(),
                    protocol_type: g.protocol_type.to_string(),
                    state: g.group_state.to_string(),
                },
            );
        }
    }
    Ok(groups.into_values().collect())
}

async fn list(cluster: &mut Cluster, format: Format, args: ListArgs) -> Result<(), CliError> {
    let mut groups = all_groups(cluster).await?;
    if !args.states.is_empty() {
        groups.retain(|g| args.states.iter().any(|s| s.eq_ignore_ascii_case(&g.state)));
    }
    match format {
        Format::Json => print_json(&groups),
        Format::Table => {
            let mut table = Table::new(&["GROUP", "PROTOCOL-TYPE", "STATE"]);
            for g in &groups {
                let state = if g.state.is_empty() {
                    "-".to_string()
                } else {
                    g.state.clone()
                };
                table.row(vec![g.group.clone(), or_empty(&g.protocol_type), state]);
            }
            print(&table.render());
        }
    }
    Ok(())
}

fn or_empty(s: &str) -> String {
    if s.is_empty() {
        "-".to_string()
    } else {
        s.to_string()
    }
}

/// A group member as DescribeGroups shows it.
#[derive(Serialize)]
pub struct Member {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub host: String,
    /// Topic → partitions assigned (consumer groups only).
    pub assignment: BTreeMap<String, Vec<i32>>,
}

/// A group's state and members, from its coordinator.
pub struct GroupState {
    pub state: String,
    pub protocol_type: String,
    pub assignment_strategy: String,
    pub coordinator: i32,
    pub members: Vec<Member>,
}

impl GroupState {
    /// Whether the group has no members, so its offsets may be changed
    /// from outside (Kafka's tools: Empty, or Dead = no such group).
    pub fn is_inactive(&self) -> bool {
        self.state == "Empty" || self.state == "Dead"
    }
}

/// The state and members of `group`; a group that does not exist is
/// state `Dead` with no members (as DescribeGroups answers for it).
pub async fn group_state(cluster: &mut Cluster, group: &str) -> Result<GroupState, CliError> {
    let deadline = cluster.deadline();
    loop {
        match try_group_state(cluster, group).await {
            Err(e) if Cluster::backoff(&e, deadline).await => continue,
            other => return other,
        }
    }
}

async fn try_group_state(cluster: &mut Cluster, group: &str) -> Result<GroupState, CliError> {
    let coordinator = cluster.coordinator(group).await?;
    let mut request = DescribeGroupsRequest::default();
    request.groups = vec![GroupId(StrBytes::from_string(group.to_string()))];
    let (response, _) = cluster.send_to(coordinator, &request, 0).await?;
    let described = response
        .groups
        .into_iter()
        .next()
        .ok_or_else(|| CliError::Refused(format!("no answer for group '{group}'")))?;
    if described.error_code == GROUP_ID_NOT_FOUND {
        return Ok(GroupState {
            state: "Dead".to_string(),
            protocol_type: String::new(),
            assignment_strategy: String::new(),
            coordinator,
            members: Vec::new(),
        });
    }
    CliError::check(
        described.error_code,
        described.error_message.as_deref(),
        format!("group '{group}'"),
    )?;
    let consumer = described.protocol_type.as_str() == "consumer";
    let members = described
        .members
        .into_iter()
        .map(|m| Member {
            member_id: m.member_id.to_string(),
            group_instance_id: m.group_instance_id.map(|i| i.to_string()),
            client_id: m.client_id.to_string(),
            host: m.client_host.to_string(),
            assignment: if consumer {
                decode_assignment(m.member_assignment)
            } else {
                BTreeMap::new()
            },
        })
        .collect();
    Ok(GroupState {
        state: described.group_state.to_string(),
        protocol_type: described.protocol_type.to_string(),
        assignment_strategy: described.protocol_data.to_string(),
        coordinator,
        members,
    })
}

/// A consumer member's assignment (`i16 version | ConsumerProtocolAssignment`);
/// unreadable or empty bytes are no partitions.
fn decode_assignment(mut bytes: bytes::Bytes) -> BTreeMap<String, Vec<i32>> {
    let mut assignment = BTreeMap::new();
    if bytes.remaining() < 2 {
        return assignment;
    }
    let version = bytes
        .get_i16()
        .clamp(0, ConsumerProtocolAssignment::VERSIONS.max);
    if let Ok(a) = ConsumerProtocolAssignment::decode(&mut bytes, version) {
        for tp in a.assigned_partitions {
            let mut partitions = tp.partitions;
            partitions.sort_unstable();
            assignment.insert(tp.topic.0.to_string(), partitions);
        }
    }
    assignment
}

/// The offsets `group` has committed (partitions without one left out).
pub async fn committed_offsets(
    cluster: &mut Cluster,
    group: &str,
) -> Result<BTreeMap<TopicPartition, i64>, CliError> {
    let deadline = cluster.deadline();
    loop {
        match try_committed_offsets(cluster, group).await {
            Err(e) if Cluster::backoff(&e, deadline).await => continue,
            other => return other,
        }
    }
}

async fn try_committed_offsets(
    cluster: &mut Cluster,
    group: &str,
) -> Result<BTreeMap<TopicPartition, i64>, CliError> {
    let context = || format!("offsets of group '{group}'");
    let coordinator = cluster.coordinator(group).await?;
    let version = cluster
        .version_on::<OffsetFetchRequest>(coordinator, 2)
        .await?;
    let mut request = OffsetFetchRequest::default();
    // All topics (null) in either shape: v8 on batches groups.
    if version >= 8 {
        let mut g = OffsetFetchRequestGroup::default();
        g.group_id = GroupId(StrBytes::from_string(group.to_string()));
        g.topics = None;
        request.groups = vec![g];
    } else {
        request.group_id = GroupId(StrBytes::from_string(group.to_string()));
        request.topics = None;
    }
    let (response, version) = cluster.send_to(coordinator, &request, 2).await?;
    let mut offsets = BTreeMap::new();
    let mut add = |topic: &str, partition: i32, offset: i64, code: i16| -> Result<(), CliError> {
        CliError::check(
            code,
            None,
            format!("offset of {topic}-{partition} in group '{group}'"),
        )?;
        if offset >= 0 {
            offsets.insert((topic.to_string(), partition), offset);
        }
        Ok(())
    };
    if version >= 8 {
        let g = response
            .groups
            .into_iter()
            .next()
            .ok_or_else(|| CliError::Refused(format!("no answer for the {}", context())))?;
        CliError::check(g.error_code, None, context())?;
        for t in g.topics {
            for p in t.partitions {
                add(
                    t.name.0.as_str(),
                    p.partition_index,
                    p.committed_offset,
                    p.error_code,
                )?;
            }
        }
    } else {
        CliError::check(response.error_code, None, context())?;
        for t in response.topics {
            for p in t.partitions {
                add(
                    t.name.0.as_str(),
                    p.partition_index,
                    p.committed_offset,
                    p.error_code,
                )?;
            }
        }
    }
    Ok(offsets)
}

/// Every partition of `topics`, from Metadata (an unknown topic is an error).
pub async fn partitions_of(
    cluster: &mut Cluster,
    topics: &[String],
) -> Result<Vec<TopicPartition>, CliError> {
    if topics.is_empty() {
        return Ok(Vec::new());
    }
    let response = cluster.metadata(Some(topics)).await?;
    let mut partitions = Vec::new();
    for t in response.topics {
        let name = t.name.map(|n| n.0.to_string()).unwrap_or_default();
        CliError::check(t.error_code, None, format!("topic '{name}'"))?;
        partitions.extend(
            t.partitions
                .iter()
                .map(|p| (name.clone(), p.partition_index)),
        );
    }
    partitions.sort();
    Ok(partitions)
}

/// The offset of each of `partitions` at `timestamp` ([`LATEST`],
/// [`EARLIEST`] or a time in ms: the first offset at or after it, `None`
/// if there is none), asked of each partition's leader.
pub async fn list_offsets(
    cluster: &mut Cluster,
    partitions: &[TopicPartition],
    timestamp: i64,
) -> Result<BTreeMap<TopicPartition, Option<i64>>, CliError> {
    let deadline = cluster.deadline();
    loop {
        match try_list_offsets(cluster, partitions, timestamp).await {
            Err(e) if Cluster::backoff(&e, deadline).await => continue,
            other => return other,
        }
    }
}

async fn try_list_offsets(
    cluster: &mut Cluster,
    partitions: &[TopicPartition],
    timestamp: i64,
) -> Result<BTreeMap<TopicPartition, Option<i64>>, CliError> {
    let topics: Vec<String> = partitions
        .iter()
        .map(|(t, _)| t.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if topics.is_empty() {
        return Ok(BTreeMap::new());
    }
    let wanted: BTreeSet<&TopicPartition> = partitions.iter().collect();
    let metadata = cluster.metadata(Some(&topics)).await?;
    // Leader → topic → partitions.
    let mut by_leader: BTreeMap<i32, BTreeMap<String, Vec<i32>>> = BTreeMap::new();
    for t in &metadata.topics {
        let name = t.name.as_ref().map(|n| n.0.to_string()).unwrap_or_default();
        CliError::check(t.error_code, None, format!("topic '{name}'"))?;
        for p in &t.partitions {
            if !wanted.contains(&(name.clone(), p.partition_index)) {
                continue;
            }
            CliError::check(
                p.error_code,
                None,
                format!("partition {name}-{}", p.partition_index),
            )?;
            by_leader
                .entry(p.leader_id.0)
                .or_default()
                .entry(name.clone())
                .or_default()
                .push(p.partition_index);
        }
    }
    let mut offsets = BTreeMap::new();
    for (leader, topics) in by_leader {
        let mut request = ListOffsetsRequest::default();
        request.replica_id = kafka_protocol::messages::BrokerId(-1);
        request.isolation_level = 0;
        request.timeout_ms = timeout_ms(cluster);
        request.topics = topics
            .into_iter()
            .map(|(name, partitions)| {
                let mut t = ListOffsetsTopic::default();
                t.name = TopicName(StrBytes::from_string(name));
                t.partitions = partitions
                    .into_iter()
                    .map(|p| {
                        let mut lp = ListOffsetsPartition::default();
                        lp.partition_index = p;
                        lp.current_leader_epoch = -1;
                        lp.timestamp = timestamp;
                        lp
                    })
                    .collect();
                t
            })
            .collect();
        let (response, _) = cluster.send_to(leader, &request, 1).await?;
        for t in response.topics {
            for p in t.partitions {
                let name = t.name.0.to_string();
                CliError::check(
                    p.error_code,
                    None,
                    format!("partition {name}-{}", p.partition_index),
                )?;
                offsets.insert(
                    (name, p.partition_index),
                    (p.offset >= 0).then_some(p.offset),
                );
            }
        }
    }
    if let Some(missing) = partitions.iter().find(|tp| !offsets.contains_key(*tp)) {
        return Err(CliError::Kafka {
            code: 3,
            message: None,
            context: format!("partition {}-{}", missing.0, missing.1),
        });
    }
    Ok(offsets)
}

/// One partition of a group: where it is, where its log ends, who owns it.
#[derive(Serialize)]
struct PartitionLag {
    topic: String,
    partition: i32,
    current_offset: Option<i64>,
    log_end_offset: Option<i64>,
    lag: Option<i64>,
    consumer_id: Option<String>,
    host: Option<String>,
    client_id: Option<String>,
}

#[derive(Serialize)]
struct Coordinator {
    id: i32,
    address: Option<String>,
}

/// A group described: what JSON prints whole, and tables in part.
#[derive(Serialize)]
struct Described {
    group: String,
    state: String,
    protocol_type: String,
    assignment_strategy: String,
    coordinator: Coordinator,
    members: Vec<Member>,
    offsets: Vec<PartitionLag>,
}

async fn describe_one(cluster: &mut Cluster, group: &str) -> Result<Described, CliError> {
    let state = group_state(cluster, group).await?;
    if state.state == "Dead" {
        return Err(CliError::Kafka {
            code: GROUP_ID_NOT_FOUND,
            message: Some(format!("Consumer group '{group}' does not exist.")),
            context: String::new(),
        });
    }
    let committed = committed_offsets(cluster, group).await?;
    // Every partition with a committed offset or an owner.
    let mut owners: BTreeMap<TopicPartition, &Member> = BTreeMap::new();
    for m in &state.members {
        for (topic, partitions) in &m.assignment {
            for p in partitions {
                owners.insert((topic.clone(), *p), m);
            }
        }
    }
    let partitions: Vec<TopicPartition> = committed
        .keys()
        .chain(owners.keys())
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let ends = list_offsets(cluster, &partitions, LATEST).await?;
    let offsets = partitions
        .into_iter()
        .map(|tp| {
            let current = committed.get(&tp).copied();
            let end = ends.get(&tp).copied().flatten();
            let owner = owners.get(&tp);
            PartitionLag {
                lag: current.zip(end).map(|(c, e)| (e - c).max(0)),
                current_offset: current,
                log_end_offset: end,
                consumer_id: owner.map(|m| m.member_id.clone()),
                host: owner.map(|m| m.host.clone()),
                client_id: owner.map(|m| m.client_id.clone()),
                topic: tp.0,
                partition: tp.1,
            }
        })
        .collect();
    Ok(Described {
        group: group.to_string(),
        coordinator: Coordinator {
            id: state.coordinator,
            address: cluster.broker_addr(state.coordinator).map(str::to_string),
        },
        state: state.state,
        protocol_type: state.protocol_type,
        assignment_strategy: state.assignment_strategy,
        members: state.members,
        offsets,
    })
}

async fn describe(
    cluster: &mut Cluster,
    format: Format,
    args: DescribeArgs,
) -> Result<(), CliError> {
    let names: Vec<String> = if args.all_groups {
        all_groups(cluster)
            .await?
            .into_iter()
            .map(|g| g.group)
            .collect()
    } else {
        args.groups.clone()
    };
    let mut described = Vec::new();
    for name in &names {
        described.push(describe_one(cluster, name).await?);
    }
    if format == Format::Json {
        print_json(&described);
        return Ok(());
    }
    let mut out = String::new();
    for (i, d) in described.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let table = if args.state {
            state_table(d)
        } else if args.members {
            members_table(d)
        } else {
            offsets_table(d)
        };
        if d.members.is_empty() && !args.state {
            eprintln!("Consumer group '{}' has no active members.", d.group);
        }
        out.push_str(&table.render());
    }
    print(&out);
    Ok(())
}

fn offsets_table(d: &Described) -> Table {
    let mut table = Table::new(&[
        "GROUP",
        "TOPIC",
        "PARTITION",
        "CURRENT-OFFSET",
        "LOG-END-OFFSET",
        "LAG",
        "CONSUMER-ID",
        "HOST",
        "CLIENT-ID",
    ]);
    for o in &d.offsets {
        table.row(vec![
            d.group.clone(),
            o.topic.clone(),
            o.partition.to_string(),
            or_dash(o.current_offset),
            or_dash(o.log_end_offset),
            or_dash(o.lag),
            or_dash(o.consumer_id.as_ref()),
            or_dash(o.host.as_ref()),
            or_dash(o.client_id.as_ref()),
        ]);
    }
    // Members that own no partition still show, as in Kafka's tool.
    for m in d
        .members
        .iter()
        .filter(|m| m.assignment.values().all(Vec::is_empty))
    {
        let mut row = vec![d.group.clone()];
        row.extend(std::iter::repeat_n("-".to_string(), 5));
        row.extend([m.member_id.clone(), m.host.clone(), m.client_id.clone()]);
        table.row(row);
    }
    table
}

fn members_table(d: &Described) -> Table {
    let mut table = Table::new(&[
        "GROUP",
        "CONSUMER-ID",
        "HOST",
        "CLIENT-ID",
        "#PARTITIONS",
        "ASSIGNMENT",
    ]);
    for m in &d.members {
        let count: usize = m.assignment.values().map(Vec::len).sum();
        let assignment: Vec<String> = m
            .assignment
            .iter()
            .map(|(t, ps)| {
                let ps: Vec<String> = ps.iter().map(i32::to_string).collect();
                format!("{t}({})", ps.join(","))
            })
            .collect();
        table.row(vec![
            d.group.clone(),
            m.member_id.clone(),
            m.host.clone(),
            m.client_id.clone(),
            count.to_string(),
            if assignment.is_empty() {
                "-".to_string()
            } else {
                assignment.join(",")
            },
        ]);
    }
    table
}

fn state_table(d: &Described) -> Table {
    let mut table = Table::new(&[
        "GROUP",
        "COORDINATOR (ID)",
        "ASSIGNMENT-STRATEGY",
        "STATE",
        "#MEMBERS",
    ]);
    let address = d.coordinator.address.as_deref().unwrap_or("-");
    table.row(vec![
        d.group.clone(),
        format!("{address} ({})", d.coordinator.id),
        or_empty(&d.assignment_strategy),
        d.state.clone(),
        d.members.len().to_string(),
    ]);
    table
}
