//! Watches, and the notifier that turns changes into inbox items.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::LazyLock;

use eprime_domain::{Caller, NotificationId, PartnerCode, Principal, UserId};
use eprime_store::notify::{Candidate, plan, wanted};
use eprime_store::{
    EntityType, Notification, NotificationReason, Page, PageRequest, StoreError, StoredUser, Watch, WatchedRecord,
};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::SqliteStore;
use crate::accounts::{from_row as user_from_row, user_select};
use crate::changelog::{entry, visible_record};
use crate::codec::{backend, db_error, instant_text, now, parse_instant};
use crate::group_commit::WriteTx;
use crate::scope::{bind_scope, visible};

/// Records that can be watched.
fn watchable(entity: EntityType) -> Result<(), StoreError> {
    match entity {
        EntityType::Activity
        | EntityType::Document
        | EntityType::Partnership
        | EntityType::Element
        | EntityType::Offering => Ok(()),
        other => {
            Err(eprime_domain::FieldError::new("entity", format!("a {} cannot be watched", other.as_str())).into())
        }
    }
}

pub(crate) async fn watch(
    store: &SqliteStore,
    actor: &Principal,
    entity: EntityType,
    id: &str,
) -> Result<(), StoreError> {
    watchable(entity)?;
    let scope = Caller::User(actor.clone()).read_scope();
    let mut tx = store.writer.begin().await?;
    if !visible_record(&mut *tx, &scope, entity, id).await? {
        return Err(StoreError::NotFound(format!("{} {id}", entity.as_str())));
    }
    sqlx::query("INSERT OR IGNORE INTO watches (user_id, entity, entity_id, created_at) VALUES (?1, ?2, ?3, ?4)")
        .bind(actor.user_id.to_string())
        .bind(entity.as_str())
        .bind(id.to_owned())
        .bind(instant_text(now()))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    tx.commit().await
}

pub(crate) async fn unwatch(
    store: &SqliteStore,
    actor: &Principal,
    entity: EntityType,
    id: &str,
) -> Result<bool, StoreError> {
    let result = store
        .writer
        .execute(
            sqlx::query("DELETE FROM watches WHERE user_id = ?1 AND entity = ?2 AND entity_id = ?3")
                .bind(actor.user_id.to_string())
                .bind(entity.as_str())
                .bind(id.to_owned()),
        )
        .await?;
    Ok(result.rows_affected() > 0)
}

pub(crate) async fn list_watches(store: &SqliteStore, user_id: UserId) -> Result<Vec<Watch>, StoreError> {
    let rows =
        sqlx::query("SELECT entity, entity_id, created_at FROM watches WHERE user_id = ?1 ORDER BY created_at DESC")
            .bind(user_id.to_string())
            .fetch_all(&store.reader)
            .await
            .map_err(db_error)?;
    rows.iter()
        .map(|row| {
            let entity: String = row.try_get("entity").map_err(backend)?;
            Ok(Watch {
                entity: EntityType::parse(&entity).ok_or_else(|| backend(format!("unknown entity {entity}")))?,
                entity_id: row.try_get("entity_id").map_err(backend)?,
                created_at: parse_instant(&row.try_get::<String, _>("created_at").map_err(backend)?)?,
            })
        })
        .collect()
}

pub(crate) async fn is_watching(
    store: &SqliteStore,
    user_id: UserId,
    entity: EntityType,
    id: &str,
) -> Result<bool, StoreError> {
    let found: i64 =
        sqlx::query_scalar("SELECT count(*) FROM watches WHERE user_id = ?1 AND entity = ?2 AND entity_id = ?3")
            .bind(user_id.to_string())
            .bind(entity.as_str())
            .bind(id.to_owned())
            .fetch_one(&store.reader)
            .await
            .map_err(db_error)?;
    Ok(found > 0)
}

/// One branch per kind of record, each driven by the watcher's own watches (the primary key
/// `(user_id, entity, entity_id)`) and each through `visible!` for the record it names.
const WATCHED: &str = concat!(
    "SELECT w.entity, w.entity_id, w.created_at, a.title AS title, a.partnership AS partnership",
    " FROM watches w JOIN activities a ON a.id = w.entity_id",
    " WHERE w.user_id = ?5 AND w.entity = 'activity' AND ",
    visible!("activity", "a", "id", released_to = "partnership"),
    " UNION ALL SELECT w.entity, w.entity_id, w.created_at, d.title, d.partnership",
    " FROM watches w JOIN documents d ON d.id = w.entity_id",
    " WHERE w.user_id = ?5 AND w.entity = 'document' AND ",
    visible!("document", "d", "id"),
    // A goal is visible with its document.
    " UNION ALL SELECT w.entity, w.entity_id, w.created_at, e.code || ' ' || e.title, d.partnership",
    " FROM watches w JOIN elements e ON e.id = w.entity_id JOIN documents d ON d.id = e.document",
    " WHERE w.user_id = ?5 AND w.entity = 'element' AND ",
    visible!("document", "d", "id"),
    " UNION ALL SELECT w.entity, w.entity_id, w.created_at, p.name, p.partner",
    " FROM watches w JOIN partnerships p ON p.partner = w.entity_id",
    " WHERE w.user_id = ?5 AND w.entity = 'partnership' AND ",
    visible!("partnership", "p", "partner"),
    " UNION ALL SELECT w.entity, w.entity_id, w.created_at, o.title, NULL",
    " FROM watches w JOIN offerings o ON o.id = w.entity_id",
    " WHERE w.user_id = ?5 AND w.entity = 'offering' AND ",
    visible!("offering", "o", "id"),
    " ORDER BY 3 DESC, 2"
);

pub(crate) async fn watched_records(
    store: &SqliteStore,
    watcher: &Principal,
) -> Result<Vec<WatchedRecord>, StoreError> {
    let scope = Caller::User(watcher.clone()).read_scope();
    let rows = bind_scope(sqlx::query(WATCHED), &scope)
        .bind(watcher.user_id.to_string())
        .fetch_all(&store.reader)
        .await
        .map_err(db_error)?;
    rows.iter()
        .map(|row| {
            let entity: String = row.try_get("entity").map_err(backend)?;
            let partnership: Option<String> = row.try_get("partnership").map_err(backend)?;
            Ok(WatchedRecord {
                entity: EntityType::parse(&entity).ok_or_else(|| backend(format!("unknown entity {entity}")))?,
                entity_id: row.try_get("entity_id").map_err(backend)?,
                title: row.try_get("title").map_err(backend)?,
                partnership: partnership.map(|p| PartnerCode::parse(&p).map_err(backend)).transpose()?,
                created_at: parse_instant(&row.try_get::<String, _>("created_at").map_err(backend)?)?,
            })
        })
        .collect()
}

/// The accounts one statement names, looked up once per pass however many changes name them.
#[derive(Default)]
struct Accounts(HashMap<(&'static str, String), Vec<StoredUser>>);

impl Accounts {
    async fn get(
        &mut self,
        store: &SqliteStore,
        sql: &'static str,
        key: &str,
    ) -> Result<impl Iterator<Item = StoredUser> + '_, StoreError> {
        let users = match self.0.entry((sql, key.to_owned())) {
            std::collections::hash_map::Entry::Occupied(found) => found.into_mut(),
            std::collections::hash_map::Entry::Vacant(slot) => {
                let rows = sqlx::query(sql).bind(key.to_owned()).fetch_all(&store.reader).await.map_err(db_error)?;
                slot.insert(rows.iter().map(user_from_row).collect::<Result<_, _>>()?)
            }
        };
        Ok(users.iter().cloned())
    }
}

/// One notifier pass: up to `limit` change-log entries after the notifier's position.
///
/// Everything a pass reads (the entries, the watchers, the accounts to tell) is read through the
/// reading connections, and only what it decided is written: all its notifications in one statement
/// and the position moved on, in one write queued with the others (`group_commit`). The writer is
/// never held while a pass reads and plans (a pass of 60 entries held it for 40 ms, and every
/// update waited behind it). Two notifiers (two processes on one file) never both record a pass:
/// the position moves only from the value the pass started at, so the later one records nothing and
/// plans again from the new position.
pub(crate) async fn generate(store: &SqliteStore, limit: u32) -> Result<usize, StoreError> {
    let last: i64 = sqlx::query_scalar("SELECT last_seq FROM notifier WHERE id = 1")
        .fetch_one(&store.reader)
        .await
        .map_err(db_error)?;
    let rows = sqlx::query(
        "SELECT seq, at, actor, entity, entity_id, partner, operation, before, after
         FROM change_log WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )
    .bind(last)
    .bind(i64::from(limit.clamp(1, 1_000)))
    .fetch_all(&store.reader)
    .await
    .map_err(db_error)?;
    let entries = rows.iter().map(entry).collect::<Result<Vec<_>, _>>()?;
    let Some(newest) = entries.last().map(|change| change.seq) else { return Ok(0) };
    // Changes that are never passed on are left out here, and each kept change's visibility is
    // worked out once (reading its record's marking) for everyone it may concern.
    let notified: Vec<_> = entries.iter().filter_map(|change| Some((change, change.visibility()?))).collect();
    let wants: Vec<_> = notified.iter().map(|(change, _)| wanted(change)).collect();
    let watchers = watchers_of(store, wants.iter().map(|w| &w.watched)).await?;
    let mut accounts = Accounts::default();
    let mut notifications = Vec::new();
    for ((change, visibility), wanted) in notified.iter().zip(&wants) {
        let (entity, id) = &wanted.watched;
        let mut found: Vec<(StoredUser, NotificationReason)> = Vec::new();
        if let Some(users) = watchers.get(&(*entity, id.clone())) {
            found.extend(users.iter().map(|user| (user.clone(), NotificationReason::Watched)));
        }
        for (name, reason) in &wanted.accounts {
            let sql = concat!(user_select!(), " WHERE username = ?1");
            found.extend(accounts.get(store, sql, name).await?.map(|user| (user, *reason)));
        }
        for (provider, reason) in &wanted.providers {
            let sql = concat!(user_select!(), " WHERE role = 'provider' AND organisation = ?1");
            found.extend(accounts.get(store, sql, provider).await?.map(|user| (user, *reason)));
        }
        if wanted.approvers {
            let sql = concat!(user_select!(), " WHERE role IN ('nato_staff', 'nato_admin') AND ?1 = ?1");
            found.extend(accounts.get(store, sql, "").await?.map(|user| (user, NotificationReason::Approval)));
        }
        let candidates: Vec<Candidate<'_>> =
            found.iter().map(|(user, reason)| Candidate { user, reason: *reason }).collect();
        for planned in plan(change, visibility, &candidates) {
            notifications.push(serde_json::json!({
                "id": NotificationId::new().to_string(),
                "user_id": planned.user_id.to_string(),
                "seq": change.seq,
                "reason": planned.reason.as_str(),
                "entity": entity.as_str(),
                "entity_id": id,
                "partnership": change.partner,
                "summary": planned.summary,
                "created_at": instant_text(change.at),
            }));
        }
    }
    let notifications = serde_json::Value::Array(notifications).to_string();
    let recorded = store
        .writes
        .write(move |tx| Box::pin(async move { record_pass(tx, last, newest, notifications).await }))
        .await?;
    Ok(if recorded { entries.len() } else { 0 })
}

/// Writes a pass's notifications (a JSON array) and moves the notifier from `from` to `to`; false,
/// writing nothing, when another notifier has moved it meanwhile.
async fn record_pass(tx: &mut WriteTx, from: i64, to: i64, notifications: String) -> Result<bool, StoreError> {
    let tx = tx.connection().await?;
    let moved = sqlx::query("UPDATE notifier SET last_seq = ?2 WHERE id = 1 AND last_seq = ?1")
        .bind(from)
        .bind(to)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    if moved.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query(
        "INSERT OR IGNORE INTO notifications (id, user_id, seq, reason, entity, entity_id, partnership, summary, created_at)
         SELECT n ->> 'id', n ->> 'user_id', n ->> 'seq', n ->> 'reason', n ->> 'entity', n ->> 'entity_id',
                n ->> 'partnership', n ->> 'summary', n ->> 'created_at'
         FROM (SELECT value AS n FROM json_each(?1))",
    )
    .bind(notifications)
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    Ok(true)
}

/// The watchers of each of `records`: one statement per kind of record in the batch, not one per change.
async fn watchers_of<'a>(
    store: &SqliteStore,
    records: impl Iterator<Item = &'a (EntityType, String)>,
) -> Result<HashMap<(EntityType, String), Vec<StoredUser>>, StoreError> {
    let mut by_kind: BTreeMap<&'static str, (EntityType, BTreeSet<&str>)> = BTreeMap::new();
    for (entity, id) in records {
        by_kind.entry(entity.as_str()).or_insert_with(|| (*entity, BTreeSet::new())).1.insert(id);
    }
    let mut watchers: HashMap<(EntityType, String), Vec<StoredUser>> = HashMap::new();
    for (kind, (entity, ids)) in by_kind {
        // Equality on the entity and a list of ids, so `watches_by_record` (entity, entity_id) finds them.
        let rows = sqlx::query(
            "SELECT w.entity_id AS watched, u.id, u.username, u.display_name, u.role, u.partner, u.organisation,
                    u.disabled, u.password_hash, u.created_at
             FROM watches w JOIN users u ON u.id = w.user_id
             WHERE w.entity = ?1 AND w.entity_id IN (SELECT value FROM json_each(?2))
             ORDER BY w.entity_id, u.id",
        )
        .bind(kind)
        .bind(serde_json::to_string(&ids).map_err(backend)?)
        .fetch_all(&store.reader)
        .await
        .map_err(db_error)?;
        for row in &rows {
            let watched: String = row.try_get("watched").map_err(backend)?;
            watchers.entry((entity, watched)).or_default().push(user_from_row(row)?);
        }
    }
    Ok(watchers)
}

/// A notification is shown while its record is visible to the reader (`?1`..`?4`): one probe of
/// the record it names, by kind. A nomination's is always shown: a participant reads its own
/// nominations by another rule (`notify::own_nomination`), and its officer and provider keep seeing
/// them.
const STILL_VISIBLE: &str = concat!(
    "(CASE n.entity",
    " WHEN 'activity' THEN EXISTS (SELECT 1 FROM activities a WHERE a.id = n.entity_id AND ",
    visible!("activity", "a", "id", released_to = "partnership"),
    ") WHEN 'offering' THEN EXISTS (SELECT 1 FROM offerings o WHERE o.id = n.entity_id AND ",
    visible!("offering", "o", "id"),
    ") WHEN 'document' THEN EXISTS (SELECT 1 FROM documents d WHERE d.id = n.entity_id AND ",
    visible!("document", "d", "id"),
    ") WHEN 'element' THEN EXISTS (SELECT 1 FROM elements e JOIN documents d ON d.id = e.document",
    " WHERE e.id = n.entity_id AND ",
    visible!("document", "d", "id"),
    ") WHEN 'partnership' THEN EXISTS (SELECT 1 FROM partnerships p WHERE p.partner = n.entity_id AND ",
    visible!("partnership", "p", "partner"),
    ") ELSE 1 END)"
);

/// A page of a reader's notifications, newest first, from before the cursor `?7` (none: from the newest).
/// The cursor is a bound of `notifications_by_user` (user, seq), so a page deep in a long list is read from
/// there; `(?7 IS NULL OR n.seq < ?7)` was planned as a walk from the newest, filtered entry by entry.
/// Built once: the statement cache keys on the text, and an inbox page should not format it again.
static LIST_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT n.id, n.seq, n.reason, n.entity, n.entity_id, n.partnership, n.summary, n.created_at, n.read_at
         FROM notifications n
         WHERE n.user_id = ?5 AND (?6 = 0 OR n.read_at IS NULL) AND n.seq < coalesce(?7, {}) AND {STILL_VISIBLE}
         ORDER BY n.seq DESC LIMIT ?8",
        i64::MAX
    )
});

pub(crate) async fn list(
    store: &SqliteStore,
    reader: &Principal,
    unread_only: bool,
    page: &PageRequest,
) -> Result<Page<Notification>, StoreError> {
    let after: Option<i64> = page
        .after
        .as_deref()
        .map(|c| c.parse().map_err(|_| eprime_domain::FieldError::new("after", "is not a cursor this server gave out")))
        .transpose()?;
    let limit = page.limit.clamp(1, PageRequest::MAX_LIMIT);
    let scope = Caller::User(reader.clone()).read_scope();
    let rows = bind_scope(sqlx::query(sqlx::AssertSqlSafe(LIST_SQL.as_str())), &scope)
        .bind(reader.user_id.to_string())
        .bind(unread_only)
        .bind(after)
        .bind(i64::from(limit) + 1)
        .fetch_all(&store.reader)
        .await
        .map_err(db_error)?;
    let has_more = rows.len() > limit as usize;
    let items = rows.iter().take(limit as usize).map(from_row).collect::<Result<Vec<_>, _>>()?;
    let next_cursor = if has_more { items.last().map(|n| n.seq.to_string()) } else { None };
    Ok(Page { items, next_cursor })
}

/// How many of a reader's notifications are unread and still visible to them (built once, as `LIST_SQL`).
static UNREAD_SQL: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT count(*) FROM notifications n WHERE n.user_id = ?5 AND n.read_at IS NULL AND {STILL_VISIBLE}")
});

pub(crate) async fn unread(store: &SqliteStore, reader: &Principal) -> Result<u64, StoreError> {
    let scope = Caller::User(reader.clone()).read_scope();
    let count: i64 = bind_scope(sqlx::query(sqlx::AssertSqlSafe(UNREAD_SQL.as_str())), &scope)
        .bind(reader.user_id.to_string())
        .fetch_one(&store.reader)
        .await
        .map_err(db_error)?
        .try_get(0)
        .map_err(backend)?;
    Ok(u64::try_from(count).unwrap_or_default())
}

pub(crate) async fn mark_read(
    store: &SqliteStore,
    user_id: UserId,
    ids: Option<&[NotificationId]>,
) -> Result<u64, StoreError> {
    let at = instant_text(now());
    let mut changed = 0;
    match ids {
        None => {
            let result = store
                .writer
                .execute(
                    sqlx::query("UPDATE notifications SET read_at = ?2 WHERE user_id = ?1 AND read_at IS NULL")
                        .bind(user_id.to_string())
                        .bind(at),
                )
                .await?;
            changed += result.rows_affected();
        }
        Some(ids) => {
            let mut tx = store.writer.begin().await?;
            for id in ids {
                let result = sqlx::query(
                    "UPDATE notifications SET read_at = ?3 WHERE id = ?1 AND user_id = ?2 AND read_at IS NULL",
                )
                .bind(id.to_string())
                .bind(user_id.to_string())
                .bind(at.clone())
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
                changed += result.rows_affected();
            }
            tx.commit().await?;
        }
    }
    Ok(changed)
}

fn from_row(row: &SqliteRow) -> Result<Notification, StoreError> {
    let text = |name: &str| row.try_get::<String, _>(name).map_err(backend);
    let entity = text("entity")?;
    let reason = text("reason")?;
    Ok(Notification {
        id: text("id")?.parse().map_err(backend)?,
        seq: row.try_get("seq").map_err(backend)?,
        reason: NotificationReason::parse(&reason).ok_or_else(|| backend(format!("unknown reason {reason}")))?,
        entity: EntityType::parse(&entity).ok_or_else(|| backend(format!("unknown entity {entity}")))?,
        entity_id: text("entity_id")?,
        partnership: row
            .try_get::<Option<String>, _>("partnership")
            .map_err(backend)?
            .map(|p| eprime_domain::PartnerCode::parse(&p))
            .transpose()
            .map_err(backend)?,
        summary: text("summary")?,
        created_at: parse_instant(&text("created_at")?)?,
        read_at: row
            .try_get::<Option<String>, _>("read_at")
            .map_err(backend)?
            .map(|r| parse_instant(&r))
            .transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page deep in a long list of notifications starts at its cursor in the index, rather than
    /// walking every newer notification of the reader first.
    #[tokio::test]
    async fn a_page_of_notifications_starts_at_its_cursor_in_the_index() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        let sql = format!("EXPLAIN QUERY PLAN {}", *LIST_SQL);
        let rows = bind_scope(sqlx::query(sqlx::AssertSqlSafe(sql)), &eprime_domain::ReadScope::public_only())
            .bind("a-user")
            .bind(false)
            .bind(1_000_i64)
            .bind(51_i64)
            .fetch_all(&store.reader)
            .await
            .unwrap();
        let plan = crate::query_plan(&rows);
        assert!(plan.contains("notifications_by_user (user_id=? AND seq<?)"), "planned as: {plan}");
    }
}
