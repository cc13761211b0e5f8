//! Webhook deliveries: one worker per server instance follows the change log into deliveries,
//! posts each due delivery, signed, to its endpoint, and records the attempt.
//!
//! The store does the coordination: queueing holds the webhooks' cursor (so several instances
//! never queue a change twice) and claiming leases deliveries (so two instances never send the
//! same one at once). The worker only waits — for a new change, a wake-up (a webhook made or a
//! delivery asked for again), or the next poll, when retries may have come due — and sends.
//!
//! The body of a delivery is exactly the data of the stream's `change` event. The signature is
//! `sha256=` and the hex HMAC-SHA256, keyed with the webhook's secret, of `<timestamp>.<body>`,
//! where the timestamp (Unix seconds) is also sent as `X-Eprime-Timestamp` (docs/WEBHOOKS.md).

use std::net::IpAddr;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use eprime_store::webhooks::MAX_ATTEMPTS;
use eprime_store::{AttemptOutcome, AttemptRecord, ClaimedDelivery, DynStore};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use time::OffsetDateTime;
use tokio::sync::Notify;

use crate::changes::event_json;
use crate::pace::Pace;

/// Change-log entries queued per store call.
const QUEUE_BATCH: u32 = 500;
/// Deliveries claimed (and sent concurrently) per store call.
const CLAIM_BATCH: u32 = 16;
/// How long a claimed delivery is held for its sender: well beyond the request timeout, so a
/// delivery is never sent twice at once; an instance that dies mid-send frees it after this.
const LEASE_BEYOND_TIMEOUT: Duration = Duration::from_secs(50);
/// The longest wait between two retries of one delivery.
const RETRY_CAP: Duration = Duration::from_secs(3600);
/// The longest the worker sleeps without looking for due retries, and the shortest (for tests'
/// millisecond backoff: a retry is never looked for more often than this).
const MAX_POLL: Duration = Duration::from_secs(1);
const MIN_POLL: Duration = Duration::from_millis(20);
/// A webhook URL's greatest length.
pub const MAX_URL_LENGTH: usize = 2000;

/// How deliveries are sent and retried.
#[derive(Clone, Debug)]
pub struct DeliverySettings {
    /// The wait before the second attempt; each later wait doubles, up to an hour.
    pub retry_base: Duration,
    /// How long an endpoint has to answer.
    pub timeout: Duration,
}

impl DeliverySettings {
    /// The wait after the `round_attempt`-th failed attempt of a round (1-based).
    pub fn backoff(&self, round_attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(round_attempt.saturating_sub(1).min(20));
        self.retry_base.saturating_mul(factor).min(RETRY_CAP.max(self.retry_base))
    }

    fn poll(&self) -> Duration {
        self.retry_base.clamp(MIN_POLL, MAX_POLL)
    }
}

/// `sha256=` and the hex HMAC-SHA256 of `<timestamp>.<body>` keyed with `secret` (its bytes as
/// given): the `X-Eprime-Signature` header.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    // HMAC takes keys of any length.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else { return String::new() };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    let digest = mac.finalize().into_bytes();
    format!("sha256={}", hex::encode(digest))
}

/// Why an endpoint URL is refused, or `None` when deliveries may go there: `https://` anywhere,
/// `http://` only to a loopback address given as such (127.0.0.0/8, ::1), for tests and for a
/// system on the same machine. No user name or password in the URL.
pub fn refuse_url(raw: &str) -> Option<String> {
    if raw.len() > MAX_URL_LENGTH {
        return Some(format!("is longer than {MAX_URL_LENGTH} characters"));
    }
    let url = match reqwest::Url::parse(raw) {
        Ok(url) => url,
        Err(error) => return Some(format!("is not an absolute URL ({error})")),
    };
    let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
        return Some("names no host".to_owned());
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Some("must not carry a user name or password; the signature authenticates e-PRIME".to_owned());
    }
    match url.scheme() {
        "https" => None,
        "http" => {
            let literal = host.trim_start_matches('[').trim_end_matches(']');
            match literal.parse::<IpAddr>() {
                Ok(address) if address.is_loopback() => None,
                _ => Some(format!(
                    "must be https:// (plain http:// is allowed only to a loopback address such as 127.0.0.1 or \
                     [::1], not to `{host}`)"
                )),
            }
        }
        other => Some(format!("must be https://, not {other}://")),
    }
}

/// The instance's webhook sender. The worker task stops when this is dropped.
pub struct WebhookWorker {
    wake: Notify,
}

impl WebhookWorker {
    /// Starts the worker on the current runtime (none outside one, e.g. in synchronous tests).
    pub fn start(store: DynStore, settings: DeliverySettings) -> Arc<Self> {
        let worker = Arc::new(Self { wake: Notify::new() });
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            match client(&settings) {
                Ok(client) => {
                    runtime.spawn(run(store, Arc::downgrade(&worker), settings, client));
                }
                Err(error) => tracing::error!(%error, "webhook deliveries are off: no HTTP client"),
            }
        }
        worker
    }

    /// Looks for work now (a webhook was made or changed, a delivery asked for again).
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

fn client(settings: &DeliverySettings) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout)
        .user_agent(concat!("e-PRIME-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
}

async fn run(store: DynStore, worker: Weak<WebhookWorker>, settings: DeliverySettings, client: reqwest::Client) {
    let mut position = 0;
    // Deliveries are queued and claimed in writer transactions: under a stream of writes, one
    // pass per 20 ms takes many changes at a time instead of two transactions per change.
    let mut pace = Pace::every(Duration::from_millis(20));
    loop {
        pace.next_pass().await;
        let mut failed = false;
        // Queue what the log holds beyond the cursor.
        loop {
            match store.enqueue_deliveries(QUEUE_BATCH).await {
                Ok(outcome) => {
                    position = outcome.position;
                    if outcome.entries < QUEUE_BATCH as usize {
                        break;
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot queue webhook deliveries");
                    failed = true;
                    break;
                }
            }
        }
        // Send what is due.
        loop {
            let now = OffsetDateTime::now_utc();
            let claimed =
                match store.claim_due_deliveries(now, settings.timeout + LEASE_BEYOND_TIMEOUT, CLAIM_BATCH).await {
                    Ok(claimed) => claimed,
                    Err(error) => {
                        tracing::warn!(%error, "cannot claim webhook deliveries");
                        failed = true;
                        break;
                    }
                };
            let full = claimed.len() == CLAIM_BATCH as usize;
            futures::future::join_all(claimed.into_iter().map(|d| send(&store, &client, &settings, d))).await;
            if !full {
                break;
            }
        }
        let Some(alive) = worker.upgrade() else { return };
        if failed {
            // The database is away (or closing): try again later, not in a tight loop.
            tokio::time::sleep(settings.poll().max(Duration::from_millis(500))).await;
            continue;
        }
        tokio::select! {
            () = store.wait_for_changes(position, settings.poll()) => {}
            () = alive.wake.notified() => {}
        }
    }
}

/// Posts one delivery and records the attempt.
async fn send(store: &DynStore, client: &reqwest::Client, settings: &DeliverySettings, delivery: ClaimedDelivery) {
    let body = event_json(&delivery.entry);
    let at = OffsetDateTime::now_utc();
    let timestamp = at.unix_timestamp();
    let started = Instant::now();
    let answer = client
        .post(&delivery.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("X-Eprime-Event", "change")
        .header("X-Eprime-Delivery", delivery.id.to_string())
        .header("X-Eprime-Timestamp", timestamp.to_string())
        .header("X-Eprime-Signature", signature(&delivery.secret, timestamp, &body))
        .body(body)
        .send()
        .await;
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    // The answer's body is never read: only its status matters.
    let (status, error) = match answer {
        Ok(response) if response.status().is_success() => (Some(response.status().as_u16()), None),
        Ok(response) if response.status().is_redirection() => (
            Some(response.status().as_u16()),
            Some(format!("HTTP {} (redirects are not followed)", response.status().as_u16())),
        ),
        Ok(response) => (Some(response.status().as_u16()), Some(format!("HTTP {}", response.status().as_u16()))),
        Err(error) => (None, Some(describe(&error, settings))),
    };
    let round_attempt = delivery.round_attempts + 1;
    let outcome = match &error {
        None => AttemptOutcome::Delivered,
        Some(_) if round_attempt >= MAX_ATTEMPTS => AttemptOutcome::Failed,
        Some(_) => AttemptOutcome::RetryAt(at + settings.backoff(round_attempt)),
    };
    if let Some(error) = &error {
        tracing::info!(delivery = %delivery.id, webhook = %delivery.webhook, attempt = round_attempt, %error,
            "webhook delivery failed");
    }
    let record =
        AttemptRecord { delivery: delivery.id, number: delivery.attempts + 1, at, status, error, duration_ms, outcome };
    if let Err(error) = store.record_attempt(record).await {
        // The lease runs out and the delivery is sent again: at least once, never lost.
        tracing::warn!(%error, delivery = %delivery.id, "cannot record a webhook delivery attempt");
    }
}

/// Why a request got no answer, in words for the delivery log (never the secret or the body).
fn describe(error: &reqwest::Error, settings: &DeliverySettings) -> String {
    if error.is_timeout() {
        return format!("no answer within {} s", settings.timeout.as_secs_f32());
    }
    let mut text = if error.is_connect() { "could not connect".to_owned() } else { "request failed".to_owned() };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text.chars().take(500).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hmac_sha256_of_timestamp_dot_body() {
        // RFC 4231 test case 2 ("Jefe"), with the data split at the first '.'-free boundary:
        // HMAC-SHA256("Jefe", "what do ya want for nothing?").
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        let expected = hex::encode(mac.finalize().into_bytes());
        assert_eq!(expected, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        let signed = signature("Jefe", 1_700_000_000, "{\"seq\":1}");
        assert!(signed.starts_with("sha256=") && signed.len() == 7 + 64);
        assert_ne!(signed, signature("Jefe", 1_700_000_001, "{\"seq\":1}"), "the timestamp is signed");
        assert_ne!(signed, signature("Jefe", 1_700_000_000, "{\"seq\":2}"), "the body is signed");
        assert_ne!(signed, signature("Jeff", 1_700_000_000, "{\"seq\":1}"), "the key matters");
    }

    #[test]
    fn only_https_or_loopback_http_endpoints_are_accepted() {
        for good in [
            "https://partner.example.org/eprime",
            "https://10.0.0.5:8443/hook?x=1",
            "http://127.0.0.1:9000/hook",
            "http://127.3.4.5/",
            "http://[::1]:8080/hook",
        ] {
            assert_eq!(refuse_url(good), None, "{good}");
        }
        for (bad, why) in [
            ("http://partner.example.org/hook", "loopback"),
            ("http://10.0.0.5/hook", "loopback"),
            ("http://localhost/hook", "loopback"),
            ("ftp://example.org/", "https://"),
            ("not a url", "absolute URL"),
            ("https://user:pw@example.org/", "password"),
        ] {
            let reason = refuse_url(bad).unwrap_or_else(|| panic!("{bad} accepted"));
            assert!(reason.contains(why), "{bad}: {reason}");
        }
        assert!(refuse_url(&format!("https://example.org/{}", "a".repeat(MAX_URL_LENGTH))).is_some());
    }

    #[test]
    fn retries_back_off_exponentially_up_to_an_hour() {
        let settings = DeliverySettings { retry_base: Duration::from_secs(10), timeout: Duration::from_secs(10) };
        let waits: Vec<u64> = (1..=10).map(|n| settings.backoff(n).as_secs()).collect();
        assert_eq!(waits, [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600]);
        let fast = DeliverySettings { retry_base: Duration::from_millis(5), timeout: Duration::from_secs(1) };
        assert_eq!(fast.backoff(3), Duration::from_millis(20));
        assert_eq!(fast.poll(), MIN_POLL);
        assert_eq!(settings.poll(), MAX_POLL);
    }
}
