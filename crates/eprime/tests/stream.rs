//! The live stream over HTTP: each change reaches those allowed to see it and nobody else;
//! reconnecting with Last-Event-ID loses nothing and repeats nothing; a stalled client does not
//! hold up the others.

mod common;

use std::time::Duration;

use common::sse::EventStream;
use common::{TestApp, problem};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Generous bound: the stream is meant to be immediate, but CI machines are slow and busy.
const ARRIVES: Duration = Duration::from_secs(10);
const SILENCE: Duration = Duration::from_millis(700);

async fn create(app: &TestApp, token: &str, partnership: &str, title: &str) -> String {
    let body = json!({"partnership": partnership, "title": title, "kind": "meeting"});
    let response = app.post("/api/v1/activities", Some(token), &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_change_reaches_those_allowed_to_see_it_and_nobody_else() {
    let app = TestApp::demo().await;
    let staff = app.login("nato.staff").await;
    let japan = app.login("jpn.officer").await;
    let korea = app.login("kor.officer").await;
    let mut japan_stream = EventStream::open(&app, "", Some(&japan), None).await;
    let mut korea_stream = EventStream::open(&app, "", Some(&korea), None).await;
    let mut public_stream = EventStream::open(&app, "", None, None).await;
    let mut staff_stream = EventStream::open(&app, "?partnership=KOR&entity=activity", Some(&staff), None).await;

    let japanese = create(&app, &staff, "JPN", "Japan-only talks").await;
    let event = japan_stream.next(ARRIVES).await.expect("Japan sees its own activity");
    assert_eq!(event.data["entity"], "activity");
    assert_eq!(event.data["id"], japanese.as_str());
    assert_eq!(event.data["operation"], "create");
    assert_eq!(event.data["partnership"], "JPN");
    assert_eq!(event.data["actor"], "nato.staff");
    assert_eq!(event.data["record"]["title"], "Japan-only talks");
    assert_eq!(event.data["seq"], event.id);

    let korean = create(&app, &staff, "KOR", "Korea-only talks").await;
    let seen_by_korea = korea_stream.next(ARRIVES).await.expect("Korea sees its own activity");
    assert_eq!(seen_by_korea.data["id"], korean.as_str(), "and never saw Japan's before it");
    let filtered = staff_stream.next(ARRIVES).await.expect("filters pass matching changes");
    assert_eq!(filtered.data["id"], korean.as_str(), "the partnership filter skipped Japan's");
    assert!(japan_stream.next(SILENCE).await.is_none(), "Japan never sees Korea's activity");
    assert!(public_stream.next(SILENCE).await.is_none(), "the public sees neither");

    // An update and a transition arrive too, with the new state.
    let path = format!("/api/v1/activities/{japanese}");
    let patched = app
        .request(reqwest::Method::PATCH, &path, Some(&japan))
        .header("If-Match", "\"v1\"")
        .json(&json!({"title": "Japan-only talks, renamed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), StatusCode::OK);
    let update = japan_stream.next(ARRIVES).await.unwrap();
    assert_eq!(
        (update.data["operation"].as_str(), update.data["record"]["version"].as_i64()),
        (Some("update"), Some(2))
    );
    app.post(&format!("{path}/transitions"), Some(&staff), &json!({"to": "approved"})).await;
    let transition = japan_stream.next(ARRIVES).await.unwrap();
    assert_eq!(transition.data["record"]["status"], "approved");
    // Sign-ins and account changes are never streamed, even to NATO staff.
    app.login("jpn.officer").await;
    let mut everything = EventStream::open(&app, "", Some(&staff), None).await;
    app.login("fra.ally").await;
    assert!(everything.next(SILENCE).await.is_none());
}

#[tokio::test]
async fn reconnecting_with_last_event_id_loses_nothing_and_repeats_nothing() {
    let app = TestApp::demo().await;
    let staff = app.login("nato.staff").await;
    let japan = app.login("jpn.officer").await;
    let mut stream = EventStream::open(&app, "", Some(&japan), None).await;
    create(&app, &staff, "JPN", "Before the drop").await;
    let last = stream.next(ARRIVES).await.unwrap().id;
    drop(stream);

    let mut missed = Vec::new();
    for title in ["While away 1", "While away 2"] {
        missed.push(create(&app, &staff, "JPN", title).await);
        create(&app, &staff, "KOR", "Not for Japan").await;
    }
    missed.push(create(&app, &staff, "JPN", "While away 3").await);

    let mut resumed = EventStream::open(&app, "", Some(&japan), Some(last)).await;
    let mut received = Vec::new();
    for _ in 0..3 {
        let event = resumed.next(ARRIVES).await.expect("the missed changes are replayed");
        assert!(event.id > last);
        received.push(event.data["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(received, missed, "in order, without gap");
    let live = create(&app, &staff, "JPN", "After the return").await;
    let next = resumed.next(ARRIVES).await.unwrap();
    assert_eq!(next.data["id"], live.as_str(), "then live, without duplicates");
    assert!(resumed.next(SILENCE).await.is_none());

    // The query parameter does the same for clients that cannot set headers.
    let mut by_query = EventStream::open(&app, &format!("?after={last}&entity=activity"), Some(&japan), None).await;
    assert_eq!(by_query.next(ARRIVES).await.unwrap().data["id"], missed[0].as_str());
}

#[tokio::test]
async fn a_stalled_client_does_not_hold_up_the_others() {
    let app = TestApp::demo().await;
    let staff = app.login("nato.staff").await;
    // Opened and never read.
    let _stalled = EventStream::open(&app, "", Some(&staff), None).await;
    let mut reader = EventStream::open(&app, "", Some(&staff), None).await;
    let mut last = String::new();
    for i in 0..50 {
        last = create(&app, &staff, "JPN", &format!("Burst {i}")).await;
    }
    let mut seen = 0;
    while let Some(event) = reader.next(ARRIVES).await {
        seen += 1;
        if event.data["id"] == last.as_str() {
            break;
        }
    }
    assert_eq!(seen, 50, "every change reached the reading client");
}

#[tokio::test]
async fn bad_stream_requests_are_problems() {
    let app = TestApp::demo().await;
    for query in ["?entity=user", "?entity=planet", "?partnership=Japan", "?colour=red", "?after=x"] {
        problem(app.get(&format!("/api/v1/stream{query}"), None).await, StatusCode::BAD_REQUEST).await;
    }
    let bad_id = app
        .request(reqwest::Method::GET, "/api/v1/stream", None)
        .header("Last-Event-ID", "yesterday")
        .send()
        .await
        .unwrap();
    problem(bad_id, StatusCode::BAD_REQUEST).await;
    problem(app.get("/api/v1/stream", Some("forged")).await, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn stopping_the_server_ends_open_streams_instead_of_waiting_for_them() {
    let mut app = TestApp::demo().await;
    let staff = app.login("nato.staff").await;
    let mut stream = EventStream::open(&app, "", Some(&staff), None).await;
    let server = app.server.take().unwrap();
    tokio::time::timeout(Duration::from_secs(20), server.stop()).await.expect("the server stops").unwrap();
    assert!(stream.next(Duration::from_secs(5)).await.is_none(), "the stream ended");
}
