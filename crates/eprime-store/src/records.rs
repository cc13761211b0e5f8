//! Records the store takes and gives that are not domain entities of their own.

use eprime_domain::{
    Document, Element, ElementKind, Framework, Marking, PartnerCode, Principal, RoleBinding, Text, Title, TokenId,
    UserId,
};
use time::OffsetDateTime;

/// A document with its programme elements in document order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentDetail {
    pub document: Document,
    pub elements: Vec<Element>,
}

impl DocumentDetail {
    pub fn elements_of(&self, kind: ElementKind) -> impl Iterator<Item = &Element> {
        self.elements.iter().filter(move |e| e.kind == kind)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPartnership {
    pub partner: PartnerCode,
    pub name: Title,
    pub framework: Framework,
    pub since: String,
    pub summary: Text,
    pub marking: Marking,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub binding: RoleBinding,
    /// An argon2id PHC string; the store never sees a password.
    pub password_hash: String,
}

/// An account as stored. Deliberately not `Serialize`: it holds the password hash, and the API
/// shows accounts through its own view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredUser {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub binding: RoleBinding,
    pub disabled: bool,
    pub password_hash: String,
    pub created_at: OffsetDateTime,
}

impl StoredUser {
    pub fn principal(&self) -> Principal {
        Principal { user_id: self.id, username: self.username.clone(), binding: self.binding.clone() }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserFilter {
    /// Only the accounts bound to this partner.
    pub partner: Option<PartnerCode>,
}

/// A browser sign-in, or a named API token a user made for a script or another system.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    Session,
    Api,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Session => "session",
            Self::Api => "api",
        }
    }
}

/// A sign-in session or API token. Only the SHA-256 of the token is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    pub id: TokenId,
    pub kind: TokenKind,
    pub token_hash: String,
    pub user_id: UserId,
    /// What the token is for ("browser session", "ci pipeline").
    pub name: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// A token as its owner sees it in a list: never the token itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: TokenId,
    pub kind: TokenKind,
    pub name: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
}

/// A security event for the audit log.
#[derive(Clone, Debug, PartialEq)]
pub struct SecurityEvent {
    pub operation: crate::Operation,
    /// The account concerned (for a failed sign-in, the name that was tried).
    pub username: String,
    /// The account's nation, when it is bound to one.
    pub partner: Option<PartnerCode>,
    /// Who did it, when not the account itself (an administrator revoking a token).
    pub actor: Option<String>,
    /// What else is worth keeping: the client address, a token's name.
    pub details: serde_json::Value,
}

/// Which audit entries to read. Every field narrows the selection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub entity: Option<crate::EntityType>,
    pub entity_id: Option<String>,
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
}

/// What the change log records of an account: never the password hash.
#[derive(serde::Serialize)]
pub struct AccountLog<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    #[serde(flatten)]
    pub binding: &'a RoleBinding,
    pub disabled: bool,
}

impl<'a> From<&'a StoredUser> for AccountLog<'a> {
    fn from(user: &'a StoredUser) -> Self {
        Self {
            username: &user.username,
            display_name: &user.display_name,
            binding: &user.binding,
            disabled: user.disabled,
        }
    }
}
