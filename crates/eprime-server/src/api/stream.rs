//! `GET /api/v1/stream`: every committed change the caller may see, as Server-Sent Events.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use eprime_domain::{PartnerCode, ReadScope, ValidationErrors};
use eprime_store::{DynStore, EntityType};
use futures::Stream;
use serde::Deserialize;
use tokio::sync::broadcast::{self, error::RecvError};
use utoipa::IntoParams;

use crate::AppState;
use crate::auth::CurrentCaller;
use crate::changes::{StreamEvent, StreamFilter};
use crate::extract::ApiQuery;
use crate::problem::{ApiError, ApiResult, Problem};

/// Entries replayed from the log per read while catching up.
const REPLAY_BATCH: u32 = 500;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    /// Only changes of this partnership (e.g. JPN).
    pub partnership: Option<String>,
    /// Only these kinds of record, comma-separated: `activity`, `document`, `partnership`,
    /// `organisation`, `area`.
    pub entity: Option<String>,
    /// Resume after this event id (the same as the `Last-Event-ID` header, for clients that cannot
    /// set headers).
    pub after: Option<i64>,
}

fn filter(query: &StreamQuery) -> Result<StreamFilter, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let partnership = query.partnership.as_deref().and_then(|p| errors.check(PartnerCode::parse(p)));
    let entities = query.entity.as_deref().map(|list| {
        list.split(',')
            .filter_map(|name| {
                let found =
                    EntityType::parse(name.trim()).filter(|e| !matches!(e, EntityType::User | EntityType::Account));
                errors.check(found.ok_or_else(|| {
                    eprime_domain::FieldError::new(
                        "entity",
                        format!("`{name}` is not a kind of record the stream carries"),
                    )
                }))
            })
            .collect()
    });
    errors.into_result()?;
    Ok(StreamFilter { partnership, entities })
}

/// Live changes: each committed change the caller may see — the same visibility rule as every
/// read, applied per event — as an event `change` whose id is the change-log sequence and whose
/// data names the entity type, id, operation and the record's new state. Reconnecting with
/// `Last-Event-ID` resumes with no gap and no duplicate. Heartbeats every 15 seconds. A client
/// that falls too far behind is disconnected and resumes from its last event id.
#[utoipa::path(get, path = "/api/v1/stream", tag = "activities", security((), ("bearer" = [])), params(StreamQuery),
    responses(
        (status = 200, description = "An event stream (text/event-stream)", content_type = "text/event-stream"),
        (status = 400, description = "Bad filter", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The server is shutting down", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn stream(
    State(state): State<AppState>,
    CurrentCaller(caller): CurrentCaller,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<StreamQuery>,
) -> ApiResult<Response> {
    let filter = filter(&query).map_err(ApiError::bad_query)?;
    let resume = match headers.get("last-event-id").and_then(|v| v.to_str().ok()) {
        Some(raw) => {
            Some(raw.trim().parse::<i64>().map_err(|_| ApiError::bad_request("Last-Event-ID is not an event id"))?)
        }
        None => query.after,
    };
    // Subscribe before replaying, so nothing committed meanwhile falls between the two.
    let live = state.changes.subscribe().ok_or_else(|| {
        ApiError::new(axum::http::StatusCode::SERVICE_UNAVAILABLE, "the server is shutting down; reconnect")
    })?;
    let replay = match resume {
        Some(after) => Replay::From(after),
        None => Replay::Done,
    };
    let subscription = Subscription {
        store: state.store.clone(),
        scope: caller.read_scope(),
        filter,
        live,
        replay,
        pending: VecDeque::new(),
        skip_through: resume.unwrap_or(0),
    };
    let body = Body::from_stream(frames(subscription, KEEP_ALIVE));
    let headers = [(header::CONTENT_TYPE, "text/event-stream"), (header::CACHE_CONTROL, "no-cache")];
    Ok((headers, body).into_response())
}

/// A comment line sent after this long without an event, so proxies keep the connection open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The subscription as the bytes of its response: each event's frame (written once for all
/// subscribers, `StreamEvent::frame`), and a `:keep-alive` comment after `keep_alive` without one.
fn frames(subscription: Subscription, keep_alive: Duration) -> impl Stream<Item = Result<Bytes, Infallible>> {
    let idle = Box::pin(tokio::time::sleep(keep_alive));
    futures::stream::unfold((subscription, idle), move |(mut s, mut idle)| async move {
        let frame = tokio::select! {
            biased;
            event = s.next() => event?.frame.clone(),
            () = &mut idle => Bytes::from_static(b":keep-alive\n\n"),
        };
        idle.as_mut().reset(tokio::time::Instant::now() + keep_alive);
        Some((Ok(frame), (s, idle)))
    })
}

enum Replay {
    /// Still catching up from the log after this sequence number.
    From(i64),
    Done,
}

struct Subscription {
    store: DynStore,
    scope: ReadScope,
    filter: StreamFilter,
    live: broadcast::Receiver<Arc<StreamEvent>>,
    replay: Replay,
    /// Replayed events not yet sent (at most one batch).
    pending: VecDeque<Arc<StreamEvent>>,
    /// The highest sequence number already replayed (or resumed after): live events up to it
    /// were read from the log and are not sent twice.
    skip_through: i64,
}

impl Subscription {
    /// The next event for this subscriber; `None` ends the stream.
    async fn next(&mut self) -> Option<Arc<StreamEvent>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            if let Replay::From(after) = self.replay {
                let entries = self.store.changes_after(after, REPLAY_BATCH).await.ok()?;
                self.replay = match entries.last() {
                    Some(last) if entries.len() == REPLAY_BATCH as usize => Replay::From(last.seq),
                    _ => Replay::Done,
                };
                self.pending.extend(
                    entries
                        .iter()
                        .map(|entry| Arc::new(StreamEvent::from_entry(entry)))
                        .filter(|event| event.passes(&self.scope, &self.filter)),
                );
                if let Some(last) = entries.last() {
                    self.skip_through = self.skip_through.max(last.seq);
                }
                continue;
            }
            match self.live.recv().await {
                Ok(event) if event.seq <= self.skip_through => continue,
                Ok(event) if event.passes(&self.scope, &self.filter) => return Some(event),
                Ok(_) => continue,
                // Too far behind: end here; the client resumes from its last event id.
                Err(RecvError::Lagged(_)) | Err(RecvError::Closed) => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eprime_store::{ChangeEntry, Operation};

    fn event(seq: i64) -> Arc<StreamEvent> {
        Arc::new(StreamEvent::from_entry(&ChangeEntry {
            seq,
            at: time::OffsetDateTime::UNIX_EPOCH,
            actor: None,
            entity: EntityType::Activity,
            entity_id: seq.to_string(),
            partner: Some("JPN".into()),
            operation: Operation::Create,
            before: None,
            after: Some(serde_json::json!({"marking": "PUBLIC"}).into()),
        }))
    }

    async fn subscription(live: broadcast::Receiver<Arc<StreamEvent>>) -> Subscription {
        let store = eprime_store_sqlite::SqliteStore::connect("sqlite::memory:").await.unwrap();
        Subscription {
            store: Arc::new(store),
            scope: ReadScope::public_only(),
            filter: StreamFilter::default(),
            live,
            replay: Replay::Done,
            pending: VecDeque::new(),
            skip_through: 0,
        }
    }

    #[tokio::test]
    async fn a_subscriber_that_falls_behind_is_cut_off_not_waited_for() {
        let (sender, receiver) = broadcast::channel(4);
        let mut slow = subscription(receiver).await;
        for seq in 1..=10 {
            sender.send(event(seq)).unwrap(); // never blocks, whoever is behind
        }
        assert!(slow.next().await.is_none(), "the lagging stream ends; its client resumes from its last id");
    }

    #[tokio::test]
    async fn a_subscriber_that_keeps_up_gets_every_event_in_order() {
        let (sender, receiver) = broadcast::channel(4);
        let mut subscriber = subscription(receiver).await;
        for seq in 1..=3 {
            sender.send(event(seq)).unwrap();
        }
        for seq in 1..=3 {
            assert_eq!(subscriber.next().await.unwrap().seq, seq);
        }
    }

    #[tokio::test]
    async fn the_response_is_each_events_frame_and_a_keep_alive_comment_when_idle() {
        use futures::StreamExt;
        let (sender, receiver) = broadcast::channel(4);
        let subscription = subscription(receiver).await;
        // Paused once the database is open: from here the clock moves only when everything waits.
        tokio::time::pause();
        let mut frames = Box::pin(frames(subscription, Duration::from_secs(15)));
        let started = tokio::time::Instant::now();
        sender.send(event(1)).unwrap();
        assert_eq!(frames.next().await.unwrap().unwrap(), event(1).frame);
        assert_eq!(started.elapsed(), Duration::ZERO, "an event goes at once");
        assert_eq!(&frames.next().await.unwrap().unwrap()[..], b":keep-alive\n\n");
        // The timer's ticks are milliseconds: a deadline is rounded up to the next.
        let about = |secs: u64| Duration::from_secs(secs)..Duration::from_secs(secs) + Duration::from_millis(5);
        assert!(about(15).contains(&started.elapsed()), "a comment after 15 s without an event");
        tokio::time::advance(Duration::from_secs(5)).await;
        sender.send(event(2)).unwrap();
        assert_eq!(frames.next().await.unwrap().unwrap(), event(2).frame);
        assert_eq!(&frames.next().await.unwrap().unwrap()[..], b":keep-alive\n\n");
        assert!(about(35).contains(&started.elapsed()), "the wait starts again after each event (at 20 s)");
        drop(sender);
        assert!(frames.next().await.is_none(), "closing the hub ends the response");
    }
}
