//! Who is calling: passwords, session tokens, and the extractors that turn a request's
//! `Authorization: Bearer …` header or session cookie into a [`Caller`].

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
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

/// Hashes a password with argon2id (a fresh random salt each time) into a PHC string.
pub fn hash_password(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Checks a password against a stored PHC string. A malformed stored hash never matches.
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
}

/// A hash to verify against when the username is unknown, so that case costs the same time as
/// a wrong password and does not reveal which accounts exist.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password that matches nothing").unwrap_or_default())
}

/// A new random session token: 256 bits, hex-encoded. Only its hash is stored.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex(&bytes)
}

/// SHA-256 of a token, hex-encoded: what the store keeps and looks up.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The token a request carries: the bearer token first, else the session cookie.
pub fn request_token(headers: &axum::http::HeaderMap) -> Option<String> {
    if let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        return value.strip_prefix("Bearer ").map(|t| t.trim().to_owned());
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// The caller of a request: anonymous when no token is sent. A token that is sent but not
/// valid (expired, revoked, malformed) is refused with 401 rather than treated as anonymous,
/// so a client learns at once that it must sign in again.
pub struct CurrentCaller(pub Caller);

impl FromRequestParts<AppState> for CurrentCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(token) = request_token(&parts.headers) else {
            return Ok(Self(Caller::Anonymous));
        };
        match state.store.session_principal(&token_hash(&token)).await? {
            Some(principal) => Ok(Self(Caller::User(principal))),
            None => Err(ApiError::unauthorized(
                "the session or token is invalid, expired or revoked; sign in again",
            )),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let hash = hash_password("demo-password").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("demo-password", &hash));
        assert!(!verify_password("demo-passwore", &hash));
        assert!(!verify_password("demo-password", "not a hash"));
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }
}
