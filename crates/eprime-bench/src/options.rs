//! The command line of the harness.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// Benchmarks e-PRIME: generates (or reuses) a database at a named scale, starts the real server
/// as a child process, measures each scenario over real HTTP and writes a JSON file and a
/// Markdown table. Never fails on timing; `--smoke` fails only on errors.
#[derive(Parser, Debug, Clone)]
#[command(name = "eprime-bench", version)]
pub struct Options {
    /// How much data: S = the demo, M = 40 partners, 100,000 activities, 5,000 users, ten years of
    /// menu offerings with 50,000 participants, a change log of 500,000 entries; L = ten times M's
    /// volumes.
    #[arg(long, value_enum, default_value_t = Scale::S)]
    pub scale: Scale,
    /// The database the server runs on.
    #[arg(long, value_enum, default_value_t = DatabaseKind::Sqlite)]
    pub database: DatabaseKind,
    /// Seconds of each measured phase (saturation, then fixed rate) per scenario.
    #[arg(long, default_value_t = 5)]
    pub duration_secs: u64,
    /// Where results, logs and the cached databases go.
    #[arg(long, default_value = "target/bench-results")]
    pub out: PathBuf,
    /// A PostgreSQL server to create the benchmark databases on (any database on it; the harness
    /// creates `eprime_bench_<scale>` beside it).
    #[arg(long, env = "EPRIME_TEST_POSTGRES_URL", default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pub postgres_url: String,
    /// Every scenario for about a second at scale S; exits non-zero only on errors.
    #[arg(long)]
    pub smoke: bool,
    /// The `eprime` binary to benchmark (default: next to this binary, as `cargo build --release
    /// -p eprime` leaves it).
    #[arg(long)]
    pub server_bin: Option<PathBuf>,
    /// The fixed rate of the open-loop phase, requests per second.
    #[arg(long, default_value_t = 1000)]
    pub rate: u64,
    /// Concurrent keep-alive connections of the saturation phase.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Run only these scenarios (comma-separated names; see the results table). Cold start and
    /// idle memory always run.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Numbers of live-stream subscribers to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    pub subscribers: Vec<usize>,
    /// Do not pin the server to core 1 and the harness to core 0.
    #[arg(long)]
    pub no_pin: bool,
    /// Generate the database again even when a cached one exists.
    #[arg(long)]
    pub regenerate: bool,
    /// Top the menu up to this many offerings in all (the search target is set at 100,000), in a
    /// database cached apart from the plain scale's.
    #[arg(long)]
    pub menu_offerings: Option<usize>,
    /// Instead of timing, count the server's instructions per request under callgrind (valgrind):
    /// this many requests of each scenario. Repeatable on a noisy machine, so two builds can be
    /// compared; sign-in only when named with `--only`.
    #[arg(long, value_name = "REQUESTS")]
    pub instructions: Option<u64>,
    /// With `--instructions`: connections sending at once. One shows each request's own work; a
    /// few let writes share commits as they do under load (each scenario uses at most as many as
    /// its saturation phase).
    #[arg(long, default_value_t = 8, requires = "instructions")]
    pub instruction_connections: usize,
}

impl Options {
    /// Whether the scenario called `name` is to run.
    pub fn wants(&self, name: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| o == name)
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Scale {
    #[value(name = "S", alias = "s")]
    S,
    #[value(name = "M", alias = "m")]
    M,
    #[value(name = "L", alias = "l")]
    L,
}

impl Scale {
    pub fn name(self) -> &'static str {
        match self {
            Self::S => "S",
            Self::M => "M",
            Self::L => "L",
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DatabaseKind {
    Sqlite,
    Postgres,
}

impl DatabaseKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }

    /// How far this database's figures may be from the targets, which are SQLite's: PostgreSQL is
    /// to be within 3× of each (latencies at most 3× as long, throughputs at least a third).
    pub fn slack(self) -> f64 {
        match self {
            Self::Sqlite => 1.0,
            Self::Postgres => 3.0,
        }
    }
}
