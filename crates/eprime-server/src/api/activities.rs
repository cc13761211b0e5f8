//! Cooperation activities: list, create, read, update (with optimistic concurrency), move
//! through their lifecycle, and their history.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use eprime_domain::dates::parse_date;
use eprime_domain::{
    Activity, ActivityChanges, ActivityId, ActivityInput, ActivityKind, ActivityPatch, ActivityStatus, NewActivity,
    ValidationErrors,
};
use eprime_store::{ActivityFilter, EntityType, PageRequest};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::views::{ActivityPage, HistoryEntry};
use crate::AppState;
use crate::activity_views::KeptActivity;
use crate::auth::{CurrentCaller, SignedIn};
use crate::extract::{ApiJson, ApiQuery, etag, if_match_version};
use crate::fresh;
use crate::problem::{ApiError, ApiResult, Problem};

fn activity_id(raw: &str) -> ApiResult<ActivityId> {
    raw.parse().map_err(|_| ApiError::bad_request(format!("`{raw}` is not an activity id")))
}

/// An activity with its `ETag` (the version to send back in `If-Match`).
fn with_etag(status: StatusCode, activity: &Arc<KeptActivity>) -> Response {
    let mut response = super::json_bytes(activity.json_body());
    *response.status_mut() = status;
    let tag = HeaderValue::from_str(&etag(activity.record.version)).unwrap_or(HeaderValue::from_static("\"\""));
    response.headers_mut().insert(header::ETAG, tag);
    response
}

/// The answer to a write: the activity as written, kept for the reads that follow.
fn written(state: &AppState, status: StatusCode, activity: Activity) -> ApiResult<Response> {
    let kept = state.activity_views.written(activity)?;
    Ok(with_etag(status, &kept))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ActivityQuery {
    /// Partner code, e.g. JPN.
    pub partnership: Option<String>,
    /// Activities supporting an element of this document.
    pub document: Option<String>,
    /// Activities supporting this partnership goal (or priority area, or objective).
    pub goal: Option<String>,
    pub status: Option<String>,
    pub kind: Option<String>,
    /// `YYYY-MM-DD`: activities ending on or after it.
    pub from: Option<String>,
    /// `YYYY-MM-DD`: activities starting on or before it.
    pub to: Option<String>,
    /// A phrase to find in the title, description or location.
    pub q: Option<String>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub after: Option<String>,
}

impl ActivityQuery {
    fn into_parts(self) -> Result<(ActivityFilter, PageRequest), ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let filter = ActivityFilter {
            partnership: self
                .partnership
                .and_then(|p| errors.check(eprime_domain::PartnerCode::parse(&p).map_err(|e| e.at("partnership")))),
            document: self.document.and_then(|d| {
                errors.check(
                    d.parse()
                        .map_err(|_| eprime_domain::FieldError::new("document", format!("`{d}` is not a document id"))),
                )
            }),
            element: self.goal.and_then(|g| {
                errors.check(
                    g.parse().map_err(|_| eprime_domain::FieldError::new("goal", format!("`{g}` is not a goal id"))),
                )
            }),
            status: self.status.and_then(|s| errors.check(ActivityStatus::parse(&s))),
            kind: self.kind.and_then(|k| errors.check(ActivityKind::parse(&k))),
            from: self.from.and_then(|d| errors.check(parse_date("from", &d))),
            to: self.to.and_then(|d| errors.check(parse_date("to", &d))),
            text: self.q.map(|q| q.trim().to_owned()).filter(|q| !q.is_empty()),
            ..Default::default()
        };
        if let Some(limit) = self.limit.filter(|l| !(1..=PageRequest::MAX_LIMIT).contains(l)) {
            errors.push(eprime_domain::FieldError::new(
                "limit",
                format!("{limit} is outside 1–{}", PageRequest::MAX_LIMIT),
            ));
        }
        if filter.text.as_ref().is_some_and(|q| q.chars().count() > 200) {
            errors.push(eprime_domain::FieldError::new("q", "at most 200 characters"));
        }
        errors.into_result()?;
        let page = PageRequest { limit: self.limit.unwrap_or(PageRequest::DEFAULT_LIMIT), after: self.after };
        Ok((filter, page))
    }
}

/// The activities the caller may see, newest first, with filters and cursor pagination.
#[utoipa::path(get, path = "/api/v1/activities", tag = "activities", security((), ("bearer" = [])), params(ActivityQuery),
    responses(
        (status = 200, description = "One page of visible activities", body = ActivityPage),
        (status = 400, description = "Bad filter or cursor", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    CurrentCaller(caller): CurrentCaller,
    RawQuery(raw): RawQuery,
    ApiQuery(query): ApiQuery<ActivityQuery>,
) -> ApiResult<Response> {
    let (filter, page) = query.into_parts().map_err(ApiError::bad_query)?;
    let scope = caller.read_scope();
    // The page depends on the scope and the query alone: kept for every reader with the same scope.
    let key = (scope.clone(), raw.unwrap_or_default());
    let body = fresh::get_or_read(&state.kept.activity_pages, &state.clock, key, async {
        let page =
            state.activity_views.page(state.store.as_ref(), &scope, &filter, &page).await.map_err(|e| match e {
                eprime_store::StoreError::Invalid(errors) => ApiError::bad_query(errors),
                other => other.into(),
            })?;
        let items = page.items.iter().map(|kept| kept.json.clone()).collect();
        super::to_json_bytes(&ActivityPage { items, next_cursor: page.next_cursor })
    })
    .await?;
    Ok(super::json_bytes(Bytes::clone(&body)))
}

/// Creates an activity in `proposed` status. NATO staff may create one for any partnership, a
/// partner officer for its own. Unless marked `PUBLIC`, it is NATO UNCLASSIFIED and always
/// releasable to its partner.
#[utoipa::path(post, path = "/api/v1/activities", tag = "activities", security(("bearer" = [])),
    request_body = ActivityInput,
    responses(
        (status = 201, description = "Created", body = Activity, headers(("ETag" = String, description = "Version tag"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller may not create activities for that partnership", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, each named", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    SignedIn(actor): SignedIn,
    ApiJson(input): ApiJson<ActivityInput>,
) -> ApiResult<Response> {
    let new = NewActivity::validate(input)?;
    let activity = state.store.create_activity(&actor, new).await?;
    let location = format!("/api/v1/activities/{}", activity.id);
    let mut response = written(&state, StatusCode::CREATED, activity)?;
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// One activity, with its `ETag`.
#[utoipa::path(get, path = "/api/v1/activities/{id}", tag = "activities", security((), ("bearer" = [])),
    params(("id" = String, Path, description = "Activity id")),
    responses(
        (status = 200, description = "The activity", body = Activity, headers(("ETag" = String, description = "Version tag"))),
        (status = 404, description = "No such activity, or not visible", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    State(state): State<AppState>,
    CurrentCaller(caller): CurrentCaller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = activity_id(&id)?;
    let kept = state
        .activity_views
        .one(state.store.as_ref(), &caller.read_scope(), id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("activity {id}")))?;
    Ok(with_etag(StatusCode::OK, &kept))
}

/// Changes some fields of an activity. Requires `If-Match` with the `ETag` last read; a stale
/// one is refused with 412 and changes nothing.
#[utoipa::path(patch, path = "/api/v1/activities/{id}", tag = "activities", security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Activity id"),
        ("If-Match" = String, Header, description = "The ETag of the version the change is based on"),
    ),
    request_body = ActivityPatch,
    responses(
        (status = 200, description = "The activity after the change", body = Activity, headers(("ETag" = String, description = "Version tag"))),
        (status = 403, description = "The caller may not edit it", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such activity, or not visible", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Someone changed it since", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    State(state): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(patch): ApiJson<ActivityPatch>,
) -> ApiResult<Response> {
    let id = activity_id(&id)?;
    if !headers.contains_key(header::IF_MATCH) {
        return Err(ApiError::new(
            StatusCode::PRECONDITION_REQUIRED,
            "send If-Match with the ETag you last read, so a concurrent change is not overwritten",
        ));
    }
    let expected = if_match_version(&headers)?;
    let changes = ActivityChanges::validate(patch)?;
    let activity = state.store.update_activity(&actor, id, expected, changes).await?;
    written(&state, StatusCode::OK, activity)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionRequest {
    /// The status to move to.
    pub to: String,
    /// Why; required for `postponed` and `cancelled`.
    pub reason: Option<String>,
}

/// Moves an activity to another status. A step the lifecycle does not allow is refused with
/// 409, naming the allowed ones. `If-Match` is honoured when sent.
#[utoipa::path(post, path = "/api/v1/activities/{id}/transitions", tag = "activities", security(("bearer" = [])),
    params(("id" = String, Path, description = "Activity id")),
    request_body = TransitionRequest,
    responses(
        (status = 200, description = "The activity in its new status", body = Activity, headers(("ETag" = String, description = "Version tag"))),
        (status = 403, description = "The caller may not make this step (only NATO staff approve)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such activity, or not visible", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The lifecycle does not allow this step; `allowed` names those it does", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match names an old version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown status, or a reason is missing", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn transition(
    State(state): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<TransitionRequest>,
) -> ApiResult<Response> {
    let id = activity_id(&id)?;
    let expected = if_match_version(&headers)?;
    let to = ActivityStatus::parse(&request.to).map_err(|e| ApiError::field("to", e.message))?;
    let activity = state.store.transition_activity(&actor, id, expected, to, request.reason).await?;
    written(&state, StatusCode::OK, activity)
}

/// The change history of an activity, oldest first, with what each change altered.
#[utoipa::path(get, path = "/api/v1/activities/{id}/history", tag = "activities", security((), ("bearer" = [])),
    params(("id" = String, Path, description = "Activity id")),
    responses(
        (status = 200, description = "Changes, oldest first", body = Vec<HistoryEntry>),
        (status = 404, description = "No such activity, or not visible", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn history(
    State(state): State<AppState>,
    CurrentCaller(caller): CurrentCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<HistoryEntry>>> {
    let id = activity_id(&id)?;
    let entries = state
        .store
        .history(&caller.read_scope(), EntityType::Activity, &id.to_string())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("activity {id}")))?;
    Ok(Json(entries.into_iter().map(HistoryEntry::from).collect()))
}
