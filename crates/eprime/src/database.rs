//! Choosing and opening the database a command works on.

use std::sync::Arc;

use anyhow::{Context, bail};
use eprime_store::DynStore;
use eprime_store_sqlite::SqliteStore;

/// The database used when neither `--database` nor `EPRIME_DATABASE_URL` names one.
pub const DEFAULT_DATABASE: &str = "sqlite://eprime.db";

/// Opens the database at `url`, creating it and running migrations as needed.
pub async fn open(url: &str) -> anyhow::Result<(DynStore, SqliteStore)> {
    if url.starts_with("sqlite:") {
        let store = SqliteStore::connect(url).await.with_context(|| format!("opening the database {url}"))?;
        return Ok((Arc::new(store.clone()), store));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        bail!("PostgreSQL is not supported by this build yet; use a sqlite:// database URL (e.g. {DEFAULT_DATABASE})");
    }
    bail!("`{url}` is not a database URL this build understands; use sqlite://FILE (e.g. {DEFAULT_DATABASE})")
}
