//! Records kept by (id, version), for readers that ask the store first.
//!
//! Every write to an activity or an offering bumps its version, and nothing about the record
//! changes without a write. So a reader that asks the store which records it may see *and at which
//! version* (one index walk, no child lists, no JSON) can take those records from here and read
//! through the store only the ones not kept at that version. The store still decides visibility on
//! every request, and a write shows on the next read; this only saves reading and writing out again
//! what has not changed.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

pub struct Versioned<K, V> {
    kept: Mutex<HashMap<K, (i64, V)>>,
    capacity: usize,
}

impl<K: Eq + Hash + Copy, V: Clone> Versioned<K, V> {
    /// Keeps at most `capacity` records; past that it starts again (the working set of a page
    /// reader is the first pages of the common lists, far smaller).
    pub fn with_capacity(capacity: usize) -> Self {
        Self { kept: Mutex::new(HashMap::new()), capacity }
    }

    /// The value kept for this version of the record.
    pub fn get(&self, id: K, version: i64) -> Option<V> {
        let kept = self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        kept.get(&id).filter(|(kept_version, _)| *kept_version == version).map(|(_, value)| value.clone())
    }

    /// Keeps `value` as this version of the record, unless a newer version is kept already (a slow
    /// reader must not put back what a faster one replaced).
    pub fn put(&self, id: K, version: i64, value: V) {
        let mut kept = self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if kept.get(&id).is_some_and(|(kept_version, _)| *kept_version > version) {
            return;
        }
        if kept.len() >= self.capacity && !kept.contains_key(&id) {
            kept.clear();
        }
        kept.insert(id, (version, value));
    }

    pub fn len(&self) -> usize {
        self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_kept_per_version_and_the_newest_wins() {
        let kept = Versioned::with_capacity(4);
        kept.put(1, 1, "one");
        assert_eq!(kept.get(1, 1), Some("one"));
        assert_eq!(kept.get(1, 2), None, "another version is not this one");
        kept.put(1, 3, "three");
        assert_eq!(kept.get(1, 1), None, "a newer version replaces the older");
        kept.put(1, 2, "two");
        assert_eq!(kept.get(1, 3), Some("three"), "an older version never replaces a newer");
        assert_eq!(kept.get(1, 2), None);
    }

    #[test]
    fn past_capacity_it_starts_again() {
        let kept = Versioned::with_capacity(2);
        kept.put(1, 1, ());
        kept.put(2, 1, ());
        kept.put(2, 2, ());
        assert_eq!(kept.len(), 2, "a new version of a kept record takes no more room");
        kept.put(3, 1, ());
        assert_eq!(kept.len(), 1);
        assert_eq!(kept.get(3, 1), Some(()));
    }
}
