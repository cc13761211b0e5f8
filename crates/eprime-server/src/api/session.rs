//! Signing in and out.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::views::UserView;
use crate::AppState;
use crate::auth::{ClientAddress, SignedIn, request_token};
use crate::extract::ApiJson;
use crate::problem::{ApiError, ApiResult, Problem};
use crate::signin;

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
    let session = signin::sign_in(&state, &request.username, request.password, address).await?;
    let mut headers = HeaderMap::new();
    for cookie in signin::session_cookies(&state, &session) {
        headers.append(
            header::SET_COOKIE,
            HeaderValue::from_str(&cookie).map_err(|_| ApiError::bad_request("bad cookie"))?,
        );
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let principal = session.principal;
    let body = LoginResponse {
        token: session.token,
        csrf_token: session.csrf_token,
        expires_at: session.expires_at,
        user: UserView {
            username: principal.username,
            role: principal.binding.role,
            partner: principal.binding.partner,
            organisation: principal.binding.organisation,
        },
    };
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
    signin::sign_out(&state, &principal, request_token(&headers).as_deref()).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    for cookie in signin::clearing_cookies() {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
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
