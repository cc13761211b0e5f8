//! The server code of `eprime serve`, run from this binary (`eprime-bench __serve …`) when no
//! `eprime` binary is found beside it: the same library call (`eprime::start`) with the same
//! options, so the smoke test works whatever cargo built first. Benchmark figures should come from
//! the real release binary; the results name which one ran.

use std::time::Duration;

use clap::Parser;
use eprime::cli::{Cli, Command};
use eprime::{ServeOptions, start};
use eprime_server::ServerConfig;

/// Runs `eprime`'s command line, `serve` only, until SIGTERM/Ctrl-C (or being killed).
pub async fn serve(args: Vec<std::ffi::OsString>) -> anyhow::Result<()> {
    let cli = Cli::parse_from(args);
    let Command::Serve(serve) = cli.command else {
        anyhow::bail!("the embedded server only serves");
    };
    let server = start(ServeOptions {
        database: cli.database,
        addr: serve.addr,
        demo: serve.demo,
        demo_password: eprime_demo::DEFAULT_PASSWORD.to_owned(),
        config: ServerConfig {
            session_ttl: Duration::from_secs(serve.session_hours * 3600),
            ..ServerConfig::default()
        },
    })
    .await?;
    server
        .wait(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}
