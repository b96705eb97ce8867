//! The variables of Kafka's own container images, read when `--kafka-env`
//! (`SLUICE_KAFKA_ENV=1`, set by Sluice's image) asks for them, so that
//! compose files and test set-ups written for `apache/kafka` or
//! `confluentinc/cp-kafka` carry over.
//!
//! A variable `KAFKA_FOO_BAR` is the broker property `foo.bar`, by the rule
//! of the apache/kafka image: after the prefix, `_` is `.`, `__` is `_` and
//! `___` is `-`, lower-cased. (Confluent's images swap the last two; no
//! property Sluice knows has either character, so both read the same here.)
//! Bitnami's `KAFKA_CFG_FOO_BAR` is read as `foo.bar` too.
//!
//! What becomes of each variable:
//! - a property Sluice has (the Kafka names of [`OPTIONS`]): its value, as
//!   if given in the file under that name; a bad value is a start error
//!   naming the variable;
//! - a property Sluice has no use for, or does not know: ignored, with one
//!   log line ([`Notice`]): INFO where the property means nothing for one
//!   Sluice node (replication, ZooKeeper, KRaft controllers, thread counts),
//!   WARN otherwise (it may be a typo, or a feature Sluice lacks);
//! - the settings of Kafka's start scripts and JVM (`KAFKA_HOME`,
//!   `KAFKA_OPTS`, `KAFKA_HEAP_OPTS`, ...), which are no properties: ignored
//!   with an INFO line.
//!
//! `listeners` and `advertised.listeners` may list several listeners, as
//! Kafka images' compose files do (`PLAINTEXT://kafka:29092,
//! PLAINTEXT_HOST://localhost:9092`). Sluice serves one; see
//! [`choose_listener`] for which. As in the apache/kafka image, when only
//! `KAFKA_ADVERTISED_LISTENERS` is given the broker listens on `0.0.0.0`
//! at the advertised port.

use std::collections::BTreeMap;

use super::options::OPTIONS;

/// A line to log once logging is set up: a variable that was read but is
/// not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// WARN rather than INFO.
    pub warn: bool,
    /// The whole line, naming the variable.
    pub message: String,
}

/// One value for one option, from one `KAFKA_*` variable.
#[derive(Debug, Clone)]
pub(crate) struct KafkaValue {
    /// Index into [`OPTIONS`].
    pub option: usize,
    /// Index into that option's Kafka names.
    pub name: usize,
    /// The variable, for messages.
    pub var: String,
    pub value: String,
}

/// Variables of Kafka's start scripts and JVM, and of its images'
/// entrypoints, that are no broker property.
const NOT_PROPERTIES: &[&str] = &[
    "KAFKA_HOME",
    "KAFKA_OPTS",
    "KAFKA_HEAP_OPTS",
    "KAFKA_JVM_PERFORMANCE_OPTS",
    "KAFKA_GC_LOG_OPTS",
    "KAFKA_JMX_OPTS",
    "KAFKA_JMX_PORT",
    "KAFKA_JMX_HOSTNAME",
    "KAFKA_LOG4J_OPTS",
    "KAFKA_LOG4J_ROOT_LOGLEVEL",
    "KAFKA_LOG4J_LOGGERS",
    "KAFKA_TOOLS_LOG4J_LOGLEVEL",
    "KAFKA_VERSION",
    "KAFKA_DEBUG",
    "KAFKA_CREATE_TOPICS",
    "KAFKA_KRAFT_CLUSTER_ID",
];

/// The property a `KAFKA_*` variable stands for, or `None` if the name is
/// not of that form (no prefix, other characters, four underscores).
pub fn property_name(var: &str) -> Option<String> {
    let rest = var.strip_prefix("KAFKA_")?;
    let rest = rest.strip_prefix("CFG_").unwrap_or(rest);
    let mut out = String::with_capacity(rest.len());
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '_' {
            let mut run = 1;
            while chars.peek() == Some(&'_') {
                chars.next();
                run += 1;
            }
            out.push(match run {
                1 => '.',
                2 => '_',
                3 => '-',
                _ => return None,
            });
        } else if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else {
            return None;
        }
    }
    (!out.is_empty() && !out.starts_with('.') && !out.ends_with('.')).then_some(out)
}

/// Why a property Sluice does not have means nothing for one Sluice node,
/// or `None` when it might (then its being ignored is a warning).
fn not_for_one_node(p: &str) -> Option<&'static str> {
    const THREADS: &[&str] = &[
        "num.network.threads",
        "num.io.threads",
        "num.recovery.threads.per.data.dir",
        "background.threads",
        "socket.send.buffer.bytes",
        "socket.receive.buffer.bytes",
    ];
    if p.starts_with("zookeeper.") {
        Some("Sluice needs no ZooKeeper")
    } else if p == "process.roles" || p.starts_with("controller.") || p == "cluster.id" {
        Some("Sluice is its own controller (there is no KRaft quorum)")
    } else if p.ends_with(".replication.factor")
        || p.ends_with(".min.isr")
        || p == "min.insync.replicas"
        || p.starts_with("replica.")
        || p == "num.replica.fetchers"
        || p == "unclean.leader.election.enable"
        || p.starts_with("leader.imbalance.")
        || p == "auto.leader.rebalance.enable"
    {
        Some("Sluice is a single node: nothing is replicated")
    } else if THREADS.contains(&p) {
        Some("Sluice sizes its threads and socket buffers itself")
    } else if p.starts_with("confluent.") {
        Some("a Confluent Platform setting")
    } else {
        None
    }
}

/// Properties read only to choose the listener; no line of their own.
const LISTENER_CHOICE: &[&str] = &[
    "listener.security.protocol.map",
    "inter.broker.listener.name",
    "security.inter.broker.protocol",
];

/// The option and Kafka name index of a Kafka property, exactly.
fn kafka_property(p: &str) -> Option<(usize, usize)> {
    OPTIONS
        .iter()
        .enumerate()
        .find_map(|(i, opt)| Some((i, opt.kafka.iter().position(|k| k.name == p)?)))
}

/// Reads the `KAFKA_*` variables `env` (name, value; empty ones are
/// already dropped): one value per option, and a notice per variable not
/// used. Errors name the variable.
pub(crate) fn read(
    env: &[(String, String)],
    notices: &mut Vec<Notice>,
) -> Result<Vec<KafkaValue>, (String, String)> {
    // By property, in name order, so notices and conflicts come out the
    // same whatever order the process environment has.
    let mut props: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut sorted: Vec<&(String, String)> = env.iter().collect();
    sorted.sort();
    for (var, value) in sorted {
        if NOT_PROPERTIES.contains(&var.as_str()) {
            notices.push(Notice {
                warn: false,
                message: format!(
                    "{var} ignored: a setting of Kafka's start scripts, not a broker property"
                ),
            });
            continue;
        }
        let Some(p) = property_name(var) else {
            notices.push(Notice {
                warn: true,
                message: format!("{var} ignored: not of the form KAFKA_PROPERTY_NAME"),
            });
            continue;
        };
        if let Some((first, _)) = props.get(&p) {
            // KAFKA_X and KAFKA_CFG_X.
            return Err((
                var.clone(),
                format!("{first} and {var} both set `{p}`; give only one"),
            ));
        }
        props.insert(p, (var.clone(), value.clone()));
    }

    let mut chosen: Vec<Option<KafkaValue>> = vec![None; OPTIONS.len()];
    let listeners = choose_listener(&props, notices)?;
    for (p, (var, value)) in &props {
        let value = match p.as_str() {
            "listeners" => match &listeners.listen {
                Some(v) => v.clone(),
                None => continue,
            },
            "advertised.listeners" => match &listeners.advertised {
                Some(v) => v.clone(),
                None => continue,
            },
            _ => value.clone(),
        };
        let Some((option, name)) = kafka_property(p) else {
            if LISTENER_CHOICE.contains(&p.as_str()) {
                continue;
            }
            notices.push(match not_for_one_node(p) {
                Some(why) => Notice {
                    warn: false,
                    message: format!("{var} (`{p}`) ignored: {why}"),
                },
                None => Notice {
                    warn: true,
                    message: format!("{var} (`{p}`) ignored: Sluice has no such setting"),
                },
            });
            continue;
        };
        put(&mut chosen, option, name, var, value)?;
    }
    if let Some((port_of, listen)) = listeners.derived_listen {
        let (option, name) = kafka_property("listeners")
            .ok_or_else(|| (port_of.clone(), "no option takes `listeners`".to_string()))?;
        put(&mut chosen, option, name, &port_of, listen)?;
    }
    Ok(chosen.into_iter().flatten().collect())
}

/// Keeps one value per option: of two Kafka names of one option, the higher
/// ranked wins (`log.retention.ms` over `log.retention.hours`), as in Kafka;
/// two unranked ones (`KAFKA_NODE_ID` and `KAFKA_BROKER_ID`) must agree.
fn put(
    chosen: &mut [Option<KafkaValue>],
    option: usize,
    name: usize,
    var: &str,
    value: String,
) -> Result<(), (String, String)> {
    let rank = |n: usize| OPTIONS[option].kafka[n].rank;
    let new = KafkaValue {
        option,
        name,
        var: var.to_string(),
        value,
    };
    match &chosen[option] {
        None => chosen[option] = Some(new),
        Some(prev) if rank(prev.name) > 0 && rank(name) > 0 => {
            if rank(name) > rank(prev.name) {
                chosen[option] = Some(new);
            }
        }
        Some(prev) if prev.value.trim() == new.value.trim() => {}
        Some(prev) => {
            return Err((
                new.var.clone(),
                format!(
                    "{} ({:?}) and {} ({:?}) set the same option ({}) to different values",
                    prev.var, prev.value, new.var, new.value, OPTIONS[option].name
                ),
            ))
        }
    }
    Ok(())
}

/// One entry of a `listeners` list: `NAME://HOST:PORT`.
#[derive(Debug, Clone)]
struct Endpoint {
    name: String,
    address: String,
}

fn endpoints(var: &str, list: &str) -> Result<Vec<Endpoint>, (String, String)> {
    let mut out = Vec::new();
    for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, address) = entry.split_once("://").ok_or_else(|| {
            (
                var.to_string(),
                format!("{entry:?} is not NAME://HOST:PORT (for example PLAINTEXT://0.0.0.0:9092)"),
            )
        })?;
        out.push(Endpoint {
            name: name.to_ascii_uppercase(),
            address: address.to_string(),
        });
    }
    if out.is_empty() {
        return Err((var.to_string(), "no listener given".to_string()));
    }
    Ok(out)
}

/// What the listener lists come to: one `PROTOCOL://HOST:PORT` each, for
/// the options' own parsers.
#[derive(Debug, Default)]
struct Listeners {
    listen: Option<String>,
    advertised: Option<String>,
    /// `listeners` made from the advertised port (the variable it came
    /// from, the value), when only `advertised.listeners` was given.
    derived_listen: Option<(String, String)>,
}

/// Sluice serves one listener. From the lists given it takes, by listener
/// name (the advertised list decides when both are given):
/// 1. every listener but the controller ones (`controller.listener.names`);
/// 2. if more than one is left, every one but the inter-broker listener
///    (`inter.broker.listener.name`, else the one named
///    `security.inter.broker.protocol`, PLAINTEXT by default) — there are
///    no other brokers, and the client-facing listener is the one tests use;
/// 3. if more than one is still left, the PLAINTEXT ones (by
///    `listener.security.protocol.map`), and of those the first.
///
/// The same name is then taken from the other list; the advertised one
/// missing from `listeners` is an error, as in Kafka. One INFO line names
/// the listeners not served.
fn choose_listener(
    props: &BTreeMap<String, (String, String)>,
    notices: &mut Vec<Notice>,
) -> Result<Listeners, (String, String)> {
    let get = |p: &str| {
        props
            .get(p)
            .map(|(var, value)| (var.as_str(), value.as_str()))
    };
    let listen_var = get("listeners");
    let advertised_var = get("advertised.listeners");
    let listen = listen_var.map(|(v, l)| endpoints(v, l)).transpose()?;
    let advertised = advertised_var.map(|(v, l)| endpoints(v, l)).transpose()?;

    let mut map: BTreeMap<String, String> = BTreeMap::new();
    if let Some((var, m)) = get("listener.security.protocol.map") {
        for pair in m.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, protocol) = pair.split_once(':').ok_or_else(|| {
                (
                    var.to_string(),
                    format!("{pair:?} is not LISTENER_NAME:SECURITY_PROTOCOL"),
                )
            })?;
            map.insert(
                name.trim().to_ascii_uppercase(),
                protocol.trim().to_ascii_uppercase(),
            );
        }
    }
    // Without a map a listener's name is its protocol, as in Kafka.
    let protocol = |name: &str| map.get(name).cloned().unwrap_or_else(|| name.to_string());
    let controllers: Vec<String> = get("controller.listener.names")
        .map(|(_, v)| {
            v.split(',')
                .map(|n| n.trim().to_ascii_uppercase())
                .filter(|n| !n.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let inter_broker = get("inter.broker.listener.name")
        .or(get("security.inter.broker.protocol"))
        .map_or("PLAINTEXT".to_string(), |(_, v)| {
            v.trim().to_ascii_uppercase()
        });

    let Some((deciding_var, deciding)) = advertised_var
        .zip(advertised.as_ref())
        .or(listen_var.zip(listen.as_ref()))
    else {
        return Ok(Listeners::default());
    };
    let deciding_var = deciding_var.0;
    let mut names: Vec<&str> = deciding
        .iter()
        .map(|e| e.name.as_str())
        .filter(|n| !controllers.iter().any(|c| c == n))
        .collect();
    if names.len() > 1 && names.iter().any(|n| *n != inter_broker) {
        names.retain(|n| *n != inter_broker);
    }
    if names.len() > 1 && names.iter().any(|n| protocol(n) == "PLAINTEXT") {
        names.retain(|n| protocol(n) == "PLAINTEXT");
    }
    let Some(name) = names.first().map(|n| n.to_string()) else {
        return Err((
            deciding_var.to_string(),
            "lists controller listeners only; give a listener for clients".to_string(),
        ));
    };
    let pick = |list: &[Endpoint]| list.iter().find(|e| e.name == name).cloned();
    let single = |e: &Endpoint| format!("{}://{}", protocol(&e.name), e.address);

    let mut out = Listeners::default();
    let mut not_served = Vec::new();
    if let (Some((var, _)), Some(list)) = (advertised_var, advertised.as_ref()) {
        let e = pick(list).ok_or_else(|| (var.to_string(), format!("names no listener {name}")))?;
        out.advertised = Some(single(&e));
        not_served.extend(
            list.iter()
                .filter(|o| o.name != name)
                .map(|o| format!("{}://{}", o.name, o.address)),
        );
        if listen.is_none() {
            // The apache/kafka image: listeners = advertised with host 0.0.0.0.
            let port = e.address.rsplit_once(':').map_or("", |(_, p)| p);
            out.derived_listen = Some((
                var.to_string(),
                format!("{}://0.0.0.0:{port}", protocol(&e.name)),
            ));
        }
    }
    if let (Some((var, _)), Some(list)) = (listen_var, listen.as_ref()) {
        let e = pick(list).ok_or_else(|| {
            (
                var.to_string(),
                format!("has no listener {name}, which KAFKA_ADVERTISED_LISTENERS advertises"),
            )
        })?;
        out.listen = Some(single(&e));
        if advertised.is_none() {
            not_served.extend(
                list.iter()
                    .filter(|o| o.name != name)
                    .map(|o| format!("{}://{}", o.name, o.address)),
            );
        }
    }
    if !not_served.is_empty() {
        notices.push(Notice {
            warn: false,
            message: format!(
                "{deciding_var} lists {} listeners; Sluice serves one, {name} ({}); not served: {}",
                not_served.len() + 1,
                out.advertised
                    .as_ref()
                    .or(out.listen.as_ref())
                    .map_or("", String::as_str),
                not_served.join(", ")
            ),
        });
    }
    Ok(out)
}
