//! CPU time and memory of a process, read from `/proc` (Linux).

use std::time::Duration;

/// Clock ticks per second of `/proc/<pid>/stat` (`getconf CLK_TCK`).
fn ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .filter(|&t| t > 0)
        .unwrap_or(100)
}

/// User + system CPU time of `pid` ("self" for this process).
pub fn cpu_time(pid: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let ticks = ticks_per_second();
    Some(Duration::from_millis((utime + stime) * 1000 / ticks))
}

/// (current resident set, peak resident set) of `pid`, in KiB.
pub fn rss_kib(pid: &str) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        status
            .lines()
            .find(|l| l.starts_with(name))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// Samples a process before and after a run.
pub struct Sampler {
    pid: Option<String>,
    cpu_before: Option<Duration>,
    self_before: Option<Duration>,
}

/// What a run cost.
#[derive(Debug, Default, Clone, Copy)]
pub struct Cost {
    pub broker_cpu: Option<Duration>,
    pub client_cpu: Option<Duration>,
    pub broker_rss_kib: Option<u64>,
    pub broker_peak_rss_kib: Option<u64>,
}

impl Sampler {
    pub fn start(broker_pid: Option<u32>) -> Sampler {
        let pid = broker_pid.map(|p| p.to_string());
        Sampler {
            cpu_before: pid.as_deref().and_then(cpu_time),
            self_before: cpu_time("self"),
            pid,
        }
    }

    pub fn finish(&self) -> Cost {
        let broker_cpu = self
            .pid
            .as_deref()
            .and_then(cpu_time)
            .zip(self.cpu_before)
            .map(|(after, before)| after.saturating_sub(before));
        let client_cpu = cpu_time("self")
            .zip(self.self_before)
            .map(|(after, before)| after.saturating_sub(before));
        let rss = self.pid.as_deref().and_then(rss_kib);
        Cost {
            broker_cpu,
            client_cpu,
            broker_rss_kib: rss.map(|r| r.0),
            broker_peak_rss_kib: rss.map(|r| r.1),
        }
    }
}
