//! Webhooks and their deliveries on PostgreSQL. Several instances may run at once: queueing holds
//! the webhooks' cursor row `FOR UPDATE`, so a change is queued once; claiming takes due
//! deliveries `FOR UPDATE SKIP LOCKED` and leases them, so a delivery is sent by one instance at
//! a time. Webhook changes go to the change log (without the secret), appended last as every
//! write here does; delivery bookkeeping does not.

use eprime_domain::access::webhook_scope;
use eprime_domain::ids::{DeliveryId, WebhookId};
use eprime_domain::{AccountScope, FieldError, OrgCode, OrgKind, Principal};
use eprime_store::webhooks::FOLLOWER;
use eprime_store::{
    Attempt, AttemptOutcome, AttemptRecord, ChangeFilter, ClaimedDelivery, Delivery, DeliveryState, EnqueueOutcome,
    EntityType, NewChangeEntry, NewWebhook, Operation, Page, PageRequest, StoreError, Webhook, WebhookChanges,
    unix_millis,
};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::PostgresStore;
use crate::changelog::{append, entry};
use crate::codec::{backend, db_error, now};

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
                (SELECT coalesce(jsonb_agg(jsonb_build_object('number', a.number, 'at', a.at, 'status', a.status,
                                                              'error', a.error, 'duration_ms', a.duration_ms)
                                           ORDER BY a.number), '[]'::jsonb)
                 FROM webhook_attempts a WHERE a.delivery = d.id) AS attempt_log
         FROM webhook_deliveries d JOIN change_log c ON c.seq = d.seq"
    };
}

/// The organisation a scope is limited to (`None`: every organisation).
fn scope_org(scope: &AccountScope) -> Option<String> {
    match scope {
        AccountScope::All => None,
        AccountScope::Partner(partner) => Some(partner.as_str().to_owned()),
    }
}

fn not_found(id: WebhookId) -> StoreError {
    StoreError::NotFound(format!("webhook {id}"))
}

fn webhook_from_row(row: &PgRow) -> Result<Webhook, StoreError> {
    let organisation: String = row.try_get("organisation").map_err(backend)?;
    let kind: String = row.try_get("organisation_kind").map_err(backend)?;
    let partnership: Option<String> = row.try_get("partnership").map_err(backend)?;
    let entities: Option<String> = row.try_get("entities").map_err(backend)?;
    Ok(Webhook {
        id: WebhookId(row.try_get("id").map_err(backend)?),
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
        created_at: row.try_get("created_at").map_err(backend)?,
        updated_at: row.try_get("updated_at").map_err(backend)?,
    })
}

fn count(row: &PgRow, name: &str) -> Result<u32, StoreError> {
    u32::try_from(row.try_get::<i64, _>(name).map_err(backend)?).map_err(backend)
}

fn delivery_from_row(row: &PgRow) -> Result<Delivery, StoreError> {
    let state: String = row.try_get("state").map_err(backend)?;
    let entity: String = row.try_get("entity").map_err(backend)?;
    let operation: String = row.try_get("operation").map_err(backend)?;
    let state = DeliveryState::parse(&state).ok_or_else(|| backend(format!("unknown delivery state {state}")))?;
    let Json(mut attempt_log): Json<Vec<Attempt>> = row.try_get("attempt_log").map_err(backend)?;
    attempt_log.sort_by_key(|a| a.number);
    let next_attempt_ms: i64 = row.try_get("next_attempt_ms").map_err(backend)?;
    Ok(Delivery {
        id: DeliveryId(row.try_get("id").map_err(backend)?),
        webhook: WebhookId(row.try_get("webhook").map_err(backend)?),
        seq: row.try_get("seq").map_err(backend)?,
        entity: EntityType::parse(&entity).ok_or_else(|| backend(format!("unknown entity {entity}")))?,
        entity_id: row.try_get("entity_id").map_err(backend)?,
        operation: Operation::parse(&operation).ok_or_else(|| backend(format!("unknown operation {operation}")))?,
        state,
        attempts: count(row, "attempts")?,
        round_attempts: count(row, "round_attempts")?,
        next_attempt_at: (state == DeliveryState::Pending).then(|| eprime_store::from_unix_millis(next_attempt_ms)),
        delivered_at: row.try_get("delivered_at").map_err(backend)?,
        created_at: row.try_get("created_at").map_err(backend)?,
        attempt_log,
    })
}

/// The webhook `id` within `scope`; `lock` takes its row for the rest of the transaction.
async fn load(conn: &mut PgConnection, scope: &AccountScope, id: WebhookId, lock: bool) -> Result<Webhook, StoreError> {
    let sql = if lock {
        concat!(webhook_select!(), " WHERE id = $1 AND ($2::text IS NULL OR organisation = $2) FOR NO KEY UPDATE")
    } else {
        concat!(webhook_select!(), " WHERE id = $1 AND ($2::text IS NULL OR organisation = $2)")
    };
    let row = sqlx::query(sql).bind(id.0).bind(scope_org(scope)).fetch_optional(&mut *conn).await.map_err(db_error)?;
    row.as_ref().map(webhook_from_row).transpose()?.ok_or_else(|| not_found(id))
}

pub(crate) async fn create(pool: &PgPool, actor: &Principal, new: NewWebhook) -> Result<Webhook, StoreError> {
    let scope = webhook_scope(actor)?;
    if !scope.covers_organisation(&new.organisation) {
        return Err(StoreError::Forbidden(format!(
            "you manage only your own nation's webhooks, not {}'s",
            new.organisation
        )));
    }
    let mut tx = pool.begin().await.map_err(db_error)?;
    let kind: Option<String> = sqlx::query_scalar("SELECT kind FROM organisations WHERE code = $1")
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
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, 1, $10, $11, $11)",
    )
    .bind(webhook.id.0)
    .bind(webhook.organisation.as_str().to_owned())
    .bind(webhook.organisation_kind.as_str())
    .bind(webhook.url.clone())
    .bind(webhook.description.clone())
    .bind(webhook.filter.partnership.as_ref().map(|p| p.as_str().to_owned()))
    .bind(webhook.filter.entities_text())
    .bind(webhook.active)
    .bind(webhook.secret.clone())
    .bind(webhook.created_by.clone())
    .bind(at)
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    let seq = append(
        &mut tx,
        NewChangeEntry::about(&webhook, Some(&actor.username), Operation::Create).after(&webhook.log_view()),
    )
    .await?;
    // Changes from its own creation on: nothing committed before it exists is delivered to it.
    sqlx::query("UPDATE webhooks SET since_seq = $2 WHERE id = $1")
        .bind(webhook.id.0)
        .bind(seq)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    tx.commit().await.map_err(db_error)?;
    webhook.since_seq = seq;
    Ok(webhook)
}

pub(crate) async fn list(pool: &PgPool, scope: &AccountScope) -> Result<Vec<Webhook>, StoreError> {
    let sql = concat!(webhook_select!(), " WHERE $1::text IS NULL OR organisation = $1 ORDER BY id");
    let rows = sqlx::query(sql).bind(scope_org(scope)).fetch_all(pool).await.map_err(db_error)?;
    rows.iter().map(webhook_from_row).collect()
}

pub(crate) async fn get(pool: &PgPool, scope: &AccountScope, id: WebhookId) -> Result<Option<Webhook>, StoreError> {
    let mut conn = pool.acquire().await.map_err(db_error)?;
    match load(&mut conn, scope, id, false).await {
        Ok(webhook) => Ok(Some(webhook)),
        Err(StoreError::NotFound(_)) => Ok(None),
        Err(other) => Err(other),
    }
}

pub(crate) async fn update(
    pool: &PgPool,
    actor: &Principal,
    id: WebhookId,
    expected_version: Option<i64>,
    changes: WebhookChanges,
) -> Result<Webhook, StoreError> {
    let scope = webhook_scope(actor)?;
    let mut tx = pool.begin().await.map_err(db_error)?;
    let before = load(&mut tx, &scope, id, true).await?;
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
        "UPDATE webhooks SET url = $2, description = $3, partnership = $4, entities = $5, active = $6, secret = $7,
             version = $8, updated_at = $9
         WHERE id = $1",
    )
    .bind(id.0)
    .bind(after.url.clone())
    .bind(after.description.clone())
    .bind(after.filter.partnership.as_ref().map(|p| p.as_str().to_owned()))
    .bind(after.filter.entities_text())
    .bind(after.active)
    .bind(after.secret.clone())
    .bind(after.version)
    .bind(after.updated_at)
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
    tx.commit().await.map_err(db_error)?;
    Ok(after)
}

pub(crate) async fn delete(pool: &PgPool, actor: &Principal, id: WebhookId) -> Result<(), StoreError> {
    let scope = webhook_scope(actor)?;
    let mut tx = pool.begin().await.map_err(db_error)?;
    let before = load(&mut tx, &scope, id, true).await?;
    // Its deliveries and their attempts go with it (ON DELETE CASCADE).
    sqlx::query("DELETE FROM webhooks WHERE id = $1").bind(id.0).execute(&mut *tx).await.map_err(db_error)?;
    append(
        &mut tx,
        NewChangeEntry::about(&before, Some(&actor.username), Operation::Delete).before(Some(&before.log_view())),
    )
    .await?;
    tx.commit().await.map_err(db_error)?;
    Ok(())
}

pub(crate) async fn enqueue(pool: &PgPool, limit: u32) -> Result<EnqueueOutcome, StoreError> {
    let mut tx = pool.begin().await.map_err(db_error)?;
    // A missing cursor starts at the end of the log (never at its beginning).
    sqlx::query(
        "INSERT INTO followers (name, position) SELECT $1, coalesce(max(seq), 0) FROM change_log
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(FOLLOWER)
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    // Locked to commit: another instance queueing now waits here, then reads the advanced cursor.
    let position: i64 = sqlx::query_scalar("SELECT position FROM followers WHERE name = $1 FOR UPDATE")
        .bind(FOLLOWER)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
    let rows = sqlx::query(
        "SELECT seq, at, actor, entity, entity_id, partner, operation, before, after
         FROM change_log WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .bind(position)
    .bind(i64::from(limit.clamp(1, 10_000)))
    .fetch_all(&mut *tx)
    .await
    .map_err(db_error)?;
    let entries = rows.iter().map(entry).collect::<Result<Vec<_>, _>>()?;
    let Some(last) = entries.last().map(|e| e.seq) else {
        tx.commit().await.map_err(db_error)?;
        return Ok(EnqueueOutcome { entries: 0, deliveries: 0, position });
    };
    let hooks = sqlx::query(concat!(webhook_select!(), " WHERE active ORDER BY id"))
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?
        .iter()
        .map(webhook_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let at = now();
    let mut deliveries = 0;
    for change in &entries {
        for hook in hooks.iter().filter(|hook| hook.wants(change)) {
            let inserted = sqlx::query(
                "INSERT INTO webhook_deliveries (id, webhook, seq, state, attempts, round_attempts, next_attempt_ms,
                     created_at)
                 VALUES ($1, $2, $3, 'pending', 0, 0, $4, $5)
                 ON CONFLICT (webhook, seq) DO NOTHING",
            )
            .bind(DeliveryId::new().0)
            .bind(hook.id.0)
            .bind(change.seq)
            .bind(unix_millis(at))
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
            deliveries += usize::try_from(inserted.rows_affected()).unwrap_or(0);
        }
    }
    sqlx::query("UPDATE followers SET position = $2 WHERE name = $1")
        .bind(FOLLOWER)
        .bind(last)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    tx.commit().await.map_err(db_error)?;
    Ok(EnqueueOutcome { entries: entries.len(), deliveries, position: last })
}

pub(crate) async fn claim(
    pool: &PgPool,
    at: OffsetDateTime,
    lease: std::time::Duration,
    limit: u32,
) -> Result<Vec<ClaimedDelivery>, StoreError> {
    // One statement: take due rows no other instance holds, push them past the lease, return them.
    let rows = sqlx::query(
        "WITH due AS (
             SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook
             WHERE d.state = 'pending' AND d.next_attempt_ms <= $1 AND w.active
             ORDER BY d.next_attempt_ms, d.id
             LIMIT $2
             FOR UPDATE OF d SKIP LOCKED
         ), claimed AS (
             UPDATE webhook_deliveries d SET next_attempt_ms = $3 FROM due WHERE d.id = due.id
             RETURNING d.id, d.webhook, d.seq, d.attempts, d.round_attempts
         )
         SELECT claimed.id AS delivery, claimed.webhook, claimed.attempts, claimed.round_attempts, w.url, w.secret,
                c.seq, c.at, c.actor, c.entity, c.entity_id, c.partner, c.operation, c.before, c.after
         FROM claimed JOIN webhooks w ON w.id = claimed.webhook JOIN change_log c ON c.seq = claimed.seq
         ORDER BY claimed.id",
    )
    .bind(unix_millis(at))
    .bind(i64::from(limit.clamp(1, 1_000)))
    .bind(unix_millis(at + lease))
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    rows.iter()
        .map(|row| {
            Ok(ClaimedDelivery {
                id: DeliveryId(row.try_get::<Uuid, _>("delivery").map_err(backend)?),
                webhook: WebhookId(row.try_get::<Uuid, _>("webhook").map_err(backend)?),
                url: row.try_get("url").map_err(backend)?,
                secret: row.try_get("secret").map_err(backend)?,
                attempts: count(row, "attempts")?,
                round_attempts: count(row, "round_attempts")?,
                entry: entry(row)?,
            })
        })
        .collect()
}

pub(crate) async fn record_attempt(pool: &PgPool, attempt: AttemptRecord) -> Result<bool, StoreError> {
    let (state, next, delivered_at) = match attempt.outcome {
        AttemptOutcome::Delivered => (DeliveryState::Delivered, unix_millis(attempt.at), Some(attempt.at)),
        AttemptOutcome::RetryAt(at) => (DeliveryState::Pending, unix_millis(at), None),
        AttemptOutcome::Failed => (DeliveryState::Failed, unix_millis(attempt.at), None),
    };
    let mut tx = pool.begin().await.map_err(db_error)?;
    let updated = sqlx::query(
        "UPDATE webhook_deliveries
         SET attempts = $2, round_attempts = round_attempts + 1, state = $3, next_attempt_ms = $4,
             delivered_at = coalesce($5, delivered_at)
         WHERE id = $1 AND attempts = $2 - 1 AND state = 'pending'",
    )
    .bind(attempt.delivery.0)
    .bind(i64::from(attempt.number))
    .bind(state.as_str())
    .bind(next)
    .bind(delivered_at)
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    if updated.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO webhook_attempts (delivery, number, at, status, error, duration_ms)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(attempt.delivery.0)
    .bind(i64::from(attempt.number))
    .bind(attempt.at)
    .bind(attempt.status.map(i64::from))
    .bind(attempt.error)
    .bind(i64::try_from(attempt.duration_ms).unwrap_or(i64::MAX))
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    tx.commit().await.map_err(db_error)?;
    Ok(true)
}

pub(crate) async fn list_deliveries(
    pool: &PgPool,
    scope: &AccountScope,
    webhook: WebhookId,
    page: &PageRequest,
) -> Result<Option<Page<Delivery>>, StoreError> {
    let mut conn = pool.acquire().await.map_err(db_error)?;
    if let Err(error) = load(&mut conn, scope, webhook, false).await {
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
    let sql = concat!(
        delivery_select!(),
        " WHERE d.webhook = $1 AND ($2::uuid IS NULL OR d.id < $2) ORDER BY d.id DESC LIMIT $3"
    );
    let rows = sqlx::query(sql)
        .bind(webhook.0)
        .bind(after.map(|a| a.0))
        .bind(i64::from(limit) + 1)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_error)?;
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
    pool: &PgPool,
    actor: &Principal,
    webhook: WebhookId,
    delivery: DeliveryId,
    at: OffsetDateTime,
) -> Result<Delivery, StoreError> {
    let scope = webhook_scope(actor)?;
    let mut tx = pool.begin().await.map_err(db_error)?;
    load(&mut tx, &scope, webhook, false).await?;
    let updated = sqlx::query(
        "UPDATE webhook_deliveries SET state = 'pending', round_attempts = 0, next_attempt_ms = $3
         WHERE id = $1 AND webhook = $2",
    )
    .bind(delivery.0)
    .bind(webhook.0)
    .bind(unix_millis(at))
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("delivery {delivery}")));
    }
    let row = sqlx::query(concat!(delivery_select!(), " WHERE d.id = $1"))
        .bind(delivery.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
    let delivery = delivery_from_row(&row)?;
    tx.commit().await.map_err(db_error)?;
    Ok(delivery)
}

#[async_trait::async_trait]
impl eprime_store::WebhookStore for PostgresStore {
    async fn create_webhook(&self, actor: &Principal, new: NewWebhook) -> Result<Webhook, StoreError> {
        create(&self.writes, actor, new).await
    }

    async fn list_webhooks(&self, scope: &AccountScope) -> Result<Vec<Webhook>, StoreError> {
        list(&self.reads, scope).await
    }

    async fn webhook(&self, scope: &AccountScope, id: WebhookId) -> Result<Option<Webhook>, StoreError> {
        get(&self.reads, scope, id).await
    }

    async fn update_webhook(
        &self,
        actor: &Principal,
        id: WebhookId,
        expected_version: Option<i64>,
        changes: WebhookChanges,
    ) -> Result<Webhook, StoreError> {
        update(&self.writes, actor, id, expected_version, changes).await
    }

    async fn delete_webhook(&self, actor: &Principal, id: WebhookId) -> Result<(), StoreError> {
        delete(&self.writes, actor, id).await
    }

    async fn enqueue_deliveries(&self, limit: u32) -> Result<EnqueueOutcome, StoreError> {
        enqueue(&self.writes, limit).await
    }

    async fn claim_due_deliveries(
        &self,
        now: OffsetDateTime,
        lease: std::time::Duration,
        limit: u32,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        claim(&self.writes, now, lease, limit).await
    }

    async fn record_attempt(&self, attempt: AttemptRecord) -> Result<bool, StoreError> {
        record_attempt(&self.writes, attempt).await
    }

    async fn list_deliveries(
        &self,
        scope: &AccountScope,
        webhook: WebhookId,
        page: &PageRequest,
    ) -> Result<Option<Page<Delivery>>, StoreError> {
        list_deliveries(&self.reads, scope, webhook, page).await
    }

    async fn redeliver(
        &self,
        actor: &Principal,
        webhook: WebhookId,
        delivery: DeliveryId,
        now: OffsetDateTime,
    ) -> Result<Delivery, StoreError> {
        redeliver(&self.writes, actor, webhook, delivery, now).await
    }
}
