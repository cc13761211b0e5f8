//! Committed changes, as they happen, for everyone allowed to see them.
//!
//! One follower task per server instance reads the change log (woken by the store when a change
//! commits, here or — on PostgreSQL — in any instance) and publishes each entry once, serialised
//! once, on a broadcast channel. Each subscriber filters what it receives with the domain's
//! visibility rule for its own caller. The channel is bounded: a subscriber that falls behind is
//! told it lagged and ends its stream with a resumable position, so one slow client never slows
//! the others and memory per client stays bounded.

use std::sync::{Arc, Weak};
use std::time::Duration;

use axum::body::Bytes;
use eprime_domain::{PartnerCode, ReadScope};
use eprime_store::{ChangeEntry, DynStore, EntityType, Visibility};
use serde::Serialize;
use tokio::sync::broadcast;

use crate::fresh::Clock;
use crate::pace::Pace;

/// Events held for subscribers that are a little behind.
const CHANNEL_CAPACITY: usize = 1024;
/// The longest a change can go unseen when no wake-up arrives (a write by another process on SQLite).
const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// Entries read from the log at a time.
const BATCH: u32 = 500;
/// At most one read of the log per this, so a burst of writes is published from one read; a lone
/// change is published at once.
const PACE: Duration = Duration::from_millis(5);

/// One change, ready to send: who may see it, and its JSON.
#[derive(Debug)]
pub struct StreamEvent {
    pub seq: i64,
    pub entity: EntityType,
    pub partnership: Option<String>,
    /// `None`: never streamed (accounts, sign-ins).
    visibility: Option<Visibility>,
    /// The whole Server-Sent Event (`event`, `id` and `data` lines), written once for every
    /// subscriber: sending it is a reference count, not a copy.
    pub frame: Bytes,
}

#[derive(Serialize)]
struct EventBody<'a> {
    seq: i64,
    #[serde(with = "time::serde::rfc3339")]
    at: time::OffsetDateTime,
    entity: &'static str,
    id: &'a str,
    operation: &'static str,
    partnership: Option<&'a str>,
    actor: Option<&'a str>,
    record: Option<&'a serde_json::Value>,
}

/// A change as the stream's events and the webhooks' deliveries carry it: compact JSON.
pub fn event_json(entry: &ChangeEntry) -> String {
    let body = EventBody {
        seq: entry.seq,
        at: entry.at,
        entity: entry.entity.as_str(),
        id: &entry.entity_id,
        operation: entry.operation.as_str(),
        partnership: entry.partner.as_deref(),
        actor: entry.actor.as_deref(),
        record: entry.record(),
    };
    serde_json::to_string(&body).unwrap_or_default()
}

impl StreamEvent {
    pub fn from_entry(entry: &ChangeEntry) -> Self {
        Self {
            seq: entry.seq,
            entity: entry.entity,
            partnership: entry.partner.clone(),
            visibility: entry.visibility(),
            frame: sse_frame(entry.seq, &event_json(entry)),
        }
    }

    /// Whether a caller with `scope` may see this change, and it passes the caller's filters.
    pub fn passes(&self, scope: &ReadScope, filter: &StreamFilter) -> bool {
        let Some(visibility) = &self.visibility else { return false };
        visibility.admits(scope)
            && filter.partnership.as_ref().is_none_or(|p| self.partnership.as_deref() == Some(p.as_str()))
            && filter.entities.as_ref().is_none_or(|e| e.contains(&self.entity))
    }
}

/// One `change` event, framed as Server-Sent Events. The data is compact JSON, which has no line
/// break (they are escaped inside strings), so it is one `data` line.
fn sse_frame(seq: i64, json: &str) -> Bytes {
    debug_assert!(!json.contains('\n'));
    Bytes::from(format!("event: change\nid: {seq}\ndata: {json}\n\n"))
}

/// What a subscriber asked for.
#[derive(Clone, Debug, Default)]
pub struct StreamFilter {
    pub partnership: Option<PartnerCode>,
    pub entities: Option<Vec<EntityType>>,
}

/// The instance's hub of live changes.
pub struct ChangeHub {
    /// `None` once closed: dropping the sender ends every subscriber's stream.
    sender: std::sync::Mutex<Option<broadcast::Sender<Arc<StreamEvent>>>>,
}

impl ChangeHub {
    /// A hub fed by a follower of `store`'s change log, from its current end. The follower stops
    /// when the hub is dropped.
    /// `clock` is told how far the follower has read (`fresh::Clock::saw`).
    pub fn start(store: DynStore, clock: Arc<Clock>) -> Arc<Self> {
        let (sender, _) = broadcast::channel(CHANNEL_CAPACITY);
        let hub = Arc::new(Self { sender: std::sync::Mutex::new(Some(sender)) });
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(follow(store, Arc::downgrade(&hub), clock));
        }
        hub
    }

    /// A new subscription, or `None` once the hub is closed (the server is shutting down).
    pub fn subscribe(&self) -> Option<broadcast::Receiver<Arc<StreamEvent>>> {
        self.lock().as_ref().map(broadcast::Sender::subscribe)
    }

    /// How many streams are connected to this instance.
    pub fn subscribers(&self) -> usize {
        self.lock().as_ref().map_or(0, broadcast::Sender::receiver_count)
    }

    /// Ends every stream (after the events already queued for it): a shutting-down server must not
    /// wait for clients that never hang up. They reconnect, to another instance, with their last
    /// event id and lose nothing.
    pub fn close(&self) {
        self.lock().take();
    }

    fn publish(&self, event: StreamEvent) {
        if let Some(sender) = self.lock().as_ref() {
            // No subscriber is not an error: the event is simply not needed.
            let _ = sender.send(Arc::new(event));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<broadcast::Sender<Arc<StreamEvent>>>> {
        self.sender.lock().unwrap_or_else(|e| e.into_inner())
    }
}

async fn follow(store: DynStore, hub: Weak<ChangeHub>, clock: Arc<Clock>) {
    let mut last = loop {
        match store.last_change_seq().await {
            Ok(seq) => break seq,
            Err(error) => {
                tracing::warn!(%error, "the change follower cannot read the log yet");
                if hub.upgrade().is_none() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    let mut pace = Pace::every(PACE);
    loop {
        store.wait_for_changes(last, POLL_INTERVAL).await;
        pace.next_pass().await;
        let Some(hub) = hub.upgrade() else { return };
        if hub.subscribers() == 0 {
            // With nobody listening there is no event to build, so the log is not read: the
            // follower moves to its end. The end is read before looking again for subscribers, so
            // a stream that subscribes in between finds it still unread and is given it below;
            // one that subscribes later hears only what commits after it did, as it must.
            match store.last_change_seq().await {
                Ok(end) if hub.subscribers() == 0 => {
                    last = last.max(end);
                    clock.saw(last);
                    continue;
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%error, "the change follower cannot read the log");
                    continue;
                }
            }
        }
        loop {
            let entries = match store.changes_after(last, BATCH).await {
                Ok(entries) => entries,
                Err(error) => {
                    tracing::warn!(%error, "the change follower cannot read the log");
                    break;
                }
            };
            for entry in &entries {
                last = entry.seq;
                hub.publish(StreamEvent::from_entry(entry));
            }
            clock.saw(last);
            if entries.len() < BATCH as usize {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eprime_store::Operation;

    fn entry(entity: EntityType, after: serde_json::Value) -> ChangeEntry {
        ChangeEntry {
            seq: 7,
            at: time::OffsetDateTime::UNIX_EPOCH,
            actor: Some("nato.staff".into()),
            entity,
            entity_id: "x".into(),
            partner: Some("JPN".into()),
            operation: Operation::Update,
            before: None,
            after: Some(after.into()),
        }
    }

    fn scope_of(partner: &str) -> ReadScope {
        use eprime_domain::{Caller, Principal, Role, RoleBinding, UserId};
        let binding = RoleBinding::new(Role::PartnerOfficer, Some(PartnerCode::parse(partner).unwrap()), None).unwrap();
        Caller::User(Principal { user_id: UserId::new(), username: "u".into(), binding }).read_scope()
    }

    #[test]
    fn events_carry_their_records_marking() {
        let japan_only = StreamEvent::from_entry(&entry(
            EntityType::Activity,
            serde_json::json!({"marking": "NATO UNCLASSIFIED", "releasable_to": ["JPN"]}),
        ));
        let all = StreamFilter::default();
        assert!(japan_only.passes(&scope_of("JPN"), &all));
        assert!(!japan_only.passes(&scope_of("KOR"), &all));
        assert!(!japan_only.passes(&ReadScope::public_only(), &all));
        let document = StreamEvent::from_entry(&entry(
            EntityType::Document,
            serde_json::json!({"document": {"marking": "PUBLIC", "releasable_to": []}, "elements": []}),
        ));
        assert!(document.passes(&ReadScope::public_only(), &all));
        let account = StreamEvent::from_entry(&entry(EntityType::Account, serde_json::json!({"address": "127.0.0.1"})));
        assert!(!account.passes(&ReadScope::system(), &all), "sign-ins are never streamed");
        let unmarked = StreamEvent::from_entry(&entry(EntityType::Activity, serde_json::json!({})));
        assert!(!unmarked.passes(&ReadScope::system(), &all), "no marking, no stream");
    }

    #[test]
    fn a_comment_is_streamed_only_to_those_who_see_its_subject() {
        let comment = StreamEvent::from_entry(&entry(
            EntityType::Comment,
            serde_json::json!({"subject": "offering", "marking": "NATO UNCLASSIFIED", "releasable_to": ["JPN", "KOR"],
                               "subject_marking": {"marking": "NATO UNCLASSIFIED", "releasable_to": ["JPN", "NDC"]}}),
        ));
        let all = StreamFilter::default();
        assert!(comment.passes(&scope_of("JPN"), &all));
        assert!(!comment.passes(&scope_of("KOR"), &all), "released to Korea, about an event Korea may not see");
    }

    /// With nobody subscribed the follower moves past the log without reading it, yet still tells
    /// the clock (kept answers depend on it); a stream that subscribes then hears what commits next.
    #[tokio::test]
    async fn with_no_subscriber_the_log_is_passed_over_and_the_next_subscriber_hears_what_follows() {
        let store: DynStore = Arc::new(eprime_store_sqlite::SqliteStore::connect("sqlite::memory:").await.unwrap());
        let clock = Arc::new(Clock::default());
        let hub = ChangeHub::start(store.clone(), clock.clone());
        let sign_in = |username: &str| eprime_store::SecurityEvent {
            operation: eprime_store::Operation::SignIn,
            username: username.to_owned(),
            partner: None,
            actor: None,
            details: serde_json::json!({}),
        };
        let before = clock.tick();
        store.record_security_event(sign_in("unheard")).await.unwrap();
        tokio::time::timeout(Duration::from_secs(10), async {
            while clock.tick() == before {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("the follower passed over the entry and moved the clock");
        let mut subscriber = hub.subscribe().unwrap();
        store.record_security_event(sign_in("heard")).await.unwrap();
        let last = store.last_change_seq().await.unwrap();
        let event = tokio::time::timeout(Duration::from_secs(10), subscriber.recv()).await.unwrap().unwrap();
        assert_eq!(event.seq, last, "the first event is the change after subscribing, not the one passed over");
    }

    #[test]
    fn filters_narrow_the_stream() {
        let event = StreamEvent::from_entry(&entry(EntityType::Activity, serde_json::json!({"marking": "PUBLIC"})));
        let korea = StreamFilter { partnership: Some(PartnerCode::parse("KOR").unwrap()), entities: None };
        assert!(!event.passes(&ReadScope::system(), &korea));
        let documents = StreamFilter { partnership: None, entities: Some(vec![EntityType::Document]) };
        assert!(!event.passes(&ReadScope::system(), &documents));
        let frame = std::str::from_utf8(&event.frame).unwrap();
        let data = frame.strip_prefix("event: change\nid: 7\ndata: ").and_then(|rest| rest.strip_suffix("\n\n"));
        let data = data.unwrap_or_else(|| panic!("not one Server-Sent Event with one data line: {frame:?}"));
        let body: serde_json::Value = serde_json::from_str(data).unwrap();
        assert_eq!(body["seq"], 7);
        assert_eq!(body["operation"], "update");
        assert_eq!(body["partnership"], "JPN");
    }
}
