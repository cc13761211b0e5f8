//! The results: one JSON document (everything, machine-readable) and a Markdown summary with each
//! target of the issue against the measured value. Timing never fails a run.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::driver::Phase;
use crate::generate::Generated;
use crate::machine::Machine;
use crate::scenarios::Target;
use crate::scenarios::stream::FanOut;

#[derive(Clone, Debug, Serialize)]
pub struct Results {
    pub harness: &'static str,
    pub generator_version: u32,
    pub machine: Machine,
    pub scale: &'static str,
    pub database: &'static str,
    pub smoke: bool,
    pub phase_secs: f64,
    pub rate: u64,
    pub data: Data,
    pub cold_start: ColdStart,
    pub idle: Idle,
    pub scenarios: Vec<ScenarioResult>,
    pub stream: Vec<FanOut>,
    pub pending: Vec<Pending>,
    pub checks: Vec<Check>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Data {
    pub generated: Generated,
    pub from_cache: bool,
    pub prepare_secs: f64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct ColdStart {
    /// Spawn to the first answered `/healthz`, on an empty database, each run.
    pub runs_ms: Vec<f64>,
    pub median_ms: f64,
    /// Resident memory one second after start, empty database.
    pub idle_rss_kb: u64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Idle {
    /// Spawn to ready on the run's database.
    pub start_ms: f64,
    /// Resident memory after two idle seconds on the run's database, before any load.
    pub rss_kb: u64,
    pub threads: u64,
    /// Resident memory once the server has been idle for a few seconds after the HTTP scenarios
    /// (before the stream's).
    pub after_scenarios_rss_kb: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct ScenarioResult {
    pub name: &'static str,
    pub what: String,
    pub saturation: Phase,
    pub fixed_rate: Phase,
    pub background_saturation: Option<Phase>,
    pub background_fixed_rate: Option<Phase>,
    /// Saturation throughput over the `/healthz` ceiling of this run.
    pub ceiling_share: f64,
    pub peak_rss_kb: u64,
    pub targets: Vec<Target>,
}

impl ScenarioResult {
    pub fn errors(&self) -> u64 {
        [
            Some(&self.saturation),
            Some(&self.fixed_rate),
            self.background_saturation.as_ref(),
            self.background_fixed_rate.as_ref(),
        ]
        .into_iter()
        .flatten()
        .map(|p| p.errors)
        .sum()
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Pending {
    pub name: &'static str,
    pub why: &'static str,
}

/// One target of the issue against what was measured. `met` is `None` when the run did not
/// measure it (or measured it at another scale than the target's).
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    pub what: String,
    pub target: String,
    pub measured: String,
    pub met: Option<bool>,
}

impl Check {
    pub fn new(
        what: impl Into<String>,
        target: impl Into<String>,
        measured: impl Into<String>,
        met: Option<bool>,
    ) -> Self {
        Self { what: what.into(), target: target.into(), measured: measured.into(), met }
    }
}

/// The targets that belong to scenarios, evaluated.
pub fn scenario_checks(results: &[ScenarioResult]) -> Vec<Check> {
    let mut checks = Vec::new();
    for s in results {
        for target in &s.targets {
            checks.push(match *target {
                Target::P99Ms(max) => Check::new(
                    format!("{} p99 at {:.0} req/s", s.name, s.fixed_rate.offered_rate.unwrap_or_default()),
                    format!("≤ {max} ms"),
                    format!("{:.2} ms", s.fixed_rate.latency.p99_ms),
                    Some(s.fixed_rate.latency.p99_ms <= max && s.fixed_rate.errors == 0),
                ),
                Target::CeilingShare(min) => Check::new(
                    format!("{} saturation / healthz", s.name),
                    format!("≥ {:.0} %", min * 100.0),
                    format!("{:.1} % ({:.0} req/s)", s.ceiling_share * 100.0, s.saturation.throughput),
                    Some(s.ceiling_share >= min),
                ),
                Target::Throughput(min) => Check::new(
                    format!("{} saturation", s.name),
                    format!("≥ {min:.0} req/s"),
                    format!("{:.0} req/s", s.saturation.throughput),
                    Some(s.saturation.throughput >= min && s.saturation.errors == 0),
                ),
            });
        }
    }
    checks
}

fn mb(kb: u64) -> String {
    format!("{:.1}", kb as f64 / 1024.0)
}

fn met(m: Option<bool>) -> &'static str {
    match m {
        Some(true) => "met",
        Some(false) => "**not met**",
        None => "not measured",
    }
}

/// The Markdown summary.
pub fn markdown(r: &Results) -> String {
    let mut out = String::new();
    let m = &r.machine;
    let _ = writeln!(
        out,
        "## e-PRIME benchmark — scale {}, {}{}",
        r.scale,
        r.database,
        if r.smoke { " (smoke)" } else { "" }
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{} · {} cores · {} MB · Linux {} · commit {}{} · {} · server {}{}",
        m.cpu,
        m.cores,
        m.memory_mb,
        m.kernel,
        &m.git_commit[..m.git_commit.len().min(12)],
        if m.git_dirty { " (dirty)" } else { "" },
        m.date_utc,
        m.server_binary,
        if m.pinned { ", pinned to core 1, one tokio worker; harness on core 0" } else { ", not pinned" }
    );
    let g = &r.data.generated;
    let _ = writeln!(
        out,
        "\nData: {} partnerships, {} activities, {} accounts, change log {} entries{} ({}).",
        g.partnerships,
        g.activities,
        g.users,
        g.change_log,
        if g.menu_offerings > 0 {
            format!(", {} menu offerings, {} participants", g.menu_offerings, g.participants)
        } else {
            String::new()
        },
        if r.data.from_cache { "cached".to_owned() } else { format!("generated in {:.1} s", g.total_secs) }
    );
    let _ = writeln!(out, "Each phase {:.1} s; fixed rate {} req/s unless stated.\n", r.phase_secs, r.rate);
    let _ = writeln!(
        out,
        "| scenario | saturation req/s | × healthz | conns | fixed rate | p50 ms | p99 ms | max ms | errors | server µs CPU/req | peak RSS MB |"
    );
    let _ = writeln!(out, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for s in &r.scenarios {
        let f = &s.fixed_rate;
        let _ = writeln!(
            out,
            "| {} | {:.0} | {:.2} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {:.0} | {} |",
            s.name,
            s.saturation.throughput,
            s.ceiling_share,
            s.saturation.connections,
            f.offered_rate.unwrap_or_default(),
            f.latency.p50_ms,
            f.latency.p99_ms,
            f.latency.max_ms,
            s.errors(),
            s.saturation.server_cpu_us_per_request,
            mb(s.peak_rss_kb)
        );
        if let (Some(bs), Some(bf)) = (&s.background_saturation, &s.background_fixed_rate) {
            let _ = writeln!(
                out,
                "| ↳ reads alongside | {:.0} | | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} | | |",
                bs.throughput,
                bf.connections,
                bf.offered_rate.unwrap_or_default(),
                bf.latency.p50_ms,
                bf.latency.p99_ms,
                bf.latency.max_ms,
                bs.errors + bf.errors
            );
        }
    }
    // Where a p99 goal was missed, each second's p99: with a few seconds per phase, one bad second can be
    // the whole p99, and this tells that from a steady miss.
    for s in &r.scenarios {
        for target in &s.targets {
            if let Target::P99Ms(max) = *target
                && s.fixed_rate.latency.p99_ms > max
            {
                let seconds: Vec<String> = s
                    .fixed_rate
                    .p99_by_second_ms
                    .iter()
                    .map(|p99| p99.map_or_else(|| "–".to_owned(), |ms| format!("{ms:.1}")))
                    .collect();
                let _ = writeln!(
                    out,
                    "\n{} missed its p99 goal (≤ {max} ms); the p99 of each second at {:.0} req/s, ms: {}.",
                    s.name,
                    s.fixed_rate.offered_rate.unwrap_or_default(),
                    seconds.join(", ")
                );
            }
        }
    }
    if !r.stream.is_empty() {
        let _ = writeln!(
            out,
            "\n| live stream subscribers | connected | events | p50 ms | p99 ms | max ms | missing | KB/subscriber | server µs CPU/delivery |"
        );
        let _ = writeln!(out, "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        for f in &r.stream {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {:.1} | {:.1} | {:.1} | {} | {:.1} | {:.1} |",
                f.subscribers,
                f.connected,
                f.events,
                f.latency.p50_ms,
                f.latency.p99_ms,
                f.latency.max_ms,
                f.missing,
                f.kb_per_subscriber,
                f.server_cpu_us_per_delivery
            );
        }
        for f in &r.stream {
            let events: Vec<String> = f
                .per_event
                .iter()
                .map(|e| format!("{:.1}/{:.1}/{:.1}", e.committed_ms, e.first_ms, e.last_ms))
                .collect();
            let _ = writeln!(
                out,
                "\nEach event to {} subscribers, ms from sending the change to its commit / first / last receipt: {}.",
                f.subscribers,
                events.join(", ")
            );
        }
    }
    let _ = writeln!(
        out,
        "\nCold start (spawn → first /healthz, empty database): median {:.0} ms of {:?}; idle RSS {} MB empty, {} MB \
         at scale {} (server start on it {:.0} ms), {} MB idle again after the scenarios.",
        r.cold_start.median_ms,
        r.cold_start.runs_ms.iter().map(|v| v.round()).collect::<Vec<_>>(),
        mb(r.cold_start.idle_rss_kb),
        mb(r.idle.rss_kb),
        r.scale,
        r.idle.start_ms,
        mb(r.idle.after_scenarios_rss_kb)
    );
    let _ = writeln!(out, "\n| target | goal | measured | |");
    let _ = writeln!(out, "| --- | --- | --- | --- |");
    for c in &r.checks {
        let _ = writeln!(out, "| {} | {} | {} | {} |", c.what, c.target, c.measured, met(c.met));
    }
    for p in &r.pending {
        let _ = writeln!(out, "| {} | | {} | not measured |", p.name, p.why);
    }
    let errors: Vec<String> = r
        .scenarios
        .iter()
        .filter_map(|s| {
            [
                Some(&s.saturation),
                Some(&s.fixed_rate),
                s.background_saturation.as_ref(),
                s.background_fixed_rate.as_ref(),
            ]
            .into_iter()
            .flatten()
            .find_map(|p| p.first_error.clone())
            .map(|e| format!("- {}: {e}", s.name))
        })
        .chain(
            r.stream.iter().filter_map(|f| f.first_error.clone().map(|e| format!("- stream {}: {e}", f.subscribers))),
        )
        .collect();
    if !errors.is_empty() {
        let _ = writeln!(out, "\nFirst error of each scenario that had one:\n{}", errors.join("\n"));
    }
    out
}

/// Writes `results.json` and `results.md` (and copies named by scale, database and time).
pub fn write(results: &Results, dir: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(dir)?;
    let stamp = results.machine.date_utc.replace([':', '-'], "");
    let stem = format!("{}-{}{}", results.scale, results.database, if results.smoke { "-smoke" } else { "" });
    let json = serde_json::to_vec_pretty(results)?;
    let md = markdown(results);
    let json_path = dir.join(format!("{stem}.json"));
    let md_path = dir.join(format!("{stem}.md"));
    std::fs::write(&json_path, &json)?;
    std::fs::write(&md_path, &md)?;
    let history = dir.join("history");
    std::fs::create_dir_all(&history)?;
    std::fs::write(history.join(format!("{stem}-{stamp}.json")), &json)?;
    Ok((json_path, md_path))
}
