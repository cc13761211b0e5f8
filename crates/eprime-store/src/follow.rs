//! Waiting for the change log to move: the loop behind every store's `Store::wait_for_changes`.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;

use crate::Result;

/// Resolves once `newest` (the log's newest sequence number) is past `after`, or once `timeout` has
/// passed. `commits` ticks at each commit the store can see, and is subscribed to before the first
/// look, so a commit between a look and the wait still wakes it. A tick that brings no new entry (a
/// commit that logged nothing, or a notification that arrives after its entry was seen) is looked at
/// and waited past: a follower is woken early only by an entry, never by a stale tick. An error
/// reading the log resolves at once (the follower's own read will meet it).
pub async fn wait_past<F: Future<Output = Result<i64>>>(
    after: i64,
    timeout: Duration,
    mut commits: watch::Receiver<u64>,
    newest: impl Fn() -> F,
) {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if newest().await.map_or(true, |last| last > after) {
            return;
        }
        match tokio::time::timeout_at(deadline, commits.changed()).await {
            Ok(Ok(())) => continue,
            // No more commits can come (the store is closing), or the time is up.
            Ok(Err(_)) | Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicI64, Ordering};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_tick_without_a_new_entry_does_not_end_the_wait() {
        let commits = watch::Sender::new(0_u64);
        let newest = Arc::new(AtomicI64::new(5));
        let waiting = {
            let (receiver, newest) = (commits.subscribe(), newest.clone());
            tokio::spawn(wait_past(5, Duration::from_secs(30), receiver, move || {
                std::future::ready(Ok(newest.load(Ordering::SeqCst)))
            }))
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        commits.send_modify(|n| *n += 1);
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!waiting.is_finished(), "a commit that logged nothing leaves the follower waiting");

        newest.store(6, Ordering::SeqCst);
        commits.send_modify(|n| *n += 1);
        tokio::time::timeout(Duration::from_millis(10), waiting).await.expect("woken by the entry").unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn the_wait_ends_at_its_timeout_however_many_empty_ticks_come() {
        let commits = watch::Sender::new(0_u64);
        let started = tokio::time::Instant::now();
        let waiting =
            tokio::spawn(wait_past(5, Duration::from_secs(3), commits.subscribe(), || std::future::ready(Ok(5))));
        while !waiting.is_finished() {
            commits.send_modify(|n| *n += 1);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let waited = started.elapsed();
        assert!(waited >= Duration::from_secs(3) && waited < Duration::from_millis(3_200), "waited {waited:?}");
    }

    #[tokio::test]
    async fn an_entry_already_there_or_a_closed_store_ends_it_at_once() {
        let commits = watch::Sender::new(0_u64);
        wait_past(5, Duration::from_secs(30), commits.subscribe(), || std::future::ready(Ok(6))).await;
        let receiver = commits.subscribe();
        drop(commits);
        tokio::time::timeout(
            Duration::from_secs(5),
            wait_past(5, Duration::from_secs(30), receiver, || std::future::ready(Ok(5))),
        )
        .await
        .expect("a closed store does not keep its followers waiting");
    }
}
