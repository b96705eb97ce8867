//! Unit tests of the configuration: today's flags, variables and file keys
//! keep working; Kafka's names, `--override`, precedence, conflicts, unknown
//! keys and boolean values follow the rules in [`super::sources`].
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::options::Shown;
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
    assert_eq!(c.group_initial_rebalance_delay_ms, None);
    assert_eq!(c.initial_rebalance_delay_ms(), 3000);
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
        (Some(0), 4)
    );
    // Ephemeral: 0 unless set.
    let c = Config::from_cli(Cli::parse_from(["sluice", "--ephemeral"])).unwrap();
    assert_eq!(c.initial_rebalance_delay_ms(), 0);
    let c = Config::from_cli(Cli::parse_from([
        "sluice",
        "--ephemeral",
        "--group-initial-rebalance-delay-ms",
        "3000",
    ]))
    .unwrap();
    assert_eq!(c.initial_rebalance_delay_ms(), 3000);
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

/// Resolves `args` (after the program name) with `env` as the whole
/// environment, so tests do not depend on or change the process's.
fn resolve(args: &[&str], env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let argv = std::iter::once("sluice").chain(args.iter().copied());
    let env = env.iter().map(|(k, v)| ((*k).into(), (*v).into()));
    Cli::try_parse_with_env(argv, env).unwrap().resolve()
}

/// A config file named `name` holding `text`, and its path.
fn file(name: &str, text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    let path = path.to_str().unwrap().to_string();
    (dir, path)
}

fn with_file(text: &str) -> Result<Config, ConfigError> {
    let (_dir, path) = file("sluice.toml", text);
    resolve(&["--config", &path], &[]).map(|s| s.config)
}

fn error_text(r: Result<impl std::fmt::Debug, ConfigError>) -> String {
    r.expect_err("an error").to_string()
}

#[test]
fn kafka_names_in_the_file_bare_or_quoted() {
    let c = with_file(
        "num.partitions = 3\nauto.create.topics.enable = false\nlog.retention.ms = 60000\n",
    )
    .unwrap();
    assert_eq!(
        (c.default_partitions, c.auto_create_topics, c.retention_ms),
        (3, false, 60_000)
    );
    let c = with_file("\"num.partitions\" = 4\n[log]\n\"retention.bytes\" = 99\n").unwrap();
    assert_eq!((c.default_partitions, c.retention_bytes), (4, 99));
}

#[test]
fn every_kafka_name_sets_its_option() {
    let c = with_file(
        r#"
message.max.bytes = 2000
log.segment.bytes = 4096
log.retention.bytes = 12345
connections.max.idle.ms = 700
group.initial.rebalance.delay.ms = 10
group.min.session.timeout.ms = 100
group.max.session.timeout.ms = 200
offsets.retention.minutes = 5
offsets.topic.num.partitions = 7
transaction.state.log.num.partitions = 6
transaction.max.timeout.ms = 1000
node.id = 4
socket.request.max.bytes = 65536
max.connections = 11
log.retention.check.interval.ms = 500
log.flush.interval.ms = 250
log.roll.ms = 9000
listeners = "PLAINTEXT://127.0.0.1:9093"
advertised.listeners = "PLAINTEXT://broker.example:19093"
log.dirs = "/var/lib/sluice"
"#,
    )
    .unwrap();
    assert_eq!(c.max_message_bytes, 2000);
    assert_eq!(c.segment_bytes, 4096);
    assert_eq!(c.retention_bytes, 12345);
    assert_eq!(c.connections_max_idle_ms, 700);
    assert_eq!(c.group_initial_rebalance_delay_ms, Some(10));
    assert_eq!(
        (
            c.group_min_session_timeout_ms,
            c.group_max_session_timeout_ms
        ),
        (100, 200)
    );
    assert_eq!(c.offsets_retention_minutes, 5);
    assert_eq!(c.offsets_topic_partitions, 7);
    assert_eq!(c.transaction_state_partitions, 6);
    assert_eq!(c.transaction_max_timeout_ms, 1000);
    assert_eq!(c.node_id, 4);
    assert_eq!(c.max_frame_bytes, 65536);
    assert_eq!(c.max_connections, 11);
    assert_eq!(c.retention_check_interval_ms, 500);
    assert_eq!(c.fsync, FsyncMode::Interval(250));
    assert_eq!(c.segment_ms, Some(9000));
    assert_eq!(c.listen, "127.0.0.1:9093");
    assert_eq!(
        c.advertised_listener.as_deref(),
        Some("broker.example:19093")
    );
    assert_eq!(c.data_dir, PathBuf::from("/var/lib/sluice"));
    assert_eq!(with_file("broker.id = 9\n").unwrap().node_id, 9);
    let c = with_file("log.roll.hours = 2\n").unwrap();
    assert_eq!(c.segment_ms, Some(7_200_000));
    assert!(with_file("log.flush.interval.ms = 0\n").is_err());
}

#[test]
fn overrides_take_kafka_names_and_ours() {
    let s = resolve(
        &[
            "--override",
            "num.partitions=3",
            "--override",
            "auto.create.topics.enable=false",
            "--override",
            "log.retention.ms=60000",
            "--override",
            "max-partitions=50",
        ],
        &[],
    )
    .unwrap();
    let c = s.config;
    assert_eq!(
        (
            c.default_partitions,
            c.auto_create_topics,
            c.retention_ms,
            c.max_partitions
        ),
        (3, false, 60_000, 50)
    );
    // The same key again: the last one wins, as in Kafka.
    let c = resolve(
        &[
            "--override",
            "num.partitions=3",
            "--override",
            "num.partitions=5",
        ],
        &[],
    )
    .unwrap()
    .config;
    assert_eq!(c.default_partitions, 5);
    let e = error_text(resolve(&["--override", "num.partitions"], &[]));
    assert!(e.contains("KEY=VALUE"), "{e}");
    let e = error_text(resolve(&["--override", "num.partitions=many"], &[]));
    assert!(e.contains("num.partitions") && e.contains("many"), "{e}");
}

/// Flags over environment over `--override` over the file over defaults.
#[test]
fn precedence_of_the_sources() {
    let (_dir, path) = file(
        "sluice.toml",
        "num.partitions = 2\nnode-id = 2\nmax-connections = 2\nlog.segment.bytes = 2048\n",
    );
    let args = [
        "--config",
        &path,
        "--override",
        "default-partitions=3",
        "--override",
        "broker.id=3",
        "--override",
        "max.connections=3",
        "--node-id",
        "5",
    ];
    let env = [("SLUICE_NODE_ID", "4"), ("SLUICE_MAX_CONNECTIONS", "4")];
    let c = resolve(&args, &env).unwrap().config;
    assert_eq!(c.node_id, 5, "the flag wins");
    assert_eq!(c.max_connections, 4, "the environment beats --override");
    assert_eq!(c.default_partitions, 3, "--override beats the file");
    assert_eq!(c.segment_bytes, 2048, "the file beats the default");
    assert_eq!(c.retention_bytes, -1, "the default");
    // A bad value is reported even where a higher source hides it.
    let e = resolve(
        &["--override", "listeners=SSL://h:1", "--listen", "h:1"],
        &[],
    );
    assert!(matches!(e, Err(ConfigError::Override { .. })), "{e:?}");
    // Today's spellings of file keys: dashes, underscores, `listen_address`.
    let c = with_file("listen_address = \"127.0.0.1:5\"\nmax_partitions = 9\n").unwrap();
    assert_eq!((c.listen.as_str(), c.max_partitions), ("127.0.0.1:5", 9));
    // SLUICE_CONFIG names the file when --config does not.
    let c = resolve(&[], &[("SLUICE_CONFIG", &path)]).unwrap().config;
    assert_eq!(c.default_partitions, 2);
}

#[test]
fn our_name_and_kafkas_in_one_source_are_refused() {
    let e = error_text(with_file("default-partitions = 2\nnum.partitions = 3\n"));
    assert!(
        e.contains("`default-partitions`") && e.contains("`num.partitions`"),
        "{e}"
    );
    let e = error_text(with_file("node.id = 1\nbroker.id = 2\n"));
    assert!(e.contains("`node.id`") && e.contains("`broker.id`"), "{e}");
    let e = error_text(resolve(
        &[
            "--override",
            "retention-ms=5",
            "--override",
            "log.retention.hours=1",
        ],
        &[],
    ));
    assert!(
        e.contains("`retention-ms`") && e.contains("`log.retention.hours`"),
        "{e}"
    );
    // One key twice in the file (quoted and bare) is refused too.
    let e = error_text(with_file("\"num.partitions\" = 2\nnum.partitions = 3\n"));
    assert!(e.contains("twice"), "{e}");
    // Different sources are no conflict: the higher one wins.
    let (_dir, path) = file("sluice.toml", "default-partitions = 2\n");
    let c = resolve(&["--config", &path, "--override", "num.partitions=3"], &[])
        .unwrap()
        .config;
    assert_eq!(c.default_partitions, 3);
}

/// Kafka's order: log.retention.ms over .minutes over .hours.
/// A value out of range says how it was given.
#[test]
fn range_errors_name_the_key_given() {
    let e = error_text(with_file("num.partitions = 0\n"));
    assert!(
        e.contains("default-partitions") && e.contains("`num.partitions` in"),
        "{e}"
    );
    let e = error_text(resolve(&["--override", "num.partitions=0"], &[]));
    assert!(e.contains("--override num.partitions=0"), "{e}");
    let e = error_text(resolve(&[], &[("SLUICE_DEFAULT_PARTITIONS", "0")]));
    assert!(e.contains("SLUICE_DEFAULT_PARTITIONS"), "{e}");
}

#[test]
fn retention_units_follow_kafkas_precedence() {
    let c = with_file("log.retention.hours = 1\n").unwrap();
    assert_eq!(c.retention_ms, 3_600_000);
    let c = with_file("log.retention.hours = 1\nlog.retention.minutes = 2\n").unwrap();
    assert_eq!(c.retention_ms, 120_000);
    let c =
        with_file("log.retention.minutes = 2\nlog.retention.ms = 5000\nlog.retention.hours = 1\n")
            .unwrap();
    assert_eq!(c.retention_ms, 5000);
    let c = with_file("log.retention.hours = -1\n").unwrap();
    assert_eq!(c.retention_ms, -1, "negative hours keep data forever");
    assert!(with_file("log.retention.hours = 9223372036854775807\n").is_err());
    let c = with_file("log.roll.hours = 1\nlog.roll.ms = 10\n").unwrap();
    assert_eq!(c.segment_ms, Some(10));
}

#[test]
fn log_dirs_must_name_one_directory() {
    assert_eq!(
        with_file("log.dirs = \"/a\"\n").unwrap().data_dir,
        PathBuf::from("/a")
    );
    assert_eq!(
        with_file("log.dirs = [\"/a\"]\n").unwrap().data_dir,
        PathBuf::from("/a")
    );
    for text in ["log.dirs = \"/a,/b\"\n", "log.dirs = [\"/a\", \"/b\"]\n"] {
        let e = error_text(with_file(text));
        assert!(e.contains("2 directories") && e.contains("one"), "{e}");
    }
    let c = with_file("log.dir = \"/old\"\nlog.dirs = \"/new\"\n").unwrap();
    assert_eq!(c.data_dir, PathBuf::from("/new"), "log.dirs wins");
}

#[test]
fn listeners_are_plaintext_only() {
    let c = with_file("listeners = \"PLAINTEXT://:9093\"\n").unwrap();
    assert_eq!(
        c.listen, "0.0.0.0:9093",
        "an empty host binds every interface"
    );
    let c = with_file("listeners = \"PLAINTEXT://[::1]:9093\"\n").unwrap();
    assert_eq!(c.listen, "[::1]:9093");
    for bad in ["SSL://:9093", "SASL_PLAINTEXT://h:9093"] {
        let e = error_text(with_file(&format!("listeners = \"{bad}\"\n")));
        assert!(e.contains("only PLAINTEXT"), "{e}");
    }
    let e = error_text(with_file(
        "listeners = \"PLAINTEXT://:9092,PLAINTEXT://:9093\"\n",
    ));
    assert!(e.contains("more than one listener"), "{e}");
    let e = error_text(with_file("listeners = \"127.0.0.1:9092\"\n"));
    assert!(e.contains("PROTOCOL://HOST:PORT"), "{e}");
    assert!(with_file("advertised.listeners = \"PLAINTEXT://:9093\"\n").is_err());
}

#[test]
fn unknown_keys_name_the_closest_known_one() {
    let e = error_text(with_file("num.partition = 3\n"));
    assert!(
        e.contains("unknown option `num.partition`; did you mean `num.partitions`?"),
        "{e}"
    );
    let e = error_text(resolve(&["--override", "defualt_partitions=2"], &[]));
    assert!(e.contains("did you mean `default-partitions`?"), "{e}");
    let e = error_text(with_file("[log]\nretention.hour = 3\n"));
    assert!(e.contains("did you mean `log.retention.hours`?"), "{e}");
    assert!(matches!(
        resolve(&["--override", "no.such.thing=1"], &[]),
        Err(ConfigError::Override { .. })
    ));
}

#[test]
fn booleans_are_true_false_one_or_zero() {
    for (value, expected) in [("1", true), ("0", false), ("TRUE", true), ("False", false)] {
        let env = [
            ("SLUICE_AUTO_CREATE_TOPICS", value),
            ("SLUICE_EPHEMERAL", value),
        ];
        let c = resolve(&[], &env).unwrap().config;
        assert_eq!(
            (c.auto_create_topics, c.ephemeral),
            (expected, expected),
            "{value}"
        );
    }
    for bad in ["yes", "on", "2", "maybe"] {
        let e = resolve(&[], &[("SLUICE_AUTO_CREATE_TOPICS", bad)]);
        assert!(
            matches!(&e, Err(ConfigError::Env { var, .. }) if var == "SLUICE_AUTO_CREATE_TOPICS"),
            "{bad}: {e:?}"
        );
        assert!(resolve(&[], &[("SLUICE_EPHEMERAL", bad)]).is_err(), "{bad}");
    }
    // An empty variable counts as unset.
    assert!(
        resolve(&[], &[("SLUICE_EPHEMERAL", "")])
            .unwrap()
            .config
            .auto_create_topics
    );
    let c = resolve(&["--auto-create-topics", "0"], &[]).unwrap().config;
    assert!(!c.auto_create_topics);
    let c = with_file("auto-create-topics = \"false\"\nephemeral = true\n").unwrap();
    assert!(!c.auto_create_topics && c.ephemeral);
}

#[test]
fn every_option_has_a_flag_a_variable_and_a_file_key() {
    command().debug_assert();
    for opt in OPTIONS {
        let Shown::Value(value) = opt.default else {
            continue;
        };
        let flag = format!("--{}", opt.name);
        let args: Vec<&str> = if opt.is_switch() {
            vec![&flag]
        } else {
            vec![&flag, value]
        };
        resolve(&args, &[]).unwrap_or_else(|e| panic!("{flag}: {e}"));
        resolve(&[], &[(&opt.env_var(), value)])
            .unwrap_or_else(|e| panic!("{}: {e}", opt.env_var()));
        let toml = format!("{} = \"{value}\"\n", opt.name.replace('-', "_"));
        with_file(&toml).unwrap_or_else(|e| panic!("{toml}: {e}"));
    }
}

/// The default each option shows is the default the broker runs with.
#[test]
fn shown_defaults_are_the_real_ones() {
    let defaults = format!("{:?}", Settings::command_defaults());
    for opt in OPTIONS {
        if let Shown::Value(value) = opt.default {
            let mut s = Settings::command_defaults();
            (opt.set)(&mut s, value).unwrap();
            assert_eq!(format!("{s:?}"), defaults, "{}", opt.name);
        }
    }
}

#[test]
fn properties_files_read_as_kafkas() {
    let (_dir, path) = file(
        "server.properties",
        "# Kafka's form\nnum.partitions=3\n\nlog.dirs = /tmp/k\n! also a comment\nauto.create.topics.enable: false\n",
    );
    let c = resolve(&["--config", &path], &[]).unwrap().config;
    assert_eq!(c.default_partitions, 3);
    assert_eq!(c.data_dir, PathBuf::from("/tmp/k"));
    assert!(!c.auto_create_topics);
    let (_dir, path) = file("bad.properties", "num.partitions\n");
    let e = error_text(resolve(&["--config", &path], &[]));
    assert!(e.contains("line 1"), "{e}");
}

#[test]
fn log_format_option() {
    assert_eq!(resolve(&[], &[]).unwrap().log_format, LogFormat::Text);
    let s = resolve(&["--log-format", "json"], &[]).unwrap();
    assert_eq!(s.log_format, LogFormat::Json);
    let s = resolve(&[], &[("SLUICE_LOG_FORMAT", "JSON")]).unwrap();
    assert_eq!(s.log_format, LogFormat::Json);
    let (_dir, path) = file("sluice.toml", "log-format = \"json\"\n");
    let s = resolve(&["--config", &path], &[]).unwrap();
    assert_eq!(s.log_format, LogFormat::Json);
    assert!(resolve(&["--log-format", "yaml"], &[]).is_err());
}

#[test]
fn set_takes_our_names_and_kafkas() {
    let mut c = Config::default();
    c.set("num.partitions", "3").unwrap();
    c.set("auto-create-topics", "false").unwrap();
    c.set("log.retention.ms", "60000").unwrap();
    assert_eq!(c.default_partitions, 3);
    assert!(!c.auto_create_topics);
    assert_eq!(c.retention_ms, 60000);
    let e = c.set("num.partition", "4").unwrap_err().to_string();
    assert!(e.contains("did you mean `num.partitions`"), "{e}");
    assert!(c.set("num.partitions", "many").is_err());
    assert_eq!(c.default_partitions, 3, "a refused value changes nothing");
}

#[test]
fn values_that_would_overflow_a_timer_or_the_connection_limit_are_refused() {
    for args in [
        &["sluice", "--max-connections", "18446744073709551615"][..],
        &[
            "sluice",
            "--retention-check-interval-ms",
            "18446744073709551615",
        ],
        &[
            "sluice",
            "--connections-max-idle-ms",
            "18446744073709551615",
        ],
        &["sluice", "--fsync", "interval=18446744073709551615"],
    ] {
        let cli = Cli::parse_from(args);
        assert!(Config::from_cli(cli).is_err(), "{args:?}");
    }
    let cli = Cli::parse_from(["sluice", "--connections-max-idle-ms", "31536000000"]);
    assert!(Config::from_cli(cli).is_ok());
}

#[test]
fn expiry_options_take_kafka_names_and_refuse_zero() {
    let c = with_file(
        "transactional.id.expiration.ms = 1000\n\
         transaction.remove.expired.transaction.cleanup.interval.ms = 20\n\
         producer.id.expiration.ms = 3000\n\
         producer.id.expiration.check.interval.ms = 40\n",
    )
    .unwrap();
    assert_eq!(c.transactional_id_expiration_ms, 1000);
    assert_eq!(
        c.transaction_remove_expired_transaction_cleanup_interval_ms,
        20
    );
    assert_eq!(c.producer_id_expiration_ms, 3000);
    assert_eq!(c.producer_id_expiration_check_interval_ms, 40);
    let d = Config::default();
    assert_eq!(
        (
            d.transactional_id_expiration_ms,
            d.transaction_remove_expired_transaction_cleanup_interval_ms,
            d.producer_id_expiration_ms,
            d.producer_id_expiration_check_interval_ms
        ),
        (604_800_000, 3_600_000, 86_400_000, 600_000)
    );
    for key in [
        "transactional.id.expiration.ms",
        "transaction.remove.expired.transaction.cleanup.interval.ms",
        "producer.id.expiration.ms",
        "producer.id.expiration.check.interval.ms",
    ] {
        let error = error_text(with_file(&format!("{key} = 0\n")));
        assert!(error.contains("must be at least 1"), "{key} = 0: {error}");
    }
}

#[test]
fn compression_type_by_flag_and_kafka_name() {
    assert_eq!(Config::default().compression_type, "producer");
    let cli = Cli::parse_from(["sluice", "--compression-type", "gzip"]);
    assert_eq!(Config::from_cli(cli).unwrap().compression_type, "gzip");
    let c = with_file("compression.type = \"zstd\"\n").unwrap();
    assert_eq!(c.compression_type, "zstd");
    let cli = Cli::parse_from(["sluice", "--compression-type", "brotli"]);
    assert!(Config::from_cli(cli).is_err());
    let bad = Config {
        compression_type: "none".into(),
        ..Config::default()
    };
    assert!(bad.validate().is_err());
}

/// The command serves HTTP on 127.0.0.1:8082 unless told otherwise; `none`
/// (or an empty value) turns it off; a library's `Config` has none.
#[test]
fn the_command_serves_http_on_8082_unless_told_otherwise() {
    let c = resolve(&[], &[]).unwrap().config;
    assert_eq!(c.http_listen.as_deref(), Some("127.0.0.1:8082"));
    let c = resolve(&["--http-listen", "127.0.0.1:0"], &[])
        .unwrap()
        .config;
    assert_eq!(c.http_listen.as_deref(), Some("127.0.0.1:0"));
    let c = resolve(&["--http-listen", "none"], &[]).unwrap().config;
    assert_eq!(c.http_listen, None);
    let c = resolve(&[], &[("SLUICE_HTTP_LISTEN", "none")])
        .unwrap()
        .config;
    assert_eq!(c.http_listen, None);
    assert_eq!(Config::default().http_listen, None);
    let e = error_text(resolve(&["--http-listen", "nonsense"], &[]));
    assert!(e.contains("http-listen"), "{e}");
}

#[test]
fn topics_and_ready_file_options() {
    let c = Config::from_cli(Cli::parse_from([
        "sluice",
        "--topics",
        "orders:3,payments:1:cleanup.policy=[compact,delete]",
        "--ready-file",
        "/tmp/sluice.ready",
    ]))
    .unwrap();
    assert_eq!(c.topics.len(), 2);
    assert_eq!(c.topics[1].configs["cleanup.policy"], "compact,delete");
    assert_eq!(c.ready_file, Some(PathBuf::from("/tmp/sluice.ready")));
    let e = Config::from_cli(Cli::parse_from(["sluice", "--topics", "orders:0"])).unwrap_err();
    assert!(e.to_string().contains("topics"), "{e}");
}
