//! Choosing and opening the database a command works on: SQLite (`sqlite:`) or PostgreSQL
//! (`postgres://`, `postgresql://`), by the URL's scheme.

use std::sync::Arc;

use anyhow::{Context, bail};
use eprime_store::DynStore;
use eprime_store::dump::Dump;
use eprime_store_postgres::PostgresStore;
use eprime_store_sqlite::SqliteStore;

/// The database used when neither `--database` nor `EPRIME_DATABASE_URL` names one.
pub const DEFAULT_DATABASE: &str = "sqlite://eprime.db";

/// The store behind a [`Database`], for what only its own backend can do (migrations, copying,
/// integrity checks).
#[derive(Clone)]
pub enum Backend {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

/// An open database: the [`DynStore`] every command and the server use, and its backend.
#[derive(Clone)]
pub struct Database {
    pub store: DynStore,
    pub backend: Backend,
    /// The URL without any password, for messages.
    pub url: String,
}

impl Database {
    /// `SQLite` or `PostgreSQL`.
    pub fn kind(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "SQLite",
            Backend::Postgres(_) => "PostgreSQL",
        }
    }

    /// Waits for in-flight work and closes every connection.
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite(store) => store.close().await,
            Backend::Postgres(store) => store.close().await,
        }
    }

    /// The newest migration applied to the database (0 when none is).
    pub async fn schema_version(&self) -> anyhow::Result<i64> {
        Ok(match &self.backend {
            Backend::Sqlite(store) => store.schema_version().await?,
            Backend::Postgres(store) => store.schema_version().await?,
        })
    }

    /// The newest migration this binary knows for the backend.
    pub fn known_schema_version(&self) -> i64 {
        let migrator = match self.backend {
            Backend::Sqlite(_) => &eprime_store_sqlite::MIGRATOR,
            Backend::Postgres(_) => &eprime_store_postgres::MIGRATOR,
        };
        migrator.iter().map(|m| m.version).max().unwrap_or(0)
    }

    /// Every table's rows, as one consistent snapshot.
    pub async fn export(&self) -> anyhow::Result<Dump> {
        Ok(match &self.backend {
            Backend::Sqlite(store) => store.export().await?,
            Backend::Postgres(store) => store.export().await?,
        })
    }

    /// Writes `dump` into this (empty) database in one transaction.
    pub async fn import(&self, dump: &Dump) -> anyhow::Result<()> {
        match &self.backend {
            Backend::Sqlite(store) => store.import(dump).await?,
            Backend::Postgres(store) => store.import(dump).await?,
        }
        Ok(())
    }

    /// Rows per table.
    pub async fn table_counts(&self) -> anyhow::Result<Vec<(&'static str, u64)>> {
        Ok(match &self.backend {
            Backend::Sqlite(store) => store.table_counts().await?,
            Backend::Postgres(store) => store.table_counts().await?,
        })
    }

    /// What is wrong with the database; empty when nothing is.
    pub async fn check_integrity(&self) -> anyhow::Result<Vec<String>> {
        Ok(match &self.backend {
            Backend::Sqlite(store) => store.check_integrity().await?,
            Backend::Postgres(store) => store.check_integrity().await?,
        })
    }
}

/// Which backend a URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Sqlite,
    Postgres,
}

/// The backend `url` names, or an error saying which URLs work.
pub fn scheme(url: &str) -> anyhow::Result<Scheme> {
    if url.starts_with("sqlite:") {
        return Ok(Scheme::Sqlite);
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Scheme::Postgres);
    }
    bail!(
        "`{}` is not a database URL this build understands; use sqlite://FILE (e.g. {DEFAULT_DATABASE}) or \
         postgres://USER@HOST:PORT/DATABASE",
        redact(url)
    )
}

/// Opens the database at `url`, creating it (SQLite) and running migrations as needed.
pub async fn open(url: &str) -> anyhow::Result<Database> {
    connect(url, true).await
}

/// Opens the existing database at `url` as it is: nothing is created or migrated (for
/// `db check`, and the source of `db copy`).
pub async fn open_existing(url: &str) -> anyhow::Result<Database> {
    connect(url, false).await
}

async fn connect(url: &str, create_and_migrate: bool) -> anyhow::Result<Database> {
    let shown = redact(url);
    let backend = match scheme(url)? {
        Scheme::Sqlite => {
            let store = if create_and_migrate {
                SqliteStore::connect(url).await
            } else {
                SqliteStore::open_existing(url).await
            };
            // The SQLite store's messages repeat the URL; SQLite URLs carry no password.
            Backend::Sqlite(store.with_context(|| format!("opening the database {shown}"))?)
        }
        Scheme::Postgres => {
            let store = if create_and_migrate {
                PostgresStore::connect(url).await
            } else {
                PostgresStore::open_existing(url).await
            };
            // The PostgreSQL store never repeats the URL; the error is shown with it redacted.
            Backend::Postgres(store.map_err(|e| anyhow::anyhow!(scrub(&e.to_string(), url))).with_context(|| {
                format!("opening the database {shown} (does the database exist, and may this user connect to it?)")
            })?)
        }
    };
    let store: DynStore = match &backend {
        Backend::Sqlite(store) => Arc::new(store.clone()),
        Backend::Postgres(store) => Arc::new(store.clone()),
    };
    Ok(Database { store, backend, url: shown })
}

/// `url` with the password of its `user:password@` part replaced by `***`, for messages and logs.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    // The last '@' ends the user information (a password may itself contain '@').
    let Some(at) = authority.rfind('@') else {
        return url.to_owned();
    };
    let userinfo = &authority[..at];
    let Some(colon) = userinfo.find(':') else {
        return url.to_owned();
    };
    format!("{}{}:***{}", &url[..scheme_end], &userinfo[..colon], &url[scheme_end + at..])
}

/// `message` without the URL's password, should a driver ever repeat it.
fn scrub(message: &str, url: &str) -> String {
    match password(url) {
        Some(password) if !password.is_empty() => message.replace(password, "***"),
        _ => message.to_owned(),
    }
}

fn password(url: &str) -> Option<&str> {
    let rest = &url[url.find("://")? + 3..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let userinfo = &authority[..authority.rfind('@')?];
    Some(&userinfo[userinfo.find(':')? + 1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        assert_eq!(redact("postgres://eprime:s3cret@db:5432/eprime"), "postgres://eprime:***@db:5432/eprime");
        assert_eq!(redact("postgresql://u:p@ss@db/x?sslmode=require"), "postgresql://u:***@db/x?sslmode=require");
        assert_eq!(
            redact("postgres://postgres@127.0.0.1:5432/postgres"),
            "postgres://postgres@127.0.0.1:5432/postgres"
        );
        assert_eq!(redact("postgres://db/x?user=a@b"), "postgres://db/x?user=a@b");
        assert_eq!(redact("sqlite://eprime.db"), "sqlite://eprime.db");
        assert_eq!(redact("sqlite::memory:"), "sqlite::memory:");
        assert_eq!(
            scrub("bad password s3cret for eprime", "postgres://eprime:s3cret@db/e"),
            "bad password *** for eprime"
        );
    }

    #[test]
    fn the_scheme_chooses_the_backend() {
        assert_eq!(scheme("sqlite://eprime.db").unwrap(), Scheme::Sqlite);
        assert_eq!(scheme("sqlite::memory:").unwrap(), Scheme::Sqlite);
        assert_eq!(scheme("postgres://h/db").unwrap(), Scheme::Postgres);
        assert_eq!(scheme("postgresql://h/db").unwrap(), Scheme::Postgres);
        let error = scheme("mysql://root:hunter2@h/db").unwrap_err().to_string();
        assert!(error.contains("sqlite://") && error.contains("postgres://") && !error.contains("hunter2"), "{error}");
    }
}
