//! Calendar feeds: a user's secret feed tokens (hashes only), listed and revoked by their owner.

use eprime_domain::{Principal, TokenId, UserId};
use eprime_store::{CalendarFeed, StoreError};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};

use crate::codec::{backend, db_error, now};

pub(crate) async fn create(
    pool: &PgPool,
    user_id: UserId,
    name: &str,
    token_hash: &str,
) -> Result<CalendarFeed, StoreError> {
    let feed = CalendarFeed { id: TokenId::new(), name: name.to_owned(), created_at: now(), revoked_at: None };
    sqlx::query("INSERT INTO calendar_feeds (id, user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(feed.id.0)
        .bind(user_id.0)
        .bind(feed.name.clone())
        .bind(token_hash.to_owned())
        .bind(feed.created_at)
        .execute(pool)
        .await
        .map_err(db_error)?;
    Ok(feed)
}

pub(crate) async fn list(pool: &PgPool, user_id: UserId) -> Result<Vec<CalendarFeed>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, name, created_at, revoked_at FROM calendar_feeds WHERE user_id = $1 ORDER BY created_at DESC",
    )
    .bind(user_id.0)
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    rows.iter().map(from_row).collect()
}

pub(crate) async fn revoke(pool: &PgPool, user_id: UserId, id: TokenId) -> Result<bool, StoreError> {
    let result =
        sqlx::query("UPDATE calendar_feeds SET revoked_at = $3 WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL")
            .bind(id.0)
            .bind(user_id.0)
            .bind(now())
            .execute(pool)
            .await
            .map_err(db_error)?;
    Ok(result.rows_affected() > 0)
}

pub(crate) async fn principal(pool: &PgPool, token_hash: &str) -> Result<Option<Principal>, StoreError> {
    let row = sqlx::query(
        "SELECT u.id, u.username, u.role, u.partner, u.organisation FROM calendar_feeds f JOIN users u ON u.id = f.user_id
         WHERE f.token_hash = $1 AND f.revoked_at IS NULL AND NOT u.disabled",
    )
    .bind(token_hash.to_owned())
    .fetch_optional(pool)
    .await
    .map_err(db_error)?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(Principal {
        user_id: UserId(row.try_get("id").map_err(backend)?),
        username: row.try_get("username").map_err(backend)?,
        binding: crate::accounts::binding(&row)?,
    }))
}

fn from_row(row: &PgRow) -> Result<CalendarFeed, StoreError> {
    Ok(CalendarFeed {
        id: TokenId(row.try_get("id").map_err(backend)?),
        name: row.try_get("name").map_err(backend)?,
        created_at: row.try_get("created_at").map_err(backend)?,
        revoked_at: row.try_get("revoked_at").map_err(backend)?,
    })
}
