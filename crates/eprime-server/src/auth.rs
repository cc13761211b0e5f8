//! Who is calling: session tokens, and the extractors that turn a request's
//! `Authorization: Bearer …` header or session cookie into a [`Caller`].

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use eprime_domain::{Caller, Principal};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::problem::ApiError;

/// Name of the browser session cookie.
pub const SESSION_COOKIE: &str = "eprime_session";
/// Name of the cookie holding the CSRF token a browser sends back in `X-CSRF-Token`.
pub const CSRF_COOKIE: &str = "eprime_csrf";
/// The header that carries the CSRF token on cookie-authenticated writes.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A new random session token: 256 bits, hex-encoded. Only its hash is stored.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// SHA-256 of a token, hex-encoded: what the store keeps and looks up.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The CSRF token of a session: derived from the session token, so nothing more is stored, and
/// unguessable without it. A cross-site page can make the browser send the session cookie, but
/// cannot read this value to put it in a header.
pub fn csrf_token(session_token: &str) -> String {
    hex::encode(Sha256::digest(format!("eprime-csrf:{session_token}").as_bytes()))[..32].to_owned()
}

/// How a request proved who it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenSource {
    Bearer,
    Cookie,
}

/// The token a request carries: the bearer token first, else the session cookie.
pub fn request_token(headers: &axum::http::HeaderMap) -> Option<String> {
    request_token_with_source(headers).map(|(token, _)| token)
}

pub fn request_token_with_source(headers: &axum::http::HeaderMap) -> Option<(String, TokenSource)> {
    if let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        return value.strip_prefix("Bearer ").map(|t| (t.trim().to_owned(), TokenSource::Bearer));
    }
    cookie(headers, SESSION_COOKIE).map(|t| (t, TokenSource::Cookie))
}

/// The value of one cookie.
pub fn cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(cookie, _)| *cookie == name)
        .map(|(_, value)| value.to_owned())
}

/// The address a request came from, when the server knows it (it does when served by
/// [`crate::serve`]).
pub struct ClientAddress(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|info| info.0.ip())))
    }
}

/// The caller of a request: anonymous when no token is sent. A token that is sent but not
/// valid (expired, revoked, malformed) is refused with 401 rather than treated as anonymous,
/// so a client learns at once that it must sign in again.
pub struct CurrentCaller(pub Caller);

impl FromRequestParts<AppState> for CurrentCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some((token, source)) = request_token_with_source(&parts.headers) else {
            return Ok(Self(Caller::Anonymous));
        };
        let Some(principal) = state.sessions.principal(state.store.as_ref(), &token_hash(&token)).await? else {
            return Err(ApiError::unauthorized("the session or token is invalid, expired or revoked; sign in again"));
        };
        // A browser sends its cookie with any request, cross-site ones included: a write made with
        // the cookie must prove it comes from a page of ours by echoing the CSRF token.
        if source == TokenSource::Cookie && !parts.method.is_safe() {
            let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
            if !constant_time_eq(sent.as_bytes(), csrf_token(&token).as_bytes()) {
                return Err(ApiError::new(
                    axum::http::StatusCode::FORBIDDEN,
                    "a change made with the session cookie needs the X-CSRF-Token header, \
                     holding the value of the eprime_csrf cookie",
                ));
            }
        }
        Ok(Self(Caller::User(principal)))
    }
}

/// A signed-in caller; anonymous requests are refused with 401.
pub struct SignedIn(pub Principal);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match CurrentCaller::from_request_parts(parts, state).await?.0 {
            Caller::User(principal) => Ok(Self(principal)),
            Caller::Anonymous => Err(ApiError::unauthorized(
                "sign in first: POST /api/v1/auth/login, then send `Authorization: Bearer <token>`",
            )),
        }
    }
}

/// Compares secrets without revealing, through timing, how much of them matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }
}
