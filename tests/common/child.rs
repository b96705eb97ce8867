//! The `sluice` binary as a child process, for tests that kill it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct ChildBroker {
    pub child: Child,
    pub addr: String,
    /// The HTTP server's address, from its `http listening on` line.
    pub http: Option<std::net::SocketAddr>,
}

impl ChildBroker {
    /// Starts `sluice` on a free port with `dir` as data dir and `args`.
    pub fn start(dir: &Path, args: &[&str]) -> ChildBroker {
        Self::spawn(Command::new(env!("CARGO_BIN_EXE_sluice")), dir, args)
    }

    /// Runs `command` (the broker, or a launcher that execs it) with the
    /// broker's arguments and waits for its "listening on" line.
    fn spawn(mut command: Command, dir: &Path, args: &[&str]) -> ChildBroker {
        let mut child = command
            .arg("--listen")
            .arg("127.0.0.1:0")
            .args(["--http-listen", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(dir)
            .args(args)
            .env("SLUICE_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn sluice");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut http = None;
        let addr = loop {
            assert!(Instant::now() < deadline, "broker did not start");
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(addr) = line.strip_prefix("http listening on ") {
                        http = addr.trim().parse().ok();
                    } else if let Some(addr) = line.strip_prefix("listening on ") {
                        break addr.trim().to_string();
                    }
                }
                _ => panic!("broker exited before listening"),
            }
        };
        ChildBroker { child, addr, http }
    }

    /// SIGKILL: no shutdown, no final flush.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "clean shutdown: {status}");
    }
}

impl Drop for ChildBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ChildBroker {
    /// [`Self::start`] with the process limited to `nofile` open file
    /// descriptors (soft and hard, through util-linux `prlimit`, which execs
    /// the broker: the child's pid is the broker's).
    pub fn start_with_fd_limit(dir: &Path, args: &[&str], nofile: u64) -> ChildBroker {
        let mut prlimit = Command::new("prlimit");
        prlimit
            .arg(format!("--nofile={nofile}:{nofile}"))
            .arg("--")
            .arg(env!("CARGO_BIN_EXE_sluice"));
        Self::spawn(prlimit, dir, args)
    }

    /// SIGTERM, and a clean exit within `limit` (the broker is killed and the
    /// test fails if it takes longer).
    pub fn stop_within(mut self, limit: Duration) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "clean shutdown: {status}");
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the broker did not exit within {limit:?} of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
