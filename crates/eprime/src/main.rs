use std::io::Write;
use std::time::Duration;

use clap::Parser;
use eprime::cli::{Cli, Command};
use eprime::{ServeOptions, database, db, documents, start, users};
use eprime_server::ServerConfig;
use tracing_subscriber::EnvFilter;

/// jemalloc, not the C library's allocator, for every allocation of the process: Rust's through this
/// declaration, and SQLite's too, since the crate's `unprefixed_malloc_on_supported_platforms` feature
/// makes jemalloc the process's `malloc` on Linux. The reason is memory given back after a burst.
/// glibc's `malloc` keeps what each thread's heap frees, and every large block freed (tantivy's buffers
/// at each commit of the menu index, for one) raises the size below which it keeps everything. After
/// the benchmark's scenarios a glibc server held 119 MB at S over a live heap of about 49 MB; this one
/// holds 44 MB, less than the 50 MB the target allows. jemalloc's background thread returns pages freed
/// a second before (`.cargo/config.toml` sets that at build time; `MALLOC_CONF` overrides it at run
/// time). BENCHMARKS.md, "A fourteenth machine", has the measurements.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")))
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let demo_password =
                std::env::var("EPRIME_DEMO_PASSWORD").unwrap_or_else(|_| eprime_demo::DEFAULT_PASSWORD.to_owned());
            // Beside the rest of the start: growing the descriptor table waits for the kernel (10–15 ms).
            let descriptors = tokio::task::spawn_blocking(eprime::descriptors::prepare);
            let server = start(ServeOptions {
                database: cli.database.clone(),
                addr: args.addr,
                demo: args.demo,
                demo_password: demo_password.clone(),
                config: ServerConfig {
                    session_ttl: Duration::from_secs(args.session_hours * 3600),
                    secure_cookies: args.secure_cookies,
                    mail: mail_config(&args)?,
                    overdue: eprime_domain::menu::OverdueRules {
                        feedback_days: args.feedback_due_days,
                        report_days: args.report_due_days,
                    },
                    ..ServerConfig::default()
                },
            })
            .await?;
            if let Ok(descriptors) = descriptors.await {
                tracing::debug!(limit = descriptors.limit, reserved = descriptors.reserved, "open descriptors");
            }
            // Startup notes go to standard output; a closed stdout must not take the server down,
            // so write errors are ignored rather than panicking as println! would.
            let mut out = std::io::stdout().lock();
            if let Some(summary) = &server.demo {
                let _ = writeln!(
                    out,
                    "demo loaded: {} partnerships, {} documents, {} activities, {} menu offerings, {} organisations",
                    summary.partnerships,
                    summary.documents,
                    summary.activities,
                    summary.menu_offerings,
                    summary.organisations
                );
                let _ = writeln!(out, "demo accounts (password: {demo_password}):");
                for account in &eprime_demo::ACCOUNTS {
                    let scope = account.partner.or(account.organisation).map(|s| format!(" ({s})")).unwrap_or_default();
                    let _ = writeln!(
                        out,
                        "  {:<14} {}{scope} — {}",
                        account.username,
                        account.role.as_str(),
                        account.display_name
                    );
                }
            }
            let _ = writeln!(out, "API: {0}/api/v1   OpenAPI: {0}/api/openapi.json", server.url());
            let _ = writeln!(out, "e-PRIME listening on {} (database {})", server.url(), server.database.url);
            let _ = out.flush();
            drop(out);
            server.wait(shutdown_signal()).await
        }
        Command::User(command) => {
            let database = database::open(&cli.database).await?;
            let result = users::run(&database.store, command).await;
            database.close().await;
            result
        }
        Command::ImportDocument(args) => {
            let database = cli.database.clone();
            let mut opened = None;
            let result = documents::import_document(args, async || {
                let database = database::open(&database).await?;
                let store = database.store.clone();
                opened = Some(database);
                Ok(store)
            })
            .await;
            if let Some(database) = opened {
                database.close().await;
            }
            result
        }
        Command::CompareDocuments(args) => documents::compare_documents(args),
        Command::Migrate => {
            let database = database::open(&cli.database).await?;
            let version = database.schema_version().await;
            database.close().await;
            println!("{} ({}): schema version {}", database.url, database.kind(), version?);
            Ok(())
        }
        Command::Db(command) => db::run(&cli.database, command).await,
    }
}

/// The digest settings, checked now so that a bad URL or sender stops the start with a clear message.
fn mail_config(args: &eprime::cli::ServeArgs) -> anyhow::Result<Option<eprime_server::digest::MailConfig>> {
    let Some(smtp_url) = args.smtp_url.clone() else { return Ok(None) };
    let config =
        eprime_server::digest::MailConfig { smtp_url, from: args.smtp_from.clone(), digest_hour: args.digest_hour };
    eprime_server::digest::Mailer::new(&config).map_err(|e| anyhow::anyhow!("--smtp-url/--smtp-from: {e}"))?;
    Ok(Some(config))
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
