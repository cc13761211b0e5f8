//! From what a caller sends to a valid activity: raw inputs (as JSON carries them) are
//! validated field by field, and every problem is reported at once with its field name.

use serde::{Deserialize, Deserializer};
use time::{Date, OffsetDateTime};

use super::{Activity, ActivityKind, ActivityStatus, SourceRef};
use crate::codes::{AreaCode, OrgCode, PartnerCode};
use crate::dates::parse_date;
use crate::error::{FieldError, ValidationErrors};
use crate::ids::{ActivityId, DocumentId, ElementId, OfferingId};
use crate::marking::{Classification, Marking};
use crate::text::{Text, Title};

const MAX_LIST: usize = 50;
const MAX_LOCATION_CHARS: usize = 200;

/// The body of a request creating an activity, before validation. Unknown fields are refused.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ActivityInput {
    /// ISO alpha-3 code of the partnership, e.g. `JPN`.
    pub partnership: String,
    pub title: String,
    /// One of the activity kinds (`meeting`, `exercise`, …).
    pub kind: String,
    #[serde(default)]
    pub description: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub starts_on: Option<String>,
    /// `YYYY-MM-DD`, not before `starts_on`.
    #[serde(default)]
    pub ends_on: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub lead: Option<String>,
    #[serde(default)]
    pub participants: Option<Vec<String>>,
    /// Ids of the partnership goals / priority areas / objectives it serves.
    #[serde(default)]
    pub supports: Option<Vec<String>>,
    /// Area-of-cooperation codes.
    #[serde(default)]
    pub areas: Option<Vec<String>>,
    #[serde(default)]
    pub outcome: Option<String>,
    #[serde(default)]
    pub source: Option<SourceRef>,
    /// `PUBLIC` or `NATO UNCLASSIFIED` (the default).
    #[serde(default)]
    pub marking: Option<String>,
    /// For NATO UNCLASSIFIED: organisations it is released to besides the partner (`ALLIES`, `FRA`).
    #[serde(default)]
    pub releasable_to: Option<Vec<String>>,
}

/// A validated new activity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewActivity {
    pub partnership: PartnerCode,
    pub title: Title,
    pub kind: ActivityKind,
    pub description: Text,
    pub starts_on: Option<Date>,
    pub ends_on: Option<Date>,
    pub location: Option<String>,
    pub lead: Option<OrgCode>,
    pub participants: Vec<OrgCode>,
    pub supports: Vec<ElementId>,
    pub areas: Vec<AreaCode>,
    pub outcome: Text,
    pub source: Option<SourceRef>,
    /// The menu event adopted (set by `POST /api/v1/menu/{id}/adopt`, never by the activity input).
    pub offering: Option<OfferingId>,
    pub marking: Marking,
    /// `proposed` for everything created through the API; the demo loader and importers record
    /// past activities with the status the sources give.
    pub status: ActivityStatus,
    pub status_reason: Option<String>,
}

impl NewActivity {
    pub fn validate(input: ActivityInput) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let partnership = errors.check(PartnerCode::parse(&input.partnership).map_err(|e| e.at("partnership")));
        let title = errors.check(Title::parse(&input.title));
        let kind = errors.check(ActivityKind::parse(&input.kind));
        let description = errors.check(text_field("description", input.description.as_deref()));
        let starts_on = errors.check(optional_date("starts_on", input.starts_on.as_deref())).flatten();
        let ends_on = errors.check(optional_date("ends_on", input.ends_on.as_deref())).flatten();
        let location = errors.check(location(input.location.as_deref())).flatten();
        let lead = errors
            .check(input.lead.as_deref().map(|l| OrgCode::parse(l).map_err(|e| e.at("lead"))).transpose())
            .flatten();
        let participants =
            errors.check(code_list("participants", input.participants, OrgCode::parse)).unwrap_or_default();
        let supports = errors.check(id_list("supports", input.supports)).unwrap_or_default();
        let areas = errors.check(code_list("areas", input.areas, AreaCode::parse)).unwrap_or_default();
        let outcome = errors.check(text_field("outcome", input.outcome.as_deref()));
        let source = errors.check(source(input.source));
        let marking = errors.check(marking(input.marking.as_deref(), input.releasable_to)).flatten();
        errors.check(date_order(starts_on, ends_on));
        errors.into_result()?;
        // Every value was checked above; the `?`s below cannot fail once `errors` is empty.
        let partnership = partnership.ok_or_else(ValidationErrors::default)?;
        let marking = marking.unwrap_or_default();
        Ok(Self {
            marking: marking_for(&partnership, marking),
            partnership,
            title: title.ok_or_else(ValidationErrors::default)?,
            kind: kind.ok_or_else(ValidationErrors::default)?,
            description: description.ok_or_else(ValidationErrors::default)?,
            starts_on,
            ends_on,
            location,
            lead,
            participants,
            supports,
            areas,
            outcome: outcome.ok_or_else(ValidationErrors::default)?,
            source: source.flatten(),
            offering: None,
            status: ActivityStatus::Proposed,
            status_reason: None,
        })
    }

    /// The activity as first stored: version 1, created and changed `at`, its lists in their one
    /// order (sorted, each entry once, as a store reads them back) and released to its own partner
    /// whatever the caller built.
    pub fn into_activity(self, id: ActivityId, at: OffsetDateTime) -> Activity {
        Activity {
            id,
            // Enforced here, not only at input: an activity is always released to its own partner.
            marking: marking_for(&self.partnership, self.marking),
            partnership: self.partnership,
            title: self.title,
            description: self.description,
            kind: self.kind,
            starts_on: self.starts_on,
            ends_on: self.ends_on,
            location: self.location,
            lead: self.lead,
            participants: canonical(self.participants),
            supports: canonical(self.supports),
            areas: canonical(self.areas),
            status: self.status,
            status_reason: self.status_reason,
            outcome: self.outcome,
            source: self.source,
            offering: self.offering,
            version: 1,
            created_at: at,
            updated_at: at,
        }
    }
}

/// A list in the one order every activity keeps it in: sorted, each entry once. A write returns the
/// record exactly as it is read back, so readers may keep what a write returned.
fn canonical<T: Ord>(mut list: Vec<T>) -> Vec<T> {
    list.sort();
    list.dedup();
    list
}

/// The body of a `PATCH`: only the fields present change; `null` clears an optional field.
/// Status moves through transitions, and the partnership never changes.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ActivityPatch {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub starts_on: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub ends_on: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub location: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub lead: Option<Option<String>>,
    #[serde(default)]
    pub participants: Option<Vec<String>>,
    #[serde(default)]
    pub supports: Option<Vec<String>>,
    #[serde(default)]
    pub areas: Option<Vec<String>>,
    #[serde(default)]
    pub outcome: Option<String>,
    #[serde(default)]
    pub marking: Option<String>,
    #[serde(default)]
    pub releasable_to: Option<Vec<String>>,
}

/// A validated change to an activity. `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ActivityChanges {
    pub title: Option<Title>,
    pub kind: Option<ActivityKind>,
    pub description: Option<Text>,
    pub starts_on: Option<Option<Date>>,
    pub ends_on: Option<Option<Date>>,
    pub location: Option<Option<String>>,
    pub lead: Option<Option<OrgCode>>,
    pub participants: Option<Vec<OrgCode>>,
    pub supports: Option<Vec<ElementId>>,
    pub areas: Option<Vec<AreaCode>>,
    pub outcome: Option<Text>,
    pub marking: Option<Marking>,
}

impl ActivityChanges {
    pub fn validate(patch: ActivityPatch) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let changes = Self {
            title: patch.title.and_then(|t| errors.check(Title::parse(&t))),
            kind: patch.kind.and_then(|k| errors.check(ActivityKind::parse(&k))),
            description: patch.description.and_then(|d| errors.check(text_field("description", Some(&d)))),
            starts_on: patch.starts_on.and_then(|d| errors.check(optional_date("starts_on", d.as_deref()))),
            ends_on: patch.ends_on.and_then(|d| errors.check(optional_date("ends_on", d.as_deref()))),
            location: patch.location.and_then(|l| errors.check(location(l.as_deref()))),
            lead: patch.lead.and_then(|l| {
                errors.check(l.as_deref().map(|l| OrgCode::parse(l).map_err(|e| e.at("lead"))).transpose())
            }),
            participants: patch
                .participants
                .and_then(|p| errors.check(code_list("participants", Some(p), OrgCode::parse))),
            supports: patch.supports.and_then(|s| errors.check(id_list("supports", Some(s)))),
            areas: patch.areas.and_then(|a| errors.check(code_list("areas", Some(a), AreaCode::parse))),
            outcome: patch.outcome.and_then(|o| errors.check(text_field("outcome", Some(&o)))),
            marking: match (patch.marking, patch.releasable_to) {
                (None, None) => None,
                (m, r) => errors.check(marking(m.as_deref(), r)).flatten(),
            },
        };
        errors.into_result()?;
        if changes == Self::default() {
            return Err(FieldError::new("body", "names no field to change").into());
        }
        Ok(changes)
    }

    /// The activity as it would be after these changes, checked as a whole (dates in order).
    /// Version and timestamps are the store's to set.
    pub fn apply_to(self, activity: &Activity) -> Result<Activity, ValidationErrors> {
        let mut next = activity.clone();
        if let Some(v) = self.title {
            next.title = v;
        }
        if let Some(v) = self.kind {
            next.kind = v;
        }
        if let Some(v) = self.description {
            next.description = v;
        }
        if let Some(v) = self.starts_on {
            next.starts_on = v;
        }
        if let Some(v) = self.ends_on {
            next.ends_on = v;
        }
        if let Some(v) = self.location {
            next.location = v;
        }
        if let Some(v) = self.lead {
            next.lead = v;
        }
        if let Some(v) = self.participants {
            next.participants = canonical(v);
        }
        if let Some(v) = self.supports {
            next.supports = canonical(v);
        }
        if let Some(v) = self.areas {
            next.areas = canonical(v);
        }
        if let Some(v) = self.outcome {
            next.outcome = v;
        }
        if let Some(v) = self.marking {
            next.marking = marking_for(&next.partnership, v);
        }
        date_order(next.starts_on, next.ends_on)?;
        Ok(next)
    }
}

/// An activity's programme belongs to both NATO and the partner: a NATO UNCLASSIFIED activity
/// is always released to its own partner, whatever else it is released to.
pub fn marking_for(partnership: &PartnerCode, marking: Marking) -> Marking {
    if marking.is_public() {
        return marking;
    }
    let mut orgs = marking.releasable_list().to_vec();
    orgs.push(partnership.as_org());
    Marking::releasable_to(orgs)
}

fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

fn text_field(field: &str, raw: Option<&str>) -> Result<Text, FieldError> {
    Text::parse(raw.unwrap_or_default()).map_err(|e| e.at(field))
}

fn optional_date(field: &str, raw: Option<&str>) -> Result<Option<Date>, FieldError> {
    raw.map(|r| parse_date(field, r)).transpose()
}

fn date_order(starts_on: Option<Date>, ends_on: Option<Date>) -> Result<(), FieldError> {
    match (starts_on, ends_on) {
        (Some(start), Some(end)) if end < start => {
            Err(FieldError::new("ends_on", format!("{end} is before starts_on {start}")))
        }
        _ => Ok(()),
    }
}

fn location(raw: Option<&str>) -> Result<Option<String>, FieldError> {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    if raw.chars().any(char::is_control) {
        return Err(FieldError::new("location", "must be one line"));
    }
    if raw.chars().count() > MAX_LOCATION_CHARS {
        return Err(FieldError::new("location", format!("at most {MAX_LOCATION_CHARS} characters")));
    }
    Ok(Some(raw.to_owned()))
}

fn code_list<T: Ord>(
    field: &str,
    raw: Option<Vec<String>>,
    parse: impl Fn(&str) -> Result<T, FieldError>,
) -> Result<Vec<T>, FieldError> {
    let raw = raw.unwrap_or_default();
    if raw.len() > MAX_LIST {
        return Err(FieldError::new(field, format!("at most {MAX_LIST} entries")));
    }
    let codes = raw
        .iter()
        .enumerate()
        .map(|(i, r)| parse(r).map_err(|e| e.at(format!("{field}[{i}]"))))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(canonical(codes))
}

fn id_list(field: &str, raw: Option<Vec<String>>) -> Result<Vec<ElementId>, FieldError> {
    let raw = raw.unwrap_or_default();
    if raw.len() > MAX_LIST {
        return Err(FieldError::new(field, format!("at most {MAX_LIST} entries")));
    }
    let ids = raw
        .iter()
        .enumerate()
        .map(|(i, r)| {
            r.parse::<ElementId>().map_err(|_| FieldError::new(format!("{field}[{i}]"), format!("`{r}` is not an id")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(canonical(ids))
}

fn source(raw: Option<SourceRef>) -> Result<Option<SourceRef>, FieldError> {
    let Some(source) = raw else { return Ok(None) };
    if source.locator.chars().count() > 300 || source.quote.chars().count() > Text::MAX_CHARS {
        return Err(FieldError::new("source", "locator at most 300 characters, quote at most 20,000"));
    }
    let _: Option<DocumentId> = source.document;
    Ok(Some(source))
}

fn marking(classification: Option<&str>, releasable_to: Option<Vec<String>>) -> Result<Option<Marking>, FieldError> {
    let classification = classification.map(Classification::parse).transpose()?.unwrap_or_default();
    let orgs = code_list("releasable_to", releasable_to, OrgCode::parse)?;
    Marking::new(classification, orgs).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ActivityInput {
        ActivityInput {
            partnership: "JPN".into(),
            title: "Staff talks".into(),
            kind: "meeting".into(),
            starts_on: Some("2026-12-01".into()),
            ends_on: Some("2026-12-02".into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_minimal_input_is_a_proposed_activity_released_to_its_partner() {
        let new = NewActivity::validate(input()).unwrap();
        assert_eq!(new.status, ActivityStatus::Proposed);
        assert_eq!(new.marking.banner(), "NATO UNCLASSIFIED Releasable to JPN");
    }

    #[test]
    fn an_activity_keeps_its_lists_sorted_and_each_entry_once_however_built() {
        let org = |c: &str| OrgCode::parse(c).unwrap();
        let area = |c: &str| AreaCode::parse(c).unwrap();
        let mut new = NewActivity::validate(input()).unwrap();
        new.participants = vec![org("NDC"), org("JPN"), org("NDC")];
        new.areas = vec![area("TRN"), area("CYD")];
        let at = OffsetDateTime::UNIX_EPOCH;
        let created = new.into_activity(ActivityId::new(), at);
        assert_eq!(created.participants, [org("JPN"), org("NDC")]);
        assert_eq!(created.areas, [area("CYD"), area("TRN")]);
        assert_eq!((created.version, created.created_at, created.updated_at), (1, at, at));
        let changes =
            ActivityChanges { participants: Some(vec![org("FRA"), org("FRA"), org("AUS")]), ..Default::default() };
        assert_eq!(changes.apply_to(&created).unwrap().participants, [org("AUS"), org("FRA")]);
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let bad = ActivityInput {
            partnership: "Japan".into(),
            title: "".into(),
            kind: "party".into(),
            starts_on: Some("2026-02-30".into()),
            lead: Some("n d c".into()),
            participants: Some(vec!["JPN".into(), "?".into()]),
            marking: Some("SECRET".into()),
            ..input()
        };
        let fields: Vec<_> = NewActivity::validate(bad).unwrap_err().0.into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["partnership", "title", "kind", "starts_on", "lead", "participants[1]", "marking"]);
    }

    #[test]
    fn the_end_cannot_precede_the_start() {
        let bad = ActivityInput { starts_on: Some("2026-12-02".into()), ends_on: Some("2026-12-01".into()), ..input() };
        let errors = NewActivity::validate(bad).unwrap_err();
        assert_eq!(errors.0[0].field, "ends_on");
    }

    #[test]
    fn public_records_take_no_releasability() {
        let bad = ActivityInput { marking: Some("PUBLIC".into()), releasable_to: Some(vec!["FRA".into()]), ..input() };
        assert_eq!(NewActivity::validate(bad).unwrap_err().0[0].field, "releasable_to");
    }

    #[test]
    fn patches_distinguish_absent_from_null() {
        let patch: ActivityPatch = serde_json::from_str(r#"{"ends_on": null, "title": "New"}"#).unwrap();
        let changes = ActivityChanges::validate(patch).unwrap();
        assert_eq!(changes.ends_on, Some(None));
        assert_eq!(changes.starts_on, None);
        let empty: ActivityPatch = serde_json::from_str("{}").unwrap();
        assert!(ActivityChanges::validate(empty).is_err());
        assert!(serde_json::from_str::<ActivityPatch>(r#"{"status": "approved"}"#).is_err());
    }
}
