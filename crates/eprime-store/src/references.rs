//! Which of an activity's references a write must check: the ones it adds.
//!
//! Organisations, areas of cooperation, goals and documents are never deleted, and a reference an
//! activity already holds was checked when it was written. So an update checks only what it adds: a
//! change of title costs no reference look-ups, and an officer can still edit an activity that NATO
//! staff linked to a goal of a document the officer may not see.

use eprime_domain::{Activity, AreaCode, DocumentId, ElementId, OrgCode};

/// The references `next` holds that `previous` did not, each with the field that names it.
#[derive(Debug, Default, PartialEq)]
pub struct NewReferences<'a> {
    pub orgs: Vec<(String, &'a OrgCode)>,
    pub areas: Vec<(String, &'a AreaCode)>,
    pub elements: Vec<(String, ElementId)>,
    pub document: Option<DocumentId>,
}

impl<'a> NewReferences<'a> {
    /// Whether the write adds no reference at all (so there is nothing to check).
    pub fn is_empty(&self) -> bool {
        self.orgs.is_empty() && self.areas.is_empty() && self.elements.is_empty() && self.document.is_none()
    }

    /// All of `next`'s references when it is new (`previous` is `None`).
    pub fn of(previous: Option<&Activity>, next: &'a Activity) -> Self {
        let lead = next.lead.iter().filter(|lead| previous.is_none_or(|p| p.lead.as_ref() != Some(*lead)));
        let participants = next
            .participants
            .iter()
            .enumerate()
            .filter(|(_, org)| previous.is_none_or(|p| !p.participants.contains(org)))
            .map(|(i, org)| (format!("participants[{i}]"), org));
        let areas = next
            .areas
            .iter()
            .enumerate()
            .filter(|(_, area)| previous.is_none_or(|p| !p.areas.contains(area)))
            .map(|(i, area)| (format!("areas[{i}]"), area))
            .collect();
        let elements = next
            .supports
            .iter()
            .enumerate()
            .filter(|(_, element)| previous.is_none_or(|p| !p.supports.contains(element)))
            .map(|(i, element)| (format!("supports[{i}]"), *element))
            .collect();
        let document_of = |activity: &Activity| activity.source.as_ref().and_then(|s| s.document);
        let document = document_of(next).filter(|document| previous.is_none_or(|p| document_of(p) != Some(*document)));
        Self {
            orgs: lead.map(|lead| ("lead".to_owned(), lead)).chain(participants).collect(),
            areas,
            elements,
            document,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eprime_domain::{ActivityId, ActivityKind, ActivityStatus, Marking, PartnerCode, SourceRef, Text, Title};

    fn activity() -> Activity {
        let org = |code: &str| OrgCode::parse(code).unwrap();
        Activity {
            id: ActivityId::new(),
            partnership: PartnerCode::parse("JPN").unwrap(),
            title: Title::parse("Staff talks").unwrap(),
            description: Text::parse("").unwrap(),
            kind: ActivityKind::Meeting,
            starts_on: None,
            ends_on: None,
            location: None,
            lead: Some(org("NATO")),
            participants: vec![org("FRA"), org("JPN")],
            supports: vec![ElementId::new()],
            areas: vec![AreaCode::parse("C3").unwrap()],
            status: ActivityStatus::Proposed,
            status_reason: None,
            outcome: Text::parse("").unwrap(),
            source: Some(SourceRef { document: Some(DocumentId::new()), locator: String::new(), quote: String::new() }),
            marking: Marking::public(),
            offering: None,
            version: 1,
            created_at: time::OffsetDateTime::UNIX_EPOCH,
            updated_at: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_new_activity_checks_every_reference() {
        let new = activity();
        let refs = NewReferences::of(None, &new);
        let fields: Vec<_> = refs.orgs.iter().map(|(field, _)| field.as_str()).collect();
        assert_eq!(fields, ["lead", "participants[0]", "participants[1]"]);
        assert_eq!(refs.areas.len(), 1);
        assert_eq!(refs.elements, vec![("supports[0]".to_owned(), new.supports[0])]);
        assert_eq!(refs.document, new.source.as_ref().unwrap().document);
    }

    #[test]
    fn an_update_checks_only_what_it_adds() {
        let before = activity();
        let mut after = before.clone();
        after.title = Title::parse("Renamed").unwrap();
        assert_eq!(NewReferences::of(Some(&before), &after), NewReferences::default(), "no new reference");

        after.participants.insert(0, OrgCode::parse("DEU").unwrap());
        after.supports.push(ElementId::new());
        after.source =
            Some(SourceRef { document: Some(DocumentId::new()), locator: String::new(), quote: String::new() });
        let refs = NewReferences::of(Some(&before), &after);
        assert_eq!(refs.orgs, vec![("participants[0]".to_owned(), &after.participants[0])]);
        assert!(refs.areas.is_empty());
        assert_eq!(refs.elements, vec![("supports[1]".to_owned(), after.supports[1])]);
        assert_eq!(refs.document, after.source.as_ref().unwrap().document);

        after.lead = Some(OrgCode::parse("JPN").unwrap());
        assert_eq!(NewReferences::of(Some(&before), &after).orgs[0].0, "lead", "a new lead is checked");
    }
}
