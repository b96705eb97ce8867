//! The option table of `docs/configuration.md`, generated from
//! [`OPTIONS`]. A test compares it with the committed page; run
//! `UPDATE_DOCS=1 cargo test --lib config::docs` to rewrite the page's table
//! (between the markers the test names).

use super::options::{Shown, OPTIONS};
use super::sources::{CONFIG_FLAG, CONFIG_HELP, OVERRIDE_FLAG, OVERRIDE_HELP};

/// The Markdown table of every option: flag, variable, file key, Kafka
/// names, default, meaning.
pub fn options_table() -> String {
    let mut out = String::from(
        "| flag | environment | file key | Kafka name | default | meaning |\n|---|---|---|---|---|---|\n",
    );
    for opt in OPTIONS {
        let flag = if opt.is_switch() {
            format!("`--{}`", opt.name)
        } else {
            format!("`--{} {}`", opt.name, opt.value_name)
        };
        let kafka = if opt.kafka.is_empty() {
            "—".to_string()
        } else {
            let names: Vec<String> = opt.kafka.iter().map(|k| format!("`{}`", k.name)).collect();
            names.join(", ")
        };
        let default = match opt.default {
            Shown::Value(v) => format!("`{v}`"),
            Shown::Prose(p) => p.to_string(),
        };
        let meaning = if opt.details.is_empty() {
            opt.help.to_string()
        } else {
            format!("{}. {}", opt.help, opt.details)
        };
        out.push_str(&format!(
            "| {flag} | `{}` | `{}` | {kafka} | {default} | {meaning} |\n",
            opt.env_var(),
            opt.name
        ));
    }
    out.push_str(&format!(
        "| `--{CONFIG_FLAG} FILE` | `SLUICE_CONFIG` | — | — | none | {CONFIG_HELP} |\n"
    ));
    out.push_str(&format!(
        "| `--{OVERRIDE_FLAG} KEY=VALUE` | — | — | — | none | {OVERRIDE_HELP} |\n"
    ));
    out
}

/// Checks that `docs/configuration.md` holds `table` between `begin` and
/// `end`; with `UPDATE_DOCS` set, writes it there instead. `command` is
/// what the failure tells the reader to run.
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub(crate) fn check_generated_block(begin: &str, end: &str, table: &str, command: &str) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/configuration.md");
    let page = std::fs::read_to_string(path).unwrap();
    let start = page.find(begin).expect("begin marker") + begin.len();
    let stop = page.find(end).expect("end marker");
    let expected = format!("\n{table}");
    if page[start..stop] == expected {
        return;
    }
    if std::env::var_os("UPDATE_DOCS").is_some() {
        let updated = format!("{}{expected}{}", &page[..start], &page[stop..]);
        std::fs::write(path, updated).unwrap();
        return;
    }
    panic!(
        "docs/configuration.md's generated table is stale; run `{command}` \
         or put this between the markers:\n{expected}"
    );
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// Opens the generated part of `docs/configuration.md`.
    const BEGIN_MARKER: &str = "<!-- options table: generated from src/config/options.rs; run `UPDATE_DOCS=1 cargo test --lib config::docs` after changing an option -->";
    /// Closes the generated part of `docs/configuration.md`.
    const END_MARKER: &str = "<!-- end of options table -->";

    /// The committed page carries the table the option definitions give.
    #[test]
    fn configuration_md_matches_the_options() {
        check_generated_block(
            BEGIN_MARKER,
            END_MARKER,
            &options_table(),
            "UPDATE_DOCS=1 cargo test --lib config::docs",
        );
    }

    /// A `|` would break a table row.
    #[test]
    fn doc_texts_hold_no_pipes() {
        for opt in OPTIONS {
            for text in [opt.help, opt.details, opt.value_name] {
                assert!(!text.contains('|'), "{}: {text}", opt.name);
            }
        }
    }
}
