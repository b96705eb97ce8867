//! Consumer groups with real librdkafka consumers: partitions shared out,
//! a crashed member's partitions taken over after its session timeout with
//! nothing lost, cooperative-sticky rebalancing, and static members that
//! restart without a rebalance.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod group_support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use group_support::*;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;

/// A broker whose first rebalance of a new group waits only 500 ms.
async fn broker() -> TestBroker {
    TestBroker::start_with(|c| c.group_initial_rebalance_delay_ms = Some(500)).await
}

fn union(members: &[&Member]) -> BTreeSet<i32> {
    members.iter().flat_map(|m| m.assignment()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_consumers_get_two_of_six_partitions_each() {
    let broker = broker().await;
    let bootstrap = broker.bootstrap();
    let topic = unique_topic("three");
    create_topic(&bootstrap, &topic, 6, &[]).await;
    let produced = produce(&bootstrap, &topic, 6, 20).await;

    let members: Vec<Member> = (0..3)
        .map(|i| Member::start(&bootstrap, "three", &topic, &format!("c{i}"), &[]))
        .collect();
    let refs: Vec<&Member> = members.iter().collect();
    let split = wait_until(Duration::from_secs(90), || {
        members.iter().all(|m| m.assignment().len() == 2) && union(&refs).len() == 6
    })
    .await;
    let got: BTreeSet<(i32, i64)> =
        wait_for_records(&refs, &produced, Duration::from_secs(60)).await;
    for m in &members {
        eprintln!("{}: {:?} {:?}", m.name, m.assignment(), m.seen().errors);
    }
    assert!(
        split,
        "each consumer owns two partitions, all six are owned"
    );
    assert_eq!(got, produced, "every record consumed");
    for m in members {
        m.stop().await;
    }
}

async fn wait_for_records(
    members: &[&Member],
    want: &BTreeSet<(i32, i64)>,
    timeout: Duration,
) -> BTreeSet<(i32, i64)> {
    let all =
        || -> BTreeSet<(i32, i64)> { members.iter().flat_map(|m| m.seen().records).collect() };
    wait_until(timeout, || want.is_subset(&all())).await;
    all()
}

/// Not a test of its own: the consumer that the crash test runs as a child
/// process and kills. It reports its assignment and every record it got on
/// stdout, and commits only what it reported.
#[test]
fn child_consumer() {
    let (Ok(bootstrap), Ok(topic), Ok(group)) = (
        std::env::var("SLUICE_CHILD_BOOTSTRAP"),
        std::env::var("SLUICE_CHILD_TOPIC"),
        std::env::var("SLUICE_CHILD_GROUP"),
    ) else {
        return;
    };
    let mut config = client_config(&bootstrap);
    config
        .set("group.id", &group)
        .set("client.id", "child")
        .set("enable.auto.offset.store", "false");
    for (k, v) in GROUP_SETTINGS {
        config.set(*k, *v);
    }
    let consumer: BaseConsumer = config.create().unwrap();
    consumer.subscribe(&[&topic]).unwrap();
    let mut out = std::io::stdout();
    let mut last = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(180);
    while Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(50)) {
            writeln!(out, "@@got {} {}", m.partition(), m.offset()).unwrap();
            out.flush().unwrap();
            consumer.store_offset_from_message(&m).unwrap();
        }
        let now: BTreeSet<i32> = consumer
            .assignment()
            .map(|t| t.elements().iter().map(|e| e.partition()).collect())
            .unwrap_or_default();
        if now != last {
            let list: Vec<String> = now.iter().map(|p| p.to_string()).collect();
            writeln!(out, "@@assigned {}", list.join(",")).unwrap();
            out.flush().unwrap();
            last = now;
        }
    }
}

/// What the child reported.
#[derive(Default)]
struct ChildReport {
    assignment: BTreeSet<i32>,
    records: BTreeSet<(i32, i64)>,
}

struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_child(bootstrap: &str, topic: &str, group: &str) -> (ChildGuard, Arc<Mutex<ChildReport>>) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "child_consumer",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("SLUICE_CHILD_BOOTSTRAP", bootstrap)
        .env("SLUICE_CHILD_TOPIC", topic)
        .env("SLUICE_CHILD_GROUP", group)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child consumer");
    let stdout = child.stdout.take().unwrap();
    let report = Arc::new(Mutex::new(ChildReport::default()));
    let sink = Arc::clone(&report);
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            // libtest may print "test child_consumer ... " on the same line.
            let Some(at) = line.find("@@") else { continue };
            let line = &line[at..];
            let mut r = sink.lock().unwrap();
            if let Some(rest) = line.strip_prefix("@@got ") {
                let mut it = rest.split(' ').map(|x| x.parse::<i64>().unwrap());
                let (p, o) = (it.next().unwrap(), it.next().unwrap());
                r.records.insert((p as i32, o));
            } else if let Some(rest) = line.strip_prefix("@@assigned ") {
                r.assignment = rest
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(|p| p.parse().unwrap())
                    .collect();
            }
        }
    });
    (ChildGuard(child), report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_consumer_partitions_are_taken_over_after_the_session_timeout_without_loss() {
    let broker = broker().await;
    let bootstrap = broker.bootstrap();
    let topic = unique_topic("crash");
    let group = "crash";
    create_topic(&bootstrap, &topic, 6, &[]).await;
    let mut produced = produce(&bootstrap, &topic, 6, 50).await;

    let (mut child, report) = spawn_child(&bootstrap, &topic, group);
    let a = Member::start(&bootstrap, group, &topic, "a", &[]);
    let b = Member::start(&bootstrap, group, &topic, "b", &[]);
    let everything = |report: &Mutex<ChildReport>| -> BTreeSet<(i32, i64)> {
        let mut all: BTreeSet<_> = report.lock().unwrap().records.clone();
        all.extend(a.seen().records);
        all.extend(b.seen().records);
        all
    };
    let settled = wait_until(Duration::from_secs(120), || {
        let child_parts = report.lock().unwrap().assignment.clone();
        let owned: BTreeSet<i32> = child_parts
            .iter()
            .copied()
            .chain(a.assignment())
            .chain(b.assignment())
            .collect();
        child_parts.len() == 2
            && a.assignment().len() == 2
            && b.assignment().len() == 2
            && owned.len() == 6
            && produced.is_subset(&everything(&report))
    })
    .await;
    assert!(
        settled,
        "three members with two partitions each, first batch consumed: child {:?}, a {:?}, b {:?}",
        report.lock().unwrap().assignment,
        a.assignment(),
        b.assignment()
    );
    let child_partitions = report.lock().unwrap().assignment.clone();

    // The child dies without leaving the group.
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    let killed = Instant::now();
    produced.extend(produce(&bootstrap, &topic, 6, 50).await);

    let taken_over = wait_until(Duration::from_secs(90), || {
        a.assignment().len() == 3 && b.assignment().len() == 3 && union(&[&a, &b]).len() == 6
    })
    .await;
    let took = killed.elapsed();
    assert!(
        taken_over,
        "a and b own all six partitions: a {:?}, b {:?}",
        a.assignment(),
        b.assignment()
    );
    assert!(
        took >= Duration::from_secs(3),
        "no leave was sent: only the session timeout moves them ({took:?})"
    );
    let complete = wait_until(Duration::from_secs(60), || {
        produced.is_subset(&everything(&report))
    })
    .await;
    let missing: Vec<_> = produced
        .difference(&everything(&report))
        .take(10)
        .copied()
        .collect();
    assert!(complete, "nothing lost; missing e.g. {missing:?}");
    let survivors: BTreeSet<i32> = a
        .seen()
        .records
        .iter()
        .chain(b.seen().records.iter())
        .map(|(p, _)| *p)
        .collect();
    assert!(
        child_partitions.is_subset(&survivors),
        "the child's partitions were consumed by the others"
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cooperative_sticky_moves_only_the_partitions_that_change_owner() {
    let broker = broker().await;
    let bootstrap = broker.bootstrap();
    let topic = unique_topic("coop");
    create_topic(&bootstrap, &topic, 6, &[]).await;
    let mut produced = produce(&bootstrap, &topic, 6, 10).await;
    let coop = [("partition.assignment.strategy", "cooperative-sticky")];

    let a = Member::start(&bootstrap, "coop", &topic, "a", &coop);
    assert!(
        wait_until(Duration::from_secs(60), || a.assignment().len() == 6).await,
        "the first member owns everything"
    );
    let b = Member::start(&bootstrap, "coop", &topic, "b", &coop);
    let split = wait_until(Duration::from_secs(90), || {
        a.assignment().len() == 3 && b.assignment().len() == 3 && union(&[&a, &b]).len() == 6
    })
    .await;
    assert!(
        split,
        "3 and 3: a {:?}, b {:?}",
        a.assignment(),
        b.assignment()
    );
    // Incremental: a gave up three partitions and never all six.
    let events = a.seen().events;
    assert!(
        events
            .iter()
            .all(|(kind, parts)| *kind != "revoke" || parts.len() < 6),
        "a never had everything revoked: {events:?}"
    );
    assert!(
        events
            .iter()
            .any(|(kind, parts)| *kind == "revoke" && parts.len() == 3),
        "{events:?}"
    );
    produced.extend(produce(&bootstrap, &topic, 6, 10).await);
    let got = wait_for_records(&[&a, &b], &produced, Duration::from_secs(60)).await;
    assert!(produced.is_subset(&got), "everything consumed");
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_static_member_gets_its_partitions_back_without_a_rebalance() {
    let broker = broker().await;
    let bootstrap = broker.bootstrap();
    let topic = unique_topic("static");
    create_topic(&bootstrap, &topic, 6, &[]).await;
    produce(&bootstrap, &topic, 6, 10).await;
    // Sessions long enough to cover the restart.
    let static_a = [
        ("group.instance.id", "static-a"),
        ("session.timeout.ms", "30000"),
    ];
    let static_b = [
        ("group.instance.id", "static-b"),
        ("session.timeout.ms", "30000"),
    ];

    let a = Member::start(&bootstrap, "static", &topic, "a", &static_a);
    let b = Member::start(&bootstrap, "static", &topic, "b", &static_b);
    let split = wait_until(Duration::from_secs(90), || {
        a.assignment().len() == 3 && b.assignment().len() == 3 && union(&[&a, &b]).len() == 6
    })
    .await;
    assert!(split, "a {:?}, b {:?}", a.assignment(), b.assignment());
    // Let any rebalance in flight finish before counting.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let a_events = a.seen().events.len();
    let (a_parts, b_parts) = (a.assignment(), b.assignment());

    // b restarts: closes without leaving (static), a new process joins
    // with the same group.instance.id.
    b.stop().await;
    let b2 = Member::start(&bootstrap, "static", &topic, "b2", &static_b);
    let back = wait_until(Duration::from_secs(60), || b2.assignment() == b_parts).await;
    assert!(
        back,
        "b2 got b's partitions {b_parts:?}, has {:?}",
        b2.assignment()
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        a.seen().events.len(),
        a_events,
        "a saw no rebalance: {:?}",
        a.seen().events
    );
    assert_eq!(a.assignment(), a_parts);
    assert_eq!(b2.assignment(), b_parts);
    a.stop().await;
    b2.stop().await;
}
