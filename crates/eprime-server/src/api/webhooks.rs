//! Webhooks: an organisation's endpoints that receive, signed, every change the organisation may
//! see. NATO administrators manage every organisation's; a partner administrator its own
//! nation's; anyone else is refused. Another organisation's webhooks answer 404.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use eprime_domain::access::webhook_scope;
use eprime_domain::ids::{DeliveryId, WebhookId};
use eprime_domain::{AccountScope, FieldError, OrgCode, PartnerCode, ValidationErrors};
use eprime_store::{
    Attempt, ChangeFilter, Delivery, EntityType, NewWebhook, PageRequest, StoreError, Webhook, WebhookChanges,
    deliverable,
};
use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::{SignedIn, new_token};
use crate::extract::{ApiJson, ApiQuery, etag, if_match_version};
use crate::problem::{ApiError, ApiResult, Problem};
use crate::webhooks::refuse_url;

const MAX_DESCRIPTION: usize = 200;

/// A webhook as its managers see it (never its secret).
#[derive(Serialize, ToSchema)]
pub struct WebhookView {
    pub id: WebhookId,
    /// The organisation whose view of the data the webhook receives.
    pub organisation: OrgCode,
    pub url: String,
    pub description: String,
    /// Only changes of this partnership (absent: every partnership).
    pub partnership: Option<PartnerCode>,
    /// Only these kinds of record (absent: every kind).
    pub entities: Option<Vec<String>>,
    /// A paused webhook is sent nothing and queues nothing.
    pub active: bool,
    pub version: i64,
    pub created_by: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<&Webhook> for WebhookView {
    fn from(webhook: &Webhook) -> Self {
        Self {
            id: webhook.id,
            organisation: webhook.organisation.clone(),
            url: webhook.url.clone(),
            description: webhook.description.clone(),
            partnership: webhook.filter.partnership.clone(),
            entities: webhook.filter.entities.as_ref().map(|e| e.iter().map(|e| e.as_str().to_owned()).collect()),
            active: webhook.active,
            version: webhook.version,
            created_by: webhook.created_by.clone(),
            created_at: webhook.created_at,
            updated_at: webhook.updated_at,
        }
    }
}

/// A webhook with its signing secret: only in the answers that make or rotate it.
#[derive(Serialize, ToSchema)]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// The HMAC-SHA256 key of `X-Eprime-Signature` (64 hex characters, used as given). Shown
    /// only now: keep it in the receiving system.
    pub secret: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhookRequest {
    /// The organisation (e.g. JPN, FRA, NDC, NATO); a partner administrator's default and only
    /// choice is its own nation.
    pub organisation: Option<String>,
    /// `https://…` (or `http://` to a loopback address such as 127.0.0.1, for tests and local
    /// systems). Redirects are not followed.
    pub url: String,
    pub description: Option<String>,
    /// Only changes of this partnership.
    pub partnership: Option<String>,
    /// Only these kinds of record: `activity`, `document`, `partnership`, `organisation`, `area`, …
    pub entities: Option<Vec<String>>,
    /// Default true.
    pub active: Option<bool>,
}

/// `Some(None)` for an explicit `null`, `None` for an absent field.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookChangeRequest {
    pub url: Option<String>,
    pub description: Option<String>,
    pub active: Option<bool>,
    /// A partnership, or `null` for every partnership.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub partnership: Option<Option<String>>,
    /// Kinds of record, or `null` for every kind.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<String>>)]
    pub entities: Option<Option<Vec<String>>>,
}

/// One attempt to deliver.
#[derive(Serialize, ToSchema)]
pub struct AttemptView {
    pub number: u32,
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The endpoint's HTTP status, when it answered.
    pub status: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: u64,
}

impl From<Attempt> for AttemptView {
    fn from(a: Attempt) -> Self {
        Self { number: a.number, at: a.at, status: a.status, error: a.error, duration_ms: a.duration_ms }
    }
}

/// One change queued for a webhook, with every attempt to deliver it.
#[derive(Serialize, ToSchema)]
pub struct DeliveryView {
    /// Sent as `X-Eprime-Delivery`; the same on every attempt and redelivery.
    pub id: DeliveryId,
    pub webhook: WebhookId,
    /// The change-log sequence number (the stream's event id).
    pub seq: i64,
    pub entity: String,
    pub entity_id: String,
    pub operation: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    /// Attempts made, across redeliveries.
    pub attempts: u32,
    /// Attempts in the current round (at most 10 before the delivery fails).
    pub round_attempts: u32,
    #[schema(value_type = Option<String>, format = DateTime)]
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_attempt_at: Option<OffsetDateTime>,
    #[schema(value_type = Option<String>, format = DateTime)]
    #[serde(with = "time::serde::rfc3339::option")]
    pub delivered_at: Option<OffsetDateTime>,
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Every attempt, oldest first.
    pub attempt_log: Vec<AttemptView>,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        Self {
            id: d.id,
            webhook: d.webhook,
            seq: d.seq,
            entity: d.entity.as_str().to_owned(),
            entity_id: d.entity_id,
            operation: d.operation.as_str().to_owned(),
            state: d.state.as_str().to_owned(),
            attempts: d.attempts,
            round_attempts: d.round_attempts,
            next_attempt_at: d.next_attempt_at,
            delivered_at: d.delivered_at,
            created_at: d.created_at,
            attempt_log: d.attempt_log.into_iter().map(AttemptView::from).collect(),
        }
    }
}

/// A page of the delivery log, newest first.
#[derive(Serialize, ToSchema)]
pub struct DeliveryPage {
    pub items: Vec<DeliveryView>,
    /// Pass as `after` for the next (older) page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeliveryQuery {
    /// Deliveries per page, 1–200 (default 50).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub after: Option<String>,
}

fn webhook_id(raw: &str) -> ApiResult<WebhookId> {
    raw.parse().map_err(|_| ApiError::bad_request(format!("`{raw}` is not a webhook id")))
}

fn scope(actor: &eprime_domain::Principal) -> ApiResult<AccountScope> {
    Ok(webhook_scope(actor).map_err(StoreError::from)?)
}

fn check_url(errors: &mut ValidationErrors, url: &str) -> String {
    let url = url.trim().to_owned();
    if let Some(reason) = refuse_url(&url) {
        errors.push(FieldError::new("url", reason));
    }
    url
}

fn check_description(errors: &mut ValidationErrors, description: &str) -> String {
    let description = description.trim().to_owned();
    if description.chars().count() > MAX_DESCRIPTION || description.chars().any(char::is_control) {
        errors
            .push(FieldError::new("description", format!("must be one line of at most {MAX_DESCRIPTION} characters")));
    }
    description
}

fn check_partnership(errors: &mut ValidationErrors, raw: Option<&str>) -> Option<PartnerCode> {
    raw.and_then(|p| errors.check(PartnerCode::parse(p).map_err(|e| e.at("partnership"))))
}

fn check_entities(errors: &mut ValidationErrors, raw: Option<&[String]>) -> Option<Vec<EntityType>> {
    let raw = raw?;
    let mut entities = Vec::new();
    for name in raw {
        match EntityType::parse(name.trim()).filter(|e| deliverable(*e)) {
            Some(entity) if !entities.contains(&entity) => entities.push(entity),
            Some(_) => {}
            None => {
                errors.push(FieldError::new("entities", format!("`{name}` is not a kind of record webhooks carry")))
            }
        }
    }
    if entities.is_empty() && raw.is_empty() {
        errors.push(FieldError::new("entities", "name at least one kind of record, or leave the field out for all"));
    }
    Some(entities)
}

fn with_etag(status: StatusCode, version: i64, body: impl Serialize) -> Response {
    let mut response = (status, Json(body)).into_response();
    if let Ok(tag) = HeaderValue::from_str(&etag(version)) {
        response.headers_mut().insert(header::ETAG, tag);
    }
    response
}

/// Registers a webhook. The answer holds the signing secret, shown this once. Deliveries start
/// with the next change.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", security(("bearer" = [])),
    request_body = NewWebhookRequest,
    responses(
        (status = 201, description = "Registered; the secret is in the answer, once", body = WebhookWithSecret),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller manages no webhooks, or not this organisation's", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, each named (a URL that is not https:// or loopback http://)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    SignedIn(actor): SignedIn,
    ApiJson(request): ApiJson<NewWebhookRequest>,
) -> ApiResult<Response> {
    let scope = scope(&actor)?;
    let mut errors = ValidationErrors::default();
    let organisation = match (&request.organisation, &scope) {
        (Some(raw), _) => errors.check(OrgCode::parse(raw)),
        (None, AccountScope::Partner(partner)) => Some(partner.as_org()),
        (None, AccountScope::All) => {
            errors.push(FieldError::new("organisation", "name the organisation (e.g. JPN, FRA, NDC, NATO)"));
            None
        }
    };
    let url = check_url(&mut errors, &request.url);
    let description = check_description(&mut errors, request.description.as_deref().unwrap_or_default());
    let partnership = check_partnership(&mut errors, request.partnership.as_deref());
    let entities = check_entities(&mut errors, request.entities.as_deref());
    errors.into_result()?;
    let Some(organisation) = organisation else { return Err(ApiError::bad_request("invalid webhook")) };
    let new = NewWebhook {
        organisation,
        url,
        description,
        filter: ChangeFilter { partnership, entities },
        active: request.active.unwrap_or(true),
        secret: new_token(),
    };
    let webhook = state.store.create_webhook(&actor, new).await?;
    let body = WebhookWithSecret { webhook: WebhookView::from(&webhook), secret: webhook.secret.clone() };
    let mut response = with_etag(StatusCode::CREATED, webhook.version, body);
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/webhooks/{}", webhook.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// The webhooks the caller manages: every organisation's for a NATO administrator, its own
/// nation's for a partner administrator.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", security(("bearer" = [])),
    responses(
        (status = 200, description = "Webhooks the caller manages (never their secrets)", body = Vec<WebhookView>),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller manages no webhooks", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(State(state): State<AppState>, SignedIn(actor): SignedIn) -> ApiResult<Json<Vec<WebhookView>>> {
    let webhooks = state.store.list_webhooks(&scope(&actor)?).await?;
    Ok(Json(webhooks.iter().map(WebhookView::from).collect()))
}

/// One webhook, with its version as the `ETag`.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path, description = "Webhook id")),
    responses(
        (status = 200, description = "The webhook", body = WebhookView),
        (status = 403, description = "The caller manages no webhooks", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such webhook among the caller's", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    State(state): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let scope = scope(&actor)?;
    let id = webhook_id(&id)?;
    let webhook = state.store.webhook(&scope, id).await?.ok_or_else(|| ApiError::not_found(format!("webhook {id}")))?;
    Ok(with_etag(StatusCode::OK, webhook.version, WebhookView::from(&webhook)))
}

/// Changes a webhook's URL, description, filter or whether it is active. Needs `If-Match`.
#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path, description = "Webhook id"),
           ("If-Match" = String, Header, description = "The ETag last read, e.g. \"v2\" (or `*`)")),
    request_body = WebhookChangeRequest,
    responses(
        (status = 200, description = "The webhook after the change", body = WebhookView),
        (status = 403, description = "The caller manages no webhooks", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such webhook among the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Someone changed it since", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    State(state): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<WebhookChangeRequest>,
) -> ApiResult<Response> {
    scope(&actor)?;
    let id = webhook_id(&id)?;
    if !headers.contains_key(header::IF_MATCH) {
        return Err(ApiError::new(
            StatusCode::PRECONDITION_REQUIRED,
            "send If-Match with the ETag you last read, so a concurrent change is not overwritten",
        ));
    }
    let expected = if_match_version(&headers)?;
    let mut errors = ValidationErrors::default();
    let url = request.url.as_deref().map(|u| check_url(&mut errors, u));
    let description = request.description.as_deref().map(|d| check_description(&mut errors, d));
    let partnership = request.partnership.as_ref().map(|p| check_partnership(&mut errors, p.as_deref()));
    let entities = request.entities.as_ref().map(|e| check_entities(&mut errors, e.as_deref()));
    errors.into_result()?;
    if url.is_none() && description.is_none() && request.active.is_none() && partnership.is_none() && entities.is_none()
    {
        return Err(ApiError::field("body", "names no change (url, description, active, partnership, entities)"));
    }
    let changes = WebhookChanges { url, description, active: request.active, partnership, entities, secret: None };
    let webhook = state.store.update_webhook(&actor, id, expected, changes).await?;
    if webhook.active {
        state.webhooks.wake();
    }
    Ok(with_etag(StatusCode::OK, webhook.version, WebhookView::from(&webhook)))
}

/// Deletes a webhook and its delivery log; nothing more is sent to it.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path, description = "Webhook id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "The caller manages no webhooks", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such webhook among the caller's", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    scope(&actor)?;
    let id = webhook_id(&id)?;
    state.store.delete_webhook(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces a webhook's signing secret; the answer holds the new one, shown this once. Every
/// attempt from now on (retries of earlier deliveries too) is signed with it.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/rotate-secret", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path, description = "Webhook id")),
    responses(
        (status = 200, description = "The webhook with its new secret, once", body = WebhookWithSecret),
        (status = 403, description = "The caller manages no webhooks", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such webhook among the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match names an older version", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    scope(&actor)?;
    let id = webhook_id(&id)?;
    let expected = if_match_version(&headers)?;
    let changes = WebhookChanges { secret: Some(new_token()), ..Default::default() };
    let webhook = state.store.update_webhook(&actor, id, expected, changes).await?;
    let body = WebhookWithSecret { webhook: WebhookView::from(&webhook), secret: webhook.secret.clone() };
    Ok(with_etag(StatusCode::OK, webhook.version, body))
}

/// The delivery log of a webhook, newest first: each change sent (or to be sent), its state and
/// every attempt with the endpoint's status or the error.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path, description = "Webhook id"), DeliveryQuery),
    responses(
        (status = 200, description = "A page of deliveries", body = DeliveryPage),
        (status = 400, description = "Bad cursor or limit", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller manages no webhooks", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such webhook among the caller's", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn deliveries(
    State(state): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<DeliveryQuery>,
) -> ApiResult<Json<DeliveryPage>> {
    let scope = scope(&actor)?;
    let id = webhook_id(&id)?;
    let limit = query.limit.unwrap_or(PageRequest::DEFAULT_LIMIT);
    if !(1..=PageRequest::MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(format!("limit must be between 1 and {}", PageRequest::MAX_LIMIT)));
    }
    let page = PageRequest { limit, after: query.after };
    let page = match state.store.list_deliveries(&scope, id, &page).await {
        Ok(page) => page.ok_or_else(|| ApiError::not_found(format!("webhook {id}")))?,
        Err(StoreError::Invalid(errors)) => return Err(ApiError::bad_query(errors)),
        Err(other) => return Err(other.into()),
    };
    Ok(Json(DeliveryPage {
        items: page.items.into_iter().map(DeliveryView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Sends a delivery again — delivered, failed or still pending — with a fresh round of
/// attempts, as soon as possible. The delivery keeps its id (`X-Eprime-Delivery`).
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/deliveries/{delivery}/redeliver", tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Webhook id"), ("delivery" = String, Path, description = "Delivery id")),
    responses(
        (status = 202, description = "Queued to be sent again", body = DeliveryView),
        (status = 403, description = "The caller manages no webhooks", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such webhook among the caller's, or no such delivery of it", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn redeliver(
    State(state): State<AppState>,
    SignedIn(actor): SignedIn,
    Path((id, delivery)): Path<(String, String)>,
) -> ApiResult<Response> {
    scope(&actor)?;
    let id = webhook_id(&id)?;
    let delivery: DeliveryId =
        delivery.parse().map_err(|_| ApiError::bad_request(format!("`{delivery}` is not a delivery id")))?;
    let delivery = state.store.redeliver(&actor, id, delivery, OffsetDateTime::now_utc()).await?;
    state.webhooks.wake();
    Ok((StatusCode::ACCEPTED, Json(DeliveryView::from(delivery))).into_response())
}
