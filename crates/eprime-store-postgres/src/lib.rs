//! e-PRIME's server store: [`eprime_store::Store`] on PostgreSQL.
//!
//! A pool of connections to one database, migrations embedded in the binary and run at connect
//! (under sqlx's advisory lock, so several instances may start at once). The schema and every
//! statement mirror the SQLite store, in PostgreSQL's native types (`uuid`, `date`,
//! `timestamptz`, `jsonb`); cursors and change-log entries are the same on both.
//!
//! Unlike SQLite, PostgreSQL runs many writers at once. Every write therefore locks the record it
//! changes (`SELECT … FOR NO KEY UPDATE`) before reading it and checking its version, and appends
//! to the change log under a table lock, so log order is commit order. Menu writes lock the
//! offering first, nomination writes included (`nominations.rs`): seats and quotas are counted
//! under that lock, so nominations through any number of instances cannot overbook.

mod accounts;
mod activities;
mod audit;
mod calendar_feeds;
mod changelog;
mod codec;
mod comments;
mod digests;
mod documents;
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
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::codec::{backend, db_error};

/// The embedded migrations; the schema version is the number of the last one applied.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Most connections one process holds for writes, and as many again for reads: enough for a busy
/// server, far below PostgreSQL's default `max_connections` (100), so several instances fit.
///
/// Why two pools: every write queues for the change log's append lock until it commits (see
/// `changelog::append`), holding its connection meanwhile. With one pool, a burst of writes took every
/// connection and the reads alongside waited behind the lock (a 263 ms p99 for reads at 1,000/s while
/// updates ran at their limit). The reading pool's sessions are read-only, so a write sent to it by
/// mistake fails at once rather than taking the readers' share.
const MAX_CONNECTIONS: u32 = 8;
/// How long a request waits for a free connection before it fails (rather than hanging).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// Idle connections are closed after this, so a quiet server holds few.
const IDLE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// Connections are renewed after this, so server-side memory and settings do not drift.
const MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);
/// No statement (including one waiting for a row lock) runs longer than this.
const STATEMENT_TIMEOUT: &str = "30s";
/// A transaction left open by a stuck client is ended by the server after this.
const IDLE_IN_TRANSACTION_TIMEOUT: &str = "60s";

/// A handle on one PostgreSQL database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct PostgresStore {
    /// For writes (and reads that must see them in the same transaction).
    writes: PgPool,
    /// For reads: read-only sessions, never waiting behind the writes.
    reads: PgPool,
    /// Woken whenever any instance commits a change: every write sends `pg_notify` on
    /// [`changelog::CHANNEL`] in its transaction, delivered on commit to every listener.
    commits: std::sync::Arc<tokio::sync::watch::Sender<u64>>,
    /// `Store::accounts_generation`: bumped after every write that may end sessions.
    accounts: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user[:password]@host[:port]/database`) and
    /// brings its schema up to date. The database must exist; error messages never repeat the
    /// URL, which may hold a password.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::open(url, true).await
    }

    /// Connects to the database at `url` as it is, without migrating it (for inspecting it, or
    /// copying from it).
    pub async fn open_existing(url: &str) -> Result<Self> {
        Self::open(url, false).await
    }

    async fn open(url: &str, migrate: bool) -> Result<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Backend(format!("not a PostgreSQL database URL: {e}")))?
            .application_name("eprime")
            .options([
                ("statement_timeout", STATEMENT_TIMEOUT),
                ("idle_in_transaction_session_timeout", IDLE_IN_TRANSACTION_TIMEOUT),
                // Every statement here is short and by index; JIT only pays for long analytical ones. A
                // generic plan's estimate counts the scans its subplans could fall back to, which
                // crossed `jit_above_cost`: the inbox's unread count spent 50 ms compiling to count
                // nothing (15 functions per visibility check), at every page view.
                ("jit", "off"),
            ]);
        let pool = |options: PgConnectOptions| {
            PgPoolOptions::new()
                .max_connections(MAX_CONNECTIONS)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .idle_timeout(IDLE_TIMEOUT)
                .max_lifetime(MAX_LIFETIME)
                .connect_with(options)
        };
        let cannot_connect = |e: sqlx::Error| StoreError::Backend(format!("cannot connect to PostgreSQL: {e}"));
        let writes = pool(options.clone()).await.map_err(cannot_connect)?;
        let reads = pool(options.options([("default_transaction_read_only", "on")])).await.map_err(cannot_connect)?;
        if migrate {
            MIGRATOR
                .run(&writes)
                .await
                .map_err(|e| StoreError::Backend(format!("migrating the PostgreSQL database: {e}")))?;
        }
        let commits = std::sync::Arc::new(tokio::sync::watch::Sender::new(0));
        changelog::listen(url.to_owned(), std::sync::Arc::downgrade(&commits));
        Ok(Self { writes, reads, commits, accounts: std::sync::Arc::default() })
    }

    /// The number of the newest migration applied (0 for a database never migrated).
    pub async fn schema_version(&self) -> Result<i64> {
        let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
            .fetch_one(&self.reads)
            .await
            .map_err(db_error)?;
        if !exists {
            return Ok(0);
        }
        let row = sqlx::query("SELECT coalesce(max(version), 0)::bigint FROM _sqlx_migrations WHERE success")
            .fetch_one(&self.reads)
            .await
            .map_err(db_error)?;
        row.try_get(0).map_err(backend)
    }

    /// Waits for in-flight work and closes every connection.
    pub async fn close(&self) {
        self.reads.close().await;
        self.writes.close().await;
    }

    /// After a write that may have ended sessions (`Store::accounts_generation`).
    fn sessions_may_have_ended(&self) {
        self.accounts.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.reads).await.map_err(db_error)?;
        Ok(())
    }

    async fn is_empty(&self) -> Result<bool> {
        let row = sqlx::query(
            "SELECT NOT (EXISTS (SELECT 1 FROM partnerships) OR EXISTS (SELECT 1 FROM organisations)
                      OR EXISTS (SELECT 1 FROM users))",
        )
        .fetch_one(&self.reads)
        .await
        .map_err(db_error)?;
        row.try_get::<bool, _>(0).map_err(backend)
    }

    async fn upsert_organisation(&self, actor: &Principal, organisation: &Organisation) -> Result<()> {
        partnerships::upsert_organisation(&self.writes, actor, organisation).await
    }

    async fn list_organisations(&self) -> Result<Vec<Organisation>> {
        partnerships::list_organisations(&self.reads).await
    }

    async fn upsert_area(&self, actor: &Principal, area: &Area) -> Result<()> {
        partnerships::upsert_area(&self.writes, actor, area).await
    }

    async fn list_areas(&self) -> Result<Vec<Area>> {
        partnerships::list_areas(&self.reads).await
    }

    async fn create_partnership(&self, actor: &Principal, new: NewPartnership) -> Result<Partnership> {
        partnerships::create(&self.writes, actor, new).await
    }

    async fn list_partnerships(&self, scope: &ReadScope) -> Result<Vec<Partnership>> {
        partnerships::list(&self.reads, scope).await
    }

    async fn partnership(&self, scope: &ReadScope, partner: &PartnerCode) -> Result<Option<Partnership>> {
        partnerships::get(&self.reads, scope, partner).await
    }

    async fn create_document(&self, actor: &Principal, new: NewDocument) -> Result<DocumentDetail> {
        documents::create(&self.writes, actor, new).await
    }

    async fn list_documents(&self, scope: &ReadScope, filter: &DocumentFilter) -> Result<Vec<Document>> {
        documents::list(&self.reads, scope, filter).await
    }

    async fn document(&self, scope: &ReadScope, id: DocumentId) -> Result<Option<DocumentDetail>> {
        documents::detail(&self.reads, scope, id).await
    }

    async fn approve_document(
        &self,
        actor: &Principal,
        id: DocumentId,
        expected_version: Option<i64>,
        approval: Approval,
    ) -> Result<Document> {
        documents::approve(&self.writes, actor, id, expected_version, approval).await
    }

    async fn document_by_hash(&self, scope: &ReadScope, partner: &PartnerCode, hash: &str) -> Result<Option<Document>> {
        documents::by_hash(&self.reads, scope, partner, hash).await
    }

    async fn element(&self, scope: &ReadScope, id: ElementId) -> Result<Option<Element>> {
        documents::element(&self.reads, scope, id).await
    }

    async fn create_activity(&self, actor: &Principal, new: NewActivity) -> Result<Activity> {
        activities::create(&self.writes, actor, new).await
    }

    async fn list_activities(
        &self,
        scope: &ReadScope,
        filter: &ActivityFilter,
        page: &PageRequest,
    ) -> Result<Page<Activity>> {
        activities::list(&self.reads, scope, filter, page).await
    }

    async fn list_activity_versions(
        &self,
        scope: &ReadScope,
        filter: &ActivityFilter,
        page: &PageRequest,
    ) -> Result<Page<(ActivityId, i64)>> {
        activities::list_versions(&self.reads, scope, filter, page).await
    }

    async fn activities_by_ids(&self, scope: &ReadScope, ids: &[ActivityId]) -> Result<Vec<Activity>> {
        activities::by_ids(&self.reads, scope, ids).await
    }

    async fn activity_version(&self, scope: &ReadScope, id: ActivityId) -> Result<Option<i64>> {
        activities::version(&self.reads, scope, id).await
    }

    async fn count_activities(&self, scope: &ReadScope, filter: &ActivityFilter) -> Result<u64> {
        activities::count(&self.reads, scope, filter).await
    }
    async fn tally_activities(&self, scope: &ReadScope, filter: &ActivityFilter) -> Result<ActivityTally> {
        activities::tally(&self.reads, scope, filter).await
    }

    async fn activity(&self, scope: &ReadScope, id: ActivityId) -> Result<Option<Activity>> {
        activities::fetch(&self.reads, scope, id).await
    }

    async fn update_activity(
        &self,
        actor: &Principal,
        id: ActivityId,
        expected_version: Option<i64>,
        changes: ActivityChanges,
    ) -> Result<Activity> {
        activities::update(&self.writes, actor, id, expected_version, changes).await
    }

    async fn transition_activity(
        &self,
        actor: &Principal,
        id: ActivityId,
        expected_version: Option<i64>,
        to: ActivityStatus,
        reason: Option<String>,
    ) -> Result<Activity> {
        activities::transition(&self.writes, actor, id, expected_version, to, reason).await
    }

    async fn history(&self, scope: &ReadScope, entity: EntityType, id: &str) -> Result<Option<Vec<ChangeEntry>>> {
        changelog::history(&self.reads, scope, entity, id).await
    }

    async fn create_user(&self, actor: Option<&Principal>, new: NewUser) -> Result<StoredUser> {
        accounts::create(&self.writes, actor, new).await
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<StoredUser>> {
        accounts::by_username(&self.reads, username).await
    }

    async fn list_users(&self, filter: &UserFilter) -> Result<Vec<StoredUser>> {
        accounts::list(&self.reads, filter).await
    }

    async fn set_user_disabled(&self, actor: Option<&Principal>, username: &str, disabled: bool) -> Result<StoredUser> {
        let result = accounts::set_disabled(&self.writes, actor, username, disabled).await;
        self.sessions_may_have_ended();
        result
    }

    async fn set_user_password(
        &self,
        actor: Option<&Principal>,
        username: &str,
        password_hash: String,
    ) -> Result<StoredUser> {
        let result = accounts::set_password(&self.writes, actor, username, password_hash).await;
        self.sessions_may_have_ended();
        result
    }

    async fn create_session(&self, session: SessionRecord) -> Result<()> {
        accounts::create_session(&self.writes, session).await
    }

    async fn session_principal(&self, token_hash: &str) -> Result<Option<Principal>> {
        accounts::session_principal(&self.reads, token_hash).await
    }

    fn accounts_generation(&self) -> u64 {
        self.accounts.load(std::sync::atomic::Ordering::Acquire)
    }

    async fn revoke_session(&self, token_hash: &str) -> Result<bool> {
        let result = accounts::revoke_session(&self.writes, token_hash).await;
        self.sessions_may_have_ended();
        result
    }

    async fn list_tokens(&self, user_id: UserId) -> Result<Vec<TokenInfo>> {
        accounts::list_tokens(&self.reads, user_id).await
    }

    async fn revoke_token(&self, user_id: UserId, id: TokenId) -> Result<bool> {
        let result = accounts::revoke_token(&self.writes, user_id, id).await;
        self.sessions_may_have_ended();
        result
    }

    async fn record_security_event(&self, event: SecurityEvent) -> Result<()> {
        accounts::record_security_event(&self.writes, event).await
    }

    async fn audit(&self, scope: &AuditScope, filter: &AuditFilter, page: &PageRequest) -> Result<Page<ChangeEntry>> {
        audit::audit(&self.reads, scope, filter, page).await
    }

    async fn changes_after(&self, after: i64, limit: u32) -> Result<Vec<ChangeEntry>> {
        changelog::changes_after(&self.reads, after, limit).await
    }

    async fn changes_of(&self, kinds: &[EntityType], after: i64, limit: u32) -> Result<ChangesRead> {
        changelog::changes_of(&self.reads, kinds, after, limit).await
    }

    async fn partnership_changes(&self, partner: &PartnerCode, after: i64, limit: u32) -> Result<Vec<ChangeEntry>> {
        changelog::partnership_changes(&self.reads, partner.as_str(), after, limit).await
    }

    async fn partnership_stamp(&self, partner: &PartnerCode) -> Result<i64> {
        changelog::partnership_stamp(&self.reads, partner.as_str()).await
    }

    async fn partnership_tally(&self, scope: &ReadScope, partner: &PartnerCode) -> Result<(i64, ActivityTally)> {
        activities::partnership_tally(&self.reads, scope, partner).await
    }

    async fn last_change_seq(&self) -> Result<i64> {
        let row = sqlx::query("SELECT coalesce(max(seq), 0)::bigint FROM change_log")
            .fetch_one(&self.reads)
            .await
            .map_err(db_error)?;
        row.try_get(0).map_err(backend)
    }

    async fn wait_for_changes(&self, after: i64, timeout: std::time::Duration) {
        eprime_store::follow::wait_past(after, timeout, self.commits.subscribe(), || self.last_change_seq()).await;
    }

    async fn create_comment(&self, actor: &Principal, new: NewComment) -> Result<Comment> {
        comments::create(&self.writes, actor, new).await
    }

    async fn list_comments(
        &self,
        scope: &ReadScope,
        subject: SubjectKind,
        subject_id: &str,
    ) -> Result<Option<Vec<Comment>>> {
        comments::list(&self.reads, scope, subject, subject_id).await
    }

    async fn comment(&self, scope: &ReadScope, id: CommentId) -> Result<Option<Comment>> {
        comments::fetch(&self.reads, scope, id).await
    }

    async fn edit_comment(
        &self,
        actor: &Principal,
        id: CommentId,
        expected_version: Option<i64>,
        body: String,
    ) -> Result<Comment> {
        comments::edit(&self.writes, actor, id, expected_version, body).await
    }

    async fn delete_comment(&self, actor: &Principal, id: CommentId) -> Result<Comment> {
        comments::delete(&self.writes, actor, id).await
    }

    async fn watch(&self, actor: &Principal, entity: EntityType, id: &str) -> Result<()> {
        notifications::watch(&self.writes, actor, entity, id).await
    }

    async fn unwatch(&self, actor: &Principal, entity: EntityType, id: &str) -> Result<bool> {
        notifications::unwatch(&self.writes, actor, entity, id).await
    }

    async fn list_watches(&self, user_id: UserId) -> Result<Vec<Watch>> {
        notifications::list_watches(&self.reads, user_id).await
    }

    async fn is_watching(&self, user_id: UserId, entity: EntityType, id: &str) -> Result<bool> {
        notifications::is_watching(&self.reads, user_id, entity, id).await
    }

    async fn watched_records(&self, watcher: &Principal) -> Result<Vec<WatchedRecord>> {
        notifications::watched_records(&self.reads, watcher).await
    }

    async fn generate_notifications(&self, limit: u32) -> Result<usize> {
        notifications::generate(&self.writes, limit).await
    }

    async fn list_notifications(
        &self,
        reader: &Principal,
        unread_only: bool,
        page: &PageRequest,
    ) -> Result<Page<Notification>> {
        notifications::list(&self.reads, reader, unread_only, page).await
    }

    async fn unread_notifications(&self, reader: &Principal) -> Result<u64> {
        notifications::unread(&self.reads, reader).await
    }

    async fn mark_notifications_read(&self, user_id: UserId, ids: Option<&[NotificationId]>) -> Result<u64> {
        notifications::mark_read(&self.writes, user_id, ids).await
    }

    async fn set_digest(&self, user_id: UserId, email: Option<String>) -> Result<()> {
        digests::set(&self.writes, user_id, email).await
    }

    async fn digest(&self, user_id: UserId) -> Result<Option<DigestSubscription>> {
        digests::get(&self.reads, user_id).await
    }

    async fn due_digests(&self, before: time::OffsetDateTime) -> Result<Vec<DigestSubscription>> {
        digests::due(&self.reads, before).await
    }

    async fn mark_digest_sent(&self, user_id: UserId, at: time::OffsetDateTime) -> Result<()> {
        digests::mark_sent(&self.writes, user_id, at).await
    }
}
