//! The shared storage test suite against SQLite: a fresh database file per case.

use std::sync::Arc;

use eprime_store::DynStore;
use eprime_store_sqlite::SqliteStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_storage_suite_passes_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let counter = std::sync::atomic::AtomicUsize::new(0);
    eprime_store::testsuite::run_all(|| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let url = format!("sqlite://{}", dir.path().join(format!("case-{n}.db")).display());
        async move { Arc::new(SqliteStore::connect(&url).await.unwrap()) as DynStore }
    })
    .await;
}

#[tokio::test]
async fn the_change_log_refuses_updates_and_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("log.db").display());
    let store = SqliteStore::connect(&url).await.unwrap();
    store.close().await;
    let pool = sqlx_pool(&url).await;
    sqlx::query("INSERT INTO change_log (at, entity, entity_id, operation) VALUES ('t', 'area', 'X', 'create')")
        .execute(&pool)
        .await
        .unwrap();
    assert!(sqlx::query("UPDATE change_log SET actor = 'me'").execute(&pool).await.is_err());
    assert!(sqlx::query("DELETE FROM change_log").execute(&pool).await.is_err());
}

async fn sqlx_pool(url: &str) -> sqlx::SqlitePool {
    sqlx::SqlitePool::connect(url).await.unwrap()
}
