//! `sluice topics list|create|delete|describe|alter`, as `kafka-topics.sh`.
//!
//! list and describe read Metadata (describe adds each topic's dynamic
//! configs from DescribeConfigs, as Kafka's tool does); create, delete and
//! alter (more partitions) are CreateTopics, DeleteTopics and
//! CreatePartitions, sent to any broker (a KRaft broker forwards them to
//! the controller).

use std::collections::BTreeMap;

use clap::{Args, Subcommand};
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::{
    CreatePartitionsRequest, CreateTopicsRequest, DeleteTopicsRequest, DescribeConfigsRequest,
    TopicName,
};
use kafka_protocol::protocol::StrBytes;
use serde::Serialize;

use super::cluster::Cluster;
use super::configs::{DYNAMIC_TOPIC_CONFIG, SENSITIVE, TOPIC};
use super::error::CliError;
use super::output::{kafka_uuid, print, print_json, Format, Table};
use super::timeout_ms;

/// Kafka's error codes this file answers itself.
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const TOPIC_ALREADY_EXISTS: i16 = 36;

#[derive(Subcommand)]
pub enum TopicsCommand {
    /// Every topic with its partition count and replication factor
    List(ListArgs),
    /// Create a topic
    Create(CreateArgs),
    /// Delete a topic
    Delete(DeleteArgs),
    /// Partitions, leaders, replicas and dynamic configs of topics
    Describe(DescribeArgs),
    /// Add partitions to a topic (configs are changed with `sluice configs alter`)
    Alter(AlterArgs),
}

#[derive(Args)]
pub struct ListArgs {
    /// Leave out internal topics (__consumer_offsets, __transaction_state)
    #[arg(long)]
    exclude_internal: bool,
}

#[derive(Args)]
pub struct CreateArgs {
    /// Name of the topic
    #[arg(long)]
    topic: String,
    /// Partition count (default: the broker's num.partitions)
    #[arg(long)]
    partitions: Option<i32>,
    /// Replication factor (default: the broker's default.replication.factor)
    #[arg(long)]
    replication_factor: Option<i16>,
    /// A topic config KEY=VALUE (repeatable)
    #[arg(long = "config", value_name = "KEY=VALUE")]
    configs: Vec<String>,
    /// Succeed without change if the topic exists
    #[arg(long)]
    if_not_exists: bool,
}

#[derive(Args)]
pub struct DeleteArgs {
    /// Name of the topic
    #[arg(long)]
    topic: String,
    /// Succeed without change if there is no such topic
    #[arg(long)]
    if_exists: bool,
}

#[derive(Args)]
pub struct DescribeArgs {
    /// A topic to describe (repeatable; default: every topic)
    #[arg(long = "topic")]
    topics: Vec<String>,
    /// Leave out internal topics
    #[arg(long)]
    exclude_internal: bool,
}

#[derive(Args)]
pub struct AlterArgs {
    /// Name of the topic
    #[arg(long)]
    topic: String,
    /// The new partition count (more than it has; Kafka never removes partitions)
    #[arg(long)]
    partitions: i32,
}

impl TopicsCommand {
    pub async fn run(self, cluster: &mut Cluster, format: Format) -> Result<(), CliError> {
        match self {
            TopicsCommand::List(a) => list(cluster, format, a).await,
            TopicsCommand::Create(a) => create(cluster, format, a).await,
            TopicsCommand::Delete(a) => delete(cluster, format, a).await,
            TopicsCommand::Describe(a) => describe(cluster, format, a).await,
            TopicsCommand::Alter(a) => alter(cluster, format, a).await,
        }
    }
}

/// One partition as Metadata describes it.
#[derive(Serialize)]
struct PartitionInfo {
    partition: i32,
    leader: i32,
    leader_epoch: i32,
    replicas: Vec<i32>,
    isr: Vec<i32>,
    offline_replicas: Vec<i32>,
}

/// One topic as Metadata describes it.
#[derive(Serialize)]
struct TopicInfo {
    name: String,
    topic_id: String,
    internal: bool,
    partition_count: usize,
    replication_factor: usize,
    /// The topic's dynamic configs (set on the topic, not defaults).
    configs: BTreeMap<String, Option<String>>,
    partitions: Vec<PartitionInfo>,
}

/// Metadata for `names` (every topic if empty), sorted by name. An unknown
/// topic asked for by name is an error.
async fn topic_infos(cluster: &mut Cluster, names: &[String]) -> Result<Vec<TopicInfo>, CliError> {
    let response = cluster
        .metadata(if names.is_empty() { None } else { Some(names) })
        .await?;
    let mut topics = Vec::new();
    for t in response.topics {
        let name = t.name.as_ref().map(|n| n.0.to_string()).unwrap_or_default();
        CliError::check(t.error_code, None, format!("topic '{name}'"))?;
        let mut partitions: Vec<PartitionInfo> = t
            .partitions
            .iter()
            .map(|p| PartitionInfo {
                partition: p.partition_index,
                leader: p.leader_id.0,
                leader_epoch: p.leader_epoch,
                replicas: p.replica_nodes.iter().map(|b| b.0).collect(),
                isr: p.isr_nodes.iter().map(|b| b.0).collect(),
                offline_replicas: p.offline_replicas.iter().map(|b| b.0).collect(),
            })
            .collect();
        partitions.sort_by_key(|p| p.partition);
        topics.push(TopicInfo {
            replication_factor: partitions.first().map_or(0, |p| p.replicas.len()),
            partition_count: partitions.len(),
            name,
            topic_id: kafka_uuid(&t.topic_id),
            internal: t.is_internal,
            configs: BTreeMap::new(),
            partitions,
        });
    }
    topics.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(topics)
}

#[derive(Serialize)]
struct ListedTopic<'a> {
    name: &'a str,
    partitions: usize,
    replication_factor: usize,
    internal: bool,
}

async fn list(cluster: &mut Cluster, format: Format, args: ListArgs) -> Result<(), CliError> {
    let topics = topic_infos(cluster, &[]).await?;
    let listed: Vec<ListedTopic> = topics
        .iter()
        .filter(|t| !(args.exclude_internal && t.internal))
        .map(|t| ListedTopic {
            name: &t.name,
            partitions: t.partition_count,
            replication_factor: t.replication_factor,
            internal: t.internal,
        })
        .collect();
    match format {
        Format::Json => print_json(&listed),
        Format::Table => {
            let mut table = Table::new(&["TOPIC", "PARTITIONS", "REPLICATION-FACTOR"]);
            for t in &listed {
                table.row(vec![
                    t.name.to_string(),
                    t.partitions.to_string(),
                    t.replication_factor.to_string(),
                ]);
            }
            print(&table.render());
        }
    }
    Ok(())
}

/// `KEY=VALUE` of `--config`.
fn parse_config(arg: &str) -> Result<(String, String), CliError> {
    match arg.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(CliError::Refused(format!(
            "--config {arg}: expected KEY=VALUE"
        ))),
    }
}

#[derive(Serialize)]
struct Created {
    topic: String,
    created: bool,
    topic_id: String,
    partitions: i32,
    replication_factor: i16,
}

async fn create(cluster: &mut Cluster, format: Format, args: CreateArgs) -> Result<(), CliError> {
    let mut topic = CreatableTopic::default();
    topic.name = TopicName(StrBytes::from_string(args.topic.clone()));
    topic.num_partitions = args.partitions.unwrap_or(-1);
    topic.replication_factor = args.replication_factor.unwrap_or(-1);
    for arg in &args.configs {
        let (name, value) = parse_config(arg)?;
        let mut config = CreatableTopicConfig::default();
        config.name = StrBytes::from_string(name);
        config.value = Some(StrBytes::from_string(value));
        topic.configs.push(config);
    }
    let mut request = CreateTopicsRequest::default();
    request.topics = vec![topic];
    request.timeout_ms = timeout_ms(cluster);
    // v4 is the first that takes -1 for the broker's default partitions
    // and replication factor.
    let floor = if args.partitions.is_none() || args.replication_factor.is_none() {
        4
    } else {
        2
    };
    let (response, _) = cluster.send_any(&request, floor).await?;
    let result = response
        .topics
        .into_iter()
        .find(|t| t.name.0.as_str() == args.topic)
        .ok_or_else(|| CliError::Refused(format!("no answer for topic '{}'", args.topic)))?;
    let exists = result.error_code == TOPIC_ALREADY_EXISTS;
    if !(exists && args.if_not_exists) {
        CliError::check(
            result.error_code,
            result.error_message.as_deref(),
            format!("topic '{}'", args.topic),
        )?;
    }
    let created = Created {
        topic: args.topic,
        created: !exists,
        topic_id: kafka_uuid(&result.topic_id),
        partitions: result.num_partitions,
        replication_factor: result.replication_factor,
    };
    match format {
        Format::Json => print_json(&created),
        Format::Table if created.created => print(&format!("Created topic {}.\n", created.topic)),
        Format::Table => print(&format!("Topic {} already exists.\n", created.topic)),
    }
    Ok(())
}

#[derive(Serialize)]
struct Deleted {
    topic: String,
    deleted: bool,
}

async fn delete(cluster: &mut Cluster, format: Format, args: DeleteArgs) -> Result<(), CliError> {
    let name = TopicName(StrBytes::from_string(args.topic.clone()));
    let version = cluster.version_any::<DeleteTopicsRequest>(1)?;
    let mut request = DeleteTopicsRequest::default();
    request.timeout_ms = timeout_ms(cluster);
    if version >= 6 {
        let mut state = DeleteTopicState::default();
        state.name = Some(name);
        request.topics = vec![state];
    } else {
        request.topic_names = vec![name];
    }
    let (response, _) = cluster.send_any(&request, 1).await?;
    let result = response
        .responses
        .into_iter()
        .next()
        .ok_or_else(|| CliError::Refused(format!("no answer for topic '{}'", args.topic)))?;
    let missing = result.error_code == UNKNOWN_TOPIC_OR_PARTITION;
    if !(missing && args.if_exists) {
        CliError::check(
            result.error_code,
            result.error_message.as_deref(),
            format!("topic '{}'", args.topic),
        )?;
    }
    let deleted = Deleted {
        topic: args.topic,
        deleted: !missing,
    };
    match format {
        Format::Json => print_json(&deleted),
        Format::Table if deleted.deleted => print(&format!("Deleted topic {}.\n", deleted.topic)),
        Format::Table => print(&format!("Topic {} does not exist.\n", deleted.topic)),
    }
    Ok(())
}

/// The dynamic configs of `topics` (one DescribeConfigs for all).
async fn dynamic_configs(cluster: &mut Cluster, topics: &mut [TopicInfo]) -> Result<(), CliError> {
    if topics.is_empty() {
        return Ok(());
    }
    let mut request = DescribeConfigsRequest::default();
    request.resources = topics
        .iter()
        .map(|t| {
            let mut r = DescribeConfigsResource::default();
            r.resource_type = TOPIC;
            r.resource_name = StrBytes::from_string(t.name.clone());
            r.configuration_keys = None;
            r
        })
        .collect();
    let (response, _) = cluster.send_any(&request, 1).await?;
    for result in response.results {
        CliError::check(
            result.error_code,
            result.error_message.as_deref(),
            format!("configs of topic '{}'", result.resource_name.as_str()),
        )?;
        let Some(topic) = topics
            .iter_mut()
            .find(|t| t.name == result.resource_name.as_str())
        else {
            continue;
        };
        for c in result.configs {
            if c.config_source == DYNAMIC_TOPIC_CONFIG {
                let value = if c.is_sensitive {
                    None
                } else {
                    c.value.map(|v| v.to_string())
                };
                topic.configs.insert(c.name.to_string(), value);
            }
        }
    }
    Ok(())
}

async fn describe(
    cluster: &mut Cluster,
    format: Format,
    args: DescribeArgs,
) -> Result<(), CliError> {
    let mut topics = topic_infos(cluster, &args.topics).await?;
    topics.retain(|t| !(args.exclude_internal && t.internal));
    dynamic_configs(cluster, &mut topics).await?;
    match format {
        Format::Json => print_json(&topics),
        Format::Table => {
            let mut summary = Table::new(&[
                "TOPIC",
                "TOPIC-ID",
                "PARTITIONS",
                "REPLICATION-FACTOR",
                "CONFIGS",
            ]);
            let mut partitions = Table::new(&["TOPIC", "PARTITION", "LEADER", "REPLICAS", "ISR"]);
            for t in &topics {
                let configs: Vec<String> = t
                    .configs
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.as_deref().unwrap_or(SENSITIVE)))
                    .collect();
                summary.row(vec![
                    t.name.clone(),
                    t.topic_id.clone(),
                    t.partition_count.to_string(),
                    t.replication_factor.to_string(),
                    configs.join(","),
                ]);
                for p in &t.partitions {
                    partitions.row(vec![
                        t.name.clone(),
                        p.partition.to_string(),
                        p.leader.to_string(),
                        join(&p.replicas),
                        join(&p.isr),
                    ]);
                }
            }
            print(&format!("{}\n{}", summary.render(), partitions.render()));
        }
    }
    Ok(())
}

fn join(ids: &[i32]) -> String {
    ids.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
}

#[derive(Serialize)]
struct Altered {
    topic: String,
    partitions: i32,
}

async fn alter(cluster: &mut Cluster, format: Format, args: AlterArgs) -> Result<(), CliError> {
    let mut topic = CreatePartitionsTopic::default();
    topic.name = TopicName(StrBytes::from_string(args.topic.clone()));
    topic.count = args.partitions;
    topic.assignments = None;
    let mut request = CreatePartitionsRequest::default();
    request.topics = vec![topic];
    request.timeout_ms = timeout_ms(cluster);
    let (response, _) = cluster.send_any(&request, 0).await?;
    let result = response
        .results
        .into_iter()
        .next()
        .ok_or_else(|| CliError::Refused(format!("no answer for topic '{}'", args.topic)))?;
    CliError::check(
        result.error_code,
        result.error_message.as_deref(),
        format!("topic '{}'", args.topic),
    )?;
    let altered = Altered {
        topic: args.topic,
        partitions: args.partitions,
    };
    match format {
        Format::Json => print_json(&altered),
        Format::Table => print(&format!(
            "Topic {} now has {} partitions.\n",
            altered.topic, altered.partitions
        )),
    }
    Ok(())
}
