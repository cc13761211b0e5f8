//! Migrations applied to a database that already holds data, as an upgrade applies them.

use eprime_domain::{PartnerCode, ReadScope};
use eprime_store::{ActivityFilter, PageRequest, Store};
use eprime_store_sqlite::{MIGRATOR, SqliteStore};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

/// Migration 0012 drops the generated `sort_key` column and lists by its expression instead: on a
/// database written before it, pages keep their order (newest start first, undated last) and a cursor
/// still continues where its page ended.
#[tokio::test]
async fn activities_written_before_0012_list_in_the_same_order_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("upgrade.db");
    // Foreign keys off for the raw rows below: the activities' partnership need not exist.
    let options = SqliteConnectOptions::new().filename(&path).create_if_missing(true).foreign_keys(false);
    let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await.unwrap();
    let before_0012 = Migrator::with_migrations(MIGRATOR.iter().filter(|m| m.version < 12).cloned().collect());
    before_0012.run(&pool).await.unwrap();
    let rows = [
        ("01900000-0000-7000-8000-000000000001", Some("2024-05-01")),
        ("01900000-0000-7000-8000-000000000002", None),
        ("01900000-0000-7000-8000-000000000003", Some("2025-01-01")),
        ("01900000-0000-7000-8000-000000000004", Some("2024-05-01")),
    ];
    for (id, starts_on) in rows {
        sqlx::query(
            "INSERT INTO activities (id, partnership, title, description, kind, starts_on, status, outcome, marking,
                 version, created_at, updated_at)
             VALUES (?1, 'JPN', 'Talks', 'Talks.', 'dialogue', ?2, 'proposed', '', 'PUBLIC', 1,
                 '2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z')",
        )
        .bind(id)
        .bind(starts_on)
        .execute(&pool)
        .await
        .unwrap();
    }
    MIGRATOR.run(&pool).await.unwrap();
    pool.close().await;

    let store = SqliteStore::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), MIGRATOR.iter().map(|m| m.version).max().unwrap());
    let filter = ActivityFilter { partnership: Some(PartnerCode::parse("JPN").unwrap()), ..Default::default() };
    let scope = ReadScope::system();
    let mut listed = Vec::new();
    let mut page = PageRequest::first(3);
    loop {
        let found = store.list_activity_versions(&scope, &filter, &page).await.unwrap();
        listed.extend(found.items.iter().map(|(id, _)| id.to_string()));
        match found.next_cursor {
            Some(cursor) => page.after = Some(cursor),
            None => break,
        }
    }
    let id = |n: usize| rows[n - 1].0.to_owned();
    assert_eq!(listed, vec![id(3), id(4), id(1), id(2)], "newest start first, ties by id descending, undated last");
}
