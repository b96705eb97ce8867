//! `--topics`: topics the broker creates at start (and again after a reset).
//!
//! The grammar, one string (`SLUICE_TOPICS`, a flag or a file value):
//!
//! ```text
//! topics  = [ topic { "," topic } ]
//! topic   = NAME [ ":" PARTITIONS ] { ":" KEY "=" VALUE }
//! VALUE   = text without "," and ":" | "[" text without "]" "]"
//! ```
//!
//! `orders:3,payments:1:cleanup.policy=compact:retention.ms=60000` is two
//! topics; a topic without a count gets `--default-partitions`
//! (`num.partitions`). A value that holds a comma or a colon goes in square
//! brackets, as `kafka-configs.sh --add-config` takes list values:
//! `events:2:cleanup.policy=[compact,delete]`. Spaces and newlines around
//! the parts are ignored, and so are empty items (a trailing comma).
//!
//! Parsing checks the shape (a count that is a positive number, `KEY=VALUE`,
//! no topic or key given twice); Kafka's checks of the topic name and of each
//! config are made by the broker at start, before it binds its port.

use std::collections::BTreeMap;

/// At most this many topics in one `--topics` (each is created at start and
/// after every reset; `--max-partitions` bounds their partitions too).
pub const MAX_TOPICS: usize = 1000;

/// One topic of `--topics`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TopicSpec {
    pub name: String,
    /// `None`: the broker's `default-partitions`.
    pub partitions: Option<i32>,
    /// Topic configs set on it (`cleanup.policy`, `retention.ms`, ...).
    pub configs: BTreeMap<String, String>,
}

impl TopicSpec {
    /// `partitions` partitions and no configs of its own.
    pub fn new(name: impl Into<String>, partitions: Option<i32>) -> Self {
        TopicSpec {
            name: name.into(),
            partitions,
            configs: BTreeMap::new(),
        }
    }

    /// Sets a topic config.
    pub fn config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.configs.insert(key.into(), value.into());
        self
    }
}

/// Splits `s` at each `sep` outside square brackets; an unclosed bracket is
/// an error.
fn split_outside_brackets(s: &str, sep: char) -> Result<Vec<&str>, String> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '[' => depth += 1,
            ']' if depth == 0 => return Err(format!("{s:?} has a ']' without a '['")),
            ']' => depth -= 1,
            c if c == sep && depth == 0 => {
                parts.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(format!("{s:?} has a '[' without a ']'"));
    }
    parts.push(&s[start..]);
    Ok(parts)
}

/// Parses a `--topics` value (the grammar is in the module's doc).
pub fn parse_topics(spec: &str) -> Result<Vec<TopicSpec>, String> {
    let mut topics: Vec<TopicSpec> = Vec::new();
    for item in split_outside_brackets(spec, ',')? {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let topic = parse_topic(item)?;
        if topics.iter().any(|t| t.name == topic.name) {
            return Err(format!("topic {:?} is given twice", topic.name));
        }
        topics.push(topic);
        if topics.len() > MAX_TOPICS {
            return Err(format!("more than {MAX_TOPICS} topics"));
        }
    }
    Ok(topics)
}

fn parse_topic(item: &str) -> Result<TopicSpec, String> {
    let fields = split_outside_brackets(item, ':')?;
    let mut fields = fields.into_iter().map(str::trim);
    let name = fields.next().unwrap_or_default();
    if name.is_empty() {
        return Err(format!(
            "{item:?} has no topic name (NAME[:PARTITIONS][:KEY=VALUE...])"
        ));
    }
    let mut topic = TopicSpec::new(name, None);
    for (i, field) in fields.enumerate() {
        let Some((key, value)) = field.split_once('=') else {
            if i == 0 {
                let n: i32 = field.parse().map_err(|_| {
                    format!("topic {name:?}: the partition count {field:?} is not a number")
                })?;
                if n < 1 {
                    return Err(format!(
                        "topic {name:?}: the partition count must be at least 1, got {n}"
                    ));
                }
                topic.partitions = Some(n);
                continue;
            }
            return Err(format!(
                "topic {name:?}: {field:?} is not KEY=VALUE (a value with ',' or ':' goes in square brackets: KEY=[a,b])"
            ));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(format!("topic {name:?}: {field:?} has no config name"));
        }
        let value = value.trim();
        let value = match value.strip_prefix('[') {
            Some(inner) => inner
                .strip_suffix(']')
                .ok_or_else(|| {
                    format!("topic {name:?}: {field:?} has text after its bracketed value")
                })?
                .trim(),
            None => value,
        };
        if topic
            .configs
            .insert(key.to_string(), value.to_string())
            .is_some()
        {
            return Err(format!("topic {name:?}: config {key:?} is given twice"));
        }
    }
    Ok(topic)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn configs(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn names_counts_and_configs() {
        let t = parse_topics("orders:3,payments:1:cleanup.policy=compact").unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0], TopicSpec::new("orders", Some(3)));
        assert_eq!(t[1].name, "payments");
        assert_eq!(t[1].partitions, Some(1));
        assert_eq!(t[1].configs, configs(&[("cleanup.policy", "compact")]));
    }

    #[test]
    fn several_configs_and_no_count() {
        let t = parse_topics(" a , b:retention.ms=1000:segment.bytes=2048 ,").unwrap();
        assert_eq!(t[0], TopicSpec::new("a", None));
        assert_eq!(t[1].partitions, None);
        assert_eq!(
            t[1].configs,
            configs(&[("retention.ms", "1000"), ("segment.bytes", "2048")])
        );
    }

    #[test]
    fn bracketed_values_keep_commas_and_colons() {
        let t = parse_topics(
            "events:2:cleanup.policy=[compact,delete]:leader.replication.throttled.replicas=[0:0,1:0],x",
        )
        .unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(
            t[0].configs,
            configs(&[
                ("cleanup.policy", "compact,delete"),
                ("leader.replication.throttled.replicas", "0:0,1:0"),
            ])
        );
        assert_eq!(t[1].name, "x");
    }

    #[test]
    fn empty_means_no_topics() {
        assert!(parse_topics("").unwrap().is_empty());
        assert!(parse_topics(" , ").unwrap().is_empty());
    }

    #[test]
    fn bad_specs_say_what_is_wrong() {
        for (spec, says) in [
            ("orders:x", "is not a number"),
            ("orders:0", "at least 1"),
            ("orders:-2", "at least 1"),
            (":3", "no topic name"),
            ("orders:3:compact", "is not KEY=VALUE"),
            ("orders:3:=1", "no config name"),
            ("a,a:2", "given twice"),
            ("a:1:retention.ms=1:retention.ms=2", "given twice"),
            ("a:1:cleanup.policy=[compact", "without a ']'"),
            ("a:1:cleanup.policy=compact]", "without a '['"),
            ("a:1:cleanup.policy=[compact]x", "text after"),
        ] {
            let e = parse_topics(spec).unwrap_err();
            assert!(e.contains(says), "{spec}: {e}");
        }
    }

    #[test]
    fn the_number_of_topics_is_bounded() {
        let many: Vec<String> = (0..=MAX_TOPICS).map(|i| format!("t{i}")).collect();
        assert!(parse_topics(&many.join(","))
            .unwrap_err()
            .contains("more than"));
    }
}
