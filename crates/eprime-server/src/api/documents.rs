//! Partnership documents, their structure and approvals, and programme elements (goals…).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use eprime_domain::dates::parse_date;
use eprime_domain::{Approval, Approver, Document, DocumentId, DocumentKind, ElementId};
use eprime_store::{ActivityFilter, DocumentFilter, EntityType};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::partnerships::partner_code;
use super::views::{DocumentSummary, DocumentView, ElementDetailView, HistoryEntry};
use crate::AppState;
use crate::auth::{CurrentCaller, SignedIn};
use crate::extract::{ApiJson, ApiQuery, if_match_version};
use crate::problem::{ApiError, ApiResult, Problem};

pub(crate) fn document_id(raw: &str) -> ApiResult<DocumentId> {
    raw.parse().map_err(|_| ApiError::bad_request(format!("`{raw}` is not a document id")))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DocumentQuery {
    /// Partner code, e.g. JPN.
    pub partnership: Option<String>,
    /// JPD, IPCP, ITPP, IPAP, ANP or OTHER.
    pub kind: Option<String>,
}

/// The documents the caller may see, by partnership and date.
#[utoipa::path(get, path = "/api/v1/documents", tag = "documents", security((), ("bearer" = [])), params(DocumentQuery),
    responses(
        (status = 200, description = "Visible documents", body = Vec<Document>),
        (status = 400, description = "Bad filter", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    CurrentCaller(caller): CurrentCaller,
    ApiQuery(query): ApiQuery<DocumentQuery>,
) -> ApiResult<Json<Vec<Document>>> {
    let filter = DocumentFilter {
        partnership: query.partnership.as_deref().map(partner_code).transpose()?,
        kind: query
            .kind
            .as_deref()
            .map(DocumentKind::parse)
            .transpose()
            .map_err(|e| ApiError::bad_request(e.message))?,
    };
    Ok(Json(state.store.list_documents(&caller.read_scope(), &filter).await?))
}

/// One document with its programme: strategic objectives, priority issues with their goals,
/// every goal flat, and priority areas.
#[utoipa::path(get, path = "/api/v1/documents/{id}", tag = "documents", security((), ("bearer" = [])),
    params(("id" = String, Path, description = "Document id")),
    responses(
        (status = 200, description = "The document", body = DocumentView),
        (status = 404, description = "No such document, or not visible", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    State(state): State<AppState>,
    CurrentCaller(caller): CurrentCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<DocumentView>> {
    let id = document_id(&id)?;
    let detail = state
        .store
        .document(&caller.read_scope(), id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("document {id}")))?;
    Ok(Json(detail.into()))
}

/// The change history of a document.
#[utoipa::path(get, path = "/api/v1/documents/{id}/history", tag = "documents", security((), ("bearer" = [])),
    params(("id" = String, Path, description = "Document id")),
    responses(
        (status = 200, description = "Changes, oldest first", body = Vec<HistoryEntry>),
        (status = 404, description = "No such document, or not visible", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn history(
    State(state): State<AppState>,
    CurrentCaller(caller): CurrentCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<HistoryEntry>>> {
    let id = document_id(&id)?;
    let entries = state
        .store
        .history(&caller.read_scope(), EntityType::Document, &id.to_string())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("document {id}")))?;
    Ok(Json(entries.into_iter().map(HistoryEntry::from).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalRequest {
    /// `nac` (the North Atlantic Council) or `partner`.
    pub by: String,
    /// `YYYY-MM-DD`.
    pub on: String,
}

/// Records the NAC's or the partner's approval of an agreed programme. With both, the programme
/// enters into force on the later date.
#[utoipa::path(post, path = "/api/v1/documents/{id}/approvals", tag = "documents", security(("bearer" = [])),
    params(("id" = String, Path, description = "Document id")),
    request_body = ApprovalRequest,
    responses(
        (status = 200, description = "The document after the approval", body = Document),
        (status = 403, description = "Not NATO staff", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such document", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not an agreed programme, or already approved by that side", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match names an old version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid approval", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn approve(
    State(state): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<ApprovalRequest>,
) -> ApiResult<Json<Document>> {
    let id = document_id(&id)?;
    let expected = if_match_version(&headers)?;
    let mut errors = eprime_domain::ValidationErrors::default();
    let by = errors.check(Approver::parse(&request.by));
    let on = errors.check(parse_date("on", &request.on));
    errors.into_result()?;
    let (Some(by), Some(on)) = (by, on) else {
        return Err(ApiError::bad_request("invalid approval"));
    };
    Ok(Json(state.store.approve_document(&actor, id, expected, Approval { by, on: Some(on) }).await?))
}

/// One programme element — a partnership goal, priority area, priority issue or strategic
/// objective — with its document and the number of activities supporting it.
#[utoipa::path(get, path = "/api/v1/goals/{id}", tag = "documents", security((), ("bearer" = [])),
    params(("id" = String, Path, description = "Element id")),
    responses(
        (status = 200, description = "The element", body = ElementDetailView),
        (status = 404, description = "No such element, or not visible", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn element(
    State(state): State<AppState>,
    CurrentCaller(caller): CurrentCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<ElementDetailView>> {
    let id: ElementId = id.parse().map_err(|_| ApiError::bad_request(format!("`{id}` is not a goal id")))?;
    let scope = caller.read_scope();
    let element = state.store.element(&scope, id).await?.ok_or_else(|| ApiError::not_found(format!("goal {id}")))?;
    let document = state
        .store
        .document(&scope, element.document)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("goal {id}")))?
        .document;
    let filter = ActivityFilter { element: Some(id), ..Default::default() };
    let activity_count = state.store.count_activities(&scope, &filter).await?;
    Ok(Json(ElementDetailView {
        kind: element.kind,
        partnership: document.partnership.clone(),
        document: DocumentSummary::from(&document),
        element: (&element).into(),
        activity_count,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    /// The document's text (as extracted from a PDF or a web page).
    pub text: String,
    /// The partner (ISO alpha-3) when the text does not name one; wins over the text when given.
    pub partner: Option<String>,
    /// Only read the text and answer what was recognised; store nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// `draft`, `agreed`, `in_force` or `superseded`; by default `agreed` when signed, else `draft`.
    pub status: Option<String>,
    /// `open` or `restricted`; by default what the text says (Open Edition), else `restricted`.
    pub edition: Option<String>,
    /// `PUBLIC` or `NATO UNCLASSIFIED`; by default public for an Open Edition, else released to the partner.
    pub marking: Option<String>,
    pub releasable_to: Option<Vec<String>>,
    /// The document this one replaces, if it cannot be found by partnership, kind and title.
    pub supersedes: Option<String>,
    /// Where the text came from (file name, URL), kept with the document.
    pub source: Option<String>,
}

/// What an import recognised and did.
#[derive(serde::Serialize, ToSchema)]
pub struct ImportResponse {
    /// `created`, `unchanged` (the same text was imported before) or `dry_run`.
    pub outcome: &'static str,
    /// The stored document (absent for a dry run).
    pub document: Option<DocumentView>,
    /// The document the new one superseded, if any.
    pub superseded: Option<DocumentId>,
    /// True when the partnership the text names was not recorded yet and was created.
    pub new_partnership: bool,
    /// Everything the importer recognised, each item with its source line, and its warnings.
    #[schema(value_type = Object)]
    pub imported: eprime_import::ImportedDocument,
}

/// Reads a partnership document's text into a structured programme and stores it (NATO staff).
/// Importing the same text again changes nothing; a new text of a document already held
/// supersedes it.
#[utoipa::path(post, path = "/api/v1/documents/import", tag = "documents", security(("bearer" = [])),
    request_body = ImportRequest,
    responses(
        (status = 201, description = "Stored as a new document", body = ImportResponse),
        (status = 200, description = "A dry run, or the same text was already imported", body = ImportResponse),
        (status = 403, description = "Not NATO staff", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a partnership document, or invalid settings", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn import(
    State(state): State<AppState>,
    SignedIn(actor): SignedIn,
    ApiJson(request): ApiJson<ImportRequest>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    eprime_domain::access::may_edit_programme(&actor).map_err(eprime_store::StoreError::from)?;
    let partner = request.partner.as_deref().map(partner_code).transpose()?;
    let settings = crate::importing::settings_from(
        request.status.as_deref(),
        request.edition.as_deref(),
        request.marking.as_deref(),
        request.releasable_to.as_deref(),
        request.supersedes.as_deref(),
        request.source.clone().unwrap_or_else(|| "POST /api/v1/documents/import".to_owned()),
    )?;
    let options = eprime_import::ImportOptions { partner };
    let imported =
        eprime_import::import(&request.text, &options).map_err(|e| ApiError::field("text", e.to_string()))?;
    if request.dry_run {
        let body =
            ImportResponse { outcome: "dry_run", document: None, superseded: None, new_partnership: false, imported };
        return Ok(Json(body).into_response());
    }
    let outcome =
        crate::importing::store_import(state.store.as_ref(), &actor, &request.text, &imported, settings).await?;
    Ok(match outcome {
        crate::importing::ImportOutcome::Created { detail, superseded, new_partnership } => {
            let document = Some(detail.into());
            let body = ImportResponse { outcome: "created", document, superseded, new_partnership, imported };
            (axum::http::StatusCode::CREATED, Json(body)).into_response()
        }
        crate::importing::ImportOutcome::Unchanged { document } => {
            let detail = state.store.document(&eprime_domain::Caller::User(actor).read_scope(), document.id).await?;
            let document = detail.map(Into::into);
            let body =
                ImportResponse { outcome: "unchanged", document, superseded: None, new_partnership: false, imported };
            Json(body).into_response()
        }
    })
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CompareQuery {
    /// The earlier programme (document id).
    pub from: String,
    /// The later programme (document id).
    pub to: String,
}

/// Lines up two programmes' themes — goals, else priority areas, else objectives — by the
/// meaning of their words: what was carried over (with the terms they share), what is new,
/// what was dropped.
#[utoipa::path(get, path = "/api/v1/documents/compare", tag = "documents", security((), ("bearer" = [])), params(CompareQuery),
    responses(
        (status = 200, description = "The comparison", body = Object),
        (status = 400, description = "Bad ids", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "A document does not exist or is not visible", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn compare(
    State(state): State<AppState>,
    CurrentCaller(caller): CurrentCaller,
    ApiQuery(query): ApiQuery<CompareQuery>,
) -> ApiResult<Json<eprime_import::Comparison>> {
    let scope = caller.read_scope();
    let (from, to) = (document_id(&query.from)?, document_id(&query.to)?);
    let from =
        state.store.document(&scope, from).await?.ok_or_else(|| ApiError::not_found(format!("document {from}")))?;
    let to = state.store.document(&scope, to).await?.ok_or_else(|| ApiError::not_found(format!("document {to}")))?;
    let themes = |d: &eprime_store::DocumentDetail| eprime_import::record::stored_themes(&d.elements);
    Ok(Json(eprime_import::compare(&themes(&from), &themes(&to))))
}
