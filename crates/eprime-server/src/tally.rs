//! A partnership's activity counts, kept per viewer's scope and followed along the change log.
//!
//! Counting a partnership's activities per status, goal and year walks all of them (tens of
//! milliseconds at 10,000 activities), and the dashboard and the partnership page need those counts on
//! every view. So a tally is computed once per (partnership, scope) and kept with the partnership's
//! stamp (`Store::partnership_stamp`, read from the database on every request, so a write through this
//! instance or any other is seen by the very next read). When the stamp has moved, the activity changes
//! since are read from the log and applied to the kept tally (`ActivityTally::follow`: out with the
//! record as it was, in with it as it is, each as the scope may read it); only a change it cannot follow —
//! a document's (which may move goals between branches), or too many at once — counts again from scratch.
//! A scope only ever gets counts computed for that scope.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use eprime_domain::{ElementId, PartnerCode, ReadScope};
use eprime_store::{ActivityFilter, ActivityTally, DocumentFilter, Store, StoreError};
use tokio::sync::OnceCell;

/// How many (partnership, scope) tallies are kept; past that the cache starts again. Scopes are
/// few (everything, each nation's users, each Ally, each provider, the public), so this bounds
/// memory without ever being reached in normal use.
const CAPACITY: usize = 4096;

/// Past this many changes since the kept tally, counting again is as cheap as following them.
const MAX_FOLLOWED: u32 = 500;

type Key = (PartnerCode, ReadScope);

/// A tally with what following it needs: each element's branch (its parent, or itself).
pub struct Counted {
    pub tally: ActivityTally,
    branch_of: Arc<HashMap<ElementId, ElementId>>,
}

type Cell = Arc<OnceCell<Arc<Counted>>>;

struct Slot {
    stamp: i64,
    /// Shared by every request that finds the same stamp, so a burst computes the tally once.
    counted: Cell,
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
    ) -> Result<Arc<Counted>, StoreError> {
        let stamp = store.partnership_stamp(partner).await?;
        let (cell, earlier) = self.slot(partner, scope, stamp);
        let counted = cell
            .get_or_try_init(|| async {
                if let Some((since, kept)) = earlier
                    && let Some(followed) = follow(store, scope, partner, since, stamp, &kept).await?
                {
                    return Ok::<_, StoreError>(Arc::new(followed));
                }
                count(store, scope, partner).await.map(Arc::new)
            })
            .await?;
        Ok(counted.clone())
    }

    /// The slot for `stamp`: the kept one if it is that recent, else a new, empty one (which replaces
    /// an older slot, never a newer one), together with the older tally it may follow on from.
    fn slot(&self, partner: &PartnerCode, scope: &ReadScope, stamp: i64) -> (Cell, Option<(i64, Arc<Counted>)>) {
        let mut slots = self.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let key = (partner.clone(), scope.clone());
        match slots.get(&key) {
            Some(slot) if slot.stamp == stamp => (slot.counted.clone(), None),
            // A request that read its stamp before a newer one was kept counts for itself.
            Some(slot) if slot.stamp > stamp => (Arc::new(OnceCell::new()), None),
            found => {
                let earlier = found.and_then(|slot| slot.counted.get().map(|c| (slot.stamp, c.clone())));
                if slots.len() >= CAPACITY {
                    slots.clear();
                }
                let counted: Cell = Arc::new(OnceCell::new());
                slots.insert(key, Slot { stamp, counted: counted.clone() });
                (counted, earlier)
            }
        }
    }
}

impl Counted {
    pub fn total(&self) -> u64 {
        self.tally.total()
    }
}

/// Counts from scratch, and maps the elements of the partnership's documents the scope may read to
/// their branches.
async fn count(store: &dyn Store, scope: &ReadScope, partner: &PartnerCode) -> Result<Counted, StoreError> {
    let filter = ActivityFilter { partnership: Some(partner.clone()), ..Default::default() };
    let tally = store.tally_activities(scope, &filter).await?;
    let mut branch_of = HashMap::new();
    let documents = DocumentFilter { partnership: Some(partner.clone()), kind: None };
    for document in store.list_documents(scope, &documents).await? {
        if let Some(detail) = store.document(scope, document.id).await? {
            branch_of.extend(detail.elements.iter().map(|e| (e.id, e.parent.unwrap_or(e.id))));
        }
    }
    Ok(Counted { tally, branch_of: Arc::new(branch_of) })
}

/// The kept tally (of stamp `since`) brought up to `stamp` by the log's changes in between, or `None`
/// when one of them cannot be followed (or there are too many, or not all of them yet).
async fn follow(
    store: &dyn Store,
    scope: &ReadScope,
    partner: &PartnerCode,
    since: i64,
    stamp: i64,
    kept: &Counted,
) -> Result<Option<Counted>, StoreError> {
    let changes = store.partnership_changes(partner, since, MAX_FOLLOWED).await?;
    if changes.last().map(|c| c.seq) != Some(stamp) {
        return Ok(None);
    }
    let mut tally = kept.tally.clone();
    for change in &changes {
        if let Err(why) = tally.follow(change, scope, &kept.branch_of) {
            tracing::debug!(?why, seq = change.seq, %partner, "counting the partnership's activities again");
            return Ok(None);
        }
    }
    Ok(Some(Counted { tally, branch_of: kept.branch_of.clone() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_is_shared_while_its_stamp_holds_and_replaced_when_it_moves() {
        let cache = TallyCache::default();
        let jpn = PartnerCode::parse("JPN").unwrap();
        let scope = ReadScope::public_only();
        let (first, _) = cache.slot(&jpn, &scope, 7);
        assert!(Arc::ptr_eq(&first, &cache.slot(&jpn, &scope, 7).0), "same stamp, same slot");
        assert!(!Arc::ptr_eq(&first, &cache.slot(&jpn, &ReadScope::system(), 7).0), "another scope, another slot");
        let (newer, _) = cache.slot(&jpn, &scope, 8);
        assert!(!Arc::ptr_eq(&first, &newer), "a moved stamp gets a new slot");
        let (older, _) = cache.slot(&jpn, &scope, 7);
        assert!(!Arc::ptr_eq(&older, &newer), "an older stamp never gets the newer counts");
        assert!(Arc::ptr_eq(&newer, &cache.slot(&jpn, &scope, 8).0), "and does not replace them");
    }
}
