//! e-PRIME's benchmark harness: see `BENCHMARKS.md` at the repository root for the method.
//!
//! [`run`] does it all: cold start on an empty database, the data of the scale (generated or
//! from the cache), the real server in a child process, every scenario of the registry in
//! `scenarios`, the live stream's fan-out, and the results in `report`.

pub mod driver;
pub mod embedded;
pub mod generate;
pub mod instructions;
pub mod machine;
pub mod options;
pub mod report;
pub mod scenarios;
pub mod server;

use std::path::Path;
use std::time::{Duration, Instant};

use crate::driver::{Pace, Phase};
use crate::options::{Options, Scale};
use crate::report::{Check, ColdStart, Data, Idle, Pending, Results, ScenarioResult};
use crate::scenarios::{Context, HttpScenario};
use crate::server::{Launcher, Server};

/// The first argument that makes this binary run the server itself (see [`embedded`]).
pub const EMBEDDED_SERVE: &str = "__serve";

/// How long and how hard a run loads the server; smoke runs are short and light.
struct Plan {
    phase: Duration,
    cold_starts: usize,
    idle_wait: Duration,
    /// How long the server is left idle after the HTTP scenarios before its memory is read again:
    /// longer than whatever it keeps for a burst (answers 1 s, password memory 2 s).
    settled_wait: Duration,
    subscribers: Vec<usize>,
    stream_events: usize,
    stream_wait: Duration,
}

impl Plan {
    fn of(options: &Options) -> Self {
        if options.smoke {
            Self {
                phase: Duration::from_millis(400),
                cold_starts: 1,
                idle_wait: Duration::from_millis(200),
                settled_wait: Duration::from_millis(200),
                subscribers: vec![100],
                stream_events: 2,
                stream_wait: Duration::from_secs(5),
            }
        } else {
            Self {
                phase: Duration::from_secs(options.duration_secs.max(1)),
                cold_starts: 5,
                idle_wait: Duration::from_secs(2),
                settled_wait: Duration::from_secs(5),
                subscribers: options.subscribers.clone(),
                stream_events: 5,
                stream_wait: Duration::from_secs(10),
            }
        }
    }
}

/// Runs the benchmark; returns whether it saw no errors (timing never counts as one).
pub async fn run(mut options: Options) -> anyhow::Result<bool> {
    if options.smoke {
        options.scale = Scale::S;
        options.rate = options.rate.min(200);
        options.connections = options.connections.min(8);
    }
    if let Some(count) = options.instructions {
        return instructions::run(&options, count, options.instruction_connections).await;
    }
    let plan = Plan::of(&options);
    // As the server does: room for 10,000 stream subscribers, and a descriptor table that does not
    // grow (and stall the harness) while they connect.
    let nofile = eprime::descriptors::prepare().limit;
    let pin = !options.no_pin && !options.smoke && server::can_pin();
    let launcher = Launcher::find(options.server_bin.as_deref(), pin)?;
    std::fs::create_dir_all(&options.out)?;
    let logs = options.out.join("logs");
    std::fs::create_dir_all(&logs)?;

    let cold_start = cold_start(&launcher, &logs, &plan).await?;

    let started = Instant::now();
    let prepared = generate::prepare(&options).await?;
    let data = Data {
        generated: prepared.generated.clone(),
        from_cache: prepared.cached,
        prepare_secs: started.elapsed().as_secs_f64(),
    };

    let log = logs.join(format!("server-{}-{}.log", options.scale.name(), options.database.name()));
    let (server, ready) = launcher.start(&prepared.url, &log).await?;
    // Ctrl-C ends the run but not before the server child is stopped.
    let outcome = tokio::select! {
        outcome = measure(&options, &plan, &server, nofile) => outcome,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    server.stop().await;
    // Removes this run's copy of the database, now that its server has stopped.
    drop(prepared);
    let (scenarios, stream, idle_rss, after_rss) = outcome?;
    let idle = Idle {
        start_ms: ready.as_secs_f64() * 1000.0,
        rss_kb: idle_rss.rss_kb,
        threads: idle_rss.threads,
        after_scenarios_rss_kb: after_rss.rss_kb,
    };

    let mut checks = report::scenario_checks(&scenarios);
    checks.extend(general_checks(&options, &cold_start, &idle, &stream));
    let binary = if launcher.embedded {
        "embedded (eprime library in eprime-bench)".to_owned()
    } else {
        launcher.program.display().to_string()
    };
    let results = Results {
        harness: env!("CARGO_PKG_VERSION"),
        generator_version: generate::GENERATOR_VERSION,
        machine: machine::Machine::describe(pin, binary),
        scale: options.scale.name(),
        database: options.database.name(),
        smoke: options.smoke,
        phase_secs: plan.phase.as_secs_f64(),
        rate: options.rate,
        data,
        cold_start,
        idle,
        scenarios,
        stream,
        pending: scenarios::PENDING.iter().map(|&(name, why)| Pending { name, why }).collect(),
        checks,
    };
    let (json, md) = report::write(&results, &options.out)?;
    println!("{}", report::markdown(&results));
    eprintln!("results: {} and {}", json.display(), md.display());
    let errors: u64 = results.scenarios.iter().map(ScenarioResult::errors).sum::<u64>()
        + results.stream.iter().map(|f| f.errors + f.missing).sum::<u64>();
    Ok(errors == 0)
}

/// Spawn to first answered `/healthz` on an empty database (no demo), a few times, and the idle
/// memory of such a server.
async fn cold_start(launcher: &Launcher, logs: &Path, plan: &Plan) -> anyhow::Result<ColdStart> {
    let mut result = ColdStart::default();
    for run in 0..plan.cold_starts {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite://{}", dir.path().join("cold.db").display());
        let (server, ready) = launcher.start(&url, &logs.join("server-cold-start.log")).await?;
        result.runs_ms.push(ready.as_secs_f64() * 1000.0);
        if run == 0 {
            tokio::time::sleep(plan.idle_wait.min(Duration::from_secs(1))).await;
            result.idle_rss_kb = server.stats().rss_kb;
        }
        server.stop().await;
    }
    let mut sorted = result.runs_ms.clone();
    sorted.sort_by(f64::total_cmp);
    result.median_ms = sorted.get(sorted.len() / 2).copied().unwrap_or_default();
    Ok(result)
}

/// The scenarios' results, the stream's, and the server's memory idle before and after the HTTP
/// scenarios.
type Measured = (Vec<ScenarioResult>, Vec<scenarios::stream::FanOut>, server::ProcStats, server::ProcStats);

async fn measure(options: &Options, plan: &Plan, server: &Server, nofile: u64) -> anyhow::Result<Measured> {
    tokio::time::sleep(plan.idle_wait).await;
    let idle = server.stats();
    let bench_users = match options.scale {
        Scale::S => 0,
        _ => generate::Volumes::of(options.scale).map_or(0, |v| v.users),
    };
    let ctx = Context::new(server.addr, bench_users).await?;
    let mut results = Vec::new();
    let mut ceiling = 0.0;
    for scenario in scenarios::http_scenarios(&ctx, options) {
        // The ceiling always runs: every other scenario is reported as a share of it.
        if scenario.name != "healthz" && !options.wants(scenario.name) {
            continue;
        }
        eprintln!("scenario {} …", scenario.name);
        let result = http_scenario(&scenario, server, plan.phase, ceiling).await;
        if scenario.name == "healthz" {
            ceiling = result.saturation.throughput;
        }
        results.push(result);
    }
    // What the load left behind: a server that only looked lean before it served anyone would pass
    // the memory target and hold far more a minute into real use.
    settle(server).await;
    tokio::time::sleep(plan.settled_wait).await;
    let after = server.stats();
    let mut stream = Vec::new();
    if options.wants("stream") {
        for &n in &plan.subscribers {
            // Each subscriber is a descriptor on both sides (separate processes, same limit).
            if (n as u64) + 256 > nofile {
                eprintln!("skipping {n} subscribers: the open-file limit is {nofile}");
                continue;
            }
            eprintln!("stream fan-out to {n} subscribers …");
            settle(server).await;
            stream.push(scenarios::stream::fan_out(&ctx, server, n, plan.stream_events, plan.stream_wait).await);
        }
    }
    Ok((results, stream, idle, after))
}

/// Waits (at most 30 s) until the server has finished what the previous scenario left queued:
/// cut-off connections leave requests in flight that would otherwise be charged to the next one.
async fn settle(server: &Server) {
    // Under 5 % of a core.
    server.wait_until_idle(Duration::from_millis(200), Duration::from_secs(30)).await;
}

async fn http_scenario(scenario: &HttpScenario, server: &Server, phase: Duration, ceiling: f64) -> ScenarioResult {
    settle(server).await;
    server.reset_peak();
    let (addr, pid) = (server.addr, server.pid);
    let phases = |pace: Pace, connections: usize| async move {
        let foreground = driver::run(addr, scenario.workload.clone(), connections, pace, phase, pid);
        match &scenario.background {
            Some((workload, rate)) => {
                let background = driver::run(addr, workload.clone(), 64, Pace::Rate(*rate), phase, pid);
                let (foreground, background) = tokio::join!(foreground, background);
                (foreground, Some(background))
            }
            None => (foreground.await, None::<Phase>),
        }
    };
    let (saturation, background_saturation) = phases(Pace::Closed, scenario.saturation_connections).await;
    let (fixed_rate, background_fixed_rate) = phases(Pace::Rate(scenario.rate), scenario.rate_connections).await;
    let ceiling_share = if ceiling > 0.0 { saturation.throughput / ceiling } else { 1.0 };
    ScenarioResult {
        name: scenario.name,
        what: scenario.what.clone(),
        saturation,
        fixed_rate,
        background_saturation,
        background_fixed_rate,
        ceiling_share,
        peak_rss_kb: server.stats().hwm_kb,
        targets: scenario.targets.clone(),
    }
}

/// The targets that are not a scenario's: memory, cold start, the stream.
fn general_checks(
    options: &Options,
    cold: &ColdStart,
    idle: &Idle,
    stream: &[scenarios::stream::FanOut],
) -> Vec<Check> {
    let mb = |kb: u64| kb as f64 / 1024.0;
    let mut checks = vec![Check::new(
        "cold start (spawn → /healthz, no demo)",
        "≤ 300 ms",
        format!("{:.0} ms", cold.median_ms),
        Some(cold.median_ms <= 300.0),
    )];
    let memory_target = match options.scale {
        Scale::S => Some(50.0),
        Scale::M => Some(200.0),
        Scale::L => None,
    };
    for (when, rss_kb) in [("", idle.rss_kb), (" after the scenarios", idle.after_scenarios_rss_kb)] {
        checks.push(Check::new(
            format!("idle resident memory at {}{when}", options.scale.name()),
            memory_target.map_or("none at L".to_owned(), |t| format!("≤ {t:.0} MB")),
            format!("{:.1} MB", mb(rss_kb)),
            memory_target.map(|t| mb(rss_kb) <= t),
        ));
    }
    for f in stream {
        let target = match f.subscribers {
            1000 => Some(20.0 * options.database.slack()),
            10_000 => Some(150.0 * options.database.slack()),
            _ => None,
        };
        checks.push(Check::new(
            format!("stream {} subscribers p99", f.subscribers),
            target.map_or("none at this count".to_owned(), |t| format!("≤ {t:.0} ms")),
            format!("{:.1} ms ({} missing)", f.latency.p99_ms, f.missing),
            target.map(|t| f.latency.p99_ms <= t && f.missing == 0 && f.errors == 0),
        ));
        checks.push(Check::new(
            format!("memory per stream subscriber ({})", f.subscribers),
            "≤ 40 KB",
            format!("{:.1} KB", f.kb_per_subscriber),
            Some(f.kb_per_subscriber <= 40.0),
        ));
    }
    checks
}
