//! The daily e-mail digest: each subscribed user receives, once a day at the configured hour,
//! the notifications they have not read since their last digest. Off unless an SMTP relay is
//! configured; users opt in with `PUT /api/v1/digest`.

use std::sync::Weak;
use std::time::Duration;

use eprime_store::{DynStore, PageRequest, StoreError};
use lettre::message::{Mailbox, Message};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use time::OffsetDateTime;

/// Where and from whom digests are sent.
#[derive(Clone, Debug)]
pub struct MailConfig {
    /// `smtp://host:587?tls=required` (STARTTLS), `smtps://host:465` (TLS), or — for a relay on the
    /// same machine or a test — plain `smtp://host:port`. Credentials go in the URL:
    /// `smtp://user:password@host`.
    pub smtp_url: String,
    /// The sender, e.g. `e-PRIME <eprime@example.org>`.
    pub from: String,
    /// The hour (UTC, 0–23) at which the day's digests go out.
    pub digest_hour: u8,
}

/// An SMTP relay ready to send.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    pub fn new(config: &MailConfig) -> Result<Self, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&config.smtp_url)
            .map_err(|e| format!("the SMTP URL is not valid: {e}"))?
            .timeout(Some(Duration::from_secs(30)))
            .build();
        let from = config.from.parse().map_err(|e| format!("`{}` is not a sender address: {e}", config.from))?;
        Ok(Self { transport, from })
    }
}

/// What one run sent.
#[derive(Debug, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct DigestRun {
    /// Digests sent.
    pub sent: usize,
    /// Subscribers with nothing new (nothing sent, but counted as done for the day).
    pub empty: usize,
    /// Digests that could not be sent; they are tried again at the next run.
    pub failed: usize,
}

/// Sends every digest due (not sent since `before`), with the notifications each user has not
/// read since their last digest.
pub async fn send_due(store: &DynStore, mailer: &Mailer, before: OffsetDateTime) -> Result<DigestRun, StoreError> {
    let mut run = DigestRun::default();
    for subscription in store.due_digests(before).await? {
        // The digest lists what the subscriber may see today, as their inbox does.
        let Some(reader) = store.user_by_username(&subscription.username).await?.map(|user| user.principal()) else {
            continue;
        };
        let page = store.list_notifications(&reader, true, &PageRequest::first(PageRequest::MAX_LIMIT)).await?;
        let fresh: Vec<_> = page
            .items
            .into_iter()
            .filter(|n| subscription.last_sent_at.is_none_or(|last| n.created_at > last))
            .collect();
        let now = OffsetDateTime::now_utc();
        if fresh.is_empty() {
            store.mark_digest_sent(subscription.user_id, now).await?;
            run.empty += 1;
            continue;
        }
        let mut body = format!("Hello {},\n\nWhat happened in e-PRIME that concerns you:\n\n", subscription.username);
        for notification in &fresh {
            let partnership = notification.partnership.as_ref().map(|p| format!("[{p}] ")).unwrap_or_default();
            body.push_str(&format!("- {partnership}{} ({})\n", notification.summary, notification.created_at.date()));
        }
        body.push_str("\nRead them in your e-PRIME inbox. To stop these e-mails, unsubscribe there.\n");
        let message = subscription.email.parse::<Mailbox>().ok().and_then(|to| {
            Message::builder()
                .from(mailer.from.clone())
                .to(to)
                .subject(format!("e-PRIME: {} update{}", fresh.len(), if fresh.len() == 1 { "" } else { "s" }))
                .body(body)
                .ok()
        });
        let Some(message) = message else {
            tracing::warn!(username = %subscription.username, "the digest address cannot be used");
            run.failed += 1;
            continue;
        };
        match mailer.transport.send(message).await {
            Ok(_) => {
                store.mark_digest_sent(subscription.user_id, now).await?;
                run.sent += 1;
            }
            Err(error) => {
                tracing::warn!(username = %subscription.username, %error, "a digest could not be sent");
                run.failed += 1;
            }
        }
    }
    Ok(run)
}

/// The start of today's digest hour, or yesterday's if it has not come yet: digests not sent
/// since then are due.
pub fn due_since(now: OffsetDateTime, hour: u8) -> OffsetDateTime {
    let today = now.replace_time(time::Time::from_hms(hour.min(23), 0, 0).unwrap_or(time::Time::MIDNIGHT));
    if today <= now { today } else { today - time::Duration::days(1) }
}

/// Runs the day's digests at the configured hour until `alive` is gone.
pub fn start<T: Send + Sync + 'static>(store: DynStore, mailer: Mailer, hour: u8, alive: Weak<T>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
    runtime.spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(60)).await;
            if alive.upgrade().is_none() {
                return;
            }
            let now = OffsetDateTime::now_utc();
            if now.hour() != hour {
                continue;
            }
            match send_due(&store, &mailer, due_since(now, hour)).await {
                Ok(run) if run.sent + run.failed > 0 => tracing::info!(?run, "daily digests"),
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "the daily digests could not run"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn digests_are_due_once_a_day_from_the_configured_hour() {
        assert_eq!(due_since(datetime!(2026-11-23 09:30 UTC), 6), datetime!(2026-11-23 06:00 UTC));
        assert_eq!(due_since(datetime!(2026-11-23 05:59 UTC), 6), datetime!(2026-11-22 06:00 UTC));
        assert_eq!(due_since(datetime!(2026-11-23 06:00 UTC), 6), datetime!(2026-11-23 06:00 UTC));
    }
}
