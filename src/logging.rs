//! Log levels that change while the broker runs: Kafka's BROKER_LOGGER
//! resource (DescribeConfigs lists the loggers and their levels;
//! IncrementalAlterConfigs SET gives a logger a level, DELETE gives it back
//! its parent's). A logger is a tracing target: `root`, a crate (`sluice`,
//! `sluice_storage`, `sluice_protocol`) or a module path inside one
//! (`sluice::partition`). Levels are Kafka's names (`TRACE` ... `ERROR`,
//! `FATAL` as `ERROR`).
//!
//! [`init`] installs the process's subscriber with its filter behind
//! tracing-subscriber's `reload` layer, so that a change rebuilds the
//! filter in place. Without it (a broker embedded in a program that logs
//! its own way) the levels are still kept and described, and changing them
//! changes nothing else. Levels live for the process, as in Kafka: they are
//! not persisted.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, OnceLock};

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::{reload, EnvFilter};

/// The root logger's name.
pub(crate) const ROOT: &str = "root";

/// Kafka's valid log levels (`LogLevelConfig.VALID_LOG_LEVELS`).
pub(crate) const LEVELS: &[&str] = &["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];

/// The loggers listed even when no level is set on them.
const KNOWN: &[&str] = &[
    "sluice",
    "sluice::coordinator",
    "sluice::dispatch",
    "sluice::group",
    "sluice::handlers",
    "sluice::maintenance",
    "sluice::metadata",
    "sluice::partition",
    "sluice::server",
    "sluice::startup",
    "sluice::txn",
    "sluice_protocol",
    "sluice_storage",
];

type Apply = Box<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

struct Levels {
    root: String,
    /// Loggers with a level of their own.
    set: BTreeMap<String, String>,
    /// Parts of the start-up directives that are not `target=level`
    /// (span filters), kept as they were.
    extra: Vec<String>,
    apply: Option<Apply>,
}

fn levels() -> MutexGuard<'static, Levels> {
    static LEVELS: OnceLock<Mutex<Levels>> = OnceLock::new();
    LEVELS
        .get_or_init(|| {
            Mutex::new(Levels {
                root: "INFO".to_string(),
                set: BTreeMap::new(),
                extra: Vec::new(),
                apply: None,
            })
        })
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// Installs the process's log subscriber: lines to `writer` (JSON or
/// text, colour when `ansi`), filtered by `directives` (EnvFilter syntax,
/// e.g. `info,sluice::server=debug`), which BROKER_LOGGER changes rebuild.
pub fn init<W>(directives: &str, json: bool, ansi: bool, writer: W) -> Result<(), String>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    use tracing_subscriber::prelude::*;
    let filter = EnvFilter::try_new(directives).map_err(|e| e.to_string())?;
    let (filter, handle) = reload::Layer::new(filter);
    let registry = tracing_subscriber::registry().with(filter);
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(ansi);
    let installed = if json {
        registry.with(fmt.json()).try_init()
    } else {
        registry.with(fmt).try_init()
    };
    installed.map_err(|e| e.to_string())?;
    let mut l = levels();
    l.root = "INFO".to_string();
    l.set.clear();
    l.extra.clear();
    for part in directives
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        match part.split_once('=') {
            None if kafka_level(part).is_some() => l.root = part.to_ascii_uppercase(),
            Some((target, level)) if kafka_level(level).is_some() && is_logger_name(target) => {
                l.set.insert(target.to_string(), level.to_ascii_uppercase());
            }
            _ => l.extra.push(part.to_string()),
        }
    }
    l.apply = Some(Box::new(move |d: &str| {
        let filter = EnvFilter::try_new(d).map_err(|e| e.to_string())?;
        handle.reload(filter).map_err(|e| e.to_string())
    }));
    Ok(())
}

/// Kafka's level name → tracing's, or `None` if it is not one.
fn kafka_level(level: &str) -> Option<&'static str> {
    match level.trim().to_ascii_uppercase().as_str() {
        "TRACE" => Some("trace"),
        "DEBUG" => Some("debug"),
        "INFO" => Some("info"),
        "WARN" => Some("warn"),
        "ERROR" | "FATAL" => Some("error"),
        _ => None,
    }
}

/// A tracing target of Sluice's crates.
fn is_logger_name(name: &str) -> bool {
    let crate_name = name.split("::").next().unwrap_or_default();
    matches!(crate_name, "sluice" | "sluice_storage" | "sluice_protocol")
        && name
            .split("::")
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
}

/// Every logger with its level: `root` first, then the known loggers and
/// those with a level set, each with its own level or its parent's.
pub(crate) fn loggers() -> Vec<(String, String)> {
    let l = levels();
    let mut names: Vec<&str> = KNOWN.to_vec();
    names.extend(l.set.keys().map(String::as_str));
    names.sort_unstable();
    names.dedup();
    let effective = |name: &str| -> String {
        let mut at = name;
        loop {
            if let Some(v) = l.set.get(at) {
                return v.clone();
            }
            match at.rfind("::") {
                Some(i) => at = &at[..i],
                None => return l.root.clone(),
            }
        }
    };
    let mut out = vec![(ROOT.to_string(), l.root.clone())];
    out.extend(names.into_iter().map(|n| (n.to_string(), effective(n))));
    out
}

/// One change to a logger: `Some(level)` sets it, `None` removes its own
/// level (it follows its parent again).
pub(crate) type LevelChange = (String, Option<String>);

/// Checks changes as Kafka checks them: an unknown logger or level is
/// INVALID_CONFIG (`Err((false, message))`), removing the root's level is
/// INVALID_REQUEST (`Err((true, message))`).
pub(crate) fn check(changes: &[LevelChange]) -> Result<(), (bool, String)> {
    for (logger, level) in changes {
        if logger != ROOT && !is_logger_name(logger) {
            return Err((false, format!("Logger {logger} does not exist!")));
        }
        match level {
            Some(level) if kafka_level(level).is_none() => {
                return Err((
                    false,
                    format!(
                        "Cannot set the log level of {logger} to {level} as it is not a supported log level. Valid log levels are {}",
                        LEVELS.join(", ")
                    ),
                ))
            }
            None if logger == ROOT => {
                return Err((
                    true,
                    "Removing the log level of the root logger is not allowed".to_string(),
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

/// Applies checked changes and rebuilds the filter (when [`init`] ran).
pub(crate) fn apply(changes: &[LevelChange]) -> Result<(), String> {
    let mut l = levels();
    for (logger, level) in changes {
        match level {
            Some(level) if logger == ROOT => l.root = level.trim().to_ascii_uppercase(),
            Some(level) => {
                l.set
                    .insert(logger.clone(), level.trim().to_ascii_uppercase());
            }
            None => {
                l.set.remove(logger);
            }
        }
    }
    let mut directives = vec![kafka_level(&l.root).unwrap_or("info").to_string()];
    directives.extend(l.extra.iter().cloned());
    directives.extend(
        l.set
            .iter()
            .map(|(t, v)| format!("{t}={}", kafka_level(v).unwrap_or("info"))),
    );
    let directives = directives.join(",");
    match &l.apply {
        Some(apply) => apply(&directives),
        None => Ok(()),
    }
}
