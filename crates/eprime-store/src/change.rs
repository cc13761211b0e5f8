//! The append-only change log: one entry per committed change, the single source for audit
//! history, the live stream and exchange with other systems.

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
        }
    }

    pub const ALL: [Self; 7] =
        [Self::Organisation, Self::Area, Self::Partnership, Self::Document, Self::Activity, Self::User, Self::Account];

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
