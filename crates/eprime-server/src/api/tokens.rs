//! Named API tokens for scripts and other systems: created, listed and revoked by their owner.
//! Only a hash is stored; the token itself is shown once, when it is created.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use eprime_domain::TokenId;
use eprime_store::{Operation, SessionRecord, TokenKind};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::{SignedIn, new_token, token_hash};
use crate::extract::ApiJson;
use crate::problem::{ApiError, ApiResult, Problem};
use crate::signin::record;

const MAX_DAYS: u32 = 366;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenRequest {
    /// What the token is for ("partner system sync").
    pub name: String,
    /// Days until it expires, 1–366 (default 90).
    pub expires_in_days: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct NewTokenResponse {
    pub id: TokenId,
    pub name: String,
    /// Send as `Authorization: Bearer <token>`. Shown only now: e-PRIME keeps only its hash.
    pub token: String,
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

#[derive(Serialize, ToSchema)]
pub struct TokenView {
    pub id: TokenId,
    /// `session` (a sign-in) or `api` (a named token).
    pub kind: String,
    pub name: String,
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[schema(value_type = Option<String>, format = DateTime)]
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

/// Creates a named API token for the signed-in user.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "session", security(("bearer" = [])), request_body = NewTokenRequest,
    responses(
        (status = 201, description = "Created; the token is in the answer, once", body = NewTokenResponse),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid name or lifetime", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    SignedIn(principal): SignedIn,
    ApiJson(request): ApiJson<NewTokenRequest>,
) -> ApiResult<Response> {
    let name = request.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::field("name", "must be one line of 1–100 characters"));
    }
    let days = request.expires_in_days.unwrap_or(90);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(ApiError::field("expires_in_days", format!("must be between 1 and {MAX_DAYS}")));
    }
    let token = new_token();
    let now = OffsetDateTime::now_utc();
    let session = SessionRecord {
        id: TokenId::new(),
        kind: TokenKind::Api,
        token_hash: token_hash(&token),
        user_id: principal.user_id,
        name: name.clone(),
        created_at: now,
        expires_at: now + time::Duration::days(i64::from(days)),
    };
    let (id, expires_at) = (session.id, session.expires_at);
    state.store.create_session(session).await?;
    let details = json!({ "token": id.to_string(), "name": name });
    record(&state, Operation::TokenCreated, &principal.username, principal.binding.partner.clone(), details).await;
    Ok((StatusCode::CREATED, Json(NewTokenResponse { id, name, token, expires_at })).into_response())
}

/// The signed-in user's sign-in sessions and API tokens, newest first.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "session", security(("bearer" = [])),
    responses(
        (status = 200, description = "Tokens (never the tokens themselves)", body = Vec<TokenView>),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(State(state): State<AppState>, SignedIn(principal): SignedIn) -> ApiResult<Json<Vec<TokenView>>> {
    let tokens = state.store.list_tokens(principal.user_id).await?;
    Ok(Json(
        tokens
            .into_iter()
            .map(|t| TokenView {
                id: t.id,
                kind: t.kind.as_str().to_owned(),
                name: t.name,
                created_at: t.created_at,
                expires_at: t.expires_at,
                revoked_at: t.revoked_at,
            })
            .collect(),
    ))
}

/// Revokes one of the signed-in user's tokens: it stops working at once on this instance, and within a
/// second on any other.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "session", security(("bearer" = [])),
    params(("id" = String, Path, description = "Token id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such live token of yours", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn revoke(
    State(state): State<AppState>,
    SignedIn(principal): SignedIn,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id: TokenId = id.parse().map_err(|_| ApiError::bad_request(format!("`{id}` is not a token id")))?;
    if !state.store.revoke_token(principal.user_id, id).await? {
        return Err(ApiError::not_found(format!("token {id}")));
    }
    let details = json!({ "token": id.to_string() });
    record(&state, Operation::TokenRevoked, &principal.username, principal.binding.partner.clone(), details).await;
    Ok(StatusCode::NO_CONTENT)
}
