//! Where option values come from, and which one wins.
//!
//! Precedence, highest first: command-line flags, `SLUICE_*` environment
//! variables, `--override KEY=VALUE`, the file given with `--config`, the
//! defaults. Flags and variables use our names only; the file and
//! `--override` take our names and Kafka's broker property names alike. One
//! source that sets an option twice (our name and a Kafka name, or two Kafka
//! names Kafka does not rank) is refused, naming both keys.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{Arg, ArgAction, Command};

use super::options::{Settings, Shown, OPTIONS};
use super::{Config, ConfigError};

/// `--config FILE` / `SLUICE_CONFIG`: the file of options.
pub const CONFIG_FLAG: &str = "config";
/// Help line of `--config`.
pub const CONFIG_HELP: &str =
    "File of options: TOML, or Kafka's KEY=VALUE lines if the name ends in .properties";
/// `--override KEY=VALUE`, repeatable.
pub const OVERRIDE_FLAG: &str = "override";
/// Help line of `--override`.
pub const OVERRIDE_HELP: &str =
    "Set an option by its file key or Kafka property name, over the file (repeatable)";

const LONG_ABOUT: &str = "Sluice: a Kafka-wire-protocol compatible broker.

Every option is a flag, an environment variable (shown), a key of the file given \
with --config, or --override KEY=VALUE. File keys are the option names (dashes or \
underscores, e.g. `default-partitions = 3`) or Kafka's broker property names \
(`num.partitions = 3`). Precedence, highest first: flags, environment, --override, \
the file, defaults.";

/// The command line and the environment, as given; [`Cli::resolve`] turns
/// them into [`Settings`].
#[derive(Debug, Default, Clone)]
pub struct Cli {
    /// Options given as flags: index into [`OPTIONS`], value.
    flags: Vec<(usize, String)>,
    /// `--override` arguments, in order.
    overrides: Vec<String>,
    /// `--config`, else `SLUICE_CONFIG`.
    config: Option<PathBuf>,
    /// The `SLUICE_*` variables, as seen when the command line was parsed.
    env: Vec<(String, String)>,
}

/// The admin commands of the same binary (`src/cli/`), listed under the
/// broker's options.
const ADMIN_COMMANDS: &str = "Admin commands (they speak the Kafka protocol to any broker; \
`sluice <COMMAND> --help` for each):
  sluice topics list|create|delete|describe|alter
  sluice groups list|describe|reset-offsets
  sluice configs describe|alter";

/// The clap command, built from [`OPTIONS`].
pub fn command() -> Command {
    let mut cmd = Command::new("sluice")
        .version(env!("CARGO_PKG_VERSION"))
        .about(env!("CARGO_PKG_DESCRIPTION"))
        .long_about(LONG_ABOUT)
        .after_help(ADMIN_COMMANDS);
    for opt in OPTIONS {
        let default = match opt.default {
            Shown::Value(v) | Shown::Prose(v) => v,
        };
        let mut help = format!("{} [default: {default}] [env: {}]", opt.help, opt.env_var());
        if !opt.kafka.is_empty() {
            let names: Vec<&str> = opt.kafka.iter().map(|k| k.name).collect();
            help.push_str(&format!(" [Kafka: {}]", names.join(", ")));
        }
        let arg = Arg::new(opt.name).long(opt.name).help(help);
        let arg = if opt.is_switch() {
            arg.action(ArgAction::SetTrue)
        } else {
            arg.value_name(opt.value_name)
                .action(ArgAction::Set)
                .allow_negative_numbers(true)
        };
        cmd = cmd.arg(arg);
    }
    cmd.arg(
        Arg::new(CONFIG_FLAG)
            .long(CONFIG_FLAG)
            .value_name("FILE")
            .value_parser(clap::value_parser!(PathBuf))
            .help(format!("{CONFIG_HELP} [env: SLUICE_CONFIG]")),
    )
    .arg(
        Arg::new(OVERRIDE_FLAG)
            .long(OVERRIDE_FLAG)
            .value_name("KEY=VALUE")
            .action(ArgAction::Append)
            .help(OVERRIDE_HELP),
    )
}

impl Cli {
    /// Parses the process's arguments and environment; exits with clap's
    /// message on a malformed command line (`--help` and `--version` too).
    pub fn parse() -> Cli {
        Self::parse_from(std::env::args_os())
    }

    /// [`Cli::parse`] over `args` (the first is the program name) and the
    /// process's environment.
    pub fn parse_from<I, T>(args: I) -> Cli
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        Self::try_parse_from(args).unwrap_or_else(|e| e.exit())
    }

    /// [`Cli::parse_from`], returning clap's error instead of exiting.
    pub fn try_parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        Self::try_parse_with_env(args, std::env::vars_os())
    }

    /// Parses `args` with `env` standing for the environment.
    pub fn try_parse_with_env<I, T, E>(args: I, env: E) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
        E: IntoIterator<Item = (OsString, OsString)>,
    {
        let matches = command().try_get_matches_from(args)?;
        let mut flags = Vec::new();
        for (i, opt) in OPTIONS.iter().enumerate() {
            if opt.is_switch() {
                if matches.get_flag(opt.name) {
                    flags.push((i, "true".to_string()));
                }
            } else if let Some(v) = matches.get_one::<String>(opt.name) {
                flags.push((i, v.clone()));
            }
        }
        let overrides = matches
            .get_many::<String>(OVERRIDE_FLAG)
            .map(|vs| vs.cloned().collect())
            .unwrap_or_default();
        // An empty variable counts as unset, as `VAR= sluice` means.
        let env: Vec<(String, String)> = env
            .into_iter()
            .filter_map(|(k, v)| {
                let k = k.into_string().ok()?;
                let v = v.to_string_lossy().into_owned();
                (k.starts_with("SLUICE_") && !v.is_empty()).then_some((k, v))
            })
            .collect();
        let config = matches
            .get_one::<PathBuf>(CONFIG_FLAG)
            .cloned()
            .or_else(|| {
                env.iter()
                    .find(|(k, _)| k == "SLUICE_CONFIG")
                    .map(|(_, v)| PathBuf::from(v))
            });
        Ok(Cli {
            flags,
            overrides,
            config,
            env,
        })
    }

    /// The settings these flags, variables, overrides and file give, checked
    /// with [`Config::validate`].
    pub fn resolve(self) -> Result<Settings, ConfigError> {
        let file = match &self.config {
            Some(path) => file_layer(path)?,
            None => vec![None; OPTIONS.len()],
        };
        let overrides = override_layer(&self.overrides)?;
        let env = env_layer(&self.env);
        let mut flags = vec![None; OPTIONS.len()];
        for (i, value) in self.flags {
            flags[i] = Some(Given {
                option: i,
                name: None,
                key: OPTIONS[i].name.to_string(),
                value,
                origin: Origin::Flag,
            });
        }

        // Lowest source first, so a higher one overwrites; every value given
        // is parsed, so a bad one is reported even where a higher source
        // hides it.
        let mut settings = Settings::command_defaults();
        let mut winners: Layer = vec![None; OPTIONS.len()];
        for layer in [file, overrides, env, flags] {
            for given in layer.into_iter().flatten() {
                given.apply(&mut settings)?;
                let option = given.option;
                winners[option] = Some(given);
            }
        }
        // A value out of range names the option; say how it was given, which
        // may have been under a Kafka name.
        settings.config.validate().map_err(|e| match e {
            ConfigError::Invalid { option, message } => {
                let given = OPTIONS
                    .iter()
                    .position(|o| o.name == option)
                    .and_then(|i| winners[i].as_ref());
                let message = match given {
                    Some(g) => format!("{message} (given as {})", g.described()),
                    None => message,
                };
                ConfigError::Invalid { option, message }
            }
            other => other,
        })?;
        Ok(settings)
    }
}

/// One value per option, or none, from one source; indexed like [`OPTIONS`].
type Layer = Vec<Option<Given>>;

fn file_layer(path: &Path) -> Result<Layer, ConfigError> {
    let fail = |message: String| ConfigError::Parse {
        path: path.to_path_buf(),
        message,
    };
    let mut given = Vec::new();
    for (key, value) in read_file(path)? {
        let (option, name) = lookup(&key).ok_or_else(|| fail(unknown_key(&key)))?;
        given.push(Given {
            option,
            name,
            key,
            value,
            origin: Origin::File(path.to_path_buf()),
        });
    }
    one_per_option(given, false).map_err(|e| fail(format!("`{}`: {}", e.0.key, e.1)))
}

fn override_layer(args: &[String]) -> Result<Layer, ConfigError> {
    let mut given = Vec::new();
    for arg in args {
        let fail = |message: String| ConfigError::Override {
            arg: arg.clone(),
            message,
        };
        let (key, value) = arg
            .split_once('=')
            .ok_or_else(|| fail("expected KEY=VALUE".to_string()))?;
        let key = key.trim();
        let (option, name) = lookup(key).ok_or_else(|| fail(unknown_key(key)))?;
        given.push(Given {
            option,
            name,
            key: key.to_string(),
            value: value.to_string(),
            origin: Origin::Override(arg.clone()),
        });
    }
    one_per_option(given, true).map_err(|e| ConfigError::Override {
        arg: e.0.origin.text(),
        message: e.1,
    })
}

fn env_layer(env: &[(String, String)]) -> Layer {
    OPTIONS
        .iter()
        .enumerate()
        .map(|(i, opt)| {
            let var = opt.env_var();
            let (_, value) = env.iter().find(|(k, _)| *k == var)?;
            Some(Given {
                option: i,
                name: None,
                key: var.clone(),
                value: value.clone(),
                origin: Origin::Env(var),
            })
        })
        .collect()
}

impl Config {
    /// Builds the configuration from parsed flags/environment plus the file.
    pub fn from_cli(cli: Cli) -> Result<Config, ConfigError> {
        cli.resolve().map(|s| s.config)
    }

    /// Sets one option as `--override KEY=VALUE` does: by our name
    /// (`default-partitions`) or Kafka's (`num.partitions`). An unknown key
    /// names the closest known one; a bad value leaves `self` as it was.
    /// Ranges are checked when the broker starts ([`Config::validate`]).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        let layer = override_layer(&[format!("{key}={value}")])?;
        let mut settings = Settings {
            config: self.clone(),
            ..Settings::default()
        };
        for given in layer.into_iter().flatten() {
            given.apply(&mut settings)?;
        }
        *self = settings.config;
        Ok(())
    }
}

/// Where one value came from, for error messages.
#[derive(Debug, Clone)]
enum Origin {
    Flag,
    Env(String),
    Override(String),
    File(PathBuf),
}

impl Origin {
    /// The `--override` argument, variable or file, as the user gave it.
    fn text(&self) -> String {
        match self {
            Origin::Flag => "flag".to_string(),
            Origin::Env(var) => var.clone(),
            Origin::Override(arg) => arg.clone(),
            Origin::File(path) => path.display().to_string(),
        }
    }
}

/// One value for one option from one source.
#[derive(Debug, Clone)]
struct Given {
    /// Index into [`OPTIONS`].
    option: usize,
    /// Index into the option's Kafka names; `None` for our name.
    name: Option<usize>,
    /// The key as the user wrote it.
    key: String,
    value: String,
    origin: Origin,
}

impl Given {
    fn rank(&self) -> u8 {
        self.name.map_or(0, |k| OPTIONS[self.option].kafka[k].rank)
    }

    /// Where this value was given, for a message.
    fn described(&self) -> String {
        match &self.origin {
            Origin::Flag => format!("--{}", OPTIONS[self.option].name),
            Origin::Env(var) => var.clone(),
            Origin::Override(arg) => format!("--override {arg}"),
            Origin::File(path) => format!("`{}` in {}", self.key, path.display()),
        }
    }

    fn apply(&self, settings: &mut Settings) -> Result<(), ConfigError> {
        let opt = &OPTIONS[self.option];
        let set = match self.name {
            Some(k) => opt.kafka[k].set,
            None => opt.set,
        };
        set(settings, &self.value).map_err(|message| match &self.origin {
            Origin::Flag => ConfigError::Invalid {
                option: opt.name,
                message,
            },
            Origin::Env(var) => ConfigError::Env {
                var: var.clone(),
                message,
            },
            Origin::Override(arg) => ConfigError::Override {
                arg: arg.clone(),
                message: format!("`{}`: {message}", self.key),
            },
            Origin::File(path) => ConfigError::Parse {
                path: path.clone(),
                message: format!("`{}`: {message}", self.key),
            },
        })
    }
}

/// Keeps one value per option out of one source's values. The same key
/// twice is refused, or the later wins when `later_wins` (`--override`, as
/// Kafka takes it). Two different keys for one option are refused, unless
/// both are ranked Kafka names: then the higher rank wins, as in Kafka.
fn one_per_option(given: Vec<Given>, later_wins: bool) -> Result<Layer, Box<(Given, String)>> {
    let mut chosen: Layer = vec![None; OPTIONS.len()];
    for g in given {
        let slot = &mut chosen[g.option];
        match slot {
            None => *slot = Some(g),
            Some(prev) if prev.name == g.name => {
                if !later_wins {
                    let message = if prev.key == g.key {
                        "given twice".to_string()
                    } else {
                        format!("given twice (also as `{}`)", prev.key)
                    };
                    return Err(Box::new((g, message)));
                }
                *slot = Some(g);
            }
            Some(prev) => {
                if prev.rank() > 0 && g.rank() > 0 {
                    if g.rank() > prev.rank() {
                        *slot = Some(g);
                    }
                } else {
                    let message = format!(
                        "`{}` and `{}` set the same option ({}); give only one",
                        prev.key, g.key, OPTIONS[g.option].name
                    );
                    return Err(Box::new((g, message)));
                }
            }
        }
    }
    Ok(chosen)
}

/// The option a file or `--override` key names: ours (dashes or
/// underscores, or an alias) or a Kafka property name (exactly).
fn lookup(key: &str) -> Option<(usize, Option<usize>)> {
    let ours = key.replace('_', "-");
    OPTIONS.iter().enumerate().find_map(|(i, opt)| {
        if opt.name == ours || opt.aliases.contains(&ours.as_str()) {
            Some((i, None))
        } else {
            let k = opt.kafka.iter().position(|k| k.name == key)?;
            Some((i, Some(k)))
        }
    })
}

/// "unknown option `KEY`; did you mean `NEAREST`?", by edit distance over
/// our names and Kafka's.
pub(crate) fn unknown_key(key: &str) -> String {
    let probe = if key.contains('.') {
        key.to_string()
    } else {
        key.replace('_', "-")
    };
    let nearest = OPTIONS
        .iter()
        .flat_map(|opt| std::iter::once(opt.name).chain(opt.kafka.iter().map(|k| k.name)))
        .min_by_key(|known| strsim::levenshtein(&probe, known));
    match nearest {
        Some(known) => format!("unknown option `{key}`; did you mean `{known}`?"),
        None => format!("unknown option `{key}`"),
    }
}

/// The file's keys and values, as text, in file order.
fn read_file(path: &Path) -> Result<Vec<(String, String)>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let properties = path.extension().is_some_and(|e| e == "properties");
    let pairs = if properties {
        properties_pairs(&text)
    } else {
        toml_pairs(&text)
    };
    pairs.map_err(|message| ConfigError::Parse {
        path: path.to_path_buf(),
        message,
    })
}

/// A TOML file as dotted keys: `num.partitions = 3` parses as a table `num`
/// holding `partitions`, which is flattened back into `num.partitions`, so
/// Kafka's names work quoted or not.
pub(crate) fn toml_pairs(text: &str) -> Result<Vec<(String, String)>, String> {
    let table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    flatten("", &table, &mut out)?;
    Ok(out)
}

fn flatten(
    prefix: &str,
    table: &toml::Table,
    out: &mut Vec<(String, String)>,
) -> Result<(), String> {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(inner) => flatten(&key, inner, out)?,
            toml::Value::Array(items) => {
                // Kafka's lists (`log.dirs`, `listeners`) are comma-separated.
                let mut parts = Vec::new();
                for item in items {
                    parts.push(scalar(&key, item)?);
                }
                out.push((key, parts.join(",")));
            }
            other => {
                let value = scalar(&key, other)?;
                out.push((key, value));
            }
        }
    }
    Ok(())
}

fn scalar(key: &str, value: &toml::Value) -> Result<String, String> {
    match value {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(i) => Ok(i.to_string()),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        toml::Value::Float(f) => Err(format!("`{key}` = {f}: give a whole number")),
        toml::Value::Datetime(d) => Err(format!("`{key}` = {d}: a date is no option's value")),
        toml::Value::Array(_) | toml::Value::Table(_) => Err(format!(
            "`{key}`: expected a value, found a nested list or table"
        )),
    }
}

/// Kafka's `server.properties` form: `KEY=VALUE` (or `KEY: VALUE`) lines,
/// `#` and `!` comments. Line continuations and escapes are not supported.
pub(crate) fn properties_pairs(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let (key, value) = line
            .split_once(['=', ':'])
            .ok_or_else(|| format!("line {}: expected KEY=VALUE", n + 1))?;
        out.push((key.trim().to_string(), value.trim().to_string()));
    }
    Ok(out)
}
