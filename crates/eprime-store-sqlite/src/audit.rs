//! Reading the change log as an audit trail: who did what and when, newest first.

use eprime_domain::{AuditScope, FieldError};
use eprime_store::{AuditCondition, AuditFilter, AuditValue, ChangeEntry, Page, PageRequest, StoreError, audit_where};
use sqlx::query::Query;
use sqlx::sqlite::SqliteArguments;
use sqlx::{AssertSqlSafe, Sqlite};

use crate::SqliteStore;
use crate::changelog::entry;
use crate::codec::{db_error, instant_text};

pub(crate) async fn audit(
    store: &SqliteStore,
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
    let sql = statement(&conditions);
    let rows = bound(sql, conditions).bind(i64::from(limit) + 1).fetch_all(&store.reader).await.map_err(db_error)?;
    let has_more = rows.len() > limit as usize;
    let items = rows.iter().take(limit as usize).map(entry).collect::<Result<Vec<_>, _>>()?;
    let next_cursor = if has_more { items.last().map(|e| e.seq.to_string()) } else { None };
    Ok(Page { items, next_cursor })
}

/// The read of `conditions` (`AuditFilter::conditions`), newest first, its limit the last value. Each
/// combination of filters is its own statement, planned with the index that serves it.
fn statement(conditions: &[AuditCondition]) -> String {
    format!(
        "SELECT seq, at, actor, entity, entity_id, partner, operation, before, after FROM change_log WHERE {} \
         ORDER BY seq DESC LIMIT ?{}",
        audit_where(conditions, |n| format!("?{n}")),
        conditions.len() + 1
    )
}

/// `sql` with the values of `conditions` bound, in order.
fn bound(sql: String, conditions: Vec<AuditCondition>) -> Query<'static, Sqlite, SqliteArguments> {
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for (_, value) in conditions {
        query = match value {
            AuditValue::Text(text) => query.bind(text),
            AuditValue::Instant(at) => query.bind(instant_text(at)),
            AuditValue::Seq(seq) => query.bind(seq),
        };
    }
    query
}

#[cfg(test)]
mod tests {
    use super::*;
    use eprime_domain::PartnerCode;
    use eprime_store::EntityType;

    async fn plan(store: &SqliteStore, scope: &AuditScope, filter: &AuditFilter) -> String {
        let conditions = filter.conditions(scope, Some(1_000));
        let sql = format!("EXPLAIN QUERY PLAN {}", statement(&conditions));
        let rows = bound(sql, conditions).bind(51_i64).fetch_all(&store.reader).await.unwrap();
        crate::query_plan(&rows)
    }

    /// An audit page is read along the index of its filter, not by walking the whole log backwards
    /// until enough entries match: a rare actor's page, a record's entries and a partner
    /// administrator's view cost the same however long the log grows.
    #[tokio::test]
    async fn each_filter_is_read_along_its_index() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        let japan = AuditScope::Accounts(PartnerCode::parse("JPN").unwrap());
        let by_actor = AuditFilter { actor: Some("jpn.desk".into()), ..Default::default() };
        let by_record =
            AuditFilter { entity: Some(EntityType::Activity), entity_id: Some("x".into()), ..Default::default() };
        let by_kind = AuditFilter { entity: Some(EntityType::Webhook), ..Default::default() };
        for (scope, filter, index) in [
            (&AuditScope::All, &by_actor, "change_log_by_actor "),
            (&AuditScope::All, &by_record, "change_log_by_entity "),
            (&AuditScope::All, &by_kind, "change_log_by_entity_kind "),
            (&japan, &AuditFilter::default(), "change_log_by_partner "),
        ] {
            let plan = plan(&store, scope, filter).await;
            assert!(plan.contains(index), "{filter:?} in {scope:?} is planned as: {plan}");
            if filter.actor.is_some() || filter.entity.is_some() {
                assert!(!plan.contains("TEMP B-TREE"), "{filter:?} is read in the log's order: {plan}");
            }
        }
        let everything = plan(&store, &AuditScope::All, &AuditFilter::default()).await;
        assert!(!everything.contains("TEMP B-TREE"), "the whole log is read in its own order: {everything}");
    }
}
