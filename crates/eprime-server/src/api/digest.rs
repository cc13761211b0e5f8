//! Subscribing to the daily e-mail digest, and sending the digests now (administrators).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use eprime_domain::Role;
use eprime_store::DigestSubscription;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::SignedIn;
use crate::digest::{DigestRun, send_due};
use crate::extract::ApiJson;
use crate::problem::{ApiError, ApiResult, Problem};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DigestRequest {
    /// Where to send the daily digest.
    pub email: String,
}

/// A plausible address: one `@`, something on each side, a dot in the domain, no spaces.
fn check_email(raw: &str) -> Result<String, ApiError> {
    let email = raw.trim();
    let plausible = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.') && !domain.contains('@'));
    if plausible {
        Ok(email.to_owned())
    } else {
        Err(ApiError::field("email", format!("`{raw}` is not an e-mail address")))
    }
}

/// The caller's digest subscription.
#[utoipa::path(get, path = "/api/v1/digest", tag = "notifications", security(("bearer" = [])),
    responses(
        (status = 200, description = "Subscribed", body = Object),
        (status = 404, description = "Not subscribed", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(State(state): State<AppState>, SignedIn(actor): SignedIn) -> ApiResult<Json<DigestSubscription>> {
    state.store.digest(actor.user_id).await?.map(Json).ok_or_else(|| ApiError::not_found("a digest subscription"))
}

/// Subscribes the caller to a daily e-mail of their unread notifications (or changes the address).
#[utoipa::path(put, path = "/api/v1/digest", tag = "notifications", security(("bearer" = [])), request_body = DigestRequest,
    responses(
        (status = 204, description = "Subscribed"),
        (status = 422, description = "Not an e-mail address", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn subscribe(
    State(state): State<AppState>,
    SignedIn(actor): SignedIn,
    ApiJson(request): ApiJson<DigestRequest>,
) -> ApiResult<StatusCode> {
    state.store.set_digest(actor.user_id, Some(check_email(&request.email)?)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Stops the caller's digest.
#[utoipa::path(delete, path = "/api/v1/digest", tag = "notifications", security(("bearer" = [])),
    responses((status = 204, description = "Unsubscribed")))]
pub async fn unsubscribe(State(state): State<AppState>, SignedIn(actor): SignedIn) -> ApiResult<StatusCode> {
    state.store.set_digest(actor.user_id, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends every digest not yet sent today, now (NATO administrators). 409 when no SMTP relay is
/// configured.
#[utoipa::path(post, path = "/api/v1/digest/send", tag = "notifications", security(("bearer" = [])),
    responses(
        (status = 200, description = "What was sent", body = DigestRun),
        (status = 403, description = "Not a NATO administrator", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No SMTP relay configured", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn send_now(State(state): State<AppState>, SignedIn(actor): SignedIn) -> ApiResult<Json<DigestRun>> {
    if actor.role() != Role::NatoAdmin {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "NATO administrators send digests on demand"));
    }
    let Some(mailer) = state.mailer.as_ref() else {
        return Err(ApiError::new(StatusCode::CONFLICT, "no SMTP relay is configured (see --smtp-url)"));
    };
    Ok(Json(send_due(&state.store, mailer, time::OffsetDateTime::now_utc()).await?))
}
