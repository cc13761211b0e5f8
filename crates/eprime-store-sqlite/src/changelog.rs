//! Appending to and reading the change log.

use std::sync::LazyLock;

use eprime_domain::ReadScope;
use eprime_store::{ChangeEntry, ChangesRead, EntityType, LoggedRecord, NewChangeEntry, Operation, StoreError};
use serde::Serialize;
use sqlx::{AssertSqlSafe, Row, SqliteConnection};

use crate::codec::{backend, db_error, instant_text, now, parse_instant};
use crate::scope::{bind_scope, visible};

/// Appends one entry inside the caller's transaction, so the change and its record commit together.
pub(crate) async fn append<B: Serialize, A: Serialize>(
    tx: &mut SqliteConnection,
    entry: NewChangeEntry<'_, B, A>,
) -> Result<i64, StoreError> {
    static INSERT: LazyLock<String> = LazyLock::new(|| insert_sql(1, ""));
    let query = sqlx::query_scalar(AssertSqlSafe(INSERT.as_str()));
    bind_entry(query, entry)?.fetch_one(&mut *tx).await.map_err(db_error)
}

/// The text of a query that runs `change` (one statement whose parameters are `?1` to `?{params}`)
/// and then appends an entry (`?{params + 1}` on) if and only if `change` changed exactly one row:
/// for `change_one_and_append`, kept by its caller so it is built once.
pub(crate) fn after_changing_one(change: &str, params: usize) -> String {
    format!("{change}; {}", insert_sql(params + 1, "WHERE changes() = 1"))
}

/// Runs a query built by `after_changing_one`, with the change's values bound by `bind_change`: the
/// entry's sequence number, or `None` when the change changed no row (or several; then nothing is
/// logged, and the caller's write must fail).
///
/// Why one query: each statement of a write costs a hop to the connection's thread and back, and an
/// update of one row followed by its entry is the commonest write there is.
pub(crate) async fn change_one_and_append<'q, B: Serialize, A: Serialize>(
    tx: &mut SqliteConnection,
    sql: &'q str,
    bind_change: impl FnOnce(SqliteScalar<'q>) -> SqliteScalar<'q>,
    entry: NewChangeEntry<'_, B, A>,
) -> Result<Option<i64>, StoreError> {
    let query = bind_change(sqlx::query_scalar(AssertSqlSafe(sql)));
    bind_entry(query, entry)?.fetch_optional(&mut *tx).await.map_err(db_error)
}

pub(crate) type SqliteScalar<'q> = sqlx::query::QueryScalar<'q, sqlx::Sqlite, i64, sqlx::sqlite::SqliteArguments>;

/// The insert of one entry, its eight parameters numbered from `?{first}`, made only where `condition`
/// holds (`""` for always).
fn insert_sql(first: usize, condition: &str) -> String {
    let params: Vec<String> = (first..first + 8).map(|n| format!("?{n}")).collect();
    format!(
        "INSERT INTO change_log (at, actor, entity, entity_id, partner, operation, before, after)
         SELECT {} {condition} RETURNING seq",
        params.join(", ")
    )
}

/// Binds an entry's eight values, in `insert_sql`'s order, after whatever `query` has already bound.
fn bind_entry<'q, B: Serialize, A: Serialize>(
    query: SqliteScalar<'q>,
    entry: NewChangeEntry<'_, B, A>,
) -> Result<SqliteScalar<'q>, StoreError> {
    let NewChangeEntry { actor, entity, entity_id, partner, operation, before, after } = entry;
    let before = before.map(serde_json::to_string).transpose().map_err(backend)?;
    let after = after.map(serde_json::to_string).transpose().map_err(backend)?;
    Ok(query
        .bind(instant_text(now()))
        .bind(actor.map(str::to_owned))
        .bind(entity.as_str())
        .bind(entity_id.into_owned())
        .bind(partner.map(str::to_owned))
        .bind(operation.as_str())
        .bind(before)
        .bind(after))
}

/// The latest entry about a partnership itself, its documents or its activities (0 if none). One
/// `max` per entity, so each is a single probe of `change_log_by_partner` (partner, entity, seq)
/// rather than a walk over all of the partnership's entries.
pub(crate) async fn partnership_stamp(
    executor: impl sqlx::SqliteExecutor<'_>,
    partner: &str,
) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "SELECT max(coalesce((SELECT max(seq) FROM change_log WHERE partner = ?1 AND entity = 'activity'), 0),
                        coalesce((SELECT max(seq) FROM change_log WHERE partner = ?1 AND entity = 'document'), 0),
                        coalesce((SELECT max(seq) FROM change_log WHERE partner = ?1 AND entity = 'partnership'), 0))",
    )
    .bind(partner.to_owned())
    .fetch_one(executor)
    .await
    .map_err(db_error)?;
    row.try_get(0).map_err(backend)
}

/// A partnership's own, document and activity entries after `after`: one index range per entity
/// (`change_log_by_partner` is (partner, entity, seq)), merged in sequence order.
pub(crate) async fn partnership_changes(
    pool: &sqlx::SqlitePool,
    partner: &str,
    after: i64,
    limit: u32,
) -> Result<Vec<ChangeEntry>, StoreError> {
    let rows = sqlx::query(
        "SELECT seq, at, actor, entity, entity_id, partner, operation, before, after
         FROM change_log WHERE partner = ?1 AND entity IN ('partnership', 'document', 'activity') AND seq > ?2
         ORDER BY seq LIMIT ?3",
    )
    .bind(partner.to_owned())
    .bind(after)
    .bind(i64::from(limit.clamp(1, 10_000)))
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    rows.iter().map(entry).collect()
}

/// Whether the record a history is asked for exists and is visible to `scope`.
pub(crate) async fn visible_record<'e>(
    executor: impl sqlx::SqliteExecutor<'e>,
    scope: &ReadScope,
    entity: EntityType,
    id: &str,
) -> Result<bool, StoreError> {
    let scoped = |sql: &'static str| bind_scope(sqlx::query(sql), scope).bind(id.to_owned());
    let query = match entity {
        EntityType::Activity => scoped(concat!(
            "SELECT count(*) FROM activities a WHERE a.id = ?5 AND ",
            visible!("activity", "a", "id", released_to = "partnership")
        )),
        EntityType::Document => {
            scoped(concat!("SELECT count(*) FROM documents d WHERE d.id = ?5 AND ", visible!("document", "d", "id")))
        }
        EntityType::Element => scoped(concat!(
            "SELECT count(*) FROM elements e JOIN documents d ON d.id = e.document WHERE e.id = ?5 AND ",
            visible!("document", "d", "id")
        )),
        EntityType::Comment => scoped(concat!(
            "SELECT count(*) FROM comments c WHERE c.id = ?5 AND ",
            visible!("comment", "c", "id"),
            " AND ",
            crate::comments::subject_visible!("c")
        )),
        EntityType::Offering => {
            scoped(concat!("SELECT count(*) FROM offerings o WHERE o.id = ?5 AND ", visible!("offering", "o", "id")))
        }
        EntityType::Nomination => scoped(concat!(
            "SELECT count(*) FROM nominations n WHERE n.id = ?5 AND ",
            visible!("nomination", "n", "id")
        )),
        EntityType::Partnership => scoped(concat!(
            "SELECT count(*) FROM partnerships p WHERE p.partner = ?5 AND ",
            visible!("partnership", "p", "partner")
        )),
        // Reference data is public.
        EntityType::Organisation => {
            sqlx::query("SELECT count(*) FROM organisations WHERE code = ?1").bind(id.to_owned())
        }
        EntityType::Area => sqlx::query("SELECT count(*) FROM areas WHERE code = ?1").bind(id.to_owned()),
        // Accounts and webhooks have the audit log, not record pages.
        _ => return Ok(false),
    };
    let row = query.fetch_one(executor).await.map_err(db_error)?;
    Ok(row.try_get::<i64, _>(0).map_err(backend)? > 0)
}

pub(crate) async fn history(
    pool: &sqlx::SqlitePool,
    scope: &ReadScope,
    entity: EntityType,
    id: &str,
) -> Result<Option<Vec<ChangeEntry>>, StoreError> {
    if !visible_record(pool, scope, entity, id).await? {
        return Ok(None);
    }
    let rows = sqlx::query(
        "SELECT seq, at, actor, entity, entity_id, partner, operation, before, after
         FROM change_log WHERE entity = ?1 AND entity_id = ?2 ORDER BY seq",
    )
    .bind(entity.as_str())
    .bind(id.to_owned())
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    rows.iter().map(entry).collect::<Result<Vec<_>, _>>().map(Some)
}

pub(crate) fn entry(row: &sqlx::sqlite::SqliteRow) -> Result<ChangeEntry, StoreError> {
    // Parsed only if a reader looks at them (`LoggedRecord`).
    let get_json = |name: &str| -> Result<Option<LoggedRecord>, StoreError> {
        let raw: Option<String> = row.try_get(name).map_err(backend)?;
        Ok(raw.map(LoggedRecord::from_text))
    };
    let entity: String = row.try_get("entity").map_err(backend)?;
    let operation: String = row.try_get("operation").map_err(backend)?;
    Ok(ChangeEntry {
        seq: row.try_get("seq").map_err(backend)?,
        at: parse_instant(&row.try_get::<String, _>("at").map_err(backend)?)?,
        actor: row.try_get("actor").map_err(backend)?,
        entity: EntityType::parse(&entity).ok_or_else(|| backend(format!("unknown entity {entity}")))?,
        entity_id: row.try_get("entity_id").map_err(backend)?,
        partner: row.try_get("partner").map_err(backend)?,
        operation: Operation::parse(&operation).ok_or_else(|| backend(format!("unknown operation {operation}")))?,
        before: get_json("before")?,
        after: get_json("after")?,
    })
}

pub(crate) async fn changes_after(
    pool: &sqlx::SqlitePool,
    after: i64,
    limit: u32,
) -> Result<Vec<ChangeEntry>, StoreError> {
    let rows = sqlx::query(
        "SELECT seq, at, actor, entity, entity_id, partner, operation, before, after
         FROM change_log WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )
    .bind(after)
    .bind(i64::from(limit.clamp(1, 10_000)))
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    rows.iter().map(entry).collect()
}

/// `changes_of`'s read: the log after the follower's position, walked by sequence number. The
/// entity is compared as `+entity`, which keeps SQLite off `change_log_by_entity`: through that
/// index it would visit every entry ever logged about the kinds asked for, to keep the few new
/// ones. On the walk, the records of the entries left out are not read.
const CHANGES_OF: &str = "SELECT seq, at, actor, entity, entity_id, partner, operation, before, after
    FROM change_log WHERE seq > ?1 AND seq <= ?2 AND +entity IN (SELECT value FROM json_each(?3))
    ORDER BY seq LIMIT ?4";

/// `Store::changes_of`. The log's end is read first: the one writer commits entries in the order
/// of their numbers, so every entry up to it is committed and the second statement sees them all.
pub(crate) async fn changes_of(
    pool: &sqlx::SqlitePool,
    kinds: &[EntityType],
    after: i64,
    limit: u32,
) -> Result<ChangesRead, StoreError> {
    let limit = limit.clamp(1, 10_000);
    let end: i64 =
        sqlx::query_scalar("SELECT coalesce(max(seq), 0) FROM change_log").fetch_one(pool).await.map_err(db_error)?;
    if kinds.is_empty() || end <= after {
        return Ok(ChangesRead::new(Vec::new(), after, end, limit));
    }
    let kinds: Vec<&str> = kinds.iter().map(|kind| kind.as_str()).collect();
    let rows = sqlx::query(CHANGES_OF)
        .bind(after)
        .bind(end)
        .bind(serde_json::to_string(&kinds).map_err(backend)?)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await
        .map_err(db_error)?;
    let entries = rows.iter().map(entry).collect::<Result<Vec<_>, _>>()?;
    Ok(ChangesRead::new(entries, after, end, limit))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A follower's read walks the new part of the log by sequence number, whatever kinds it asks
    /// for: a plan through `change_log_by_entity` visits every entry ever logged about them.
    #[tokio::test]
    async fn a_read_of_some_kinds_walks_the_new_entries_only() {
        let store = crate::SqliteStore::connect("sqlite::memory:").await.unwrap();
        let rows = sqlx::query(AssertSqlSafe(format!("EXPLAIN QUERY PLAN {CHANGES_OF}")))
            .bind(0_i64)
            .bind(10_i64)
            .bind(r#"["offering","nomination"]"#)
            .bind(100_i64)
            .fetch_all(&store.reader)
            .await
            .unwrap();
        let plan = crate::query_plan(&rows);
        assert!(plan.contains("SEARCH change_log USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)"), "{plan}");
        assert!(!plan.contains("change_log_by_entity") && !plan.contains("TEMP B-TREE"), "{plan}");
    }

    /// What the log holds, newest last.
    async fn logged(connection: &mut SqliteConnection) -> Vec<(i64, String)> {
        sqlx::query_as("SELECT seq, entity_id FROM change_log ORDER BY seq").fetch_all(connection).await.unwrap()
    }

    fn entry(entity_id: &str) -> NewChangeEntry<'_, (), ()> {
        NewChangeEntry {
            actor: None,
            entity: EntityType::Organisation,
            entity_id: entity_id.into(),
            partner: None,
            operation: Operation::Update,
            before: None,
            after: None,
        }
    }

    #[tokio::test]
    async fn an_entry_follows_a_change_of_exactly_one_row_and_only_then() {
        let store = crate::SqliteStore::connect("sqlite::memory:").await.unwrap();
        let mut connection = store.writer.pool().acquire().await.unwrap();
        sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
            .execute(&mut *connection)
            .await
            .unwrap();
        sqlx::query("INSERT INTO t VALUES (1, 0), (2, 0), (3, 0)").execute(&mut *connection).await.unwrap();
        let before = logged(&mut connection).await;
        let sql = after_changing_one("UPDATE t SET n = n + 1 WHERE id >= ?1 AND id <= ?2", 2);
        let mut change = async |from: i64, to: i64, id: &str| {
            change_one_and_append(&mut connection, &sql, |query| query.bind(from).bind(to), entry(id)).await.unwrap()
        };
        let one = change(2, 2, "one row").await;
        assert!(one.is_some(), "one row changed: logged");
        assert_eq!(change(7, 9, "no row").await, None, "no row changed: nothing logged");
        assert_eq!(change(1, 3, "three rows").await, None, "several rows changed: nothing logged");
        let after = logged(&mut connection).await;
        assert_eq!(after.len(), before.len() + 1);
        assert_eq!(after.last().unwrap(), &(one.unwrap(), "one row".to_owned()));
    }
}
