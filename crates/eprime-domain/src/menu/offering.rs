//! What an offering is: an event a provider offers to partners in the menu.

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use super::feedback::Report;
use super::lifecycle::OfferingStatus;
use super::nomination::Clearance;
use crate::codes::{AreaCode, OrgCode, PartnerCode};
use crate::error::FieldError;
use crate::ids::OfferingId;
use crate::marking::Marking;
use crate::partnership::Framework;
use crate::text::{Text, Title};

/// What sort of event is offered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    Course,
    Seminar,
    Workshop,
    Conference,
    Exercise,
    ExpertVisit,
    MobileTrainingTeam,
    ELearning,
}

impl EventType {
    pub const ALL: [EventType; 8] = [
        Self::Course,
        Self::Seminar,
        Self::Workshop,
        Self::Conference,
        Self::Exercise,
        Self::ExpertVisit,
        Self::MobileTrainingTeam,
        Self::ELearning,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Course => "course",
            Self::Seminar => "seminar",
            Self::Workshop => "workshop",
            Self::Conference => "conference",
            Self::Exercise => "exercise",
            Self::ExpertVisit => "expert_visit",
            Self::MobileTrainingTeam => "mobile_training_team",
            Self::ELearning => "e_learning",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        Self::ALL.into_iter().find(|t| t.as_str() == raw).ok_or_else(|| {
            let names: Vec<_> = Self::ALL.iter().map(|t| t.as_str()).collect();
            FieldError::new("event_type", format!("`{raw}` is not an event type; expected one of {}", names.join(", ")))
        })
    }
}

/// The menu code of an offering, e.g. `CYB-NSO-2026-014`: 3–40 capital letters, digits or '-'.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, example = "CYB-NSO-2026-014"))]
#[serde(into = "String")]
pub struct OfferingCode(String);

impl OfferingCode {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let code = raw.trim().to_ascii_uppercase();
        let ok = (3..=40).contains(&code.len())
            && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && code.bytes().next().is_some_and(|b| b.is_ascii_alphabetic());
        if ok {
            Ok(Self(code))
        } else {
            Err(FieldError::new(
                "code",
                format!("`{raw}` is not a menu code (3–40 letters, digits or '-', starting with a letter)"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<OfferingCode> for String {
    fn from(code: OfferingCode) -> Self {
        code.0
    }
}

impl std::fmt::Display for OfferingCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who answers questions about the offering.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Contact {
    pub name: String,
    pub email: String,
}

/// One iteration of an event: when, where, in which language.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Session {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub starts_on: Date,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub ends_on: Date,
    /// A place ("Oberammergau, DEU") or `online`.
    pub location: String,
    /// ISO 639-1 code of the working language (`en`, `fr`).
    pub language: String,
}

impl Session {
    pub fn is_online(&self) -> bool {
        self.location.eq_ignore_ascii_case("online")
    }
}

/// Which partners may take part.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Eligibility {
    /// Every partner nation.
    AllPartners,
    /// The partners of these frameworks (e.g. partners across the globe).
    Frameworks { frameworks: Vec<Framework> },
    /// These nations only.
    Nations { nations: Vec<PartnerCode> },
}

impl Eligibility {
    /// Whether `partner` (whose partnership is in `framework`, when it has one) may take part.
    pub fn admits(&self, partner: &PartnerCode, framework: Option<Framework>) -> bool {
        match self {
            Self::AllPartners => true,
            Self::Frameworks { frameworks } => framework.is_some_and(|f| frameworks.contains(&f)),
            Self::Nations { nations } => nations.contains(partner),
        }
    }

    /// The audiences a published offering is released to, given every known partnership and its
    /// framework: the group `PARTNERS` for all partners, otherwise the admitted nations.
    pub fn audiences(&self, partnerships: &[(PartnerCode, Framework)]) -> Vec<OrgCode> {
        match self {
            Self::AllPartners => vec![OrgCode::partners()],
            Self::Frameworks { .. } => partnerships
                .iter()
                .filter(|(partner, framework)| self.admits(partner, Some(*framework)))
                .map(|(partner, _)| partner.as_org())
                .collect(),
            Self::Nations { nations } => nations.iter().map(PartnerCode::as_org).collect(),
        }
    }
}

/// What a participant must bring.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Prerequisites {
    /// The security clearance a participant must hold.
    #[serde(default)]
    pub clearance: Clearance,
    /// The minimum STANAG 6001 level (0–5) in the session's language.
    #[serde(default)]
    pub language_level: u8,
}

/// An event offered in the menu.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Offering {
    pub id: OfferingId,
    pub code: OfferingCode,
    pub title: Title,
    pub description: Text,
    /// Areas of Cooperation of the menu.
    pub areas: Vec<AreaCode>,
    pub event_type: EventType,
    /// The organisation offering it (a school, Centre of Excellence, training centre or Ally).
    pub provider: OrgCode,
    pub contact: Contact,
    /// Its iterations, earliest first.
    pub sessions: Vec<Session>,
    /// Seats in all.
    pub seats: u32,
    /// Nominations one nation may have open (nominated, accepted or waitlisted) at once.
    pub nation_quota: u32,
    pub eligibility: Eligibility,
    pub prerequisites: Prerequisites,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub nomination_deadline: Date,
    /// Fees, as the provider states them ("none", "EUR 250 tuition").
    pub fees: String,
    pub status: OfferingStatus,
    /// Why it was returned for revision or cancelled.
    pub status_reason: Option<String>,
    /// Accepted nominations.
    pub seats_taken: u32,
    /// Nominations on the waiting list.
    pub waitlisted: u32,
    /// The after-action report, once filed.
    pub report: Option<Report>,
    /// Who may see it. Until published: NATO and its provider; from publication: also the
    /// eligible partners and whoever the provider released it to (e.g. `ALLIES`).
    #[serde(flatten)]
    pub marking: Marking,
    /// Releasability the provider asked for, kept so publication can widen the marking.
    pub requested_releasable_to: Vec<OrgCode>,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: OffsetDateTime,
}

impl Offering {
    pub fn open_seats(&self) -> u32 {
        self.seats.saturating_sub(self.seats_taken)
    }

    pub fn first_day(&self) -> Option<Date> {
        self.sessions.iter().map(|s| s.starts_on).min()
    }

    pub fn last_day(&self) -> Option<Date> {
        self.sessions.iter().map(|s| s.ends_on).max()
    }
}

/// The marking an offering carries in `status`: NATO and the provider always; once published,
/// also the eligible audiences and the releasability the provider asked for. A menu event is
/// never public: the menu is for partners, and only the eligible ones see an event.
pub fn offering_marking(
    status: OfferingStatus,
    provider: &OrgCode,
    eligible: &[OrgCode],
    requested: &[OrgCode],
) -> Marking {
    let mut orgs = vec![provider.clone()];
    if status.is_published() {
        orgs.extend(eligible.iter().cloned());
        orgs.extend(requested.iter().cloned());
    }
    Marking::releasable_to(orgs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(code: &str) -> PartnerCode {
        PartnerCode::parse(code).unwrap()
    }

    #[test]
    fn eligibility_admits_and_releases() {
        let all = Eligibility::AllPartners;
        assert!(all.admits(&p("JPN"), None));
        assert_eq!(all.audiences(&[]), vec![OrgCode::partners()]);
        let pag = Eligibility::Frameworks { frameworks: vec![Framework::PartnersAcrossTheGlobe] };
        let known = [(p("JPN"), Framework::PartnersAcrossTheGlobe), (p("UKR"), Framework::PartnershipForPeace)];
        assert!(pag.admits(&p("JPN"), Some(Framework::PartnersAcrossTheGlobe)));
        assert!(!pag.admits(&p("UKR"), Some(Framework::PartnershipForPeace)));
        assert_eq!(pag.audiences(&known), vec![p("JPN").as_org()]);
        let listed = Eligibility::Nations { nations: vec![p("KOR")] };
        assert!(!listed.admits(&p("JPN"), Some(Framework::PartnersAcrossTheGlobe)));
    }

    #[test]
    fn unpublished_offerings_are_seen_by_their_provider_only() {
        let nso = OrgCode::parse("NSO").unwrap();
        let eligible = [p("JPN").as_org()];
        let draft = offering_marking(OfferingStatus::Draft, &nso, &eligible, &[OrgCode::allies()]);
        assert_eq!(draft.banner(), "NATO UNCLASSIFIED Releasable to NSO");
        let published = offering_marking(OfferingStatus::Published, &nso, &eligible, &[OrgCode::allies()]);
        assert_eq!(published.banner(), "NATO UNCLASSIFIED Releasable to ALLIES, JPN, NSO");
        let held = offering_marking(OfferingStatus::Held, &nso, &eligible, &[]);
        assert!(!held.is_public());
        assert_eq!(held.releasable_list().len(), 2);
    }

    #[test]
    fn codes_are_checked() {
        assert_eq!(OfferingCode::parse(" cyb-nso-2026-014 ").unwrap().as_str(), "CYB-NSO-2026-014");
        assert!(OfferingCode::parse("1AB").is_err());
        assert!(OfferingCode::parse("A B").is_err());
    }
}
