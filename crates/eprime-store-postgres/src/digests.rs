//! Subscriptions to the daily e-mail digest.

use eprime_domain::UserId;
use eprime_store::{DigestSubscription, StoreError};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::codec::{backend, db_error, now};

pub(crate) async fn set(pool: &PgPool, user_id: UserId, email: Option<String>) -> Result<(), StoreError> {
    let query = match email {
        Some(email) => sqlx::query(
            "INSERT INTO digest_subscriptions (user_id, email, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (user_id) DO UPDATE SET email = excluded.email",
        )
        .bind(user_id.0)
        .bind(email)
        .bind(now()),
        None => sqlx::query("DELETE FROM digest_subscriptions WHERE user_id = $1").bind(user_id.0),
    };
    query.execute(pool).await.map_err(db_error)?;
    Ok(())
}

pub(crate) async fn get(pool: &PgPool, user_id: UserId) -> Result<Option<DigestSubscription>, StoreError> {
    let row = sqlx::query(
        "SELECT d.user_id, u.username, d.email, d.last_sent_at FROM digest_subscriptions d
         JOIN users u ON u.id = d.user_id WHERE d.user_id = $1",
    )
    .bind(user_id.0)
    .fetch_optional(pool)
    .await
    .map_err(db_error)?;
    row.as_ref().map(from_row).transpose()
}

pub(crate) async fn due(pool: &PgPool, before: OffsetDateTime) -> Result<Vec<DigestSubscription>, StoreError> {
    let rows = sqlx::query(
        "SELECT d.user_id, u.username, d.email, d.last_sent_at FROM digest_subscriptions d
         JOIN users u ON u.id = d.user_id
         WHERE NOT u.disabled AND (d.last_sent_at IS NULL OR d.last_sent_at < $1) ORDER BY u.username",
    )
    .bind(before)
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    rows.iter().map(from_row).collect()
}

pub(crate) async fn mark_sent(pool: &PgPool, user_id: UserId, at: OffsetDateTime) -> Result<(), StoreError> {
    sqlx::query("UPDATE digest_subscriptions SET last_sent_at = $2 WHERE user_id = $1")
        .bind(user_id.0)
        .bind(at)
        .execute(pool)
        .await
        .map_err(db_error)?;
    Ok(())
}

fn from_row(row: &PgRow) -> Result<DigestSubscription, StoreError> {
    Ok(DigestSubscription {
        user_id: UserId(row.try_get::<Uuid, _>("user_id").map_err(backend)?),
        username: row.try_get("username").map_err(backend)?,
        email: row.try_get("email").map_err(backend)?,
        last_sent_at: row.try_get("last_sent_at").map_err(backend)?,
    })
}
