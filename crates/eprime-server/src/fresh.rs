//! Answers kept while nothing they were read from can have changed.
//!
//! A page that many people ask again and again (a partnership's page, a page of activities, the
//! header's unread count) is read from the store once and kept, tagged with the [`Tick`] it was
//! read at. It is served again only while the tick has not moved and for at most [`MAX_AGE`]. The
//! tick is what this instance knows to have been committed, and it moves:
//!
//! - after every request through this instance that may have written (any method but `GET`,
//!   `HEAD` and `OPTIONS`), before its answer leaves ([`Clock::wrote`], called by the router's
//!   middleware): a client always reads its own writes;
//! - when the change follower reads new entries from the log ([`Clock::saw`]): a write by a
//!   background task here, or by another instance (PostgreSQL wakes the follower with a
//!   notification), is seen within the follower's pace (a few milliseconds); a write by another
//!   process on the same SQLite file within its poll (half a second);
//! - when the notifier has made notifications ([`Clock::wrote`]).
//!
//! `MAX_AGE` bounds whatever moves none of these (notifications made by another instance's
//! notifier), as `session_cache::RECHECK` does for sessions ended elsewhere.
//!
//! A tick is read before the store is, so an answer read while a write committed is tagged with
//! the tick before that write and is never served after it. Keys must hold everything an answer
//! depends on (the reader's scope, the query), so that one reader never gets another's answer.

use std::borrow::Borrow;
use std::cmp::Ordering as Order;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The longest an answer is kept however still the tick is.
pub const MAX_AGE: Duration = Duration::from_secs(1);

/// What this instance knows to have been committed.
#[derive(Debug, Default)]
pub struct Clock {
    writes: AtomicU64,
    seen: AtomicI64,
}

/// A reading of the [`Clock`]: equal ticks mean nothing known to this instance was committed in between.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tick {
    writes: u64,
    seen: i64,
}

/// Both counters only grow, so a tick ahead in one and behind in neither was read later. Ticks
/// ahead in one each (read by two requests at once) are not ordered.
impl PartialOrd for Tick {
    fn partial_cmp(&self, other: &Self) -> Option<Order> {
        match (self.writes.cmp(&other.writes), self.seen.cmp(&other.seen)) {
            (writes, seen) if writes == seen => Some(writes),
            (Order::Equal, other) | (other, Order::Equal) => Some(other),
            _ => None,
        }
    }
}

impl Clock {
    pub fn tick(&self) -> Tick {
        Tick { writes: self.writes.load(Ordering::Acquire), seen: self.seen.load(Ordering::Acquire) }
    }

    /// After something through this instance may have written (whether or not it succeeded).
    pub fn wrote(&self) {
        self.writes.fetch_add(1, Ordering::AcqRel);
    }

    /// The change follower has read the log up to `seq`.
    pub fn saw(&self, seq: i64) {
        self.seen.fetch_max(seq, Ordering::AcqRel);
    }
}

struct Entry<V, T> {
    tag: T,
    at: Instant,
    value: Arc<V>,
}

/// Values by key, each served while the tag it was read at is the current one and it is younger
/// than the keeper's maximum age. The tag is a [`Tick`] for answers; `session_cache` keeps
/// sessions by the store's accounts generation the same way.
pub struct Kept<K, V, T = Tick> {
    entries: Mutex<HashMap<K, Entry<V, T>>>,
    capacity: usize,
    max_age: Duration,
}

impl<K: Hash + Eq, V, T: Copy + PartialOrd> Kept<K, V, T> {
    /// At most `capacity` values, each for at most [`MAX_AGE`].
    pub fn new(capacity: usize) -> Self {
        Self::with_max_age(capacity, MAX_AGE)
    }

    /// At most `capacity` values (past that, stale ones go, and if none is stale, all of them),
    /// each for at most `max_age`.
    pub fn with_max_age(capacity: usize, max_age: Duration) -> Self {
        Self { entries: Mutex::new(HashMap::new()), capacity: capacity.max(1), max_age }
    }

    /// The value kept for `key`, if it was read at `tag` and is still young enough.
    pub fn get<Q>(&self, key: &Q, tag: T) -> Option<Arc<V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let entries = self.lock();
        let entry = entries.get(key)?;
        (entry.tag == tag && entry.at.elapsed() < self.max_age).then(|| entry.value.clone())
    }

    /// Keeps `value`, read at `tag`, unless one read at a later tag is already kept.
    pub fn keep(&self, key: K, tag: T, value: Arc<V>) {
        let mut entries = self.lock();
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            let max_age = self.max_age;
            entries.retain(|_, e| e.tag == tag && e.at.elapsed() < max_age);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        if !entries.get(&key).is_some_and(|e| e.tag > tag) {
            entries.insert(key, Entry { tag, at: Instant::now(), value });
        }
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Makes every kept value `by` older, for tests of their age.
    #[cfg(test)]
    pub(crate) fn age_all(&self, by: Duration) {
        for entry in self.lock().values_mut() {
            entry.at -= by;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Entry<V, T>>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Keeps the answer for `key` at the current tick, reading it with `read` when none is kept.
/// Errors are not kept.
pub async fn get_or_read<K, V, E, F>(kept: &Kept<K, V>, clock: &Clock, key: K, read: F) -> Result<Arc<V>, E>
where
    K: Hash + Eq,
    F: std::future::Future<Output = Result<V, E>>,
{
    let tick = clock.tick();
    if let Some(value) = kept.get(&key, tick) {
        return Ok(value);
    }
    let value = Arc::new(read.await?);
    kept.keep(key, tick, value.clone());
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_served_while_the_tick_stands_still() {
        let clock = Clock::default();
        let kept = Kept::new(8);
        let tick = clock.tick();
        kept.keep("page", tick, Arc::new(1));
        assert_eq!(kept.get(&"page", clock.tick()).as_deref(), Some(&1));
        assert_eq!(kept.get(&"other", clock.tick()), None);
    }

    #[test]
    fn a_write_here_or_a_change_seen_in_the_log_ends_every_kept_answer() {
        let clock = Clock::default();
        let kept = Kept::new(8);
        kept.keep("page", clock.tick(), Arc::new(1));
        clock.wrote();
        assert_eq!(kept.get(&"page", clock.tick()), None);

        kept.keep("page", clock.tick(), Arc::new(2));
        clock.saw(41);
        assert_eq!(kept.get(&"page", clock.tick()), None);
        // An older position of the follower never moves the tick back.
        let now = clock.tick();
        clock.saw(7);
        assert_eq!(clock.tick(), now);
    }

    #[test]
    fn an_answer_read_before_a_write_is_never_served_after_it() {
        // The tick is taken before the read; a write that commits during the read moves it.
        let clock = Clock::default();
        let kept = Kept::new(8);
        let before = clock.tick();
        clock.wrote();
        kept.keep("page", before, Arc::new("maybe stale"));
        assert_eq!(kept.get(&"page", clock.tick()), None);
        // And it does not replace an answer already read after the write.
        kept.keep("page", clock.tick(), Arc::new("fresh"));
        kept.keep("page", before, Arc::new("maybe stale"));
        assert_eq!(kept.get(&"page", clock.tick()).as_deref(), Some(&"fresh"));
    }

    #[test]
    fn ticks_are_ordered_as_they_were_read() {
        let clock = Clock::default();
        let first = clock.tick();
        clock.wrote();
        let second = clock.tick();
        clock.saw(3);
        let third = clock.tick();
        assert!(first < second && second < third && first < third);
        let other = Tick { writes: 0, seen: 9 };
        assert_eq!(other.partial_cmp(&second), None, "ahead in one each: not ordered");
        assert_eq!(third.partial_cmp(&third), Some(Order::Equal));
    }

    #[test]
    fn answers_are_not_kept_longer_than_max_age() {
        let clock = Clock::default();
        let kept = Kept::new(8);
        let tick = clock.tick();
        kept.keep("page", tick, Arc::new(1));
        kept.age_all(MAX_AGE);
        assert_eq!(kept.get(&"page", tick), None);
    }

    #[test]
    fn capacity_is_a_bound_stale_answers_go_first() {
        let clock = Clock::default();
        let kept = Kept::new(2);
        kept.keep(1, clock.tick(), Arc::new(()));
        clock.wrote();
        kept.keep(2, clock.tick(), Arc::new(()));
        kept.keep(3, clock.tick(), Arc::new(()));
        assert_eq!(kept.len(), 2, "the stale answer made room");
        assert!(kept.get(&2, clock.tick()).is_some() && kept.get(&3, clock.tick()).is_some());
        kept.keep(4, clock.tick(), Arc::new(()));
        assert_eq!(kept.len(), 1, "nothing stale: all go");
    }

    #[tokio::test]
    async fn get_or_read_reads_once_per_tick_and_keeps_no_error() {
        let clock = Clock::default();
        let kept: Kept<&str, u32> = Kept::new(8);
        let reads = std::sync::atomic::AtomicU32::new(0);
        let read = || async { Ok::<_, ()>(reads.fetch_add(1, Ordering::SeqCst) + 1) };
        assert_eq!(*get_or_read(&kept, &clock, "k", read()).await.unwrap(), 1);
        assert_eq!(*get_or_read(&kept, &clock, "k", read()).await.unwrap(), 1);
        clock.wrote();
        assert_eq!(*get_or_read(&kept, &clock, "k", read()).await.unwrap(), 2);
        clock.wrote();
        assert!(get_or_read(&kept, &clock, "k", async { Err::<u32, ()>(()) }).await.is_err());
        assert!(kept.get(&"k", clock.tick()).is_none(), "an error is not kept");
    }
}
