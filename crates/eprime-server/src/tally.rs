//! A partnership's activity counts, kept per viewer's scope until the partnership changes.
//!
//! Counting a partnership's activities per status, goal and year is a walk over all of them
//! (tens of milliseconds at 10,000 activities), and the dashboard and the partnership page need
//! those counts on every view. They change only when the partnership's activities or documents
//! do, which the change log tells in one indexed probe (`Store::partnership_stamp`): so a tally is
//! computed once per (partnership, scope) and served until the stamp moves. The stamp is read from
//! the database on every request, so a write — through this instance or any other — is seen by
//! the very next read, and a scope only ever gets the counts computed for that scope.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use eprime_domain::{PartnerCode, ReadScope};
use eprime_store::{ActivityFilter, ActivityTally, Store, StoreError};
use tokio::sync::OnceCell;

/// How many (partnership, scope) tallies are kept; past that the cache starts again. Scopes are
/// few (everything, each nation's users, each Ally, each provider, the public), so this bounds
/// memory without ever being reached in normal use.
const CAPACITY: usize = 4096;

type Key = (PartnerCode, ReadScope);

struct Slot {
    stamp: i64,
    /// Shared by every request that finds the same stamp, so a burst computes the tally once.
    tally: Arc<OnceCell<Arc<ActivityTally>>>,
}

#[derive(Default)]
pub struct TallyCache {
    slots: Mutex<HashMap<Key, Slot>>,
}

impl TallyCache {
    /// The activities of `partner` that `scope` may see, counted.
    pub async fn tally(
        &self,
        store: &dyn Store,
        scope: &ReadScope,
        partner: &PartnerCode,
    ) -> Result<Arc<ActivityTally>, StoreError> {
        let stamp = store.partnership_stamp(partner).await?;
        let cell = self.slot(partner, scope, stamp);
        let filter = ActivityFilter { partnership: Some(partner.clone()), ..Default::default() };
        let tally =
            cell.get_or_try_init(|| async { store.tally_activities(scope, &filter).await.map(Arc::new) }).await?;
        Ok(tally.clone())
    }

    /// The slot for `stamp`: the cached one if it is that recent, else a new, empty one (which
    /// replaces an older slot, never a newer one).
    fn slot(&self, partner: &PartnerCode, scope: &ReadScope, stamp: i64) -> Arc<OnceCell<Arc<ActivityTally>>> {
        let mut slots = self.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let key = (partner.clone(), scope.clone());
        match slots.get(&key) {
            Some(slot) if slot.stamp == stamp => slot.tally.clone(),
            // A request that read its stamp before a newer one was cached computes its own.
            Some(slot) if slot.stamp > stamp => Arc::new(OnceCell::new()),
            _ => {
                if slots.len() >= CAPACITY {
                    slots.clear();
                }
                let tally = Arc::new(OnceCell::new());
                slots.insert(key, Slot { stamp, tally: tally.clone() });
                tally
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_is_shared_while_its_stamp_holds_and_replaced_when_it_moves() {
        let cache = TallyCache::default();
        let jpn = PartnerCode::parse("JPN").unwrap();
        let scope = ReadScope::public_only();
        let first = cache.slot(&jpn, &scope, 7);
        assert!(Arc::ptr_eq(&first, &cache.slot(&jpn, &scope, 7)), "same stamp, same slot");
        assert!(!Arc::ptr_eq(&first, &cache.slot(&jpn, &ReadScope::system(), 7)), "another scope, another slot");
        let newer = cache.slot(&jpn, &scope, 8);
        assert!(!Arc::ptr_eq(&first, &newer), "a moved stamp gets a new slot");
        let older = cache.slot(&jpn, &scope, 7);
        assert!(!Arc::ptr_eq(&older, &newer), "an older stamp never gets the newer counts");
        assert!(Arc::ptr_eq(&newer, &cache.slot(&jpn, &scope, 8)), "and does not replace them");
    }
}
