//! Snippets in the README and docs/ that tests or CI run: a code block
//! marked `<!-- snippet: PATH -->` must be exactly the file PATH (relative to
//! the repository), which a test or `.ci/run` runs. Documentation that says
//! what a command does cannot drift from the command that is run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

const MARK: &str = "<!-- snippet: ";

/// Every marked block of `doc`: (snippet path, block text).
fn marked_blocks(doc: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut lines = doc.lines();
    while let Some(line) = lines.next() {
        let Some(rest) = line.trim().strip_prefix(MARK) else {
            continue;
        };
        let path = rest.trim_end_matches("-->").trim().to_string();
        let fence = lines
            .next()
            .unwrap_or_else(|| panic!("{path}: no code block after the marker"));
        assert!(
            fence.starts_with("```"),
            "{path}: the line after the marker must open a code block, not {fence:?}"
        );
        let mut block = String::new();
        for line in lines.by_ref() {
            if line.starts_with("```") {
                break;
            }
            block.push_str(line);
            block.push('\n');
        }
        found.push((path, block));
    }
    found
}

fn docs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut docs = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            docs.push(path);
        }
    }
    docs.sort();
    docs
}

#[test]
fn marked_snippets_are_the_files_that_are_run() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for doc in docs() {
        let text = std::fs::read_to_string(&doc).unwrap();
        for (path, block) in marked_blocks(&text) {
            let file = std::fs::read_to_string(root.join(&path))
                .unwrap_or_else(|e| panic!("{}: snippet {path}: {e}", doc.display()));
            assert_eq!(
                block.trim_end(),
                file.trim_end(),
                "{}: the block marked {path} differs from the file",
                doc.display()
            );
            checked += 1;
        }
    }
    eprintln!("{checked} snippets checked");
}

#[test]
fn a_marker_needs_a_code_block() {
    let doc = "<!-- snippet: a.sh -->\n```sh\necho hi\n```\ntext\n";
    assert_eq!(
        marked_blocks(doc),
        [("a.sh".to_string(), "echo hi\n".to_string())]
    );
}
