//! Keeping an [`ActivityTally`] up to date from the change log instead of counting again.
//!
//! An activity's change-log entry holds the record before and after the change. What the activity
//! contributed to a tally — its status, its start year, the elements it supports, if the scope may read
//! its marking — is taken out as it was and put back as it is. Pure: the caller fetches the entries and
//! the map of each element to the root of its branch (an element's parent, or itself).

use std::collections::{BTreeSet, HashMap};

use eprime_domain::{ActivityStatus, ElementId, ReadScope};

use crate::change::marking_of;
use crate::query::{ActivityTally, StatusCounts, status_index};
use crate::{ChangeEntry, EntityType};

/// Why a change could not be followed; the tally must then be counted again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unfollowable {
    /// Not an activity (a document, say, which can move elements between branches).
    NotAnActivity,
    /// The logged record lacks or garbles a field the tally needs.
    Unreadable,
    /// It supports an element the map does not know.
    UnknownElement(ElementId),
    /// Taking the old record out would make a count negative: the tally was not what the log says.
    Inconsistent,
}

/// What one activity record adds to a tally.
struct Contribution {
    status: ActivityStatus,
    year: Option<i32>,
    elements: Vec<ElementId>,
    branches: BTreeSet<ElementId>,
}

impl Contribution {
    /// The fields of a record that `of` reads: a tally parses only these of each logged record.
    const FIELDS: &[&str] = &["status", "starts_on", "supports", "marking", "releasable_to", "document"];

    /// The record's contribution for `scope`: none if the scope may not read it.
    fn of(
        record: &serde_json::Value,
        scope: &ReadScope,
        branch_of: &HashMap<ElementId, ElementId>,
    ) -> Result<Option<Self>, Unfollowable> {
        let marking = marking_of(record).ok_or(Unfollowable::Unreadable)?;
        if !scope.can_read(&marking) {
            return Ok(None);
        }
        let status = record
            .get("status")
            .and_then(|s| s.as_str())
            .and_then(|s| ActivityStatus::parse(s).ok())
            .ok_or(Unfollowable::Unreadable)?;
        let year = match record.get("starts_on") {
            None | Some(serde_json::Value::Null) => None,
            Some(date) => Some(
                date.as_str()
                    .and_then(|d| d.get(..4))
                    .and_then(|y| y.parse::<i32>().ok())
                    .ok_or(Unfollowable::Unreadable)?,
            ),
        };
        let elements = record
            .get("supports")
            .and_then(|s| s.as_array())
            .ok_or(Unfollowable::Unreadable)?
            .iter()
            .map(|e| e.as_str().and_then(|e| e.parse::<ElementId>().ok()).ok_or(Unfollowable::Unreadable))
            .collect::<Result<Vec<_>, _>>()?;
        let branches = elements
            .iter()
            .map(|e| branch_of.get(e).copied().ok_or(Unfollowable::UnknownElement(*e)))
            .collect::<Result<BTreeSet<_>, _>>()?;
        Ok(Some(Self { status, year, elements, branches }))
    }
}

impl ActivityTally {
    /// Applies one logged change of an activity: what the record contributed before is taken out,
    /// what it contributes after is put in, each only if `scope` may read it as it then was. On
    /// `Err` the tally may be half-changed and must be thrown away.
    pub fn follow(
        &mut self,
        change: &ChangeEntry,
        scope: &ReadScope,
        branch_of: &HashMap<ElementId, ElementId>,
    ) -> Result<(), Unfollowable> {
        if change.entity != EntityType::Activity {
            return Err(Unfollowable::NotAnActivity);
        }
        if let Some(before) = &change.before
            && let Some(old) = Contribution::of(&before.fields(Contribution::FIELDS), scope, branch_of)?
        {
            self.count(&old, false)?;
        }
        if let Some(after) = &change.after
            && let Some(new) = Contribution::of(&after.fields(Contribution::FIELDS), scope, branch_of)?
        {
            self.count(&new, true)?;
        }
        Ok(())
    }

    fn count(&mut self, c: &Contribution, add: bool) -> Result<(), Unfollowable> {
        let i = status_index(c.status);
        let bump = |counts: &mut StatusCounts| -> Result<(), Unfollowable> {
            counts[i] = if add { counts[i] + 1 } else { counts[i].checked_sub(1).ok_or(Unfollowable::Inconsistent)? };
            Ok(())
        };
        bump(&mut self.by_status)?;
        if let Some(year) = c.year {
            bump(self.by_year.entry(year).or_default())?;
        }
        for element in &c.elements {
            bump(self.by_element.entry(*element).or_default())?;
        }
        for branch in &c.branches {
            bump(self.by_branch.entry(*branch).or_default())?;
        }
        // Keys whose counts fell to zero are dropped, so a followed tally equals a recounted one.
        for map in [&mut self.by_element, &mut self.by_branch] {
            map.retain(|_, counts| counts.iter().any(|n| *n > 0));
        }
        self.by_year.retain(|_, counts| counts.iter().any(|n| *n > 0));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use eprime_domain::{Caller, PartnerCode, Principal, Role, RoleBinding, UserId};
    use serde_json::json;
    use time::OffsetDateTime;

    use super::*;
    use crate::Operation;

    fn activity(status: &str, starts: Option<&str>, supports: &[ElementId], releasable: &[&str]) -> serde_json::Value {
        json!({"status": status, "starts_on": starts, "supports": supports,
               "marking": "NATO UNCLASSIFIED", "releasable_to": releasable})
    }

    fn change(before: Option<serde_json::Value>, after: Option<serde_json::Value>) -> ChangeEntry {
        ChangeEntry {
            seq: 1,
            at: OffsetDateTime::UNIX_EPOCH,
            actor: None,
            entity: EntityType::Activity,
            entity_id: "a".into(),
            partner: Some("JPN".into()),
            operation: if before.is_some() { Operation::Update } else { Operation::Create },
            before: before.map(Into::into),
            after: after.map(Into::into),
        }
    }

    #[test]
    fn a_followed_tally_equals_a_recounted_one() {
        let (issue, goal_a, goal_b) = (ElementId::new(), ElementId::new(), ElementId::new());
        let branch_of = HashMap::from([(issue, issue), (goal_a, issue), (goal_b, issue)]);
        let japan = partner("JPN");
        let mut tally = ActivityTally::default();
        let created = activity("proposed", Some("2026-12-01"), &[goal_a, goal_b], &["JPN"]);
        tally.follow(&change(None, Some(created.clone())), &japan, &branch_of).unwrap();
        let approved = activity("approved", Some("2027-01-10"), &[goal_a], &["JPN"]);
        tally.follow(&change(Some(created), Some(approved)), &japan, &branch_of).unwrap();
        let mut expected = ActivityTally::default();
        ActivityTally::add(&mut expected.by_year, 2027, ActivityStatus::Approved, 1);
        ActivityTally::add(&mut expected.by_element, goal_a, ActivityStatus::Approved, 1);
        ActivityTally::add(&mut expected.by_branch, issue, ActivityStatus::Approved, 1);
        expected.by_status[status_index(ActivityStatus::Approved)] = 1;
        assert_eq!(tally, expected, "each activity once per branch; emptied keys gone");
    }

    #[test]
    fn a_record_the_scope_may_not_read_counts_for_nothing_and_a_release_counts_from_then_on() {
        let goal = ElementId::new();
        let branch_of = HashMap::from([(goal, goal)]);
        let korea = partner("KOR");
        let mut tally = ActivityTally::default();
        let hidden = activity("proposed", None, &[goal], &["JPN"]);
        tally.follow(&change(None, Some(hidden.clone())), &korea, &branch_of).unwrap();
        assert_eq!(tally, ActivityTally::default());
        let released = activity("proposed", None, &[goal], &["JPN", "KOR"]);
        tally.follow(&change(Some(hidden), Some(released)), &korea, &branch_of).unwrap();
        assert_eq!(tally.total(), 1);
    }

    #[test]
    fn what_cannot_be_followed_says_why() {
        let goal = ElementId::new();
        let scope = ReadScope::system();
        let mut tally = ActivityTally::default();
        let unknown = activity("proposed", None, &[goal], &[]);
        assert_eq!(
            tally.follow(&change(None, Some(unknown.clone())), &scope, &HashMap::new()),
            Err(Unfollowable::UnknownElement(goal))
        );
        let branch_of = HashMap::from([(goal, goal)]);
        assert_eq!(
            tally.follow(&change(Some(unknown), None), &scope, &branch_of),
            Err(Unfollowable::Inconsistent),
            "taking out what was never counted"
        );
        let mut document = change(None, Some(json!({})));
        document.entity = EntityType::Document;
        assert_eq!(tally.follow(&document, &scope, &branch_of), Err(Unfollowable::NotAnActivity));
        let garbled = json!({"status": "partying", "supports": [], "marking": "PUBLIC"});
        assert_eq!(tally.follow(&change(None, Some(garbled)), &scope, &branch_of), Err(Unfollowable::Unreadable));
    }

    /// What a partner officer of `code` may read.
    fn partner(code: &str) -> ReadScope {
        let binding = RoleBinding::new(Role::PartnerOfficer, Some(PartnerCode::parse(code).unwrap()), None).unwrap();
        Caller::User(Principal { user_id: UserId::new(), username: "officer".into(), binding }).read_scope()
    }
}
