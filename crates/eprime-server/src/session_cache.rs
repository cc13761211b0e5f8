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

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use eprime_domain::Principal;
use eprime_store::{Store, StoreError};

/// How long a resolved token is used before it is looked up again.
pub const RECHECK: Duration = Duration::from_secs(1);

/// Past this many kept tokens, the expired ones are dropped (and all of them if none is).
const CAPACITY: usize = 20_000;

struct Kept {
    principal: Principal,
    generation: u64,
    until: Instant,
}

#[derive(Default)]
pub struct SessionCache {
    kept: Mutex<HashMap<String, Kept>>,
}

impl SessionCache {
    /// The principal of the live session or API token whose hash is `token_hash`.
    pub async fn principal(&self, store: &dyn Store, token_hash: &str) -> Result<Option<Principal>, StoreError> {
        // Read before the store is asked: a session ended while we ask leaves what we keep stale.
        let generation = store.accounts_generation();
        if let Some(principal) = self.kept(token_hash, generation, Instant::now()) {
            return Ok(Some(principal));
        }
        let principal = store.session_principal(token_hash).await?;
        if let Some(principal) = &principal {
            self.keep(token_hash, principal.clone(), generation, Instant::now());
        }
        Ok(principal)
    }

    fn kept(&self, token_hash: &str, generation: u64, now: Instant) -> Option<Principal> {
        let kept = self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        kept.get(token_hash)
            .filter(|kept| kept.generation == generation && now < kept.until)
            .map(|kept| kept.principal.clone())
    }

    fn keep(&self, token_hash: &str, principal: Principal, generation: u64, now: Instant) {
        let mut kept = self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if kept.len() >= CAPACITY {
            kept.retain(|_, kept| now < kept.until);
            if kept.len() >= CAPACITY {
                kept.clear();
            }
        }
        kept.insert(token_hash.to_owned(), Kept { principal, generation, until: now + RECHECK });
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
        let now = Instant::now();
        cache.keep("hash", someone(), 3, now);
        assert!(cache.kept("hash", 3, now).is_some(), "same generation, within the moment");
        assert!(cache.kept("hash", 3, now + RECHECK / 2).is_some());
        assert!(cache.kept("hash", 4, now).is_none(), "a session may have ended since: look again");
        assert!(cache.kept("hash", 3, now + RECHECK).is_none(), "after the moment: look again");
        assert!(cache.kept("other", 3, now).is_none(), "only the token that was resolved");
    }

    #[test]
    fn a_full_cache_drops_expired_tokens_first() {
        let cache = SessionCache::default();
        let now = Instant::now();
        for n in 0..CAPACITY - 1 {
            cache.keep(&format!("old{n}"), someone(), 0, now);
        }
        let later = now + RECHECK * 2;
        cache.keep("fresh", someone(), 0, later);
        cache.keep("newest", someone(), 0, later);
        assert!(cache.kept("fresh", 0, later).is_some() && cache.kept("newest", 0, later).is_some());
        assert_eq!(cache.kept.lock().unwrap().len(), 2, "the expired ones made room");
    }
}
