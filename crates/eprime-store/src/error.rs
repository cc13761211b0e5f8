use eprime_domain::{TransitionError, ValidationErrors};

/// Why a store operation did not happen. Every variant leaves the database unchanged.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record does not exist, or the caller may not see it (the two look the same).
    #[error("{0} not found")]
    NotFound(String),
    /// The caller may see the record but not make this change.
    #[error("{0}")]
    Forbidden(String),
    /// The caller's copy is out of date: someone changed the record since.
    #[error("the record has changed since version {expected}; it is now at version {current}")]
    Stale { expected: i64, current: i64 },
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    /// The change clashes with existing data (a username taken, a code used twice).
    #[error("{0}")]
    Conflict(String),
    /// The database failed; the message is for logs, not for callers.
    #[error("database error: {0}")]
    Backend(String),
}

impl From<eprime_domain::Refusal> for StoreError {
    fn from(refusal: eprime_domain::Refusal) -> Self {
        Self::Forbidden(refusal.0)
    }
}

impl From<eprime_domain::FieldError> for StoreError {
    fn from(error: eprime_domain::FieldError) -> Self {
        Self::Invalid(error.into())
    }
}

impl From<eprime_domain::menu::MenuRefusal> for StoreError {
    fn from(refusal: eprime_domain::menu::MenuRefusal) -> Self {
        use eprime_domain::menu::MenuRefusal;
        match refusal {
            MenuRefusal::Forbidden(message) => Self::Forbidden(message),
            MenuRefusal::Conflict(message) => Self::Conflict(message),
            MenuRefusal::Invalid(error) => Self::Invalid(error.into()),
            MenuRefusal::Prerequisites(errors) => Self::Invalid(errors),
        }
    }
}
