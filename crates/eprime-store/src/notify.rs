//! Who is told about a change, and in what words: pure, shared by every store, which only fetch
//! the candidates and write the result.

use eprime_domain::{Caller, Role, UserId};

use crate::{ChangeEntry, EntityType, NotificationReason, Operation, StoredUser, Visibility};

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
/// record the user may not see — the same visibility rule as every read (for a comment, its
/// subject too). The one exception is a participant's own nomination (see [`own_nomination`]).
/// `visibility` is the entry's ([`ChangeEntry::visibility`]): the caller has it already, having
/// left out the changes that are never passed on.
pub fn plan(entry: &ChangeEntry, visibility: &Visibility, candidates: &[Candidate<'_>]) -> Vec<Planned> {
    let mut planned: Vec<Planned> = Vec::new();
    for candidate in candidates {
        let user = candidate.user;
        if user.disabled || entry.actor.as_deref() == Some(user.username.as_str()) {
            continue;
        }
        if !visibility.admits(&Caller::User(user.principal()).read_scope()) && !own_nomination(user, entry) {
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

/// Whether a change is about the nomination of the participant whose account `user` is (a
/// participant's account is named by the e-mail address its nominations give). Participants
/// read nothing through the visibility rule — a nomination is released to its nation and its
/// provider — yet they are told what happens to their own nominations, and only to those: the
/// same exception as `GET /api/v1/nominations/mine`, and no wider.
pub fn own_nomination(user: &StoredUser, entry: &ChangeEntry) -> bool {
    entry.entity == EntityType::Nomination
        && user.binding.role == Role::Participant
        && entry
            .record()
            .and_then(|r| r.get("participant"))
            .and_then(|p| p.get("email"))
            .and_then(|e| e.as_str())
            .is_some_and(|email| email.eq_ignore_ascii_case(&user.username))
}

/// Whom the stores look up as candidates for a change, and for what reason: the rule of who is
/// concerned, written once. The stores fetch these accounts and hand them to [`plan`], which
/// drops whoever may not learn of the change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wanted {
    /// The record whose watchers are told (a comment's subject, else the record itself).
    pub watched: (EntityType, String),
    /// Accounts by username.
    pub accounts: Vec<(String, NotificationReason)>,
    /// The users of a provider organisation (role `provider`), by organisation code.
    pub providers: Vec<(String, NotificationReason)>,
    /// NATO staff and administrators, asked to approve.
    pub approvers: bool,
}

/// Who may be concerned by `entry`:
/// * the watchers of the record (of a comment's subject), as `watched`;
/// * users newly mentioned in a comment, as `mention`;
/// * NATO staff, when a new activity or a submitted menu event waits for approval;
/// * for a nomination: the provider's users when it arrives or is withdrawn (they decide), and
///   the nominating officer and the participant's own account whenever anything happens to it;
/// * for overdue feedback: the participant's account and the officer who nominated them; for an
///   overdue after-action report: the provider's users.
pub fn wanted(entry: &ChangeEntry) -> Wanted {
    let mut wanted = Wanted {
        watched: watched_record(entry),
        accounts: Vec::new(),
        providers: Vec::new(),
        approvers: needs_approval(entry),
    };
    wanted.accounts.extend(new_mentions(entry).into_iter().map(|name| (name, NotificationReason::Mention)));
    let text = |value: Option<&serde_json::Value>| value.and_then(|v| v.as_str()).map(str::to_owned);
    match (entry.entity, entry.operation) {
        (EntityType::Nomination, Operation::Overdue) => {
            let record = entry.record();
            let participant = text(record.and_then(|r| r.get("participant")).and_then(|p| p.get("email")));
            let officer = text(record.and_then(|r| r.get("nominated_by")));
            for name in [participant, officer].into_iter().flatten() {
                wanted.accounts.push((name, NotificationReason::OverdueFeedback));
            }
        }
        (EntityType::Offering, Operation::Overdue) => {
            if let Some(provider) = text(entry.record().and_then(|r| r.get("provider"))) {
                wanted.providers.push((provider, NotificationReason::OverdueReport));
            }
        }
        (EntityType::Nomination, _) => {
            let contacts = nomination_contacts(entry);
            wanted.providers.extend(contacts.provider.map(|p| (p, NotificationReason::Nomination)));
            wanted.accounts.extend(contacts.usernames.into_iter().map(|u| (u, NotificationReason::Nomination)));
        }
        _ => {}
    }
    wanted
}

/// Users newly mentioned by a comment change: in the new text and not already in the old.
fn new_mentions(entry: &ChangeEntry) -> Vec<String> {
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
    let before = list(entry.before.as_deref());
    list(entry.after.as_deref()).into_iter().filter(|name| !before.contains(name)).collect()
}

/// Whether a change asks NATO staff to act: a newly proposed activity, or a menu offering just
/// submitted, waits for approval.
fn needs_approval(entry: &ChangeEntry) -> bool {
    // Only the status of the record after the change, and only for the two changes that may ask.
    let status_is = |wanted: &str| {
        entry
            .after
            .as_ref()
            .is_some_and(|a| a.fields(&["status"]).get("status").and_then(|s| s.as_str()) == Some(wanted))
    };
    match entry.entity {
        EntityType::Activity => entry.operation == Operation::Create && status_is("proposed"),
        EntityType::Offering => entry.operation == Operation::Transition && status_is("submitted"),
        _ => false,
    }
}

/// Who a nomination's change concerns: the provider's users when a nomination arrives or is
/// withdrawn (they decide), and the nominating officer and the participant's own account (named
/// by its e-mail) when anything happens to it.
#[derive(Debug, Default, PartialEq, Eq)]
struct NominationContacts {
    /// The provider whose users are told.
    provider: Option<String>,
    /// Accounts told by username.
    usernames: Vec<String>,
}

fn nomination_contacts(entry: &ChangeEntry) -> NominationContacts {
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
fn watched_record(entry: &ChangeEntry) -> (EntityType, String) {
    if entry.entity == EntityType::Comment {
        let record = entry.record();
        let field = |name: &str| record.and_then(|r| r.get(name)).and_then(|v| v.as_str()).unwrap_or_default();
        let entity = match field("subject") {
            "activity" => EntityType::Activity,
            "document" => EntityType::Document,
            "offering" => EntityType::Offering,
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
        (EntityType::Nomination, Operation::Overdue) => {
            let name = record.and_then(|r| r.get("participant")).and_then(|p| p.get("name")).and_then(|n| n.as_str());
            let event = record.and_then(|r| r.get("offering_title")).and_then(|t| t.as_str()).unwrap_or("an event");
            format!("Feedback from {} on “{}” is overdue", name.unwrap_or("a participant"), excerpt(event))
        }
        (EntityType::Offering, Operation::Overdue) => {
            format!("The after-action report on menu event{title} is overdue")
        }
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

#[cfg(test)]
mod tests {
    use eprime_domain::{OrgCode, PartnerCode, RoleBinding};
    use serde_json::json;
    use time::OffsetDateTime;

    use super::*;

    fn user(username: &str, role: Role, partner: Option<&str>, organisation: Option<&str>) -> StoredUser {
        StoredUser {
            id: UserId::new(),
            username: username.into(),
            display_name: username.into(),
            binding: RoleBinding::new(
                role,
                partner.map(|p| PartnerCode::parse(p).unwrap()),
                organisation.map(|o| OrgCode::parse(o).unwrap()),
            )
            .unwrap(),
            disabled: false,
            password_hash: String::new(),
            created_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn change(entity: EntityType, operation: Operation, actor: Option<&str>, after: serde_json::Value) -> ChangeEntry {
        ChangeEntry {
            seq: 7,
            at: OffsetDateTime::UNIX_EPOCH,
            actor: actor.map(str::to_owned),
            entity,
            entity_id: "n-1".into(),
            partner: None,
            operation,
            before: None,
            after: Some(after.into()),
        }
    }

    fn nomination(email: &str, status: &str) -> serde_json::Value {
        json!({
            "participant": {"name": "Sato Hiroshi", "email": email}, "status": status, "nominated_by": "jpn.officer",
            "provider": "NDC", "offering_title": "Cyber Defence Course",
            "marking": "NATO UNCLASSIFIED", "releasable_to": ["JPN", "NDC"],
        })
    }

    fn told(entry: &ChangeEntry, users: &[StoredUser]) -> Vec<(String, NotificationReason)> {
        let wanted = wanted(entry);
        let candidates: Vec<Candidate<'_>> = users
            .iter()
            .filter_map(|user| {
                let reason =
                    wanted.accounts.iter().find(|(name, _)| *name == user.username).map(|(_, r)| *r).or_else(|| {
                        let org = user.binding.organisation.as_ref().map(|o| o.as_str().to_owned());
                        wanted.providers.iter().find(|(p, _)| Some(p) == org.as_ref()).map(|(_, r)| *r)
                    })?;
                Some(Candidate { user, reason })
            })
            .collect();
        let Some(visibility) = entry.visibility() else { return Vec::new() };
        let mut told: Vec<_> = plan(entry, &visibility, &candidates)
            .into_iter()
            .map(|p| (users.iter().find(|u| u.id == p.user_id).unwrap().username.clone(), p.reason))
            .collect();
        told.sort();
        told
    }

    #[test]
    fn a_participant_is_told_about_its_own_nomination_and_no_other() {
        let sato = user("sato@mod.example.jp", Role::Participant, None, None);
        let tanaka = user("tanaka@mod.example.jp", Role::Participant, None, None);
        let officer = user("jpn.officer", Role::PartnerOfficer, Some("JPN"), None);
        let users = [sato.clone(), tanaka.clone(), officer];
        let accepted = change(
            EntityType::Nomination,
            Operation::Transition,
            Some("ndc.provider"),
            nomination("sato@mod.example.jp", "accepted"),
        );
        let told_of = told(&accepted, &users);
        assert_eq!(
            told_of,
            [
                ("jpn.officer".to_owned(), NotificationReason::Nomination),
                ("sato@mod.example.jp".to_owned(), NotificationReason::Nomination)
            ]
        );
        assert!(own_nomination(&sato, &accepted) && !own_nomination(&tanaka, &accepted));
        // Named in a nomination, but not as its participant: nothing.
        let impostor = user("sato@mod.example.jp", Role::PartnerOfficer, Some("KOR"), None);
        assert!(!own_nomination(&impostor, &accepted), "only a participant's account has the exception");
        // The exception is for nominations: a participant is told nothing else it may not read.
        let comment = change(
            EntityType::Comment,
            Operation::Create,
            Some("nato.staff"),
            json!({"subject": "offering", "subject_id": "o-1", "body": "@x", "mentions": ["sato@mod.example.jp"],
                   "marking": "NATO UNCLASSIFIED", "releasable_to": ["NDC"],
                   "subject_marking": {"marking": "NATO UNCLASSIFIED", "releasable_to": ["NDC"]}}),
        );
        let candidates = [Candidate { user: &sato, reason: NotificationReason::Mention }];
        assert!(plan(&comment, &comment.visibility().unwrap(), &candidates).is_empty());
    }

    #[test]
    fn overdue_feedback_reaches_the_participant_and_its_officer_and_an_overdue_report_the_provider() {
        let users = [
            user("sato@mod.example.jp", Role::Participant, None, None),
            user("jpn.officer", Role::PartnerOfficer, Some("JPN"), None),
            user("ndc.provider", Role::Provider, None, Some("NDC")),
            user("nso.provider", Role::Provider, None, Some("NSO")),
        ];
        let feedback =
            change(EntityType::Nomination, Operation::Overdue, None, nomination("sato@mod.example.jp", "accepted"));
        assert_eq!(
            told(&feedback, &users),
            [
                ("jpn.officer".to_owned(), NotificationReason::OverdueFeedback),
                ("sato@mod.example.jp".to_owned(), NotificationReason::OverdueFeedback)
            ]
        );
        assert_eq!(summary(&feedback), "Feedback from Sato Hiroshi on “Cyber Defence Course” is overdue");
        let report = change(
            EntityType::Offering,
            Operation::Overdue,
            None,
            json!({"title": "Cyber Defence Course", "provider": "NDC", "marking": "NATO UNCLASSIFIED",
                   "releasable_to": ["NDC", "PARTNERS"]}),
        );
        assert_eq!(told(&report, &users), [("ndc.provider".to_owned(), NotificationReason::OverdueReport)]);
        assert_eq!(wanted(&report).watched, (EntityType::Offering, "n-1".to_owned()));
        assert!(summary(&report).contains("after-action report"));
    }

    #[test]
    fn a_comment_on_a_menu_event_reaches_its_watchers_only_with_the_event() {
        let comment = |subject_releasable: &[&str]| {
            change(
                EntityType::Comment,
                Operation::Create,
                Some("jpn.officer"),
                json!({"subject": "offering", "subject_id": "o-1", "body": "Hello", "mentions": ["kor.officer"],
                       "marking": "NATO UNCLASSIFIED", "releasable_to": ["JPN", "KOR", "NDC"],
                       "subject_marking": {"marking": "NATO UNCLASSIFIED", "releasable_to": subject_releasable}}),
            )
        };
        let korea = user("kor.officer", Role::PartnerOfficer, Some("KOR"), None);
        let candidates = [Candidate { user: &korea, reason: NotificationReason::Mention }];
        let draft = comment(&["NDC"]);
        assert_eq!(wanted(&draft).watched, (EntityType::Offering, "o-1".to_owned()));
        assert!(
            plan(&draft, &draft.visibility().unwrap(), &candidates).is_empty(),
            "the comment is released to Korea, the event is not"
        );
        let published = comment(&["NDC", "PARTNERS"]);
        assert_eq!(plan(&published, &published.visibility().unwrap(), &candidates).len(), 1);
    }
}
