//! Partnerships: the list, one partnership with its documents, and its history.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use eprime_domain::PartnerCode;
use eprime_store::{DocumentFilter, EntityType};

use super::json_bytes;
use super::views::{DocumentSummary, HistoryEntry, PartnershipView};
use crate::AppState;
use crate::auth::CurrentCaller;
use crate::fresh;
use crate::problem::{ApiError, ApiResult, Problem};

pub(crate) fn partner_code(raw: &str) -> ApiResult<PartnerCode> {
    PartnerCode::parse(raw).map_err(|e| ApiError::bad_request(e.message))
}

/// The partnerships the caller may see.
#[utoipa::path(get, path = "/api/v1/partnerships", tag = "partnerships", security((), ("bearer" = [])),
    responses((status = 200, description = "Visible partnerships", body = Vec<eprime_domain::Partnership>)))]
pub async fn list(
    State(state): State<AppState>,
    CurrentCaller(caller): CurrentCaller,
) -> ApiResult<Json<Vec<eprime_domain::Partnership>>> {
    Ok(Json(state.store.list_partnerships(&caller.read_scope()).await?))
}

/// One partnership, with its documents in time order and the number of its activities.
#[utoipa::path(get, path = "/api/v1/partnerships/{partner}", tag = "partnerships", security((), ("bearer" = [])),
    params(("partner" = String, Path, description = "ISO 3166 alpha-3 code, e.g. JPN")),
    responses(
        (status = 200, description = "The partnership", body = PartnershipView),
        (status = 404, description = "No such partnership, or not visible to the caller", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    State(state): State<AppState>,
    CurrentCaller(caller): CurrentCaller,
    Path(partner): Path<String>,
) -> ApiResult<Response> {
    let partner = partner_code(&partner)?;
    let scope = caller.read_scope();
    let key = (partner.clone(), scope.clone());
    let body = fresh::get_or_read(&state.kept.partnership, &state.clock, key, async {
        let partnership = state
            .store
            .partnership(&scope, &partner)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("partnership {partner}")))?;
        let filter = DocumentFilter { partnership: Some(partner.clone()), kind: None };
        let documents = state.store.list_documents(&scope, &filter).await?;
        let activity_count = state.tallies.tally(state.store.as_ref(), &scope, &partner).await?.total();
        let view = PartnershipView {
            partnership,
            documents: documents.iter().map(DocumentSummary::from).collect(),
            activity_count,
        };
        super::to_json_bytes(&view)
    })
    .await?;
    Ok(json_bytes(Bytes::clone(&body)))
}

/// The change history of a partnership record.
#[utoipa::path(get, path = "/api/v1/partnerships/{partner}/history", tag = "partnerships", security((), ("bearer" = [])),
    params(("partner" = String, Path, description = "ISO 3166 alpha-3 code")),
    responses(
        (status = 200, description = "Changes, oldest first", body = Vec<HistoryEntry>),
        (status = 404, description = "No such partnership, or not visible", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn history(
    State(state): State<AppState>,
    CurrentCaller(caller): CurrentCaller,
    Path(partner): Path<String>,
) -> ApiResult<Json<Vec<HistoryEntry>>> {
    let partner = partner_code(&partner)?;
    let entries = state
        .store
        .history(&caller.read_scope(), EntityType::Partnership, partner.as_str())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("partnership {partner}")))?;
    Ok(Json(entries.into_iter().map(HistoryEntry::from).collect()))
}
