//! What a change-log entry is about, said once for both stores: for each kind of record the log
//! follows, which entity type it is, its id and the partner nation it concerns. A store writes
//! `NewChangeEntry::about(&record, actor, operation).before(..).after(..)` and cannot get the
//! three wrong, or say them differently from the other store.

use std::borrow::Cow;

use eprime_domain::menu::{Nomination, Offering};
use eprime_domain::{Activity, Area, Comment, Document, OrgKind, Organisation, Partnership};

use crate::webhooks::Webhook;
use crate::{EntityType, NewChangeEntry, Operation, SecurityEvent, StoredUser};

/// A record whose changes the log keeps.
pub trait Logged {
    /// The kind of record.
    const ENTITY: EntityType;
    /// Its id, as the log names it.
    fn log_id(&self) -> Cow<'_, str>;
    /// The partner nation it concerns; `None` for records that are no partner's (reference data,
    /// the menu, an Ally's webhook).
    fn log_partner(&self) -> Option<&str>;
}

impl<'a> NewChangeEntry<'a, (), ()> {
    /// An entry about `subject` by `actor` (`None`: the system), before its records are added.
    pub fn about<S: Logged>(subject: &'a S, actor: Option<&'a str>, operation: Operation) -> Self {
        NewChangeEntry {
            actor,
            entity: S::ENTITY,
            entity_id: subject.log_id(),
            partner: subject.log_partner(),
            operation,
            before: None,
            after: None,
        }
    }
}

impl<'a, B, A> NewChangeEntry<'a, B, A> {
    /// The record as it was before the change (`None` when the change created it).
    pub fn before<R>(self, before: Option<&'a R>) -> NewChangeEntry<'a, R, A> {
        let NewChangeEntry { actor, entity, entity_id, partner, operation, after, .. } = self;
        NewChangeEntry { actor, entity, entity_id, partner, operation, before, after }
    }

    /// The record as the change left it.
    pub fn after<R>(self, after: &'a R) -> NewChangeEntry<'a, B, R> {
        let NewChangeEntry { actor, entity, entity_id, partner, operation, before, .. } = self;
        NewChangeEntry { actor, entity, entity_id, partner, operation, before, after: Some(after) }
    }
}

impl Logged for Activity {
    const ENTITY: EntityType = EntityType::Activity;
    fn log_id(&self) -> Cow<'_, str> {
        self.id.to_string().into()
    }
    fn log_partner(&self) -> Option<&str> {
        Some(self.partnership.as_str())
    }
}

impl Logged for Partnership {
    const ENTITY: EntityType = EntityType::Partnership;
    fn log_id(&self) -> Cow<'_, str> {
        self.partner.as_str().into()
    }
    fn log_partner(&self) -> Option<&str> {
        Some(self.partner.as_str())
    }
}

impl Logged for Organisation {
    const ENTITY: EntityType = EntityType::Organisation;
    fn log_id(&self) -> Cow<'_, str> {
        self.code.as_str().into()
    }
    fn log_partner(&self) -> Option<&str> {
        None
    }
}

impl Logged for Area {
    const ENTITY: EntityType = EntityType::Area;
    fn log_id(&self) -> Cow<'_, str> {
        self.code.as_str().into()
    }
    fn log_partner(&self) -> Option<&str> {
        None
    }
}

impl Logged for Document {
    const ENTITY: EntityType = EntityType::Document;
    fn log_id(&self) -> Cow<'_, str> {
        self.id.to_string().into()
    }
    fn log_partner(&self) -> Option<&str> {
        Some(self.partnership.as_str())
    }
}

impl Logged for Comment {
    const ENTITY: EntityType = EntityType::Comment;
    fn log_id(&self) -> Cow<'_, str> {
        self.id.to_string().into()
    }
    fn log_partner(&self) -> Option<&str> {
        self.partnership.as_ref().map(|p| p.as_str())
    }
}

impl Logged for Offering {
    const ENTITY: EntityType = EntityType::Offering;
    fn log_id(&self) -> Cow<'_, str> {
        self.id.to_string().into()
    }
    /// The menu is offered to every partner: an offering is no one partner's.
    fn log_partner(&self) -> Option<&str> {
        None
    }
}

impl Logged for Nomination {
    const ENTITY: EntityType = EntityType::Nomination;
    fn log_id(&self) -> Cow<'_, str> {
        self.id.to_string().into()
    }
    /// The nominating nation.
    fn log_partner(&self) -> Option<&str> {
        Some(self.nation.as_str())
    }
}

impl Logged for Webhook {
    const ENTITY: EntityType = EntityType::Webhook;
    fn log_id(&self) -> Cow<'_, str> {
        self.id.to_string().into()
    }
    /// A partner's own webhook concerns that partner; NATO's and Allies' concern none.
    fn log_partner(&self) -> Option<&str> {
        (self.organisation_kind == OrgKind::Partner).then_some(self.organisation.as_str())
    }
}

impl Logged for StoredUser {
    const ENTITY: EntityType = EntityType::User;
    fn log_id(&self) -> Cow<'_, str> {
        self.username.as_str().into()
    }
    /// The account's nation, when it is bound to one.
    fn log_partner(&self) -> Option<&str> {
        self.binding.partner.as_ref().map(|p| p.as_str())
    }
}

impl Logged for SecurityEvent {
    const ENTITY: EntityType = EntityType::Account;
    fn log_id(&self) -> Cow<'_, str> {
        self.username.as_str().into()
    }
    fn log_partner(&self) -> Option<&str> {
        self.partner.as_ref().map(|p| p.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_about_a_record_names_its_kind_id_and_partner_and_carries_its_records() {
        let event = SecurityEvent {
            operation: Operation::SignIn,
            username: "jpn.officer".into(),
            partner: Some(eprime_domain::PartnerCode::parse("JPN").unwrap()),
            actor: None,
            details: serde_json::json!({ "address": "127.0.0.1" }),
        };
        let before = serde_json::json!({ "n": 1 });
        let entry =
            NewChangeEntry::about(&event, Some("admin"), Operation::SignIn).before(Some(&before)).after(&event.details);
        assert_eq!(entry.entity, EntityType::Account);
        assert_eq!(entry.entity_id, "jpn.officer");
        assert_eq!(entry.partner, Some("JPN"));
        assert_eq!(entry.actor, Some("admin"));
        assert_eq!(entry.operation, Operation::SignIn);
        assert_eq!(entry.before, Some(&before));
        assert_eq!(entry.after, Some(&event.details));
        let created = NewChangeEntry::about(&event, None, Operation::SignIn).after(&event.details);
        assert!(created.before.is_none(), "a creation has no record before it");
    }
}
