//! A PostgreSQL database of its own for each test, on the server `EPRIME_TEST_POSTGRES_URL`
//! names; dropped when the test ends, passed or failed. Without the variable, tests say on stderr
//! that they were skipped, and why.

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng;
use sqlx::{Connection, PgConnection};

pub const URL_VARIABLE: &str = "EPRIME_TEST_POSTGRES_URL";
/// Databases the tests create are named `eprime_test_<unix seconds>_<random>`.
const PREFIX: &str = "eprime_test_";
/// Leftovers of runs that died without cleaning up are dropped once they are this old.
const STALE_AFTER: Duration = Duration::from_secs(60 * 60);

/// The server to test against, or `None` after saying on stderr why the test does nothing.
pub fn server_url(test: &str) -> Option<String> {
    match std::env::var(URL_VARIABLE) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            // Straight to the process's stderr, not `eprintln!`: the test harness captures the
            // macro's output of passing tests, and a skip must never be silent.
            let _ = writeln!(
                std::io::stderr(),
                "skipping PostgreSQL test {test}: set {URL_VARIABLE}=postgres://postgres@127.0.0.1:5432/postgres \
                 (a role that may create databases) to run it"
            );
            None
        }
    }
}

/// `url` with its database replaced by `name` (query parameters kept).
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority = base.find("://").map_or(0, |i| i + 3);
    let path = base[authority..].find('/').map_or(base.len(), |i| authority + i);
    let mut out = format!("{}/{name}", &base[..path]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// An empty database created for one test, dropped (with any connections still open) when
/// this guard is.
pub struct TestDatabase {
    server: String,
    pub name: String,
    /// The database's URL.
    pub url: String,
}

impl TestDatabase {
    /// Creates an empty database on the server, first dropping leftovers of dead runs.
    pub async fn create(server: &str) -> Self {
        let mut admin = PgConnection::connect(server).await.expect("connect to the test server");
        drop_stale(&mut admin).await;
        let random: u64 = rand::rng().random();
        let name = format!("{PREFIX}{}_{random:016x}", unix_seconds());
        // Identifiers cannot be bound; the name is ours (digits, hex and underscores), and quoted.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut admin)
            .await
            .expect("create a test database");
        let _ = admin.close().await;
        Self { server: server.to_owned(), url: with_database(server, &name), name }
    }

    /// The one integer `sql` selects (for looking at the database behind the application's back).
    pub async fn scalar_i64(&self, sql: &str) -> i64 {
        let mut db = PgConnection::connect(&self.url).await.expect("connect to the test database");
        let value: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(&mut db).await.expect(sql);
        let _ = db.close().await;
        value
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (server, name) = (self.server.clone(), self.name.clone());
        // Drop may run while the test's runtime unwinds: use a runtime of our own, on a thread of its own.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&server).await?;
                drop_database(&mut admin, &name).await;
                admin.close().await
            })?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        });
        if let Ok(Err(e)) = cleanup.join() {
            eprintln!("could not drop the test database {}: {e}", self.name);
        }
    }
}

async fn drop_stale(admin: &mut PgConnection) {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname::text FROM pg_database WHERE starts_with(datname, 'eprime_test_')")
            .fetch_all(&mut *admin)
            .await
            .unwrap_or_default();
    let now = unix_seconds();
    for name in names {
        let created =
            name.strip_prefix(PREFIX).and_then(|rest| rest.split('_').next()).and_then(|s| s.parse::<u64>().ok());
        if created.is_some_and(|secs| now.saturating_sub(secs) > STALE_AFTER.as_secs()) {
            drop_database(admin, &name).await;
        }
    }
}

async fn drop_database(admin: &mut PgConnection, name: &str) {
    assert!(name.starts_with(PREFIX) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
    // WITH (FORCE): pools of finished servers may still be closing their connections.
    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
    if let Err(e) = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *admin).await {
        eprintln!("could not drop test database {name}: {e}");
    }
}

fn unix_seconds() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
