//! Page caches given back once the writes stop.
//!
//! The writer connection keeps up to 8 MiB of pages and each reader up to 2 MiB (`SqliteStore::connect`
//! says why). Under writes they fill, and nothing empties them once the load has passed: a server idle
//! after a burst of updates held 10 MB more than before it, a fifth of its memory budget at scale S.
//! So once no commit has come for [`PAUSE`], each connection that is not in use gives its cache back
//! (`PRAGMA shrink_memory`). The first statements after the pause read their pages again, from the
//! operating system's cache; under steady load nothing is given back.

use std::time::Duration;

use sqlx::SqlitePool;
use tokio::sync::watch;

/// How long the database must go without a commit before the caches are given back.
pub(crate) const PAUSE: Duration = Duration::from_secs(1);

/// Shrinks the idle connections of `pools` after each burst of `commits`, until the writer that counts
/// them is gone.
pub(crate) fn start(commits: watch::Receiver<u64>, pools: Vec<SqlitePool>) {
    tokio::spawn(after_each_burst(commits, move || {
        let pools = pools.clone();
        async move {
            for pool in &pools {
                release_caches(pool).await;
            }
            tracing::debug!("page caches given back: no commit for a second");
        }
    }));
}

/// Runs `then` once [`PAUSE`] has passed without a commit, after each burst of commits; returns when
/// the sender of `commits` is gone. While no write comes it sleeps without a timer; during a burst it
/// looks once per [`PAUSE`], not once per commit.
async fn after_each_burst<F: Future<Output = ()>>(mut commits: watch::Receiver<u64>, mut then: impl FnMut() -> F) {
    while commits.changed().await.is_ok() {
        loop {
            tokio::time::sleep(PAUSE).await;
            match commits.has_changed() {
                Ok(true) => commits.mark_unchanged(),
                Ok(false) => break,
                Err(_) => return,
            }
        }
        then().await;
    }
}

/// Empties the page cache of every connection of `pool` that is idle now; a connection in use keeps its
/// cache, and is shrunk after the next burst.
pub(crate) async fn release_caches(pool: &SqlitePool) {
    let mut idle = Vec::new();
    while let Some(connection) = pool.try_acquire() {
        idle.push(connection);
    }
    for connection in &mut idle {
        if let Err(error) = sqlx::query("PRAGMA shrink_memory").execute(&mut **connection).await {
            tracing::debug!(%error, "could not release a connection's page cache");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Counts the calls of the action, and the task that runs it.
    fn watched() -> (watch::Sender<u64>, Arc<AtomicUsize>, tokio::task::JoinHandle<()>) {
        let commits = watch::Sender::new(0);
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let task = tokio::spawn(after_each_burst(commits.subscribe(), move || {
            counted.fetch_add(1, Ordering::SeqCst);
            async {}
        }));
        (commits, calls, task)
    }

    #[tokio::test(start_paused = true)]
    async fn caches_are_given_back_once_per_burst_after_a_pause_without_commits() {
        let (commits, calls, task) = watched();
        tokio::time::sleep(PAUSE * 5).await;
        assert_eq!(calls.load(Ordering::SeqCst), 0, "nothing was written: nothing to give back");

        // A burst longer than the pause, with commits closer together than it: nothing during it.
        for _ in 0..20 {
            commits.send_modify(|n| *n += 1);
            tokio::time::sleep(PAUSE / 4).await;
        }
        assert_eq!(calls.load(Ordering::SeqCst), 0, "the caches are kept while writes go on");
        tokio::time::sleep(PAUSE * 2).await;
        assert_eq!(calls.load(Ordering::SeqCst), 1, "given back after the pause");
        tokio::time::sleep(PAUSE * 10).await;
        assert_eq!(calls.load(Ordering::SeqCst), 1, "and only once while nothing is written");

        commits.send_modify(|n| *n += 1);
        tokio::time::sleep(PAUSE * 3).await;
        assert_eq!(calls.load(Ordering::SeqCst), 2, "the next burst gives them back again");

        drop(commits);
        tokio::time::timeout(PAUSE, task).await.expect("the task ends with the writer").unwrap();
    }

    /// A connection in use keeps its cache and is not waited for; the idle ones are shrunk and go
    /// back to the pool.
    #[tokio::test]
    async fn only_idle_connections_are_shrunk_and_none_is_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("idle.db").display());
        let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(2).connect(&url).await.unwrap();
        let (first, second) = (pool.acquire().await.unwrap(), pool.acquire().await.unwrap());
        drop((first, second));
        idle_count_reaches(&pool, 2).await;
        let busy = pool.acquire().await.unwrap();
        tokio::time::timeout(Duration::from_secs(5), release_caches(&pool)).await.expect("no wait for the busy one");
        idle_count_reaches(&pool, 1).await;
        drop(busy);
        idle_count_reaches(&pool, 2).await;
    }

    /// Waits (a bounded time) for connections handed back to reach the pool's idle list.
    async fn idle_count_reaches(pool: &SqlitePool, count: usize) {
        let settled = async {
            while pool.num_idle() != count {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(5), settled).await.expect("the pool's idle connections settle");
    }
}
