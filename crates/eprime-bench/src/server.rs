//! The server under test: the real `eprime serve` in a child process, on a loopback port,
//! pinned to its own core with one tokio worker, and what the kernel says about it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::process::{Child, Command};

/// How to run the server.
#[derive(Clone, Debug)]
pub struct Launcher {
    /// The `eprime` binary, or this binary's embedded copy of the same code (`__serve`).
    pub program: PathBuf,
    pub embedded: bool,
    /// Run under `taskset -c 1`.
    pub pin: bool,
    /// A command the server runs under (`valgrind …`), before the program.
    pub under: Vec<std::ffi::OsString>,
}

impl Launcher {
    /// The server binary: `explicit`, else `eprime` next to this binary (where cargo puts both),
    /// else the same server code embedded in this binary — so the smoke test never depends on
    /// build order — with a warning that numbers from it are not the release binary's.
    pub fn find(explicit: Option<&Path>, pin: bool) -> anyhow::Result<Self> {
        if let Some(path) = explicit {
            if !path.exists() {
                bail!(
                    "--server-bin {} does not exist; build it with `cargo build --release -p eprime`",
                    path.display()
                );
            }
            return Ok(Self { program: path.to_owned(), embedded: false, pin, under: Vec::new() });
        }
        let me = std::env::current_exe().context("locating this binary")?;
        let beside = me.with_file_name(format!("eprime{}", std::env::consts::EXE_SUFFIX));
        // Integration tests run from target/<profile>/deps: the binary is one level up.
        let above =
            me.parent().and_then(Path::parent).map(|p| p.join(format!("eprime{}", std::env::consts::EXE_SUFFIX)));
        if let Some(found) = [Some(beside), above].into_iter().flatten().find(|p| p.exists()) {
            return Ok(Self { program: found, embedded: false, pin, under: Vec::new() });
        }
        eprintln!(
            "warning: no `eprime` binary next to {}; running the server code embedded in this binary. Build the \
             real one with `cargo build --release -p eprime` (same target directory) for numbers worth reporting.",
            me.display()
        );
        Ok(Self { program: me, embedded: true, pin, under: Vec::new() })
    }

    /// Runs the server under callgrind with instrumentation off until `callgrind_control` turns it
    /// on (see `instructions`), its dumps written to `out_file` (`%p` is the pid).
    pub fn under_callgrind(&mut self, out_file: &Path) {
        let mut out = std::ffi::OsString::from("--callgrind-out-file=");
        out.push(out_file);
        self.under = ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--quiet"].map(Into::into).to_vec();
        self.under.push(out);
    }

    /// Starts the server on `database` and waits until `/healthz` answers.
    pub async fn start(&self, database: &str, log: &Path) -> anyhow::Result<(Server, Duration)> {
        let addr = free_port()?;
        let log_file = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let mut line: Vec<&std::ffi::OsStr> = Vec::new();
        if self.pin {
            line.extend(["taskset", "-c", "1"].map(std::ffi::OsStr::new));
        }
        line.extend(self.under.iter().map(std::ffi::OsString::as_os_str));
        line.push(self.program.as_os_str());
        let mut command = Command::new(line[0]);
        command.args(&line[1..]);
        if self.embedded {
            command.arg(crate::EMBEDDED_SERVE);
        }
        command
            .args(["--database", database, "serve", "--addr", &addr.to_string()])
            // One tokio worker: the server is measured on one core (tokio reads this variable).
            .env("TOKIO_WORKER_THREADS", "1")
            .env_remove("EPRIME_DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .kill_on_drop(true);
        let started = Instant::now();
        let child = command.spawn().with_context(|| format!("starting {}", self.program.display()))?;
        let mut server = Server { pid: child.id().context("the server has a pid")?, child, addr };
        server.wait_ready(Duration::from_secs(120)).await.with_context(|| format!("see {}", log.display()))?;
        let ready = started.elapsed();
        eprintln!("server {} ready on {addr} after {:.0} ms", server.pid, ready.as_secs_f64() * 1000.0);
        Ok((server, ready))
    }
}

/// A free loopback port (bound and released: the server binds it a moment later).
fn free_port() -> anyhow::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}

pub struct Server {
    child: Child,
    pub pid: u32,
    pub addr: SocketAddr,
}

impl Server {
    /// Polls `/healthz` every millisecond until it answers 200.
    async fn wait_ready(&mut self, limit: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                bail!("the server exited during start ({status})");
            }
            if crate::driver::client::probe(self.addr, "/healthz").await {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        bail!("the server did not answer /healthz within {limit:?}")
    }

    pub fn stats(&self) -> ProcStats {
        ProcStats::of(self.pid)
    }

    /// Waits until the server has used under 0.01 s of CPU in one `interval` (idle but for
    /// housekeeping), at most `limit`.
    pub async fn wait_until_idle(&self, interval: Duration, limit: Duration) {
        let deadline = Instant::now() + limit;
        let mut before = self.stats().cpu_secs;
        while Instant::now() < deadline {
            tokio::time::sleep(interval).await;
            let now = self.stats().cpu_secs;
            if now - before < 0.01 {
                return;
            }
            before = now;
        }
    }

    /// Resets the kernel's peak-resident figure (VmHWM), so each scenario reports its own peak.
    pub fn reset_peak(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.pid), "5");
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// CPU time and memory of a process, from /proc.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct ProcStats {
    /// User plus system CPU seconds since the process started.
    pub cpu_secs: f64,
    pub rss_kb: u64,
    pub hwm_kb: u64,
    pub threads: u64,
}

impl ProcStats {
    pub fn of(pid: u32) -> Self {
        let mut stats = Self::default();
        if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            // Fields after the command name (which may hold spaces) start at field 3 (state).
            if let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) {
                let fields: Vec<&str> = rest.split_whitespace().collect();
                let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
                // utime and stime are fields 14 and 15 (1-based), i.e. 11 and 12 after the name.
                stats.cpu_secs = (ticks(11) + ticks(12)) as f64 / clock_ticks() as f64;
            }
        }
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
            for line in status.lines() {
                let value = || line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).unwrap_or(0);
                if line.starts_with("VmRSS:") {
                    stats.rss_kb = value();
                } else if line.starts_with("VmHWM:") {
                    stats.hwm_kb = value();
                } else if line.starts_with("Threads:") {
                    stats.threads = value();
                }
            }
        }
        stats
    }
}

/// Clock ticks per second for /proc CPU times (`getconf CLK_TCK`; 100 on every Linux we know).
fn clock_ticks() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100)
    })
}

/// Whether the server and the harness can each have a core of their own.
pub fn can_pin() -> bool {
    crate::machine::total_cores() >= 2 && which("taskset")
}

pub fn which(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|p| p.join(program).exists()))
}
