//! Facts about the machine and the code a run measured, so results can be compared honestly.

use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    pub cores: usize,
    pub cpu: String,
    pub memory_mb: u64,
    pub kernel: String,
    pub git_commit: String,
    pub git_dirty: bool,
    pub date_utc: String,
    /// Whether the server ran under `taskset -c 1` and the harness under `taskset -c 0`.
    pub pinned: bool,
    pub server_binary: String,
}

/// Every core the machine has (not just those this process may use: the harness may already
/// be pinned to one).
pub fn total_cores() -> usize {
    std::fs::read_to_string("/proc/cpuinfo")
        .map(|info| info.lines().filter(|l| l.starts_with("processor")).count())
        .ok()
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn first_line(path: &str, prefix: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()?
        .lines()
        .find(|l| l.starts_with(prefix))
        .map(|l| l.split_once(':').map_or(l, |(_, v)| v).trim().to_owned())
}

fn command(program: &str, args: &[&str]) -> Option<String> {
    let output = std::process::Command::new(program).args(args).output().ok()?;
    output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

impl Machine {
    pub fn describe(pinned: bool, server_binary: String) -> Self {
        let memory_kb = first_line("/proc/meminfo", "MemTotal")
            .and_then(|v| v.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()))
            .unwrap_or(0);
        let date_utc =
            time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
        Self {
            cores: total_cores(),
            cpu: first_line("/proc/cpuinfo", "model name").unwrap_or_else(|| "unknown".to_owned()),
            memory_mb: memory_kb / 1024,
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_owned(),
            git_commit: command("git", &["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".to_owned()),
            git_dirty: command("git", &["status", "--porcelain"]).is_some_and(|s| !s.is_empty()),
            date_utc,
            pinned,
            server_binary,
        }
    }
}
