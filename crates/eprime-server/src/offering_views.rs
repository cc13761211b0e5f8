//! Menu offerings as the API shows them, kept serialized by (id, version, day).
//!
//! A page of search hits names twenty offerings; reading each record and writing its JSON again on
//! every search costs far more than finding them. An offering's answer changes only with its version
//! and with the day (whether its report is overdue), so it is kept per (id, version) for the day it
//! was written. Visibility is never decided here: a search first asks the store which of its hits
//! the caller may see and at which version (`MenuStore::offering_versions`), then takes those from
//! here (`Versioned::take_or_read`), and reads through the store only the ones not kept yet.

use eprime_domain::OfferingId;
use serde_json::value::RawValue;
use time::Date;

use crate::versioned::Versioned;

/// How many offerings are kept (a few kilobytes each).
const CAPACITY: usize = 8192;

/// An offering's answer, by id, at (version, day written).
pub type OfferingViews = Versioned<OfferingId, Box<RawValue>, (i64, Date)>;

pub fn offering_views() -> OfferingViews {
    Versioned::with_capacity(CAPACITY)
}
