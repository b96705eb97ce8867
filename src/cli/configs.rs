//! `sluice configs describe|alter`, as `kafka-configs.sh`.
//!
//! `--entity-type topics|brokers|groups --entity-name X` (or
//! `--entity-default` for the cluster-wide broker default). describe is
//! DescribeConfigs and shows what was set dynamically on the entity unless
//! `--all`; alter is IncrementalAlterConfigs with `--add-config k=v,...`
//! (SET; a value with commas goes in square brackets, `k=[a,b]`) and
//! `--delete-config k,...` (DELETE). A broker's own configs go to that
//! broker; the others to any broker.

use clap::{Args, Subcommand, ValueEnum};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::{DescribeConfigsRequest, IncrementalAlterConfigsRequest};
use kafka_protocol::protocol::{Request, StrBytes};
use serde::Serialize;

use super::cluster::Cluster;
use super::error::CliError;
use super::output::{print, print_json, Format, Table};

/// Kafka's config resource types (`ConfigResource.Type`).
pub const TOPIC: i8 = 2;
pub const BROKER: i8 = 4;
pub const GROUP: i8 = 32;

/// Kafka's config sources (`ConfigEntry.ConfigSource`, as on the wire).
pub const DYNAMIC_TOPIC_CONFIG: i8 = 1;

/// How a sensitive value (which brokers never send) is shown.
pub const SENSITIVE: &str = "(sensitive)";

/// IncrementalAlterConfigs operations.
const SET: i8 = 0;
const DELETE: i8 = 1;

/// Kafka's name of a config source.
pub fn source_name(source: i8) -> &'static str {
    match source {
        1 => "DYNAMIC_TOPIC_CONFIG",
        2 => "DYNAMIC_BROKER_CONFIG",
        3 => "DYNAMIC_DEFAULT_BROKER_CONFIG",
        4 => "STATIC_BROKER_CONFIG",
        5 => "DEFAULT_CONFIG",
        6 => "DYNAMIC_BROKER_LOGGER_CONFIG",
        7 => "CLIENT_METRICS_CONFIG",
        8 => "GROUP_CONFIG",
        _ => "UNKNOWN",
    }
}

/// Whether a source is one set at run time on an entity (what describe
/// shows without `--all`): not a default, not the static file.
fn is_dynamic(source: i8) -> bool {
    matches!(source, 1 | 2 | 3 | 6 | 7 | 8)
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EntityType {
    Topics,
    Brokers,
    Groups,
}

impl EntityType {
    fn resource_type(self) -> i8 {
        match self {
            EntityType::Topics => TOPIC,
            EntityType::Brokers => BROKER,
            EntityType::Groups => GROUP,
        }
    }

    fn singular(self) -> &'static str {
        match self {
            EntityType::Topics => "topic",
            EntityType::Brokers => "broker",
            EntityType::Groups => "group",
        }
    }

    fn plural(self) -> &'static str {
        match self {
            EntityType::Topics => "topics",
            EntityType::Brokers => "brokers",
            EntityType::Groups => "groups",
        }
    }
}

#[derive(Subcommand)]
pub enum ConfigsCommand {
    /// The configs of a topic, a broker or a group
    Describe(DescribeArgs),
    /// Set and delete configs of a topic, a broker (or the broker default) or a group
    Alter(AlterArgs),
}

#[derive(Args)]
pub struct Entity {
    /// What kind of entity
    #[arg(long, value_enum)]
    entity_type: EntityType,
    /// Its name (a broker's is its id)
    #[arg(
        long,
        required_unless_present = "entity_default",
        conflicts_with = "entity_default"
    )]
    entity_name: Option<String>,
    /// The cluster-wide default of every broker (brokers only)
    #[arg(long)]
    entity_default: bool,
}

#[derive(Args)]
pub struct DescribeArgs {
    #[command(flatten)]
    entity: Entity,
    /// Every config, defaults included (default: only those set on the entity)
    #[arg(long)]
    all: bool,
}

#[derive(Args)]
pub struct AlterArgs {
    #[command(flatten)]
    entity: Entity,
    /// Configs to set: k1=v1,k2=[v2,v3],...
    #[arg(long, value_name = "K=V,...")]
    add_config: Option<String>,
    /// Configs to remove (back to their default): k1,k2,...
    #[arg(long, value_name = "K,...")]
    delete_config: Option<String>,
}

/// The resource an [`Entity`] names, and the broker to ask about it.
struct Resource {
    entity_type: EntityType,
    /// The name on the wire (`""` for the broker default).
    name: String,
    /// A broker's own configs are answered by that broker only.
    node: Option<i32>,
}

impl Resource {
    fn of(entity: &Entity) -> Result<Resource, CliError> {
        let name = entity.entity_name.clone().unwrap_or_default();
        if entity.entity_default && entity.entity_type != EntityType::Brokers {
            return Err(CliError::Refused(
                "--entity-default is for --entity-type brokers only".to_string(),
            ));
        }
        let node = match entity.entity_type {
            EntityType::Brokers if !entity.entity_default => {
                Some(name.parse::<i32>().map_err(|_| {
                    CliError::Refused(format!(
                        "--entity-name {name}: a broker is named by its id (a number)"
                    ))
                })?)
            }
            _ => None,
        };
        Ok(Resource {
            entity_type: entity.entity_type,
            name,
            node,
        })
    }

    /// `topic 'orders'`, `broker 1`, `the broker default`.
    fn described(&self) -> String {
        match (self.entity_type, self.node) {
            (EntityType::Brokers, None) => "the broker default".to_string(),
            (EntityType::Brokers, Some(id)) => format!("broker {id}"),
            (t, _) => format!("{} '{}'", t.singular(), self.name),
        }
    }

    async fn send<R: Request>(
        &self,
        cluster: &mut Cluster,
        request: &R,
        floor: i16,
    ) -> Result<R::Response, CliError> {
        match self.node {
            Some(node) => cluster.send_to(node, request, floor).await.map(|(r, _)| r),
            None => cluster.send_any(request, floor).await.map(|(r, _)| r),
        }
    }
}

impl ConfigsCommand {
    pub async fn run(self, cluster: &mut Cluster, format: Format) -> Result<(), CliError> {
        match self {
            ConfigsCommand::Describe(a) => describe(cluster, format, a).await,
            ConfigsCommand::Alter(a) => alter(cluster, format, a).await,
        }
    }
}

#[derive(Serialize)]
struct ConfigValue {
    name: String,
    value: Option<String>,
    source: &'static str,
    sensitive: bool,
    read_only: bool,
}

#[derive(Serialize)]
struct Described {
    entity_type: &'static str,
    entity_name: String,
    configs: Vec<ConfigValue>,
}

async fn describe(
    cluster: &mut Cluster,
    format: Format,
    args: DescribeArgs,
) -> Result<(), CliError> {
    let resource = Resource::of(&args.entity)?;
    let mut wanted = DescribeConfigsResource::default();
    wanted.resource_type = resource.entity_type.resource_type();
    wanted.resource_name = StrBytes::from_string(resource.name.clone());
    wanted.configuration_keys = None;
    let mut request = DescribeConfigsRequest::default();
    request.resources = vec![wanted];
    let response = resource.send(cluster, &request, 1).await?;
    let result = response
        .results
        .into_iter()
        .next()
        .ok_or_else(|| CliError::Refused(format!("no answer for {}", resource.described())))?;
    CliError::check(
        result.error_code,
        result.error_message.as_deref(),
        resource.described(),
    )?;
    let configs: Vec<ConfigValue> = result
        .configs
        .into_iter()
        .filter(|c| args.all || is_dynamic(c.config_source))
        .map(|c| ConfigValue {
            name: c.name.to_string(),
            value: c.value.map(|v| v.to_string()),
            source: source_name(c.config_source),
            sensitive: c.is_sensitive,
            read_only: c.read_only,
        })
        .collect();
    let described = Described {
        entity_type: resource.entity_type.plural(),
        entity_name: resource.name,
        configs,
    };
    match format {
        Format::Json => print_json(&described),
        Format::Table => {
            let mut table = Table::new(&["NAME", "VALUE", "SOURCE", "SENSITIVE", "READ-ONLY"]);
            for c in &described.configs {
                let value = match (&c.value, c.sensitive) {
                    (_, true) => SENSITIVE.to_string(),
                    (Some(v), false) => v.clone(),
                    (None, false) => "null".to_string(),
                };
                table.row(vec![
                    c.name.clone(),
                    value,
                    c.source.to_string(),
                    c.sensitive.to_string(),
                    c.read_only.to_string(),
                ]);
            }
            print(&table.render());
        }
    }
    Ok(())
}

/// `--add-config k1=v1,k2=[a,b]`: pairs split at commas outside square
/// brackets; a bracketed value loses its brackets.
pub fn parse_add_config(arg: &str) -> Result<Vec<(String, String)>, CliError> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    for c in arg.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                items.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    items.push(current);
    let mut pairs = Vec::new();
    for item in items.iter().map(|i| i.trim()).filter(|i| !i.is_empty()) {
        let (key, value) = item
            .split_once('=')
            .filter(|(k, _)| !k.trim().is_empty())
            .ok_or_else(|| CliError::Refused(format!("--add-config: `{item}` is not KEY=VALUE")))?;
        let value = value.trim();
        let value = value
            .strip_prefix('[')
            .and_then(|v| v.strip_suffix(']'))
            .unwrap_or(value);
        pairs.push((key.trim().to_string(), value.to_string()));
    }
    Ok(pairs)
}

/// `--delete-config k1,k2`.
fn parse_delete_config(arg: &str) -> Vec<String> {
    arg.split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .collect()
}

#[derive(Serialize)]
struct Altered {
    entity_type: &'static str,
    entity_name: String,
    set: std::collections::BTreeMap<String, String>,
    deleted: Vec<String>,
}

async fn alter(cluster: &mut Cluster, format: Format, args: AlterArgs) -> Result<(), CliError> {
    let resource = Resource::of(&args.entity)?;
    let set = match &args.add_config {
        Some(a) => parse_add_config(a)?,
        None => Vec::new(),
    };
    let deleted = args
        .delete_config
        .as_deref()
        .map(parse_delete_config)
        .unwrap_or_default();
    if set.is_empty() && deleted.is_empty() {
        return Err(CliError::Refused(
            "nothing to alter: give --add-config and/or --delete-config".to_string(),
        ));
    }
    if let Some((k, _)) = set.iter().find(|(k, _)| deleted.contains(k)) {
        return Err(CliError::Refused(format!(
            "config {k} is both added and deleted"
        )));
    }
    let mut target = AlterConfigsResource::default();
    target.resource_type = resource.entity_type.resource_type();
    target.resource_name = StrBytes::from_string(resource.name.clone());
    for (name, value) in &set {
        let mut c = AlterableConfig::default();
        c.name = StrBytes::from_string(name.clone());
        c.config_operation = SET;
        c.value = Some(StrBytes::from_string(value.clone()));
        target.configs.push(c);
    }
    for name in &deleted {
        let mut c = AlterableConfig::default();
        c.name = StrBytes::from_string(name.clone());
        c.config_operation = DELETE;
        c.value = None;
        target.configs.push(c);
    }
    let mut request = IncrementalAlterConfigsRequest::default();
    request.resources = vec![target];
    let response = resource.send(cluster, &request, 0).await?;
    let result = response
        .responses
        .into_iter()
        .next()
        .ok_or_else(|| CliError::Refused(format!("no answer for {}", resource.described())))?;
    CliError::check(
        result.error_code,
        result.error_message.as_deref(),
        resource.described(),
    )?;
    let described = resource.described();
    let altered = Altered {
        entity_type: resource.entity_type.plural(),
        entity_name: resource.name,
        set: set.into_iter().collect(),
        deleted,
    };
    match format {
        Format::Json => print_json(&altered),
        Format::Table => print(&format!("Updated the configs of {described}.\n")),
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn add_config_splits_outside_brackets() {
        let pairs =
            parse_add_config("retention.ms=1000, cleanup.policy=[compact,delete],x=a=b").unwrap();
        assert_eq!(
            pairs,
            vec![
                ("retention.ms".to_string(), "1000".to_string()),
                ("cleanup.policy".to_string(), "compact,delete".to_string()),
                ("x".to_string(), "a=b".to_string()),
            ]
        );
        assert!(parse_add_config("novalue").is_err());
        assert!(parse_add_config("=1").is_err());
    }
}
