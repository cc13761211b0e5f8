//! Signing in and out.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use eprime_store::SessionRecord;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::views::UserView;
use crate::AppState;
use crate::auth::{SESSION_COOKIE, SignedIn, decoy_hash, new_token, request_token, token_hash, verify_password};
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
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub user: UserView,
}

/// Signs in with a username and password. Answers a bearer token and sets a session cookie for
/// browsers. An unknown user and a wrong password get the same answer.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "session", request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = LoginResponse),
        (status = 401, description = "Unknown username or wrong password", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Malformed request", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn login(State(state): State<AppState>, ApiJson(request): ApiJson<LoginRequest>) -> ApiResult<Response> {
    let user = state.store.user_by_username(request.username.trim()).await?;
    let stored_hash = user
        .as_ref()
        .filter(|u| !u.disabled)
        .map_or_else(|| decoy_hash().to_owned(), |u| u.password_hash.clone());
    let password = request.password;
    // argon2 takes tens of milliseconds of CPU: keep it off the async workers.
    let matches = tokio::task::spawn_blocking(move || verify_password(&password, &stored_hash))
        .await
        .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "sign-in failed"))?;
    let Some(user) = user.filter(|u| matches && !u.disabled) else {
        tracing::info!(username = %request.username, "failed sign-in");
        return Err(ApiError::unauthorized("unknown username or wrong password"));
    };
    let token = new_token();
    let now = OffsetDateTime::now_utc();
    let expires_at = now + state.config.session_ttl;
    state
        .store
        .create_session(SessionRecord {
            token_hash: token_hash(&token),
            user_id: user.id,
            name: "sign-in".to_owned(),
            created_at: now,
            expires_at,
        })
        .await?;
    tracing::info!(username = %user.username, "signed in");
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        state.config.session_ttl.as_secs(),
        if state.config.secure_cookies { "; Secure" } else { "" }
    );
    let principal = user.principal();
    let body = LoginResponse {
        token,
        expires_at,
        user: UserView {
            username: principal.username,
            role: principal.binding.role,
            partner: principal.binding.partner,
            organisation: principal.binding.organisation,
        },
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|_| ApiError::bad_request("bad cookie"))?,
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok((headers, Json(body)).into_response())
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
    tracing::info!(username = %principal.username, "signed out");
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
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
