//! Appending to and reading the change log.

use std::sync::LazyLock;

use eprime_domain::ReadScope;
use eprime_store::{ChangeEntry, ChangesRead, EntityType, LoggedRecord, NewChangeEntry, Operation, StoreError};
use serde::Serialize;
use serde_json::value::RawValue;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{AssertSqlSafe, PgConnection, PgPool, Row};
use uuid::Uuid;

use crate::codec::{backend, db_error, now};
use crate::scope::{bind_scope, visible};

/// Appends one entry inside the caller's transaction, so the change and its record commit together.
///
/// Appends queue on one transaction-scoped advisory lock ([`APPEND_LOCK`], held to commit; reads
/// are never blocked), so a smaller sequence number is always committed before a larger one is
/// handed out: a reader following the log by `seq` never skips an entry that commits late.
/// Writers therefore append as their last step, after every other statement that could fail or
/// wait. Taking the lock, inserting and announcing the entry is one statement: the lock is held
/// for one round trip and the commit, not four. Within it, the insert's row (and so `nextval`
/// for its `seq`) is made from the lock's row, so the lock is always taken first.
pub(crate) async fn append<B: Serialize, A: Serialize>(
    tx: &mut PgConnection,
    entry: NewChangeEntry<'_, B, A>,
) -> Result<i64, StoreError> {
    static APPEND: LazyLock<String> = LazyLock::new(|| append_sql(None, 0));
    let query = bind_entry(sqlx::query_scalar(AssertSqlSafe(APPEND.as_str())), entry)?;
    query.fetch_one(&mut *tx).await.map_err(db_error)
}

/// The text of one statement that runs `change` (an `UPDATE` of one row by its key, whose parameters
/// are `$1` to `${params}`) and appends an entry for it (parameters from `${params + 1}` on), for
/// `change_one_and_append`; kept by its caller so it is built once.
pub(crate) fn after_changing_one(change: &str, params: usize) -> String {
    append_sql(Some(change), params)
}

/// Runs a statement built by `after_changing_one` on its own, outside any transaction: the change's
/// values bound by `bind_change`, then the entry's. The entry's sequence number, or `None` when the
/// change changed no row (then nothing is logged and nothing was locked).
///
/// Why: in a transaction the append lock is held from the append statement until the server's
/// `COMMIT` arrives, a round trip through a busy server, and every other write queues behind it.
/// Run alone, the statement commits where it ends, inside PostgreSQL, and the lock is held only for
/// the rest of the statement and the commit. A write whose change is one row can do this.
pub(crate) async fn change_one_and_append<'q, B: Serialize, A: Serialize>(
    pool: &PgPool,
    sql: &'q str,
    bind_change: impl FnOnce(PgScalar<'q>) -> PgScalar<'q>,
    entry: NewChangeEntry<'_, B, A>,
) -> Result<Option<i64>, StoreError> {
    let query = bind_entry(bind_change(sqlx::query_scalar(AssertSqlSafe(sql))), entry)?;
    query.fetch_optional(pool).await.map_err(db_error)
}

pub(crate) type PgScalar<'q> = sqlx::query::QueryScalar<'q, sqlx::Postgres, i64, sqlx::postgres::PgArguments>;

/// The append as one statement, its ten parameters numbered after the first `skip`: one entry, or,
/// after `change` (an `UPDATE … WHERE` that changes at most one row), one entry if it changed a row.
fn append_sql(change: Option<&str>, skip: usize) -> String {
    let p = |n: usize| format!("${}", skip + n);
    let turn = match change {
        None => format!("turn AS (SELECT pg_advisory_xact_lock({}))", p(10)),
        Some(change) => {
            format!("changed AS ({change} RETURNING 1), turn AS (SELECT pg_advisory_xact_lock({}) FROM changed)", p(10))
        }
    };
    let values: Vec<String> = (1..=8).map(p).collect();
    format!(
        "WITH {turn},
              entry AS (INSERT INTO change_log (at, actor, entity, entity_id, partner, operation, before, after)
                        SELECT {} FROM turn RETURNING seq)
         SELECT seq FROM entry, LATERAL pg_notify({}, seq::text)",
        values.join(", "),
        p(9)
    )
}

/// Binds an entry's ten values, in `append_sql`'s order, after whatever `query` has bound.
fn bind_entry<'q, B: Serialize, A: Serialize>(
    query: PgScalar<'q>,
    entry: NewChangeEntry<'_, B, A>,
) -> Result<PgScalar<'q>, StoreError> {
    let NewChangeEntry { actor, entity, entity_id, partner, operation, before, after } = entry;
    // Serialised up front: a record that cannot be written as JSON fails before the lock.
    let before = before.map(serde_json::to_value).transpose().map_err(backend)?;
    let after = after.map(serde_json::to_value).transpose().map_err(backend)?;
    // `pg_notify` is delivered when (and only if) the transaction commits, to every instance listening.
    Ok(query
        .bind(now())
        .bind(actor.map(str::to_owned))
        .bind(entity.as_str())
        .bind(entity_id.into_owned())
        .bind(partner.map(str::to_owned))
        .bind(operation.as_str())
        .bind(before.map(Json))
        .bind(after.map(Json))
        .bind(CHANNEL)
        .bind(APPEND_LOCK))
}

/// The advisory lock every append holds to its commit (an arbitrary key, e-PRIME's own: "ePRIMElg").
pub(crate) const APPEND_LOCK: i64 = 0x6550_5249_4d45_6c67;

/// The notification channel on which committed changes are announced.
pub(crate) const CHANNEL: &str = "eprime_changes";

/// Listens for committed changes on a connection of its own (not the pool's, so closing the
/// pool is never held up by it) and wakes `commits` for each. Stops when the store is gone;
/// reconnects after errors.
pub(crate) fn listen(url: String, commits: std::sync::Weak<tokio::sync::watch::Sender<u64>>) {
    tokio::spawn(async move {
        loop {
            let Ok(mut listener) = sqlx::postgres::PgListener::connect(&url).await else {
                if commits.upgrade().is_none() {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                continue;
            };
            if listener.listen(CHANNEL).await.is_err() {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                continue;
            }
            loop {
                let next = tokio::time::timeout(std::time::Duration::from_secs(5), listener.recv()).await;
                let Some(commits) = commits.upgrade() else { return };
                match next {
                    Ok(Ok(_)) => commits.send_modify(|count| *count = count.wrapping_add(1)),
                    // The connection was lost: wake followers (they may have missed something) and reconnect.
                    Ok(Err(_)) => {
                        commits.send_modify(|count| *count = count.wrapping_add(1));
                        break;
                    }
                    Err(_) => {}
                }
            }
        }
    });
}

pub(crate) async fn changes_after(pool: &PgPool, after: i64, limit: u32) -> Result<Vec<ChangeEntry>, StoreError> {
    let rows = sqlx::query(
        "SELECT seq, at, actor, entity, entity_id, partner, operation, before, after
         FROM change_log WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .bind(after)
    .bind(i64::from(limit.clamp(1, 10_000)))
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    rows.iter().map(entry).collect()
}

/// `Store::changes_of`. The log's end is read first: every append holds `APPEND_LOCK` to its
/// commit, so entries commit in the order of their numbers, every entry up to the end is
/// committed, and the second statement sees them all.
pub(crate) async fn changes_of(
    pool: &PgPool,
    kinds: &[EntityType],
    after: i64,
    limit: u32,
) -> Result<ChangesRead, StoreError> {
    let limit = limit.clamp(1, 10_000);
    let end: i64 = sqlx::query_scalar("SELECT coalesce(max(seq), 0)::bigint FROM change_log")
        .fetch_one(pool)
        .await
        .map_err(db_error)?;
    if kinds.is_empty() || end <= after {
        return Ok(ChangesRead::new(Vec::new(), after, end, limit));
    }
    let kinds: Vec<&str> = kinds.iter().map(|kind| kind.as_str()).collect();
    let rows = sqlx::query(
        "SELECT seq, at, actor, entity, entity_id, partner, operation, before, after
         FROM change_log WHERE seq > $1 AND seq <= $2 AND entity = ANY($3) ORDER BY seq LIMIT $4",
    )
    .bind(after)
    .bind(end)
    .bind(kinds)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    let entries = rows.iter().map(entry).collect::<Result<Vec<_>, _>>()?;
    Ok(ChangesRead::new(entries, after, end, limit))
}

/// The latest entry about a partnership itself, its documents or its activities (0 if none). One
/// `max` per entity, so each is a single probe of `change_log_by_partner` (partner, entity, seq)
/// rather than a walk over all of the partnership's entries.
pub(crate) async fn partnership_stamp(executor: impl sqlx::PgExecutor<'_>, partner: &str) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "SELECT greatest(coalesce((SELECT max(seq) FROM change_log WHERE partner = $1 AND entity = 'activity'), 0),
                        coalesce((SELECT max(seq) FROM change_log WHERE partner = $1 AND entity = 'document'), 0),
                        coalesce((SELECT max(seq) FROM change_log WHERE partner = $1 AND entity = 'partnership'), 0))::bigint",
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
    pool: &PgPool,
    partner: &str,
    after: i64,
    limit: u32,
) -> Result<Vec<ChangeEntry>, StoreError> {
    let rows = sqlx::query(
        "SELECT seq, at, actor, entity, entity_id, partner, operation, before, after
         FROM change_log WHERE partner = $1 AND entity IN ('partnership', 'document', 'activity') AND seq > $2
         ORDER BY seq LIMIT $3",
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
pub(crate) async fn visible_record(
    pool: &PgPool,
    scope: &ReadScope,
    entity: EntityType,
    id: &str,
) -> Result<bool, StoreError> {
    // Activities, documents, offerings and nominations (among others) are keyed by uuid: anything else names no record.
    let uuid = || Uuid::parse_str(id).ok();
    let query = match entity {
        EntityType::Activity => {
            let Some(id) = uuid() else { return Ok(false) };
            let sql = concat!(
                "SELECT EXISTS (SELECT 1 FROM activities a WHERE a.id = $5 AND ",
                visible!("activity", "a", "id::text", released_to = "partnership"),
                ")"
            );
            bind_scope(sqlx::query(sql), scope).bind(id)
        }
        EntityType::Document => {
            let Some(id) = uuid() else { return Ok(false) };
            let sql = concat!(
                "SELECT EXISTS (SELECT 1 FROM documents d WHERE d.id = $5 AND ",
                visible!("document", "d", "id::text"),
                ")"
            );
            bind_scope(sqlx::query(sql), scope).bind(id)
        }
        EntityType::Offering => {
            let Some(id) = uuid() else { return Ok(false) };
            let sql = concat!(
                "SELECT EXISTS (SELECT 1 FROM offerings o WHERE o.id = $5 AND ",
                visible!("offering", "o", "id::text"),
                ")"
            );
            bind_scope(sqlx::query(sql), scope).bind(id)
        }
        EntityType::Nomination => {
            let Some(id) = uuid() else { return Ok(false) };
            let sql = concat!(
                "SELECT EXISTS (SELECT 1 FROM nominations n WHERE n.id = $5 AND ",
                visible!("nomination", "n", "id::text"),
                ")"
            );
            bind_scope(sqlx::query(sql), scope).bind(id)
        }
        EntityType::Partnership => {
            let sql = concat!(
                "SELECT EXISTS (SELECT 1 FROM partnerships p WHERE p.partner = $5 AND ",
                visible!("partnership", "p", "partner"),
                ")"
            );
            bind_scope(sqlx::query(sql), scope).bind(id.to_owned())
        }
        // Reference data is public.
        EntityType::Organisation => {
            sqlx::query("SELECT EXISTS (SELECT 1 FROM organisations WHERE code = $1)").bind(id.to_owned())
        }
        EntityType::Area => sqlx::query("SELECT EXISTS (SELECT 1 FROM areas WHERE code = $1)").bind(id.to_owned()),
        EntityType::Element => {
            let Some(id) = uuid() else { return Ok(false) };
            let sql = concat!(
                "SELECT EXISTS (SELECT 1 FROM elements e JOIN documents d ON d.id = e.document WHERE e.id = $5 AND ",
                visible!("document", "d", "id::text"),
                ")"
            );
            bind_scope(sqlx::query(sql), scope).bind(id)
        }
        EntityType::Comment => {
            let Some(id) = uuid() else { return Ok(false) };
            let sql = concat!(
                "SELECT EXISTS (SELECT 1 FROM comments c WHERE c.id = $5 AND ",
                visible!("comment", "c", "id::text"),
                " AND ",
                crate::comments::subject_visible!("c"),
                ")"
            );
            bind_scope(sqlx::query(sql), scope).bind(id)
        }
        // Accounts and webhooks have the audit log, not record pages.
        EntityType::User | EntityType::Account | EntityType::Webhook => return Ok(false),
    };
    let row = query.fetch_one(pool).await.map_err(db_error)?;
    row.try_get::<bool, _>(0).map_err(backend)
}

pub(crate) async fn history(
    pool: &PgPool,
    scope: &ReadScope,
    entity: EntityType,
    id: &str,
) -> Result<Option<Vec<ChangeEntry>>, StoreError> {
    if !visible_record(pool, scope, entity, id).await? {
        return Ok(None);
    }
    let rows = sqlx::query(
        "SELECT seq, at, actor, entity, entity_id, partner, operation, before, after
         FROM change_log WHERE entity = $1 AND entity_id = $2 ORDER BY seq",
    )
    .bind(entity.as_str())
    .bind(id.to_owned())
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    rows.iter().map(entry).collect::<Result<Vec<_>, _>>().map(Some)
}

pub(crate) fn entry(row: &PgRow) -> Result<ChangeEntry, StoreError> {
    let entity: String = row.try_get("entity").map_err(backend)?;
    let operation: String = row.try_get("operation").map_err(backend)?;
    Ok(ChangeEntry {
        seq: row.try_get("seq").map_err(backend)?,
        at: row.try_get("at").map_err(backend)?,
        actor: row.try_get("actor").map_err(backend)?,
        entity: EntityType::parse(&entity).ok_or_else(|| backend(format!("unknown entity {entity}")))?,
        entity_id: row.try_get("entity_id").map_err(backend)?,
        partner: row.try_get("partner").map_err(backend)?,
        operation: Operation::parse(&operation).ok_or_else(|| backend(format!("unknown operation {operation}")))?,
        before: logged_record(row, "before")?,
        after: logged_record(row, "after")?,
    })
}

/// A record column as its JSON text, parsed only if a reader looks at it (`LoggedRecord`).
fn logged_record(row: &PgRow, column: &str) -> Result<Option<LoggedRecord>, StoreError> {
    let raw: Option<Json<Box<RawValue>>> = row.try_get(column).map_err(backend)?;
    Ok(raw.map(|Json(raw)| LoggedRecord::from_text(String::from(Box::<str>::from(raw)))))
}
