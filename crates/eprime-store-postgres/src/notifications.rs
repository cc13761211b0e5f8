//! Watches, and the notifier that turns changes into inbox items.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::LazyLock;

use eprime_domain::{Caller, NotificationId, PartnerCode, Principal, UserId};
use eprime_store::notify::{Candidate, plan, wanted};
use eprime_store::{
    EntityType, Notification, NotificationReason, Page, PageRequest, StoreError, StoredUser, Watch, WatchedRecord,
};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};
use time::OffsetDateTime;

use crate::accounts::{from_row as user_from_row, user_select};
use crate::changelog::{entry, visible_record};
use crate::codec::{backend, db_error, now};
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

pub(crate) async fn watch(pool: &PgPool, actor: &Principal, entity: EntityType, id: &str) -> Result<(), StoreError> {
    watchable(entity)?;
    let scope = Caller::User(actor.clone()).read_scope();
    if !visible_record(pool, &scope, entity, id).await? {
        return Err(StoreError::NotFound(format!("{} {id}", entity.as_str())));
    }
    sqlx::query(
        "INSERT INTO watches (user_id, entity, entity_id, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(actor.user_id.0)
    .bind(entity.as_str())
    .bind(id.to_owned())
    .bind(now())
    .execute(pool)
    .await
    .map_err(db_error)?;
    Ok(())
}

pub(crate) async fn unwatch(
    pool: &PgPool,
    actor: &Principal,
    entity: EntityType,
    id: &str,
) -> Result<bool, StoreError> {
    let result = sqlx::query("DELETE FROM watches WHERE user_id = $1 AND entity = $2 AND entity_id = $3")
        .bind(actor.user_id.0)
        .bind(entity.as_str())
        .bind(id.to_owned())
        .execute(pool)
        .await
        .map_err(db_error)?;
    Ok(result.rows_affected() > 0)
}

pub(crate) async fn list_watches(pool: &PgPool, user_id: UserId) -> Result<Vec<Watch>, StoreError> {
    let rows =
        sqlx::query("SELECT entity, entity_id, created_at FROM watches WHERE user_id = $1 ORDER BY created_at DESC")
            .bind(user_id.0)
            .fetch_all(pool)
            .await
            .map_err(db_error)?;
    rows.iter()
        .map(|row| {
            let entity: String = row.try_get("entity").map_err(backend)?;
            Ok(Watch {
                entity: EntityType::parse(&entity).ok_or_else(|| backend(format!("unknown entity {entity}")))?,
                entity_id: row.try_get("entity_id").map_err(backend)?,
                created_at: row.try_get("created_at").map_err(backend)?,
            })
        })
        .collect()
}

pub(crate) async fn is_watching(
    pool: &PgPool,
    user_id: UserId,
    entity: EntityType,
    id: &str,
) -> Result<bool, StoreError> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM watches WHERE user_id = $1 AND entity = $2 AND entity_id = $3)")
        .bind(user_id.0)
        .bind(entity.as_str())
        .bind(id.to_owned())
        .fetch_one(pool)
        .await
        .map_err(db_error)
}

/// One branch per kind of record, each driven by the watcher's own watches (the primary key
/// `(user_id, entity, entity_id)`) and each through `visible!` for the record it names. Only
/// rows of the branch's own kind reach its `::uuid` cast, and those hold uuids (`watch` stores
/// only records it found).
const WATCHED: &str = concat!(
    "SELECT w.entity, w.entity_id, w.created_at, a.title AS title, a.partnership AS partnership",
    " FROM watches w JOIN activities a ON a.id = w.entity_id::uuid",
    " WHERE w.user_id = $5 AND w.entity = 'activity' AND ",
    visible!("activity", "a", "id::text", released_to = "partnership"),
    " UNION ALL SELECT w.entity, w.entity_id, w.created_at, d.title, d.partnership",
    " FROM watches w JOIN documents d ON d.id = w.entity_id::uuid",
    " WHERE w.user_id = $5 AND w.entity = 'document' AND ",
    visible!("document", "d", "id::text"),
    // A goal is visible with its document.
    " UNION ALL SELECT w.entity, w.entity_id, w.created_at, e.code || ' ' || e.title, d.partnership",
    " FROM watches w JOIN elements e ON e.id = w.entity_id::uuid JOIN documents d ON d.id = e.document",
    " WHERE w.user_id = $5 AND w.entity = 'element' AND ",
    visible!("document", "d", "id::text"),
    " UNION ALL SELECT w.entity, w.entity_id, w.created_at, p.name, p.partner",
    " FROM watches w JOIN partnerships p ON p.partner = w.entity_id",
    " WHERE w.user_id = $5 AND w.entity = 'partnership' AND ",
    visible!("partnership", "p", "partner"),
    " UNION ALL SELECT w.entity, w.entity_id, w.created_at, o.title, NULL",
    " FROM watches w JOIN offerings o ON o.id = w.entity_id::uuid",
    " WHERE w.user_id = $5 AND w.entity = 'offering' AND ",
    visible!("offering", "o", "id::text"),
    " ORDER BY 3 DESC, 2"
);

pub(crate) async fn watched_records(pool: &PgPool, watcher: &Principal) -> Result<Vec<WatchedRecord>, StoreError> {
    let scope = Caller::User(watcher.clone()).read_scope();
    let rows =
        bind_scope(sqlx::query(WATCHED), &scope).bind(watcher.user_id.0).fetch_all(pool).await.map_err(db_error)?;
    rows.iter()
        .map(|row| {
            let entity: String = row.try_get("entity").map_err(backend)?;
            let partnership: Option<String> = row.try_get("partnership").map_err(backend)?;
            Ok(WatchedRecord {
                entity: EntityType::parse(&entity).ok_or_else(|| backend(format!("unknown entity {entity}")))?,
                entity_id: row.try_get("entity_id").map_err(backend)?,
                title: row.try_get("title").map_err(backend)?,
                partnership: partnership.map(|p| PartnerCode::parse(&p).map_err(backend)).transpose()?,
                created_at: row.try_get("created_at").map_err(backend)?,
            })
        })
        .collect()
}

async fn users(conn: &mut PgConnection, sql: &'static str, key: &str) -> Result<Vec<StoredUser>, StoreError> {
    let rows = sqlx::query(sql).bind(key.to_owned()).fetch_all(&mut *conn).await.map_err(db_error)?;
    rows.iter().map(user_from_row).collect()
}

/// The watchers of each of `records`: one statement per kind of record in the batch, not one per change.
async fn watchers_of<'a>(
    tx: &mut PgConnection,
    records: impl Iterator<Item = &'a (EntityType, String)>,
) -> Result<HashMap<(EntityType, String), Vec<StoredUser>>, StoreError> {
    let mut by_kind: BTreeMap<&'static str, (EntityType, BTreeSet<String>)> = BTreeMap::new();
    for (entity, id) in records {
        by_kind.entry(entity.as_str()).or_insert_with(|| (*entity, BTreeSet::new())).1.insert(id.clone());
    }
    let mut watchers: HashMap<(EntityType, String), Vec<StoredUser>> = HashMap::new();
    for (kind, (entity, ids)) in by_kind {
        // Equality on the entity and a list of ids, so `watches_by_record` (entity, entity_id) finds them.
        let rows = sqlx::query(
            "SELECT w.entity_id AS watched, u.id, u.username, u.display_name, u.role, u.partner, u.organisation,
                    u.disabled, u.password_hash, u.created_at
             FROM watches w JOIN users u ON u.id = w.user_id
             WHERE w.entity = $1 AND w.entity_id = ANY($2)
             ORDER BY w.entity_id, u.id",
        )
        .bind(kind)
        .bind(ids.into_iter().collect::<Vec<_>>())
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?;
        for row in &rows {
            let watched: String = row.try_get("watched").map_err(backend)?;
            watchers.entry((entity, watched)).or_default().push(user_from_row(row)?);
        }
    }
    Ok(watchers)
}

pub(crate) async fn generate(pool: &PgPool, limit: u32) -> Result<usize, StoreError> {
    let mut tx = pool.begin().await.map_err(db_error)?;
    // The notifier's row is locked for the whole batch: another instance waits, then continues
    // from where this one stopped.
    let last: i64 = sqlx::query_scalar("SELECT last_seq FROM notifier WHERE id = 1 FOR UPDATE")
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
    let rows = sqlx::query(
        "SELECT seq, at, actor, entity, entity_id, partner, operation, before, after
         FROM change_log WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .bind(last)
    .bind(i64::from(limit.clamp(1, 1_000)))
    .fetch_all(&mut *tx)
    .await
    .map_err(db_error)?;
    let entries = rows.iter().map(entry).collect::<Result<Vec<_>, _>>()?;
    // Changes that are never passed on are left out here, and each kept change's visibility is
    // worked out once (reading its record's marking) for everyone it may concern.
    let notified: Vec<_> = entries.iter().filter_map(|change| Some((change, change.visibility()?))).collect();
    let wants: Vec<_> = notified.iter().map(|(change, _)| wanted(change)).collect();
    let watchers = watchers_of(&mut tx, wants.iter().map(|w| &w.watched)).await?;
    for ((change, visibility), wanted) in notified.iter().zip(&wants) {
        let (entity, id) = &wanted.watched;
        let mut found: Vec<(StoredUser, NotificationReason)> = Vec::new();
        if let Some(users) = watchers.get(&(*entity, id.clone())) {
            found.extend(users.iter().map(|user| (user.clone(), NotificationReason::Watched)));
        }
        for (name, reason) in &wanted.accounts {
            let sql = concat!(user_select!(), " WHERE username = $1");
            found.extend(users(&mut tx, sql, name).await?.into_iter().map(|user| (user, *reason)));
        }
        for (provider, reason) in &wanted.providers {
            let sql = concat!(user_select!(), " WHERE role = 'provider' AND organisation = $1");
            found.extend(users(&mut tx, sql, provider).await?.into_iter().map(|user| (user, *reason)));
        }
        if wanted.approvers {
            let sql = concat!(user_select!(), " WHERE role IN ('nato_staff', 'nato_admin') AND $1 = $1");
            found.extend(users(&mut tx, sql, "").await?.into_iter().map(|user| (user, NotificationReason::Approval)));
        }
        let candidates: Vec<Candidate<'_>> =
            found.iter().map(|(user, reason)| Candidate { user, reason: *reason }).collect();
        for planned in plan(change, visibility, &candidates) {
            sqlx::query(
                "INSERT INTO notifications (id, user_id, seq, reason, entity, entity_id, partnership, summary, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (user_id, seq) DO NOTHING",
            )
            .bind(NotificationId::new().0)
            .bind(planned.user_id.0)
            .bind(change.seq)
            .bind(planned.reason.as_str())
            .bind(entity.as_str())
            .bind(id.clone())
            .bind(change.partner.clone())
            .bind(planned.summary)
            .bind(change.at)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        }
    }
    if let Some(newest) = entries.last() {
        sqlx::query("UPDATE notifier SET last_seq = $1 WHERE id = 1")
            .bind(newest.seq)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
    }
    tx.commit().await.map_err(db_error)?;
    Ok(entries.len())
}

/// A notification is shown while its record is visible to the reader (`$1`..`$4`): one probe of
/// the record it names, by kind (each branch casts `entity_id` only for rows of its own kind, which
/// hold uuids). A nomination's is always shown: a participant reads its own nominations by another
/// rule (`notify::own_nomination`), and its officer and provider keep seeing them.
const STILL_VISIBLE: &str = concat!(
    "(CASE n.entity",
    " WHEN 'activity' THEN EXISTS (SELECT 1 FROM activities a WHERE a.id = n.entity_id::uuid AND ",
    visible!("activity", "a", "id::text", released_to = "partnership"),
    ") WHEN 'offering' THEN EXISTS (SELECT 1 FROM offerings o WHERE o.id = n.entity_id::uuid AND ",
    visible!("offering", "o", "id::text"),
    ") WHEN 'document' THEN EXISTS (SELECT 1 FROM documents d WHERE d.id = n.entity_id::uuid AND ",
    visible!("document", "d", "id::text"),
    ") WHEN 'element' THEN EXISTS (SELECT 1 FROM elements e JOIN documents d ON d.id = e.document",
    " WHERE e.id = n.entity_id::uuid AND ",
    visible!("document", "d", "id::text"),
    ") WHEN 'partnership' THEN EXISTS (SELECT 1 FROM partnerships p WHERE p.partner = n.entity_id AND ",
    visible!("partnership", "p", "partner"),
    ") ELSE true END)"
);

/// A page of a reader's notifications, newest first, from before the cursor `$7` (none: from the
/// newest). Built once: the statement cache keys on the text, and an inbox page should not format it again.
static LIST_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT n.id, n.seq, n.reason, n.entity, n.entity_id, n.partnership, n.summary, n.created_at, n.read_at
         FROM notifications n
         WHERE n.user_id = $5 AND (NOT $6 OR n.read_at IS NULL) AND ($7::bigint IS NULL OR n.seq < $7)
           AND {STILL_VISIBLE}
         ORDER BY n.seq DESC LIMIT $8"
    )
});

pub(crate) async fn list(
    pool: &PgPool,
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
        .bind(reader.user_id.0)
        .bind(unread_only)
        .bind(after)
        .bind(i64::from(limit) + 1)
        .fetch_all(pool)
        .await
        .map_err(db_error)?;
    let has_more = rows.len() > limit as usize;
    let items = rows.iter().take(limit as usize).map(from_row).collect::<Result<Vec<_>, _>>()?;
    let next_cursor = if has_more { items.last().map(|n| n.seq.to_string()) } else { None };
    Ok(Page { items, next_cursor })
}

/// How many of a reader's notifications are unread and still visible to them (built once, as `LIST_SQL`).
static UNREAD_SQL: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT count(*) FROM notifications n WHERE n.user_id = $5 AND n.read_at IS NULL AND {STILL_VISIBLE}")
});

pub(crate) async fn unread(pool: &PgPool, reader: &Principal) -> Result<u64, StoreError> {
    let scope = Caller::User(reader.clone()).read_scope();
    let count: i64 = bind_scope(sqlx::query(sqlx::AssertSqlSafe(UNREAD_SQL.as_str())), &scope)
        .bind(reader.user_id.0)
        .fetch_one(pool)
        .await
        .map_err(db_error)?
        .try_get(0)
        .map_err(backend)?;
    Ok(u64::try_from(count).unwrap_or_default())
}

pub(crate) async fn mark_read(
    pool: &PgPool,
    user_id: UserId,
    ids: Option<&[NotificationId]>,
) -> Result<u64, StoreError> {
    let at: OffsetDateTime = now();
    let result = match ids {
        None => {
            sqlx::query("UPDATE notifications SET read_at = $2 WHERE user_id = $1 AND read_at IS NULL")
                .bind(user_id.0)
                .bind(at)
                .execute(pool)
                .await
        }
        Some(ids) => {
            let ids: Vec<uuid::Uuid> = ids.iter().map(|id| id.0).collect();
            sqlx::query("UPDATE notifications SET read_at = $3 WHERE user_id = $1 AND id = ANY($2) AND read_at IS NULL")
                .bind(user_id.0)
                .bind(ids)
                .bind(at)
                .execute(pool)
                .await
        }
    };
    Ok(result.map_err(db_error)?.rows_affected())
}

fn from_row(row: &PgRow) -> Result<Notification, StoreError> {
    let text = |name: &str| row.try_get::<String, _>(name).map_err(backend);
    let entity = text("entity")?;
    let reason = text("reason")?;
    Ok(Notification {
        id: NotificationId(row.try_get("id").map_err(backend)?),
        seq: row.try_get("seq").map_err(backend)?,
        reason: NotificationReason::parse(&reason).ok_or_else(|| backend(format!("unknown reason {reason}")))?,
        entity: EntityType::parse(&entity).ok_or_else(|| backend(format!("unknown entity {entity}")))?,
        entity_id: text("entity_id")?,
        partnership: row
            .try_get::<Option<String>, _>("partnership")
            .map_err(backend)?
            .map(|p| PartnerCode::parse(&p))
            .transpose()
            .map_err(backend)?,
        summary: text("summary")?,
        created_at: row.try_get("created_at").map_err(backend)?,
        read_at: row.try_get("read_at").map_err(backend)?,
    })
}
