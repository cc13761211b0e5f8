//! PostgreSQL databases for the benchmark: the cached SQLite database is copied once into a
//! template database with `eprime db copy` (bulk, verified row counts and checksums: far faster
//! than generating again through the store at PostgreSQL's ≈ 6k writes/s), and each run gets a
//! fresh `eprime_bench_<scale>` made from that template (a file-level copy inside PostgreSQL).

use anyhow::Context;
use sqlx::{Connection, Row};

use super::GENERATOR_VERSION;
use crate::options::Scale;

/// How templates are made, bumped when that changes (2: the copy gathers planner statistics).
const TEMPLATE_VERSION: u32 = 2;

/// The comment a template carries once it is complete: a template without it (a copy that was
/// interrupted, or made the old way) is made again.
fn marker() -> String {
    format!("eprime-bench generator {GENERATOR_VERSION} template {TEMPLATE_VERSION} complete")
}

/// `url` with its database name replaced by `name`.
pub fn with_database(url: &str, name: &str) -> anyhow::Result<String> {
    let authority_start = url.find("://").context("a PostgreSQL URL has a scheme")? + 3;
    let rest = &url[authority_start..];
    let path_start = rest.find('/').map_or(url.len(), |i| authority_start + i);
    let query_start = url[path_start..].find('?').map_or(url.len(), |i| path_start + i);
    Ok(format!("{}/{name}{}", &url[..path_start], &url[query_start..]))
}

/// Makes (or reuses) the template of `scale` and returns the URL of a fresh run database.
pub async fn prepare(admin_url: &str, scale: Scale, sqlite_url: &str, regenerate: bool) -> anyhow::Result<String> {
    let scale_name = scale.name().to_ascii_lowercase();
    let template = format!("eprime_bench_{scale_name}_g{GENERATOR_VERSION}_template");
    let run = format!("eprime_bench_{scale_name}");
    let mut admin = sqlx::PgConnection::connect(admin_url)
        .await
        .with_context(|| format!("connecting to PostgreSQL at {}", eprime::database::redact(admin_url)))?;
    let comment: Option<String> =
        sqlx::query("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1")
            .bind(&template)
            .fetch_optional(&mut admin)
            .await?
            .and_then(|row| row.try_get(0).ok());
    if regenerate || comment.as_deref() != Some(marker().as_str()) {
        eprintln!("copying the generated data into the PostgreSQL template {template} …");
        execute(&mut admin, &format!("DROP DATABASE IF EXISTS {template} WITH (FORCE)")).await?;
        execute(&mut admin, &format!("CREATE DATABASE {template}")).await?;
        let command = eprime::cli::DbCommand::Copy(eprime::cli::CopyArgs {
            from: Some(sqlite_url.to_owned()),
            to: with_database(admin_url, &template)?,
        });
        eprime::db::run(sqlite_url, command).await.context("copying SQLite into the PostgreSQL template")?;
        execute(&mut admin, &format!("COMMENT ON DATABASE {template} IS '{}'", marker())).await?;
    }
    execute(&mut admin, &format!("DROP DATABASE IF EXISTS {run} WITH (FORCE)")).await?;
    // A backend of the copy that just closed its connections can linger a moment, and PostgreSQL
    // refuses a template that anyone is connected to: wait for it, a few seconds at most.
    let create = format!("CREATE DATABASE {run} TEMPLATE {template}");
    let mut attempts = 0;
    while let Err(error) = execute(&mut admin, &create).await {
        attempts += 1;
        if attempts == 20 || !format!("{error:#}").contains("being accessed by other users") {
            return Err(error);
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    admin.close().await?;
    with_database(admin_url, &run)
}

async fn execute(connection: &mut sqlx::PgConnection, sql: &str) -> anyhow::Result<()> {
    // The names are the harness's own (scale and version), never input: safe to splice in.
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).execute(connection).await.with_context(|| sql.to_owned())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_name_is_replaced() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x").unwrap(),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "x").unwrap(),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "x").unwrap(), "postgres://h/x");
    }
}
