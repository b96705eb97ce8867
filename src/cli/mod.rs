//! The admin subcommands of `sluice`: `topics`, `groups` and `configs`.
//!
//! They speak the Kafka protocol to any broker (Sluice or Apache Kafka), as
//! Kafka's own `kafka-topics.sh`, `kafka-consumer-groups.sh` and
//! `kafka-configs.sh` do, whose flags and columns they follow. `main.rs`
//! sends a command line here when its first argument names one of them;
//! everything else runs the broker. Each command is one file:
//! `topics.rs`, `groups.rs` (list, describe), `reset.rs` (reset-offsets),
//! `configs.rs`; `client.rs` and `cluster.rs` are the small Kafka client
//! they share.

mod client;
mod cluster;
mod configs;
mod error;
mod groups;
mod output;
mod reset;
mod topics;

use std::ffi::OsString;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use cluster::Cluster;
pub use error::CliError;
use output::Format;

/// The subcommands, for `main.rs` to recognise and `sluice --help` to list.
pub const COMMANDS: &[(&str, &str)] = &[
    ("topics", "List, create, delete, describe and alter topics"),
    (
        "groups",
        "List and describe consumer groups, reset their offsets",
    ),
    (
        "configs",
        "Describe and alter topic, broker and group configs",
    ),
];

/// Whether this command line is an admin command (its first argument
/// names a subcommand) rather than the broker's.
pub fn is_admin_command(args: &[OsString]) -> bool {
    args.get(1)
        .and_then(|a| a.to_str())
        .is_some_and(|a| COMMANDS.iter().any(|(name, _)| *name == a))
}

/// Runs an admin command line (the first argument is the program name).
pub fn run(args: Vec<OsString>) -> ExitCode {
    let cli = match AdminCli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sluice: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli.run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sluice: {e}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Parser)]
#[command(
    name = "sluice",
    version,
    about = "Sluice's admin commands: they speak the Kafka protocol to any broker"
)]
struct AdminCli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    command: Command,
}

/// Flags every admin command takes, before or after the subcommand.
#[derive(Args)]
struct Common {
    /// The broker(s) to start from, HOST:PORT[,HOST:PORT...]
    #[arg(
        long,
        global = true,
        value_name = "HOST:PORT",
        env = "SLUICE_BOOTSTRAP_SERVER",
        default_value = "127.0.0.1:9092"
    )]
    bootstrap_server: String,
    /// How long to wait for a connection or an answer, in milliseconds
    #[arg(
        long,
        global = true,
        value_name = "MS",
        env = "SLUICE_REQUEST_TIMEOUT_MS",
        default_value_t = 30_000
    )]
    request_timeout_ms: u64,
    /// table for people, json for scripts
    #[arg(long, global = true, value_enum, default_value = "table")]
    output: Format,
}

#[derive(Subcommand)]
enum Command {
    /// List, create, delete, describe and alter topics (as kafka-topics.sh)
    #[command(subcommand)]
    Topics(topics::TopicsCommand),
    /// List and describe consumer groups, reset their offsets (as kafka-consumer-groups.sh)
    #[command(subcommand)]
    Groups(groups::GroupsCommand),
    /// Describe and alter topic, broker and group configs (as kafka-configs.sh)
    #[command(subcommand)]
    Configs(configs::ConfigsCommand),
}

impl AdminCli {
    async fn run(self) -> Result<(), CliError> {
        let timeout = Duration::from_millis(self.common.request_timeout_ms.max(1));
        let mut cluster = Cluster::connect(&self.common.bootstrap_server, timeout).await?;
        let format = self.common.output;
        match self.command {
            Command::Topics(c) => c.run(&mut cluster, format).await,
            Command::Groups(c) => c.run(&mut cluster, format).await,
            Command::Configs(c) => c.run(&mut cluster, format).await,
        }
    }
}

/// A request timeout as Kafka's `timeout_ms` fields take it.
fn timeout_ms(cluster: &Cluster) -> i32 {
    i32::try_from(cluster.timeout().as_millis()).unwrap_or(i32::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        AdminCli::command().debug_assert();
    }

    #[test]
    fn the_broker_help_lists_every_admin_command() {
        let help = sluice::config::command().render_long_help().to_string();
        for (name, _) in COMMANDS {
            assert!(
                help.contains(&format!("sluice {name} ")),
                "{name} missing from:\n{help}"
            );
        }
    }

    #[test]
    fn only_a_first_argument_naming_a_subcommand_is_an_admin_command() {
        let args = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
        assert!(is_admin_command(&args(&["sluice", "topics", "list"])));
        assert!(!is_admin_command(&args(&[
            "sluice",
            "--listen",
            "0.0.0.0:9092"
        ])));
        assert!(!is_admin_command(&args(&[
            "sluice",
            "--data-dir",
            "topics"
        ])));
        assert!(!is_admin_command(&args(&["sluice"])));
    }
}
