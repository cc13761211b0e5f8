//! The notifier: turns committed changes into notifications, as they happen. Its position in the
//! change log lives in the database and is advanced in the same transaction as the notifications
//! it writes, so it survives restarts and several instances never notify twice.

use std::sync::{Arc, Weak};
use std::time::Duration;

use eprime_store::DynStore;

use crate::fresh::Clock;
use crate::pace::Pace;

const BATCH: u32 = 200;
const IDLE: Duration = Duration::from_secs(1);
/// At most one pass per this: notifications are read by people, a few milliseconds do not matter.
const PACE: Duration = Duration::from_millis(20);

/// Runs until `alive` is gone (the server's state was dropped).
/// Tells `clock` after a pass that processed changes: it may have made notifications.
pub fn start<T: Send + Sync + 'static>(store: DynStore, alive: Weak<T>, clock: Arc<Clock>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
    runtime.spawn(async move {
        let mut seen = 0;
        let mut pace = Pace::every(PACE);
        loop {
            store.wait_for_changes(seen, IDLE).await;
            pace.next_pass().await;
            if alive.upgrade().is_none() {
                return;
            }
            if let Ok(last) = store.last_change_seq().await {
                seen = last;
            }
            loop {
                let started = std::time::Instant::now();
                let pass = store.generate_notifications(BATCH).await;
                if let Ok(done) = &pass {
                    tracing::debug!(changes = done, micros = started.elapsed().as_micros(), "notifier pass");
                }
                match pass {
                    Ok(done) if done == BATCH as usize => clock.wrote(),
                    Ok(done) => {
                        if done > 0 {
                            clock.wrote();
                        }
                        break;
                    }
                    Err(error) => {
                        tracing::warn!(%error, "the notifier could not process changes; it will retry");
                        tokio::time::sleep(IDLE).await;
                        break;
                    }
                }
            }
        }
    });
}
