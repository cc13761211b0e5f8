//! Between domain values and PostgreSQL's columns, and from database errors to store errors.

use eprime_domain::{Classification, Marking, OrgCode};
use eprime_store::StoreError;
use time::OffsetDateTime;

pub(crate) fn backend(error: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(error.to_string())
}

/// Maps a database error, turning constraint violations into the conflicts they are (the same
/// wording as the SQLite store, so callers and tests cannot tell the two apart).
pub(crate) fn db_error(error: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &error {
        if db.is_unique_violation() {
            return StoreError::Conflict(format!("already exists ({})", db.message()));
        }
        if db.is_foreign_key_violation() {
            return StoreError::Conflict("refers to a record that does not exist".to_owned());
        }
    }
    backend(error)
}

/// Whether a mapped error came from a unique constraint (not a foreign key), for the writes
/// that give a unique clash its own message.
pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// The current instant, truncated to microseconds: `timestamptz` keeps microseconds, and a record
/// must read back exactly as the write returned it.
pub(crate) fn now() -> OffsetDateTime {
    let at = OffsetDateTime::now_utc();
    at.replace_nanosecond(at.nanosecond() / 1_000 * 1_000).unwrap_or(at)
}

/// Rebuilds a marking from its classification column and the releasability array.
pub(crate) fn marking(classification: &str, releasable: Vec<String>) -> Result<Marking, StoreError> {
    let classification = Classification::parse(classification).map_err(backend)?;
    let orgs = parse_codes(releasable, OrgCode::parse)?;
    Marking::new(classification, orgs).map_err(backend)
}

/// Parses the codes of a child-list array, sorted (the order the domain types keep lists in).
pub(crate) fn parse_codes<T: Ord, E: std::fmt::Display>(
    raw: Vec<String>,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<Vec<T>, StoreError> {
    let mut codes = raw.iter().map(|c| parse(c).map_err(backend)).collect::<Result<Vec<_>, _>>()?;
    codes.sort();
    Ok(codes)
}
