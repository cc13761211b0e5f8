//! After the event: attendance, participants' feedback, the provider's after-action report, and
//! when either is overdue.

use serde::{Deserialize, Serialize};
use time::{Date, Duration, OffsetDateTime};

use super::MenuRefusal;
use super::lifecycle::OfferingStatus;
use super::nomination::{Nomination, NominationStatus};
use super::offering::Offering;
use crate::access::{Principal, Role};
use crate::error::{FieldError, ValidationErrors};
use crate::text::Text;

/// Whether an accepted participant came.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Attendance {
    Attended,
    Absent,
}

impl Attendance {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Attended => "attended",
            Self::Absent => "absent",
        }
    }

    /// Who records attendance, and when: the provider or NATO staff, for an accepted participant,
    /// once nominations have closed (or the event was held, before its report).
    pub fn check(actor: &Principal, nomination: &Nomination, offering: &Offering) -> Result<(), MenuRefusal> {
        may_act_for_provider(actor, offering, "record attendance")?;
        if !matches!(offering.status, OfferingStatus::Closed | OfferingStatus::Held) {
            return Err(MenuRefusal::Conflict(format!(
                "attendance is recorded once nominations are closed or the event was held; {} is `{}`",
                offering.code,
                offering.status.as_str()
            )));
        }
        if nomination.status != NominationStatus::Accepted {
            return Err(MenuRefusal::Conflict(format!(
                "only accepted participants attend; this nomination is `{}`",
                nomination.status.as_str()
            )));
        }
        Ok(())
    }
}

/// Ratings from 1 (poor) to 5 (excellent).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Ratings {
    pub overall: u8,
    pub content: u8,
    pub organisation: u8,
    pub relevance: u8,
}

impl Ratings {
    fn check(&self, errors: &mut ValidationErrors) {
        for (field, value) in [
            ("ratings.overall", self.overall),
            ("ratings.content", self.content),
            ("ratings.organisation", self.organisation),
            ("ratings.relevance", self.relevance),
        ] {
            if !(1..=5).contains(&value) {
                errors.push(FieldError::new(field, format!("{value} is not a rating from 1 to 5")));
            }
        }
    }
}

/// A participant's feedback on an event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Feedback {
    pub ratings: Ratings,
    pub comments: Text,
    /// Username of whoever gave it (the participant or their officer).
    pub given_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub given_at: OffsetDateTime,
}

/// The body of `POST /api/v1/menu/{id}/nominations/{nomination}/feedback`.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FeedbackInput {
    pub ratings: Ratings,
    #[serde(default)]
    pub comments: Option<String>,
}

impl FeedbackInput {
    pub fn validate(self) -> Result<(Ratings, Text), ValidationErrors> {
        let mut errors = ValidationErrors::default();
        self.ratings.check(&mut errors);
        let comments = errors.check(Text::parse(self.comments.as_deref().unwrap_or("")).map_err(|e| e.at("comments")));
        errors.into_result()?;
        Ok((self.ratings, comments.ok_or_else(ValidationErrors::default)?))
    }
}

impl Feedback {
    /// Who gives feedback, and when: the participant (an account whose username is the nominee's
    /// e-mail) or a partner officer of the nominating nation, for someone who attended, once.
    pub fn check(actor: &Principal, nomination: &Nomination, offering: &Offering) -> Result<(), MenuRefusal> {
        let officer =
            actor.role() == Role::PartnerOfficer && actor.binding.partner.as_ref() == Some(&nomination.nation);
        let participant = actor.role() == Role::Participant && is_participant(actor, nomination);
        if !(officer || participant) {
            return Err(MenuRefusal::Forbidden(format!(
                "feedback comes from the participant or a partner officer of {}",
                nomination.nation
            )));
        }
        if !matches!(offering.status, OfferingStatus::Held | OfferingStatus::Reported) {
            return Err(MenuRefusal::Conflict(format!(
                "feedback is given once the event was held; {} is `{}`",
                offering.code,
                offering.status.as_str()
            )));
        }
        if nomination.attendance != Some(Attendance::Attended) {
            return Err(MenuRefusal::Conflict("feedback comes from participants who attended".to_owned()));
        }
        if nomination.feedback.is_some() {
            return Err(MenuRefusal::Conflict("feedback for this participant was already given".to_owned()));
        }
        Ok(())
    }
}

/// Whether `actor` is the nominated participant (accounts of participants are named by e-mail).
pub fn is_participant(actor: &Principal, nomination: &Nomination) -> bool {
    actor.username.eq_ignore_ascii_case(&nomination.participant.email)
}

/// The provider's after-action report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Report {
    pub summary: Text,
    pub lessons: Text,
    /// Participants who attended, counted when the report was filed.
    pub attended: u32,
    pub filed_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub filed_at: OffsetDateTime,
}

/// The body of `POST /api/v1/menu/{id}/report`.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReportInput {
    pub summary: String,
    #[serde(default)]
    pub lessons: Option<String>,
}

impl ReportInput {
    pub fn validate(self) -> Result<(Text, Text), ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let summary = errors.check(Text::parse(&self.summary).map_err(|e| e.at("summary")));
        if summary.as_ref().is_some_and(Text::is_empty) {
            errors.push(FieldError::new("summary", "must not be empty"));
        }
        let lessons = errors.check(Text::parse(self.lessons.as_deref().unwrap_or("")).map_err(|e| e.at("lessons")));
        errors.into_result()?;
        Ok((summary.ok_or_else(ValidationErrors::default)?, lessons.ok_or_else(ValidationErrors::default)?))
    }
}

impl Report {
    /// Who files the report, and when: the provider or NATO staff, once the event was held.
    pub fn check(actor: &Principal, offering: &Offering) -> Result<(), MenuRefusal> {
        may_act_for_provider(actor, offering, "file after-action reports")?;
        if offering.status != OfferingStatus::Held {
            return Err(MenuRefusal::Conflict(format!(
                "an after-action report is filed once the event was held; {} is `{}`",
                offering.code,
                offering.status.as_str()
            )));
        }
        Ok(())
    }
}

fn may_act_for_provider(actor: &Principal, offering: &Offering, what: &str) -> Result<(), MenuRefusal> {
    let own = actor.role() == Role::Provider && actor.binding.organisation.as_ref() == Some(&offering.provider);
    if own || actor.role().is_nato_writer() {
        Ok(())
    } else {
        Err(MenuRefusal::Forbidden(format!(
            "only {} (the provider) or NATO staff {what} for {}",
            offering.provider, offering.code
        )))
    }
}

/// How long after an event feedback and the report may take before they are flagged overdue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OverdueRules {
    pub feedback_days: u32,
    pub report_days: u32,
}

impl Default for OverdueRules {
    fn default() -> Self {
        Self { feedback_days: 14, report_days: 30 }
    }
}

impl OverdueRules {
    /// The offering statuses in which a missing report can be overdue (not yet reported, not
    /// cancelled). Stores filter on the same list.
    pub const REPORT_PENDING: [OfferingStatus; 3] =
        [OfferingStatus::Published, OfferingStatus::Closed, OfferingStatus::Held];

    /// The attended participant has not given feedback `feedback_days` after the last session.
    pub fn feedback_overdue(&self, nomination: &Nomination, offering: &Offering, today: Date) -> bool {
        nomination.attendance == Some(Attendance::Attended)
            && nomination.feedback.is_none()
            && offering.last_day().is_some_and(|last| last < self.feedback_cutoff(today))
    }

    /// The event is over (held, or past its last day and not cancelled) with no report after
    /// `report_days`.
    pub fn report_overdue(&self, offering: &Offering, today: Date) -> bool {
        Self::REPORT_PENDING.contains(&offering.status)
            && offering.report.is_none()
            && offering.last_day().is_some_and(|last| last < self.report_cutoff(today))
    }

    /// Feedback on an event whose last day is before this day is overdue (`today` minus the
    /// allowed days): what a store compares its `last_day` column with to list overdue feedback
    /// without reading every nomination.
    pub fn feedback_cutoff(&self, today: Date) -> Date {
        today - Duration::days(self.feedback_days.into())
    }

    /// The same for after-action reports.
    pub fn report_cutoff(&self, today: Date) -> Date {
        today - Duration::days(self.report_days.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_are_one_to_five() {
        let input = FeedbackInput {
            ratings: Ratings { overall: 0, content: 5, organisation: 6, relevance: 3 },
            comments: Some("Useful.".into()),
        };
        let errors = input.validate().unwrap_err();
        let fields: Vec<_> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["ratings.overall", "ratings.organisation"]);
    }

    #[test]
    fn a_report_needs_a_summary() {
        assert!(ReportInput { summary: "  ".into(), lessons: None }.validate().is_err());
        assert!(ReportInput { summary: "Held as planned.".into(), lessons: None }.validate().is_ok());
    }
}
