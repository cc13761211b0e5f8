//! The log copied into the database beside the writer, not inside its commits.
//!
//! SQLite copies its log (the WAL) back into the database file in checkpoints. Left to itself it runs
//! one inside the commit that takes the log past the writer's `wal_autocheckpoint` mark, on the writer
//! connection: that group's callers, and every write queued behind it, wait for the copy and its two
//! `fsync`s. On a disk slow to sync scattered pages (100 random pages in 4–7 ms) that was up to 90
//! checkpoints a second at 2,000 updates/s, and the writer spent nearly half its time waiting on the
//! disk (BENCHMARKS.md, the seventeenth and nineteenth machines).
//!
//! So a connection of its own runs a `PASSIVE` checkpoint after every commit, back to back while
//! commits keep coming (each pass takes what was committed during the one before). A passive checkpoint
//! takes neither the write lock nor any reader's, so the writer goes on committing while the pass waits
//! for the disk, and readers are not disturbed.
//!
//! The log only starts over from its beginning when a write begins with all of it copied and no reader
//! inside it, which under a steady stream of commits the passes alone seldom bring about (the writer
//! appends while a pass syncs). So the writer still checkpoints, at [`WRITER_MARK`] pages instead of
//! 250: by then the passes have copied all but the last few commits, the writer's checkpoint copies those,
//! and its next write starts the log over. The log stays near that size, and the writer waits for a
//! copy once per that many pages. A writer's checkpoint that finds a pass running gives up at once
//! (`SQLITE_BUSY`, which SQLite ignores for its own checkpoints) and is tried at the next commit.
//!
//! Commits are also durable sooner: a commit is synced by the pass after it rather than by a
//! checkpoint hundreds of pages later (with `synchronous = NORMAL` a commit itself does not sync).

use sqlx::SqlitePool;
use tokio::sync::watch;

/// The writer's own `wal_autocheckpoint`, in pages (SQLite's default is 1,000; it was 250 here before
/// the passes). Its checkpoint is what lets the log start over; it copies only what the passes have not
/// yet. At 4 KiB pages the log file stays about 16 MiB at most.
pub(crate) const WRITER_MARK: u32 = 4000;

/// Starts the task that checkpoints `pool`'s database after each of `commits`. It ends when the
/// writer that counts the commits is gone, or when `pool` is closed.
pub(crate) fn start(mut commits: watch::Receiver<u64>, pool: SqlitePool) {
    tokio::spawn(async move {
        // `changed` marks the count seen, so commits made during a pass start the next one at once.
        while commits.changed().await.is_ok() {
            let started = std::time::Instant::now();
            // busy: the pass could not copy everything (a reader still needs an older page); log:
            // pages in the log; copied: pages of it copied so far, by this pass or earlier ones.
            match sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(&pool).await {
                Ok((busy, log, copied)) => {
                    let micros = started.elapsed().as_micros();
                    tracing::trace!(busy, log, copied, micros, "checkpoint pass");
                }
                Err(sqlx::Error::PoolClosed) => return,
                // The writer's own checkpoints still bound the log; try again after the next commit.
                Err(error) => tracing::warn!(%error, "a checkpoint pass failed"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

    use super::*;
    use crate::writer::Writer;

    /// A database as the store opens it: the writer (its mark at `WRITER_MARK`) and, when asked, the
    /// checkpointer on a connection of its own.
    async fn database(path: &Path, with_checkpointer: bool) -> Writer {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone().pragma("wal_autocheckpoint", WRITER_MARK.to_string()))
            .await
            .unwrap();
        sqlx::query("CREATE TABLE t (n INTEGER PRIMARY KEY, b BLOB)").execute(&pool).await.unwrap();
        let writer = Writer::new(pool);
        if with_checkpointer {
            let own = SqlitePoolOptions::new().max_connections(1).connect_with(options).await.unwrap();
            start(writer.subscribe(), own);
        }
        writer
    }

    /// The rows in the database file itself, ignoring the log (`immutable`: SQLite reads the file
    /// as it is, without the log or any lock). `None` when the file cannot be read so (a pass is
    /// copying into it at that moment).
    async fn rows_in_the_file(path: &Path) -> Option<i64> {
        let options = SqliteConnectOptions::new().filename(path).immutable(true);
        let mut connection = sqlx::ConnectOptions::connect(&options).await.ok()?;
        // Before the first copy even the table is only in the log.
        let tables: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE name = 't'")
            .fetch_one(&mut connection)
            .await
            .ok()?;
        if tables == 0 {
            return Some(0);
        }
        sqlx::query_scalar("SELECT count(*) FROM t").fetch_one(&mut connection).await.ok()
    }

    async fn insert(writer: &Writer, n: i64, bytes: i64) {
        writer
            .execute(sqlx::query("INSERT INTO t (n, b) VALUES (?1, randomblob(?2))").bind(n).bind(bytes))
            .await
            .unwrap();
    }

    /// Waits up to five seconds for the file to hold `rows` rows; how many it holds in the end.
    async fn file_reaches(path: &Path, rows: i64) -> Option<i64> {
        let mut held = rows_in_the_file(path).await;
        for _ in 0..100 {
            if held == Some(rows) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            held = rows_in_the_file(path).await;
        }
        held
    }

    #[tokio::test]
    async fn commits_reach_the_database_file_long_before_the_writers_mark() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("copied.db");
        let writer = database(&path, true).await;
        for n in 0..10 {
            insert(&writer, n, 10).await;
        }
        assert_eq!(file_reaches(&path, 10).await, Some(10), "the passes copied every commit into the file");

        // Without the passes the same commits stay in the log: the writer's mark is far away.
        let path = dir.path().join("not-copied.db");
        let writer = database(&path, false).await;
        for n in 0..10 {
            insert(&writer, n, 10).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(rows_in_the_file(&path).await, Some(0), "nothing copies the log but the writer at its mark");
    }

    #[tokio::test]
    async fn the_log_starts_over_and_stays_near_the_writers_mark() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bounded.db");
        let writer = database(&path, true).await;
        // Each commit adds four or five pages to the log (16 KB of row), so these fill the writer's mark
        // three times over: without the log starting over it would reach about 12,000 pages.
        let commits = 3 * i64::from(WRITER_MARK) / 4;
        for n in 0..commits {
            insert(&writer, n, 16_000).await;
        }
        let log_pages = std::fs::metadata(dir.path().join("bounded.db-wal")).unwrap().len() / 4096;
        assert!(
            log_pages <= 2 * u64::from(WRITER_MARK),
            "the log grew to {log_pages} pages; the writer's checkpoint should start it over near {WRITER_MARK}"
        );
        assert_eq!(file_reaches(&path, commits).await, Some(commits), "and every commit reached the file");
    }
}
