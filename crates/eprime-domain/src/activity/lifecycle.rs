//! Cooperation activities and their status lifecycle.

use serde::{Deserialize, Serialize};

use crate::error::FieldError;

/// What sort of cooperation an activity is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    Dialogue,
    Meeting,
    Consultation,
    Exercise,
    Training,
    Course,
    Seminar,
    Exchange,
    Secondment,
    Research,
    TrustFund,
    InformationExchange,
    Other,
}

impl ActivityKind {
    pub const ALL: [ActivityKind; 13] = [
        Self::Dialogue,
        Self::Meeting,
        Self::Consultation,
        Self::Exercise,
        Self::Training,
        Self::Course,
        Self::Seminar,
        Self::Exchange,
        Self::Secondment,
        Self::Research,
        Self::TrustFund,
        Self::InformationExchange,
        Self::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dialogue => "dialogue",
            Self::Meeting => "meeting",
            Self::Consultation => "consultation",
            Self::Exercise => "exercise",
            Self::Training => "training",
            Self::Course => "course",
            Self::Seminar => "seminar",
            Self::Exchange => "exchange",
            Self::Secondment => "secondment",
            Self::Research => "research",
            Self::TrustFund => "trust_fund",
            Self::InformationExchange => "information_exchange",
            Self::Other => "other",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw).ok_or_else(|| {
            let names: Vec<_> = Self::ALL.iter().map(|k| k.as_str()).collect();
            FieldError::new("kind", format!("`{raw}` is not an activity kind; expected one of {}", names.join(", ")))
        })
    }
}

/// Where an activity stands.
///
/// ```text
/// proposed → approved → scheduled → in_progress → completed
///     │          │   ↖      │    ↘       │
///     │          │    postponed ←────────┤        (postponed needs a reason)
///     └──────────┴───────┴──→ cancelled ←┘        (cancelled needs a reason)
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ActivityStatus {
    Proposed,
    Approved,
    Scheduled,
    InProgress,
    Completed,
    Postponed,
    Cancelled,
}

impl ActivityStatus {
    pub const ALL: [ActivityStatus; 7] = [
        Self::Proposed,
        Self::Approved,
        Self::Scheduled,
        Self::InProgress,
        Self::Completed,
        Self::Postponed,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Proposed => "proposed",
            Self::Approved => "approved",
            Self::Scheduled => "scheduled",
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
            Self::Postponed => "postponed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw).ok_or_else(|| {
            let names: Vec<_> = Self::ALL.iter().map(|s| s.as_str()).collect();
            FieldError::new(
                "status",
                format!("`{raw}` is not an activity status; expected one of {}", names.join(", ")),
            )
        })
    }

    /// The statuses reachable in one step from this one.
    pub fn next(self) -> &'static [ActivityStatus] {
        use ActivityStatus::*;
        match self {
            Proposed => &[Approved, Cancelled],
            Approved => &[Scheduled, Postponed, Cancelled],
            Scheduled => &[InProgress, Postponed, Cancelled],
            InProgress => &[Completed, Postponed, Cancelled],
            Postponed => &[Approved, Scheduled, Cancelled],
            Completed | Cancelled => &[],
        }
    }

    pub fn is_terminal(self) -> bool {
        self.next().is_empty()
    }

    /// Whether entering this status must be explained.
    pub fn needs_reason(self) -> bool {
        matches!(self, Self::Postponed | Self::Cancelled)
    }

    /// Checks one step of the lifecycle. The error names the steps that are allowed, so a caller
    /// who asked for the wrong one learns the right ones.
    pub fn transition(self, to: ActivityStatus, reason: Option<&str>) -> Result<ActivityStatus, TransitionError> {
        if !self.next().contains(&to) {
            return Err(TransitionError::NotAllowed { from: self, to, allowed: self.next().to_vec() });
        }
        if to.needs_reason() && reason.is_none_or(|r| r.trim().is_empty()) {
            return Err(TransitionError::ReasonRequired { to });
        }
        Ok(to)
    }
}

/// Why a status change was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("an activity cannot go from `{}` to `{}`; allowed from `{}`: {}", from.as_str(), to.as_str(), from.as_str(), allowed_list(allowed))]
    NotAllowed { from: ActivityStatus, to: ActivityStatus, allowed: Vec<ActivityStatus> },
    #[error("moving an activity to `{}` needs a `reason`", to.as_str())]
    ReasonRequired { to: ActivityStatus },
}

fn allowed_list(allowed: &[ActivityStatus]) -> String {
    if allowed.is_empty() {
        "none (it is final)".to_owned()
    } else {
        allowed.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ActivityStatus::*;
    use proptest::prelude::*;

    #[test]
    fn the_main_line_is_allowed() {
        let mut status = Proposed;
        for next in [Approved, Scheduled, InProgress, Completed] {
            status = status.transition(next, None).unwrap();
        }
        assert!(status.is_terminal());
    }

    #[test]
    fn refusals_name_the_allowed_steps() {
        let err = Proposed.transition(Completed, None).unwrap_err();
        assert_eq!(
            err,
            TransitionError::NotAllowed { from: Proposed, to: Completed, allowed: vec![Approved, Cancelled] }
        );
        assert!(err.to_string().contains("approved, cancelled"), "{err}");
        assert!(Completed.transition(Cancelled, Some("late")).unwrap_err().to_string().contains("final"));
    }

    #[test]
    fn postponing_and_cancelling_need_a_reason() {
        assert_eq!(Approved.transition(Postponed, None), Err(TransitionError::ReasonRequired { to: Postponed }));
        assert_eq!(Approved.transition(Cancelled, Some("  ")), Err(TransitionError::ReasonRequired { to: Cancelled }));
        assert_eq!(Approved.transition(Postponed, Some("typhoon")), Ok(Postponed));
    }

    #[test]
    fn names_round_trip() {
        for s in ActivityStatus::ALL {
            assert_eq!(ActivityStatus::parse(s.as_str()), Ok(s));
        }
        for k in ActivityKind::ALL {
            assert_eq!(ActivityKind::parse(k.as_str()), Ok(k));
        }
        assert!(ActivityKind::parse("party").unwrap_err().message.contains("trust_fund"));
    }

    fn any_status() -> impl Strategy<Value = ActivityStatus> {
        proptest::sample::select(ActivityStatus::ALL.to_vec())
    }

    proptest! {
        /// No sequence of requested transitions reaches a state the lifecycle does not allow:
        /// every accepted step is in `next()`, terminal states accept nothing, and a refused
        /// step leaves the status unchanged.
        #[test]
        fn no_sequence_reaches_an_invalid_state(steps in proptest::collection::vec((any_status(), any::<bool>()), 0..40)) {
            let mut status = Proposed;
            let mut reached_terminal_at = None;
            for (i, (to, with_reason)) in steps.into_iter().enumerate() {
                let before = status;
                match status.transition(to, with_reason.then_some("because")) {
                    Ok(next) => {
                        prop_assert!(before.next().contains(&next));
                        prop_assert!(!to.needs_reason() || with_reason);
                        prop_assert!(reached_terminal_at.is_none(), "moved after reaching a final status");
                        status = next;
                        if status.is_terminal() { reached_terminal_at = Some(i); }
                    }
                    Err(_) => prop_assert_eq!(status, before),
                }
            }
        }

        /// Every status except the final ones can still reach `completed` or `cancelled`.
        #[test]
        fn every_live_status_can_finish(start in any_status()) {
            if !start.is_terminal() {
                prop_assert!(start.next().contains(&Cancelled));
            }
        }
    }
}
