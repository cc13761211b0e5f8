//! Webhooks and their deliveries on SQLite: every write on the single writer connection, in one
//! transaction; webhook changes go to the change log (without the secret), delivery bookkeeping
//! does not.

use eprime_domain::access::webhook_scope;
use eprime_domain::ids::{DeliveryId, WebhookId};
use eprime_domain::{AccountScope, FieldError, OrgCode, OrgKind, Principal};
use eprime_store::webhooks::FOLLOWER;
use eprime_store::{
    Attempt, AttemptOutcome, AttemptRecord, ChangeFilter, ClaimedDelivery, Delivery, DeliveryState, EnqueueOutcome,
    EntityType, NewChangeEntry, NewWebhook, Operation, Page, PageRequest, StoreError, Webhook, WebhookChanges,
    unix_millis,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};
use time::OffsetDateTime;

use crate::SqliteStore;
use crate::changelog::{append, entry};
use crate::codec::{backend, db_error, instant_text, now, parse_instant};
use crate::group_commit::WriteTx;

macro_rules! webhook_select {
    () => {
        "SELECT id, organisation, organisation_kind, url, description, partnership, entities, active, secret,
                since_seq, version, created_by, created_at, updated_at
         FROM webhooks"
    };
}

macro_rules! delivery_select {
    () => {
        "SELECT d.id, d.webhook, d.seq, d.state, d.attempts, d.round_attempts, d.next_attempt_ms, d.delivered_at,
                d.created_at, c.entity, c.entity_id, c.operation,
                (SELECT json_group_array(json_object('number', a.number, 'at', a.at, 'status', a.status,
                                                     'error', a.error, 'duration_ms', a.duration_ms))
                 FROM (SELECT * FROM webhook_attempts WHERE delivery = d.id ORDER BY number) a) AS attempt_log
         FROM webhook_deliveries d JOIN change_log c ON c.seq = d.seq"
    };
}

/// The organisation a scope is limited to (`None`: every organisation), as bound to `?1`.
fn scope_org(scope: &AccountScope) -> Option<String> {
    match scope {
        AccountScope::All => None,
        AccountScope::Partner(partner) => Some(partner.as_str().to_owned()),
    }
}

fn not_found(id: WebhookId) -> StoreError {
    StoreError::NotFound(format!("webhook {id}"))
}

fn webhook_from_row(row: &SqliteRow) -> Result<Webhook, StoreError> {
    let id: String = row.try_get("id").map_err(backend)?;
    let organisation: String = row.try_get("organisation").map_err(backend)?;
    let kind: String = row.try_get("organisation_kind").map_err(backend)?;
    let partnership: Option<String> = row.try_get("partnership").map_err(backend)?;
    let entities: Option<String> = row.try_get("entities").map_err(backend)?;
    Ok(Webhook {
        id: id.parse().map_err(backend)?,
        organisation: OrgCode::parse(&organisation).map_err(backend)?,
        organisation_kind: OrgKind::parse(&kind).map_err(backend)?,
        url: row.try_get("url").map_err(backend)?,
        description: row.try_get("description").map_err(backend)?,
        filter: ChangeFilter::from_stored(partnership.as_deref(), entities.as_deref()),
        active: row.try_get("active").map_err(backend)?,
        secret: row.try_get("secret").map_err(backend)?,
        since_seq: row.try_get("since_seq").map_err(backend)?,
        version: row.try_get("version").map_err(backend)?,
        created_by: row.try_get("created_by").map_err(backend)?,
        created_at: parse_instant(&row.try_get::<String, _>("created_at").map_err(backend)?)?,
        updated_at: parse_instant(&row.try_get::<String, _>("updated_at").map_err(backend)?)?,
    })
}

fn delivery_from_row(row: &SqliteRow) -> Result<Delivery, StoreError> {
    let id: String = row.try_get("id").map_err(backend)?;
    let webhook: String = row.try_get("webhook").map_err(backend)?;
    let state: String = row.try_get("state").map_err(backend)?;
    let entity: String = row.try_get("entity").map_err(backend)?;
    let operation: String = row.try_get("operation").map_err(backend)?;
    let state = DeliveryState::parse(&state).ok_or_else(|| backend(format!("unknown delivery state {state}")))?;
    let delivered_at: Option<String> = row.try_get("delivered_at").map_err(backend)?;
    let log: Option<String> = row.try_get("attempt_log").map_err(backend)?;
    let mut attempt_log: Vec<Attempt> =
        log.map(|l| serde_json::from_str(&l).map_err(backend)).transpose()?.unwrap_or_default();
    attempt_log.sort_by_key(|a| a.number);
    let count = |name: &str| -> Result<u32, StoreError> {
        u32::try_from(row.try_get::<i64, _>(name).map_err(backend)?).map_err(backend)
    };
    Ok(Delivery {
        id: id.parse().map_err(backend)?,
        webhook: webhook.parse().map_err(backend)?,
        seq: row.try_get("seq").map_err(backend)?,
        entity: EntityType::parse(&entity).ok_or_else(|| backend(format!("unknown entity {entity}")))?,
        entity_id: row.try_get("entity_id").map_err(backend)?,
        operation: Operation::parse(&operation).ok_or_else(|| backend(format!("unknown operation {operation}")))?,
        state,
        attempts: count("attempts")?,
        round_attempts: count("round_attempts")?,
        next_attempt_at: (state == DeliveryState::Pending)
            .then(|| row.try_get::<i64, _>("next_attempt_ms").map(eprime_store::from_unix_millis))
            .transpose()
            .map_err(backend)?,
        delivered_at: delivered_at.as_deref().map(parse_instant).transpose()?,
        created_at: parse_instant(&row.try_get::<String, _>("created_at").map_err(backend)?)?,
        attempt_log,
    })
}

/// The webhook `id` within `scope`, read inside a transaction.
async fn load(conn: &mut SqliteConnection, scope: &AccountScope, id: WebhookId) -> Result<Webhook, StoreError> {
    let sql = concat!(webhook_select!(), " WHERE id = ?1 AND (?2 IS NULL OR organisation = ?2)");
    let row = sqlx::query(sql)
        .bind(id.to_string())
        .bind(scope_org(scope))
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_error)?;
    row.as_ref().map(webhook_from_row).transpose()?.ok_or_else(|| not_found(id))
}

pub(crate) async fn create(store: &SqliteStore, actor: &Principal, new: NewWebhook) -> Result<Webhook, StoreError> {
    let scope = webhook_scope(actor)?;
    if !scope.covers_organisation(&new.organisation) {
        return Err(StoreError::Forbidden(format!(
            "you manage only your own nation's webhooks, not {}'s",
            new.organisation
        )));
    }
    let mut tx = store.writer.begin().await?;
    let kind: Option<String> = sqlx::query_scalar("SELECT kind FROM organisations WHERE code = ?1")
        .bind(new.organisation.as_str().to_owned())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
    let kind = kind.ok_or_else(|| {
        StoreError::from(FieldError::new("organisation", format!("`{}` is not a known organisation", new.organisation)))
    })?;
    let at = now();
    let mut webhook = Webhook {
        id: WebhookId::new(),
        organisation: new.organisation,
        organisation_kind: OrgKind::parse(&kind).map_err(backend)?,
        url: new.url,
        description: new.description,
        filter: new.filter,
        active: new.active,
        secret: new.secret,
        since_seq: 0,
        version: 1,
        created_by: Some(actor.username.clone()),
        created_at: at,
        updated_at: at,
    };
    sqlx::query(
        "INSERT INTO webhooks (id, organisation, organisation_kind, url, description, partnership, entities, active,
             secret, since_seq, version, created_by, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0, 1, ?10, ?11, ?11)",
    )
    .bind(webhook.id.to_string())
    .bind(webhook.organisation.as_str().to_owned())
    .bind(webhook.organisation_kind.as_str())
    .bind(webhook.url.clone())
    .bind(webhook.description.clone())
    .bind(webhook.filter.partnership.as_ref().map(|p| p.as_str().to_owned()))
    .bind(webhook.filter.entities_text())
    .bind(webhook.active)
    .bind(webhook.secret.clone())
    .bind(webhook.created_by.clone())
    .bind(instant_text(at))
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    let id = webhook.id.to_string();
    let seq = append(
        &mut tx,
        NewChangeEntry::about(&webhook, Some(&actor.username), Operation::Create).after(&webhook.log_view()),
    )
    .await?;
    // Changes from its own creation on: nothing committed before it exists is delivered to it.
    sqlx::query("UPDATE webhooks SET since_seq = ?2 WHERE id = ?1")
        .bind(id)
        .bind(seq)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    tx.commit().await?;
    webhook.since_seq = seq;
    Ok(webhook)
}

pub(crate) async fn list(store: &SqliteStore, scope: &AccountScope) -> Result<Vec<Webhook>, StoreError> {
    let sql = concat!(webhook_select!(), " WHERE ?1 IS NULL OR organisation = ?1 ORDER BY id");
    let rows = sqlx::query(sql).bind(scope_org(scope)).fetch_all(&store.reader).await.map_err(db_error)?;
    rows.iter().map(webhook_from_row).collect()
}

pub(crate) async fn get(
    store: &SqliteStore,
    scope: &AccountScope,
    id: WebhookId,
) -> Result<Option<Webhook>, StoreError> {
    let mut conn = store.reader.acquire().await.map_err(db_error)?;
    match load(&mut conn, scope, id).await {
        Ok(webhook) => Ok(Some(webhook)),
        Err(StoreError::NotFound(_)) => Ok(None),
        Err(other) => Err(other),
    }
}

pub(crate) async fn update(
    store: &SqliteStore,
    actor: &Principal,
    id: WebhookId,
    expected_version: Option<i64>,
    changes: WebhookChanges,
) -> Result<Webhook, StoreError> {
    let scope = webhook_scope(actor)?;
    let mut tx = store.writer.begin().await?;
    let before = load(&mut tx, &scope, id).await?;
    if let Some(expected) = expected_version
        && expected != before.version
    {
        return Err(StoreError::Stale { expected, current: before.version });
    }
    let rotates = changes.secret.is_some();
    let mut after = before.clone();
    changes.apply(&mut after);
    after.version += 1;
    after.updated_at = now();
    sqlx::query(
        "UPDATE webhooks SET url = ?2, description = ?3, partnership = ?4, entities = ?5, active = ?6, secret = ?7,
             version = ?8, updated_at = ?9
         WHERE id = ?1",
    )
    .bind(id.to_string())
    .bind(after.url.clone())
    .bind(after.description.clone())
    .bind(after.filter.partnership.as_ref().map(|p| p.as_str().to_owned()))
    .bind(after.filter.entities_text())
    .bind(after.active)
    .bind(after.secret.clone())
    .bind(after.version)
    .bind(instant_text(after.updated_at))
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    append(
        &mut tx,
        NewChangeEntry::about(
            &after,
            Some(&actor.username),
            if rotates { Operation::RotateSecret } else { Operation::Update },
        )
        .before(Some(&before.log_view()))
        .after(&after.log_view()),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

pub(crate) async fn delete(store: &SqliteStore, actor: &Principal, id: WebhookId) -> Result<(), StoreError> {
    let scope = webhook_scope(actor)?;
    let mut tx = store.writer.begin().await?;
    let before = load(&mut tx, &scope, id).await?;
    // Its deliveries and their attempts go with it (ON DELETE CASCADE).
    sqlx::query("DELETE FROM webhooks WHERE id = ?1").bind(id.to_string()).execute(&mut *tx).await.map_err(db_error)?;
    append(
        &mut tx,
        NewChangeEntry::about(&before, Some(&actor.username), Operation::Delete).before(Some(&before.log_view())),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Queues a delivery of each change after the cursor to each webhook that wants it.
///
/// The changes and the webhooks are read through a reading connection, in one snapshot (a webhook
/// created after a change is never asked about it, and one created before it always is: the single
/// writer commits them in that order). Only what was decided is written: the deliveries in one
/// statement and the cursor moved on, in one write queued with the others (`group_commit`), so the
/// writer is not held while the changes are read. With no active webhook the changes are not even
/// parsed. Two queues (two processes on one file) never both record one pass: the cursor moves only
/// from where the pass started.
pub(crate) async fn enqueue(store: &SqliteStore, limit: u32) -> Result<EnqueueOutcome, StoreError> {
    let mut snapshot = store.reader.begin().await.map_err(db_error)?;
    let position: Option<i64> = sqlx::query_scalar("SELECT position FROM followers WHERE name = ?1")
        .bind(FOLLOWER)
        .fetch_optional(&mut *snapshot)
        .await
        .map_err(db_error)?;
    let Some(position) = position else {
        drop(snapshot);
        return start_following(store).await;
    };
    let hooks = sqlx::query(concat!(webhook_select!(), " WHERE active = 1 ORDER BY id"))
        .fetch_all(&mut *snapshot)
        .await
        .map_err(db_error)?
        .iter()
        .map(webhook_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let limit = i64::from(limit.clamp(1, 10_000));
    // (seq, webhook) of each delivery to queue; the newest change read.
    let (read, last, wanted) = if hooks.is_empty() {
        let seqs: Vec<i64> = sqlx::query_scalar("SELECT seq FROM change_log WHERE seq > ?1 ORDER BY seq LIMIT ?2")
            .bind(position)
            .bind(limit)
            .fetch_all(&mut *snapshot)
            .await
            .map_err(db_error)?;
        (seqs.len(), seqs.last().copied(), Vec::new())
    } else {
        let rows = sqlx::query(
            "SELECT seq, at, actor, entity, entity_id, partner, operation, before, after
             FROM change_log WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )
        .bind(position)
        .bind(limit)
        .fetch_all(&mut *snapshot)
        .await
        .map_err(db_error)?;
        let entries = rows.iter().map(entry).collect::<Result<Vec<_>, _>>()?;
        let wanted: Vec<(i64, String)> = entries
            .iter()
            .flat_map(|change| {
                hooks.iter().filter(|hook| hook.wants(change)).map(|hook| (change.seq, hook.id.to_string()))
            })
            .collect();
        (entries.len(), entries.last().map(|change| change.seq), wanted)
    };
    drop(snapshot);
    let Some(last) = last else { return Ok(EnqueueOutcome { entries: 0, deliveries: 0, position }) };
    let deliveries = wanted
        .iter()
        .map(|(seq, webhook)| serde_json::json!({"id": DeliveryId::new().to_string(), "webhook": webhook, "seq": seq}))
        .collect::<Vec<_>>();
    let deliveries = serde_json::Value::Array(deliveries).to_string();
    let recorded = store
        .writes
        .write(move |tx| Box::pin(async move { record_pass(tx, position, last, deliveries).await }))
        .await?;
    Ok(match recorded {
        Some(deliveries) => EnqueueOutcome { entries: read, deliveries, position: last },
        // Another queue recorded these changes meanwhile: nothing done here, and the next pass starts
        // from where that one left the cursor.
        None => EnqueueOutcome { entries: 0, deliveries: 0, position },
    })
}

/// A missing cursor starts at the end of the log: the queue never loses its place, and never
/// delivers the history it was not there for.
async fn start_following(store: &SqliteStore) -> Result<EnqueueOutcome, StoreError> {
    let end = store
        .writes
        .write(|tx| {
            Box::pin(async move {
                sqlx::query_scalar::<_, i64>(
                    "INSERT INTO followers (name, position) SELECT ?1, coalesce(max(seq), 0) FROM change_log
                     WHERE true ON CONFLICT (name) DO UPDATE SET position = position
                     RETURNING position",
                )
                .bind(FOLLOWER)
                .fetch_one(tx.connection().await?)
                .await
                .map_err(db_error)
            })
        })
        .await?;
    Ok(EnqueueOutcome { entries: 0, deliveries: 0, position: end })
}

/// Queues a pass's deliveries (a JSON array of `{id, webhook, seq}`) and moves the cursor from
/// `from` to `to`: the number queued, or `None`, writing nothing, when another queue has moved it.
async fn record_pass(tx: &mut WriteTx, from: i64, to: i64, deliveries: String) -> Result<Option<usize>, StoreError> {
    let tx = tx.connection().await?;
    let moved = sqlx::query("UPDATE followers SET position = ?3 WHERE name = ?1 AND position = ?2")
        .bind(FOLLOWER)
        .bind(from)
        .bind(to)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    if moved.rows_affected() == 0 {
        return Ok(None);
    }
    let at = now();
    let inserted = sqlx::query(
        "INSERT INTO webhook_deliveries (id, webhook, seq, state, attempts, round_attempts, next_attempt_ms, created_at)
         SELECT d ->> 'id', d ->> 'webhook', d ->> 'seq', 'pending', 0, 0, ?2, ?3
         FROM (SELECT value AS d FROM json_each(?1)) WHERE true
         ON CONFLICT (webhook, seq) DO NOTHING",
    )
    .bind(deliveries)
    .bind(unix_millis(at))
    .bind(instant_text(at))
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    Ok(Some(usize::try_from(inserted.rows_affected()).unwrap_or(0)))
}

pub(crate) async fn claim(
    store: &SqliteStore,
    at: OffsetDateTime,
    lease: std::time::Duration,
    limit: u32,
) -> Result<Vec<ClaimedDelivery>, StoreError> {
    // Most passes find nothing due: asking a reading connection first keeps them off the writer. A
    // delivery queued a moment ago that it does not see yet is claimed by the next pass.
    let due: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_ms <= ?1 LIMIT 1",
    )
    .bind(unix_millis(at))
    .fetch_optional(&store.reader)
    .await
    .map_err(db_error)?;
    if due.is_none() {
        return Ok(Vec::new());
    }
    let mut tx = store.writer.begin().await?;
    let rows = sqlx::query(
        "SELECT d.id AS delivery, d.webhook, d.attempts, d.round_attempts, w.url, w.secret,
                c.seq, c.at, c.actor, c.entity, c.entity_id, c.partner, c.operation, c.before, c.after
         FROM webhook_deliveries d
         JOIN webhooks w ON w.id = d.webhook
         JOIN change_log c ON c.seq = d.seq
         WHERE d.state = 'pending' AND d.next_attempt_ms <= ?1 AND w.active = 1
         ORDER BY d.next_attempt_ms, d.id
         LIMIT ?2",
    )
    .bind(unix_millis(at))
    .bind(i64::from(limit.clamp(1, 1_000)))
    .fetch_all(&mut *tx)
    .await
    .map_err(db_error)?;
    let until = unix_millis(at + lease);
    let mut claimed = Vec::with_capacity(rows.len());
    for row in &rows {
        let id: String = row.try_get("delivery").map_err(backend)?;
        let webhook: String = row.try_get("webhook").map_err(backend)?;
        sqlx::query("UPDATE webhook_deliveries SET next_attempt_ms = ?2 WHERE id = ?1")
            .bind(id.clone())
            .bind(until)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        claimed.push(ClaimedDelivery {
            id: id.parse().map_err(backend)?,
            webhook: webhook.parse().map_err(backend)?,
            url: row.try_get("url").map_err(backend)?,
            secret: row.try_get("secret").map_err(backend)?,
            attempts: u32::try_from(row.try_get::<i64, _>("attempts").map_err(backend)?).map_err(backend)?,
            round_attempts: u32::try_from(row.try_get::<i64, _>("round_attempts").map_err(backend)?)
                .map_err(backend)?,
            entry: entry(row)?,
        });
    }
    tx.commit().await?;
    Ok(claimed)
}

pub(crate) async fn record_attempt(store: &SqliteStore, attempt: AttemptRecord) -> Result<bool, StoreError> {
    let (state, next, delivered_at) = match attempt.outcome {
        AttemptOutcome::Delivered => (DeliveryState::Delivered, unix_millis(attempt.at), Some(attempt.at)),
        AttemptOutcome::RetryAt(at) => (DeliveryState::Pending, unix_millis(at), None),
        AttemptOutcome::Failed => (DeliveryState::Failed, unix_millis(attempt.at), None),
    };
    let mut tx = store.writer.begin().await?;
    let updated = sqlx::query(
        "UPDATE webhook_deliveries
         SET attempts = ?2, round_attempts = round_attempts + 1, state = ?3, next_attempt_ms = ?4,
             delivered_at = coalesce(?5, delivered_at)
         WHERE id = ?1 AND attempts = ?2 - 1 AND state = 'pending'",
    )
    .bind(attempt.delivery.to_string())
    .bind(i64::from(attempt.number))
    .bind(state.as_str())
    .bind(next)
    .bind(delivered_at.map(instant_text))
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    if updated.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO webhook_attempts (delivery, number, at, status, error, duration_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .bind(attempt.delivery.to_string())
    .bind(i64::from(attempt.number))
    .bind(instant_text(attempt.at))
    .bind(attempt.status.map(i64::from))
    .bind(attempt.error)
    .bind(i64::try_from(attempt.duration_ms).unwrap_or(i64::MAX))
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    tx.commit().await?;
    Ok(true)
}

pub(crate) async fn list_deliveries(
    store: &SqliteStore,
    scope: &AccountScope,
    webhook: WebhookId,
    page: &PageRequest,
) -> Result<Option<Page<Delivery>>, StoreError> {
    let mut conn = store.reader.acquire().await.map_err(db_error)?;
    if let Err(error) = load(&mut conn, scope, webhook).await {
        return match error {
            StoreError::NotFound(_) => Ok(None),
            other => Err(other),
        };
    }
    let after = page
        .after
        .as_deref()
        .map(|a| a.parse::<DeliveryId>().map_err(|_| FieldError::new("after", "is not a cursor this list gave out")))
        .transpose()?;
    let limit = page.limit.clamp(1, PageRequest::MAX_LIMIT);
    // A page after the first starts at its cursor in `webhook_deliveries_log` (webhook, id), a statement of
    // its own: `(? IS NULL OR d.id < ?)` was planned as a walk from the newest, filtered row by row.
    let first = sqlx::query(concat!(delivery_select!(), " WHERE d.webhook = ?1 ORDER BY d.id DESC LIMIT ?2"));
    let next =
        sqlx::query(concat!(delivery_select!(), " WHERE d.webhook = ?1 AND d.id < ?3 ORDER BY d.id DESC LIMIT ?2"));
    let query = match after {
        None => first.bind(webhook.to_string()).bind(i64::from(limit) + 1),
        Some(after) => next.bind(webhook.to_string()).bind(i64::from(limit) + 1).bind(after.to_string()),
    };
    let rows = query.fetch_all(&mut *conn).await.map_err(db_error)?;
    let mut items = rows.iter().map(delivery_from_row).collect::<Result<Vec<_>, _>>()?;
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|d| d.id.to_string())
    } else {
        None
    };
    Ok(Some(Page { items, next_cursor }))
}

pub(crate) async fn redeliver(
    store: &SqliteStore,
    actor: &Principal,
    webhook: WebhookId,
    delivery: DeliveryId,
    at: OffsetDateTime,
) -> Result<Delivery, StoreError> {
    let scope = webhook_scope(actor)?;
    let mut tx = store.writer.begin().await?;
    load(&mut tx, &scope, webhook).await?;
    let updated = sqlx::query(
        "UPDATE webhook_deliveries SET state = 'pending', round_attempts = 0, next_attempt_ms = ?3
         WHERE id = ?1 AND webhook = ?2",
    )
    .bind(delivery.to_string())
    .bind(webhook.to_string())
    .bind(unix_millis(at))
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("delivery {delivery}")));
    }
    let row = sqlx::query(concat!(delivery_select!(), " WHERE d.id = ?1"))
        .bind(delivery.to_string())
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
    let delivery = delivery_from_row(&row)?;
    tx.commit().await?;
    Ok(delivery)
}

#[async_trait::async_trait]
impl eprime_store::WebhookStore for SqliteStore {
    async fn create_webhook(&self, actor: &Principal, new: NewWebhook) -> Result<Webhook, StoreError> {
        create(self, actor, new).await
    }

    async fn list_webhooks(&self, scope: &AccountScope) -> Result<Vec<Webhook>, StoreError> {
        list(self, scope).await
    }

    async fn webhook(&self, scope: &AccountScope, id: WebhookId) -> Result<Option<Webhook>, StoreError> {
        get(self, scope, id).await
    }

    async fn update_webhook(
        &self,
        actor: &Principal,
        id: WebhookId,
        expected_version: Option<i64>,
        changes: WebhookChanges,
    ) -> Result<Webhook, StoreError> {
        update(self, actor, id, expected_version, changes).await
    }

    async fn delete_webhook(&self, actor: &Principal, id: WebhookId) -> Result<(), StoreError> {
        delete(self, actor, id).await
    }

    // Delivery bookkeeping appends nothing to the change log, so it wakes no follower.
    async fn enqueue_deliveries(&self, limit: u32) -> Result<EnqueueOutcome, StoreError> {
        enqueue(self, limit).await
    }

    async fn claim_due_deliveries(
        &self,
        now: OffsetDateTime,
        lease: std::time::Duration,
        limit: u32,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        claim(self, now, lease, limit).await
    }

    async fn record_attempt(&self, attempt: AttemptRecord) -> Result<bool, StoreError> {
        record_attempt(self, attempt).await
    }

    async fn list_deliveries(
        &self,
        scope: &AccountScope,
        webhook: WebhookId,
        page: &PageRequest,
    ) -> Result<Option<Page<Delivery>>, StoreError> {
        list_deliveries(self, scope, webhook, page).await
    }

    async fn redeliver(
        &self,
        actor: &Principal,
        webhook: WebhookId,
        delivery: DeliveryId,
        now: OffsetDateTime,
    ) -> Result<Delivery, StoreError> {
        redeliver(self, actor, webhook, delivery, now).await
    }
}
