//! Pacing for the followers of the change log.
//!
//! Each follower (the live stream's hub, the notifier, the webhook queue, the menu index) wakes
//! when a change is committed. Under a stream of writes, waking once per commit costs a pass — a
//! read of the log, and for the notifier and the webhook queue a writer transaction — per write,
//! which on SQLite's single writer halves the writes the server can take. A follower that has just
//! run waits out the rest of its interval instead, and its next pass takes everything committed
//! meanwhile in one batch. After a quiet spell it runs at once, so a lone change is not delayed.

use std::time::Duration;

use tokio::time::Instant;

pub struct Pace {
    every: Duration,
    last: Option<Instant>,
}

impl Pace {
    /// At most one pass per `every`.
    pub fn every(every: Duration) -> Self {
        Self { every, last: None }
    }

    /// Returns when the next pass may start: at once if the last one began `every` ago or more.
    pub async fn next_pass(&mut self) {
        if let Some(due) = self.last.map(|last| last + self.every)
            && Instant::now() < due
        {
            tokio::time::sleep_until(due).await;
        }
        self.last = Some(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_pass_waits_only_for_the_rest_of_the_interval() {
        let mut pace = Pace::every(Duration::from_millis(20));
        let start = Instant::now();
        pace.next_pass().await;
        assert_eq!(start.elapsed(), Duration::ZERO, "the first pass runs at once");
        tokio::time::advance(Duration::from_millis(5)).await;
        pace.next_pass().await;
        assert_eq!(start.elapsed(), Duration::from_millis(20), "a pass soon after waits out the interval");
        tokio::time::advance(Duration::from_millis(50)).await;
        let quiet = Instant::now();
        pace.next_pass().await;
        assert_eq!(quiet.elapsed(), Duration::ZERO, "after a quiet spell it runs at once");
    }
}
