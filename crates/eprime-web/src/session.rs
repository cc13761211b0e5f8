//! Who is looking at a page: the session cookie resolved to a caller. Pages never take a bearer
//! token: a browser signs in through `/login`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use eprime_domain::{Caller, Principal, ReadScope};
use eprime_server::auth::{SESSION_COOKIE, cookie, csrf_token, token_hash};
use eprime_server::{AppState, fresh};

use crate::page::PageError;

/// The viewer of a page: signed in (with the session token the cookie holds) or anonymous. An
/// expired or revoked session is simply anonymous: the page shows public records and a sign-in link.
pub struct Viewer {
    pub caller: Caller,
    token: Option<String>,
    /// Unread notifications, for the header's inbox link (0 when anonymous).
    pub unread: u64,
}

impl Viewer {
    pub fn principal(&self) -> Option<&Principal> {
        self.caller.principal()
    }

    pub fn scope(&self) -> ReadScope {
        self.caller.read_scope()
    }

    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// What the viewer's forms carry in `csrf_token`; empty when anonymous.
    pub fn csrf(&self) -> String {
        self.token.as_deref().map(csrf_token).unwrap_or_default()
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let anonymous = Self { caller: Caller::Anonymous, token: None, unread: 0 };
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE).filter(|t| !t.is_empty()) else {
            return Ok(anonymous);
        };
        match state.sessions.principal(state.store.as_ref(), &token_hash(&token)).await? {
            Some(principal) => {
                // Every page's header shows it: a count over the partial index of unread rows, each
                // checked against what the reader may still see (one indexed probe per unread row),
                // so it is kept while nothing is written (`fresh`).
                let key = (principal.user_id, Caller::User(principal.clone()).read_scope());
                let count = state.store.unread_notifications(&principal);
                let unread = *fresh::get_or_read(&state.kept.unread, &state.clock, key, count).await?;
                Ok(Self { caller: Caller::User(principal), token: Some(token), unread })
            }
            None => Ok(anonymous),
        }
    }
}
