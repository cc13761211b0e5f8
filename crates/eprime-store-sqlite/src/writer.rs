//! The one connection that writes, and the signal that it committed.
//!
//! Every write of the store goes through [`Writer`]: a transaction begun with [`Writer::begin`], one
//! or more statements each committed on its own ([`Writer::autocommit`]), or a group of writes sharing
//! a transaction (`group_commit`, which calls [`Writer::committed`] after each group). Each of these
//! wakes whoever follows the change log (`Store::wait_for_changes`) once its work is committed, so a
//! write cannot forget to: before, each store method woke them by hand, and the menu's writes did not,
//! leaving their notifications, index updates and webhooks to the followers' one-second timeout.
//!
//! A wake-up that finds nothing new costs a follower one query; one that is missed costs it a
//! timeout. So every commit wakes them, whether or not it logged a change.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use eprime_store::StoreError;
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteQueryResult};
use sqlx::{Sqlite, SqliteConnection, SqlitePool, Transaction};
use tokio::sync::watch;

use crate::codec::db_error;

/// The writer connection (a pool of one) and the count of its commits. Cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Writer {
    /// One connection. Every write transaction on it starts with `BEGIN IMMEDIATE`, taking the
    /// database's write lock first: a deferred one that read before writing would fail at once
    /// (`SQLITE_BUSY_SNAPSHOT`, "database is locked") when another process (the command line)
    /// committed in between, instead of waiting its turn under the busy timeout.
    pool: SqlitePool,
    /// Bumped after every commit, so followers of the change log need not poll. Writes by other
    /// processes (the CLI) are seen at the followers' next timeout.
    commits: Arc<watch::Sender<u64>>,
}

impl Writer {
    pub(crate) fn new(pool: SqlitePool) -> Self {
        Self { pool, commits: Arc::new(watch::Sender::new(0)) }
    }

    /// The connection pool itself, for the group commit's task (which wakes the followers itself) and
    /// tests; no write of the store's goes through it otherwise.
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Waits for the write in progress and closes the connection (checkpointing the log).
    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }

    /// Begins a transaction holding the database's write lock. Its commit wakes the followers; a
    /// transaction dropped without committing rolls back and wakes no one.
    pub(crate) async fn begin(&self) -> Result<WriteTransaction, StoreError> {
        let transaction = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db_error)?;
        Ok(WriteTransaction { transaction, commits: Arc::clone(&self.commits) })
    }

    /// Runs `statements` on the writer connection outside any transaction of ours, each committed on
    /// its own, then wakes the followers (whatever the outcome: a statement before a failing one may
    /// have committed).
    pub(crate) async fn autocommit<T>(
        &self,
        statements: impl AsyncFnOnce(&mut SqliteConnection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut connection = self.pool.acquire().await.map_err(db_error)?;
        let outcome = statements(&mut connection).await;
        self.committed();
        outcome
    }

    /// Runs one statement on the writer connection, committed on its own, then wakes the followers.
    pub(crate) async fn execute<'q>(
        &self,
        statement: Query<'q, Sqlite, SqliteArguments>,
    ) -> Result<SqliteQueryResult, StoreError> {
        self.autocommit(async |connection| statement.execute(connection).await.map_err(db_error)).await
    }

    /// Wakes whoever waits for the change log to move.
    pub(crate) fn committed(&self) {
        self.commits.send_modify(|count| *count = count.wrapping_add(1));
    }

    /// Marks the commits from now on as unseen, for a follower about to wait for one.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.commits.subscribe()
    }
}

/// A transaction on the writer connection. Statements run on it as on a connection (`&mut *tx`).
pub(crate) struct WriteTransaction {
    transaction: Transaction<'static, Sqlite>,
    commits: Arc<watch::Sender<u64>>,
}

impl WriteTransaction {
    /// Commits, then wakes the followers of the change log.
    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        self.transaction.commit().await.map_err(db_error)?;
        self.commits.send_modify(|count| *count = count.wrapping_add(1));
        Ok(())
    }
}

impl Deref for WriteTransaction {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        &self.transaction
    }
}

impl DerefMut for WriteTransaction {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.transaction
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::SqlitePoolOptions;

    async fn writer() -> Writer {
        let pool = SqlitePoolOptions::new().max_connections(1).connect("sqlite::memory:").await.unwrap();
        sqlx::query("CREATE TABLE t (n INTEGER)").execute(&pool).await.unwrap();
        Writer::new(pool)
    }

    #[tokio::test]
    async fn a_commit_wakes_the_followers_and_a_rollback_does_not() {
        let writer = writer().await;
        let mut follower = writer.subscribe();
        let mut tx = writer.begin().await.unwrap();
        sqlx::query("INSERT INTO t VALUES (1)").execute(&mut *tx).await.unwrap();
        drop(tx);
        assert!(!follower.has_changed().unwrap(), "rolled back: nothing to wake for");
        let mut tx = writer.begin().await.unwrap();
        sqlx::query("INSERT INTO t VALUES (2)").execute(&mut *tx).await.unwrap();
        assert!(!follower.has_changed().unwrap(), "not before the commit");
        tx.commit().await.unwrap();
        assert!(follower.has_changed().unwrap(), "woken by the commit");
        follower.mark_unchanged();
        writer.execute(sqlx::query("INSERT INTO t VALUES (3)")).await.unwrap();
        assert!(follower.has_changed().unwrap(), "woken by a statement committed on its own");
        follower.mark_unchanged();
        let refused = writer.execute(sqlx::query("INSERT INTO missing VALUES (4)")).await;
        assert!(refused.is_err());
        assert!(follower.has_changed().unwrap(), "woken after a failed statement too (a spurious wake costs a query)");
        let rows: Vec<i64> = sqlx::query_scalar("SELECT n FROM t ORDER BY n").fetch_all(writer.pool()).await.unwrap();
        assert_eq!(rows, [2, 3]);
    }
}
