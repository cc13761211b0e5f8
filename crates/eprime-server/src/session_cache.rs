//! Who a session token belongs to, kept in memory for a moment.
//!
//! Every signed-in request starts by resolving its token (`Store::session_principal`). That is one
//! statement, and on SQLite one hop to a connection thread and back, which on one core costs more than
//! the lookup itself and more than many whole answers. So a resolved token is kept for `RECHECK` and
//! used while the store's `accounts_generation` has not moved:
//! - a sign-out, a revoked token, or an account disabled or given a new password through this server
//!   moves the generation when it commits, so the very next request looks again;
//! - the same change made elsewhere (the command line, another instance) is seen within `RECHECK`;
//! - a session past its expiry may be honoured for up to `RECHECK` longer.
//!
//! Only valid tokens are kept: an unknown token is looked up every time, so guessing cannot fill the
//! cache, and a token's hash is the key (the token itself is never held).

use std::sync::Arc;
use std::time::Duration;

use eprime_domain::Principal;
use eprime_store::{Store, StoreError};

use crate::fresh::Kept;

/// How long a resolved token is used before it is looked up again.
pub const RECHECK: Duration = Duration::from_secs(1);

/// Past this many kept tokens, the expired ones are dropped (and all of them if none is).
const CAPACITY: usize = 20_000;

/// Principals by token hash, tagged with the store's accounts generation they were read at.
pub struct SessionCache {
    kept: Kept<String, Principal, u64>,
}

impl Default for SessionCache {
    fn default() -> Self {
        Self { kept: Kept::with_max_age(CAPACITY, RECHECK) }
    }
}

impl SessionCache {
    /// The principal of the live session or API token whose hash is `token_hash`.
    pub async fn principal(&self, store: &dyn Store, token_hash: &str) -> Result<Option<Principal>, StoreError> {
        // Read before the store is asked: a session ended while we ask leaves what we keep stale.
        let generation = store.accounts_generation();
        if let Some(principal) = self.kept.get(token_hash, generation) {
            return Ok(Some(Principal::clone(&principal)));
        }
        let principal = store.session_principal(token_hash).await?;
        if let Some(principal) = &principal {
            self.kept.keep(token_hash.to_owned(), generation, Arc::new(principal.clone()));
        }
        Ok(principal)
    }
}

#[cfg(test)]
mod tests {
    use eprime_domain::{Role, RoleBinding, UserId};

    use super::*;

    fn someone() -> Principal {
        Principal {
            user_id: UserId::new(),
            username: "ops@example.org".to_owned(),
            binding: RoleBinding::new(Role::NatoStaff, None, None).unwrap(),
        }
    }

    #[test]
    fn a_kept_token_is_used_only_at_its_generation_and_for_a_moment() {
        let cache = SessionCache::default();
        cache.kept.keep("hash".to_owned(), 3, Arc::new(someone()));
        assert!(cache.kept.get("hash", 3).is_some(), "same generation, within the moment");
        assert!(cache.kept.get("hash", 4).is_none(), "a session may have ended since: look again");
        assert!(cache.kept.get("other", 3).is_none(), "only the token that was resolved");
        cache.kept.age_all(RECHECK);
        assert!(cache.kept.get("hash", 3).is_none(), "after the moment: look again");
    }

    #[test]
    fn a_full_cache_drops_expired_tokens_first() {
        let cache = SessionCache::default();
        for n in 0..CAPACITY - 1 {
            cache.kept.keep(format!("old{n}"), 0, Arc::new(someone()));
        }
        cache.kept.age_all(RECHECK * 2);
        cache.kept.keep("fresh".to_owned(), 0, Arc::new(someone()));
        cache.kept.keep("newest".to_owned(), 0, Arc::new(someone()));
        assert!(cache.kept.get("fresh", 0).is_some() && cache.kept.get("newest", 0).is_some());
        assert_eq!(cache.kept.len(), 2, "the expired ones made room");
    }
}
