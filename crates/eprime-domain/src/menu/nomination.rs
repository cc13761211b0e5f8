//! Nominations: a partner names a participant for an offering; the provider accepts, waitlists
//! or rejects; a freed seat goes to the first on the waiting list.
//!
//! Seats and quotas are checked here, on counts the store reads *inside* the write transaction
//! that also records the nomination, so concurrent nominations cannot overbook.

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use super::MenuRefusal;
use super::feedback::{Attendance, Feedback};
use super::lifecycle::OfferingStatus;
use super::offering::{Offering, OfferingCode};
use crate::access::{Principal, Role};
use crate::codes::{OrgCode, PartnerCode};
use crate::error::{FieldError, ValidationErrors};
use crate::ids::{NominationId, OfferingId};
use crate::marking::Marking;
use crate::partnership::Framework;

/// A security clearance, lowest first (so a participant qualifies when theirs is at least the
/// required one).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Clearance {
    #[default]
    None,
    NatoRestricted,
    NatoConfidential,
    NatoSecret,
}

impl Clearance {
    pub const ALL: [Clearance; 4] = [Self::None, Self::NatoRestricted, Self::NatoConfidential, Self::NatoSecret];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::NatoRestricted => "nato_restricted",
            Self::NatoConfidential => "nato_confidential",
            Self::NatoSecret => "nato_secret",
        }
    }

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        Self::ALL.into_iter().find(|c| c.as_str() == raw).ok_or_else(|| {
            let names: Vec<_> = Self::ALL.iter().map(|c| c.as_str()).collect();
            FieldError::new(field, format!("`{raw}` is not a clearance; expected one of {}", names.join(", ")))
        })
    }
}

/// The person nominated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Participant {
    pub name: String,
    pub rank: String,
    pub organisation: String,
    /// Also how a participant's own account (username = e-mail) finds its nominations.
    pub email: String,
    pub clearance: Clearance,
    /// STANAG 6001 level (0–5) in the event's language.
    pub language_level: u8,
}

/// Where a nomination stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NominationStatus {
    /// Waiting for the provider's decision.
    Nominated,
    Accepted,
    Waitlisted,
    Rejected,
    Withdrawn,
}

impl NominationStatus {
    pub const ALL: [NominationStatus; 5] =
        [Self::Nominated, Self::Accepted, Self::Waitlisted, Self::Rejected, Self::Withdrawn];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Nominated => "nominated",
            Self::Accepted => "accepted",
            Self::Waitlisted => "waitlisted",
            Self::Rejected => "rejected",
            Self::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| FieldError::new("status", format!("`{raw}` is not a nomination status")))
    }

    /// Whether it counts against the nation's quota (it is still in play).
    pub fn is_open(self) -> bool {
        matches!(self, Self::Nominated | Self::Accepted | Self::Waitlisted)
    }
}

/// A participant nominated for an offering.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Nomination {
    pub id: NominationId,
    pub offering: OfferingId,
    pub offering_code: OfferingCode,
    pub offering_title: String,
    pub provider: OrgCode,
    /// The nominating nation.
    pub nation: PartnerCode,
    pub participant: Participant,
    pub status: NominationStatus,
    /// Why it was rejected or withdrawn.
    pub status_reason: Option<String>,
    /// Position on the waiting list (1 = next to be promoted) while waitlisted.
    pub waitlist_position: Option<u32>,
    pub attendance: Option<Attendance>,
    pub feedback: Option<Feedback>,
    /// Username of the officer who nominated.
    pub nominated_by: String,
    /// Released to the nominating nation and the provider (and seen by NATO).
    #[serde(flatten)]
    pub marking: Marking,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: OffsetDateTime,
}

/// The marking of a nomination of `nation` to an offering of `provider`.
pub fn nomination_marking(nation: &PartnerCode, provider: &OrgCode) -> Marking {
    Marking::releasable_to([nation.as_org(), provider.clone()])
}

/// The body of `POST /api/v1/menu/{id}/nominations`.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NominationInput {
    /// The nominating nation; defaults to the partner officer's own (NATO staff must give it).
    #[serde(default)]
    pub nation: Option<String>,
    pub name: String,
    #[serde(default)]
    pub rank: Option<String>,
    pub organisation: String,
    pub email: String,
    /// `none` (default), `nato_restricted`, `nato_confidential`, `nato_secret`.
    #[serde(default)]
    pub clearance: Option<String>,
    /// STANAG 6001 level 0–5 in the event's language.
    #[serde(default)]
    pub language_level: Option<u8>,
}

/// A validated nomination request, not yet checked against the offering.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewNomination {
    pub offering: OfferingId,
    pub nation: Option<PartnerCode>,
    pub participant: Participant,
}

fn short_text(field: &str, raw: &str, max: usize, required: bool) -> Result<String, FieldError> {
    let value = raw.trim();
    if required && value.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(FieldError::new(field, format!("is longer than {max} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(FieldError::new(field, "must not contain control characters"));
    }
    Ok(value.to_owned())
}

/// A lower-cased e-mail address, checked for its shape only.
pub(crate) fn email_address(raw: &str) -> Result<String, FieldError> {
    let value = raw.trim().to_ascii_lowercase();
    let mut parts = value.split('@');
    let ok = matches!((parts.next(), parts.next(), parts.next()), (Some(l), Some(d), None)
        if !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.'))
        && value.len() <= 254
        && !value.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok { Ok(value) } else { Err(FieldError::new("email", format!("`{raw}` is not an e-mail address"))) }
}

impl NewNomination {
    pub fn validate(offering: OfferingId, input: NominationInput) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let nation = errors
            .check(input.nation.as_deref().map(|n| PartnerCode::parse(n).map_err(|e| e.at("nation"))).transpose())
            .flatten();
        let name = errors.check(short_text("name", &input.name, 200, true));
        let rank = errors.check(short_text("rank", input.rank.as_deref().unwrap_or(""), 60, false));
        let organisation = errors.check(short_text("organisation", &input.organisation, 200, true));
        let email = errors.check(email_address(&input.email));
        let clearance = errors
            .check(input.clearance.as_deref().map(|c| Clearance::parse("clearance", c)).transpose())
            .flatten()
            .unwrap_or_default();
        let language_level = input.language_level.unwrap_or(0);
        if language_level > 5 {
            errors
                .push(FieldError::new("language_level", format!("{language_level} is not a STANAG 6001 level (0–5)")));
        }
        errors.into_result()?;
        let (Some(name), Some(rank), Some(organisation), Some(email)) = (name, rank, organisation, email) else {
            return Err(ValidationErrors::default());
        };
        Ok(Self {
            offering,
            nation,
            participant: Participant { name, rank, organisation, email, clearance, language_level },
        })
    }
}

/// The nation `actor` nominates for: a partner officer's own (it may not name another), or the one
/// NATO staff name.
pub fn nominating_nation(actor: &Principal, requested: Option<&PartnerCode>) -> Result<PartnerCode, MenuRefusal> {
    match actor.role() {
        Role::PartnerOfficer => {
            let own = actor.binding.partner.clone().ok_or_else(|| MenuRefusal::Forbidden("no nation".into()))?;
            match requested {
                Some(other) if *other != own => Err(MenuRefusal::Forbidden(format!(
                    "a partner officer of {own} nominates for {own} only, not {other}"
                ))),
                _ => Ok(own),
            }
        }
        r if r.is_nato_writer() => requested.cloned().ok_or_else(|| {
            MenuRefusal::Invalid(FieldError::new("nation", "NATO staff nominating must name the `nation`"))
        }),
        role => Err(MenuRefusal::Forbidden(format!(
            "role `{}` cannot nominate; partner officers nominate their nation's participants",
            role.as_str()
        ))),
    }
}

/// Seats and quota, as counted inside the write transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeatLedger {
    /// Accepted nominations.
    pub taken: u32,
    /// The nominating nation's open nominations (nominated, accepted, waitlisted).
    pub nation_open: u32,
}

impl SeatLedger {
    /// Whether a new nomination of `nation` may be recorded on `offering` today.
    pub fn check_nomination(
        &self,
        offering: &Offering,
        nation: &PartnerCode,
        framework: Option<Framework>,
        participant: &Participant,
        today: Date,
    ) -> Result<(), MenuRefusal> {
        if offering.status != OfferingStatus::Published {
            return Err(MenuRefusal::Conflict(format!(
                "nominations are open only while an offering is published; {} is `{}`",
                offering.code,
                offering.status.as_str()
            )));
        }
        if today > offering.nomination_deadline {
            return Err(MenuRefusal::Conflict(format!(
                "the nomination deadline of {} passed on {}",
                offering.code,
                crate::dates::format_date(offering.nomination_deadline)
            )));
        }
        if !offering.eligibility.admits(nation, framework) {
            return Err(MenuRefusal::Forbidden(format!("{nation} is not eligible for {}", offering.code)));
        }
        let mut errors = ValidationErrors::default();
        let required = &offering.prerequisites;
        if participant.clearance < required.clearance {
            errors.push(FieldError::new(
                "clearance",
                format!(
                    "{} requires a `{}` clearance; the participant holds `{}`",
                    offering.code,
                    required.clearance.as_str(),
                    participant.clearance.as_str()
                ),
            ));
        }
        if participant.language_level < required.language_level {
            errors.push(FieldError::new(
                "language_level",
                format!(
                    "{} requires language level {}; the participant has {}",
                    offering.code, required.language_level, participant.language_level
                ),
            ));
        }
        errors.into_result().map_err(MenuRefusal::Prerequisites)?;
        if self.nation_open >= offering.nation_quota {
            return Err(MenuRefusal::Conflict(format!(
                "{nation} has used its quota of {} nomination(s) for {}; withdraw one to nominate another",
                offering.nation_quota, offering.code
            )));
        }
        Ok(())
    }

    /// Whether one more participant can be accepted.
    pub fn check_seat(&self, offering: &Offering) -> Result<(), MenuRefusal> {
        if self.taken >= offering.seats {
            return Err(MenuRefusal::Conflict(format!(
                "{} has no seat left ({} of {} taken); waitlist the nomination instead",
                offering.code, self.taken, offering.seats
            )));
        }
        Ok(())
    }
}

/// A provider's decision on a nomination.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "decision", rename_all = "snake_case", deny_unknown_fields)]
pub enum Decision {
    Accept,
    Waitlist,
    Reject {
        reason: String,
    },
    /// By the nominating nation (or NATO staff), not the provider.
    Withdraw {
        reason: Option<String>,
    },
}

impl Decision {
    pub fn target(&self) -> NominationStatus {
        match self {
            Self::Accept => NominationStatus::Accepted,
            Self::Waitlist => NominationStatus::Waitlisted,
            Self::Reject { .. } => NominationStatus::Rejected,
            Self::Withdraw { .. } => NominationStatus::Withdrawn,
        }
    }

    pub fn reason(&self) -> Option<String> {
        match self {
            Self::Reject { reason } => Some(reason.trim().to_owned()),
            Self::Withdraw { reason } => reason.as_ref().map(|r| r.trim().to_owned()).filter(|r| !r.is_empty()),
            _ => None,
        }
    }

    /// Checks the decision for `actor` on `nomination` (whose offering is `offering`).
    pub fn check(&self, actor: &Principal, nomination: &Nomination, offering: &Offering) -> Result<(), MenuRefusal> {
        let nato = actor.role().is_nato_writer();
        let provider =
            actor.role() == Role::Provider && actor.binding.organisation.as_ref() == Some(&nomination.provider);
        let nation = actor.role() == Role::PartnerOfficer && actor.binding.partner.as_ref() == Some(&nomination.nation);
        match self {
            Self::Withdraw { .. } if !(nato || nation) => {
                return Err(MenuRefusal::Forbidden(format!(
                    "only {}'s partner officers or NATO staff withdraw this nomination",
                    nomination.nation
                )));
            }
            Self::Accept | Self::Waitlist | Self::Reject { .. } if !(nato || provider) => {
                return Err(MenuRefusal::Forbidden(format!(
                    "only {} (the provider) or NATO staff decide on nominations",
                    nomination.provider
                )));
            }
            Self::Reject { reason } if reason.trim().is_empty() => {
                return Err(MenuRefusal::Invalid(FieldError::new("reason", "a rejection needs a `reason`")));
            }
            _ => {}
        }
        if !matches!(offering.status, OfferingStatus::Published | OfferingStatus::Closed) {
            return Err(MenuRefusal::Conflict(format!(
                "nominations for {} can no longer change: it is `{}`",
                offering.code,
                offering.status.as_str()
            )));
        }
        use NominationStatus::*;
        let allowed: &[NominationStatus] = match self {
            Self::Accept => &[Nominated, Waitlisted],
            Self::Waitlist => &[Nominated],
            Self::Reject { .. } => &[Nominated, Waitlisted, Accepted],
            Self::Withdraw { .. } => &[Nominated, Waitlisted, Accepted],
        };
        if !allowed.contains(&nomination.status) {
            return Err(MenuRefusal::Conflict(format!(
                "a `{}` nomination cannot become `{}`",
                nomination.status.as_str(),
                self.target().as_str()
            )));
        }
        Ok(())
    }
}

/// Whether moving a nomination from `before` to `after` frees a seat, so that the first on the
/// waiting list is promoted in the same transaction.
pub fn promotion_after(before: NominationStatus, after: NominationStatus) -> bool {
    before == NominationStatus::Accepted && !matches!(after, NominationStatus::Accepted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> NominationInput {
        NominationInput {
            nation: None,
            name: "Sato Hiroshi".into(),
            rank: Some("Lt Col".into()),
            organisation: "Japan Joint Staff".into(),
            email: "Sato@Example.JP".into(),
            clearance: Some("nato_restricted".into()),
            language_level: Some(3),
        }
    }

    #[test]
    fn participants_are_validated_field_by_field() {
        let ok = NewNomination::validate(OfferingId::new(), input()).unwrap();
        assert_eq!(ok.participant.email, "sato@example.jp");
        assert_eq!(ok.participant.clearance, Clearance::NatoRestricted);
        let bad = NominationInput {
            name: " ".into(),
            email: "not-an-address".into(),
            clearance: Some("top_secret".into()),
            language_level: Some(7),
            ..input()
        };
        let errors = NewNomination::validate(OfferingId::new(), bad).unwrap_err();
        let fields: Vec<_> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "email", "clearance", "language_level"]);
    }

    #[test]
    fn only_an_accepted_seat_frees_a_place() {
        assert!(promotion_after(NominationStatus::Accepted, NominationStatus::Withdrawn));
        assert!(promotion_after(NominationStatus::Accepted, NominationStatus::Rejected));
        assert!(!promotion_after(NominationStatus::Nominated, NominationStatus::Rejected));
        assert!(!promotion_after(NominationStatus::Waitlisted, NominationStatus::Withdrawn));
    }

    #[test]
    fn clearances_are_ordered() {
        assert!(Clearance::NatoSecret > Clearance::NatoRestricted);
        assert!(Clearance::None < Clearance::NatoRestricted);
    }
}
