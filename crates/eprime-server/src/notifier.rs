//! The notifier: turns committed changes into notifications, as they happen. Its position in the
//! change log lives in the database and is advanced in the same transaction as the notifications
//! it writes, so it survives restarts and several instances never notify twice.

use std::sync::Weak;
use std::time::Duration;

use eprime_store::DynStore;

const BATCH: u32 = 200;
const IDLE: Duration = Duration::from_secs(1);

/// Runs until `alive` is gone (the server's state was dropped).
pub fn start<T: Send + Sync + 'static>(store: DynStore, alive: Weak<T>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
    runtime.spawn(async move {
        let mut seen = 0;
        loop {
            store.wait_for_changes(seen, IDLE).await;
            if alive.upgrade().is_none() {
                return;
            }
            if let Ok(last) = store.last_change_seq().await {
                seen = last;
            }
            loop {
                match store.generate_notifications(BATCH).await {
                    Ok(done) if done == BATCH as usize => continue,
                    Ok(_) => break,
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
