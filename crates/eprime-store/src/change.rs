//! The append-only change log: one entry per committed change, the single source for audit
//! history, the live stream and exchange with other systems.

use eprime_domain::{Classification, Marking, OrgCode};
use serde::Serialize;
use time::OffsetDateTime;

/// What kind of record a change is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EntityType {
    Organisation,
    Area,
    Partnership,
    Document,
    Activity,
    User,
    /// Sign-ins and API tokens of an account (security events).
    Account,
    /// A comment in a discussion.
    Comment,
    /// An organisation's webhook (never streamed or delivered; its secret is never logged).
    Webhook,
    /// A programme element (goal, priority area…): watched and discussed, changed with its document.
    Element,
    /// An event offered in the Partnership Cooperation Menu.
    Offering,
    /// A participant nominated for a menu event (its decisions, attendance and feedback).
    Nomination,
}

impl EntityType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Organisation => "organisation",
            Self::Area => "area",
            Self::Partnership => "partnership",
            Self::Document => "document",
            Self::Activity => "activity",
            Self::User => "user",
            Self::Account => "account",
            Self::Comment => "comment",
            Self::Webhook => "webhook",
            Self::Element => "element",
            Self::Offering => "offering",
            Self::Nomination => "nomination",
        }
    }

    pub const ALL: [Self; 12] = [
        Self::Organisation,
        Self::Area,
        Self::Partnership,
        Self::Document,
        Self::Activity,
        Self::User,
        Self::Account,
        Self::Comment,
        Self::Webhook,
        Self::Element,
        Self::Offering,
        Self::Nomination,
    ];

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == raw)
    }
}

/// What the change did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    Create,
    Update,
    Transition,
    Approve,
    Disable,
    Enable,
    SetPassword,
    SignIn,
    SignInFailed,
    SignOut,
    TokenCreated,
    TokenRevoked,
    Delete,
    /// A webhook's signing secret was replaced (the secret itself is never logged).
    RotateSecret,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Transition => "transition",
            Self::Approve => "approve",
            Self::Disable => "disable",
            Self::Enable => "enable",
            Self::SetPassword => "set_password",
            Self::SignIn => "sign_in",
            Self::SignInFailed => "sign_in_failed",
            Self::SignOut => "sign_out",
            Self::TokenCreated => "token_created",
            Self::TokenRevoked => "token_revoked",
            Self::Delete => "delete",
            Self::RotateSecret => "rotate_secret",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            Self::Create,
            Self::Update,
            Self::Transition,
            Self::Approve,
            Self::Disable,
            Self::Enable,
            Self::SetPassword,
            Self::SignIn,
            Self::SignInFailed,
            Self::SignOut,
            Self::TokenCreated,
            Self::TokenRevoked,
            Self::Delete,
            Self::RotateSecret,
        ]
        .into_iter()
        .find(|o| o.as_str() == raw)
    }
}

/// One committed change.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChangeEntry {
    /// Position in the log: increasing in commit order, so a reader that follows it misses nothing.
    /// Not necessarily gap-free (a PostgreSQL sequence skips the numbers of rolled-back writes).
    pub seq: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Username of whoever made the change; `None` for the system itself.
    pub actor: Option<String>,
    pub entity: EntityType,
    pub entity_id: String,
    /// The partner nation the entry concerns: a programme record's partnership, an account's nation.
    pub partner: Option<String>,
    pub operation: Operation,
    /// The record before the change (`None` on create).
    pub before: Option<serde_json::Value>,
    /// The record after the change.
    pub after: Option<serde_json::Value>,
}

impl ChangeEntry {
    /// The record as this change left it (or as it was, for a removal).
    pub fn record(&self) -> Option<&serde_json::Value> {
        self.after.as_ref().or(self.before.as_ref())
    }

    /// The marking of the changed record — who may learn of this change — or `None` for changes
    /// that are never passed on (accounts and sign-ins, or a record without a marking).
    pub fn marking(&self) -> Option<Marking> {
        match self.entity {
            EntityType::User | EntityType::Account | EntityType::Webhook => None,
            // The lists of organisations and areas are public reference data.
            EntityType::Organisation | EntityType::Area => Some(Marking::public()),
            _ => self.record().and_then(record_marking),
        }
    }
}

/// The marking a record's JSON carries (`marking`, `releasable_to`); a document created with its
/// elements carries it under `document`.
fn record_marking(record: &serde_json::Value) -> Option<Marking> {
    let record = record.get("document").unwrap_or(record);
    let classification = Classification::parse(record.get("marking")?.as_str()?).ok()?;
    let orgs = record
        .get("releasable_to")
        .and_then(|r| r.as_array())
        .map(|list| list.iter().filter_map(|o| o.as_str().and_then(|o| OrgCode::parse(o).ok())).collect())
        .unwrap_or_default();
    Marking::new(classification, orgs).ok()
}
