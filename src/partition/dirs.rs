//! Partition directory names: `<data-dir>/<topic>-<index>/`. The only code
//! that makes or reads them (the registry opens and creates by them; the
//! creation intent rolls back and sets aside by them).

use std::path::{Path, PathBuf};

use crate::metadata::validate_topic_name;

/// The directory of partition `index` of `topic`.
pub fn partition_dir(data_dir: &Path, topic: &str, index: i32) -> PathBuf {
    data_dir.join(format!("{topic}-{index}"))
}

/// `(topic, index)` if `name` is a partition directory's name.
pub(crate) fn parse_partition_dir(name: &str) -> Option<(&str, i32)> {
    let (topic, index) = name.rsplit_once('-')?;
    if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let index: i32 = index.parse().ok()?;
    validate_topic_name(topic).ok()?;
    Some((topic, index))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_dir_names() {
        assert_eq!(
            partition_dir(Path::new("/d"), "my-topic", 12),
            Path::new("/d/my-topic-12")
        );
        assert_eq!(parse_partition_dir("a-0"), Some(("a", 0)));
        assert_eq!(parse_partition_dir("my-topic-12"), Some(("my-topic", 12)));
        assert_eq!(parse_partition_dir("a-0.orphaned"), None);
        assert_eq!(parse_partition_dir("a-0.2.orphaned"), None);
        assert_eq!(parse_partition_dir("__sluice_metadata"), None);
        assert_eq!(parse_partition_dir("a-"), None);
        assert_eq!(parse_partition_dir("-1"), None);
        assert_eq!(parse_partition_dir("a-99999999999"), None);
    }
}
