//! The audit log: who did what and when, from the change log, plus sign-ins, failed sign-ins,
//! sign-outs and API tokens. Auditors and NATO administrators read all of it; a partner
//! administrator its own nation's account events; everyone else is refused.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use eprime_domain::access::audit_scope;
use eprime_domain::{FieldError, ValidationErrors};
use eprime_store::{AuditFilter, ChangeEntry, EntityType, LoggedRecord, PageRequest};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::SignedIn;
use crate::extract::ApiQuery;
use crate::problem::{ApiError, ApiResult, Problem};

/// Most entries one export holds; narrow the time range for more.
const EXPORT_LIMIT: usize = 100_000;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Username of whoever acted.
    pub actor: Option<String>,
    /// `activity`, `document`, `partnership`, `user`, `account`, `organisation`, `area`.
    pub entity: Option<String>,
    /// The record's id (for `user` and `account`: the username).
    pub entity_id: Option<String>,
    /// RFC 3339 instant: entries at or after it.
    pub from: Option<String>,
    /// RFC 3339 instant: entries before it.
    pub to: Option<String>,
    /// Page size, 1–200 (default 50). Ignored by exports.
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub after: Option<String>,
    /// `csv` or `json` to download every matching entry (up to 100,000) instead of a page.
    pub format: Option<String>,
}

/// One audit entry.
#[derive(Serialize, ToSchema)]
pub struct AuditEntry {
    pub seq: i64,
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub actor: Option<String>,
    pub entity: String,
    pub entity_id: String,
    pub partner: Option<String>,
    pub operation: String,
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
}

impl From<ChangeEntry> for AuditEntry {
    fn from(e: ChangeEntry) -> Self {
        Self {
            seq: e.seq,
            at: e.at,
            actor: e.actor,
            entity: e.entity.as_str().to_owned(),
            entity_id: e.entity_id,
            partner: e.partner,
            operation: e.operation.as_str().to_owned(),
            before: e.before.map(LoggedRecord::into_value),
            after: e.after.map(LoggedRecord::into_value),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    pub next_cursor: Option<String>,
}

fn instant(field: &str, raw: &str) -> Result<OffsetDateTime, FieldError> {
    OffsetDateTime::parse(raw, &Rfc3339)
        .map_err(|_| FieldError::new(field, format!("`{raw}` is not an RFC 3339 instant (2026-11-23T09:00:00Z)")))
}

fn filter(query: &AuditQuery) -> Result<AuditFilter, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let filter = AuditFilter {
        actor: query.actor.clone(),
        entity: query.entity.as_deref().and_then(|e| {
            errors.check(
                EntityType::parse(e).ok_or_else(|| FieldError::new("entity", format!("`{e}` is not an entity type"))),
            )
        }),
        entity_id: query.entity_id.clone(),
        from: query.from.as_deref().and_then(|f| errors.check(instant("from", f))),
        to: query.to.as_deref().and_then(|t| errors.check(instant("to", t))),
    };
    if let Some(limit) = query.limit.filter(|l| !(1..=PageRequest::MAX_LIMIT).contains(l)) {
        errors.push(FieldError::new("limit", format!("{limit} is outside 1–{}", PageRequest::MAX_LIMIT)));
    }
    if let Some(format) = query.format.as_deref().filter(|f| !matches!(*f, "csv" | "json")) {
        errors.push(FieldError::new("format", format!("`{format}` is not an export format (csv or json)")));
    }
    errors.into_result()?;
    Ok(filter)
}

/// Reads the audit log, newest first: a page, or (with `format`) an export of every match.
#[utoipa::path(get, path = "/api/v1/audit", tag = "session", security(("bearer" = [])), params(AuditQuery),
    responses(
        (status = 200, description = "A page of entries, or a CSV / JSON export", body = AuditPage),
        (status = 400, description = "Bad filter", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller may not read the audit log", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn audit(
    State(state): State<AppState>,
    SignedIn(actor): SignedIn,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<Response> {
    let scope = audit_scope(&actor).map_err(eprime_store::StoreError::from)?;
    let filter = filter(&query).map_err(ApiError::bad_query)?;
    let Some(format) = query.format.as_deref() else {
        let page = PageRequest { limit: query.limit.unwrap_or(PageRequest::DEFAULT_LIMIT), after: query.after };
        let page = state.store.audit(&scope, &filter, &page).await.map_err(|e| match e {
            eprime_store::StoreError::Invalid(errors) => ApiError::bad_query(errors),
            other => other.into(),
        })?;
        let items = page.items.into_iter().map(AuditEntry::from).collect();
        return Ok(Json(AuditPage { items, next_cursor: page.next_cursor }).into_response());
    };
    let mut entries = Vec::new();
    let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
    loop {
        let result = state.store.audit(&scope, &filter, &page).await?;
        entries.extend(result.items.into_iter().map(AuditEntry::from));
        match result.next_cursor {
            Some(cursor) if entries.len() < EXPORT_LIMIT => page.after = Some(cursor),
            _ => break,
        }
    }
    entries.truncate(EXPORT_LIMIT);
    let (content_type, body, extension) = if format == "csv" {
        ("text/csv; charset=utf-8", csv(&entries), "csv")
    } else {
        ("application/json", serde_json::to_string(&entries).unwrap_or_default(), "json")
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let disposition = format!("attachment; filename=\"eprime-audit.{extension}\"");
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// RFC 4180 CSV: every field quoted, quotes doubled. Cells a spreadsheet would run as a formula
/// (starting with = + - @) are prefixed with an apostrophe.
fn csv(entries: &[AuditEntry]) -> String {
    fn cell(value: &str) -> String {
        let guarded = if value.starts_with(['=', '+', '-', '@']) { format!("'{value}") } else { value.to_owned() };
        format!("\"{}\"", guarded.replace('"', "\"\""))
    }
    let json = |v: &Option<serde_json::Value>| v.as_ref().map(ToString::to_string).unwrap_or_default();
    let mut out = String::from("seq,at,actor,entity,entity_id,partner,operation,before,after\r\n");
    for e in entries {
        let at = e.at.format(&Rfc3339).unwrap_or_default();
        let row = [
            e.seq.to_string(),
            at,
            e.actor.clone().unwrap_or_default(),
            e.entity.clone(),
            e.entity_id.clone(),
            e.partner.clone().unwrap_or_default(),
            e.operation.clone(),
            json(&e.before),
            json(&e.after),
        ];
        out.push_str(&row.iter().map(|v| cell(v)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}
