//! An offering's lifecycle and who moves it.
//!
//! ```text
//! draft → submitted → approved → published → closed → held → reported
//!   ↑         │           │          │          │
//!   └─────────┴───────────┘ returned for revision (NATO, with a reason)
//! every status before `held` → cancelled (with a reason)
//! ```
//! A provider drafts and submits its own offerings; NATO staff approve or return them; either
//! publishes, closes nominations and records that the event was held; filing the after-action
//! report (not a transition) makes it `reported`.

use serde::{Deserialize, Serialize};

use super::MenuRefusal;
use crate::access::{Principal, Role};
use crate::codes::OrgCode;
use crate::error::FieldError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OfferingStatus {
    Draft,
    Submitted,
    Approved,
    Published,
    Closed,
    Held,
    Reported,
    Cancelled,
}

/// Who may take a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mover {
    /// NATO staff only (approval, return).
    Nato,
    /// The offering's provider or NATO staff.
    ProviderOrNato,
}

impl OfferingStatus {
    pub const ALL: [OfferingStatus; 8] = [
        Self::Draft,
        Self::Submitted,
        Self::Approved,
        Self::Published,
        Self::Closed,
        Self::Held,
        Self::Reported,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Submitted => "submitted",
            Self::Approved => "approved",
            Self::Published => "published",
            Self::Closed => "closed",
            Self::Held => "held",
            Self::Reported => "reported",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw).ok_or_else(|| {
            let names: Vec<_> = Self::ALL.iter().map(|s| s.as_str()).collect();
            FieldError::new(
                "status",
                format!("`{raw}` is not an offering status; expected one of {}", names.join(", ")),
            )
        })
    }

    /// Whether eligible partners see it (from publication on, cancelled ones included: a partner
    /// who nominated must learn of the cancellation).
    pub fn is_published(self) -> bool {
        matches!(self, Self::Published | Self::Closed | Self::Held | Self::Reported | Self::Cancelled)
    }

    /// The statuses reachable by a transition from this one (`reported` comes with the report).
    pub fn next(self) -> &'static [OfferingStatus] {
        use OfferingStatus::*;
        match self {
            Draft => &[Submitted, Cancelled],
            Submitted => &[Approved, Draft, Cancelled],
            Approved => &[Published, Draft, Cancelled],
            Published => &[Closed, Held, Cancelled],
            Closed => &[Held, Cancelled],
            Held | Reported | Cancelled => &[],
        }
    }

    fn mover(self, to: OfferingStatus) -> Mover {
        match (self, to) {
            (OfferingStatus::Submitted, OfferingStatus::Approved) => Mover::Nato,
            (OfferingStatus::Submitted | OfferingStatus::Approved, OfferingStatus::Draft) => Mover::Nato,
            _ => Mover::ProviderOrNato,
        }
    }

    /// Whether moving from `self` to `to` must be explained: a return for revision, a cancellation.
    pub fn needs_reason(self, to: OfferingStatus) -> bool {
        to == OfferingStatus::Cancelled || (to == OfferingStatus::Draft && self != OfferingStatus::Draft)
    }

    /// Checks one step for `actor` on an offering of `provider`.
    pub fn transition(
        self,
        to: OfferingStatus,
        actor: &Principal,
        provider: &OrgCode,
        reason: Option<&str>,
    ) -> Result<OfferingStatus, MenuRefusal> {
        let nato = actor.role().is_nato_writer();
        let own = actor.role() == Role::Provider && actor.binding.organisation.as_ref() == Some(provider);
        if !nato && !own {
            return Err(MenuRefusal::Forbidden(format!(
                "role `{}` cannot move offerings of {provider}; their provider and NATO staff do",
                actor.role().as_str()
            )));
        }
        if !self.next().contains(&to) {
            let allowed: Vec<_> = self.next().iter().map(|s| s.as_str()).collect();
            let allowed = if allowed.is_empty() { "none (it is final)".to_owned() } else { allowed.join(", ") };
            return Err(MenuRefusal::Conflict(format!(
                "an offering cannot go from `{}` to `{}`; allowed from `{}`: {allowed}",
                self.as_str(),
                to.as_str(),
                self.as_str()
            )));
        }
        if self.mover(to) == Mover::Nato && !nato {
            let what =
                if to == OfferingStatus::Approved { "approve offerings" } else { "return offerings for revision" };
            return Err(MenuRefusal::Forbidden(format!("only NATO staff {what}")));
        }
        if self.needs_reason(to) && reason.is_none_or(|r| r.trim().is_empty()) {
            return Err(MenuRefusal::Invalid(FieldError::new(
                "reason",
                format!("moving an offering from `{}` to `{}` needs a `reason`", self.as_str(), to.as_str()),
            )));
        }
        Ok(to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::RoleBinding;
    use crate::ids::UserId;
    use OfferingStatus::*;
    use proptest::prelude::*;

    fn actor(role: Role, org: Option<&str>) -> Principal {
        let partner = matches!(role, Role::PartnerOfficer | Role::PartnerAdmin)
            .then(|| crate::codes::PartnerCode::parse("JPN").unwrap());
        Principal {
            user_id: UserId::new(),
            username: "u".into(),
            binding: RoleBinding::new(role, partner, org.map(|o| OrgCode::parse(o).unwrap())).unwrap(),
        }
    }

    fn nso() -> OrgCode {
        OrgCode::parse("NSO").unwrap()
    }

    #[test]
    fn the_main_line_runs_with_the_right_hands() {
        let provider = actor(Role::Provider, Some("NSO"));
        let staff = actor(Role::NatoStaff, None);
        let mut status = Draft;
        status = status.transition(Submitted, &provider, &nso(), None).unwrap();
        assert!(matches!(status.transition(Approved, &provider, &nso(), None), Err(MenuRefusal::Forbidden(_))));
        status = status.transition(Approved, &staff, &nso(), None).unwrap();
        for next in [Published, Closed, Held] {
            status = status.transition(next, &provider, &nso(), None).unwrap();
        }
        assert!(status.next().is_empty());
    }

    #[test]
    fn returns_and_cancellations_need_reasons() {
        let staff = actor(Role::NatoStaff, None);
        assert!(matches!(Submitted.transition(Draft, &staff, &nso(), None), Err(MenuRefusal::Invalid(_))));
        assert_eq!(Submitted.transition(Draft, &staff, &nso(), Some("dates clash")).unwrap(), Draft);
        assert!(matches!(Published.transition(Cancelled, &staff, &nso(), Some(" ")), Err(MenuRefusal::Invalid(_))));
        let provider = actor(Role::Provider, Some("NSO"));
        assert!(matches!(Submitted.transition(Draft, &provider, &nso(), Some("x")), Err(MenuRefusal::Forbidden(_))));
    }

    #[test]
    fn strangers_move_nothing() {
        for (role, org) in [(Role::Provider, Some("NDC")), (Role::PartnerOfficer, None), (Role::Auditor, None)] {
            let err = Draft.transition(Submitted, &actor(role, org), &nso(), None).unwrap_err();
            assert!(matches!(err, MenuRefusal::Forbidden(_)), "{role:?}");
        }
    }

    proptest! {
        /// Whatever is asked, a step either follows `next()` or is refused, and `reported` is
        /// never reached by a transition.
        #[test]
        fn steps_follow_the_graph(from in proptest::sample::select(OfferingStatus::ALL.to_vec()),
                                  to in proptest::sample::select(OfferingStatus::ALL.to_vec()),
                                  reason in proptest::option::of("[a-z ]{0,8}")) {
            let staff = actor(Role::NatoStaff, None);
            match from.transition(to, &staff, &nso(), reason.as_deref()) {
                Ok(reached) => {
                    prop_assert_eq!(reached, to);
                    prop_assert!(from.next().contains(&to));
                    prop_assert!(to != Reported);
                }
                Err(MenuRefusal::Conflict(_)) => prop_assert!(!from.next().contains(&to)),
                Err(MenuRefusal::Invalid(_)) => prop_assert!(from.needs_reason(to)),
                Err(other) => prop_assert!(false, "staff may take every step: {other}"),
            }
        }
    }
}
