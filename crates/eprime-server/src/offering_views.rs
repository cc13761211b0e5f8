//! Menu offerings as the API shows them, kept serialized by (id, version).
//!
//! A page of search hits names twenty offerings; reading each record and writing its JSON again on
//! every search costs far more than finding them. An offering's answer changes only with its version
//! (every write bumps it) and with the day (whether its report is overdue), so it is kept per
//! (id, version) for the day it was written. Visibility is never decided here: a search first asks
//! the store which of its hits the caller may see and at which version (`MenuStore::offering_versions`),
//! then takes those from here, and reads through the store only the ones not kept yet.

use std::collections::HashMap;
use std::sync::Mutex;

use eprime_domain::OfferingId;
use serde_json::value::RawValue;
use time::Date;

/// How many offerings are kept; past that the cache starts again (a few kilobytes each).
const CAPACITY: usize = 8192;

/// An offering's answer, as written on one day.
type Written = (Date, Box<RawValue>);

#[derive(Default)]
pub struct OfferingViews {
    kept: Mutex<HashMap<(OfferingId, i64), Written>>,
}

impl OfferingViews {
    /// The answer kept for this version of the offering, if it was written `today`.
    pub fn get(&self, id: OfferingId, version: i64, today: Date) -> Option<Box<RawValue>> {
        let kept = self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        kept.get(&(id, version)).filter(|(day, _)| *day == today).map(|(_, json)| json.clone())
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
        let mut kept = self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if kept.len() >= CAPACITY {
            kept.clear();
        }
        // Older versions of the same offering are never asked for again.
        kept.retain(|(kept_id, kept_version), _| *kept_id != id || *kept_version > version);
        kept.insert((id, version), (today, json.clone()));
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
