//! `eprime db check` and `eprime db copy`: inspecting a whole database, and moving one (e.g. from
//! the embedded SQLite file to PostgreSQL) with every row verified.

use std::collections::HashMap;
use std::io::Write;

use anyhow::{Context, bail};

use crate::cli::{CopyArgs, DbCommand};
use crate::database::{self, Database, Scheme};

pub async fn run(database_url: &str, command: DbCommand) -> anyhow::Result<()> {
    match command {
        DbCommand::Check => check(database_url).await,
        DbCommand::Copy(args) => copy(database_url, args).await,
    }
}

/// Prints what `db check` found; fails when anything is wrong.
async fn check(url: &str) -> anyhow::Result<()> {
    let database = database::open_existing(url).await?;
    let result = report(&database).await;
    database.close().await;
    let problems = result?;
    if problems > 0 {
        bail!("{} has {problems} problem{}", database.url, if problems == 1 { "" } else { "s" });
    }
    Ok(())
}

/// Prints the report and returns the number of problems found.
async fn report(database: &Database) -> anyhow::Result<usize> {
    let mut out = std::io::stdout().lock();
    let mut problems = Vec::new();
    let applied = database.schema_version().await?;
    let known = database.known_schema_version();
    writeln!(out, "database:       {}", database.url)?;
    writeln!(out, "backend:        {}", database.kind())?;
    writeln!(out, "schema version: {applied} (newest known to this binary: {known})")?;
    if applied < known {
        problems.push(format!(
            "the schema is at version {applied}, this binary's is {known}: run `eprime migrate` on this database"
        ));
    } else if applied > known {
        problems.push(format!(
            "the schema is at version {applied}, newer than this binary knows ({known}): use a newer e-PRIME"
        ));
    }
    if applied > 0 {
        match database.table_counts().await {
            Ok(counts) => {
                writeln!(out, "rows:")?;
                for (table, rows) in &counts {
                    writeln!(out, "  {table:<24} {rows:>9}")?;
                }
            }
            Err(e) => problems.push(format!("counting rows: {e:#}")),
        }
        match database.check_integrity().await {
            Ok(found) => problems.extend(found),
            Err(e) => problems.push(format!("checking integrity: {e:#}")),
        }
    }
    if problems.is_empty() {
        writeln!(out, "integrity:      ok")?;
    } else {
        writeln!(out, "problems:")?;
        for problem in &problems {
            writeln!(out, "  - {problem}")?;
        }
    }
    out.flush()?;
    Ok(problems.len())
}

/// Copies `--from` (default: the global database) into the empty `--to`, then verifies.
async fn copy(default_from: &str, args: CopyArgs) -> anyhow::Result<()> {
    let from_url = args.from.as_deref().unwrap_or(default_from);
    let to_url = args.to.as_str();
    database::scheme(from_url)?;
    let to_scheme = database::scheme(to_url)?;
    if from_url == to_url {
        bail!("--from and --to name the same database ({})", database::redact(to_url));
    }
    let source = database::open_existing(from_url).await.context("the source (--from)")?;
    let target = match open_target(to_url).await.context("the target (--to)") {
        Ok(target) => target,
        Err(e) => {
            source.close().await;
            return Err(e);
        }
    };
    let result = copy_between(&source, &target, to_scheme).await;
    source.close().await;
    target.close().await;
    result
}

/// Opens (creating and migrating) the target, after making sure an existing one holds no rows,
/// so a database that is refused is also left unmigrated.
async fn open_target(url: &str) -> anyhow::Result<Database> {
    if let Ok(existing) = database::open_existing(url).await {
        let counts = match existing.schema_version().await {
            Ok(version) if version > 0 => existing.table_counts().await.ok(),
            _ => None,
        };
        existing.close().await;
        let used: Vec<String> = counts
            .unwrap_or_default()
            .iter()
            .filter(|(table, rows)| *rows > 0 && !eprime_store::dump::table(table).is_some_and(|t| t.state))
            .map(|(table, rows)| format!("{table} ({rows} row{})", if *rows == 1 { "" } else { "s" }))
            .collect();
        if !used.is_empty() {
            bail!(
                "the target database {} is not empty: {}; copy only into an empty database",
                database::redact(url),
                used.join(", ")
            );
        }
    }
    database::open(url).await
}

async fn copy_between(source: &Database, target: &Database, to_scheme: Scheme) -> anyhow::Result<()> {
    for (role, database) in [("source", source), ("target", target)] {
        let (applied, known) = (database.schema_version().await?, database.known_schema_version());
        if applied != known {
            bail!(
                "the {role} {} is at schema version {applied}, this binary copies version {known}{}",
                database.url,
                if applied < known { ": run `eprime --database URL migrate` on it first" } else { "" }
            );
        }
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "copying {} ({}) into {} ({})", source.url, source.kind(), target.url, target.kind())?;
    let dump = source.export().await.context("reading the source")?;
    let expected = dump.summary();
    target.import(&dump).await.context("writing the target (nothing was written)")?;
    let copied = target.export().await.context("reading the target back")?.summary();
    let copied: HashMap<&str, _> = copied.iter().map(|s| (s.table, s)).collect();
    writeln!(out, "{:<24} {:>9} {:>9}  SHA-256 (first 16)", "TABLE", "SOURCE", "TARGET")?;
    let mut mismatches = Vec::new();
    let mut total = 0;
    for want in &expected {
        let got = copied.get(want.table);
        if got.is_none() && eprime_store::dump::table(want.table).is_some_and(|t| t.state) {
            writeln!(
                out,
                "{:<24} {:>9} {:>9}  skipped: bookkeeping {} does not keep",
                want.table,
                want.rows,
                "-",
                target.kind()
            )?;
            continue;
        }
        let rows = got.map_or(0, |g| g.rows);
        let same = got.is_some_and(|g| g.rows == want.rows && g.checksum == want.checksum);
        total += want.rows;
        writeln!(
            out,
            "{:<24} {:>9} {:>9}  {}  {}",
            want.table,
            want.rows,
            rows,
            &want.checksum[..16],
            if same { "ok" } else { "MISMATCH" }
        )?;
        if !same {
            mismatches.push(want.table);
        }
    }
    if to_scheme == Scheme::Postgres {
        let rounded = dump.sub_microsecond_instants();
        if rounded > 0 {
            writeln!(
                out,
                "note: {rounded} timestamps had digits below the microsecond, which PostgreSQL does not keep; \
                 checksums compare instants to the microsecond"
            )?;
        }
    }
    if !mismatches.is_empty() {
        out.flush()?;
        bail!(
            "the copy in {} differs from the source in: {} (the copy is committed: drop that database before trying again)",
            target.url,
            mismatches.join(", ")
        );
    }
    writeln!(out, "copied {total} rows in {} tables; every row count and checksum matches", expected.len())?;
    out.flush()?;
    Ok(())
}
