//! Between domain values and SQLite's text columns.

use eprime_domain::dates::format_date;
use eprime_domain::{Classification, Marking, OrgCode};
use eprime_store::StoreError;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

pub(crate) fn backend(error: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(error.to_string())
}

/// Maps a database error, turning constraint violations into the conflicts they are.
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

pub(crate) fn date_text(date: Option<Date>) -> Option<String> {
    date.map(format_date)
}

pub(crate) fn parse_date(raw: Option<String>) -> Result<Option<Date>, StoreError> {
    raw.map(|r| Date::parse(&r, format_description!("[year]-[month]-[day]")).map_err(backend)).transpose()
}

pub(crate) fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

pub(crate) fn instant_text(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

pub(crate) fn parse_instant(raw: &str) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::parse(raw, &Rfc3339).map_err(backend)
}

/// Rebuilds a marking from its classification column and the comma-joined releasability list.
pub(crate) fn marking(classification: &str, releasable: Option<String>) -> Result<Marking, StoreError> {
    let classification = Classification::parse(classification).map_err(backend)?;
    let orgs = split_codes(releasable, OrgCode::parse)?;
    Marking::new(classification, orgs).map_err(backend)
}

/// Splits a `group_concat` result into parsed codes.
pub(crate) fn split_codes<T, E: std::fmt::Display>(
    joined: Option<String>,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<Vec<T>, StoreError> {
    match joined {
        None => Ok(Vec::new()),
        Some(s) if s.is_empty() => Ok(Vec::new()),
        Some(s) => s.split(',').map(|c| parse(c).map_err(backend)).collect(),
    }
}

pub(crate) fn json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(backend)
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(raw: &str) -> Result<T, StoreError> {
    serde_json::from_str(raw).map_err(backend)
}
