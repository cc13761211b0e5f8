//! Discussions on activities, documents, goals and menu events.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use eprime_domain::{Classification, Comment, CommentId, Marking, OrgCode, SubjectKind, ValidationErrors};
use eprime_store::{EntityType, NewComment};
use serde::Deserialize;
use utoipa::ToSchema;

use super::views::HistoryEntry;
use crate::AppState;
use crate::auth::{CurrentCaller, SignedIn};
use crate::extract::{ApiJson, if_match_version};
use crate::problem::{ApiError, ApiResult, Problem};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentRequest {
    /// The text; `@username` mentions notify that user.
    pub body: String,
    /// `PUBLIC` or `NATO UNCLASSIFIED` (the default). Whatever is asked, the partnership (on a menu
    /// event: its provider) and the author's side can always read their discussion, NATO sees
    /// everything, and nobody reads a comment on a record they may not see.
    pub marking: Option<String>,
    /// For NATO UNCLASSIFIED: who else may read it (`ALLIES`, `FRA`; on a menu event, `PARTNERS`
    /// for every partner it is open to).
    pub releasable_to: Option<Vec<String>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentEdit {
    pub body: String,
}

fn marking(request: &CommentRequest) -> Result<Option<Marking>, ValidationErrors> {
    if request.marking.is_none() && request.releasable_to.is_none() {
        return Ok(None);
    }
    let mut errors = ValidationErrors::default();
    let classification = errors.check(request.marking.as_deref().map(Classification::parse).transpose());
    let orgs = errors.check(
        request
            .releasable_to
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, o)| OrgCode::parse(o).map_err(|e| e.at(format!("releasable_to[{i}]"))))
            .collect::<Result<Vec<_>, _>>(),
    );
    let marking = match (classification, orgs) {
        (Some(c), Some(orgs)) => errors.check(Marking::new(c.unwrap_or_default(), orgs)),
        _ => None,
    };
    errors.into_result()?;
    Ok(marking)
}

/// Every discussable record is named by a UUID; anything else is a malformed request.
fn subject_id(subject: SubjectKind, raw: &str) -> ApiResult<String> {
    raw.parse::<eprime_domain::ActivityId>()
        .map(|_| raw.to_owned())
        .map_err(|_| ApiError::bad_request(format!("`{raw}` is not the id of a {}", subject.as_str())))
}

async fn list(
    state: &AppState,
    caller: eprime_domain::Caller,
    subject: SubjectKind,
    id: &str,
) -> ApiResult<Json<Vec<Comment>>> {
    let id = subject_id(subject, id)?;
    let comments = state
        .store
        .list_comments(&caller.read_scope(), subject, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("{} {id}", subject.as_str())))?;
    Ok(Json(comments))
}

async fn post(
    state: &AppState,
    actor: eprime_domain::Principal,
    subject: SubjectKind,
    id: &str,
    request: CommentRequest,
) -> ApiResult<Response> {
    let id = subject_id(subject, id)?;
    let marking = marking(&request)?;
    let new = NewComment { subject, subject_id: id, body: request.body, marking };
    let comment = state.store.create_comment(&actor, new).await?;
    Ok((StatusCode::CREATED, Json(comment)).into_response())
}

macro_rules! discussion_routes {
    ($list:ident, $post:ident, $path:literal, $subject:expr, $what:literal) => {
        #[doc = concat!("The discussion of ", $what, ": the comments the caller may see, oldest first.")]
        #[utoipa::path(get, path = $path, tag = "discussions", security((), ("bearer" = [])),
            params(("id" = String, Path, description = "The record's id")),
            responses(
                (status = 200, description = "Comments", body = Vec<Comment>),
                (status = 404, description = "No such record, or not visible", body = Problem, content_type = "application/problem+json"),
            ))]
        pub async fn $list(
            State(state): State<AppState>,
            CurrentCaller(caller): CurrentCaller,
            Path(id): Path<String>,
        ) -> ApiResult<Json<Vec<Comment>>> {
            list(&state, caller, $subject, &id).await
        }

        #[doc = concat!("Comments on ", $what, ".")]
        #[utoipa::path(post, path = $path, tag = "discussions", security(("bearer" = [])),
            params(("id" = String, Path, description = "The record's id")),
            request_body = CommentRequest,
            responses(
                (status = 201, description = "Posted", body = Comment),
                (status = 403, description = "Auditors do not comment", body = Problem, content_type = "application/problem+json"),
                (status = 404, description = "No such record, or not visible", body = Problem, content_type = "application/problem+json"),
                (status = 422, description = "Empty or invalid comment", body = Problem, content_type = "application/problem+json"),
            ))]
        pub async fn $post(
            State(state): State<AppState>,
            SignedIn(actor): SignedIn,
            Path(id): Path<String>,
            ApiJson(request): ApiJson<CommentRequest>,
        ) -> ApiResult<Response> {
            post(&state, actor, $subject, &id, request).await
        }
    };
}

discussion_routes!(
    list_on_activity,
    post_on_activity,
    "/api/v1/activities/{id}/comments",
    SubjectKind::Activity,
    "an activity"
);
discussion_routes!(
    list_on_document,
    post_on_document,
    "/api/v1/documents/{id}/comments",
    SubjectKind::Document,
    "a document"
);
discussion_routes!(
    list_on_goal,
    post_on_goal,
    "/api/v1/goals/{id}/comments",
    SubjectKind::Element,
    "a goal, priority area or objective"
);
discussion_routes!(
    list_on_offering,
    post_on_offering,
    "/api/v1/menu/{id}/comments",
    SubjectKind::Offering,
    "a menu event (by default a comment is seen by NATO, the event's provider and the author's own \
     nation or organisation — not by the other partners it is open to, unless released to them)"
);

fn comment_id(raw: &str) -> ApiResult<CommentId> {
    raw.parse().map_err(|_| ApiError::bad_request(format!("`{raw}` is not a comment id")))
}

/// Edits a comment (its author only). `If-Match` is honoured when sent; every version is kept in
/// the comment's history.
#[utoipa::path(patch, path = "/api/v1/comments/{id}", tag = "discussions", security(("bearer" = [])),
    params(("id" = String, Path, description = "Comment id")),
    request_body = CommentEdit,
    responses(
        (status = 200, description = "The edited comment", body = Comment),
        (status = 403, description = "Not its author", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such comment, or not visible", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The comment was deleted", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn edit(
    State(state): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<CommentEdit>,
) -> ApiResult<Json<Comment>> {
    let id = comment_id(&id)?;
    let expected = if_match_version(&headers)?;
    Ok(Json(state.store.edit_comment(&actor, id, expected, request.body).await?))
}

/// Deletes a comment's text (its author or NATO staff); the history keeps what it said.
#[utoipa::path(delete, path = "/api/v1/comments/{id}", tag = "discussions", security(("bearer" = [])),
    params(("id" = String, Path, description = "Comment id")),
    responses(
        (status = 200, description = "The comment, emptied and marked deleted", body = Comment),
        (status = 403, description = "Neither its author nor NATO staff", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such comment, or not visible", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json<Comment>> {
    let id = comment_id(&id)?;
    Ok(Json(state.store.delete_comment(&actor, id).await?))
}

/// Every version of a comment.
#[utoipa::path(get, path = "/api/v1/comments/{id}/history", tag = "discussions", security((), ("bearer" = [])),
    params(("id" = String, Path, description = "Comment id")),
    responses(
        (status = 200, description = "Changes, oldest first", body = Vec<HistoryEntry>),
        (status = 404, description = "No such comment, or not visible", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn history(
    State(state): State<AppState>,
    CurrentCaller(caller): CurrentCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<HistoryEntry>>> {
    let id = comment_id(&id)?;
    let entries = state
        .store
        .history(&caller.read_scope(), EntityType::Comment, &id.to_string())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("comment {id}")))?;
    Ok(Json(entries.into_iter().map(HistoryEntry::from).collect()))
}
