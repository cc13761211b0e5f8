//! Who is told about a change, and in what words: pure, shared by every store, which only fetch
//! the candidates and write the result.

use eprime_domain::{Caller, UserId};

use crate::{ChangeEntry, EntityType, NotificationReason, Operation, StoredUser};

/// A user who may be concerned by a change, and why.
pub struct Candidate<'a> {
    pub user: &'a StoredUser,
    pub reason: NotificationReason,
}

/// A notification to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    pub user_id: UserId,
    pub reason: NotificationReason,
    pub summary: String,
}

/// The notifications a change gives rise to: one per concerned user (the strongest reason
/// wins), never to whoever made the change, never to a disabled account, and never about a
/// record the user may not see — the same visibility rule as every read.
pub fn plan(entry: &ChangeEntry, candidates: &[Candidate<'_>]) -> Vec<Planned> {
    let Some(marking) = entry.marking() else { return Vec::new() };
    let mut planned: Vec<Planned> = Vec::new();
    for candidate in candidates {
        let user = candidate.user;
        if user.disabled || entry.actor.as_deref() == Some(user.username.as_str()) {
            continue;
        }
        if !Caller::User(user.principal()).read_scope().can_read(&marking) {
            continue;
        }
        match planned.iter_mut().find(|p| p.user_id == user.id) {
            Some(existing) if existing.reason >= candidate.reason => {}
            Some(existing) => existing.reason = candidate.reason,
            None => planned.push(Planned { user_id: user.id, reason: candidate.reason, summary: summary(entry) }),
        }
    }
    planned
}

/// Users newly mentioned by a comment change: in the new text and not already in the old.
pub fn new_mentions(entry: &ChangeEntry) -> Vec<String> {
    if entry.entity != EntityType::Comment {
        return Vec::new();
    }
    let list = |value: Option<&serde_json::Value>| -> Vec<String> {
        value
            .and_then(|v| v.get("mentions"))
            .and_then(|m| m.as_array())
            .map(|m| m.iter().filter_map(|n| n.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    };
    let before = list(entry.before.as_ref());
    list(entry.after.as_ref()).into_iter().filter(|name| !before.contains(name)).collect()
}

/// Whether a change asks NATO staff to act: a newly proposed activity, or a menu offering just
/// submitted, waits for approval.
pub fn needs_approval(entry: &ChangeEntry) -> bool {
    let status = entry.after.as_ref().and_then(|a| a.get("status")).and_then(|s| s.as_str());
    match entry.entity {
        EntityType::Activity => entry.operation == Operation::Create && status == Some("proposed"),
        EntityType::Offering => entry.operation == Operation::Transition && status == Some("submitted"),
        _ => false,
    }
}

/// Who a nomination's change concerns: the provider's users when a nomination arrives or is
/// withdrawn (they decide), and the nominating officer and the participant's own account (named
/// by its e-mail) when anything happens to it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct NominationContacts {
    /// The provider whose users are told.
    pub provider: Option<String>,
    /// Accounts told by username.
    pub usernames: Vec<String>,
}

pub fn nomination_contacts(entry: &ChangeEntry) -> NominationContacts {
    if entry.entity != EntityType::Nomination {
        return NominationContacts::default();
    }
    let Some(record) = entry.record() else { return NominationContacts::default() };
    let text = |value: Option<&serde_json::Value>| value.and_then(|v| v.as_str()).map(str::to_owned);
    let status = text(record.get("status"));
    let arrives_or_leaves = entry.operation == Operation::Create || status.as_deref() == Some("withdrawn");
    let mut usernames: Vec<String> =
        [text(record.get("nominated_by")), text(record.get("participant").and_then(|p| p.get("email")))]
            .into_iter()
            .flatten()
            .collect();
    usernames.dedup();
    NominationContacts { provider: arrives_or_leaves.then(|| text(record.get("provider"))).flatten(), usernames }
}

/// The record a change concerns for its watchers: a comment's subject, else the record itself.
pub fn watched_record(entry: &ChangeEntry) -> (EntityType, String) {
    if entry.entity == EntityType::Comment {
        let record = entry.record();
        let field = |name: &str| record.and_then(|r| r.get(name)).and_then(|v| v.as_str()).unwrap_or_default();
        let entity = match field("subject") {
            "activity" => EntityType::Activity,
            "document" => EntityType::Document,
            _ => EntityType::Element,
        };
        return (entity, field("subject_id").to_owned());
    }
    (entry.entity, entry.entity_id.clone())
}

fn summary(entry: &ChangeEntry) -> String {
    let actor = entry.actor.as_deref().unwrap_or("e-PRIME");
    let record = entry.record();
    let title = record
        .and_then(|r| r.get("title").or_else(|| r.get("document").and_then(|d| d.get("title"))))
        .and_then(|t| t.as_str())
        .map(|t| format!(" “{}”", excerpt(t)))
        .unwrap_or_default();
    match (entry.entity, entry.operation) {
        (EntityType::Comment, Operation::Create) => {
            let body = record.and_then(|r| r.get("body")).and_then(|b| b.as_str()).unwrap_or_default();
            format!("{actor} commented: “{}”", excerpt(body))
        }
        (EntityType::Comment, Operation::Delete) => format!("{actor} deleted a comment"),
        (EntityType::Comment, _) => format!("{actor} edited a comment"),
        (EntityType::Nomination, operation) => {
            let name = record.and_then(|r| r.get("participant")).and_then(|p| p.get("name")).and_then(|n| n.as_str());
            let event = record.and_then(|r| r.get("offering_title")).and_then(|t| t.as_str()).unwrap_or("an event");
            let status = record.and_then(|r| r.get("status")).and_then(|s| s.as_str()).unwrap_or("?");
            let name = name.unwrap_or("a participant");
            match operation {
                Operation::Create => format!("{actor} nominated {name} for “{}”", excerpt(event)),
                Operation::Transition => format!("{actor}: {name} is now {status} for “{}”", excerpt(event)),
                _ => format!("{actor} updated the nomination of {name} for “{}”", excerpt(event)),
            }
        }
        (EntityType::Offering, Operation::Transition) => {
            let status = record.and_then(|r| r.get("status")).and_then(|s| s.as_str()).unwrap_or("?");
            format!("{actor} moved menu event{title} to {status}")
        }
        (EntityType::Activity, Operation::Transition) => {
            let status = record.and_then(|r| r.get("status")).and_then(|s| s.as_str()).unwrap_or("?");
            format!("{actor} moved activity{title} to {status}")
        }
        (entity, operation) => {
            let verb = match operation {
                Operation::Create => "created",
                Operation::Approve => "recorded an approval of",
                Operation::Delete => "deleted",
                _ => "updated",
            };
            format!("{actor} {verb} {}{title}", entity.as_str())
        }
    }
}

fn excerpt(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() > 80 {
        format!("{}…", line.chars().take(80).collect::<String>())
    } else {
        line.to_owned()
    }
}
