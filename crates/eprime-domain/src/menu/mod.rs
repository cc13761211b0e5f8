//! The Partnership Cooperation Menu: event offerings, their lifecycle, nominations of
//! participants (with seats, per-nation quotas and a waiting list), attendance, feedback and
//! after-action reports. Pure rules; the store applies them inside its transactions.

mod feedback;
mod input;
mod lifecycle;
mod nomination;
mod offering;

pub use feedback::{Attendance, Feedback, FeedbackInput, OverdueRules, Ratings, Report, ReportInput, is_participant};
pub use input::{NewOffering, OfferingInput, SessionInput};
pub use lifecycle::OfferingStatus;
pub(crate) use nomination::email_address;
pub use nomination::{
    Clearance, Decision, NewNomination, Nomination, NominationInput, NominationStatus, Participant, SeatLedger,
    nominating_nation, nomination_marking, promotion_after,
};
pub use offering::{Contact, Eligibility, EventType, Offering, OfferingCode, Prerequisites, Session, offering_marking};

use crate::error::{FieldError, ValidationErrors};

/// Why a menu step was refused, sorted by what the caller can do about it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MenuRefusal {
    /// Not this caller's to do.
    #[error("{0}")]
    Forbidden(String),
    /// Not possible in the record's present state (wrong status, deadline passed, quota or seats full).
    #[error("{0}")]
    Conflict(String),
    /// Something the caller sent is wrong.
    #[error("{0}")]
    Invalid(FieldError),
    /// The participant does not meet the event's prerequisites.
    #[error("{0}")]
    Prerequisites(ValidationErrors),
}
