//! Exporting a whole database as neutral rows and importing it into another, empty one: what
//! `eprime db copy` does, here between two SQLite files.

use eprime_domain::{Area, AreaCode, Principal, Role, RoleBinding, Title, UserId};
use eprime_store::Store;
use eprime_store::dump::TABLES;
use eprime_store_sqlite::SqliteStore;

fn operator() -> Principal {
    Principal {
        user_id: UserId::new(),
        username: "operator".into(),
        binding: RoleBinding::new(Role::NatoAdmin, None, None).unwrap(),
    }
}

#[tokio::test]
async fn the_migrated_schema_is_the_one_the_copy_knows() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::connect(&format!("sqlite://{}", dir.path().join("a.db").display())).await.unwrap();
    // export refuses a schema with tables or columns it does not know.
    let dump = store.export().await.expect("every table and column is in eprime_store::dump::TABLES");
    assert!(TABLES.iter().all(|t| t.state || dump.tables.iter().any(|d| d.table.name == t.name)));
    assert!(dump.tables.iter().filter(|t| !t.table.state).all(|t| t.rows.is_empty()));
    assert!(store.check_integrity().await.unwrap().is_empty());
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_holds_every_row_and_continues_the_change_log() {
    let dir = tempfile::tempdir().unwrap();
    let url = |name: &str| format!("sqlite://{}", dir.path().join(name).display());
    let source = SqliteStore::connect(&url("source.db")).await.unwrap();
    eprime_demo::load(&source, "demo-password", &|p: &str| format!("hash-of-{p}")).await.unwrap();
    let dump = source.export().await.unwrap();
    let summary = dump.summary();
    for table in ["documents", "elements", "activities", "activity_participants", "releasability", "users"] {
        assert!(summary.iter().any(|s| s.table == table && s.rows > 0), "the demo fills {table}");
    }

    let target = SqliteStore::connect(&url("target.db")).await.unwrap();
    target.import(&dump).await.unwrap();
    assert_eq!(target.export().await.unwrap().summary(), summary, "same rows, same checksums");
    let counts: Vec<(&str, u64)> = summary.iter().map(|s| (s.table, s.rows)).collect();
    assert_eq!(target.table_counts().await.unwrap(), counts);
    assert!(target.check_integrity().await.unwrap().is_empty());
    assert_eq!(target.schema_version().await.unwrap(), source.schema_version().await.unwrap());

    // Into a database that holds anything: refused, nothing changed.
    let refused = target.import(&dump).await.unwrap_err().to_string();
    assert!(refused.contains("not empty"), "{refused}");
    assert_eq!(target.export().await.unwrap().summary(), summary);

    // New changes are numbered after the copied ones.
    let last =
        |dump: &eprime_store::dump::Dump| dump.tables.iter().find(|t| t.table.name == "change_log").unwrap().rows.len();
    let copied = last(&dump);
    let area = Area { code: AreaCode::parse("ZZNEW").unwrap(), title: Title::parse("A new area").unwrap() };
    target.upsert_area(&operator(), &area).await.unwrap();
    let after = target.export().await.unwrap();
    let log = after.tables.iter().find(|t| t.table.name == "change_log").unwrap();
    assert_eq!(log.rows.len(), copied + 1);
    assert_eq!(log.rows.last().unwrap()[0], eprime_store::dump::Value::Int(copied as i64 + 1));
    source.close().await;
    target.close().await;
}

#[tokio::test]
async fn an_unmigrated_database_reports_version_zero_and_a_missing_one_is_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let missing = format!("sqlite://{}", dir.path().join("missing.db").display());
    assert!(SqliteStore::open_existing(&missing).await.is_err());
    assert!(!dir.path().join("missing.db").exists());
    let empty = format!("sqlite://{}", dir.path().join("empty.db").display());
    sqlx::SqlitePool::connect(&format!("{empty}?mode=rwc")).await.unwrap().close().await;
    let store = SqliteStore::open_existing(&empty).await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), 0);
    store.close().await;
}
