//! Records of discussions, watches and notifications.

use eprime_domain::{Comment, Marking, NotificationId, PartnerCode, SubjectKind};
use serde::Serialize;
use time::OffsetDateTime;

use crate::EntityType;

/// A comment to post, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewComment {
    pub subject: SubjectKind,
    pub subject_id: String,
    pub body: String,
    /// The marking asked for; the store widens it so the partnership (or, on a menu event, the
    /// provider) and the author can read their own discussion (see
    /// `eprime_domain::access::comment_marking`).
    pub marking: Option<Marking>,
}

/// A comment as the change log records it: with its subject's marking as of the change, so that
/// whoever passes the change on (the stream, webhooks, the notifier) shows it only to those who
/// may see both ([`crate::ChangeEntry::visibility`]).
#[derive(Serialize)]
pub struct CommentLog<'a> {
    #[serde(flatten)]
    pub comment: &'a Comment,
    pub subject_marking: &'a Marking,
}

/// Why a user is told about a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationReason {
    /// A record the user watches changed (or was discussed).
    Watched,
    /// A nomination the user made, holds or must decide on (as its provider) changed.
    Nomination,
    /// Feedback the user owes (as the participant, or the officer who nominated them) is overdue.
    OverdueFeedback,
    /// An after-action report the user's organisation owes (as the provider) is overdue.
    OverdueReport,
    /// A new activity waits for approval (NATO staff).
    Approval,
    /// The user was mentioned in a comment.
    Mention,
}

impl NotificationReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Watched => "watched",
            Self::Nomination => "nomination",
            Self::OverdueFeedback => "overdue_feedback",
            Self::OverdueReport => "overdue_report",
            Self::Approval => "approval",
            Self::Mention => "mention",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Watched, Self::Nomination, Self::OverdueFeedback, Self::OverdueReport, Self::Approval, Self::Mention]
            .into_iter()
            .find(|r| r.as_str() == raw)
    }
}

/// One item of a user's inbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Notification {
    pub id: NotificationId,
    /// The change it is about (its position in the change log).
    pub seq: i64,
    pub reason: NotificationReason,
    pub entity: EntityType,
    pub entity_id: String,
    pub partnership: Option<PartnerCode>,
    /// One line: who did what to which record.
    pub summary: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub read_at: Option<OffsetDateTime>,
}

/// A record a user watches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Watch {
    pub entity: EntityType,
    pub entity_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A watched record as a list shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WatchedRecord {
    pub entity: EntityType,
    /// The record's id (a partnership's partner code).
    pub entity_id: String,
    /// Its title; a goal's is prefixed with its code ("1.2 Cyber defence").
    pub title: String,
    /// The partnership it belongs to; none for menu events.
    pub partnership: Option<PartnerCode>,
    /// When the watch began.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A user's subscription to the daily e-mail digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DigestSubscription {
    pub user_id: eprime_domain::UserId,
    pub username: String,
    pub email: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_sent_at: Option<OffsetDateTime>,
}
