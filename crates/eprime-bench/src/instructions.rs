//! Instructions per request: the server under callgrind, each scenario's requests sent over a few
//! connections, so two builds can be compared on a machine whose speed moves from minute to minute.
//!
//! Timing runs of one build on these machines spread by a third; an instruction count of the same
//! requests on the same data does not depend on what else the machine is doing. The server starts
//! under `valgrind --tool=callgrind` with instrumentation off (so the start and the set-up sign-ins
//! run at near-native speed). Then, per scenario: a warm-up, a wait until the server is idle, the
//! counters zeroed, `count` requests over `connections` connections (each sending one request at a
//! time), a wait until the server is idle again (so the work a request leaves to followers of the
//! change log is counted with it), and a dump of the counters. The figure is the dump's total over
//! `count`.
//!
//! What it does not see: the kernel's work, waiting (locks, I/O, queueing), cache misses, and the
//! batching that only a heavy load brings (under callgrind a commit or a follower's pass is shared by
//! fewer requests). It compares builds' CPU work; it does not replace the timed run.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde::Serialize;

use crate::driver::Workload;
use crate::driver::client::Conn;
use crate::options::Options;
use crate::scenarios::{self, Context};
use crate::server::{Launcher, Server};

/// Scenarios left out unless named with `--only`: an argon2 verification is ≈ 50 million
/// instructions of fixed work, minutes under callgrind for a count that says nothing of e-PRIME.
const SLOW_BY_DESIGN: [&str; 1] = ["sign_in"];

#[derive(Debug, Serialize)]
pub struct Counted {
    pub name: &'static str,
    pub requests: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub instructions: u64,
    pub per_request: f64,
    /// `per_request` over `/healthz`'s.
    pub healthz_multiple: f64,
}

#[derive(Debug, Serialize)]
pub struct InstructionResults {
    pub scale: &'static str,
    pub database: &'static str,
    pub machine: crate::machine::Machine,
    pub count: u64,
    /// Connections sending at once (at most each scenario's saturation connections).
    pub connections: usize,
    pub scenarios: Vec<Counted>,
}

/// Counts instructions per request for the selected scenarios; returns whether none had errors.
pub async fn run(options: &Options, count: u64, connections: usize) -> anyhow::Result<bool> {
    for tool in ["valgrind", "callgrind_control"] {
        if !crate::server::which(tool) {
            bail!("--instructions needs `{tool}` on the PATH (Debian: apt-get install valgrind)");
        }
    }
    let count = count.max(1);
    let dumps = options.out.join("callgrind");
    // Dumps of an earlier run would be mistaken for this one's.
    let _ = std::fs::remove_dir_all(&dumps);
    std::fs::create_dir_all(&dumps).with_context(|| format!("creating {}", dumps.display()))?;
    let mut launcher = Launcher::find(options.server_bin.as_deref(), false)?;
    launcher.under_callgrind(&dumps.join("callgrind.%p.out"));
    let prepared = crate::generate::prepare(options).await?;
    let log = options.out.join("logs").join("server-instructions.log");
    std::fs::create_dir_all(options.out.join("logs"))?;
    let (server, _) = launcher.start(&prepared.url, &log).await?;
    let outcome = tokio::select! {
        outcome = count_all(options, &server, count, connections, &dumps) => outcome,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    server.stop().await;
    // Removes this run's copy of the database, now that its server has stopped.
    drop(prepared);
    let scenarios = outcome?;
    let results = InstructionResults {
        scale: options.scale.name(),
        database: options.database.name(),
        machine: crate::machine::Machine::describe(false, launcher.program.display().to_string()),
        count,
        connections,
        scenarios,
    };
    let stem = format!("instructions-{}-{}", results.scale, results.database);
    let json = options.out.join(format!("{stem}.json"));
    std::fs::write(&json, serde_json::to_vec_pretty(&results)?)?;
    let table = markdown(&results);
    std::fs::write(options.out.join(format!("{stem}.md")), &table)?;
    println!("{table}");
    eprintln!("results: {}", json.display());
    Ok(results.scenarios.iter().all(|s| s.errors == 0))
}

async fn count_all(
    options: &Options,
    server: &Server,
    count: u64,
    connections: usize,
    dumps: &Path,
) -> anyhow::Result<Vec<Counted>> {
    let bench_users = crate::generate::Volumes::of(options.scale).map_or(0, |v| v.users);
    let ctx = Context::new(server.addr, bench_users).await?;
    control(server, &["--instr=on"]).await?;
    let mut counted: Vec<Counted> = Vec::new();
    for scenario in scenarios::http_scenarios(&ctx, options) {
        let chosen = if options.only.is_empty() {
            !SLOW_BY_DESIGN.contains(&scenario.name)
        } else {
            options.wants(scenario.name)
        };
        if scenario.name != "healthz" && !chosen {
            continue;
        }
        eprintln!("counting {} …", scenario.name);
        let connections = connections.min(scenario.saturation_connections);
        // Warm-up: statement caches and pages in memory, as in a running server.
        send(server.addr, &scenario.workload, (count / 10).max(5), connections).await;
        idle(server).await;
        control(server, &["--zero"]).await?;
        let (requests, errors, first_error) = send(server.addr, &scenario.workload, count, connections).await;
        idle(server).await;
        let instructions = dump(server, dumps, scenario.name).await?;
        let per_request = instructions as f64 / requests.max(1) as f64;
        let healthz = counted.first().map_or(per_request, |h| h.per_request);
        counted.push(Counted {
            name: scenario.name,
            requests,
            errors,
            first_error,
            instructions,
            per_request,
            healthz_multiple: per_request / healthz.max(1.0),
        });
    }
    Ok(counted)
}

/// Sends `count` requests over `connections` connections, each sending its share one at a time;
/// (requests, errors, the first error).
async fn send(
    addr: std::net::SocketAddr,
    workload: &Arc<dyn Workload>,
    count: u64,
    connections: usize,
) -> (u64, u64, Option<String>) {
    let connections = connections.max(1);
    let tasks: Vec<_> = (0..connections)
        .map(|worker| {
            let workload = workload.clone();
            // The first connections take one more where the count does not divide evenly.
            let share = count / connections as u64 + u64::from((worker as u64) < count % connections as u64);
            tokio::spawn(async move {
                let mut conn = Conn::new(addr);
                let (mut errors, mut first_error) = (0, None);
                for _ in 0..share {
                    let outcome = match conn.send(workload.request(worker)).await {
                        Ok(reply) => workload.check(worker, &reply),
                        Err(error) => Err(format!("{error:#}")),
                    };
                    if let Err(error) = outcome {
                        errors += 1;
                        first_error.get_or_insert(error);
                    }
                }
                (share, errors, first_error)
            })
        })
        .collect();
    let (mut requests, mut errors, mut first_error) = (0, 0, None);
    for task in tasks {
        match task.await {
            Ok((sent, failed, first)) => {
                requests += sent;
                errors += failed;
                if first_error.is_none() {
                    first_error = first;
                }
            }
            Err(error) => {
                errors += 1;
                first_error.get_or_insert(format!("a sending task failed: {error}"));
            }
        }
    }
    (requests, errors, first_error)
}

/// Waits until the server has used less than 2 % of a core for half a second (at most a minute):
/// followers of the change log have caught up. Under callgrind that is tens of milliseconds of
/// native work.
async fn idle(server: &Server) {
    server.wait_until_idle(Duration::from_millis(500), Duration::from_secs(60)).await;
}

/// Runs `callgrind_control <args> <pid>`. Callgrind reads commands only while the program runs,
/// so an idle server is woken with `/healthz` until the command is answered (those few requests
/// are counted with whatever the command brackets, ≈ 0.1 % of a scenario's count).
async fn control(server: &Server, args: &[&str]) -> anyhow::Result<()> {
    let mut command = tokio::process::Command::new("callgrind_control");
    command.args(args).arg(server.pid.to_string()).stdout(std::process::Stdio::null());
    command.stderr(std::process::Stdio::piped());
    let mut child = command.spawn().context("starting callgrind_control")?;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait()? {
            if !status.success() {
                let mut said = String::new();
                if let Some(mut stderr) = child.stderr.take() {
                    use tokio::io::AsyncReadExt as _;
                    let _ = stderr.read_to_string(&mut said).await;
                }
                bail!("callgrind_control {} failed ({status}): {}", args.join(" "), said.trim());
            }
            return Ok(());
        }
        if Instant::now() > deadline {
            let _ = child.kill().await;
            bail!("callgrind_control {} got no answer within two minutes", args.join(" "));
        }
        crate::driver::client::probe(server.addr, "/healthz").await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Dumps the counters and reads their total from the new dump file.
async fn dump(server: &Server, dumps: &Path, name: &str) -> anyhow::Result<u64> {
    let before = dump_files(dumps)?;
    control(server, &["--dump", name]).await?;
    let new: Vec<PathBuf> = dump_files(dumps)?.into_iter().filter(|f| !before.contains(f)).collect();
    let [file] = new.as_slice() else {
        bail!("expected one new callgrind dump in {}, found {}", dumps.display(), new.len());
    };
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    total(&text).with_context(|| format!("{} has no `totals:` or `summary:` line", file.display()))
}

fn dump_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    Ok(std::fs::read_dir(dir)?.filter_map(|e| e.ok().map(|e| e.path())).collect())
}

/// The instruction total of a callgrind dump (its `totals:` line, else `summary:`).
fn total(dump: &str) -> Option<u64> {
    let line = |key: &str| {
        dump.lines().find_map(|l| l.strip_prefix(key)).and_then(|rest| rest.split_whitespace().next()?.parse().ok())
    };
    line("totals:").or_else(|| line("summary:"))
}

fn markdown(r: &InstructionResults) -> String {
    use std::fmt::Write as _;
    let mut out = format!(
        "Instructions per request (callgrind), scale {}, {}, {} requests each over {} connections; commit {}{}\n\n\
         | scenario | requests | errors | instructions per request | × /healthz |\n| --- | ---: | ---: | ---: | ---: |\n",
        r.scale,
        r.database,
        r.count,
        r.connections,
        r.machine.git_commit,
        if r.machine.git_dirty { " (with uncommitted changes)" } else { "" },
    );
    for s in &r.scenarios {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.0} | {:.1} |",
            s.name, s.requests, s.errors, s.per_request, s.healthz_multiple
        );
    }
    for s in r.scenarios.iter().filter(|s| s.first_error.is_some()) {
        let _ = writeln!(out, "\n{}: first error: {}", s.name, s.first_error.as_deref().unwrap_or_default());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::total;

    #[test]
    fn a_dump_total_is_read_from_its_totals_line_else_its_summary() {
        assert_eq!(total("events: Ir\nsummary: 12\ntotals: 1234567\n"), Some(1_234_567));
        assert_eq!(total("events: Ir\nsummary: 98765\n"), Some(98_765));
        assert_eq!(total("events: Ir\nfl=(1) x\n"), None);
    }
}
