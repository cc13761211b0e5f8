//! `eprime-bench`: see `--help`, and BENCHMARKS.md at the repository root.

use std::process::ExitCode;

use clap::Parser;
use eprime_bench::options::Options;
use eprime_bench::{EMBEDDED_SERVE, embedded, run, server};

/// Set on the re-executed, pinned harness so it does not pin itself again.
const PINNED: &str = "EPRIME_BENCH_PINNED";

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == EMBEDDED_SERVE) {
        let rest = std::iter::once(args[0].clone()).chain(args[2..].iter().cloned()).collect();
        return finish(runtime().and_then(|rt| rt.block_on(embedded::serve(rest))).map(|()| true));
    }
    let options = Options::parse();
    // The harness gets core 0 and the server core 1: re-run this binary under `taskset -c 0`
    // before any thread starts, so the runtime sizes itself to the one core it has.
    if !options.no_pin && !options.smoke && std::env::var_os(PINNED).is_none() && server::can_pin() {
        let status = std::env::current_exe().and_then(|me| {
            std::process::Command::new("taskset").args(["-c", "0"]).arg(me).args(&args[1..]).env(PINNED, "1").status()
        });
        return match status {
            Ok(status) => ExitCode::from(u8::try_from(status.code().unwrap_or(1)).unwrap_or(1)),
            Err(error) => {
                eprintln!("error: re-running under taskset: {error}");
                ExitCode::FAILURE
            }
        };
    }
    finish(runtime().and_then(|rt| rt.block_on(run(options))))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

fn finish(result: anyhow::Result<bool>) -> ExitCode {
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("errors during the run (see the table): failing");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
