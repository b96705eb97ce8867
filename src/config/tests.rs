//! Unit tests of the configuration: today's flags, variables and file keys
//! keep working; Kafka's names, `--override`, precedence, conflicts, unknown
//! keys and boolean values follow the rules in [`super::sources`].
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;


#[test]
fn defaults_need_no_flags() {
    let c = Config::from_cli(Cli::parse_from(["sluice"])).unwrap();
    assert_eq!(c.listen, "127.0.0.1:9092");
    assert_eq!(c.data_dir, PathBuf::from("./sluice-data"));
    assert_eq!(c.node_id, 0);
    assert!(c.auto_create_topics);
    assert_eq!(c.default_partitions, 1);
}

#[test]
fn flags_win_over_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sluice.toml");
    std::fs::write(
        &path,
        "default-partitions = 3\nlisten = \"127.0.0.1:1\"\ndata_dir = \"/x\"\n",
    )
    .unwrap();
    let cli = Cli::parse_from([
        "sluice",
        "--config",
        path.to_str().unwrap(),
        "--listen",
        "127.0.0.1:2",
    ]);
    let c = Config::from_cli(cli).unwrap();
    assert_eq!(c.default_partitions, 3);
    assert_eq!(c.listen, "127.0.0.1:2");
    assert_eq!(c.data_dir, PathBuf::from("/x"));
}

#[test]
fn unknown_file_keys_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sluice.toml");
    std::fs::write(&path, "no-such-option = 1\n").unwrap();
    let cli = Cli::parse_from(["sluice", "--config", path.to_str().unwrap()]);
    assert!(matches!(
        Config::from_cli(cli),
        Err(ConfigError::Parse { .. })
    ));
}

#[test]
fn bad_values_are_refused() {
    let cli = Cli::parse_from(["sluice", "--default-partitions", "0"]);
    assert!(Config::from_cli(cli).is_err());
    let cli = Cli::parse_from(["sluice", "--listen", "nohost"]);
    assert!(Config::from_cli(cli).is_err());
}

#[test]
fn fsync_modes_parse() {
    assert_eq!("always".parse::<FsyncMode>(), Ok(FsyncMode::Always));
    assert_eq!("never".parse::<FsyncMode>(), Ok(FsyncMode::Never));
    assert_eq!(
        "interval=250".parse::<FsyncMode>(),
        Ok(FsyncMode::Interval(250))
    );
    assert!("interval=0".parse::<FsyncMode>().is_err());
    assert!("sometimes".parse::<FsyncMode>().is_err());
    let c = Config::from_cli(Cli::parse_from([
        "sluice",
        "--fsync",
        "interval=5",
        "--ephemeral",
    ]))
    .unwrap();
    assert_eq!(c.fsync, FsyncMode::Interval(5));
    assert!(c.ephemeral);
}

#[test]
fn group_options() {
    let c = Config::from_cli(Cli::parse_from(["sluice"])).unwrap();
    assert_eq!(c.group_initial_rebalance_delay_ms, 3000);
    assert_eq!(
        (
            c.group_min_session_timeout_ms,
            c.group_max_session_timeout_ms
        ),
        (6000, 1_800_000)
    );
    assert_eq!(
        (c.offsets_retention_minutes, c.offsets_topic_partitions),
        (10_080, 1)
    );
    let c = Config::from_cli(Cli::parse_from([
        "sluice",
        "--group-initial-rebalance-delay-ms",
        "0",
        "--offsets-topic-partitions",
        "4",
    ]))
    .unwrap();
    assert_eq!(
        (
            c.group_initial_rebalance_delay_ms,
            c.offsets_topic_partitions
        ),
        (0, 4)
    );
    let cli = Cli::parse_from(["sluice", "--group-max-session-timeout-ms", "10"]);
    assert!(Config::from_cli(cli).is_err(), "max below min");
    let cli = Cli::parse_from(["sluice", "--offsets-topic-partitions", "0"]);
    assert!(Config::from_cli(cli).is_err());
}

#[test]
fn connection_options() {
    let c = Config::from_cli(Cli::parse_from(["sluice"])).unwrap();
    assert_eq!(c.connections_max_idle_ms, 600_000);
    assert_eq!(c.shutdown_timeout_ms, 5_000);
    assert_eq!(c.max_queued_reply_bytes_per_connection, 64 << 20);
    assert_eq!(c.max_queued_reply_bytes, 512 << 20);
    let c = Config::from_cli(Cli::parse_from([
        "sluice",
        "--connections-max-idle-ms",
        "300",
        "--shutdown-timeout-ms",
        "0",
        "--max-queued-reply-bytes-per-connection",
        "1024",
    ]))
    .unwrap();
    assert_eq!(
        (
            c.connections_max_idle_ms,
            c.shutdown_timeout_ms,
            c.max_queued_reply_bytes_per_connection
        ),
        (300, 0, 1024)
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sluice.toml");
    std::fs::write(
        &path,
        "\"connections.max.idle.ms\" = 1000\nmax-queued-reply-bytes = 4096\n",
    )
    .unwrap();
    let c = Config::from_cli(Cli::parse_from([
        "sluice",
        "--config",
        path.to_str().unwrap(),
    ]))
    .unwrap();
    assert_eq!(
        (c.connections_max_idle_ms, c.max_queued_reply_bytes),
        (1000, 4096)
    );
    let cli = Cli::parse_from(["sluice", "--connections-max-idle-ms", "0"]);
    assert!(Config::from_cli(cli).is_err());
}

#[test]
fn max_partitions_option() {
    let c = Config::from_cli(Cli::parse_from(["sluice"])).unwrap();
    assert_eq!(c.max_partitions, DEFAULT_MAX_PARTITIONS);
    let c = Config::from_cli(Cli::parse_from(["sluice", "--max-partitions", "50"])).unwrap();
    assert_eq!(c.max_partitions, 50);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sluice.toml");
    std::fs::write(&path, "max-partitions = 7\n").unwrap();
    let cli = Cli::parse_from(["sluice", "--config", path.to_str().unwrap()]);
    assert_eq!(Config::from_cli(cli).unwrap().max_partitions, 7);
    let cli = Cli::parse_from(["sluice", "--max-partitions", "0"]);
    assert!(Config::from_cli(cli).is_err());
}

#[test]
fn host_port_split() {
    assert_eq!(
        split_host_port("[::1]:9092").unwrap(),
        ("::1".to_string(), 9092)
    );
    assert!(split_host_port("h:99999").is_err());
}
