//! The Partnership Cooperation Menu: search with facets, offerings and their lifecycle,
//! nominations and their decisions, attendance, feedback, after-action reports, adoption into a
//! partner's programme, and the roll-up of participation to activities and goals.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use eprime_domain::menu::{
    Attendance, Decision, EventType, FeedbackInput, NewNomination, NewOffering, Nomination, NominationInput, Offering,
    OfferingInput, OfferingStatus, OverdueRules, ReportInput,
};
use eprime_domain::{
    Activity, ActivityId, ActivityKind, ActivityStatus, ElementId, FieldError, Marking, NewActivity, NominationId,
    OfferingId, PartnerCode, Role, Text, ValidationErrors,
};
use eprime_search::{Facets, MenuQuery};
use eprime_store::{EntityType, Participation};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::views::HistoryEntry;
use crate::AppState;
use crate::auth::{CurrentCaller, SignedIn};
use crate::extract::{ApiJson, ApiQuery, etag, if_match_version};
use crate::menu_index::visibility;
use crate::problem::{ApiError, ApiResult, Problem};

fn offering_id(raw: &str) -> ApiResult<OfferingId> {
    raw.parse().map_err(|_| ApiError::bad_request(format!("`{raw}` is not a menu offering id")))
}

fn nomination_id(raw: &str) -> ApiResult<NominationId> {
    raw.parse().map_err(|_| ApiError::bad_request(format!("`{raw}` is not a nomination id")))
}

fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

/// A `201 Created` answer names where the new record lives.
fn with_location(mut response: Response, location: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

fn tagged<T: Serialize>(status: StatusCode, version: i64, body: T) -> Response {
    let tag = HeaderValue::from_str(&etag(version)).unwrap_or(HeaderValue::from_static("\"\""));
    let mut response = (status, Json(body)).into_response();
    response.headers_mut().insert(header::ETAG, tag);
    response
}

/// An offering as the API shows it: the record, plus whether its report is overdue.
#[derive(Serialize, ToSchema)]
pub struct OfferingView {
    #[serde(flatten)]
    pub offering: Offering,
    pub open_seats: u32,
    /// The event is over and no after-action report has come within the allowed days.
    pub report_overdue: bool,
}

impl OfferingView {
    fn new(offering: Offering, rules: &OverdueRules) -> Self {
        Self { open_seats: offering.open_seats(), report_overdue: rules.report_overdue(&offering, today()), offering }
    }
}

/// A nomination as the API shows it, with whether its feedback is overdue.
#[derive(Serialize, ToSchema)]
pub struct NominationView {
    #[serde(flatten)]
    pub nomination: Nomination,
    /// The participant attended and has not given feedback within the allowed days.
    pub feedback_overdue: bool,
}

async fn nomination_view(state: &AppState, nomination: Nomination) -> ApiResult<NominationView> {
    let offering = state.store.offering(&eprime_domain::ReadScope::system(), nomination.offering).await?;
    let feedback_overdue = offering.is_some_and(|o| state.config.overdue.feedback_overdue(&nomination, &o, today()));
    Ok(NominationView { nomination, feedback_overdue })
}

async fn refresh_index(state: &AppState, ids: &[OfferingId]) {
    // The change-log follower would do it within moments; doing it now makes this instance's own
    // writes searchable before the answer goes out. A failure is logged, and the follower retries.
    if let Err(error) = state.menu.refresh(&state.store, ids).await {
        tracing::warn!(%error, "menu search: refreshing after a write failed");
    }
}

// ----- search -----

/// Menu search parameters. List parameters take comma-separated values (`area=CYD,EDU`): values
/// of one facet are alternatives, facets narrow each other.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MenuSearchQuery {
    /// Words (all must match), `"phrases"`, and prefixes (`cyb*`) over title, description, code,
    /// provider and areas.
    pub q: Option<String>,
    /// Area-of-cooperation codes.
    pub area: Option<String>,
    /// Event types (`course`, `seminar`, …).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub event_type: Option<String>,
    /// Provider codes.
    pub provider: Option<String>,
    /// Months a session starts in, `YYYY-MM`.
    pub month: Option<String>,
    /// Places (the city, or `online`).
    pub location: Option<String>,
    /// Working languages (`en`, `fr`).
    pub language: Option<String>,
    /// Statuses (`published`, …).
    pub status: Option<String>,
    /// `true`: only events with seats left; `false`: only full ones.
    pub open_seats: Option<bool>,
    /// Results to skip (default 0).
    pub offset: Option<usize>,
    /// Page size, 1–100 (default 20).
    pub limit: Option<usize>,
}

fn list(raw: Option<String>) -> Vec<String> {
    raw.map(|r| r.split(',').map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()).collect()).unwrap_or_default()
}

impl MenuSearchQuery {
    fn into_query(self) -> Result<MenuQuery, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let limit = self.limit.unwrap_or(20);
        if !(1..=100).contains(&limit) {
            errors.push(FieldError::new("limit", format!("{limit} is outside 1–100")));
        }
        let offset = self.offset.unwrap_or(0);
        if offset > 10_000 {
            errors.push(FieldError::new("offset", "at most 10000; narrow the search instead"));
        }
        if self.q.as_ref().is_some_and(|q| q.chars().count() > 200) {
            errors.push(FieldError::new("q", "at most 200 characters"));
        }
        let event_types = list(self.event_type);
        for t in &event_types {
            errors.check(EventType::parse(t).map_err(|e| e.at("type")));
        }
        let statuses = list(self.status);
        for s in &statuses {
            errors.check(OfferingStatus::parse(s));
        }
        errors.into_result()?;
        Ok(MenuQuery {
            q: self.q,
            areas: list(self.area).into_iter().map(|a| a.to_ascii_uppercase()).collect(),
            event_types,
            providers: list(self.provider).into_iter().map(|p| p.to_ascii_uppercase()).collect(),
            months: list(self.month),
            locations: list(self.location),
            languages: list(self.language).into_iter().map(|l| l.to_ascii_lowercase()).collect(),
            statuses,
            open_seats: self.open_seats,
            // Without words to rank by, what is coming first.
            upcoming_from: Some(today()),
            offset,
            limit,
        })
    }
}

/// One page of menu search results, best first, with facet counts over everything that matched.
#[derive(Serialize, ToSchema)]
pub struct MenuPage {
    /// Visible offerings matching the text and every filter.
    pub total: u64,
    pub offset: usize,
    pub limit: usize,
    #[schema(value_type = Vec<OfferingView>)]
    pub items: Vec<Box<serde_json::value::RawValue>>,
    /// Counts per value of each facet, over the matches with every other facet's filter applied.
    pub facets: Facets,
}

/// Searches the menu: ranked full text, facet filters and counts, pages. Shows only the
/// offerings the caller may see (an unpublished one to its provider and NATO; a published one
/// also to the partners eligible for it).
#[utoipa::path(get, path = "/api/v1/menu", tag = "menu", security((), ("bearer" = [])), params(MenuSearchQuery),
    responses(
        (status = 200, description = "One page of matching offerings with facet counts", body = MenuPage),
        (status = 400, description = "A parameter or the query text is not understood", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn search(
    State(state): State<AppState>,
    CurrentCaller(caller): CurrentCaller,
    ApiQuery(query): ApiQuery<MenuSearchQuery>,
) -> ApiResult<Json<MenuPage>> {
    let query = query.into_query().map_err(ApiError::bad_query)?;
    let scope = caller.read_scope();
    let hits = state.menu.index.search(&visibility(&scope), &query).map_err(|error| match error {
        eprime_search::SearchError::Query(message) => ApiError::bad_query(FieldError::new("q", message).into()),
        eprime_search::SearchError::Index(message) => {
            tracing::error!(%message, "menu search failed");
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "the menu search failed; try again")
        }
    })?;
    let ids: Vec<OfferingId> = hits.hits.iter().filter_map(|h| h.id.parse().ok()).collect();
    // The index narrows, the store decides: it names the hits the caller may see, at their current
    // versions. Those already written out are taken as they are; the rest are read and kept.
    let versions = state.store.offering_versions(&scope, &ids).await?;
    let today = today();
    let listed: Vec<_> = versions.iter().map(|(id, version)| (*id, (*version, today))).collect();
    let items = state
        .offering_views
        .take_or_read(&listed, |missing| async move {
            let offerings = state.store.offerings_by_ids(&scope, &missing).await?;
            offerings
                .into_iter()
                .map(|offering| {
                    let (id, version) = (offering.id, offering.version);
                    let view = OfferingView::new(offering, &state.config.overdue);
                    let json = serde_json::value::to_raw_value(&view).map_err(|error| {
                        tracing::error!(%error, "an offering could not be written as JSON");
                        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "the menu search failed; try again")
                    })?;
                    Ok::<_, ApiError>((id, (version, today), json))
                })
                .collect()
        })
        .await?;
    Ok(Json(MenuPage {
        total: hits.total,
        offset: query.offset,
        limit: query.limit,
        // A hit that vanished between the two reads is left out, as if the search had come later.
        items,
        facets: hits.facets,
    }))
}

// ----- offerings -----

/// Offers a new event, as a `draft`. A provider offers in its own name; NATO staff name the
/// `provider`.
#[utoipa::path(post, path = "/api/v1/menu", tag = "menu", security(("bearer" = [])), request_body = OfferingInput,
    responses(
        (status = 201, description = "Created as a draft", body = OfferingView, headers(("ETag" = String, description = "Version tag"))),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller may not offer events (for that provider)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The menu code is already used", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, each named", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    SignedIn(actor): SignedIn,
    ApiJson(input): ApiJson<OfferingInput>,
) -> ApiResult<Response> {
    let new = NewOffering::validate(input)?;
    let offering = state.store.create_offering(&actor, new).await?;
    refresh_index(&state, &[offering.id]).await;
    let location = format!("/api/v1/menu/{}", offering.id);
    let response = tagged(StatusCode::CREATED, offering.version, OfferingView::new(offering, &state.config.overdue));
    Ok(with_location(response, &location))
}

/// One offering, with its `ETag`.
#[utoipa::path(get, path = "/api/v1/menu/{id}", tag = "menu", security((), ("bearer" = [])),
    params(("id" = String, Path, description = "Offering id")),
    responses(
        (status = 200, description = "The offering", body = OfferingView, headers(("ETag" = String, description = "Version tag"))),
        (status = 404, description = "No such offering, or not visible", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    State(state): State<AppState>,
    CurrentCaller(caller): CurrentCaller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = offering_id(&id)?;
    let offering = state
        .store
        .offering(&caller.read_scope(), id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("offering {id}")))?;
    Ok(tagged(StatusCode::OK, offering.version, OfferingView::new(offering, &state.config.overdue)))
}

/// Replaces a draft's content. Requires `If-Match`.
#[utoipa::path(put, path = "/api/v1/menu/{id}", tag = "menu", security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Offering id"),
        ("If-Match" = String, Header, description = "The ETag of the version the change is based on"),
    ),
    request_body = OfferingInput,
    responses(
        (status = 200, description = "The offering after the change", body = OfferingView),
        (status = 403, description = "Not the provider's or NATO staff's", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such offering, or not visible", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a draft", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Someone changed it since", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    State(state): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(input): ApiJson<OfferingInput>,
) -> ApiResult<Response> {
    let id = offering_id(&id)?;
    if !headers.contains_key(header::IF_MATCH) {
        return Err(ApiError::new(
            StatusCode::PRECONDITION_REQUIRED,
            "send If-Match with the ETag you last read, so a concurrent change is not overwritten",
        ));
    }
    let expected = if_match_version(&headers)?;
    let new = NewOffering::validate(input)?;
    let offering = state.store.update_offering(&actor, id, expected, new).await?;
    refresh_index(&state, &[id]).await;
    Ok(tagged(StatusCode::OK, offering.version, OfferingView::new(offering, &state.config.overdue)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferingTransition {
    /// `submitted`, `approved`, `published`, `closed`, `held`, `cancelled`, or `draft` (returned
    /// for revision).
    pub to: String,
    /// Why; required to return an offering for revision or to cancel it.
    pub reason: Option<String>,
}

/// Moves an offering through its lifecycle: the provider submits; NATO staff approve or return
/// it for revision; either publishes, closes nominations, records that it was held, or cancels.
#[utoipa::path(post, path = "/api/v1/menu/{id}/transitions", tag = "menu", security(("bearer" = [])),
    params(("id" = String, Path, description = "Offering id")),
    request_body = OfferingTransition,
    responses(
        (status = 200, description = "The offering in its new status", body = OfferingView),
        (status = 403, description = "Not this caller's step", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such offering, or not visible", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The lifecycle does not allow this step", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match names an old version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown status, or a reason is missing", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn transition(
    State(state): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<OfferingTransition>,
) -> ApiResult<Response> {
    let id = offering_id(&id)?;
    let expected = if_match_version(&headers)?;
    let to = OfferingStatus::parse(&request.to).map_err(|e| ApiError::field("to", e.message))?;
    let offering = state.store.transition_offering(&actor, id, expected, to, request.reason).await?;
    refresh_index(&state, &[id]).await;
    Ok(tagged(StatusCode::OK, offering.version, OfferingView::new(offering, &state.config.overdue)))
}

/// Files the after-action report of a held event; the offering becomes `reported`.
#[utoipa::path(post, path = "/api/v1/menu/{id}/report", tag = "menu", security(("bearer" = [])),
    params(("id" = String, Path, description = "Offering id")),
    request_body = ReportInput,
    responses(
        (status = 200, description = "The offering with its report", body = OfferingView),
        (status = 403, description = "Not the provider's or NATO staff's", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such offering, or not visible", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The event has not been held, or was reported already", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn report(
    State(state): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(input): ApiJson<ReportInput>,
) -> ApiResult<Response> {
    let id = offering_id(&id)?;
    let expected = if_match_version(&headers)?;
    let (summary, lessons) = input.validate()?;
    let offering = state.store.file_report(&actor, id, expected, summary, lessons).await?;
    refresh_index(&state, &[id]).await;
    Ok(tagged(StatusCode::OK, offering.version, OfferingView::new(offering, &state.config.overdue)))
}

/// The change history of an offering, oldest first.
#[utoipa::path(get, path = "/api/v1/menu/{id}/history", tag = "menu", security((), ("bearer" = [])),
    params(("id" = String, Path, description = "Offering id")),
    responses(
        (status = 200, description = "Changes, oldest first", body = Vec<HistoryEntry>),
        (status = 404, description = "No such offering, or not visible", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn history(
    State(state): State<AppState>,
    CurrentCaller(caller): CurrentCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<HistoryEntry>>> {
    let id = offering_id(&id)?;
    let entries = state
        .store
        .history(&caller.read_scope(), EntityType::Offering, &id.to_string())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("offering {id}")))?;
    Ok(Json(entries.into_iter().map(HistoryEntry::from).collect()))
}

// ----- nominations -----

/// The nominations of an offering the caller may see: a nation its own, the provider and NATO all.
#[utoipa::path(get, path = "/api/v1/menu/{id}/nominations", tag = "menu", security(("bearer" = [])),
    params(("id" = String, Path, description = "Offering id")),
    responses(
        (status = 200, description = "Nominations, oldest first", body = Vec<NominationView>),
        (status = 404, description = "No such offering, or not visible", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn nominations(
    State(state): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<NominationView>>> {
    let id = offering_id(&id)?;
    let scope = eprime_domain::Caller::User(actor).read_scope();
    let offering =
        state.store.offering(&scope, id).await?.ok_or_else(|| ApiError::not_found(format!("offering {id}")))?;
    let list = state.store.list_nominations(&scope, id).await?.unwrap_or_default();
    Ok(Json(
        list.into_iter()
            .map(|nomination| NominationView {
                feedback_overdue: state.config.overdue.feedback_overdue(&nomination, &offering, today()),
                nomination,
            })
            .collect(),
    ))
}

/// Nominates a participant. A partner officer nominates for its own nation, within the nation's
/// quota and before the deadline, if its nation is eligible and the participant meets the
/// prerequisites; NATO staff name the `nation`.
#[utoipa::path(post, path = "/api/v1/menu/{id}/nominations", tag = "menu", security(("bearer" = [])),
    params(("id" = String, Path, description = "Offering id")),
    request_body = NominationInput,
    responses(
        (status = 201, description = "Nominated, waiting for the provider's decision", body = NominationView),
        (status = 403, description = "The caller may not nominate (for that nation), or the nation is not eligible", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such offering, or not visible", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not open for nominations, the deadline passed, the quota is used, or the person is already nominated", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or prerequisites not met", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn nominate(
    State(state): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<NominationInput>,
) -> ApiResult<Response> {
    let id = offering_id(&id)?;
    let new = NewNomination::validate(id, input)?;
    let nomination = state.store.nominate(&actor, new, today()).await?;
    let location = format!("/api/v1/nominations/{}", nomination.id);
    let version = nomination.version;
    let view = NominationView { nomination, feedback_overdue: false };
    let response = tagged(StatusCode::CREATED, version, view);
    Ok(with_location(response, &location))
}

/// One nomination.
#[utoipa::path(get, path = "/api/v1/nominations/{id}", tag = "menu", security(("bearer" = [])),
    params(("id" = String, Path, description = "Nomination id")),
    responses(
        (status = 200, description = "The nomination", body = NominationView),
        (status = 404, description = "No such nomination, or not visible", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn nomination(
    State(state): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = nomination_id(&id)?;
    let scope = eprime_domain::Caller::User(actor.clone()).read_scope();
    let found = match state.store.nomination(&scope, id).await? {
        Some(found) => Some(found),
        // A participant reads its own nomination, found by the e-mail its account is named by.
        None if actor.role() == Role::Participant => state
            .store
            .nomination(&eprime_domain::ReadScope::system(), id)
            .await?
            .filter(|n| eprime_domain::menu::is_participant(&actor, n)),
        None => None,
    };
    let found = found.ok_or_else(|| ApiError::not_found(format!("nomination {id}")))?;
    let version = found.version;
    Ok(tagged(StatusCode::OK, version, nomination_view(&state, found).await?))
}

/// The signed-in participant's own nominations (its account's username is its e-mail address).
#[utoipa::path(get, path = "/api/v1/nominations/mine", tag = "menu", security(("bearer" = [])),
    responses(
        (status = 200, description = "The participant's nominations, latest event first", body = Vec<NominationView>),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn mine(State(state): State<AppState>, SignedIn(actor): SignedIn) -> ApiResult<Json<Vec<NominationView>>> {
    let nominations = state.store.nominations_of(&actor.username).await?;
    // One read for all their offerings (to tell overdue feedback), not one per nomination.
    let ids: Vec<OfferingId> = nominations.iter().map(|n| n.offering).collect();
    let offerings = state.store.offerings_by_ids(&eprime_domain::ReadScope::system(), &ids).await?;
    let rules = &state.config.overdue;
    Ok(Json(
        nominations
            .into_iter()
            .map(|nomination| {
                let offering = offerings.iter().find(|o| o.id == nomination.offering);
                let feedback_overdue = offering.is_some_and(|o| rules.feedback_overdue(&nomination, o, today()));
                NominationView { nomination, feedback_overdue }
            })
            .collect(),
    ))
}

/// Decides on a nomination: the provider (or NATO staff) accepts it (if a seat is left),
/// waitlists or rejects it (with a `reason`); the nominating nation withdraws it. A freed seat
/// goes to the first on the waiting list at once.
#[utoipa::path(post, path = "/api/v1/nominations/{id}/decision", tag = "menu", security(("bearer" = [])),
    params(("id" = String, Path, description = "Nomination id")),
    request_body = Decision,
    responses(
        (status = 200, description = "The nomination after the decision", body = NominationView),
        (status = 403, description = "Not this caller's decision", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such nomination, or not visible", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No seat left, or the nomination or offering no longer allows it", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match names an old version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A rejection without a reason", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn decide(
    State(state): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(decision): ApiJson<Decision>,
) -> ApiResult<Response> {
    let id = nomination_id(&id)?;
    let expected = if_match_version(&headers)?;
    let nomination = state.store.decide_nomination(&actor, id, expected, decision).await?;
    refresh_index(&state, &[nomination.offering]).await;
    let version = nomination.version;
    Ok(tagged(StatusCode::OK, version, nomination_view(&state, nomination).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttendanceInput {
    /// `attended` or `absent`.
    pub attendance: Attendance,
}

/// Records whether an accepted participant attended (the provider or NATO staff, once
/// nominations are closed).
#[utoipa::path(post, path = "/api/v1/nominations/{id}/attendance", tag = "menu", security(("bearer" = [])),
    params(("id" = String, Path, description = "Nomination id")),
    request_body = AttendanceInput,
    responses(
        (status = 200, description = "The nomination with its attendance", body = NominationView),
        (status = 403, description = "Not the provider's or NATO staff's", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such nomination, or not visible", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not accepted, or the event is not closed or held", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn attendance(
    State(state): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<AttendanceInput>,
) -> ApiResult<Response> {
    let id = nomination_id(&id)?;
    let nomination = state.store.record_attendance(&actor, id, input.attendance).await?;
    let version = nomination.version;
    Ok(tagged(StatusCode::OK, version, nomination_view(&state, nomination).await?))
}

/// Gives feedback (ratings 1–5 and comments) on a held event: the participant, or a partner
/// officer of its nation, once.
#[utoipa::path(post, path = "/api/v1/nominations/{id}/feedback", tag = "menu", security(("bearer" = [])),
    params(("id" = String, Path, description = "Nomination id")),
    request_body = FeedbackInput,
    responses(
        (status = 200, description = "The nomination with its feedback", body = NominationView),
        (status = 403, description = "Neither the participant nor its nation's officer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such nomination, or not visible", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not held yet, not attended, or feedback already given", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Ratings outside 1–5", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn feedback(
    State(state): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<FeedbackInput>,
) -> ApiResult<Response> {
    let id = nomination_id(&id)?;
    let (ratings, comments) = input.validate()?;
    let nomination = state.store.give_feedback(&actor, id, ratings, comments).await?;
    let version = nomination.version;
    Ok(tagged(StatusCode::OK, version, nomination_view(&state, nomination).await?))
}

// ----- the programme link -----

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdoptRequest {
    /// The partnership adopting it; a partner officer's own by default.
    pub partnership: Option<String>,
    /// Ids of the partnership goals (or priority areas, objectives) it serves.
    #[serde(default)]
    pub supports: Vec<String>,
}

fn activity_kind(event: EventType) -> ActivityKind {
    match event {
        EventType::Course | EventType::ELearning => ActivityKind::Course,
        EventType::Seminar | EventType::Workshop | EventType::Conference => ActivityKind::Seminar,
        EventType::Exercise => ActivityKind::Exercise,
        EventType::ExpertVisit => ActivityKind::Exchange,
        EventType::MobileTrainingTeam => ActivityKind::Training,
    }
}

/// Adds a menu event to a partnership's programme as a cooperation activity linked to its goals;
/// the partner's nominations, attendance and feedback then roll up to that activity and goal.
#[utoipa::path(post, path = "/api/v1/menu/{id}/adopt", tag = "menu", security(("bearer" = [])),
    params(("id" = String, Path, description = "Offering id")),
    request_body = AdoptRequest,
    responses(
        (status = 201, description = "The new cooperation activity", body = Activity),
        (status = 403, description = "The caller may not add activities to that partnership", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such offering, or not visible", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown goals or partnership", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn adopt(
    State(state): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<AdoptRequest>,
) -> ApiResult<Response> {
    let id = offering_id(&id)?;
    let scope = eprime_domain::Caller::User(actor.clone()).read_scope();
    let offering =
        state.store.offering(&scope, id).await?.ok_or_else(|| ApiError::not_found(format!("offering {id}")))?;
    let mut errors = ValidationErrors::default();
    let partnership = match request.partnership.as_deref() {
        Some(raw) => errors.check(PartnerCode::parse(raw).map_err(|e| e.at("partnership"))),
        None => actor.binding.partner.clone().or_else(|| {
            errors.push(FieldError::new("partnership", "name the partnership adopting the event"));
            None
        }),
    };
    let mut supports = Vec::new();
    for (i, raw) in request.supports.iter().enumerate() {
        match raw.parse::<ElementId>() {
            Ok(element) => supports.push(element),
            Err(_) => errors.push(FieldError::new(format!("supports[{i}]"), format!("`{raw}` is not a goal id"))),
        }
    }
    errors.into_result()?;
    let Some(partnership) = partnership else { return Err(ApiError::field("partnership", "missing")) };
    let new = NewActivity {
        marking: eprime_domain::activity::marking_for(&partnership, Marking::default()),
        partnership,
        title: offering.title.clone(),
        kind: activity_kind(offering.event_type),
        description: offering.description.clone(),
        starts_on: offering.first_day(),
        ends_on: offering.last_day(),
        location: offering.sessions.first().map(|s| s.location.clone()),
        lead: Some(offering.provider.clone()),
        participants: vec![offering.provider.clone()],
        supports,
        areas: offering.areas.clone(),
        outcome: Text::default(),
        source: None,
        offering: Some(offering.id),
        status: ActivityStatus::Proposed,
        status_reason: None,
    };
    let activity = state.store.create_activity(&actor, new).await?;
    let location = format!("/api/v1/activities/{}", activity.id);
    let response = tagged(StatusCode::CREATED, activity.version, activity);
    Ok(with_location(response, &location))
}

/// Nominations, attendance and feedback of the activity's nation at the menu event it adopted.
#[utoipa::path(get, path = "/api/v1/activities/{id}/participation", tag = "menu", security((), ("bearer" = [])),
    params(("id" = String, Path, description = "Activity id")),
    responses(
        (status = 200, description = "The roll-up (all zero when no menu event is linked)", body = Participation),
        (status = 404, description = "No such activity, or not visible", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn activity_participation(
    State(state): State<AppState>,
    CurrentCaller(caller): CurrentCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<Participation>> {
    let id: ActivityId = id.parse().map_err(|_| ApiError::bad_request(format!("`{id}` is not an activity id")))?;
    let rollup = state
        .store
        .activity_participation(&caller.read_scope(), id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("activity {id}")))?;
    Ok(Json(rollup))
}

/// The same roll-up over every activity that serves a goal: e.g. officers trained under it.
#[utoipa::path(get, path = "/api/v1/goals/{id}/participation", tag = "menu", security((), ("bearer" = [])),
    params(("id" = String, Path, description = "Goal (element) id")),
    responses(
        (status = 200, description = "The roll-up over the goal's menu activities", body = Participation),
        (status = 404, description = "No such goal, or not visible", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn goal_participation(
    State(state): State<AppState>,
    CurrentCaller(caller): CurrentCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<Participation>> {
    let id: ElementId = id.parse().map_err(|_| ApiError::bad_request(format!("`{id}` is not a goal id")))?;
    let rollup = state
        .store
        .element_participation(&caller.read_scope(), id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("goal {id}")))?;
    Ok(Json(rollup))
}
