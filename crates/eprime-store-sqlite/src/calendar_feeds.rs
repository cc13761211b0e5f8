//! Calendar feeds: a user's secret feed tokens (hashes only), listed and revoked by their owner.

use eprime_domain::{Principal, TokenId, UserId};
use eprime_store::{CalendarFeed, StoreError};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::SqliteStore;
use crate::codec::{backend, db_error, instant_text, now, parse_instant};

pub(crate) async fn create(
    store: &SqliteStore,
    user_id: UserId,
    name: &str,
    token_hash: &str,
) -> Result<CalendarFeed, StoreError> {
    let feed = CalendarFeed { id: TokenId::new(), name: name.to_owned(), created_at: now(), revoked_at: None };
    store
        .writer
        .execute(
            sqlx::query(
                "INSERT INTO calendar_feeds (id, user_id, name, token_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .bind(feed.id.to_string())
            .bind(user_id.to_string())
            .bind(feed.name.clone())
            .bind(token_hash.to_owned())
            .bind(instant_text(feed.created_at)),
        )
        .await?;
    Ok(feed)
}

pub(crate) async fn list(store: &SqliteStore, user_id: UserId) -> Result<Vec<CalendarFeed>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, name, created_at, revoked_at FROM calendar_feeds WHERE user_id = ?1 ORDER BY created_at DESC",
    )
    .bind(user_id.to_string())
    .fetch_all(&store.reader)
    .await
    .map_err(db_error)?;
    rows.iter().map(from_row).collect()
}

pub(crate) async fn revoke(store: &SqliteStore, user_id: UserId, id: TokenId) -> Result<bool, StoreError> {
    let result = store
        .writer
        .execute(
            sqlx::query(
                "UPDATE calendar_feeds SET revoked_at = ?3 WHERE id = ?1 AND user_id = ?2 AND revoked_at IS NULL",
            )
            .bind(id.to_string())
            .bind(user_id.to_string())
            .bind(instant_text(now())),
        )
        .await?;
    Ok(result.rows_affected() > 0)
}

pub(crate) async fn principal(store: &SqliteStore, token_hash: &str) -> Result<Option<Principal>, StoreError> {
    let row = sqlx::query(
        "SELECT u.id, u.username, u.role, u.partner, u.organisation FROM calendar_feeds f JOIN users u ON u.id = f.user_id
         WHERE f.token_hash = ?1 AND f.revoked_at IS NULL AND u.disabled = 0",
    )
    .bind(token_hash.to_owned())
    .fetch_optional(&store.reader)
    .await
    .map_err(db_error)?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(Principal {
        user_id: row.try_get::<String, _>("id").map_err(backend)?.parse().map_err(backend)?,
        username: row.try_get("username").map_err(backend)?,
        binding: crate::accounts::binding(&row)?,
    }))
}

fn from_row(row: &SqliteRow) -> Result<CalendarFeed, StoreError> {
    Ok(CalendarFeed {
        id: row.try_get::<String, _>("id").map_err(backend)?.parse().map_err(backend)?,
        name: row.try_get("name").map_err(backend)?,
        created_at: parse_instant(&row.try_get::<String, _>("created_at").map_err(backend)?)?,
        revoked_at: row
            .try_get::<Option<String>, _>("revoked_at")
            .map_err(backend)?
            .map(|r| parse_instant(&r))
            .transpose()?,
    })
}
