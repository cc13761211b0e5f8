//! Reading the change log as an audit trail: who did what and when, newest first.

use eprime_domain::{AuditScope, FieldError};
use eprime_store::{AuditFilter, ChangeEntry, Page, PageRequest, StoreError};
use sqlx::PgPool;

use crate::changelog::entry;
use crate::codec::db_error;

pub(crate) async fn audit(
    pool: &PgPool,
    scope: &AuditScope,
    filter: &AuditFilter,
    page: &PageRequest,
) -> Result<Page<ChangeEntry>, StoreError> {
    let after: Option<i64> = page
        .after
        .as_deref()
        .map(|c| c.parse().map_err(|_| FieldError::new("after", "is not a cursor this server gave out")))
        .transpose()?;
    // A partner administrator sees only the account entries (changes and security events) of
    // its own nation; auditors and NATO administrators see everything.
    let accounts_of = match scope {
        AuditScope::All => None,
        AuditScope::Accounts(partner) => Some(partner.as_str().to_owned()),
    };
    let limit = page.limit.clamp(1, PageRequest::MAX_LIMIT);
    let rows = sqlx::query(
        "SELECT seq, at, actor, entity, entity_id, partner, operation, before, after FROM change_log
         WHERE ($1::text IS NULL OR (partner = $1 AND entity IN ('user', 'account')))
           AND ($2::text IS NULL OR actor = $2)
           AND ($3::text IS NULL OR entity = $3)
           AND ($4::text IS NULL OR entity_id = $4)
           AND ($5::timestamptz IS NULL OR at >= $5)
           AND ($6::timestamptz IS NULL OR at < $6)
           AND ($7::bigint IS NULL OR seq < $7)
         ORDER BY seq DESC LIMIT $8",
    )
    .bind(accounts_of)
    .bind(filter.actor.clone())
    .bind(filter.entity.map(|e| e.as_str()))
    .bind(filter.entity_id.clone())
    .bind(filter.from)
    .bind(filter.to)
    .bind(after)
    .bind(i64::from(limit) + 1)
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    let has_more = rows.len() > limit as usize;
    let items = rows.iter().take(limit as usize).map(entry).collect::<Result<Vec<_>, _>>()?;
    let next_cursor = if has_more { items.last().map(|e| e.seq.to_string()) } else { None };
    Ok(Page { items, next_cursor })
}
