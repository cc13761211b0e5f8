//! User accounts and sign-in sessions. Only hashes are stored: argon2id for passwords,
//! SHA-256 for session tokens.

use eprime_domain::{OrgCode, PartnerCode, Principal, Role, RoleBinding, TokenId, UserId};
use eprime_store::{
    AccountLog, NewChangeEntry, NewUser, Operation, SecurityEvent, SessionRecord, StoreError, StoredUser, TokenInfo,
    TokenKind, UserFilter,
};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::SqliteStore;
use crate::changelog::append;
use crate::codec::{backend, db_error, instant_text, now, parse_instant};

macro_rules! user_select {
    () => {
        "SELECT id, username, display_name, role, partner, organisation, disabled, password_hash, created_at FROM users"
    };
}
pub(crate) use user_select;

pub(crate) async fn create(
    store: &SqliteStore,
    actor: Option<&Principal>,
    new: NewUser,
) -> Result<StoredUser, StoreError> {
    let user = StoredUser {
        id: UserId::new(),
        username: new.username,
        display_name: new.display_name,
        binding: new.binding,
        disabled: false,
        password_hash: new.password_hash,
        created_at: now(),
    };
    let mut tx = store.writer.begin().await?;
    sqlx::query(
        "INSERT INTO users (id, username, display_name, role, partner, organisation, disabled, password_hash, version,
             created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, 1, ?8, ?8)",
    )
    .bind(user.id.to_string())
    .bind(user.username.clone())
    .bind(user.display_name.clone())
    .bind(user.binding.role.as_str())
    .bind(user.binding.partner.as_ref().map(|p| p.as_str().to_owned()))
    .bind(user.binding.organisation.as_ref().map(|o| o.as_str().to_owned()))
    .bind(user.password_hash.clone())
    .bind(instant_text(user.created_at))
    .execute(&mut *tx)
    .await
    .map_err(|e| match db_error(e) {
        StoreError::Conflict(_) => StoreError::Conflict(format!("the username `{}` is taken", user.username)),
        other => other,
    })?;
    let view = AccountLog::from(&user);
    append(&mut tx, NewChangeEntry::about(&user, actor.map(|a| a.username.as_str()), Operation::Create).after(&view))
        .await?;
    tx.commit().await?;
    Ok(user)
}

pub(crate) async fn by_username(store: &SqliteStore, username: &str) -> Result<Option<StoredUser>, StoreError> {
    let sql = concat!(user_select!(), " WHERE username = ?1");
    let row = sqlx::query(sql).bind(username.to_owned()).fetch_optional(&store.reader).await.map_err(db_error)?;
    row.as_ref().map(from_row).transpose()
}

/// A nation's accounts, read through `users_by_partner`; `(?1 IS NULL OR partner = ?1)` was planned as a
/// pass over every account, whichever nation was asked for.
const OF_PARTNER: &str = concat!(user_select!(), " WHERE partner = ?1 ORDER BY username");

pub(crate) async fn list(store: &SqliteStore, filter: &UserFilter) -> Result<Vec<StoredUser>, StoreError> {
    let query = match &filter.partner {
        Some(partner) => sqlx::query(OF_PARTNER).bind(partner.as_str().to_owned()),
        None => sqlx::query(concat!(user_select!(), " ORDER BY username")),
    };
    let rows = query.fetch_all(&store.reader).await.map_err(db_error)?;
    rows.iter().map(from_row).collect()
}

pub(crate) async fn set_disabled(
    store: &SqliteStore,
    actor: Option<&Principal>,
    username: &str,
    disabled: bool,
) -> Result<StoredUser, StoreError> {
    let operation = if disabled { Operation::Disable } else { Operation::Enable };
    change(store, actor, username, operation, |user| user.disabled = disabled).await
}

pub(crate) async fn set_password(
    store: &SqliteStore,
    actor: Option<&Principal>,
    username: &str,
    password_hash: String,
) -> Result<StoredUser, StoreError> {
    change(store, actor, username, Operation::SetPassword, |user| user.password_hash = password_hash).await
}

/// Changes one account in a transaction; a disabled account or a new password also ends its sessions.
async fn change(
    store: &SqliteStore,
    actor: Option<&Principal>,
    username: &str,
    operation: Operation,
    apply: impl FnOnce(&mut StoredUser),
) -> Result<StoredUser, StoreError> {
    let mut tx = store.writer.begin().await?;
    let sql = concat!(user_select!(), " WHERE username = ?1");
    let row = sqlx::query(sql).bind(username.to_owned()).fetch_optional(&mut *tx).await.map_err(db_error)?;
    let before =
        row.as_ref().map(from_row).transpose()?.ok_or_else(|| StoreError::NotFound(format!("user {username}")))?;
    let mut after = before.clone();
    apply(&mut after);
    let at = instant_text(now());
    sqlx::query(
        "UPDATE users SET disabled = ?2, password_hash = ?3, version = version + 1, updated_at = ?4 WHERE id = ?1",
    )
    .bind(after.id.to_string())
    .bind(after.disabled)
    .bind(after.password_hash.clone())
    .bind(at.clone())
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    if after.disabled || after.password_hash != before.password_hash {
        sqlx::query("UPDATE sessions SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL")
            .bind(after.id.to_string())
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
    }
    let (b, a) = (AccountLog::from(&before), AccountLog::from(&after));
    append(
        &mut tx,
        NewChangeEntry::about(&after, actor.map(|a| a.username.as_str()), operation).before(Some(&b)).after(&a),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

pub(crate) async fn create_session(store: &SqliteStore, session: SessionRecord) -> Result<(), StoreError> {
    store
        .writer
        .execute(
            sqlx::query(
                "INSERT INTO sessions (id, kind, token_hash, user_id, name, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .bind(session.id.to_string())
            .bind(session.kind.as_str())
            .bind(session.token_hash)
            .bind(session.user_id.to_string())
            .bind(session.name)
            .bind(instant_text(session.created_at))
            .bind(instant_text(session.expires_at)),
        )
        .await?;
    Ok(())
}

pub(crate) async fn session_principal(store: &SqliteStore, token_hash: &str) -> Result<Option<Principal>, StoreError> {
    // RFC 3339 text in UTC compares in time order, so the expiry check stays in SQL.
    let row = sqlx::query(
        "SELECT u.id, u.username, u.role, u.partner, u.organisation FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = ?1 AND s.revoked_at IS NULL AND s.expires_at > ?2 AND u.disabled = 0",
    )
    .bind(token_hash.to_owned())
    .bind(instant_text(now()))
    .fetch_optional(&store.reader)
    .await
    .map_err(db_error)?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(Principal {
        user_id: row.try_get::<String, _>("id").map_err(backend)?.parse().map_err(backend)?,
        username: row.try_get("username").map_err(backend)?,
        binding: binding(&row)?,
    }))
}

pub(crate) async fn revoke_session(store: &SqliteStore, token_hash: &str) -> Result<bool, StoreError> {
    let result = store
        .writer
        .execute(
            sqlx::query("UPDATE sessions SET revoked_at = ?2 WHERE token_hash = ?1 AND revoked_at IS NULL")
                .bind(token_hash.to_owned())
                .bind(instant_text(now())),
        )
        .await?;
    Ok(result.rows_affected() > 0)
}

pub(crate) fn binding(row: &SqliteRow) -> Result<RoleBinding, StoreError> {
    let role = Role::parse(&row.try_get::<String, _>("role").map_err(backend)?).map_err(backend)?;
    let partner = row.try_get::<Option<String>, _>("partner").map_err(backend)?;
    let organisation = row.try_get::<Option<String>, _>("organisation").map_err(backend)?;
    RoleBinding::new(
        role,
        partner.map(|p| PartnerCode::parse(&p)).transpose().map_err(backend)?,
        organisation.map(|o| OrgCode::parse(&o)).transpose().map_err(backend)?,
    )
    .map_err(backend)
}

pub(crate) fn from_row(row: &SqliteRow) -> Result<StoredUser, StoreError> {
    Ok(StoredUser {
        id: row.try_get::<String, _>("id").map_err(backend)?.parse().map_err(backend)?,
        username: row.try_get("username").map_err(backend)?,
        display_name: row.try_get("display_name").map_err(backend)?,
        binding: binding(row)?,
        disabled: row.try_get("disabled").map_err(backend)?,
        password_hash: row.try_get("password_hash").map_err(backend)?,
        created_at: parse_instant(&row.try_get::<String, _>("created_at").map_err(backend)?)?,
    })
}

pub(crate) async fn list_tokens(store: &SqliteStore, user_id: UserId) -> Result<Vec<TokenInfo>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, kind, name, created_at, expires_at, revoked_at FROM sessions
         WHERE user_id = ?1 AND id IS NOT NULL ORDER BY created_at DESC",
    )
    .bind(user_id.to_string())
    .fetch_all(&store.reader)
    .await
    .map_err(db_error)?;
    rows.iter()
        .map(|row| {
            let text = |name: &str| row.try_get::<String, _>(name).map_err(backend);
            Ok(TokenInfo {
                id: text("id")?.parse().map_err(backend)?,
                kind: if text("kind")? == "api" { TokenKind::Api } else { TokenKind::Session },
                name: text("name")?,
                created_at: parse_instant(&text("created_at")?)?,
                expires_at: parse_instant(&text("expires_at")?)?,
                revoked_at: row
                    .try_get::<Option<String>, _>("revoked_at")
                    .map_err(backend)?
                    .map(|r| parse_instant(&r))
                    .transpose()?,
            })
        })
        .collect()
}

pub(crate) async fn revoke_token(store: &SqliteStore, user_id: UserId, id: TokenId) -> Result<bool, StoreError> {
    let result = store
        .writer
        .execute(
            sqlx::query("UPDATE sessions SET revoked_at = ?3 WHERE id = ?1 AND user_id = ?2 AND revoked_at IS NULL")
                .bind(id.to_string())
                .bind(user_id.to_string())
                .bind(instant_text(now())),
        )
        .await?;
    Ok(result.rows_affected() > 0)
}

pub(crate) async fn record_security_event(store: &SqliteStore, event: SecurityEvent) -> Result<(), StoreError> {
    let entry = NewChangeEntry::about(&event, event.actor.as_deref(), event.operation).after(&event.details);
    store.writer.autocommit(async |connection| append(connection, entry).await).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_nations_accounts_are_read_through_its_index() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        let sql = format!("EXPLAIN QUERY PLAN {OF_PARTNER}");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind("JPN").fetch_all(&store.reader).await.unwrap();
        let plan = crate::query_plan(&rows);
        assert!(plan.contains("users_by_partner (partner=?)"), "planned as: {plan}");
    }
}
