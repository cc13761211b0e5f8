//! Reading the change log as an audit trail: who did what and when, newest first.

use eprime_domain::{AuditScope, FieldError};
use eprime_store::{AuditFilter, AuditValue, ChangeEntry, Page, PageRequest, StoreError, audit_where};
use sqlx::AssertSqlSafe;
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
    let conditions = filter.conditions(scope, after);
    let limit = page.limit.clamp(1, PageRequest::MAX_LIMIT);
    // Written for the filters present (`AuditFilter::conditions`): a catch-all statement's generic
    // plan walks the whole log backwards.
    let sql = format!(
        "SELECT seq, at, actor, entity, entity_id, partner, operation, before, after FROM change_log WHERE {} \
         ORDER BY seq DESC LIMIT ${}",
        audit_where(&conditions, |n| format!("${n}")),
        conditions.len() + 1
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for (_, value) in conditions {
        query = match value {
            AuditValue::Text(text) => query.bind(text),
            AuditValue::Instant(at) => query.bind(at),
            AuditValue::Seq(seq) => query.bind(seq),
        };
    }
    let rows = query.bind(i64::from(limit) + 1).fetch_all(pool).await.map_err(db_error)?;
    let has_more = rows.len() > limit as usize;
    let items = rows.iter().take(limit as usize).map(entry).collect::<Result<Vec<_>, _>>()?;
    let next_cursor = if has_more { items.last().map(|e| e.seq.to_string()) } else { None };
    Ok(Page { items, next_cursor })
}
