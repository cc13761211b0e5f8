//! From what a provider sends to a valid offering, every problem reported at once by field.

use serde::Deserialize;
use time::Date;

use super::MenuRefusal;
use super::lifecycle::OfferingStatus;
use super::offering::{Contact, Eligibility, EventType, OfferingCode, Prerequisites, Session};
use crate::access::{Principal, Role};
use crate::codes::{AreaCode, OrgCode};
use crate::dates::parse_date;
use crate::error::{FieldError, ValidationErrors};
use crate::text::{Text, Title};

const MAX_SESSIONS: usize = 24;
const MAX_AREAS: usize = 10;
const MAX_SEATS: u32 = 10_000;

/// One session as sent.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SessionInput {
    /// `YYYY-MM-DD`.
    pub starts_on: String,
    /// `YYYY-MM-DD`, not before `starts_on`.
    pub ends_on: String,
    /// A place, or `online`.
    pub location: String,
    /// ISO 639-1 code, e.g. `en`.
    #[serde(default)]
    pub language: Option<String>,
}

/// The body of `POST /api/v1/menu` (and of `PUT` on a draft). Unknown fields are refused.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OfferingInput {
    /// Menu code, e.g. `CYB-NSO-2026-014`.
    pub code: String,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Area-of-cooperation codes.
    pub areas: Vec<String>,
    /// `course`, `seminar`, `workshop`, `conference`, `exercise`, `expert_visit`,
    /// `mobile_training_team`, `e_learning`.
    pub event_type: String,
    /// The offering organisation; a provider's own by default (NATO staff must give it).
    #[serde(default)]
    pub provider: Option<String>,
    pub contact: Contact,
    pub sessions: Vec<SessionInput>,
    pub seats: u32,
    pub nation_quota: u32,
    pub eligibility: Eligibility,
    #[serde(default)]
    pub prerequisites: Prerequisites,
    /// `YYYY-MM-DD`, on or before the first session.
    pub nomination_deadline: String,
    #[serde(default)]
    pub fees: Option<String>,
    /// Whom else to release it to once published, besides the eligible partners (e.g. `ALLIES`).
    #[serde(default)]
    pub releasable_to: Option<Vec<String>>,
}

/// A validated offering, ready to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewOffering {
    pub code: OfferingCode,
    pub title: Title,
    pub description: Text,
    pub areas: Vec<AreaCode>,
    pub event_type: EventType,
    pub provider: Option<OrgCode>,
    pub contact: Contact,
    pub sessions: Vec<Session>,
    pub seats: u32,
    pub nation_quota: u32,
    pub eligibility: Eligibility,
    pub prerequisites: Prerequisites,
    pub nomination_deadline: Date,
    pub fees: String,
    pub requested_releasable_to: Vec<OrgCode>,
    /// `draft` for everything created through the API; the demo loader records the menu as it stands.
    pub status: OfferingStatus,
}

fn plain(field: &str, raw: &str, max: usize) -> Result<String, FieldError> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(FieldError::new(field, format!("must be one line of at most {max} characters")));
    }
    Ok(value.to_owned())
}

fn session(index: usize, input: SessionInput) -> Result<Session, ValidationErrors> {
    let at = |name: &str| format!("sessions[{index}].{name}");
    let mut errors = ValidationErrors::default();
    let starts_on = errors.check(parse_date(&at("starts_on"), &input.starts_on));
    let ends_on = errors.check(parse_date(&at("ends_on"), &input.ends_on));
    let location = errors.check(plain(&at("location"), &input.location, 200));
    let language = input.language.as_deref().unwrap_or("en").trim().to_ascii_lowercase();
    if language.len() != 2 || !language.bytes().all(|b| b.is_ascii_lowercase()) {
        errors.push(FieldError::new(at("language"), format!("`{language}` is not an ISO 639-1 code such as `en`")));
    }
    if let (Some(s), Some(e)) = (starts_on, ends_on)
        && e < s
    {
        errors.push(FieldError::new(at("ends_on"), format!("{e} is before the start, {s}")));
    }
    errors.into_result()?;
    match (starts_on, ends_on, location) {
        (Some(starts_on), Some(ends_on), Some(location)) => Ok(Session { starts_on, ends_on, location, language }),
        _ => Err(ValidationErrors::default()),
    }
}

impl NewOffering {
    pub fn validate(input: OfferingInput) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let code = errors.check(OfferingCode::parse(&input.code));
        let title = errors.check(Title::parse(&input.title));
        let description =
            errors.check(Text::parse(input.description.as_deref().unwrap_or("")).map_err(|e| e.at("description")));
        if input.areas.is_empty() || input.areas.len() > MAX_AREAS {
            errors.push(FieldError::new("areas", format!("give 1 to {MAX_AREAS} areas of cooperation")));
        }
        let mut areas = Vec::new();
        for (i, raw) in input.areas.iter().enumerate() {
            if let Some(area) = errors.check(AreaCode::parse(raw).map_err(|e| e.at(format!("areas[{i}]")))) {
                areas.push(area);
            }
        }
        areas.sort();
        areas.dedup();
        let event_type = errors.check(EventType::parse(&input.event_type));
        let provider = errors
            .check(input.provider.as_deref().map(|p| OrgCode::parse(p).map_err(|e| e.at("provider"))).transpose())
            .flatten();
        let contact_name = errors.check(plain("contact.name", &input.contact.name, 200));
        let contact_email =
            errors.check(super::nomination::email_address(&input.contact.email).map_err(|e| e.at("contact.email")));
        if input.sessions.is_empty() || input.sessions.len() > MAX_SESSIONS {
            errors.push(FieldError::new("sessions", format!("give 1 to {MAX_SESSIONS} sessions")));
        }
        let mut sessions = Vec::new();
        for (i, raw) in input.sessions.into_iter().enumerate() {
            match session(i, raw) {
                Ok(s) => sessions.push(s),
                Err(e) => errors.0.extend(e.0),
            }
        }
        sessions.sort_by_key(|s| (s.starts_on, s.ends_on));
        if !(1..=MAX_SEATS).contains(&input.seats) {
            errors.push(FieldError::new("seats", format!("{} is not between 1 and {MAX_SEATS}", input.seats)));
        }
        // A quota above the seats is meaningful: nominations beyond the seats wait on the list.
        if !(1..=MAX_SEATS).contains(&input.nation_quota) {
            errors.push(FieldError::new(
                "nation_quota",
                format!("{} is not between 1 and {MAX_SEATS}", input.nation_quota),
            ));
        }
        match &input.eligibility {
            Eligibility::Frameworks { frameworks } if frameworks.is_empty() => {
                errors.push(FieldError::new("eligibility.frameworks", "name at least one framework"))
            }
            Eligibility::Nations { nations } if nations.is_empty() => {
                errors.push(FieldError::new("eligibility.nations", "name at least one nation"))
            }
            _ => {}
        }
        if input.prerequisites.language_level > 5 {
            errors.push(FieldError::new(
                "prerequisites.language_level",
                format!("{} is not a STANAG 6001 level (0–5)", input.prerequisites.language_level),
            ));
        }
        let deadline = errors.check(parse_date("nomination_deadline", &input.nomination_deadline));
        if let (Some(deadline), Some(first)) = (deadline, sessions.first())
            && deadline > first.starts_on
        {
            errors.push(FieldError::new(
                "nomination_deadline",
                format!("{deadline} is after the first session starts ({})", first.starts_on),
            ));
        }
        let fees = input.fees.as_deref().map(str::trim).filter(|f| !f.is_empty()).unwrap_or("none");
        let fees = errors.check(plain("fees", fees, 200));
        let mut requested = Vec::new();
        for (i, raw) in input.releasable_to.unwrap_or_default().iter().enumerate() {
            if let Some(org) = errors.check(OrgCode::parse(raw).map_err(|e| e.at(format!("releasable_to[{i}]")))) {
                requested.push(org);
            }
        }
        errors.into_result()?;
        let missing = ValidationErrors::default;
        Ok(Self {
            code: code.ok_or_else(missing)?,
            title: title.ok_or_else(missing)?,
            description: description.ok_or_else(missing)?,
            areas,
            event_type: event_type.ok_or_else(missing)?,
            provider,
            contact: Contact { name: contact_name.ok_or_else(missing)?, email: contact_email.ok_or_else(missing)? },
            sessions,
            seats: input.seats,
            nation_quota: input.nation_quota,
            eligibility: input.eligibility,
            prerequisites: input.prerequisites,
            nomination_deadline: deadline.ok_or_else(missing)?,
            fees: fees.ok_or_else(missing)?,
            requested_releasable_to: requested,
            status: OfferingStatus::Draft,
        })
    }

    /// The provider the offering is stored under: a provider's own organisation (it may not offer
    /// in another's name), or the one NATO staff name.
    pub fn provider_for(&self, actor: &Principal) -> Result<OrgCode, MenuRefusal> {
        match actor.role() {
            Role::Provider => {
                let own = actor.binding.organisation.clone().ok_or_else(|| MenuRefusal::Forbidden("no org".into()))?;
                match &self.provider {
                    Some(other) if *other != own => Err(MenuRefusal::Forbidden(format!(
                        "a provider offers events in its own name ({own}), not {other}'s"
                    ))),
                    _ => Ok(own),
                }
            }
            r if r.is_nato_writer() => self.provider.clone().ok_or_else(|| {
                MenuRefusal::Invalid(FieldError::new(
                    "provider",
                    "NATO staff creating an offering must name its `provider`",
                ))
            }),
            role => Err(MenuRefusal::Forbidden(format!(
                "role `{}` cannot offer events; providers and NATO staff do",
                role.as_str()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::PartnerCode;

    pub(crate) fn sample() -> OfferingInput {
        OfferingInput {
            code: "CYB-NSO-2026-014".into(),
            title: "Cyber Defence Awareness Course".into(),
            description: Some("Five days on the basics of cyber defence.".into()),
            areas: vec!["CYD".into()],
            event_type: "course".into(),
            provider: None,
            contact: Contact { name: "Course Director".into(), email: "courses@nso.example".into() },
            sessions: vec![SessionInput {
                starts_on: "2026-05-04".into(),
                ends_on: "2026-05-08".into(),
                location: "Oberammergau, DEU".into(),
                language: None,
            }],
            seats: 30,
            nation_quota: 2,
            eligibility: Eligibility::Nations { nations: vec![PartnerCode::parse("JPN").unwrap()] },
            prerequisites: Prerequisites::default(),
            nomination_deadline: "2026-04-01".into(),
            fees: None,
            releasable_to: Some(vec!["ALLIES".into()]),
        }
    }

    #[test]
    fn a_complete_offering_validates() {
        let offering = NewOffering::validate(sample()).unwrap();
        assert_eq!(offering.code.as_str(), "CYB-NSO-2026-014");
        assert_eq!(offering.sessions[0].language, "en");
        assert_eq!(offering.fees, "none");
        assert_eq!(offering.status, OfferingStatus::Draft);
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let mut input = sample();
        input.seats = 0;
        input.nation_quota = 0;
        input.nomination_deadline = "2026-06-01".into();
        input.sessions[0].ends_on = "2026-05-01".into();
        input.areas = vec!["not an area".into()];
        input.eligibility = Eligibility::Nations { nations: vec![] };
        let errors = NewOffering::validate(input).unwrap_err();
        let fields: Vec<_> = errors.0.iter().map(|e| e.field.as_str()).collect();
        for expected in ["areas[0]", "sessions[0].ends_on", "seats", "nation_quota", "eligibility.nations"] {
            assert!(fields.contains(&expected), "{expected} missing from {fields:?}");
        }
    }
}
