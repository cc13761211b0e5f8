//! Cooperation activities: what they are, their lifecycle, and how input becomes one.

mod input;
mod lifecycle;
mod record;

pub use input::{ActivityChanges, ActivityInput, ActivityPatch, NewActivity, marking_for};
pub use lifecycle::{ActivityKind, ActivityStatus, TransitionError};
pub use record::{Activity, SourceRef};
