//! Watching records, and the inbox of notifications.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use eprime_domain::NotificationId;
use eprime_store::{EntityType, Notification, PageRequest, Watch};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::SignedIn;
use crate::extract::{ApiJson, ApiQuery};
use crate::problem::{ApiError, ApiResult, Problem};

fn entity(raw: &str) -> ApiResult<EntityType> {
    match raw {
        "activities" | "activity" => Ok(EntityType::Activity),
        "documents" | "document" => Ok(EntityType::Document),
        "partnerships" | "partnership" => Ok(EntityType::Partnership),
        "goals" | "goal" | "element" => Ok(EntityType::Element),
        "offerings" | "offering" | "menu" => Ok(EntityType::Offering),
        other => Err(ApiError::bad_request(format!(
            "`{other}` cannot be watched; watch activities, documents, partnerships, goals or offerings"
        ))),
    }
}

/// Starts watching a record: its changes and discussion then reach the caller's inbox.
#[utoipa::path(put, path = "/api/v1/watches/{entity}/{id}", tag = "notifications", security(("bearer" = [])),
    params(
        ("entity" = String, Path, description = "`activities`, `documents`, `partnerships`, `goals` or `offerings` (menu events)"),
        ("id" = String, Path, description = "The record's id (a partnership's partner code)"),
    ),
    responses(
        (status = 204, description = "Watching (watching twice is fine)"),
        (status = 400, description = "Not something that can be watched", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such record, or not visible", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn watch(
    State(state): State<AppState>,
    SignedIn(actor): SignedIn,
    Path((kind, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state.store.watch(&actor, entity(&kind)?, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Stops watching a record.
#[utoipa::path(delete, path = "/api/v1/watches/{entity}/{id}", tag = "notifications", security(("bearer" = [])),
    params(
        ("entity" = String, Path, description = "`activities`, `documents`, `partnerships`, `goals` or `offerings` (menu events)"),
        ("id" = String, Path, description = "The record's id"),
    ),
    responses(
        (status = 204, description = "No longer watching"),
        (status = 404, description = "The caller was not watching it", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn unwatch(
    State(state): State<AppState>,
    SignedIn(actor): SignedIn,
    Path((kind, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    if state.store.unwatch(&actor, entity(&kind)?, &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("a watch of {kind}/{id}")))
    }
}

/// What the caller watches.
#[utoipa::path(get, path = "/api/v1/watches", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, description = "Watched records, newest first", body = Vec<Object>)))]
pub async fn watches(State(state): State<AppState>, SignedIn(actor): SignedIn) -> ApiResult<Json<Vec<Watch>>> {
    Ok(Json(state.store.list_watches(actor.user_id).await?))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InboxQuery {
    /// Only notifications not yet read.
    pub unread: Option<bool>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub after: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Inbox {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<Notification>,
    pub next_cursor: Option<String>,
    /// How many notifications are unread in all.
    pub unread: u64,
}

/// The caller's notifications, newest first: changes to what they watch, mentions, activities
/// and menu events waiting for their approval, nominations they made, hold or decide on, and
/// feedback or after-action reports they owe that are overdue. A participant is told about its
/// own nominations. Only notifications about records the caller may still see are listed and
/// counted: a record no longer released to the caller takes its notifications with it.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", security(("bearer" = [])), params(InboxQuery),
    responses(
        (status = 200, description = "The inbox", body = Inbox),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn inbox(
    State(state): State<AppState>,
    SignedIn(actor): SignedIn,
    ApiQuery(query): ApiQuery<InboxQuery>,
) -> ApiResult<Json<Inbox>> {
    let limit = query.limit.unwrap_or(PageRequest::DEFAULT_LIMIT);
    if !(1..=PageRequest::MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(format!("limit {limit} is outside 1–{}", PageRequest::MAX_LIMIT)));
    }
    let page = PageRequest { limit, after: query.after };
    let page =
        state.store.list_notifications(&actor, query.unread.unwrap_or(false), &page).await.map_err(|e| match e {
            eprime_store::StoreError::Invalid(errors) => ApiError::bad_query(errors),
            other => other.into(),
        })?;
    let unread = state.store.unread_notifications(&actor).await?;
    Ok(Json(Inbox { items: page.items, next_cursor: page.next_cursor, unread }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkRead {
    /// The notifications to mark read; absent: all of them.
    pub ids: Option<Vec<String>>,
}

#[derive(Serialize, ToSchema)]
pub struct Marked {
    /// How many notifications changed from unread to read.
    pub marked: u64,
}

/// Marks notifications read.
#[utoipa::path(post, path = "/api/v1/notifications/read", tag = "notifications", security(("bearer" = [])),
    request_body = MarkRead,
    responses(
        (status = 200, description = "Marked", body = Marked),
        (status = 422, description = "A malformed id", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn mark_read(
    State(state): State<AppState>,
    SignedIn(actor): SignedIn,
    ApiJson(request): ApiJson<MarkRead>,
) -> ApiResult<Json<Marked>> {
    let ids = request
        .ids
        .map(|ids| {
            ids.iter()
                .enumerate()
                .map(|(i, id)| {
                    id.parse::<NotificationId>()
                        .map_err(|_| ApiError::field(&format!("ids[{i}]"), "is not a notification id"))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let marked = state.store.mark_notifications_read(actor.user_id, ids.as_deref()).await?;
    Ok(Json(Marked { marked }))
}
