//! Signing in and out, shared by the JSON API and the web pages: throttling, password check,
//! the session record, its cookies and the audit events.

use std::net::IpAddr;
use std::time::Instant;

use axum::http::StatusCode;
use eprime_domain::{PartnerCode, Principal, TokenId};
use eprime_store::{Operation, SecurityEvent, SessionRecord, TokenKind};
use serde_json::json;
use time::OffsetDateTime;

use crate::AppState;
use crate::auth::{CSRF_COOKIE, SESSION_COOKIE, csrf_token, new_token, token_hash};
use crate::passwords::{self, decoy_hash};
use crate::problem::ApiError;

/// A new sign-in session.
pub struct Session {
    /// The bearer token (also the session cookie's value). Never stored; only its hash is.
    pub token: String,
    /// What a browser echoes in `X-CSRF-Token` (or a form's `csrf_token` field) on changes.
    pub csrf_token: String,
    pub expires_at: OffsetDateTime,
    pub principal: Principal,
}

/// Checks a username and password and opens a session. An unknown user and a wrong password get
/// the same answer; too many failures for an account or from an address answer 429.
pub async fn sign_in(
    state: &AppState,
    username: &str,
    password: String,
    address: Option<IpAddr>,
) -> Result<Session, ApiError> {
    let username = username.trim().to_lowercase();
    let account_key = [format!("account:{username}")];
    let address_key: Vec<String> = address.map(|a| format!("address:{a}")).into_iter().collect();
    let address_text = address.map(|a| a.to_string());
    let now = Instant::now();
    let throttled = [state.account_throttle.check(&account_key, now), state.address_throttle.check(&address_key, now)];
    if let Some(wait) = throttled.iter().filter_map(|r| r.err()).max() {
        record(state, Operation::SignInFailed, &username, None, json!({"address": address_text, "throttled": true}))
            .await;
        let seconds = wait.as_secs().max(1);
        return Err(ApiError::too_many_requests(
            format!("too many failed sign-ins; try again in {seconds} seconds"),
            seconds,
        ));
    }
    let user = state.store.user_by_username(&username).await?;
    let stored_hash =
        user.as_ref().filter(|u| !u.disabled).map_or_else(|| decoy_hash().to_owned(), |u| u.password_hash.clone());
    // argon2 takes tens of milliseconds of CPU: off the async workers, a bounded few at a time.
    let matches = passwords::verify(password, stored_hash)
        .await
        .ok_or_else(|| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "sign-in failed"))?;
    let details = json!({ "address": address_text });
    let Some(user) = user.filter(|u| matches && !u.disabled) else {
        state.account_throttle.record_failure(&account_key, Instant::now());
        state.address_throttle.record_failure(&address_key, Instant::now());
        let partner = state.store.user_by_username(&username).await.ok().flatten().and_then(|u| u.binding.partner);
        record(state, Operation::SignInFailed, &username, partner, details).await;
        tracing::info!(%username, "failed sign-in");
        return Err(ApiError::unauthorized("unknown username or wrong password"));
    };
    state.account_throttle.clear(&account_key[0]);
    let token = new_token();
    let now = OffsetDateTime::now_utc();
    let expires_at = now + state.config.session_ttl;
    let session = SessionRecord {
        id: TokenId::new(),
        kind: TokenKind::Session,
        token_hash: token_hash(&token),
        user_id: user.id,
        name: "sign-in".to_owned(),
        created_at: now,
        expires_at,
    };
    state.store.create_session(session).await?;
    record(state, Operation::SignIn, &user.username, user.binding.partner.clone(), details).await;
    tracing::info!(username = %user.username, "signed in");
    Ok(Session { csrf_token: csrf_token(&token), token, expires_at, principal: user.principal() })
}

/// Revokes the session or token `token` and records the sign-out.
pub async fn sign_out(state: &AppState, principal: &Principal, token: Option<&str>) -> Result<(), ApiError> {
    if let Some(token) = token {
        state.store.revoke_session(&token_hash(token)).await?;
    }
    record(state, Operation::SignOut, &principal.username, principal.binding.partner.clone(), json!({})).await;
    tracing::info!(username = %principal.username, "signed out");
    Ok(())
}

/// The `Set-Cookie` values of a new session: the HttpOnly session cookie and the CSRF cookie.
pub fn session_cookies(state: &AppState, session: &Session) -> [String; 2] {
    let secure = if state.config.secure_cookies { "; Secure" } else { "" };
    let max_age = state.config.session_ttl.as_secs();
    [
        format!("{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}", session.token),
        format!("{CSRF_COOKIE}={}; Path=/; SameSite=Strict; Max-Age={max_age}{secure}", session.csrf_token),
    ]
}

/// The `Set-Cookie` values that remove a session's cookies.
pub fn clearing_cookies() -> [String; 2] {
    [SESSION_COOKIE, CSRF_COOKIE].map(|name| format!("{name}=; Path=/; SameSite=Strict; Max-Age=0"))
}

/// Appends a security event to the audit log. A failure to record is logged, not fatal: it must
/// not lock users out.
pub async fn record(
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
