//! e-PRIME's embedded store: [`eprime_store::Store`] on SQLite.
//!
//! One database file, WAL journal, foreign keys on, migrations embedded in the binary and run at
//! start. Reads go through a pool of connections; writes through a single connection, so write
//! transactions queue in the process instead of failing with `SQLITE_BUSY` (SQLite allows one
//! writer at a time anyway, and WAL lets reads continue meanwhile).

mod accounts;
mod activities;
mod audit;
mod calendar_feeds;
mod changelog;
mod checkpointer;
mod codec;
mod comments;
mod digests;
mod documents;
mod group_commit;
mod idle;
mod menu;
mod nominations;
mod notifications;
mod offerings;
mod overdue;
mod partnerships;
mod releasability;
mod scope;
mod transfer;
mod webhooks;
mod writer;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use eprime_domain::{
    Activity, ActivityChanges, ActivityId, ActivityStatus, Approval, Area, AuditScope, Comment, CommentId, Document,
    DocumentId, Element, ElementId, NewActivity, NewDocument, NotificationId, Organisation, PartnerCode, Partnership,
    Principal, ReadScope, SubjectKind, TokenId, UserId,
};
use eprime_store::{
    ActivityFilter, ActivityTally, AuditFilter, ChangeEntry, ChangesRead, DigestSubscription, DocumentDetail,
    DocumentFilter, EntityType, NewComment, NewPartnership, NewUser, Notification, Page, PageRequest, Result,
    SecurityEvent, SessionRecord, Store, StoreError, StoredUser, TokenInfo, UserFilter, Watch, WatchedRecord,
};
use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use crate::codec::{backend, db_error};

/// The embedded migrations; the schema version is the number of the last one applied.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A handle on one SQLite database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    reader: SqlitePool,
    /// The one connection that writes; every commit on it wakes the change log's followers.
    writer: writer::Writer,
    /// Writes that share transactions (`group_commit`), through `writer`.
    writes: group_commit::GroupCommit,
    /// The connection that copies the log into the database after commits (`checkpointer`); none
    /// for an in-memory database.
    checkpoints: Option<SqlitePool>,
    /// `Store::accounts_generation`: bumped after every write that may end sessions.
    accounts: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://eprime.db`,
    /// `sqlite:///abs/path.db`, or `sqlite::memory:`) and brings its schema up to date.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::open(url, true).await
    }

    /// Opens an existing database at `url` as it is: neither created nor migrated (for
    /// inspecting it, or copying from it).
    pub async fn open_existing(url: &str) -> Result<Self> {
        Self::open(url, false).await
    }

    async fn open(url: &str, create_and_migrate: bool) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Backend(format!("`{url}` is not a SQLite database URL: {e}")))?
            .create_if_missing(create_and_migrate)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        // An in-memory database exists once per connection: share one connection for everything.
        let readers = if in_memory { 1 } else { 4 };
        // The writer runs each write of a group in a savepoint, and SQLite keeps the pages a savepoint
        // could roll back in a sub-journal: in memory up to 64 KiB, then in a temporary file, written
        // a page per system call for the rest of the transaction. With temporary storage in memory it
        // is a copy, never a file; it holds the pages of one write at a time (each write's savepoint
        // is released before the next). The readers keep the default: a large sort may spill to disk.
        //
        // The writer keeps 8 MiB of pages instead of SQLite's 2 MiB: its cache lasts (no other
        // connection writes), so the indexes every update walks stay in memory at scale M. (Not
        // `mmap_size`: every mapped page read counts as resident memory, which put an idle server
        // at M over its memory budget.)
        //
        // The writer checkpoints only every `checkpointer::WRITER_MARK` pages of log: a connection of
        // its own copies the log after every commit (`checkpointer`), so the writer's checkpoint finds
        // little left to copy and serves to start the log over.
        let writer_options = options
            .clone()
            .pragma("temp_store", "memory")
            .pragma("cache_size", "-8192")
            .pragma("wal_autocheckpoint", checkpointer::WRITER_MARK.to_string());
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(writer_options)
            .await
            .map_err(|e| StoreError::Backend(format!("cannot open {url}: {e}")))?;
        if create_and_migrate {
            MIGRATOR.run(&writer).await.map_err(|e| StoreError::Backend(format!("migrating {url}: {e}")))?;
        }
        let reader = if in_memory {
            writer.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(readers)
                .acquire_timeout(Duration::from_secs(30))
                // A reader keeps SQLite's default cache (2 MiB). Every commit empties it: the next
                // read transaction sees the log has moved. Emptying it visits every slot of its hash
                // table, which grows with the cache and never shrinks; at 8 MiB that was 57,000
                // instructions per update, 7 % of one (`eprime-bench --instructions`). Pages read
                // again come from the operating system's cache, and reads that repeat between
                // commits are kept answers (`fresh` in the server).
                .connect_with(options.clone().read_only(true))
                .await
                .map_err(|e| StoreError::Backend(format!("cannot open {url}: {e}")))?
        };
        let writer = writer::Writer::new(writer);
        let pools = if in_memory { vec![writer.pool().clone()] } else { vec![writer.pool().clone(), reader.clone()] };
        idle::start(writer.subscribe(), pools);
        // An in-memory database has no log to copy.
        let checkpoints = if in_memory {
            None
        } else {
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options)
                .await
                .map_err(|e| StoreError::Backend(format!("cannot open {url}: {e}")))?;
            checkpointer::start(writer.subscribe(), pool.clone());
            Some(pool)
        };
        let writes = group_commit::GroupCommit::start(writer.clone());
        Ok(Self { reader, writer, writes, checkpoints, accounts: std::sync::Arc::default() })
    }

    /// The number of the newest migration applied (0 for a database never migrated).
    pub async fn schema_version(&self) -> Result<i64> {
        let exists =
            sqlx::query("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'")
                .fetch_one(&self.reader)
                .await
                .map_err(db_error)?;
        if exists.try_get::<i64, _>(0).map_err(backend)? == 0 {
            return Ok(0);
        }
        let row = sqlx::query("SELECT coalesce(max(version), 0) FROM _sqlx_migrations WHERE success = 1")
            .fetch_one(&self.reader)
            .await
            .map_err(db_error)?;
        row.try_get(0).map_err(backend)
    }

    /// After a write that may have ended sessions (`Store::accounts_generation`).
    fn sessions_may_have_ended(&self) {
        self.accounts.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// Waits for in-flight work and closes the database cleanly (checkpointing the WAL).
    pub async fn close(&self) {
        if let Some(checkpoints) = &self.checkpoints {
            checkpoints.close().await;
        }
        self.reader.close().await;
        self.writer.close().await;
    }
}

/// The plan SQLite chose, from the rows of an `EXPLAIN QUERY PLAN`, its steps joined by "; " (for the
/// tests that check a statement walks the index meant for it).
#[cfg(test)]
pub(crate) fn query_plan(rows: &[sqlx::sqlite::SqliteRow]) -> String {
    rows.iter().map(|row| row.get::<String, _>("detail")).collect::<Vec<_>>().join("; ")
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await.map_err(db_error)?;
        Ok(())
    }

    async fn is_empty(&self) -> Result<bool> {
        let row = sqlx::query(
            "SELECT (SELECT count(*) FROM partnerships) + (SELECT count(*) FROM organisations)
                  + (SELECT count(*) FROM users)",
        )
        .fetch_one(&self.reader)
        .await
        .map_err(db_error)?;
        Ok(row.try_get::<i64, _>(0).map_err(backend)? == 0)
    }

    async fn upsert_organisation(&self, actor: &Principal, organisation: &Organisation) -> Result<()> {
        partnerships::upsert_organisation(self, actor, organisation).await
    }

    async fn list_organisations(&self) -> Result<Vec<Organisation>> {
        partnerships::list_organisations(self).await
    }

    async fn upsert_area(&self, actor: &Principal, area: &Area) -> Result<()> {
        partnerships::upsert_area(self, actor, area).await
    }

    async fn list_areas(&self) -> Result<Vec<Area>> {
        partnerships::list_areas(self).await
    }

    async fn create_partnership(&self, actor: &Principal, new: NewPartnership) -> Result<Partnership> {
        partnerships::create(self, actor, new).await
    }

    async fn list_partnerships(&self, scope: &ReadScope) -> Result<Vec<Partnership>> {
        partnerships::list(self, scope).await
    }

    async fn partnership(&self, scope: &ReadScope, partner: &PartnerCode) -> Result<Option<Partnership>> {
        partnerships::get(self, scope, partner).await
    }

    async fn create_document(&self, actor: &Principal, new: NewDocument) -> Result<DocumentDetail> {
        documents::create(self, actor, new).await
    }

    async fn list_documents(&self, scope: &ReadScope, filter: &DocumentFilter) -> Result<Vec<Document>> {
        documents::list(self, scope, filter).await
    }

    async fn document(&self, scope: &ReadScope, id: DocumentId) -> Result<Option<DocumentDetail>> {
        documents::detail(self, scope, id).await
    }

    async fn approve_document(
        &self,
        actor: &Principal,
        id: DocumentId,
        expected_version: Option<i64>,
        approval: Approval,
    ) -> Result<Document> {
        documents::approve(self, actor, id, expected_version, approval).await
    }

    async fn document_by_hash(&self, scope: &ReadScope, partner: &PartnerCode, hash: &str) -> Result<Option<Document>> {
        documents::by_hash(self, scope, partner, hash).await
    }

    async fn element(&self, scope: &ReadScope, id: ElementId) -> Result<Option<Element>> {
        documents::element(self, scope, id).await
    }

    async fn create_activity(&self, actor: &Principal, new: NewActivity) -> Result<Activity> {
        activities::create(self, actor, new).await
    }

    async fn list_activities(
        &self,
        scope: &ReadScope,
        filter: &ActivityFilter,
        page: &PageRequest,
    ) -> Result<Page<Activity>> {
        activities::list(self, scope, filter, page).await
    }

    async fn list_activity_versions(
        &self,
        scope: &ReadScope,
        filter: &ActivityFilter,
        page: &PageRequest,
    ) -> Result<Page<(ActivityId, i64)>> {
        activities::list_versions(self, scope, filter, page).await
    }

    async fn activities_by_ids(&self, scope: &ReadScope, ids: &[ActivityId]) -> Result<Vec<Activity>> {
        activities::by_ids(self, scope, ids).await
    }

    async fn activity_version(&self, scope: &ReadScope, id: ActivityId) -> Result<Option<i64>> {
        activities::version(&self.reader, scope, id).await
    }

    async fn count_activities(&self, scope: &ReadScope, filter: &ActivityFilter) -> Result<u64> {
        activities::count(self, scope, filter).await
    }
    async fn tally_activities(&self, scope: &ReadScope, filter: &ActivityFilter) -> Result<ActivityTally> {
        activities::tally(self, scope, filter).await
    }

    async fn activity(&self, scope: &ReadScope, id: ActivityId) -> Result<Option<Activity>> {
        activities::fetch(&self.reader, scope, id).await
    }

    async fn update_activity(
        &self,
        actor: &Principal,
        id: ActivityId,
        expected_version: Option<i64>,
        changes: ActivityChanges,
    ) -> Result<Activity> {
        activities::update(self, actor, id, expected_version, changes).await
    }

    async fn transition_activity(
        &self,
        actor: &Principal,
        id: ActivityId,
        expected_version: Option<i64>,
        to: ActivityStatus,
        reason: Option<String>,
    ) -> Result<Activity> {
        activities::transition(self, actor, id, expected_version, to, reason).await
    }

    async fn history(&self, scope: &ReadScope, entity: EntityType, id: &str) -> Result<Option<Vec<ChangeEntry>>> {
        changelog::history(&self.reader, scope, entity, id).await
    }

    async fn create_user(&self, actor: Option<&Principal>, new: NewUser) -> Result<StoredUser> {
        accounts::create(self, actor, new).await
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<StoredUser>> {
        accounts::by_username(self, username).await
    }

    async fn list_users(&self, filter: &UserFilter) -> Result<Vec<StoredUser>> {
        accounts::list(self, filter).await
    }

    async fn set_user_disabled(&self, actor: Option<&Principal>, username: &str, disabled: bool) -> Result<StoredUser> {
        let result = accounts::set_disabled(self, actor, username, disabled).await;
        self.sessions_may_have_ended();
        result
    }

    async fn set_user_password(
        &self,
        actor: Option<&Principal>,
        username: &str,
        password_hash: String,
    ) -> Result<StoredUser> {
        let result = accounts::set_password(self, actor, username, password_hash).await;
        self.sessions_may_have_ended();
        result
    }

    async fn create_session(&self, session: SessionRecord) -> Result<()> {
        accounts::create_session(self, session).await
    }

    async fn session_principal(&self, token_hash: &str) -> Result<Option<Principal>> {
        accounts::session_principal(self, token_hash).await
    }

    fn accounts_generation(&self) -> u64 {
        self.accounts.load(std::sync::atomic::Ordering::Acquire)
    }

    async fn revoke_session(&self, token_hash: &str) -> Result<bool> {
        let result = accounts::revoke_session(self, token_hash).await;
        self.sessions_may_have_ended();
        result
    }

    async fn list_tokens(&self, user_id: UserId) -> Result<Vec<TokenInfo>> {
        accounts::list_tokens(self, user_id).await
    }

    async fn revoke_token(&self, user_id: UserId, id: TokenId) -> Result<bool> {
        let result = accounts::revoke_token(self, user_id, id).await;
        self.sessions_may_have_ended();
        result
    }

    async fn record_security_event(&self, event: SecurityEvent) -> Result<()> {
        accounts::record_security_event(self, event).await
    }

    async fn audit(&self, scope: &AuditScope, filter: &AuditFilter, page: &PageRequest) -> Result<Page<ChangeEntry>> {
        audit::audit(self, scope, filter, page).await
    }

    async fn changes_after(&self, after: i64, limit: u32) -> Result<Vec<ChangeEntry>> {
        changelog::changes_after(&self.reader, after, limit).await
    }

    async fn changes_of(&self, kinds: &[EntityType], after: i64, limit: u32) -> Result<ChangesRead> {
        changelog::changes_of(&self.reader, kinds, after, limit).await
    }

    async fn partnership_changes(&self, partner: &PartnerCode, after: i64, limit: u32) -> Result<Vec<ChangeEntry>> {
        changelog::partnership_changes(&self.reader, partner.as_str(), after, limit).await
    }

    async fn partnership_stamp(&self, partner: &PartnerCode) -> Result<i64> {
        changelog::partnership_stamp(&self.reader, partner.as_str()).await
    }

    async fn partnership_tally(&self, scope: &ReadScope, partner: &PartnerCode) -> Result<(i64, ActivityTally)> {
        activities::partnership_tally(self, scope, partner).await
    }

    async fn last_change_seq(&self) -> Result<i64> {
        let row = sqlx::query("SELECT coalesce(max(seq), 0) FROM change_log")
            .fetch_one(&self.reader)
            .await
            .map_err(db_error)?;
        row.try_get(0).map_err(backend)
    }

    async fn wait_for_changes(&self, after: i64, timeout: std::time::Duration) {
        eprime_store::follow::wait_past(after, timeout, self.writer.subscribe(), || self.last_change_seq()).await;
    }

    async fn create_comment(&self, actor: &Principal, new: NewComment) -> Result<Comment> {
        comments::create(self, actor, new).await
    }

    async fn list_comments(
        &self,
        scope: &ReadScope,
        subject: SubjectKind,
        subject_id: &str,
    ) -> Result<Option<Vec<Comment>>> {
        comments::list(self, scope, subject, subject_id).await
    }

    async fn comment(&self, scope: &ReadScope, id: CommentId) -> Result<Option<Comment>> {
        comments::fetch(&self.reader, scope, id).await
    }

    async fn edit_comment(
        &self,
        actor: &Principal,
        id: CommentId,
        expected_version: Option<i64>,
        body: String,
    ) -> Result<Comment> {
        comments::edit(self, actor, id, expected_version, body).await
    }

    async fn delete_comment(&self, actor: &Principal, id: CommentId) -> Result<Comment> {
        comments::delete(self, actor, id).await
    }

    async fn watch(&self, actor: &Principal, entity: EntityType, id: &str) -> Result<()> {
        notifications::watch(self, actor, entity, id).await
    }

    async fn unwatch(&self, actor: &Principal, entity: EntityType, id: &str) -> Result<bool> {
        notifications::unwatch(self, actor, entity, id).await
    }

    async fn list_watches(&self, user_id: UserId) -> Result<Vec<Watch>> {
        notifications::list_watches(self, user_id).await
    }

    async fn is_watching(&self, user_id: UserId, entity: EntityType, id: &str) -> Result<bool> {
        notifications::is_watching(self, user_id, entity, id).await
    }

    async fn watched_records(&self, watcher: &Principal) -> Result<Vec<WatchedRecord>> {
        notifications::watched_records(self, watcher).await
    }

    async fn generate_notifications(&self, limit: u32) -> Result<usize> {
        notifications::generate(self, limit).await
    }

    async fn list_notifications(
        &self,
        reader: &Principal,
        unread_only: bool,
        page: &PageRequest,
    ) -> Result<Page<Notification>> {
        notifications::list(self, reader, unread_only, page).await
    }

    async fn unread_notifications(&self, reader: &Principal) -> Result<u64> {
        notifications::unread(self, reader).await
    }

    async fn mark_notifications_read(&self, user_id: UserId, ids: Option<&[NotificationId]>) -> Result<u64> {
        notifications::mark_read(self, user_id, ids).await
    }

    async fn set_digest(&self, user_id: UserId, email: Option<String>) -> Result<()> {
        digests::set(self, user_id, email).await
    }

    async fn digest(&self, user_id: UserId) -> Result<Option<DigestSubscription>> {
        digests::get(self, user_id).await
    }

    async fn due_digests(&self, before: time::OffsetDateTime) -> Result<Vec<DigestSubscription>> {
        digests::due(self, before).await
    }

    async fn mark_digest_sent(&self, user_id: UserId, at: time::OffsetDateTime) -> Result<()> {
        digests::mark_sent(self, user_id, at).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a test's tracing subscriber wrote.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl tracing_subscriber::fmt::MakeWriter<'_> for Captured {
        type Writer = Self;

        fn make_writer(&self) -> Self {
            self.clone()
        }
    }

    impl Captured {
        fn count(&self, text: &str) -> usize {
            String::from_utf8_lossy(&self.0.lock().unwrap()).matches(text).count()
        }
    }

    /// A store on a file starts the watcher of `idle.rs`: its connections give their page caches back
    /// once a second has passed without a commit, and not before anything was written. (The watcher's
    /// timing and the release itself have their own tests there; this one fails if the store does not
    /// start it.)
    #[tokio::test]
    async fn a_store_gives_its_page_caches_back_a_second_after_its_last_write() {
        let log = Captured::default();
        let subscriber =
            tracing_subscriber::fmt().with_max_level(tracing::Level::DEBUG).with_writer(log.clone()).finish();
        let _default = tracing::subscriber::set_default(subscriber);
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::connect(&format!("sqlite://{}", dir.path().join("idle.db").display())).await.unwrap();
        const GIVEN_BACK: &str = "page caches given back";

        store.writer.execute(sqlx::query("CREATE TABLE written (n INTEGER)")).await.unwrap();
        tokio::time::sleep(idle::PAUSE / 2).await;
        assert_eq!(log.count(GIVEN_BACK), 0, "not while the last write is recent");
        tokio::time::sleep(idle::PAUSE * 2).await;
        assert_eq!(log.count(GIVEN_BACK), 1, "given back once, a second after the write");
    }

    /// The opcodes of `sql`'s program as SQLite runs it with `bound` bound to `?1`.
    async fn program(pool: &SqlitePool, sql: &str, bound: i64) -> Vec<(String, i64)> {
        let explain = format!("EXPLAIN {sql}");
        let rows = sqlx::query(sqlx::AssertSqlSafe(explain)).bind(bound).fetch_all(pool).await.unwrap();
        rows.iter().map(|row| (row.get::<String, _>("opcode"), row.get::<i64, _>("p1"))).collect()
    }

    /// SQLite re-prepares a statement whose plan depends on a value bound to it every time a value is
    /// bound again, which for a prepared statement is every run: a `LIMIT ?` (since 3.4x), a `LIKE ?`.
    /// With the query planner stability guarantee (QPSG, compiled in: `.cargo/config.toml`) the
    /// plan never looks at bound values, so each statement is prepared once per connection. Without
    /// it the limit is compiled into the program as the constant it was bound to.
    #[tokio::test]
    async fn statements_are_planned_without_their_bound_values_so_each_is_prepared_once() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("plan.db").display());
        let store = SqliteStore::connect(&url).await.unwrap();
        for (pool, name) in [(store.writer.pool(), "writer's"), (&store.reader, "readers'")] {
            let program = program(pool, "SELECT seq FROM change_log ORDER BY seq LIMIT ?1", 7).await;
            assert!(
                !program.contains(&("Integer".to_owned(), 7)),
                "the {name} program holds the bound limit as a constant, so it is re-prepared at every run: {program:?}"
            );
            assert!(program.iter().any(|(opcode, _)| opcode == "Variable"), "{name}: {program:?}");
        }
    }

    /// SQLite is compiled without its memory statistics (`.cargo/config.toml` says why): kept, they
    /// make every allocation of every connection take one process-wide mutex.
    #[tokio::test]
    async fn sqlite_is_built_without_memory_statistics() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        let used: i64 = sqlx::query_scalar("SELECT sqlite_compileoption_used('DEFAULT_MEMSTATUS=0')")
            .fetch_one(&store.reader)
            .await
            .unwrap();
        assert_eq!(used, 1, "SQLite was built with SQLITE_DEFAULT_MEMSTATUS on: is LIBSQLITE3_FLAGS overridden?");
    }

    /// The settings `open` chooses for the writer and for the readers (why: see `open`).
    #[tokio::test]
    async fn the_writer_checkpoints_at_its_mark_and_keeps_a_large_cache_and_the_readers_a_small_one() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            SqliteStore::connect(&format!("sqlite://{}", dir.path().join("settings.db").display())).await.unwrap();
        let pragma = async |pool: &SqlitePool, name: &str| -> i64 {
            let sql = format!("PRAGMA {name}");
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(pool).await.unwrap()
        };
        assert_eq!(pragma(store.writer.pool(), "wal_autocheckpoint").await, i64::from(checkpointer::WRITER_MARK));
        assert_eq!(pragma(store.writer.pool(), "cache_size").await, -8192);
        assert_eq!(pragma(&store.reader, "cache_size").await, -2000, "SQLite's default");
    }

    /// A store on a file copies each commit into the database file after it (`checkpointer`), not
    /// only when the writer's log reaches its mark; a store in memory has no log and no checkpointer.
    #[tokio::test]
    async fn a_write_reaches_the_database_file_soon_after_its_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("copied.db");
        let store = SqliteStore::connect(&format!("sqlite://{}", path.display())).await.unwrap();
        let organisation = eprime_domain::Organisation {
            code: eprime_domain::OrgCode::parse("XCP").unwrap(),
            name: eprime_domain::Title::parse("Checkpointed").unwrap(),
            kind: eprime_domain::OrgKind::Ally,
            country: None,
        };
        let staff = Principal {
            user_id: UserId::new(),
            username: "staff".to_owned(),
            binding: eprime_domain::RoleBinding::new(eprime_domain::Role::NatoStaff, None, None).unwrap(),
        };
        store.upsert_organisation(&staff, &organisation).await.unwrap();
        // `immutable`: the file as it is, without the log. Before the first copy even the table is
        // only in the log, and a read while a pass copies may fail: none found yet, either way.
        let in_the_file = async || -> i64 {
            let options = SqliteConnectOptions::new().filename(&path).immutable(true);
            let Ok(mut connection) = sqlx::ConnectOptions::connect(&options).await else { return 0 };
            sqlx::query_scalar("SELECT count(*) FROM organisations WHERE code = 'XCP'")
                .fetch_one(&mut connection)
                .await
                .unwrap_or(0)
        };
        let mut found = in_the_file().await;
        for _ in 0..100 {
            if found == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            found = in_the_file().await;
        }
        assert_eq!(found, 1, "the organisation is in the database file, not only in the log");
        store.close().await;
        assert!(SqliteStore::connect("sqlite::memory:").await.unwrap().checkpoints.is_none());
    }
}
