//! Webhooks: an organisation's endpoints that receive the changes it may see, and the queue and
//! log of their deliveries.
//!
//! A webhook belongs to an organisation and sees exactly what a user representing it sees
//! ([`eprime_domain::access::organisation_scope`]). The stores follow the change log with a
//! cursor of their own (the `followers` row `webhooks`) and, for each entry and each active
//! webhook that may see it and whose filter it passes, queue one delivery
//! ([`WebhookStore::enqueue_deliveries`], one transaction, safe with several instances). A
//! sender claims due deliveries under a lease ([`WebhookStore::claim_due_deliveries`]), posts
//! them, and records each attempt ([`WebhookStore::record_attempt`]): delivered, retry at a
//! later time, or failed. Managers read the delivery log and ask for a redelivery.
//!
//! Who manages webhooks is an [`AccountScope`]: every organisation's (NATO administrators) or one
//! nation's (its partner administrators). Webhooks outside the scope look absent.

use async_trait::async_trait;
use eprime_domain::access::organisation_scope;
use eprime_domain::ids::{DeliveryId, WebhookId};
use eprime_domain::{AccountScope, OrgCode, OrgKind, PartnerCode, Principal, ReadScope};
use serde::Serialize;
use time::OffsetDateTime;

use crate::{ChangeEntry, EntityType, Operation, Page, PageRequest, Result};

/// The name of the webhooks' cursor in the `followers` table.
pub const FOLLOWER: &str = "webhooks";
/// Attempts per round of a delivery before it is given up as failed (a redelivery starts a new round).
pub const MAX_ATTEMPTS: u32 = 10;

/// Which changes a webhook (or a stream) asks for; `None` means any.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ChangeFilter {
    /// Only changes of this partnership.
    pub partnership: Option<PartnerCode>,
    /// Only changes of these kinds of record.
    pub entities: Option<Vec<EntityType>>,
}

impl ChangeFilter {
    pub fn matches(&self, entry: &ChangeEntry) -> bool {
        self.partnership.as_ref().is_none_or(|p| entry.partner.as_deref() == Some(p.as_str()))
            && self.entities.as_ref().is_none_or(|e| e.contains(&entry.entity))
    }

    /// The entity list as stored (comma-separated), `None` for any.
    pub fn entities_text(&self) -> Option<String> {
        self.entities.as_ref().map(|list| list.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(","))
    }

    /// Reads the stored form back; unknown names are dropped.
    pub fn from_stored(partnership: Option<&str>, entities: Option<&str>) -> Self {
        Self {
            partnership: partnership.and_then(|p| PartnerCode::parse(p).ok()),
            entities: entities
                .map(|list| list.split(',').filter(|s| !s.is_empty()).filter_map(EntityType::parse).collect()),
        }
    }
}

/// Kinds of record a webhook may ask for: programme records and reference data, never accounts
/// or webhooks.
pub fn deliverable(entity: EntityType) -> bool {
    !matches!(entity, EntityType::User | EntityType::Account | EntityType::Webhook)
}

/// A stored webhook. Not `Serialize`: it holds the signing secret, which is shown once, when it
/// is made, and never again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Webhook {
    pub id: WebhookId,
    pub organisation: OrgCode,
    pub organisation_kind: OrgKind,
    pub url: String,
    pub description: String,
    pub filter: ChangeFilter,
    pub active: bool,
    /// The HMAC-SHA256 key deliveries are signed with.
    pub secret: String,
    /// The change-log position of the webhook's creation: it receives only later changes.
    pub since_seq: i64,
    pub version: i64,
    pub created_by: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Webhook {
    /// What the webhook may see: what a user of its organisation sees.
    pub fn scope(&self) -> ReadScope {
        organisation_scope(&self.organisation, self.organisation_kind)
    }

    /// Whether `entry` is delivered to this webhook: a change after its creation, of a kind that
    /// is delivered, whose record (and, for a comment, its subject) the organisation may see,
    /// passing the webhook's filter.
    pub fn wants(&self, entry: &ChangeEntry) -> bool {
        self.active
            && entry.seq > self.since_seq
            && deliverable(entry.entity)
            && self.filter.matches(entry)
            && self.may_see(entry)
    }

    /// Whether the organisation may see the changed record (and a comment's subject). Each webhook
    /// asks this of the same entry, so the record is parsed whole once and kept: every later asking
    /// reads the kept record instead of scanning the text again for its marking.
    fn may_see(&self, entry: &ChangeEntry) -> bool {
        let _parsed_once = entry.record();
        entry.visibility().is_some_and(|visibility| visibility.admits(&self.scope()))
    }

    /// What the change log records of a webhook: never its secret.
    pub fn log_view(&self) -> WebhookLogView<'_> {
        WebhookLogView {
            organisation: &self.organisation,
            url: &self.url,
            description: &self.description,
            partnership: self.filter.partnership.as_ref(),
            entities: self.filter.entities.as_deref(),
            active: self.active,
            version: self.version,
        }
    }
}

/// A webhook as the change log records it.
#[derive(Serialize)]
pub struct WebhookLogView<'a> {
    pub organisation: &'a OrgCode,
    pub url: &'a str,
    pub description: &'a str,
    pub partnership: Option<&'a PartnerCode>,
    pub entities: Option<&'a [EntityType]>,
    pub active: bool,
    pub version: i64,
}

/// A webhook to create. The URL is checked by the caller (the server's delivery policy).
#[derive(Clone, Debug)]
pub struct NewWebhook {
    pub organisation: OrgCode,
    pub url: String,
    pub description: String,
    pub filter: ChangeFilter,
    pub active: bool,
    pub secret: String,
}

/// Changes to a webhook; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct WebhookChanges {
    pub url: Option<String>,
    pub description: Option<String>,
    pub active: Option<bool>,
    /// A new partnership filter (`Some(None)`: every partnership).
    pub partnership: Option<Option<PartnerCode>>,
    /// A new entity filter (`Some(None)`: every kind of record).
    pub entities: Option<Option<Vec<EntityType>>>,
    /// A new signing secret (logged as `rotate_secret`, without the secret).
    pub secret: Option<String>,
}

impl WebhookChanges {
    /// Applies the changes to `webhook` (its version and times are the store's to set).
    pub fn apply(self, webhook: &mut Webhook) {
        if let Some(url) = self.url {
            webhook.url = url;
        }
        if let Some(description) = self.description {
            webhook.description = description;
        }
        if let Some(active) = self.active {
            webhook.active = active;
        }
        if let Some(partnership) = self.partnership {
            webhook.filter.partnership = partnership;
        }
        if let Some(entities) = self.entities {
            webhook.filter.entities = entities;
        }
        if let Some(secret) = self.secret {
            webhook.secret = secret;
        }
    }
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its (next) attempt.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Every attempt of the round failed.
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Failed].into_iter().find(|s| s.as_str() == raw)
    }
}

/// One attempt to deliver.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Attempt {
    /// 1 for the first attempt of the delivery, counting across redeliveries.
    pub number: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The HTTP status the endpoint answered, if it answered.
    pub status: Option<u16>,
    /// Why the attempt failed (no answer, or a status that is not 2xx).
    pub error: Option<String>,
    pub duration_ms: u64,
}

/// One change queued for one webhook, with its attempts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub id: DeliveryId,
    pub webhook: WebhookId,
    /// The change-log entry delivered.
    pub seq: i64,
    pub entity: EntityType,
    pub entity_id: String,
    pub operation: Operation,
    pub state: DeliveryState,
    /// Attempts made, across redeliveries.
    pub attempts: u32,
    /// Attempts made in the current round (reset by a redelivery).
    pub round_attempts: u32,
    /// When the next attempt is due (pending deliveries).
    pub next_attempt_at: Option<OffsetDateTime>,
    pub delivered_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    /// Every attempt, oldest first.
    pub attempt_log: Vec<Attempt>,
}

/// What one call of [`WebhookStore::enqueue_deliveries`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EnqueueOutcome {
    /// Change-log entries read (when equal to the limit, more may be waiting).
    pub entries: usize,
    /// Deliveries queued.
    pub deliveries: usize,
    /// The cursor after the call: the last change-log entry considered.
    pub position: i64,
}

/// A delivery claimed for sending: everything needed to post it.
#[derive(Clone, Debug)]
pub struct ClaimedDelivery {
    pub id: DeliveryId,
    pub webhook: WebhookId,
    pub url: String,
    pub secret: String,
    /// Attempts made before this one (across redeliveries; this one is `attempts + 1`).
    pub attempts: u32,
    /// Attempts made before this one in the current round.
    pub round_attempts: u32,
    pub entry: ChangeEntry,
}

/// What became of an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptOutcome {
    Delivered,
    /// Try again at this instant.
    RetryAt(OffsetDateTime),
    /// Give up.
    Failed,
}

/// The result of one attempt, to record.
#[derive(Clone, Debug)]
pub struct AttemptRecord {
    pub delivery: DeliveryId,
    /// The attempt's number (the claimed delivery's `attempts + 1`).
    pub number: u32,
    pub at: OffsetDateTime,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: u64,
    pub outcome: AttemptOutcome,
}

/// Milliseconds since the Unix epoch: how the stores keep due times, so they compare as numbers.
pub fn unix_millis(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The instant of `unix_millis`.
pub fn from_unix_millis(millis: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Webhooks and their deliveries.
#[async_trait]
pub trait WebhookStore: Send + Sync + 'static {
    /// Creates a webhook for an organisation within `actor`'s webhook scope (`Forbidden`
    /// outside it; `Invalid` for an unknown organisation), logging it without its secret.
    async fn create_webhook(&self, actor: &Principal, new: NewWebhook) -> Result<Webhook>;
    /// The webhooks within `scope`, oldest first.
    async fn list_webhooks(&self, scope: &AccountScope) -> Result<Vec<Webhook>>;
    /// One webhook, `None` when it does not exist or is outside `scope`.
    async fn webhook(&self, scope: &AccountScope, id: WebhookId) -> Result<Option<Webhook>>;
    /// Applies `changes` when the stored version equals `expected_version` (when given);
    /// `NotFound` outside `actor`'s webhook scope.
    async fn update_webhook(
        &self,
        actor: &Principal,
        id: WebhookId,
        expected_version: Option<i64>,
        changes: WebhookChanges,
    ) -> Result<Webhook>;
    /// Deletes a webhook and its deliveries; `NotFound` outside `actor`'s webhook scope.
    async fn delete_webhook(&self, actor: &Principal, id: WebhookId) -> Result<()>;

    /// Reads the webhooks' cursor and up to `limit` change-log entries after it, queues a delivery
    /// for each entry and each webhook that [`Webhook::wants`] it, and advances the cursor in the
    /// transaction that queues them, only from where the pass started, so instances never queue
    /// twice (PostgreSQL locks the cursor for the whole pass; SQLite reads outside the writer and
    /// records nothing when another pass moved the cursor first).
    async fn enqueue_deliveries(&self, limit: u32) -> Result<EnqueueOutcome>;
    /// Claims up to `limit` pending deliveries of active webhooks due at `now`, oldest due first,
    /// leasing them until `now + lease` (no other claim gets them meanwhile; an instance that dies
    /// mid-send leaves them to be retried when the lease ends).
    async fn claim_due_deliveries(
        &self,
        now: OffsetDateTime,
        lease: std::time::Duration,
        limit: u32,
    ) -> Result<Vec<ClaimedDelivery>>;
    /// Records an attempt of a claimed delivery. False (and nothing changed) when the delivery is
    /// gone or was meanwhile attempted or redelivered.
    async fn record_attempt(&self, attempt: AttemptRecord) -> Result<bool>;
    /// The delivery log of a webhook, newest first (the cursor is the last delivery's id);
    /// `None` when the webhook does not exist or is outside `scope`.
    async fn list_deliveries(
        &self,
        scope: &AccountScope,
        webhook: WebhookId,
        page: &PageRequest,
    ) -> Result<Option<Page<Delivery>>>;
    /// Sends a delivery again: pending, due at `now`, with a new round of attempts.
    /// `NotFound` when it or its webhook is outside `actor`'s webhook scope.
    async fn redeliver(
        &self,
        actor: &Principal,
        webhook: WebhookId,
        delivery: DeliveryId,
        now: OffsetDateTime,
    ) -> Result<Delivery>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(entity: EntityType, partner: &str, after: serde_json::Value) -> ChangeEntry {
        ChangeEntry {
            seq: 10,
            at: OffsetDateTime::UNIX_EPOCH,
            actor: None,
            entity,
            entity_id: "x".into(),
            partner: Some(partner.into()),
            operation: Operation::Create,
            before: None,
            after: Some(after.into()),
        }
    }

    fn webhook(org: &str, kind: OrgKind) -> Webhook {
        Webhook {
            id: WebhookId::new(),
            organisation: OrgCode::parse(org).unwrap(),
            organisation_kind: kind,
            url: "https://example.org/hook".into(),
            description: String::new(),
            filter: ChangeFilter::default(),
            active: true,
            secret: "s".into(),
            since_seq: 5,
            version: 1,
            created_by: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_webhook_wants_what_its_organisation_may_see_after_it_was_made() {
        let japan_only = serde_json::json!({"marking": "NATO UNCLASSIFIED", "releasable_to": ["JPN"]});
        let jpn = webhook("JPN", OrgKind::Partner);
        let kor = webhook("KOR", OrgKind::Partner);
        let nato = webhook("NATO", OrgKind::NatoBody);
        let change = entry(EntityType::Activity, "JPN", japan_only.clone());
        assert!(jpn.wants(&change));
        assert!(!kor.wants(&change));
        assert!(nato.wants(&change));
        assert!(!jpn.wants(&ChangeEntry { seq: 5, ..change.clone() }), "not before the webhook existed");
        assert!(!Webhook { active: false, ..jpn.clone() }.wants(&change));
        let account = entry(EntityType::User, "JPN", serde_json::json!({"marking": "PUBLIC"}));
        assert!(!nato.wants(&account), "accounts are never delivered");
        let hook = entry(EntityType::Webhook, "JPN", serde_json::json!({"marking": "PUBLIC"}));
        assert!(!nato.wants(&hook), "webhooks are never delivered");
        let documents = ChangeFilter { partnership: None, entities: Some(vec![EntityType::Document]) };
        assert!(!Webhook { filter: documents, ..jpn.clone() }.wants(&change));
        let korea = ChangeFilter { partnership: Some(PartnerCode::parse("KOR").unwrap()), entities: None };
        assert!(!Webhook { filter: korea, ..nato }.wants(&change));
        // Organisations and areas are public reference data, whatever their log entry holds.
        let removed = ChangeEntry { entity: EntityType::Organisation, after: None, ..change.clone() };
        assert!(kor.wants(&removed), "an organisation's change without a record is still public");
    }

    #[test]
    fn filters_and_times_round_trip_through_their_stored_form() {
        let filter = ChangeFilter {
            partnership: Some(PartnerCode::parse("JPN").unwrap()),
            entities: Some(vec![EntityType::Activity, EntityType::Document]),
        };
        let text = filter.entities_text();
        assert_eq!(text.as_deref(), Some("activity,document"));
        assert_eq!(ChangeFilter::from_stored(Some("JPN"), text.as_deref()), filter);
        assert_eq!(ChangeFilter::from_stored(None, None), ChangeFilter::default());
        let at = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap() + time::Duration::milliseconds(123);
        assert_eq!(from_unix_millis(unix_millis(at)), at);
    }
}
