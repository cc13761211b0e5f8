//! Records kept by (id, version), for readers that ask the store first.
//!
//! Every write to an activity or an offering bumps its version, and nothing about the record
//! changes without a write. So a reader that asks the store which records it may see *and at which
//! version* (one index walk, no child lists, no JSON) can take those records from here and read
//! through the store only the ones not kept at that version (`take_or_read`). The store still
//! decides visibility on every request, and a write shows on the next read; this only saves reading
//! and writing out again what has not changed.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::Mutex;

/// `Ver` is what a kept value depends on besides the id: the record's version, or more (an
/// offering's answer also depends on the day). A greater `Ver` is newer.
pub struct Versioned<K, V, Ver = i64> {
    kept: Mutex<HashMap<K, (Ver, V)>>,
    capacity: usize,
}

impl<K: Eq + Hash + Copy, V: Clone, Ver: Ord + Copy> Versioned<K, V, Ver> {
    /// Keeps at most `capacity` records; past that it starts again (the working set of a page
    /// reader is the first pages of the common lists, far smaller).
    pub fn with_capacity(capacity: usize) -> Self {
        Self { kept: Mutex::new(HashMap::new()), capacity }
    }

    /// The values for `listed` (ids at the versions the store named), in that order: those kept at
    /// that version as they are, the rest read by `read` (one call for all of them, giving each
    /// record's id, version and value) and kept. A record `read` no longer gives (hidden or gone
    /// in between) is left out; one changed in between is given as it is now, as if the list had
    /// been read a moment later.
    pub async fn take_or_read<E, Fut>(&self, listed: &[(K, Ver)], read: impl FnOnce(Vec<K>) -> Fut) -> Result<Vec<V>, E>
    where
        Fut: Future<Output = Result<Vec<(K, Ver, V)>, E>>,
    {
        let mut values: Vec<Option<V>> = listed.iter().map(|(id, version)| self.get(*id, *version)).collect();
        let missing: Vec<K> =
            listed.iter().zip(&values).filter(|(_, value)| value.is_none()).map(|((id, _), _)| *id).collect();
        if !missing.is_empty() {
            for (id, version, value) in read(missing).await? {
                self.put(id, version, value.clone());
                if let Some(slot) = listed.iter().position(|(listed_id, _)| *listed_id == id) {
                    values[slot] = Some(value);
                }
            }
        }
        Ok(values.into_iter().flatten().collect())
    }

    /// The value kept for this version of the record.
    fn get(&self, id: K, version: Ver) -> Option<V> {
        let kept = self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        kept.get(&id).filter(|(kept_version, _)| *kept_version == version).map(|(_, value)| value.clone())
    }

    /// Keeps `value` as this version of the record, unless a newer version is kept already (a slow
    /// reader must not put back what a faster one replaced).
    pub fn put(&self, id: K, version: Ver, value: V) {
        let mut kept = self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if kept.get(&id).is_some_and(|(kept_version, _)| *kept_version > version) {
            return;
        }
        if kept.len() >= self.capacity && !kept.contains_key(&id) {
            kept.clear();
        }
        kept.insert(id, (version, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn len<V>(kept: &Versioned<u32, V>) -> usize {
        kept.kept.lock().unwrap().len()
    }

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
        assert_eq!(len(&kept), 2, "a new version of a kept record takes no more room");
        kept.put(3, 1, ());
        assert_eq!(len(&kept), 1);
        assert_eq!(kept.get(3, 1), Some(()));
    }

    #[tokio::test]
    async fn only_what_is_not_kept_at_its_version_is_read() {
        let kept = Versioned::with_capacity(8);
        kept.put(1, 1, "one");
        kept.put(2, 1, "two, old");
        let asked = std::cell::RefCell::new(Vec::new());
        // 2 changed since it was kept, 3 was never read, 4 vanished before the read.
        let listed = [(1, 1), (2, 2), (3, 1), (4, 1)];
        let values = kept
            .take_or_read(&listed, |missing| {
                asked.borrow_mut().extend(missing);
                async { Ok::<_, ()>(vec![(3, 1, "three"), (2, 2, "two")]) }
            })
            .await
            .unwrap();
        assert_eq!(asked.into_inner(), [2, 3, 4], "one read, for what is not kept at its version");
        assert_eq!(values, ["one", "two", "three"], "in the listed order, without the vanished one");
        assert_eq!(kept.get(2, 2), Some("two"), "what was read is kept");
    }
}
