//! Group commit: writes that arrive together share one transaction.
//!
//! Why: at scale M a commit costs more than the few statements of a typical write. SQLite appends the
//! transaction's pages to the WAL, and every reading connection drops its whole page cache at its next
//! read after any commit, so the reads alongside start cold again. With many writers at once, a commit
//! per write pays both for every write. Here the writes waiting when the writer connection comes free
//! run one after another in one transaction, each inside its own savepoint: a write that fails is rolled
//! back alone and the others commit together. Each caller hears its own outcome only once the
//! transaction has committed, so what a caller is told is durable (as before) and the order of the
//! writes is the order they ran in.
//!
//! The writes run on a task of their own (`run`), which takes the writer connection for each group. A
//! write whose caller goes away meanwhile (a client that disconnects) is still made, as it would be
//! once its transaction had started.

use std::any::Any;
use std::panic::AssertUnwindSafe;

use eprime_store::StoreError;
use futures::FutureExt;
use futures::future::BoxFuture;
use sqlx::{SqliteConnection, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use crate::codec::db_error;

/// At most this many writes share a transaction, so one group's callers wait for a bounded amount of
/// work and a commit never holds too many pages.
const MAX_GROUP: usize = 64;

type Answer = Result<Box<dyn Any + Send>, StoreError>;
type Work = Box<dyn for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Answer> + Send>;

struct Write {
    work: Work,
    reply: oneshot::Sender<Answer>,
}

/// The queue of writes waiting for the writer connection. Cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct GroupCommit {
    queue: mpsc::UnboundedSender<Write>,
}

impl GroupCommit {
    /// Starts the task that commits the queued writes through `writer` (a pool of one connection). It
    /// ends when every handle is dropped.
    pub(crate) fn start(writer: SqlitePool) -> Self {
        let (queue, writes) = mpsc::unbounded_channel();
        tokio::spawn(run(writer, writes));
        Self { queue }
    }

    /// Runs `work` inside a transaction shared with the writes queued alongside it, and answers once
    /// that transaction has committed. An error from `work` rolls back its own changes only.
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T, StoreError>> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let work: Work =
            Box::new(move |connection| work(connection).map(|done| done.map(|t| Box::new(t) as Box<_>)).boxed());
        self.queue
            .send(Write { work, reply })
            .map_err(|_| StoreError::Backend("the database is closed: no more writes".to_owned()))?;
        let answer = answer.await.map_err(|_| {
            StoreError::Backend("the write was abandoned: the writer stopped before answering".to_owned())
        })?;
        answer.map(|done| *done.downcast::<T>().expect("a write answers with the type it was queued with"))
    }
}

async fn run(writer: SqlitePool, mut writes: mpsc::UnboundedReceiver<Write>) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    while writes.recv_many(&mut group, MAX_GROUP).await > 0 {
        let (writes_in_group, started) = (group.len(), std::time::Instant::now());
        commit_together(&writer, std::mem::take(&mut group)).await;
        // How long the writer was held, and for how many writes: what every queued write waited
        // behind (`RUST_LOG=eprime_store_sqlite=debug`).
        tracing::debug!(writes = writes_in_group, micros = started.elapsed().as_micros(), "group committed");
    }
}

/// Runs one group of writes in one transaction and answers each.
async fn commit_together(writer: &SqlitePool, group: Vec<Write>) {
    let mut done: Vec<(oneshot::Sender<Answer>, Answer)> = Vec::with_capacity(group.len());
    let mut pending = group.into_iter();
    let outcome = run_group(writer, &mut pending, &mut done).await;
    match outcome {
        Ok(()) => {
            for (reply, answer) in done {
                let _ = reply.send(answer);
            }
        }
        // Nothing of the group was committed: each write that had succeeded, and each that never ran,
        // hears why. A write that had failed keeps its own error (it would not have been made anyway).
        Err(error) => {
            let message = error.to_string();
            let failed = || StoreError::Backend(format!("the write was not committed: {message}"));
            for (reply, answer) in done {
                let _ = reply.send(answer.and_then(|_| Err(failed())));
            }
            for write in pending {
                let _ = write.reply.send(Err(failed()));
            }
        }
    }
}

async fn run_group(
    writer: &SqlitePool,
    pending: &mut std::vec::IntoIter<Write>,
    done: &mut Vec<(oneshot::Sender<Answer>, Answer)>,
) -> Result<(), StoreError> {
    let mut connection = writer.acquire().await.map_err(db_error)?;
    let outcome = run_in_transaction(&mut connection, pending, done).await;
    if outcome.is_err() {
        // However far the group got, the connection goes back to the pool outside a transaction.
        let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *connection).await;
    }
    outcome
}

/// Each write runs in the savepoint `w`. The statements between two writes are sent together, so a
/// group costs one round trip to the connection's thread per write besides the write's own: `RELEASE w;
/// SAVEPOINT w` after a write that succeeded, `ROLLBACK TO w` after one that failed (which undoes it
/// and leaves `w` open and empty for the next).
async fn run_in_transaction(
    connection: &mut SqliteConnection,
    pending: &mut std::vec::IntoIter<Write>,
    done: &mut Vec<(oneshot::Sender<Answer>, Answer)>,
) -> Result<(), StoreError> {
    sqlx::raw_sql("BEGIN IMMEDIATE; SAVEPOINT w").execute(&mut *connection).await.map_err(db_error)?;
    let mut last_succeeded = None;
    for Write { work, reply } in pending.by_ref() {
        let between = match last_succeeded {
            Some(true) => Some("RELEASE w; SAVEPOINT w"),
            Some(false) => Some("ROLLBACK TO w"),
            None => None,
        };
        if let Some(between) = between
            && let Err(error) = sqlx::raw_sql(between).execute(&mut *connection).await
        {
            let error = db_error(error);
            done.push((reply, Err(StoreError::Backend(format!("the write was not made: {error}")))));
            return Err(error);
        }
        let answer = guarded(work(&mut *connection)).await;
        last_succeeded = Some(answer.is_ok());
        done.push((reply, answer));
    }
    let finish = if !done.iter().any(|(_, answer)| answer.is_ok()) {
        "ROLLBACK"
    } else if last_succeeded == Some(false) {
        "ROLLBACK TO w; COMMIT"
    } else {
        "COMMIT"
    };
    sqlx::raw_sql(finish).execute(&mut *connection).await.map_err(db_error)?;
    Ok(())
}

/// A write that panics is an error for its caller, not the end of the writer task.
async fn guarded(work: BoxFuture<'_, Answer>) -> Answer {
    AssertUnwindSafe(work).catch_unwind().await.unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(StoreError::Backend(format!("the write panicked: {what}")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

    async fn writer() -> (tempfile::TempDir, SqlitePool) {
        let dir = tempfile::tempdir().unwrap();
        let options = SqliteConnectOptions::new().filename(dir.path().join("group.db")).create_if_missing(true);
        let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await.unwrap();
        sqlx::query("CREATE TABLE t (n INTEGER PRIMARY KEY)").execute(&pool).await.unwrap();
        (dir, pool)
    }

    fn insert(
        n: i64,
        then_fail: bool,
    ) -> impl for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<i64, StoreError>> {
        move |connection| {
            Box::pin(async move {
                sqlx::query("INSERT INTO t (n) VALUES (?1)")
                    .bind(n)
                    .execute(&mut *connection)
                    .await
                    .map_err(db_error)?;
                if then_fail { Err(StoreError::Conflict(format!("{n} refused"))) } else { Ok(n) }
            })
        }
    }

    async fn stored(pool: &SqlitePool) -> Vec<i64> {
        sqlx::query_scalar("SELECT n FROM t ORDER BY n").fetch_all(pool).await.unwrap()
    }

    #[tokio::test]
    async fn writes_queued_together_commit_together_and_a_failed_one_leaves_nothing() {
        let (_dir, pool) = writer().await;
        let group = GroupCommit::start(pool.clone());
        // The writer connection is held while the writes queue, so (after at most one taken early)
        // they run as one group.
        let held = pool.acquire().await.unwrap();
        let writes: Vec<_> = (0..20)
            .map(|n| {
                let group = group.clone();
                tokio::spawn(async move { group.write(insert(n, n % 3 == 0)).await })
            })
            .collect();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        drop(held);
        let mut answers = Vec::new();
        for write in writes {
            answers.push(write.await.unwrap());
        }
        for (n, answer) in answers.iter().enumerate() {
            match answer {
                Ok(got) => assert!(n % 3 != 0 && *got == n as i64, "write {n} answered {got}"),
                Err(error) => assert!(n % 3 == 0 && error.to_string() == format!("{n} refused"), "write {n}: {error}"),
            }
        }
        let expected: Vec<i64> = (0..20).filter(|n| n % 3 != 0).collect();
        assert_eq!(stored(&pool).await, expected, "the refused writes left no row, the others all committed");
    }

    #[tokio::test]
    async fn a_lone_failed_write_is_rolled_back_and_a_panicking_one_does_not_stop_the_writer() {
        let (_dir, pool) = writer().await;
        let group = GroupCommit::start(pool.clone());
        assert!(group.write(insert(1, true)).await.is_err());
        fn buggy(_connection: &mut SqliteConnection) -> BoxFuture<'_, Result<(), StoreError>> {
            Box::pin(async { panic!("a bug in a write") })
        }
        let panicked = group.write(buggy).await;
        assert!(panicked.unwrap_err().to_string().contains("a bug in a write"));
        assert_eq!(group.write(insert(2, false)).await.unwrap(), 2, "later writes still run");
        assert_eq!(stored(&pool).await, vec![2]);
    }

    #[tokio::test]
    async fn a_group_that_cannot_commit_tells_every_write() {
        let (_dir, pool) = writer().await;
        let group = GroupCommit::start(pool.clone());
        // A deferred foreign key fails only at COMMIT, taking the whole group with it.
        sqlx::query("CREATE TABLE parent (id INTEGER PRIMARY KEY)").execute(&pool).await.unwrap();
        sqlx::query("CREATE TABLE child (p INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("PRAGMA foreign_keys = ON").execute(&pool).await.unwrap();
        fn orphan(connection: &mut SqliteConnection) -> BoxFuture<'_, Result<(), StoreError>> {
            Box::pin(async move {
                sqlx::query("INSERT INTO child (p) VALUES (42)").execute(&mut *connection).await.map_err(db_error)?;
                Ok(())
            })
        }
        // Queued while the connection is held: the writer takes at most one before the rest, so
        // send a harmless first write and then the two that must share a group.
        let held = pool.acquire().await.unwrap();
        let early = tokio::spawn({
            let group = group.clone();
            async move { group.write(insert(1, true)).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let first = tokio::spawn({
            let group = group.clone();
            async move { group.write(insert(7, false)).await }
        });
        let second = tokio::spawn({
            let group = group.clone();
            async move { group.write(orphan).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        drop(held);
        assert!(early.await.unwrap().is_err(), "the write taken early was refused on its own");
        for error in [first.await.unwrap().unwrap_err(), second.await.unwrap().unwrap_err()] {
            assert!(error.to_string().contains("not committed"), "{error}");
        }
        assert_eq!(stored(&pool).await, Vec::<i64>::new(), "nothing of the group was kept");
    }
}
