//! The admin CLI (`sluice topics|groups|configs`): the built binary run
//! against a broker started in the test, its tables and JSON read back,
//! Kafka's errors checked, and a real librdkafka consumer group for lag and
//! offset resets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{client_config, producer, unique_topic, TestBroker};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::FutureRecord;
use rdkafka::{Offset, TopicPartitionList};
use serde_json::Value;

/// What one run of the binary left.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        assert_eq!(self.code, 0, "stderr: {}", self.stderr);
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }

    fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    /// Fails with exit status 1 and stderr naming `error`.
    fn fails_with(self, error: &str) -> Run {
        assert_eq!(
            self.code, 1,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        assert!(
            self.stderr.contains(error),
            "want {error} in: {}",
            self.stderr
        );
        self
    }

    /// The table's rows (header left out), split at whitespace.
    fn rows(&self) -> Vec<Vec<String>> {
        self.stdout
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().map(str::to_string).collect())
            .collect()
    }
}

/// Runs `sluice ARGS` against `bootstrap` (given as the environment variable,
/// as CI would) and waits for it, at most a minute.
async fn sluice(bootstrap: &str, args: &[&str]) -> Run {
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .env("SLUICE_BOOTSTRAP_SERVER", bootstrap)
        .env("SLUICE_REQUEST_TIMEOUT_MS", "20000")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), child)
        .await
        .expect("sluice finishes within a minute")
        .expect("sluice runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

async fn start() -> TestBroker {
    TestBroker::start_with(|c| c.group_initial_rebalance_delay_ms = Some(0)).await
}

#[tokio::test(flavor = "multi_thread")]
async fn topics_create_list_describe_alter_delete() {
    let b = start().await;
    let bs = b.bootstrap();
    let topic = unique_topic("cli-topics");

    let created = sluice(
        &bs,
        &[
            "topics",
            "create",
            "--topic",
            &topic,
            "--partitions",
            "3",
            "--config",
            "retention.ms=600000",
        ],
    )
    .await
    .ok();
    assert_eq!(created.stdout, format!("Created topic {topic}.\n"));
    // Regression: the broker's message did not name the topic as Kafka's does.
    sluice(&bs, &["topics", "create", "--topic", &topic])
        .await
        .fails_with(&format!(
            "sluice: TOPIC_ALREADY_EXISTS: Topic '{topic}' already exists.\n"
        ));
    let again = sluice(
        &bs,
        &[
            "topics",
            "create",
            "--topic",
            &topic,
            "--if-not-exists",
            "--output",
            "json",
        ],
    )
    .await
    .json();
    assert_eq!(again["created"], false);
    sluice(
        &bs,
        &[
            "topics",
            "create",
            "--topic",
            "bad/name",
            "--partitions",
            "1",
        ],
    )
    .await
    .fails_with("INVALID_TOPIC_EXCEPTION");
    sluice(
        &bs,
        &[
            "topics",
            "create",
            "--topic",
            &unique_topic("rf"),
            "--replication-factor",
            "3",
        ],
    )
    .await
    .fails_with("INVALID_REPLICATION_FACTOR");

    // list: a table with the header Kafka users know, and JSON.
    let list = sluice(&bs, &["topics", "list"]).await.ok();
    assert!(list.stdout.starts_with("TOPIC "), "{}", list.stdout);
    assert!(
        list.rows()
            .contains(&vec![topic.clone(), "3".into(), "1".into()]),
        "{}",
        list.stdout
    );
    let listed = sluice(
        &bs,
        &["topics", "list", "--exclude-internal", "--output", "json"],
    )
    .await
    .json();
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&topic.as_str()) && !names.contains(&"__consumer_offsets"),
        "{names:?}"
    );

    // describe: partitions with leader, replicas, ISR; the config set on the topic.
    let described = sluice(&bs, &["topics", "describe", "--topic", &topic])
        .await
        .ok();
    assert!(
        described.stdout.contains("retention.ms=600000"),
        "{}",
        described.stdout
    );
    let (summary, partitions) = described.stdout.split_once("\n\n").unwrap();
    assert!(
        summary.starts_with("TOPIC ") && summary.contains("PARTITIONS"),
        "{summary}"
    );
    assert!(
        partitions.starts_with("TOPIC ") && partitions.contains("LEADER"),
        "{partitions}"
    );
    let partition_rows = partitions
        .lines()
        .skip(1)
        .filter(|l| l.starts_with(&format!("{topic} ")))
        .count();
    assert_eq!(partition_rows, 3, "{}", described.stdout);
    let json = sluice(
        &bs,
        &["topics", "describe", "--topic", &topic, "--output", "json"],
    )
    .await
    .json();
    let t = &json[0];
    assert_eq!(t["name"], topic.as_str());
    assert_eq!(t["partition_count"], 3);
    assert_eq!(t["configs"]["retention.ms"], "600000");
    assert_eq!(
        t["topic_id"].as_str().unwrap().len(),
        22,
        "Kafka's base64 topic id"
    );
    let leader = t["partitions"][0]["leader"].as_i64().unwrap();
    assert_eq!(t["partitions"][2]["replicas"], serde_json::json!([leader]));
    sluice(&bs, &["topics", "describe", "--topic", "no-such-topic"])
        .await
        .fails_with("UNKNOWN_TOPIC_OR_PARTITION: topic 'no-such-topic'");

    // alter: more partitions; fewer is Kafka's INVALID_PARTITIONS.
    let altered = sluice(
        &bs,
        &[
            "topics",
            "alter",
            "--topic",
            &topic,
            "--partitions",
            "5",
            "--output",
            "json",
        ],
    )
    .await
    .json();
    assert_eq!(altered["partitions"], 5);
    let json = sluice(
        &bs,
        &["topics", "describe", "--topic", &topic, "--output", "json"],
    )
    .await
    .json();
    assert_eq!(json[0]["partition_count"], 5);
    sluice(
        &bs,
        &["topics", "alter", "--topic", &topic, "--partitions", "2"],
    )
    .await
    .fails_with("INVALID_PARTITIONS");
    sluice(
        &bs,
        &[
            "topics",
            "alter",
            "--topic",
            "no-such-topic",
            "--partitions",
            "2",
        ],
    )
    .await
    .fails_with("UNKNOWN_TOPIC_OR_PARTITION");

    // delete, then it is gone; --if-exists makes a second delete succeed.
    let deleted = sluice(&bs, &["topics", "delete", "--topic", &topic])
        .await
        .ok();
    assert_eq!(deleted.stdout, format!("Deleted topic {topic}.\n"));
    sluice(&bs, &["topics", "delete", "--topic", &topic])
        .await
        .fails_with("UNKNOWN_TOPIC_OR_PARTITION");
    let gone = sluice(
        &bs,
        &[
            "topics",
            "delete",
            "--topic",
            &topic,
            "--if-exists",
            "--output",
            "json",
        ],
    )
    .await
    .json();
    assert_eq!(gone["deleted"], false);
    let listed = sluice(&bs, &["topics", "list", "--output", "json"])
        .await
        .json();
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["name"] != topic.as_str()));
}

#[tokio::test(flavor = "multi_thread")]
async fn configs_describe_and_alter_topics_brokers_and_groups() {
    let b = start().await;
    let bs = b.bootstrap();
    let topic = unique_topic("cli-configs");
    sluice(
        &bs,
        &["topics", "create", "--topic", &topic, "--partitions", "1"],
    )
    .await
    .ok();
    let topic_entity = ["--entity-type", "topics", "--entity-name", topic.as_str()];

    // Nothing set yet: the table has its header only; --all shows defaults.
    let none = sluice(&bs, &[&["configs", "describe"][..], &topic_entity].concat())
        .await
        .ok();
    assert_eq!(none.stdout, "NAME  VALUE  SOURCE  SENSITIVE  READ-ONLY\n");
    let all = sluice(
        &bs,
        &[
            &["configs", "describe", "--all", "--output", "json"][..],
            &topic_entity,
        ]
        .concat(),
    )
    .await
    .json();
    let retention = all["configs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "retention.ms")
        .unwrap()
        .clone();
    assert_eq!(retention["source"], "DEFAULT_CONFIG");

    // Set two (one a list in brackets), then delete one.
    let set = sluice(
        &bs,
        &[
            &[
                "configs",
                "alter",
                "--add-config",
                "retention.ms=3600000,cleanup.policy=[compact,delete]",
            ][..],
            &topic_entity,
        ]
        .concat(),
    )
    .await
    .ok();
    assert_eq!(
        set.stdout,
        format!("Updated the configs of topic '{topic}'.\n")
    );
    let table = sluice(&bs, &[&["configs", "describe"][..], &topic_entity].concat())
        .await
        .ok();
    assert!(
        table.rows().contains(&vec![
            "retention.ms".into(),
            "3600000".into(),
            "DYNAMIC_TOPIC_CONFIG".into(),
            "false".into(),
            "false".into()
        ]),
        "{}",
        table.stdout
    );
    assert!(
        table
            .rows()
            .iter()
            .any(|r| r[0] == "cleanup.policy" && r[1] == "compact,delete"),
        "{}",
        table.stdout
    );
    sluice(
        &bs,
        &[
            &[
                "configs",
                "alter",
                "--delete-config",
                "retention.ms",
                "--output",
                "json",
            ][..],
            &topic_entity,
        ]
        .concat(),
    )
    .await
    .json();
    let json = sluice(
        &bs,
        &[
            &["configs", "describe", "--output", "json"][..],
            &topic_entity,
        ]
        .concat(),
    )
    .await
    .json();
    let names: Vec<&str> = json["configs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["cleanup.policy"]);

    // Kafka's refusals: a bad value, an unknown topic.
    sluice(
        &bs,
        &[
            &["configs", "alter", "--add-config", "retention.ms=soon"][..],
            &topic_entity,
        ]
        .concat(),
    )
    .await
    .fails_with("sluice: INVALID_CONFIG: ");
    sluice(
        &bs,
        &[
            "configs",
            "describe",
            "--entity-type",
            "topics",
            "--entity-name",
            "no-such-topic",
        ],
    )
    .await
    .fails_with("UNKNOWN_TOPIC_OR_PARTITION");
    sluice(&bs, &[&["configs", "alter"][..], &topic_entity].concat())
        .await
        .fails_with("nothing to alter");

    // The broker: by its id, and the cluster-wide default.
    let described = sluice(
        &bs,
        &["topics", "describe", "--topic", &topic, "--output", "json"],
    )
    .await
    .json();
    let node = described[0]["partitions"][0]["leader"].to_string();
    let broker = sluice(
        &bs,
        &[
            "configs",
            "describe",
            "--entity-type",
            "brokers",
            "--entity-name",
            &node,
            "--all",
            "--output",
            "json",
        ],
    )
    .await
    .json();
    assert!(
        broker["configs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "log.retention.ms"),
        "{broker}"
    );
    sluice(
        &bs,
        &[
            "configs",
            "alter",
            "--entity-type",
            "brokers",
            "--entity-default",
            "--add-config",
            "log.retention.ms=7200000",
        ],
    )
    .await
    .ok();
    let default = sluice(
        &bs,
        &[
            "configs",
            "describe",
            "--entity-type",
            "brokers",
            "--entity-default",
        ],
    )
    .await
    .ok();
    assert!(
        default.rows().iter().any(|r| r[0] == "log.retention.ms"
            && r[1] == "7200000"
            && r[2] == "DYNAMIC_DEFAULT_BROKER_CONFIG"),
        "{}",
        default.stdout
    );
    sluice(
        &bs,
        &[
            "configs",
            "describe",
            "--entity-type",
            "brokers",
            "--entity-name",
            "not-a-number",
        ],
    )
    .await
    .fails_with("broker is named by its id");

    // A group's configs (KIP-848).
    let group_entity = [
        "--entity-type",
        "groups",
        "--entity-name",
        "cli-config-group",
    ];
    sluice(
        &bs,
        &[
            &[
                "configs",
                "alter",
                "--add-config",
                "consumer.session.timeout.ms=50000",
            ][..],
            &group_entity,
        ]
        .concat(),
    )
    .await
    .ok();
    let group = sluice(
        &bs,
        &[
            &["configs", "describe", "--output", "json"][..],
            &group_entity,
        ]
        .concat(),
    )
    .await
    .json();
    let c = &group["configs"][0];
    assert_eq!(
        (c["name"].as_str(), c["value"].as_str()),
        (Some("consumer.session.timeout.ms"), Some("50000")),
        "{group}"
    );
    sluice(
        &bs,
        &[
            &[
                "configs",
                "alter",
                "--add-config",
                "consumer.session.timeout.ms=1",
            ][..],
            &group_entity,
        ]
        .concat(),
    )
    .await
    .fails_with("INVALID_CONFIG");
}

/// Produces `per_partition` records to each of `partitions` partitions, the
/// i-th stamped `base_ms + 1000 * i` when a base is given.
async fn produce(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    per_partition: i64,
    base_ms: Option<i64>,
) {
    let producer = producer(bootstrap, &[]);
    let mut sends = Vec::new();
    for p in 0..partitions {
        for i in 0..per_partition {
            let mut record = FutureRecord::<(), str>::to(topic).partition(p).payload("v");
            if let Some(base) = base_ms {
                record = record.timestamp(base + 1000 * i);
            }
            sends.push(producer.send(record, Duration::from_secs(30)));
        }
    }
    for delivered in futures::future::join_all(sends).await {
        delivered.unwrap();
    }
}

/// A consumer in `group` subscribed to `topic`: it consumes until it has
/// read at least `commits[p]` records of each partition p, then commits
/// exactly `commits[p]` for each. Returned still in the group.
fn consume_and_commit(bootstrap: &str, group: &str, topic: &str, commits: &[i64]) -> BaseConsumer {
    let consumer: BaseConsumer = client_config(bootstrap)
        .set("group.id", group)
        .set("client.id", "lag-test-client")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("fetch.wait.max.ms", "100")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let mut seen = vec![0i64; commits.len()];
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen.iter().zip(commits).any(|(s, c)| s < c) {
        assert!(
            Instant::now() < deadline,
            "consumed only {seen:?} of {commits:?}"
        );
        if let Some(m) = consumer.poll(Duration::from_millis(100)) {
            let m = m.unwrap();
            use rdkafka::Message;
            seen[m.partition() as usize] += 1;
        }
    }
    let mut offsets = TopicPartitionList::new();
    for (p, c) in commits.iter().enumerate() {
        offsets
            .add_partition_offset(topic, p as i32, Offset::Offset(*c))
            .unwrap();
    }
    consumer.commit(&offsets, CommitMode::Sync).unwrap();
    consumer
}

/// Waits (bounded) until the group has no members left.
async fn until_empty(bootstrap: &str, group: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let d = sluice(
            bootstrap,
            &["groups", "describe", "--group", group, "--output", "json"],
        )
        .await
        .json();
        if d[0]["state"] == "Empty" {
            return;
        }
        assert!(Instant::now() < deadline, "group never became empty: {d}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Closes a consumer: it leaves its group.
fn close(consumer: BaseConsumer) {
    tokio::task::block_in_place(|| {
        consumer.unsubscribe();
        drop(consumer);
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn groups_describe_shows_the_lag_a_consumer_left() {
    let b = start().await;
    let bs = b.bootstrap();
    let topic = unique_topic("cli-lag");
    let group = unique_topic("cli-lag-group");
    sluice(
        &bs,
        &["topics", "create", "--topic", &topic, "--partitions", "3"],
    )
    .await
    .ok();
    const N: i64 = 10;
    let commits = [3i64, 4, 5];
    produce(&bs, &topic, 3, N, None).await;
    let consumer =
        tokio::task::block_in_place(|| consume_and_commit(&bs, &group, &topic, &commits));

    // While it runs: the group is Stable, the member owns all three partitions.
    let list = sluice(&bs, &["groups", "list"]).await.ok();
    assert!(
        list.rows()
            .contains(&vec![group.clone(), "consumer".into(), "Stable".into()]),
        "{}",
        list.stdout
    );
    let live = sluice(&bs, &["groups", "describe", "--group", &group])
        .await
        .ok();
    for row in live.rows() {
        assert_eq!(row.len(), 9, "{}", live.stdout);
        assert!(
            row[6].starts_with("lag-test-client-"),
            "consumer id in {row:?}"
        );
        assert_eq!(row[7], "/127.0.0.1", "host in {row:?}");
        assert_eq!(row[8], "lag-test-client");
    }
    let members = sluice(&bs, &["groups", "describe", "--group", &group, "--members"])
        .await
        .ok();
    assert!(members.stdout.starts_with("GROUP "), "{}", members.stdout);
    assert_eq!(members.rows()[0][4], "3", "#PARTITIONS: {}", members.stdout);
    assert!(
        members.rows()[0][5].contains(&format!("{topic}(0,1,2)")),
        "{}",
        members.stdout
    );
    let state = sluice(&bs, &["groups", "describe", "--group", &group, "--state"])
        .await
        .ok();
    assert!(
        state.stdout.contains("Stable") && state.stdout.contains("range"),
        "{}",
        state.stdout
    );

    close(consumer);
    until_empty(&bs, &group).await;

    // After it left: LAG = N - M on each partition, no owner.
    let described = sluice(&bs, &["groups", "describe", "--group", &group])
        .await
        .ok();
    assert_eq!(
        described
            .stdout
            .lines()
            .next()
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>(),
        [
            "GROUP",
            "TOPIC",
            "PARTITION",
            "CURRENT-OFFSET",
            "LOG-END-OFFSET",
            "LAG",
            "CONSUMER-ID",
            "HOST",
            "CLIENT-ID"
        ]
    );
    let rows = described.rows();
    assert_eq!(rows.len(), 3, "{}", described.stdout);
    for (p, row) in rows.iter().enumerate() {
        let m = commits[p];
        let want: Vec<String> = [
            group.clone(),
            topic.clone(),
            p.to_string(),
            m.to_string(),
            N.to_string(),
            (N - m).to_string(),
            "-".into(),
            "-".into(),
            "-".into(),
        ]
        .into();
        assert_eq!(row, &want);
    }
    assert!(
        described.stderr.contains("has no active members"),
        "{}",
        described.stderr
    );
    let json = sluice(
        &bs,
        &["groups", "describe", "--group", &group, "--output", "json"],
    )
    .await
    .json();
    let lags: Vec<i64> = json[0]["offsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["lag"].as_i64().unwrap())
        .collect();
    assert_eq!(lags, [N - 3, N - 4, N - 5]);
    assert_eq!(json[0]["state"], "Empty");
    let all = sluice(
        &bs,
        &["groups", "describe", "--all-groups", "--output", "json"],
    )
    .await
    .json();
    assert!(all
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["group"] == group.as_str()));
    let empty = sluice(
        &bs,
        &["groups", "list", "--state", "Empty", "--output", "json"],
    )
    .await
    .json();
    assert!(empty
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["group"] == group.as_str() && g["state"] == "Empty"));

    sluice(&bs, &["groups", "describe", "--group", "no-such-group"])
        .await
        .fails_with("GROUP_ID_NOT_FOUND: Consumer group 'no-such-group' does not exist.");
}

/// Regression: JoinGroup recorded no client host, so DescribeGroups (and
/// `sluice groups describe`) showed an empty HOST where Kafka shows
/// `/127.0.0.1`.
#[tokio::test(flavor = "multi_thread")]
async fn describe_groups_shows_the_members_client_host() {
    let b = start().await;
    let bs = b.bootstrap();
    let topic = unique_topic("cli-host");
    let group = unique_topic("cli-host-group");
    sluice(
        &bs,
        &["topics", "create", "--topic", &topic, "--partitions", "1"],
    )
    .await
    .ok();
    produce(&bs, &topic, 1, 1, None).await;
    let consumer = tokio::task::block_in_place(|| consume_and_commit(&bs, &group, &topic, &[1]));
    let json = sluice(
        &bs,
        &["groups", "describe", "--group", &group, "--output", "json"],
    )
    .await
    .json();
    assert_eq!(json[0]["members"][0]["host"], "/127.0.0.1", "{json}");
    assert_eq!(json[0]["offsets"][0]["host"], "/127.0.0.1", "{json}");
    close(consumer);
}

/// The group's committed offsets, from `sluice groups describe --output json`.
async fn committed(bootstrap: &str, group: &str) -> BTreeMap<i64, Option<i64>> {
    let d = sluice(
        bootstrap,
        &["groups", "describe", "--group", group, "--output", "json"],
    )
    .await
    .json();
    d[0]["offsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["partition"].as_i64().unwrap(),
                o["current_offset"].as_i64(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn reset_offsets_dry_run_execute_and_refusal_while_the_group_has_members() {
    let b = start().await;
    let bs = b.bootstrap();
    let topic = unique_topic("cli-reset");
    let group = unique_topic("cli-reset-group");
    // Records stamped 2026-01-01T00:00:00Z + i s; kept whatever their age.
    const BASE_MS: i64 = 1_767_225_600_000;
    sluice(
        &bs,
        &[
            "topics",
            "create",
            "--topic",
            &topic,
            "--partitions",
            "2",
            "--config",
            "retention.ms=-1",
        ],
    )
    .await
    .ok();
    produce(&bs, &topic, 2, 10, Some(BASE_MS)).await;
    let consumer = tokio::task::block_in_place(|| consume_and_commit(&bs, &group, &topic, &[6, 8]));
    let reset = |extra: &[&str]| {
        let mut args = vec!["groups", "reset-offsets", "--group", group.as_str()];
        args.extend_from_slice(extra);
        args.into_iter()
            .map(str::to_string)
            .collect::<Vec<String>>()
    };
    let run = |args: Vec<String>| {
        let bs = bs.clone();
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            sluice(&bs, &args).await
        }
    };

    // Refused while the consumer is in the group, dry run or not; nothing changes.
    run(reset(&["--topic", &topic, "--to-earliest", "--execute"]))
        .await
        .fails_with("is Stable with 1 member(s)");
    run(reset(&["--all-topics", "--to-latest"]))
        .await
        .fails_with("stop its consumers first");
    close(consumer);
    until_empty(&bs, &group).await;
    assert_eq!(
        committed(&bs, &group).await,
        BTreeMap::from([(0, Some(6)), (1, Some(8))])
    );

    // A dry run prints the plan and changes nothing.
    let dry = run(reset(&["--topic", &topic, "--to-earliest"])).await.ok();
    assert_eq!(
        dry.rows(),
        [
            [&group, &topic, "0", "6", "0"],
            [&group, &topic, "1", "8", "0"]
        ]
        .map(|r| r.map(str::to_string).to_vec())
        .to_vec(),
        "{}",
        dry.stdout
    );
    assert!(dry.stderr.contains("Dry run"), "{}", dry.stderr);
    run(reset(&["--topic", &topic, "--to-earliest", "--dry-run"]))
        .await
        .ok();
    assert_eq!(
        committed(&bs, &group).await,
        BTreeMap::from([(0, Some(6)), (1, Some(8))])
    );

    // --execute commits: each way of choosing the offset.
    let executed = run(reset(&[
        "--topic",
        &topic,
        "--to-earliest",
        "--execute",
        "--output",
        "json",
    ]))
    .await
    .json();
    assert_eq!(executed["executed"], true);
    assert_eq!(
        committed(&bs, &group).await,
        BTreeMap::from([(0, Some(0)), (1, Some(0))])
    );
    run(reset(&["--all-topics", "--shift-by", "3", "--execute"]))
        .await
        .ok();
    assert_eq!(
        committed(&bs, &group).await,
        BTreeMap::from([(0, Some(3)), (1, Some(3))])
    );
    run(reset(&[
        "--topic",
        &format!("{topic}:1"),
        "--shift-by",
        "-10",
        "--execute",
    ]))
    .await
    .ok();
    assert_eq!(
        committed(&bs, &group).await,
        BTreeMap::from([(0, Some(3)), (1, Some(0))]),
        "clamped at the log start"
    );
    run(reset(&[
        "--topic",
        &topic,
        "--to-offset",
        "25",
        "--execute",
    ]))
    .await
    .ok();
    assert_eq!(
        committed(&bs, &group).await,
        BTreeMap::from([(0, Some(10)), (1, Some(10))]),
        "clamped at the log end"
    );
    run(reset(&[
        "--topic",
        &format!("{topic}:0"),
        "--to-datetime",
        "2026-01-01T00:00:04.500Z",
        "--execute",
    ]))
    .await
    .ok();
    assert_eq!(
        committed(&bs, &group).await,
        BTreeMap::from([(0, Some(5)), (1, Some(10))]),
        "first record at or after the time"
    );
    run(reset(&[
        "--all-topics",
        "--to-datetime",
        "2026-01-01T01:00:00+01:00",
        "--execute",
    ]))
    .await
    .ok();
    assert_eq!(
        committed(&bs, &group).await,
        BTreeMap::from([(0, Some(0)), (1, Some(0))])
    );
    run(reset(&["--all-topics", "--to-latest", "--execute"]))
        .await
        .ok();
    let lag = sluice(
        &bs,
        &["groups", "describe", "--group", &group, "--output", "json"],
    )
    .await
    .json();
    assert!(
        lag[0]["offsets"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["lag"] == 0),
        "{lag}"
    );

    // Bad input: an unknown topic or partition, a bad datetime, no target.
    run(reset(&["--topic", "no-such-topic", "--to-earliest"]))
        .await
        .fails_with("UNKNOWN_TOPIC_OR_PARTITION");
    run(reset(&["--topic", &format!("{topic}:7"), "--to-earliest"]))
        .await
        .fails_with("UNKNOWN_TOPIC_OR_PARTITION");
    run(reset(&["--topic", &topic, "--to-datetime", "yesterday"]))
        .await
        .fails_with("--to-datetime yesterday");
    let usage = run(reset(&["--topic", &topic])).await;
    assert_eq!(
        usage.code, 2,
        "a missing --to-* is a usage error: {}",
        usage.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connect_failure_names_the_address() {
    // A port nothing listens on: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let run = sluice(&addr, &["topics", "list"])
        .await
        .fails_with(&format!("sluice: cannot connect to {addr}: "));
    assert!(run.stdout.is_empty());
    let run = sluice(
        "unused",
        &[
            "topics",
            "list",
            "--bootstrap-server",
            &addr,
            "--output",
            "json",
        ],
    )
    .await;
    assert!(
        run.stderr.contains(&addr),
        "the flag wins over the variable: {}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_broker_command_line_is_unchanged_and_its_help_names_the_admin_commands() {
    let help = sluice("unused", &["--help"]).await.ok();
    for command in [
        "sluice topics",
        "sluice groups",
        "sluice configs",
        "--listen",
    ] {
        assert!(
            help.stdout.contains(command),
            "{command} missing from:\n{}",
            help.stdout
        );
    }
    let version = sluice("unused", &["--version"]).await.ok();
    assert!(version.stdout.starts_with("sluice "), "{}", version.stdout);
    let bad = sluice("unused", &["--no-such-flag"]).await;
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    let sub = sluice("unused", &["topics", "--help"]).await.ok();
    assert!(
        sub.stdout.contains("--bootstrap-server") && sub.stdout.contains("describe"),
        "{}",
        sub.stdout
    );
}

/// The CI example of docs/cli.md (examples/cli-in-ci.sh), run as written
/// with `sluice` on the PATH: the topic it creates is there with its
/// configs, and the billing group it resets reads from the start.
#[tokio::test(flavor = "multi_thread")]
async fn the_ci_example_script_runs() {
    let b = start().await;
    let bs = b.bootstrap();
    let group = "billing";
    sluice(
        &bs,
        &["topics", "create", "--topic", "orders", "--partitions", "3"],
    )
    .await
    .ok();
    produce(&bs, "orders", 3, 4, None).await;
    let consumer =
        tokio::task::block_in_place(|| consume_and_commit(&bs, group, "orders", &[4, 4, 4]));
    close(consumer);
    until_empty(&bs, group).await;

    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_sluice"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/cli-in-ci.sh");
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new("sh")
            .arg(script)
            .env("PATH", path)
            .env("SLUICE_BOOTSTRAP_SERVER", &bs)
            .output(),
    )
    .await
    .unwrap()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Topic orders already exists."), "{stdout}");
    assert!(
        stdout.contains("LOG-END-OFFSET"),
        "the groups table: {stdout}"
    );

    let json = sluice(
        &bs,
        &[
            "topics", "describe", "--topic", "orders", "--output", "json",
        ],
    )
    .await
    .json();
    assert_eq!(json[0]["configs"]["retention.ms"], "3600000");
    assert_eq!(json[0]["configs"]["cleanup.policy"], "compact,delete");
    assert_eq!(
        committed(&bs, group).await,
        BTreeMap::from([(0, Some(0)), (1, Some(0)), (2, Some(0))])
    );
}
