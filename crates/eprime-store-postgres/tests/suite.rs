//! The shared storage test suite, and what only a server database needs testing for (several
//! handles, concurrent writers), against a PostgreSQL server: a fresh database per case.
//!
//! Runs when `EPRIME_TEST_POSTGRES_URL` names a server (a role that may create databases);
//! otherwise every test says on stderr that it was skipped, and why.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use eprime_domain::{
    ActivityChanges, ActivityKind, ActivityStatus, Framework, Marking, NewActivity, OrgCode, OrgKind, Organisation,
    PartnerCode, Principal, ReadScope, Role, RoleBinding, Text, Title, UserId,
};
use eprime_store::{ActivityFilter, DynStore, EntityType, NewPartnership, Operation, PageRequest, Store, StoreError};
use eprime_store_postgres::PostgresStore;
use sqlx::{Connection, PgConnection};
use time::macros::date;

const URL_VARIABLE: &str = "EPRIME_TEST_POSTGRES_URL";
/// Databases this suite creates are named `eprime_test_<unix seconds>_<random>`.
const PREFIX: &str = "eprime_test_";
/// Leftovers of runs that died without cleaning up are dropped once they are this old.
const STALE_AFTER: Duration = Duration::from_secs(60 * 60);

/// The server to test against, or `None` after saying on stderr why the test does nothing.
fn server_url(test: &str) -> Option<String> {
    match std::env::var(URL_VARIABLE) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            // Straight to the process's stderr, not `eprintln!`: the test harness captures the
            // macro's output of passing tests, and a skip must never be silent.
            let _ = writeln!(
                std::io::stderr(),
                "skipping PostgreSQL storage tests ({test}): set \
                 {URL_VARIABLE}=postgres://postgres@127.0.0.1:5432/postgres to run them"
            );
            None
        }
    }
}

/// `url` with its database replaced by `name` (query parameters kept).
fn with_database(url: &str, name: &str) -> String {
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

/// The databases one test creates, dropped when it ends, whether it passed or panicked.
struct Databases {
    server: String,
    created: Mutex<Vec<String>>,
}

impl Databases {
    /// Also drops stale leftovers of earlier runs (never a database another running test uses:
    /// those are younger than an hour).
    async fn new(server: String) -> Self {
        let mut admin = PgConnection::connect(&server).await.expect("connect to the test server");
        let names: Vec<String> =
            sqlx::query_scalar("SELECT datname::text FROM pg_database WHERE starts_with(datname, 'eprime_test_')")
                .fetch_all(&mut admin)
                .await
                .expect("list test databases");
        let now = unix_seconds();
        for name in names {
            let created = name
                .strip_prefix(PREFIX)
                .and_then(|rest| rest.split('_').next())
                .and_then(|secs| secs.parse::<u64>().ok());
            if created.is_some_and(|secs| now.saturating_sub(secs) > STALE_AFTER.as_secs()) {
                drop_database(&mut admin, &name).await;
            }
        }
        let _ = admin.close().await;
        Self { server, created: Mutex::new(Vec::new()) }
    }

    /// Creates an empty database and gives its URL.
    async fn create(&self) -> String {
        // The tail of a UUIDv7 is random bits.
        let random = uuid::Uuid::now_v7().simple().to_string();
        let name = format!("{PREFIX}{}_{}", unix_seconds(), &random[20..]);
        let mut admin = PgConnection::connect(&self.server).await.expect("connect to the test server");
        // Identifiers cannot be bound; the name is ours (digits, hex and underscores), and quoted.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut admin)
            .await
            .expect("create a test database");
        let _ = admin.close().await;
        self.created.lock().unwrap_or_else(|e| e.into_inner()).push(name.clone());
        with_database(&self.server, &name)
    }

    async fn store(&self) -> PostgresStore {
        PostgresStore::connect(&self.create().await).await.expect("connect the store")
    }
}

impl Drop for Databases {
    fn drop(&mut self) {
        let names = std::mem::take(&mut *self.created.lock().unwrap_or_else(|e| e.into_inner()));
        if names.is_empty() {
            return;
        }
        let server = self.server.clone();
        // Drop may run while the test's runtime unwinds: use a runtime of our own, on a thread of its own.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&server).await?;
                for name in &names {
                    drop_database(&mut admin, name).await;
                }
                admin.close().await
            })?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        });
        if let Ok(Err(e)) = cleanup.join() {
            eprintln!("could not drop the test databases: {e}");
        }
    }
}

async fn drop_database(admin: &mut PgConnection, name: &str) {
    debug_assert!(name.starts_with(PREFIX) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
    // WITH (FORCE): pools of finished cases may still be closing their connections.
    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
    if let Err(e) = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *admin).await {
        eprintln!("could not drop test database {name}: {e}");
    }
}

fn unix_seconds() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn staff() -> Principal {
    Principal {
        user_id: UserId::new(),
        username: "staff".into(),
        binding: RoleBinding::new(Role::NatoStaff, None, None).unwrap(),
    }
}

fn jpn() -> PartnerCode {
    PartnerCode::parse("JPN").unwrap()
}

/// The JPN partnership, enough to hang activities on.
async fn partnership(store: &dyn Store) {
    store
        .upsert_organisation(
            &staff(),
            &Organisation {
                code: OrgCode::parse("JPN").unwrap(),
                name: Title::parse("Japan").unwrap(),
                kind: OrgKind::Partner,
                country: None,
            },
        )
        .await
        .unwrap();
    store
        .create_partnership(
            &staff(),
            NewPartnership {
                partner: jpn(),
                name: Title::parse("Japan").unwrap(),
                framework: Framework::PartnersAcrossTheGlobe,
                since: "1990s".into(),
                summary: Text::default(),
                marking: Marking::public(),
            },
        )
        .await
        .unwrap();
}

fn activity(title: &str, starts_on: Option<time::Date>) -> NewActivity {
    NewActivity {
        partnership: jpn(),
        title: Title::parse(title).unwrap(),
        kind: ActivityKind::Meeting,
        description: Text::default(),
        starts_on,
        ends_on: None,
        location: None,
        lead: None,
        participants: vec![],
        supports: vec![],
        areas: vec![],
        outcome: Text::default(),
        source: None,
        offering: None,
        marking: Marking::public(),
        status: ActivityStatus::Proposed,
        status_reason: None,
    }
}

fn retitle(title: &str) -> ActivityChanges {
    ActivityChanges { title: Some(Title::parse(title).unwrap()), ..Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_storage_suite_passes_on_postgres() {
    let Some(server) = server_url("the_storage_suite_passes_on_postgres") else {
        return;
    };
    let databases = Databases::new(server).await;
    eprime_store::testsuite::run_all(|| async { Arc::new(databases.store().await) as DynStore }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_handles_on_one_database_see_each_others_writes_at_once() {
    let Some(server) = server_url("two_handles_on_one_database_see_each_others_writes_at_once") else {
        return;
    };
    let databases = Databases::new(server).await;
    let url = databases.create().await;
    let first = PostgresStore::connect(&url).await.unwrap();
    // The second handle runs the (already applied) migrations again: a no-op.
    let second = PostgresStore::connect(&url).await.unwrap();
    let newest = eprime_store_postgres::MIGRATOR.iter().map(|m| m.version).max();
    assert_eq!(Some(second.schema_version().await.unwrap()), newest);
    assert!(second.is_empty().await.unwrap());
    partnership(&first).await;
    assert!(!second.is_empty().await.unwrap());
    let created = first.create_activity(&staff(), activity("Staff talks", Some(date!(2026 - 12 - 01)))).await.unwrap();
    let seen = second.activity(&ReadScope::system(), created.id).await.unwrap();
    assert_eq!(seen.as_ref(), Some(&created), "the other handle reads the write");
    let updated = second.update_activity(&staff(), created.id, Some(1), retitle("Staff talks, round 2")).await.unwrap();
    let back = first.activity(&ReadScope::system(), created.id).await.unwrap().unwrap();
    assert_eq!(back, updated, "and the first reads the other's update");
    first.close().await;
    second.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_concurrent_updates_from_one_version_exactly_one_wins() {
    let Some(server) = server_url("of_concurrent_updates_from_one_version_exactly_one_wins") else {
        return;
    };
    let databases = Databases::new(server).await;
    let store = Arc::new(databases.store().await);
    partnership(store.as_ref()).await;
    let created = store.create_activity(&staff(), activity("Talks", Some(date!(2026 - 12 - 01)))).await.unwrap();
    let writers: Vec<_> = (0..20)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store.update_activity(&staff(), created.id, Some(1), retitle(&format!("Talks {i}"))).await
            })
        })
        .collect();
    let mut winners = Vec::new();
    for writer in writers {
        match writer.await.unwrap() {
            Ok(activity) => winners.push(activity),
            Err(StoreError::Stale { expected, current }) => assert_eq!((expected, current), (1, 2)),
            Err(other) => panic!("a losing writer gets Stale, not {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one writer wins");
    let now = store.activity(&ReadScope::system(), created.id).await.unwrap().unwrap();
    assert_eq!(now, winners[0], "the stored activity is the winner's");
    // Transitions from one version race the same way (a single statement each, or their transaction).
    let movers: Vec<_> = (0..10)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store.transition_activity(&staff(), created.id, Some(2), ActivityStatus::Approved, None).await
            })
        })
        .collect();
    let mut moved = 0;
    for mover in movers {
        match mover.await.unwrap() {
            Ok(activity) => {
                assert_eq!((activity.version, activity.status), (3, ActivityStatus::Approved));
                moved += 1;
            }
            Err(StoreError::Stale { expected, current }) => assert_eq!((expected, current), (2, 3)),
            Err(other) => panic!("a losing transition gets Stale, not {other:?}"),
        }
    }
    assert_eq!(moved, 1, "exactly one transition is made");
    let history =
        store.history(&ReadScope::system(), EntityType::Activity, &created.id.to_string()).await.unwrap().unwrap();
    let updates = history.iter().filter(|e| e.operation == Operation::Update).count();
    assert_eq!(updates, 1, "one update in the change log");
    assert_eq!(history.len(), 3, "and one transition");
}

/// Appends queue on one lock held to their commit, so a follower reading the log while many
/// writers commit at once never moves past an entry that commits after a later one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_of_the_log_never_skips_an_entry_that_commits_late() {
    let Some(server) = server_url("a_follower_of_the_log_never_skips_an_entry_that_commits_late") else {
        return;
    };
    let databases = Databases::new(server).await;
    let store = Arc::new(databases.store().await);
    partnership(store.as_ref()).await;
    let mut ids = Vec::new();
    for i in 0..16 {
        ids.push(store.create_activity(&staff(), activity(&format!("Talks {i}"), None)).await.unwrap().id);
    }
    let start = store.last_change_seq().await.unwrap();
    let writing = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let follower = {
        let (store, writing) = (Arc::clone(&store), Arc::clone(&writing));
        tokio::spawn(async move {
            let (mut last, mut seen) = (start, Vec::new());
            loop {
                let still_writing = writing.load(std::sync::atomic::Ordering::SeqCst);
                let batch = store.changes_after(last, 1_000).await.unwrap();
                for entry in &batch {
                    seen.push(entry.seq);
                    last = entry.seq;
                }
                if !still_writing && batch.is_empty() {
                    return seen;
                }
            }
        })
    };
    let writers: Vec<_> = ids
        .iter()
        .map(|&id| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                for round in 0..10 {
                    store.update_activity(&staff(), id, None, retitle(&format!("Talks, round {round}"))).await.unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    writing.store(false, std::sync::atomic::Ordering::SeqCst);
    let seen = follower.await.unwrap();
    let all: Vec<i64> = store.changes_after(start, 10_000).await.unwrap().iter().map(|e| e.seq).collect();
    assert_eq!(all.len(), 160, "one entry per update");
    assert_eq!(seen, all, "the follower read every entry, in order, none skipped");
}

/// Writes wait for the change log's append lock holding a connection each; reads have connections of
/// their own, so a pile of waiting writes never keeps a read waiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_are_answered_while_more_writes_wait_than_there_are_connections() {
    let Some(server) = server_url("reads_are_answered_while_more_writes_wait_than_there_are_connections") else {
        return;
    };
    let databases = Databases::new(server).await;
    let url = databases.create().await;
    let store = Arc::new(PostgresStore::connect(&url).await.unwrap());
    partnership(store.as_ref()).await;
    let created = store.create_activity(&staff(), activity("Talks", None)).await.unwrap();
    // Another session takes the append lock (the key is the store's own) and keeps it.
    let mut holder = PgConnection::connect(&url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
    let append_lock: i64 = 0x6550_5249_4d45_6c67;
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(append_lock).execute(&mut holder).await.unwrap();
    // More writers than either pool has connections (16 in one pool was the limit before).
    let writers: Vec<_> = (0..24)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store.update_activity(&staff(), created.id, None, retitle(&format!("Talks {i}"))).await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(writers.iter().all(|w| !w.is_finished()), "the writes wait for the lock");
    let read = tokio::time::timeout(Duration::from_secs(3), store.activity(&ReadScope::system(), created.id)).await;
    let read = read.expect("a read is answered while the writes wait").unwrap().unwrap();
    assert_eq!(read.version, 1, "and it sees none of them");
    let listed = tokio::time::timeout(
        Duration::from_secs(3),
        store.list_activities(&ReadScope::system(), &ActivityFilter::default(), &PageRequest::default()),
    )
    .await
    .expect("so is a list")
    .unwrap();
    assert_eq!(listed.items.len(), 1);
    sqlx::query("COMMIT").execute(&mut holder).await.unwrap();
    for writer in writers {
        writer.await.unwrap().expect("each write is made once the lock is free");
    }
    let now = store.activity(&ReadScope::system(), created.id).await.unwrap().unwrap();
    assert_eq!(now.version, 25);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cursors_and_text_search_match_the_sqlite_store() {
    let Some(server) = server_url("cursors_and_text_search_match_the_sqlite_store") else {
        return;
    };
    let databases = Databases::new(server).await;
    let store = databases.store().await;
    partnership(&store).await;
    let dated = store.create_activity(&staff(), activity("Done 100%", Some(date!(2026 - 12 - 01)))).await.unwrap();
    let undated = store.create_activity(&staff(), activity("Done 1000 times", None)).await.unwrap();
    let scope = ReadScope::system();
    let all = ActivityFilter::default();
    let first = store.list_activities(&scope, &all, &PageRequest::first(1)).await.unwrap();
    assert_eq!(first.items[0].id, dated.id, "dated before undated");
    assert_eq!(first.next_cursor, Some(format!("2026-12-01|{}", dated.id)), "SQLite's cursor format");
    let second = PageRequest { limit: 1, after: first.next_cursor };
    let second = store.list_activities(&scope, &all, &second).await.unwrap();
    assert_eq!(second.items[0].id, undated.id);
    assert_eq!(second.next_cursor, None);
    // A cursor the SQLite store made (undated key) works here too.
    let foreign = PageRequest { limit: 5, after: Some(format!("0000-00-00|{}", undated.id)) };
    assert!(store.list_activities(&scope, &all, &foreign).await.unwrap().items.is_empty());
    let search = |text: &str| ActivityFilter { text: Some(text.into()), ..Default::default() };
    let found = store.list_activities(&scope, &search("100%"), &PageRequest::first(5)).await.unwrap();
    let ids: Vec<_> = found.items.iter().map(|a| a.id).collect();
    assert_eq!(ids, vec![dated.id], "`%` is searched for, not a wildcard");
    assert_eq!(store.count_activities(&scope, &search("DONE")).await.unwrap(), 2, "case-insensitive");
    assert_eq!(store.count_activities(&scope, &search("done_1")).await.unwrap(), 0, "`_` is literal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_change_log_refuses_updates_deletes_and_truncation() {
    let Some(server) = server_url("the_change_log_refuses_updates_deletes_and_truncation") else {
        return;
    };
    let databases = Databases::new(server).await;
    let url = databases.create().await;
    let store = PostgresStore::connect(&url).await.unwrap();
    store.close().await;
    let mut db = PgConnection::connect(&url).await.unwrap();
    sqlx::query("INSERT INTO change_log (at, entity, entity_id, operation) VALUES (now(), 'area', 'X', 'create')")
        .execute(&mut db)
        .await
        .unwrap();
    for refused in ["UPDATE change_log SET actor = 'me'", "DELETE FROM change_log", "TRUNCATE change_log"] {
        let error = sqlx::query(refused).execute(&mut db).await.unwrap_err();
        assert!(error.to_string().contains("append-only"), "{refused}: {error}");
    }
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM change_log").fetch_one(&mut db).await.unwrap();
    assert_eq!(left, 1);
    db.close().await.unwrap();
}

#[test]
fn database_urls_are_rewritten_to_the_test_database() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/postgres", "t"),
        "postgres://postgres@127.0.0.1:5432/t"
    );
    assert_eq!(with_database("postgres://u:p@host/db?sslmode=disable", "t"), "postgres://u:p@host/t?sslmode=disable");
    assert_eq!(with_database("postgres://host:5432", "t"), "postgres://host:5432/t");
}
