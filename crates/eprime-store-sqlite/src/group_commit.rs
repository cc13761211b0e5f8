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
//!
//! Every statement is a round trip to the connection's thread (sqlx runs each SQLite connection on a
//! thread of its own), and on a machine where the server has one core each round trip is two or more
//! context switches. So the statements that open a write's savepoint (and a group's transaction) are
//! not sent on their own when they need not be: a write whose first statement is a read sends them in
//! front of it ([`WriteTx::first`]).

use std::any::Any;
use std::panic::AssertUnwindSafe;

use eprime_store::StoreError;
use futures::FutureExt;
use futures::future::BoxFuture;
use sqlx::pool::PoolConnection;
use sqlx::{Sqlite, SqliteConnection, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use crate::codec::db_error;
use crate::writer::Writer;

/// At most this many writes share a transaction, so one group's callers wait for a bounded amount of
/// work and a commit never holds too many pages.
const MAX_GROUP: usize = 64;

type Answer = Result<Box<dyn Any + Send>, StoreError>;
type Work = Box<dyn for<'c> FnOnce(&'c mut WriteTx) -> BoxFuture<'c, Answer> + Send>;

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
    /// Starts the task that commits the queued writes through `writer`, waking the change log's
    /// followers after each group. It ends when every handle is dropped.
    pub(crate) fn start(writer: Writer) -> Self {
        let (queue, writes) = mpsc::unbounded_channel();
        tokio::spawn(run(writer, writes));
        Self { queue }
    }

    /// Runs `work` inside a transaction shared with the writes queued alongside it, and answers once
    /// that transaction has committed. An error from `work` rolls back its own changes only.
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut WriteTx) -> BoxFuture<'c, Result<T, StoreError>> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let work: Work = Box::new(move |tx| work(tx).map(|done| done.map(|t| Box::new(t) as Box<_>)).boxed());
        self.queue
            .send(Write { work, reply })
            .map_err(|_| StoreError::Backend("the database is closed: no more writes".to_owned()))?;
        let answer = answer.await.map_err(|_| {
            StoreError::Backend("the write was abandoned: the writer stopped before answering".to_owned())
        })?;
        answer.map(|done| *done.downcast::<T>().expect("a write answers with the type it was queued with"))
    }
}

async fn run(writer: Writer, mut writes: mpsc::UnboundedReceiver<Write>) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    while writes.recv_many(&mut group, MAX_GROUP).await > 0 {
        let (writes_in_group, started) = (group.len(), std::time::Instant::now());
        commit_together(&writer, std::mem::take(&mut group)).await;
        // How long the writer was held, and for how many writes: what every queued write waited
        // behind (`RUST_LOG=eprime_store_sqlite=debug`).
        tracing::debug!(writes = writes_in_group, micros = started.elapsed().as_micros(), "group committed");
    }
}

/// Runs one group of writes in one transaction, wakes the change log's followers, and answers each
/// write (so a caller that hears its answer knows the followers were woken).
async fn commit_together(writer: &Writer, group: Vec<Write>) {
    let mut done: Vec<(oneshot::Sender<Answer>, Answer)> = Vec::with_capacity(group.len());
    let mut pending = group.into_iter();
    let outcome = run_group(writer.pool(), &mut pending, &mut done).await;
    // Whatever the outcome: a group that failed committed nothing, and waking for nothing costs a
    // follower one query.
    writer.committed();
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
    let connection = writer.acquire().await.map_err(db_error)?;
    let mut tx = WriteTx { connection, opening: Some(BEGIN), opening_failed: false };
    let outcome = run_in_transaction(&mut tx, pending, done).await;
    if outcome.is_err() {
        // However far the group got, the connection goes back to the pool outside a transaction.
        let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *tx.connection).await;
    }
    outcome
}

/// What opens a group's transaction and its first write's savepoint.
const BEGIN: &str = "BEGIN IMMEDIATE; SAVEPOINT w";
/// What opens the next write's savepoint after one that succeeded.
const AFTER_SUCCESS: &str = "RELEASE w; SAVEPOINT w";
/// What undoes a write that failed, leaving `w` open and empty for the next.
const AFTER_FAILURE: &str = "ROLLBACK TO w";

/// The writer connection as one queued write sees it: inside its group's transaction, in a savepoint of
/// its own (`w`) that is rolled back if the write fails.
///
/// The statements that open that savepoint are sent with the write's first statement when it asks
/// ([`WriteTx::first`]), else on their own when it first takes the connection
/// ([`WriteTx::connection`]). Either way they reach the connection before anything the write sends.
pub(crate) struct WriteTx {
    connection: PoolConnection<Sqlite>,
    /// Still to be sent before this write's first statement; `None` once sent.
    opening: Option<&'static str>,
    /// The statement that carried the opening failed: what it left open is unknown, so the group
    /// cannot go on.
    opening_failed: bool,
}

impl WriteTx {
    /// The connection, with this write's savepoint open (sending the statements that open it as a
    /// round trip of their own, when no statement has carried them yet).
    pub(crate) async fn connection(&mut self) -> Result<&mut SqliteConnection, StoreError> {
        if let Some(opening) = self.opening.take()
            && let Err(error) = sqlx::raw_sql(opening).execute(&mut *self.connection).await
        {
            self.opening_failed = true;
            return Err(db_error(error));
        }
        Ok(&mut *self.connection)
    }

    /// Runs the write's first statement: `statement` is given `sql`, with the statements that open
    /// the savepoint in front of it when they are still to be sent, so both take one round trip (after
    /// `connection`, they were sent already and `sql` goes alone). An error of a statement that carried
    /// them fails the whole group, not only this write: the savepoint may not have been opened.
    pub(crate) async fn first<T>(
        &mut self,
        sql: &str,
        statement: impl AsyncFnOnce(String, &mut SqliteConnection) -> Result<T, sqlx::Error>,
    ) -> Result<T, StoreError> {
        let opening = self.opening.take();
        let sql = match opening {
            Some(opening) => format!("{opening}; {sql}"),
            None => sql.to_owned(),
        };
        let outcome = statement(sql, &mut self.connection).await;
        self.opening_failed |= outcome.is_err() && opening.is_some();
        outcome.map_err(db_error)
    }
}

/// Runs the writes one after another, each in the savepoint `w`, and commits those that succeeded.
/// Between two writes the savepoint is released (`RELEASE w; SAVEPOINT w`) or, after one that failed,
/// rolled back (`ROLLBACK TO w`, which undoes it and leaves `w` open and empty for the next); those
/// statements go with the next write's first (see [`WriteTx`]). A write that sent nothing (refused
/// before its first statement) leaves them for the one after.
async fn run_in_transaction(
    tx: &mut WriteTx,
    pending: &mut std::vec::IntoIter<Write>,
    done: &mut Vec<(oneshot::Sender<Answer>, Answer)>,
) -> Result<(), StoreError> {
    let mut last_sent_succeeded = None;
    for Write { work, reply } in pending.by_ref() {
        let answer = guarded(work(&mut *tx)).await;
        if tx.opening_failed {
            let error = StoreError::Backend(
                "a write's first statement failed where it opened the write's savepoint, which may not be open"
                    .to_owned(),
            );
            done.push((reply, answer));
            return Err(error);
        }
        if tx.opening.is_none() {
            last_sent_succeeded = Some(answer.is_ok());
            tx.opening = Some(if answer.is_ok() { AFTER_SUCCESS } else { AFTER_FAILURE });
        }
        done.push((reply, answer));
    }
    let finish = match last_sent_succeeded {
        // Nothing was sent: no transaction was begun.
        None => return Ok(()),
        _ if !done.iter().any(|(_, answer)| answer.is_ok()) => "ROLLBACK",
        Some(false) => "ROLLBACK TO w; COMMIT",
        Some(true) => "COMMIT",
    };
    sqlx::raw_sql(finish).execute(&mut *tx.connection).await.map_err(db_error)?;
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

    /// A write that inserts `n`, sending its savepoint on its own first, then fails if asked.
    fn insert(
        n: i64,
        then_fail: bool,
    ) -> impl for<'c> FnOnce(&'c mut WriteTx) -> BoxFuture<'c, Result<i64, StoreError>> {
        move |tx| {
            Box::pin(async move {
                let connection = tx.connection().await?;
                sqlx::query("INSERT INTO t (n) VALUES (?1)")
                    .bind(n)
                    .execute(&mut *connection)
                    .await
                    .map_err(db_error)?;
                if then_fail { Err(StoreError::Conflict(format!("{n} refused"))) } else { Ok(n) }
            })
        }
    }

    /// The same, its savepoint sent in front of its insert (`sql`, `INSERT INTO t (n) VALUES (?1)`
    /// unless a test wants a statement that fails).
    fn insert_first(
        n: i64,
        sql: &'static str,
        then_fail: bool,
    ) -> impl for<'c> FnOnce(&'c mut WriteTx) -> BoxFuture<'c, Result<i64, StoreError>> {
        move |tx| {
            Box::pin(async move {
                tx.first(sql, async |sql, connection| {
                    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(n).execute(connection).await
                })
                .await?;
                if then_fail { Err(StoreError::Conflict(format!("{n} refused"))) } else { Ok(n) }
            })
        }
    }

    const INSERT: &str = "INSERT INTO t (n) VALUES (?1)";

    type TestWrite = Box<dyn for<'c> FnOnce(&'c mut WriteTx) -> BoxFuture<'c, Result<i64, StoreError>> + Send>;

    /// A writer and its group commit.
    async fn started() -> (tempfile::TempDir, SqlitePool, GroupCommit) {
        let (dir, pool) = writer().await;
        let group = GroupCommit::start(Writer::new(pool.clone()));
        (dir, pool, group)
    }

    /// Which answers are refusals, in order.
    fn refused(answers: &[Result<i64, StoreError>]) -> Vec<bool> {
        answers.iter().map(Result::is_err).collect()
    }

    /// A write refused before it sends anything.
    fn refuse(_tx: &mut WriteTx) -> BoxFuture<'_, Result<i64, StoreError>> {
        Box::pin(async { Err(StoreError::Conflict("refused before any statement".to_owned())) })
    }

    /// One write of a test group.
    #[derive(Clone, Copy)]
    enum Step {
        /// Inserts `n`, its savepoint sent in front of the insert.
        First(i64),
        /// The same, then refused (after its insert).
        FirstThenRefused(i64),
        /// Inserts `n`, its savepoint sent on its own first.
        Alone(i64),
        /// Refused before it sends anything.
        Refused,
        /// Its first statement, carrying the savepoint, fails.
        Broken(i64),
    }

    fn write_for(step: Step) -> TestWrite {
        match step {
            Step::First(n) => Box::new(insert_first(n, INSERT, false)),
            Step::FirstThenRefused(n) => Box::new(insert_first(n, INSERT, true)),
            Step::Alone(n) => Box::new(insert(n, false)),
            Step::Refused => Box::new(refuse),
            Step::Broken(n) => Box::new(insert_first(n, "INSERT INTO missing (n) VALUES (?1)", false)),
        }
    }

    /// Runs `steps` as one group: queued while the writer connection is held, with a harmless
    /// write first (the writer may take one before the rest arrive). Their answers, in order.
    async fn as_one_group(group: &GroupCommit, pool: &SqlitePool, steps: &[Step]) -> Vec<Result<i64, StoreError>> {
        let writes = steps.iter().map(|&step| write_for(step));
        let held = pool.acquire().await.unwrap();
        let early = tokio::spawn({
            let group = group.clone();
            async move { group.write(refuse).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let mut queued = Vec::new();
        for write in writes {
            let group = group.clone();
            queued.push(tokio::spawn(async move { group.write(write).await }));
            // In the order given.
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        drop(held);
        assert!(early.await.unwrap().is_err());
        let mut answers = Vec::new();
        for write in queued {
            answers.push(write.await.unwrap());
        }
        answers
    }

    async fn stored(pool: &SqlitePool) -> Vec<i64> {
        sqlx::query_scalar("SELECT n FROM t ORDER BY n").fetch_all(pool).await.unwrap()
    }

    #[tokio::test]
    async fn writes_queued_together_commit_together_and_a_failed_one_leaves_nothing() {
        let (_dir, pool) = writer().await;
        let group = GroupCommit::start(Writer::new(pool.clone()));
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
    async fn a_caller_hears_its_answer_once_the_followers_were_woken() {
        let (_dir, pool) = writer().await;
        let writer = Writer::new(pool.clone());
        let group = GroupCommit::start(writer.clone());
        let follower = writer.subscribe();
        assert_eq!(group.write(insert(1, false)).await.unwrap(), 1);
        assert!(follower.has_changed().unwrap(), "woken by the group's commit before the answer");
    }

    #[tokio::test]
    async fn a_lone_failed_write_is_rolled_back_and_a_panicking_one_does_not_stop_the_writer() {
        let (_dir, pool) = writer().await;
        let group = GroupCommit::start(Writer::new(pool.clone()));
        assert!(group.write(insert(1, true)).await.is_err());
        fn buggy(_tx: &mut WriteTx) -> BoxFuture<'_, Result<(), StoreError>> {
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
        let group = GroupCommit::start(Writer::new(pool.clone()));
        // A deferred foreign key fails only at COMMIT, taking the whole group with it.
        sqlx::query("CREATE TABLE parent (id INTEGER PRIMARY KEY)").execute(&pool).await.unwrap();
        sqlx::query("CREATE TABLE child (p INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("PRAGMA foreign_keys = ON").execute(&pool).await.unwrap();
        fn orphan(tx: &mut WriteTx) -> BoxFuture<'_, Result<(), StoreError>> {
            Box::pin(async move {
                let connection = tx.connection().await?;
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

    #[tokio::test]
    async fn a_savepoint_sent_with_a_first_statement_rolls_back_that_write_alone() {
        let (_dir, pool, group) = started().await;
        use Step::*;
        let steps = [First(1), FirstThenRefused(2), Alone(3), FirstThenRefused(4), First(5), FirstThenRefused(6)];
        let answers = as_one_group(&group, &pool, &steps).await;
        assert_eq!(refused(&answers), [false, true, false, true, false, true]);
        assert_eq!(stored(&pool).await, vec![1, 3, 5], "each refused write undid its own insert only");
    }

    #[tokio::test]
    async fn a_write_refused_before_its_first_statement_undoes_nothing_of_the_one_before() {
        let (_dir, pool, group) = started().await;
        use Step::*;
        // Were the refused write to take the savepoint of the one before it as its own, rolling it
        // back would undo 1 (or 3), whose callers are told they were made.
        let answers = as_one_group(&group, &pool, &[First(1), Refused, First(2), Alone(3), Refused]).await;
        assert_eq!(refused(&answers), [false, true, false, false, true]);
        assert_eq!(stored(&pool).await, vec![1, 2, 3]);
        // A group where every write is refused before sending anything begins no transaction.
        let answers = as_one_group(&group, &pool, &[Refused, Refused]).await;
        assert!(answers.iter().all(Result::is_err));
        assert_eq!(group.write(insert_first(4, INSERT, false)).await.unwrap(), 4, "the writer is free");
    }

    #[tokio::test]
    async fn a_first_statement_that_fails_with_the_savepoint_in_front_fails_the_whole_group() {
        let (_dir, pool, group) = started().await;
        use Step::*;
        let answers = as_one_group(&group, &pool, &[First(1), Broken(2), First(3)]).await;
        let messages: Vec<String> = answers.iter().map(|a| a.as_ref().unwrap_err().to_string()).collect();
        assert!(messages[0].contains("not committed"), "{messages:?}");
        assert!(messages[1].contains("missing"), "{messages:?}");
        assert!(messages[2].contains("not committed"), "{messages:?}");
        assert_eq!(stored(&pool).await, Vec::<i64>::new(), "nothing of the group was kept");
        assert_eq!(group.write(insert_first(4, INSERT, false)).await.unwrap(), 4, "the next group runs");
        assert_eq!(stored(&pool).await, vec![4]);
    }
}
