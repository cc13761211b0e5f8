//! The storage interface of e-PRIME.
//!
//! One trait, [`Store`], that every database implementation provides (`eprime-store-sqlite`
//! today, PostgreSQL beside it). Two rules shape it:
//!
//! * **Every read takes the caller's [`ReadScope`].** There is no read method without one, so
//!   no handler can forget it; hidden records come back as `None` or are simply not in a list,
//!   exactly as if they did not exist. [`ReadScope::system`] exists for the system's own work.
//! * **Every write takes the acting [`Principal`], runs in one transaction, checks permission
//!   and version inside it, and appends to the change log in the same transaction.** A failed
//!   write leaves nothing behind.
//!
//! The [`testsuite`] module (feature `testsuite`) holds the behaviour every implementation must
//! show; each implementation's tests run it against a fresh database.

mod audit;
mod change;
mod discussion;
pub mod dump;
mod error;
pub mod follow;
mod logged;
mod menu;
pub mod notify;
pub mod plan;
mod query;
mod records;
pub mod references;
pub mod tally;
pub mod webhooks;

#[cfg(feature = "testsuite")]
pub mod testsuite;

use async_trait::async_trait;
use eprime_domain::{
    Activity, ActivityChanges, ActivityId, ActivityStatus, Approval, Area, AuditScope, Comment, CommentId, Document,
    DocumentId, Element, ElementId, NewActivity, NewDocument, NotificationId, Organisation, PartnerCode, Partnership,
    Principal, ReadScope, SubjectKind, TokenId, UserId,
};

pub use audit::{AuditCondition, AuditValue, audit_where};
pub use change::{ChangeEntry, ChangesRead, EntityType, LoggedRecord, NewChangeEntry, Operation, Visibility};
pub use discussion::{
    CommentLog, DigestSubscription, NewComment, Notification, NotificationReason, Watch, WatchedRecord,
};
pub use error::StoreError;
pub use logged::Logged;
pub use menu::{CalendarFeed, MenuStore, NominationFilter, OfferingFilter, Participation};
pub use query::{
    ActivityFilter, ActivityOrder, ActivityTally, DocumentFilter, Page, PageRequest, StatusCounts, status_index,
};
pub use records::{
    AccountLog, AuditFilter, DocumentDetail, NewPartnership, NewUser, SecurityEvent, SessionRecord, StoredUser,
    TokenInfo, TokenKind, UserFilter,
};
pub use webhooks::{
    Attempt, AttemptOutcome, AttemptRecord, ChangeFilter, ClaimedDelivery, Delivery, DeliveryState, EnqueueOutcome,
    NewWebhook, Webhook, WebhookChanges, WebhookLogView, WebhookStore, deliverable, from_unix_millis, unix_millis,
};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Everything e-PRIME keeps. Implementations are cheap to clone handles on a pool. Webhooks and
/// their deliveries are the supertrait [`WebhookStore`] (in `webhooks.rs`); the menu is
/// [`MenuStore`] (in `menu.rs`).
#[async_trait]
pub trait Store: WebhookStore + MenuStore + Send + Sync + 'static {
    // ----- health -----

    /// Answers when the database can be reached and queried.
    async fn ping(&self) -> Result<()>;

    /// Whether the database holds no partnership, organisation or user yet (the demo fills only
    /// an empty one).
    async fn is_empty(&self) -> Result<bool>;

    // ----- reference data (not confidential: the lists of organisations and areas are public) -----

    async fn upsert_organisation(&self, actor: &Principal, organisation: &Organisation) -> Result<()>;
    async fn list_organisations(&self) -> Result<Vec<Organisation>>;
    async fn upsert_area(&self, actor: &Principal, area: &Area) -> Result<()>;
    async fn list_areas(&self) -> Result<Vec<Area>>;

    // ----- partnerships -----

    async fn create_partnership(&self, actor: &Principal, new: NewPartnership) -> Result<Partnership>;
    async fn list_partnerships(&self, scope: &ReadScope) -> Result<Vec<Partnership>>;
    async fn partnership(&self, scope: &ReadScope, partner: &PartnerCode) -> Result<Option<Partnership>>;

    // ----- documents and their programmes -----

    async fn create_document(&self, actor: &Principal, new: NewDocument) -> Result<DocumentDetail>;
    async fn list_documents(&self, scope: &ReadScope, filter: &DocumentFilter) -> Result<Vec<Document>>;
    async fn document(&self, scope: &ReadScope, id: DocumentId) -> Result<Option<DocumentDetail>>;
    /// Records an approval; a programme whose NAC and partner approvals are both in enters into force.
    async fn approve_document(
        &self,
        actor: &Principal,
        id: DocumentId,
        expected_version: Option<i64>,
        approval: Approval,
    ) -> Result<Document>;
    /// The visible document with this content hash in this partnership, if any (imports are idempotent).
    async fn document_by_hash(&self, scope: &ReadScope, partner: &PartnerCode, hash: &str) -> Result<Option<Document>>;
    async fn element(&self, scope: &ReadScope, id: ElementId) -> Result<Option<Element>>;

    // ----- activities -----

    async fn create_activity(&self, actor: &Principal, new: NewActivity) -> Result<Activity>;
    async fn list_activities(
        &self,
        scope: &ReadScope,
        filter: &ActivityFilter,
        page: &PageRequest,
    ) -> Result<Page<Activity>>;
    /// The page `list_activities` gives, as (id, version) pairs only: for a reader that keeps
    /// activities by version (every write bumps it) and reads the records it lacks with `activities_by_ids`.
    async fn list_activity_versions(
        &self,
        scope: &ReadScope,
        filter: &ActivityFilter,
        page: &PageRequest,
    ) -> Result<Page<(ActivityId, i64)>>;
    /// The visible activities among `ids`, in the order of `ids`.
    async fn activities_by_ids(&self, scope: &ReadScope, ids: &[ActivityId]) -> Result<Vec<Activity>>;
    /// The version of one activity, if `scope` may see it: a single indexed row and the visibility
    /// rule, for a reader that keeps activities by version (as `list_activity_versions` for pages).
    async fn activity_version(&self, scope: &ReadScope, id: ActivityId) -> Result<Option<i64>>;
    async fn count_activities(&self, scope: &ReadScope, filter: &ActivityFilter) -> Result<u64>;
    /// The visible activities matching `filter`, counted per status, element, branch and year.
    async fn tally_activities(&self, scope: &ReadScope, filter: &ActivityFilter) -> Result<ActivityTally>;
    /// Up to `limit` change-log entries after `after` about a partnership itself, its documents or its
    /// activities, oldest first: what may have changed its counts since a stamp. A system read, like
    /// `changes_after`; the caller applies the visibility rule to each entry.
    async fn partnership_changes(&self, partner: &PartnerCode, after: i64, limit: u32) -> Result<Vec<ChangeEntry>>;
    /// The sequence number of the latest change to anything a partnership's counts depend on: the
    /// partnership itself, its documents (and so their elements) and its activities (0 if none).
    /// Equal stamps mean equal counts, so counts can be kept until the stamp moves.
    async fn partnership_stamp(&self, partner: &PartnerCode) -> Result<i64>;
    /// One partnership's visible activities counted (as `tally_activities`), together with its stamp,
    /// both read from one snapshot: the counts are exactly those at that stamp, so following the log on
    /// from it neither misses a change nor applies one twice.
    async fn partnership_tally(&self, scope: &ReadScope, partner: &PartnerCode) -> Result<(i64, ActivityTally)>;
    async fn activity(&self, scope: &ReadScope, id: ActivityId) -> Result<Option<Activity>>;
    /// Applies `changes` when the stored version equals `expected_version` (when given).
    async fn update_activity(
        &self,
        actor: &Principal,
        id: ActivityId,
        expected_version: Option<i64>,
        changes: ActivityChanges,
    ) -> Result<Activity>;
    async fn transition_activity(
        &self,
        actor: &Principal,
        id: ActivityId,
        expected_version: Option<i64>,
        to: ActivityStatus,
        reason: Option<String>,
    ) -> Result<Activity>;

    // ----- change log -----

    /// The change history of one record, oldest first; `None` when the record is not visible.
    async fn history(&self, scope: &ReadScope, entity: EntityType, id: &str) -> Result<Option<Vec<ChangeEntry>>>;

    // ----- accounts and sessions (authentication, not programme data) -----

    async fn create_user(&self, actor: Option<&Principal>, new: NewUser) -> Result<StoredUser>;
    /// Looks an account up by name for sign-in. Authentication only: never for a listing.
    async fn user_by_username(&self, username: &str) -> Result<Option<StoredUser>>;
    async fn list_users(&self, filter: &UserFilter) -> Result<Vec<StoredUser>>;
    async fn set_user_disabled(&self, actor: Option<&Principal>, username: &str, disabled: bool) -> Result<StoredUser>;
    async fn set_user_password(
        &self,
        actor: Option<&Principal>,
        username: &str,
        password_hash: String,
    ) -> Result<StoredUser>;
    async fn create_session(&self, session: SessionRecord) -> Result<()>;
    /// The principal a live (unexpired, unrevoked, enabled-account) session token hash belongs to.
    async fn session_principal(&self, token_hash: &str) -> Result<Option<Principal>>;
    async fn revoke_session(&self, token_hash: &str) -> Result<bool>;
    /// Moves whenever a write through this handle (or a clone of it) may have ended sessions: a
    /// sign-out, a revoked token, an account disabled or given a new password. Whoever keeps
    /// `session_principal` answers in memory checks it before using one. Writes by another process
    /// or instance do not move it; such a keeper must also look again after a while.
    fn accounts_generation(&self) -> u64;
    /// The tokens (sessions and API tokens) of one account, newest first.
    async fn list_tokens(&self, user_id: UserId) -> Result<Vec<TokenInfo>>;
    /// Revokes one of an account's tokens by id; false when it has no such live token.
    async fn revoke_token(&self, user_id: UserId, id: TokenId) -> Result<bool>;

    // ----- audit -----

    /// Appends a security event (sign-in, failed sign-in, sign-out, token created or revoked).
    async fn record_security_event(&self, event: SecurityEvent) -> Result<()>;
    /// Change-log entries within `scope`, newest first. The cursor is the last entry's `seq`.
    async fn audit(&self, scope: &AuditScope, filter: &AuditFilter, page: &PageRequest) -> Result<Page<ChangeEntry>>;

    // ----- following the change log (the live stream, exchange) -----

    /// Up to `limit` entries after `after`, oldest first, for the system's fan-out of changes. A
    /// system read: whoever passes entries on applies the visibility rule to each, per recipient.
    async fn changes_after(&self, after: i64, limit: u32) -> Result<Vec<ChangeEntry>>;
    /// Up to `limit` entries about records of the `kinds` given after `after`, oldest first, and how
    /// far the log was read: a follower of a few kinds of record moves past all the other entries
    /// without reading them. With no kinds it reads no entry and reaches the log's end.
    async fn changes_of(&self, kinds: &[EntityType], after: i64, limit: u32) -> Result<ChangesRead>;
    /// The newest entry's sequence number (0 for an empty log).
    async fn last_change_seq(&self) -> Result<i64>;
    /// Resolves as soon as the log holds entries after `after` — committed by this process or,
    /// where the database can tell (PostgreSQL), by any other — or when `timeout` has passed.
    async fn wait_for_changes(&self, after: i64, timeout: std::time::Duration);

    // ----- discussions -----

    /// Posts a comment on a record the actor can see (otherwise `NotFound`).
    async fn create_comment(&self, actor: &Principal, new: NewComment) -> Result<Comment>;
    /// The comments on a record, oldest first, that `scope` may see; `None` when the record itself
    /// is not visible.
    async fn list_comments(
        &self,
        scope: &ReadScope,
        subject: SubjectKind,
        subject_id: &str,
    ) -> Result<Option<Vec<Comment>>>;
    async fn comment(&self, scope: &ReadScope, id: CommentId) -> Result<Option<Comment>>;
    /// Changes a comment's text (its author only); the change log keeps every version.
    async fn edit_comment(
        &self,
        actor: &Principal,
        id: CommentId,
        expected_version: Option<i64>,
        body: String,
    ) -> Result<Comment>;
    /// Removes a comment's text (its author or NATO staff); the change log keeps what it said.
    async fn delete_comment(&self, actor: &Principal, id: CommentId) -> Result<Comment>;

    // ----- watches and notifications -----

    /// Starts watching a record the actor can see (otherwise `NotFound`); watching twice is fine.
    async fn watch(&self, actor: &Principal, entity: EntityType, id: &str) -> Result<()>;
    async fn unwatch(&self, actor: &Principal, entity: EntityType, id: &str) -> Result<bool>;
    async fn list_watches(&self, user_id: UserId) -> Result<Vec<Watch>>;
    /// Whether the user watches this record.
    async fn is_watching(&self, user_id: UserId, entity: EntityType, id: &str) -> Result<bool>;
    /// What `watcher` watches, newest first, each with its title — only the records the
    /// watcher may see now: a watch of a record no longer released to them is not listed, as if
    /// the record did not exist (it stays stored, and counts again if the record is released
    /// again). One statement per kind of record, driven by the watcher's own watches.
    async fn watched_records(&self, watcher: &Principal) -> Result<Vec<WatchedRecord>>;
    /// Turns the next `limit` change-log entries into notifications (see [`notify::plan`]) and
    /// advances the notifier's position in the transaction that writes them, only from where the pass
    /// started — several instances never notify twice. Returns how many entries this pass recorded
    /// (0 when another pass recorded them first).
    async fn generate_notifications(&self, limit: u32) -> Result<usize>;
    /// A user's inbox, newest first; the cursor is the last notification's `seq`. Only
    /// notifications about records the reader may still see are listed (and counted): a record
    /// whose release was narrowed since takes its notifications, and their summaries, with it.
    async fn list_notifications(
        &self,
        reader: &Principal,
        unread_only: bool,
        page: &PageRequest,
    ) -> Result<Page<Notification>>;
    async fn unread_notifications(&self, reader: &Principal) -> Result<u64>;
    /// Marks some (or, with `None`, all) of a user's notifications read; returns how many changed.
    async fn mark_notifications_read(&self, user_id: UserId, ids: Option<&[NotificationId]>) -> Result<u64>;

    // ----- e-mail digests -----

    /// Subscribes a user to the daily digest at `email`, or (with `None`) unsubscribes.
    async fn set_digest(&self, user_id: UserId, email: Option<String>) -> Result<()>;
    async fn digest(&self, user_id: UserId) -> Result<Option<DigestSubscription>>;
    /// Subscriptions of enabled accounts not sent a digest since `before`.
    async fn due_digests(&self, before: time::OffsetDateTime) -> Result<Vec<DigestSubscription>>;
    async fn mark_digest_sent(&self, user_id: UserId, at: time::OffsetDateTime) -> Result<()>;
}

/// Stores are shared between tasks behind an `Arc<dyn Store>`.
pub type DynStore = std::sync::Arc<dyn Store>;
