//! Exporting a whole database as neutral rows and importing it into another, empty one: what
//! `eprime db copy` does, here between two PostgreSQL databases (a fresh pair per test).
//!
//! Runs when `EPRIME_TEST_POSTGRES_URL` names a server; otherwise says on stderr that it was skipped.

use std::io::Write;

use eprime_domain::{Area, AreaCode, Principal, Role, RoleBinding, Title, UserId};
use eprime_store::Store;
use eprime_store::dump::{TABLES, Value};
use eprime_store_postgres::PostgresStore;
use sqlx::{Connection, PgConnection};

const URL_VARIABLE: &str = "EPRIME_TEST_POSTGRES_URL";

fn server_url(test: &str) -> Option<String> {
    match std::env::var(URL_VARIABLE) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            let _ = writeln!(
                std::io::stderr(),
                "skipping PostgreSQL transfer test {test}: set {URL_VARIABLE}=postgres://postgres@127.0.0.1:5432/postgres to run it"
            );
            None
        }
    }
}

/// Databases made for one test, dropped when it ends.
struct Databases {
    server: String,
    names: Vec<String>,
}

impl Databases {
    async fn create(&mut self) -> String {
        let random = uuid::Uuid::now_v7().simple().to_string();
        let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let name = format!("eprime_test_{secs}_{}", &random[20..]);
        let mut admin = PgConnection::connect(&self.server).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\""))).execute(&mut admin).await.unwrap();
        let _ = admin.close().await;
        self.names.push(name.clone());
        let (base, query) = self.server.split_once('?').map_or((self.server.as_str(), None), |(b, q)| (b, Some(q)));
        let authority = base.find("://").map_or(0, |i| i + 3);
        let path = base[authority..].find('/').map_or(base.len(), |i| authority + i);
        format!("{}/{name}{}", &base[..path], query.map(|q| format!("?{q}")).unwrap_or_default())
    }
}

impl Drop for Databases {
    fn drop(&mut self) {
        let (server, names) = (self.server.clone(), std::mem::take(&mut self.names));
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&server).await.unwrap();
                for name in names {
                    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut admin).await;
                }
                let _ = admin.close().await;
            });
        })
        .join();
    }
}

fn operator() -> Principal {
    Principal {
        user_id: UserId::new(),
        username: "operator".into(),
        binding: RoleBinding::new(Role::NatoAdmin, None, None).unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_copy_holds_every_row_and_continues_the_change_log() {
    let Some(server) = server_url("a_postgres_copy_holds_every_row_and_continues_the_change_log") else { return };
    let mut databases = Databases { server, names: Vec::new() };
    let (source_url, target_url, bare_url) =
        (databases.create().await, databases.create().await, databases.create().await);

    // Nothing migrated yet: version 0, and nothing created by looking.
    let bare = PostgresStore::open_existing(&bare_url).await.unwrap();
    assert_eq!(bare.schema_version().await.unwrap(), 0);
    bare.close().await;

    let source = PostgresStore::connect(&source_url).await.unwrap();
    // export refuses a schema with tables or columns it does not know.
    let empty = source.export().await.expect("every table and column is in eprime_store::dump::TABLES");
    assert!(TABLES.iter().all(|t| t.state || empty.tables.iter().any(|d| d.table.name == t.name)));
    eprime_demo::load(&source, "demo-password", &|p: &str| format!("hash-of-{p}")).await.unwrap();
    let dump = source.export().await.unwrap();
    let summary = dump.summary();

    let target = PostgresStore::connect(&target_url).await.unwrap();
    target.import(&dump).await.unwrap();
    assert_eq!(target.export().await.unwrap().summary(), summary, "same rows, same checksums");
    assert!(target.check_integrity().await.unwrap().is_empty());
    // The planner has statistics for what was copied, without waiting for autovacuum.
    let mut check = PgConnection::connect(&target_url).await.unwrap();
    let analyzed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_user_tables WHERE relname = 'activities' AND last_analyze IS NOT NULL",
    )
    .fetch_one(&mut check)
    .await
    .unwrap();
    assert_eq!(analyzed, 1, "activities analyzed after the copy");
    let refused = target.import(&dump).await.unwrap_err().to_string();
    assert!(refused.contains("not empty"), "{refused}");

    // The identity sequence continues after the copied numbers.
    let copied = dump.tables.iter().find(|t| t.table.name == "change_log").unwrap().rows.len();
    let area = Area { code: AreaCode::parse("ZZNEW").unwrap(), title: Title::parse("A new area").unwrap() };
    target.upsert_area(&operator(), &area).await.unwrap();
    let after = target.export().await.unwrap();
    let log = after.tables.iter().find(|t| t.table.name == "change_log").unwrap();
    assert_eq!(log.rows.last().unwrap()[0], Value::Int(copied as i64 + 1));
    source.close().await;
    target.close().await;
}
