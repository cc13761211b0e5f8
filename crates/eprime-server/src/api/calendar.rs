//! Calendars: an `.ics` per menu event, and personal feeds (a secret, revocable URL a calendar
//! application polls) of a user's events and deadlines.
//!
//! A feed's token is not an API token: it reads that feed, as its owner would see it, and
//! nothing else. What a feed holds follows the owner's role: a partner's officers get the events
//! their nation has nominated for; a provider its own offerings with their report due dates; a
//! participant its own events; NATO staff, auditors and Allies every event they can see.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use eprime_domain::menu::{NominationStatus, Offering, OfferingStatus};
use eprime_domain::{Caller, OfferingId, Principal, ReadScope, Role, TokenId};
use eprime_store::{CalendarFeed, OfferingFilter, PageRequest};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::{CurrentCaller, SignedIn, new_token, token_hash};
use crate::calendar::{Deadlines, calendar, events};
use crate::extract::ApiJson;
use crate::problem::{ApiError, ApiResult, Problem};

/// The most events a feed lists (the nearest ones; a feed is for planning, not for archives).
const FEED_LIMIT: usize = 2_000;

fn ics(body: String, filename: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("inline; filename=\"{filename}\"")),
        ],
        body,
    )
        .into_response()
}

/// One menu event as iCalendar: its sessions and, while open, its nomination deadline.
#[utoipa::path(get, path = "/api/v1/menu/{id}/event.ics", tag = "menu", security((), ("bearer" = [])),
    params(("id" = String, Path, description = "Offering id")),
    responses(
        (status = 200, description = "The event as text/calendar", content_type = "text/calendar", body = String),
        (status = 404, description = "No such offering, or not visible", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn event(
    State(state): State<AppState>,
    CurrentCaller(caller): CurrentCaller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id: OfferingId = id.parse().map_err(|_| ApiError::bad_request(format!("`{id}` is not a menu offering id")))?;
    let offering = state
        .store
        .offering(&caller.read_scope(), id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("offering {id}")))?;
    let deadlines = Deadlines { nominations: true, ..Deadlines::default() };
    let body = calendar(offering.code.as_str(), events(&offering, deadlines, &state.config.overdue));
    Ok(ics(body, &format!("{}.ics", offering.code)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFeedRequest {
    /// What the feed is for ("Outlook at the mission").
    pub name: String,
}

/// A new feed: its secret URL is shown once.
#[derive(Serialize, ToSchema)]
pub struct NewFeedResponse {
    #[serde(flatten)]
    pub feed: CalendarFeed,
    /// The feed's address (relative to this server), holding its secret token.
    pub url: String,
}

/// Creates a calendar feed of the caller's menu events and deadlines.
#[utoipa::path(post, path = "/api/v1/calendar/feeds", tag = "menu", security(("bearer" = [])),
    request_body = NewFeedRequest,
    responses(
        (status = 201, description = "The feed, with its secret URL (shown only now)", body = NewFeedResponse),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid name", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_feed(
    State(state): State<AppState>,
    SignedIn(actor): SignedIn,
    ApiJson(request): ApiJson<NewFeedRequest>,
) -> ApiResult<Response> {
    let name = request.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::field("name", "must be one line of 1–100 characters"));
    }
    let token = new_token();
    let feed = state.store.create_calendar_feed(actor.user_id, name, &token_hash(&token)).await?;
    let url = format!("/api/v1/calendar/{token}/feed.ics");
    Ok((StatusCode::CREATED, Json(NewFeedResponse { feed, url })).into_response())
}

/// The caller's calendar feeds (their secret URLs are never shown again).
#[utoipa::path(get, path = "/api/v1/calendar/feeds", tag = "menu", security(("bearer" = [])),
    responses(
        (status = 200, description = "Feeds, newest first", body = Vec<CalendarFeed>),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_feeds(
    State(state): State<AppState>,
    SignedIn(actor): SignedIn,
) -> ApiResult<Json<Vec<CalendarFeed>>> {
    Ok(Json(state.store.list_calendar_feeds(actor.user_id).await?))
}

/// Revokes one of the caller's feeds: its URL stops working at once.
#[utoipa::path(delete, path = "/api/v1/calendar/feeds/{id}", tag = "menu", security(("bearer" = [])),
    params(("id" = String, Path, description = "Feed id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The caller has no such live feed", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn revoke_feed(
    State(state): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id: TokenId = id.parse().map_err(|_| ApiError::bad_request(format!("`{id}` is not a feed id")))?;
    if state.store.revoke_calendar_feed(actor.user_id, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("calendar feed {id}")))
    }
}

/// A calendar feed, read with its secret token (no other credential: calendar applications
/// cannot sign in).
#[utoipa::path(get, path = "/api/v1/calendar/{token}/feed.ics", tag = "menu",
    params(("token" = String, Path, description = "The feed's secret token")),
    responses(
        (status = 200, description = "The owner's events and deadlines as text/calendar", content_type = "text/calendar", body = String),
        (status = 404, description = "No such live feed", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn feed(State(state): State<AppState>, Path(token): Path<String>) -> ApiResult<Response> {
    let owner = state
        .store
        .calendar_feed_principal(&token_hash(&token))
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no such calendar feed (it may have been revoked)"))?;
    let (offerings, deadlines) = feed_offerings(&state, &owner).await?;
    let entries = offerings.iter().flat_map(|o| events(o, deadlines, &state.config.overdue));
    Ok(ics(calendar(&format!("e-PRIME — {}", owner.username), entries), "e-prime.ics"))
}

/// The offerings in `owner`'s feed, read with the owner's own scope, and the deadlines shown.
async fn feed_offerings(state: &AppState, owner: &Principal) -> ApiResult<(Vec<Offering>, Deadlines)> {
    let scope = Caller::User(owner.clone()).read_scope();
    let since = time::OffsetDateTime::now_utc().date() - time::Duration::days(90);
    if owner.role() == Role::Participant {
        let own: Vec<OfferingId> = state
            .store
            .nominations_of(&owner.username)
            .await?
            .into_iter()
            .filter(|n| n.status == NominationStatus::Accepted)
            .map(|n| n.offering)
            .collect();
        let offerings = state.store.offerings_by_ids(&ReadScope::system(), &own).await?;
        return Ok((offerings, Deadlines { feedback: true, ..Deadlines::default() }));
    }
    let (filter, deadlines) = match owner.role() {
        Role::PartnerOfficer | Role::PartnerAdmin => (
            OfferingFilter { nominated_by: owner.binding.partner.clone(), ..OfferingFilter::default() },
            Deadlines { nominations: true, feedback: true, report: false },
        ),
        Role::Provider => (
            OfferingFilter { provider: owner.binding.organisation.clone(), ..OfferingFilter::default() },
            Deadlines { nominations: true, feedback: false, report: true },
        ),
        _ => (OfferingFilter::default(), Deadlines { nominations: true, ..Deadlines::default() }),
    };
    let filter = OfferingFilter { ends_after: Some(since), ..filter };
    let mut offerings = Vec::new();
    let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
    loop {
        let found = state.store.list_offerings(&scope, &filter, &page).await?;
        offerings.extend(found.items.into_iter().filter(|o| {
            !matches!(o.status, OfferingStatus::Draft | OfferingStatus::Submitted | OfferingStatus::Approved)
                || owner.role() == Role::Provider
        }));
        match found.next_cursor {
            Some(cursor) if offerings.len() < FEED_LIMIT => page.after = Some(cursor),
            _ => break,
        }
    }
    offerings.truncate(FEED_LIMIT);
    Ok((offerings, deadlines))
}
