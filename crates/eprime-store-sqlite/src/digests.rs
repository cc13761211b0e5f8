//! Subscriptions to the daily e-mail digest.

use eprime_domain::UserId;
use eprime_store::{DigestSubscription, StoreError};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use time::OffsetDateTime;

use crate::SqliteStore;
use crate::codec::{backend, db_error, instant_text, now, parse_instant};

pub(crate) async fn set(store: &SqliteStore, user_id: UserId, email: Option<String>) -> Result<(), StoreError> {
    let query = match email {
        Some(email) => sqlx::query(
            "INSERT INTO digest_subscriptions (user_id, email, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (user_id) DO UPDATE SET email = excluded.email",
        )
        .bind(user_id.to_string())
        .bind(email)
        .bind(instant_text(now())),
        None => sqlx::query("DELETE FROM digest_subscriptions WHERE user_id = ?1").bind(user_id.to_string()),
    };
    store.writer.execute(query).await?;
    Ok(())
}

pub(crate) async fn get(store: &SqliteStore, user_id: UserId) -> Result<Option<DigestSubscription>, StoreError> {
    let sql = "SELECT d.user_id, u.username, d.email, d.last_sent_at FROM digest_subscriptions d
         JOIN users u ON u.id = d.user_id WHERE d.user_id = ?1";
    let row = sqlx::query(sql).bind(user_id.to_string()).fetch_optional(&store.reader).await.map_err(db_error)?;
    row.as_ref().map(from_row).transpose()
}

pub(crate) async fn due(store: &SqliteStore, before: OffsetDateTime) -> Result<Vec<DigestSubscription>, StoreError> {
    let rows = sqlx::query(
        "SELECT d.user_id, u.username, d.email, d.last_sent_at FROM digest_subscriptions d
         JOIN users u ON u.id = d.user_id
         WHERE u.disabled = 0 AND (d.last_sent_at IS NULL OR d.last_sent_at < ?1) ORDER BY u.username",
    )
    .bind(instant_text(before))
    .fetch_all(&store.reader)
    .await
    .map_err(db_error)?;
    rows.iter().map(from_row).collect()
}

pub(crate) async fn mark_sent(store: &SqliteStore, user_id: UserId, at: OffsetDateTime) -> Result<(), StoreError> {
    store
        .writer
        .execute(
            sqlx::query("UPDATE digest_subscriptions SET last_sent_at = ?2 WHERE user_id = ?1")
                .bind(user_id.to_string())
                .bind(instant_text(at)),
        )
        .await?;
    Ok(())
}

fn from_row(row: &SqliteRow) -> Result<DigestSubscription, StoreError> {
    Ok(DigestSubscription {
        user_id: row.try_get::<String, _>("user_id").map_err(backend)?.parse().map_err(backend)?,
        username: row.try_get("username").map_err(backend)?,
        email: row.try_get("email").map_err(backend)?,
        last_sent_at: row
            .try_get::<Option<String>, _>("last_sent_at")
            .map_err(backend)?
            .map(|at| parse_instant(&at))
            .transpose()?,
    })
}
