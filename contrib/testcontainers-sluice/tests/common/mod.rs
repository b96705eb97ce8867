//! What the tests need around Docker: a daemon (started here if none runs,
//! and stopped when the last test using it is done) and the image.
//!
//! Without Docker or the image the tests skip, printing why, unless
//! `SLUICE_TEST_IMAGE` is set (CI): then they fail.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The image under test: `SLUICE_TEST_IMAGE`, else `sluice:latest`.
pub fn image() -> String {
    std::env::var("SLUICE_TEST_IMAGE")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "sluice:latest".to_string())
}

fn required() -> bool {
    std::env::var("SLUICE_TEST_IMAGE").is_ok_and(|v| !v.is_empty())
}

struct Daemon {
    users: usize,
    /// The dockerd these tests started, if they did.
    started: Option<Child>,
}

static DAEMON: Mutex<Daemon> = Mutex::new(Daemon {
    users: 0,
    started: None,
});

/// Held by a test while it uses Docker.
pub struct Docker(());

impl Drop for Docker {
    fn drop(&mut self) {
        let mut d = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
        d.users -= 1;
        if d.users == 0 {
            if let Some(child) = d.started.take() {
                stop(child);
            }
        }
    }
}

fn daemon_up() -> bool {
    Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Starts dockerd as the issue says (no bridge, no iptables: containers
/// use the host's network) and waits up to 60 s for it to answer.
fn start_dockerd() -> Result<Child, String> {
    let log = std::env::temp_dir().join("testcontainers-sluice-dockerd.log");
    let file = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
    let err = file.try_clone().map_err(|e| e.to_string())?;
    let mut child = Command::new("dockerd")
        .args(["--bridge=none", "--iptables=false", "--ip6tables=false"])
        .stdout(file)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("Docker is not running and dockerd cannot be started: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if daemon_up() {
            return Ok(child);
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("dockerd exited ({status}); see {}", log.display()));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    stop(child);
    Err(format!(
        "dockerd did not answer in 60 s; see {}",
        log.display()
    ))
}

/// SIGTERM (dockerd stops its containers and exits), SIGKILL after 30 s.
fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Docker with the image, or `None` (the test skips, saying why) when
/// either is missing and `SLUICE_TEST_IMAGE` is not set.
pub fn docker_or_skip(test: &str) -> Option<Docker> {
    let reason = {
        let mut d = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
        let mut reason = None;
        if d.started.is_none() && !daemon_up() {
            match start_dockerd() {
                Ok(child) => d.started = Some(child),
                Err(e) => reason = Some(e),
            }
        }
        d.users += 1;
        reason
    };
    let guard = Docker(());
    let reason = reason.or_else(|| {
        let present = Command::new("docker")
            .args(["image", "inspect", &image()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        (!present).then(|| {
            format!(
                "no image {} (build it with contrib/docker/build-image.sh)",
                image()
            )
        })
    });
    match reason {
        None => Some(guard),
        Some(reason) if required() => panic!("{test}: SLUICE_TEST_IMAGE is set but {reason}"),
        Some(reason) => {
            // Straight to stderr: the test harness does not capture it.
            let _ = writeln!(std::io::stderr(), "skipping {test}: {reason}");
            None
        }
    }
}
