//! A partnership's activity counts, kept per viewer's scope and followed along the change log.
//!
//! Counting a partnership's activities per status, goal and year walks all of them (tens to hundreds
//! of milliseconds at 10,000 activities), and the dashboard and the partnership page need those counts
//! on every view. So a tally is computed once per (partnership, scope) and kept with the stamp it is
//! exactly at (`Store::partnership_tally` reads both from one snapshot). Every request reads the
//! partnership's stamp (`Store::partnership_stamp`), so a write through this instance or any other is
//! seen by the very next read. When the stamp has moved past the kept one, the changes since are read
//! from the log and applied to the kept tally (`ActivityTally::follow`: out with the record as it was, in
//! with it as it is, each as the scope may read it); only a change it cannot follow — a document's
//! (which may move goals between branches), or too many at once — counts again from scratch.
//!
//! One request at a time brings a kept tally forward; those arriving meanwhile wait for it and then
//! take what it kept, which is at least as recent as the stamp they read (a newer tally is a state
//! committed while they were being answered). Under a stream of writes this makes one short log read
//! per burst of readers, where each reader on its own would each count from scratch.
//! A scope only ever gets counts computed for that scope.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use eprime_domain::{ElementId, PartnerCode, ReadScope};
use eprime_store::{DocumentFilter, Store, StoreError};

/// How many (partnership, scope) tallies are kept; past that the cache starts again. Scopes are
/// few (everything, each nation's users, each Ally, each provider, the public), so this bounds
/// memory without ever being reached in normal use.
const CAPACITY: usize = 4096;

/// Past this many changes since the kept tally, counting again is as cheap as following them.
const MAX_FOLLOWED: u32 = 500;

type Key = (PartnerCode, ReadScope);

/// A tally with what following it needs: each element's branch (its parent, or itself).
pub struct Counted {
    pub tally: eprime_store::ActivityTally,
    branch_of: Arc<HashMap<ElementId, ElementId>>,
}

/// A tally and the stamp it is exactly at.
#[derive(Clone)]
struct Kept {
    stamp: i64,
    counted: Arc<Counted>,
}

#[derive(Default)]
struct Slot {
    kept: Option<Kept>,
    /// Held by the one request bringing `kept` forward.
    turn: Arc<tokio::sync::Mutex<()>>,
}

#[derive(Default)]
pub struct TallyCache {
    slots: Mutex<HashMap<Key, Slot>>,
}

impl TallyCache {
    /// The activities of `partner` that `scope` may see, counted, as of the partnership's stamp now
    /// or later.
    pub async fn tally(
        &self,
        store: &dyn Store,
        scope: &ReadScope,
        partner: &PartnerCode,
    ) -> Result<Arc<Counted>, StoreError> {
        let key = (partner.clone(), scope.clone());
        let stamp = store.partnership_stamp(partner).await?;
        let turn = match self.recent_enough(&key, stamp) {
            Ok(counted) => return Ok(counted),
            Err(turn) => turn,
        };
        let _turn = turn.lock().await;
        // Whoever had the turn before us may have brought it far enough.
        if let Ok(counted) = self.recent_enough(&key, stamp) {
            return Ok(counted);
        }
        let kept = self.kept(&key);
        let followed = match &kept {
            Some(kept) => follow(store, scope, partner, kept, stamp).await?,
            None => None,
        };
        let newer = match followed {
            Some(followed) => followed,
            None => count(store, scope, partner).await?,
        };
        self.keep(key, newer.clone());
        Ok(newer.counted)
    }

    /// The kept tally when it is at `stamp` or later; else the turn to take before bringing it forward.
    fn recent_enough(&self, key: &Key, stamp: i64) -> Result<Arc<Counted>, Arc<tokio::sync::Mutex<()>>> {
        let mut slots = self.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if slots.len() >= CAPACITY && !slots.contains_key(key) {
            slots.clear();
        }
        let slot = slots.entry(key.clone()).or_default();
        match &slot.kept {
            Some(kept) if kept.stamp >= stamp => Ok(kept.counted.clone()),
            _ => Err(slot.turn.clone()),
        }
    }

    fn kept(&self, key: &Key) -> Option<Kept> {
        let slots = self.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        slots.get(key).and_then(|slot| slot.kept.clone())
    }

    /// Keeps `newer` unless a more recent tally is already kept.
    fn keep(&self, key: Key, newer: Kept) {
        let mut slots = self.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let slot = slots.entry(key).or_default();
        if slot.kept.as_ref().is_none_or(|kept| kept.stamp < newer.stamp) {
            slot.kept = Some(newer);
        }
    }
}

impl Counted {
    pub fn total(&self) -> u64 {
        self.tally.total()
    }
}

/// Counts from scratch, and maps the elements of the partnership's documents the scope may read to
/// their branches. The branches are read after the counts: a document changed in between moves the
/// stamp past the counted one, so the next request follows that change (and counts again).
async fn count(store: &dyn Store, scope: &ReadScope, partner: &PartnerCode) -> Result<Kept, StoreError> {
    let (stamp, tally) = store.partnership_tally(scope, partner).await?;
    let mut branch_of = HashMap::new();
    let documents = DocumentFilter { partnership: Some(partner.clone()), kind: None };
    for document in store.list_documents(scope, &documents).await? {
        if let Some(detail) = store.document(scope, document.id).await? {
            branch_of.extend(detail.elements.iter().map(|e| (e.id, e.parent.unwrap_or(e.id))));
        }
    }
    Ok(Kept { stamp, counted: Arc::new(Counted { tally, branch_of: Arc::new(branch_of) }) })
}

/// The kept tally brought up to the log's latest change about the partnership (at least `stamp`), or
/// `None` when one of the changes cannot be followed, or there are too many.
async fn follow(
    store: &dyn Store,
    scope: &ReadScope,
    partner: &PartnerCode,
    kept: &Kept,
    stamp: i64,
) -> Result<Option<Kept>, StoreError> {
    let changes = store.partnership_changes(partner, kept.stamp, MAX_FOLLOWED).await?;
    // The log is read after the stamp was, so it holds the stamp's change; fewer means a log this
    // reader cannot follow (and a full batch that stops short, too many changes).
    let Some(last) = changes.last().map(|c| c.seq).filter(|&last| last >= stamp) else {
        return Ok(None);
    };
    let mut tally = kept.counted.tally.clone();
    for change in &changes {
        if let Err(why) = tally.follow(change, scope, &kept.counted.branch_of) {
            tracing::debug!(?why, seq = change.seq, %partner, "counting the partnership's activities again");
            return Ok(None);
        }
    }
    let counted = Counted { tally, branch_of: kept.counted.branch_of.clone() };
    Ok(Some(Kept { stamp: last, counted: Arc::new(counted) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(stamp: i64) -> Kept {
        let counted = Counted { tally: Default::default(), branch_of: Arc::default() };
        Kept { stamp, counted: Arc::new(counted) }
    }

    #[test]
    fn a_kept_tally_serves_its_stamp_and_older_ones_and_is_only_ever_replaced_by_a_newer_one() {
        let cache = TallyCache::default();
        let jpn = (PartnerCode::parse("JPN").unwrap(), ReadScope::public_only());
        assert!(cache.recent_enough(&jpn, 0).is_err(), "nothing kept yet");
        let seven = kept(7);
        cache.keep(jpn.clone(), seven.clone());
        let served = cache.recent_enough(&jpn, 7).unwrap_or_else(|_| panic!("its own stamp"));
        assert!(Arc::ptr_eq(&served, &seven.counted));
        let served = cache.recent_enough(&jpn, 5).unwrap_or_else(|_| panic!("a request that read an older stamp"));
        assert!(Arc::ptr_eq(&served, &seven.counted), "gets the newer counts, committed while it was answered");
        assert!(cache.recent_enough(&jpn, 8).is_err(), "a moved stamp brings the tally forward");
        cache.keep(jpn.clone(), kept(6));
        assert_eq!(cache.kept(&jpn).map(|k| k.stamp), Some(7), "an older tally never replaces a newer one");
        cache.keep(jpn.clone(), kept(9));
        assert_eq!(cache.kept(&jpn).map(|k| k.stamp), Some(9));
        let other_scope = (jpn.0.clone(), ReadScope::system());
        assert!(cache.recent_enough(&other_scope, 0).is_err(), "another scope never gets these counts");
    }

    #[test]
    fn one_turn_per_partnership_and_scope() {
        let cache = TallyCache::default();
        let jpn = (PartnerCode::parse("JPN").unwrap(), ReadScope::public_only());
        let first = cache.recent_enough(&jpn, 1).err().expect("a turn");
        let again = cache.recent_enough(&jpn, 1).err().expect("a turn");
        assert!(Arc::ptr_eq(&first, &again), "requests for the same tally queue on one turn");
        let other = (PartnerCode::parse("KOR").unwrap(), ReadScope::public_only());
        let elsewhere = cache.recent_enough(&other, 1).err().expect("a turn");
        assert!(!Arc::ptr_eq(&first, &elsewhere), "another partnership does not wait");
    }
}
