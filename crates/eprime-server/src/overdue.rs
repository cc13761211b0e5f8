//! The overdue sweep: records, once each, the participants' feedback and the providers'
//! after-action reports that have become overdue (`MenuStore::record_overdue`), so that the
//! notifier tells those who owe them. Run once when the server starts, then periodically; the
//! store makes every item announced exactly once, whatever the number of sweeps or instances.
//! The clock is read here, never in the domain or the store: they are given `today`.

use std::sync::Weak;
use std::time::Duration;

use eprime_domain::menu::OverdueRules;
use eprime_store::{DynStore, StoreError};
use time::Date;

/// Items recorded per store call.
const BATCH: u32 = 200;

/// Records everything overdue on `today` not yet recorded; returns how many items were.
pub async fn sweep(store: &DynStore, rules: &OverdueRules, today: Date) -> Result<usize, StoreError> {
    let mut total = 0;
    loop {
        let recorded = store.record_overdue(rules, today, BATCH).await?;
        total += recorded;
        if recorded < BATCH as usize {
            return Ok(total);
        }
    }
}

/// Sweeps for today (UTC), logging what was recorded, or why nothing could be (the next sweep
/// tries again).
pub async fn sweep_now(store: &DynStore, rules: &OverdueRules) {
    let today = time::OffsetDateTime::now_utc().date();
    match sweep(store, rules, today).await {
        Ok(0) => {}
        Ok(recorded) => tracing::info!(recorded, "overdue feedback and reports recorded"),
        Err(error) => tracing::warn!(%error, "the overdue sweep failed; it will run again"),
    }
}

/// Sweeps every `every` until `alive` is gone (the server's state was dropped).
pub fn start<T: Send + Sync + 'static>(store: DynStore, rules: OverdueRules, every: Duration, alive: Weak<T>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
    runtime.spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            if alive.upgrade().is_none() {
                return;
            }
            sweep_now(&store, &rules).await;
        }
    });
}
