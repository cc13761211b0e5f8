//! Sign-in throttling: after too many failures for one account or from one address within a
//! window, further attempts are refused (429 with `Retry-After`) without checking the password.
//!
//! Counts live in this process's memory: each instance of a multi-instance deployment counts its
//! own attempts, so the effective limit there is per instance. Memory is bounded: old failures are
//! pruned on every use and the number of tracked keys is capped.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most keys tracked at once; past it the quietest are forgotten first.
const MAX_KEYS: usize = 100_000;

pub struct SignInThrottle {
    max_failures: usize,
    window: Duration,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl SignInThrottle {
    pub fn new(max_failures: usize, window: Duration) -> Self {
        Self { max_failures: max_failures.max(1), window, failures: Mutex::new(HashMap::new()) }
    }

    /// `Err(wait)` when any key has reached the limit: the time until its oldest failure expires.
    pub fn check(&self, keys: &[String], now: Instant) -> Result<(), Duration> {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let mut wait = None;
        for key in keys {
            if let Some(times) = failures.get_mut(key) {
                prune(times, now, self.window);
                if times.len() >= self.max_failures {
                    let until = times.front().map_or(Duration::ZERO, |oldest| (*oldest + self.window) - now);
                    wait = Some(wait.map_or(until, |w: Duration| w.max(until)));
                }
            }
        }
        wait.map_or(Ok(()), Err)
    }

    pub fn record_failure(&self, keys: &[String], now: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() >= MAX_KEYS {
            failures.retain(|_, times| {
                prune(times, now, self.window);
                !times.is_empty()
            });
            if failures.len() >= MAX_KEYS {
                // Still full of live keys: forget one at random rather than grow without bound.
                if let Some(key) = failures.keys().next().cloned() {
                    failures.remove(&key);
                }
            }
        }
        for key in keys {
            let times = failures.entry(key.clone()).or_default();
            prune(times, now, self.window);
            times.push_back(now);
        }
    }

    /// A successful sign-in clears its account's failures (not its address's).
    pub fn clear(&self, key: &str) {
        self.failures.lock().unwrap_or_else(|e| e.into_inner()).remove(key);
    }
}

fn prune(times: &mut VecDeque<Instant>, now: Instant, window: Duration) {
    while times.front().is_some_and(|t| now.duration_since(*t) >= window) {
        times.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sixth_attempt_waits_until_the_oldest_failure_expires() {
        let throttle = SignInThrottle::new(5, Duration::from_secs(900));
        let start = Instant::now();
        let keys = ["account:jpn.officer".to_owned(), "address:127.0.0.1".to_owned()];
        for i in 0..5 {
            assert!(throttle.check(&keys, start + Duration::from_secs(i)).is_ok());
            throttle.record_failure(&keys, start + Duration::from_secs(i));
        }
        let wait = throttle.check(&keys, start + Duration::from_secs(10)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(890));
        assert!(throttle.check(&keys, start + Duration::from_secs(901)).is_ok(), "the window slides");
    }

    #[test]
    fn other_accounts_are_not_affected_and_success_clears_the_account() {
        let throttle = SignInThrottle::new(2, Duration::from_secs(60));
        let now = Instant::now();
        let a = ["account:a".to_owned()];
        throttle.record_failure(&a, now);
        throttle.record_failure(&a, now);
        assert!(throttle.check(&a, now).is_err());
        assert!(throttle.check(&["account:b".to_owned()], now).is_ok());
        throttle.clear("account:a");
        assert!(throttle.check(&a, now).is_ok());
    }
}
