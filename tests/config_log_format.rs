//! Log lines on stderr: no colour codes when stderr is not a terminal, and
//! one JSON object per line with `--log-format json`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

/// Runs the broker with `args` and stderr to a pipe until it listens, stops
/// it with SIGTERM, and returns what it logged.
fn logged(args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--http-listen",
            "none",
            "--data-dir",
        ])
        .arg(dir.path())
        .args(args)
        .env("SLUICE_LOG", "info")
        .env_remove("NO_COLOR")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let listening = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .any(|line| line.starts_with("listening on "));
    assert!(listening, "the broker listens");
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    assert!(child.wait().unwrap().success(), "clean shutdown");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    stderr
}

#[test]
fn text_logs_to_a_pipe_have_no_colour_codes() {
    let stderr = logged(&[]);
    assert!(stderr.contains("INFO"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "no escape codes: {stderr:?}");
}

#[test]
fn json_logs_are_one_object_per_line() {
    let stderr = logged(&["--log-format", "json"]);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.is_empty()).collect();
    assert!(!lines.is_empty());
    for line in &lines {
        assert!(
            line.starts_with('{') && line.ends_with('}'),
            "a JSON object: {line}"
        );
        assert!(line.contains("\"level\":"), "{line}");
    }
    assert!(stderr.contains("\"level\":\"INFO\""), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "no escape codes: {stderr:?}");
}
