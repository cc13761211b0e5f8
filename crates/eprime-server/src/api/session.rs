//! Signing in and out.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::time::Instant;

use eprime_domain::{PartnerCode, TokenId};
use eprime_store::{Operation, SecurityEvent, SessionRecord, TokenKind};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::views::UserView;
use crate::AppState;
use crate::auth::{
    CSRF_COOKIE, ClientAddress, SESSION_COOKIE, SignedIn, csrf_token, decoy_hash, new_token, request_token, token_hash,
    verify_password,
};
use crate::extract::ApiJson;
use crate::problem::{ApiError, ApiResult, Problem};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// For browsers using the session cookie: send it back in `X-CSRF-Token` on every change.
    pub csrf_token: String,
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub user: UserView,
}

/// Signs in with a username and password. Answers a bearer token and sets a session cookie (and a
/// CSRF cookie) for browsers. An unknown user and a wrong password get the same answer; after five
/// failures in fifteen minutes for one account or from one address, sign-in is refused for a while.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "session", request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = LoginResponse),
        (status = 401, description = "Unknown username or wrong password", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Malformed request", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed sign-ins; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    ApiJson(request): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    let username = request.username.trim().to_lowercase();
    let account_key = [format!("account:{username}")];
    let address_key: Vec<String> = address.map(|a| format!("address:{a}")).into_iter().collect();
    let details = json!({ "address": address.map(|a| a.to_string()) });
    let now = Instant::now();
    let throttled = [state.account_throttle.check(&account_key, now), state.address_throttle.check(&address_key, now)];
    if let Some(wait) = throttled.iter().filter_map(|r| r.err()).max() {
        let details = json!({"address": details["address"], "throttled": true});
        record(&state, Operation::SignInFailed, &username, None, details).await;
        let seconds = wait.as_secs().max(1);
        let mut error = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!("too many failed sign-ins; try again in {seconds} seconds"),
        )
        .into_response();
        if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
            error.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return Ok(error);
    }
    let user = state.store.user_by_username(&username).await?;
    let stored_hash =
        user.as_ref().filter(|u| !u.disabled).map_or_else(|| decoy_hash().to_owned(), |u| u.password_hash.clone());
    let password = request.password;
    // argon2 takes tens of milliseconds of CPU: keep it off the async workers.
    let matches = tokio::task::spawn_blocking(move || verify_password(&password, &stored_hash))
        .await
        .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "sign-in failed"))?;
    let Some(user) = user.filter(|u| matches && !u.disabled) else {
        state.account_throttle.record_failure(&account_key, Instant::now());
        state.address_throttle.record_failure(&address_key, Instant::now());
        let partner = state.store.user_by_username(&username).await.ok().flatten().and_then(|u| u.binding.partner);
        record(&state, Operation::SignInFailed, &username, partner, details).await;
        tracing::info!(%username, "failed sign-in");
        return Err(ApiError::unauthorized("unknown username or wrong password"));
    };
    state.account_throttle.clear(&account_key[0]);
    let token = new_token();
    let now = OffsetDateTime::now_utc();
    let expires_at = now + state.config.session_ttl;
    state
        .store
        .create_session(SessionRecord {
            id: TokenId::new(),
            kind: TokenKind::Session,
            token_hash: token_hash(&token),
            user_id: user.id,
            name: "sign-in".to_owned(),
            created_at: now,
            expires_at,
        })
        .await?;
    record(&state, Operation::SignIn, &user.username, user.binding.partner.clone(), details).await;
    tracing::info!(username = %user.username, "signed in");
    let secure = if state.config.secure_cookies { "; Secure" } else { "" };
    let max_age = state.config.session_ttl.as_secs();
    let csrf = csrf_token(&token);
    let session_cookie =
        format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    let csrf_cookie = format!("{CSRF_COOKIE}={csrf}; Path=/; SameSite=Strict; Max-Age={max_age}{secure}");
    let principal = user.principal();
    let body = LoginResponse {
        token,
        csrf_token: csrf,
        expires_at,
        user: UserView {
            username: principal.username,
            role: principal.binding.role,
            partner: principal.binding.partner,
            organisation: principal.binding.organisation,
        },
    };
    let mut headers = HeaderMap::new();
    for cookie in [session_cookie, csrf_cookie] {
        headers.append(
            header::SET_COOKIE,
            HeaderValue::from_str(&cookie).map_err(|_| ApiError::bad_request("bad cookie"))?,
        );
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok((headers, Json(body)).into_response())
}

/// Appends a security event to the audit log. A failure to record is logged, not fatal: it must
/// not lock users out.
pub(crate) async fn record(
    state: &AppState,
    operation: Operation,
    username: &str,
    partner: Option<PartnerCode>,
    details: serde_json::Value,
) {
    let event =
        SecurityEvent { operation, username: username.chars().take(64).collect(), partner, actor: None, details };
    if let Err(error) = state.store.record_security_event(event).await {
        tracing::error!(%error, "could not record a security event");
    }
}

/// Signs out: revokes the token or session the request was made with.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "session", security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out; the token no longer works"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn logout(
    State(state): State<AppState>,
    SignedIn(principal): SignedIn,
    headers: HeaderMap,
) -> ApiResult<Response> {
    if let Some(token) = request_token(&headers) {
        state.store.revoke_session(&token_hash(&token)).await?;
    }
    record(&state, Operation::SignOut, &principal.username, principal.binding.partner.clone(), json!({})).await;
    tracing::info!(username = %principal.username, "signed out");
    let mut response = StatusCode::NO_CONTENT.into_response();
    for name in [SESSION_COOKIE, CSRF_COOKIE] {
        let clear = format!("{name}=; Path=/; SameSite=Strict; Max-Age=0");
        if let Ok(value) = HeaderValue::from_str(&clear) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    Ok(response)
}

/// Who am I?
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "session", security(("bearer" = [])),
    responses(
        (status = 200, description = "The signed-in user", body = UserView),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn me(SignedIn(principal): SignedIn) -> Json<UserView> {
    Json(UserView {
        username: principal.username,
        role: principal.binding.role,
        partner: principal.binding.partner,
        organisation: principal.binding.organisation,
    })
}
