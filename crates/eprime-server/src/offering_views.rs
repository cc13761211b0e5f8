//! Menu offerings as the API shows them, kept serialized by (id, version).
//!
//! A page of search hits names twenty offerings; reading each record and writing its JSON again on
//! every search costs far more than finding them. An offering's answer changes only with its version
//! and with the day (whether its report is overdue), so it is kept per (id, version) for the day it
//! was written. Visibility is never decided here: a search first asks the store which of its hits
//! the caller may see and at which version (`MenuStore::offering_versions`), then takes those from
//! here, and reads through the store only the ones not kept yet.

use eprime_domain::OfferingId;
use serde_json::value::RawValue;
use time::Date;

use crate::versioned::Versioned;

/// How many offerings are kept (a few kilobytes each).
const CAPACITY: usize = 8192;

pub struct OfferingViews {
    kept: Versioned<OfferingId, (Date, Box<RawValue>)>,
}

impl Default for OfferingViews {
    fn default() -> Self {
        Self { kept: Versioned::with_capacity(CAPACITY) }
    }
}

impl OfferingViews {
    /// The answer kept for this version of the offering, if it was written `today`.
    pub fn get(&self, id: OfferingId, version: i64, today: Date) -> Option<Box<RawValue>> {
        self.kept.get(id, version).filter(|(day, _)| *day == today).map(|(_, json)| json)
    }

    /// Keeps `view` (the answer for this version, written `today`) and gives it back serialized.
    pub fn put(
        &self,
        id: OfferingId,
        version: i64,
        today: Date,
        view: &impl serde::Serialize,
    ) -> Result<Box<RawValue>, serde_json::Error> {
        let json = serde_json::value::to_raw_value(view)?;
        self.kept.put(id, version, (today, json.clone()));
        Ok(json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_kept_per_version_and_day() {
        let views = OfferingViews::default();
        let id = OfferingId::new();
        let day = time::macros::date!(2026 - 12 - 05);
        views.put(id, 1, day, &serde_json::json!({"v": 1})).unwrap();
        assert_eq!(views.get(id, 1, day).unwrap().get(), r#"{"v":1}"#);
        assert!(views.get(id, 2, day).is_none(), "another version is not this one");
        assert!(views.get(id, 1, day.next_day().unwrap()).is_none(), "the next day it is written again");
        views.put(id, 2, day, &serde_json::json!({"v": 2})).unwrap();
        assert!(views.get(id, 1, day).is_none(), "a newer version replaces the older");
    }
}
