//! Discussions, watches and notifications through the API.

mod common;

use std::time::Duration;

use common::sse::EventStream;
use common::{TestApp, problem};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn activity(app: &TestApp, token: &str, partnership: &str, title: &str) -> String {
    let body = json!({"partnership": partnership, "title": title, "kind": "meeting"});
    let response = app.post("/api/v1/activities", Some(token), &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

/// The inbox once the notifier has caught up (it runs in the background, woken by each change).
async fn inbox_with(app: &TestApp, token: &str, at_least: usize) -> Value {
    for _ in 0..100 {
        let inbox = app.get_json("/api/v1/notifications", Some(token)).await;
        if inbox["items"].as_array().unwrap().len() >= at_least {
            return inbox;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the inbox never held {at_least} notifications");
}

#[tokio::test]
async fn a_discussion_is_held_edited_and_moderated_where_the_activity_is_visible() {
    let app = TestApp::demo().await;
    let staff = app.login("nato.staff").await;
    let japan = app.login("jpn.officer").await;
    let korea = app.login("kor.officer").await;
    let id = activity(&app, &japan, "JPN", "Cyber staff talks").await;
    let path = format!("/api/v1/activities/{id}/comments");

    let posted =
        app.post(&path, Some(&japan), &json!({"body": "Proposed for March. @nato.staff, can you confirm?"})).await;
    assert_eq!(posted.status(), StatusCode::CREATED);
    let comment: Value = posted.json().await.unwrap();
    assert_eq!(comment["author"], "jpn.officer");
    assert_eq!(comment["mentions"], json!(["nato.staff"]));
    assert_eq!(comment["releasable_to"], json!(["JPN"]));
    let reply = app
        .post(
            &path,
            Some(&staff),
            &json!({"body": "Confirmed.", "marking": "NATO UNCLASSIFIED", "releasable_to": ["ALLIES"]}),
        )
        .await;
    assert_eq!(reply.status(), StatusCode::CREATED);

    let thread = app.get_json(&path, Some(&japan)).await;
    assert_eq!(thread.as_array().unwrap().len(), 2, "oldest first, both visible to Japan");
    problem(app.get(&path, Some(&korea)).await, StatusCode::NOT_FOUND).await;
    problem(app.post(&path, Some(&korea), &json!({"body": "Hello?"})).await, StatusCode::NOT_FOUND).await;
    problem(app.get(&path, None).await, StatusCode::NOT_FOUND).await;

    let comment_path = format!("/api/v1/comments/{}", comment["id"].as_str().unwrap());
    let edit = |token: &str, body: &str| {
        app.request(Method::PATCH, &comment_path, Some(token)).json(&json!({"body": body})).send()
    };
    problem(edit(&staff, "Rewritten by staff").await.unwrap(), StatusCode::FORBIDDEN).await;
    let edited = edit(&japan, "Proposed for April.").await.unwrap();
    assert_eq!(edited.status(), StatusCode::OK);
    let stale = app
        .request(Method::PATCH, &comment_path, Some(&japan))
        .header("If-Match", "\"v1\"")
        .json(&json!({"body": "x"}))
        .send()
        .await
        .unwrap();
    problem(stale, StatusCode::PRECONDITION_FAILED).await;
    let deleted = app.request(Method::DELETE, &comment_path, Some(&staff)).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::OK, "NATO staff moderate");
    let deleted: Value = deleted.json().await.unwrap();
    assert_eq!(deleted["body"], "");
    problem(edit(&japan, "Back from the dead").await.unwrap(), StatusCode::CONFLICT).await;
    let history = app.get_json(&format!("{comment_path}/history"), Some(&japan)).await;
    let bodies: Vec<&str> =
        history.as_array().unwrap().iter().map(|h| h["after"]["body"].as_str().unwrap_or_default()).collect();
    assert_eq!(
        bodies,
        ["Proposed for March. @nato.staff, can you confirm?", "Proposed for April.", ""],
        "every version kept"
    );

    // Bad input.
    problem(app.post(&path, Some(&japan), &json!({"body": "   "})).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    problem(
        app.post(&path, Some(&japan), &json!({"body": "x", "marking": "SECRET"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    problem(
        app.post("/api/v1/activities/nope/comments", Some(&japan), &json!({"body": "x"})).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    let auditor = app.login("auditor").await;
    problem(app.post(&path, Some(&auditor), &json!({"body": "Noted"})).await, StatusCode::FORBIDDEN).await;

    // Documents and goals have discussions too.
    let documents = app.get_json("/api/v1/documents?partnership=JPN&kind=ITPP", Some(&japan)).await;
    let document = documents[0]["id"].as_str().unwrap();
    let on_document = app
        .post(&format!("/api/v1/documents/{document}/comments"), Some(&japan), &json!({"body": "Mid-term review due."}))
        .await;
    assert_eq!(on_document.status(), StatusCode::CREATED);
    let detail = app.get_json(&format!("/api/v1/documents/{document}"), Some(&japan)).await;
    let goal = detail["partnership_goals"][0]["id"].as_str().unwrap();
    let on_goal = app
        .post(&format!("/api/v1/goals/{goal}/comments"), Some(&japan), &json!({"body": "Progress on cyber defence."}))
        .await;
    assert_eq!(on_goal.status(), StatusCode::CREATED);
    assert_eq!(
        app.get_json(&format!("/api/v1/goals/{goal}/comments"), None).await.as_array().unwrap().len(),
        0,
        "the public sees no restricted comment on a public goal"
    );
}

#[tokio::test]
async fn watchers_mentioned_users_and_approvers_are_notified() {
    let app = TestApp::demo().await;
    let staff = app.login("nato.staff").await;
    let japan = app.login("jpn.officer").await;
    let korea = app.login("kor.officer").await;
    let id = activity(&app, &japan, "JPN", "Maritime exercise").await;
    // NATO staff are asked to approve what Japan proposed (the demo's own proposals wait too).
    let mut approval = None;
    for _ in 0..100 {
        let inbox = app.get_json("/api/v1/notifications", Some(&staff)).await;
        approval = inbox["items"].as_array().unwrap().iter().find(|n| n["entity_id"] == id.as_str()).cloned();
        if approval.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(approval.expect("an approval request for the new activity")["reason"], "approval");

    let watch =
        app.request(Method::PUT, &format!("/api/v1/watches/activities/{id}"), Some(&japan)).send().await.unwrap();
    assert_eq!(watch.status(), StatusCode::NO_CONTENT);
    let hidden =
        app.request(Method::PUT, &format!("/api/v1/watches/activities/{id}"), Some(&korea)).send().await.unwrap();
    problem(hidden, StatusCode::NOT_FOUND).await;
    let watched = app.get_json("/api/v1/watches", Some(&japan)).await;
    assert_eq!(watched[0]["entity_id"], id.as_str());

    app.post(&format!("/api/v1/activities/{id}/transitions"), Some(&staff), &json!({"to": "approved"})).await;
    app.post(
        &format!("/api/v1/activities/{id}/comments"),
        Some(&staff),
        &json!({"body": "@jpn.officer @kor.officer dates?"}),
    )
    .await;
    let japan_inbox = inbox_with(&app, &japan, 2).await;
    let reasons: Vec<&str> =
        japan_inbox["items"].as_array().unwrap().iter().map(|n| n["reason"].as_str().unwrap()).collect();
    assert_eq!(reasons, ["mention", "watched"], "newest first");
    assert!(japan_inbox["items"][1]["summary"].as_str().unwrap().contains("approved"));
    assert_eq!(japan_inbox["unread"], 2);
    let korea_inbox = app.get_json("/api/v1/notifications", Some(&korea)).await;
    assert!(korea_inbox["items"].as_array().unwrap().is_empty(), "a mention reveals nothing Korea may not see");

    let first = japan_inbox["items"][0]["id"].as_str().unwrap();
    let marked: Value =
        app.post("/api/v1/notifications/read", Some(&japan), &json!({"ids": [first]})).await.json().await.unwrap();
    assert_eq!(marked["marked"], 1);
    let unread = app.get_json("/api/v1/notifications?unread=true", Some(&japan)).await;
    assert_eq!(unread["items"].as_array().unwrap().len(), 1);
    let all: Value = app.post("/api/v1/notifications/read", Some(&japan), &json!({})).await.json().await.unwrap();
    assert_eq!(all["marked"], 1);
    problem(
        app.post("/api/v1/notifications/read", Some(&japan), &json!({"ids": ["x"]})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;

    let unwatch =
        app.request(Method::DELETE, &format!("/api/v1/watches/activities/{id}"), Some(&japan)).send().await.unwrap();
    assert_eq!(unwatch.status(), StatusCode::NO_CONTENT);
    problem(
        app.request(Method::DELETE, &format!("/api/v1/watches/activities/{id}"), Some(&japan)).send().await.unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        app.request(Method::PUT, "/api/v1/watches/users/nato.staff", Some(&japan)).send().await.unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    problem(app.get("/api/v1/notifications", None).await, StatusCode::UNAUTHORIZED).await;
}

/// How many comments a thread shows `token`'s user; `None` when the subject answers 404.
async fn count(app: &TestApp, path: &str, token: Option<&str>) -> Option<usize> {
    let response = app.get(path, token).await;
    match response.status() {
        StatusCode::OK => Some(response.json::<Value>().await.unwrap().as_array().unwrap().len()),
        StatusCode::NOT_FOUND => None,
        other => panic!("GET {path}: {other}"),
    }
}

/// A published NDC course open to Japan and Korea, through the API.
async fn published_event(app: &TestApp, code: &str) -> String {
    let staff = app.login("nato.staff").await;
    let provider = app.login("ndc.provider").await;
    let today = time::OffsetDateTime::now_utc().date();
    let start = today + time::Duration::days(60);
    let body = json!({
        "code": code, "title": "Maritime Security Course", "areas": ["CEP"], "event_type": "course",
        "contact": {"name": "Registrar", "email": "registrar@ndc.example"},
        "sessions": [{"starts_on": start.to_string(), "ends_on": (start + time::Duration::days(4)).to_string(),
                      "location": "Rome, ITA"}],
        "seats": 20, "nation_quota": 4, "eligibility": {"kind": "nations", "nations": ["JPN", "KOR"]},
        "nomination_deadline": (today + time::Duration::days(30)).to_string(),
    });
    let response = app.post("/api/v1/menu", Some(&provider), &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let id = response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    for (to, token) in [("submitted", &provider), ("approved", &staff), ("published", &provider)] {
        let response = app.post(&format!("/api/v1/menu/{id}/transitions"), Some(token), &json!({"to": to})).await;
        assert_eq!(response.status(), StatusCode::OK, "to {to}");
    }
    id
}

#[tokio::test]
async fn a_menu_event_is_discussed_by_those_who_see_it_and_each_partner_keeps_its_own_words() {
    let app = TestApp::demo().await;
    let staff = app.login("nato.staff").await;
    let provider = app.login("ndc.provider").await;
    let japan = app.login("jpn.officer").await;
    let korea = app.login("kor.officer").await;
    let ally = app.login("fra.ally").await;
    let id = published_event(&app, "MAR-NDC-DISCUSS").await;
    let path = format!("/api/v1/menu/{id}/comments");
    let mut japan_stream = EventStream::open(&app, "?entity=comment", Some(&japan), None).await;
    let mut korea_stream = EventStream::open(&app, "?entity=comment", Some(&korea), None).await;
    let watch = format!("/api/v1/watches/offerings/{id}");
    assert_eq!(app.request(Method::PUT, &watch, Some(&korea)).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    problem(app.request(Method::PUT, &watch, Some(&ally)).send().await.unwrap(), StatusCode::NOT_FOUND).await;

    // Japan asks: NATO, the provider and Japan read it; Korea, also invited, does not.
    let asked = app.post(&path, Some(&japan), &json!({"body": "Is there a reading list? @ndc.provider"})).await;
    assert_eq!(asked.status(), StatusCode::CREATED);
    let asked: Value = asked.json().await.unwrap();
    assert_eq!((asked["subject"].as_str(), asked["partnership"].is_null()), (Some("offering"), true));
    assert_eq!(asked["releasable_to"], json!(["JPN", "NDC"]));
    assert_eq!(count(&app, &path, Some(&japan)).await, Some(1));
    assert_eq!(count(&app, &path, Some(&provider)).await, Some(1));
    assert_eq!(count(&app, &path, Some(&staff)).await, Some(1));
    assert_eq!(count(&app, &path, Some(&korea)).await, Some(0), "Korea sees the event but not Japan's question");
    assert_eq!(count(&app, &path, Some(&ally)).await, None, "an Ally the event is not released to: 404");
    assert_eq!(count(&app, &path, None).await, None);
    let comment_path = format!("/api/v1/comments/{}", asked["id"].as_str().unwrap());
    problem(app.get(&format!("{comment_path}/history"), Some(&korea)).await, StatusCode::NOT_FOUND).await;
    let hijack = app.request(Method::PATCH, &comment_path, Some(&korea)).json(&json!({"body": "x"})).send().await;
    problem(hijack.unwrap(), StatusCode::NOT_FOUND).await;
    let event = japan_stream.next(Duration::from_secs(10)).await.expect("Japan's stream carries its comment");
    assert_eq!(event.data["id"], asked["id"]);

    // Korea's own comment stays Korea's; the provider's answer to every partner reaches both.
    let korean = app.post(&path, Some(&korea), &json!({"body": "Korea will send two officers."})).await;
    assert_eq!(korean.status(), StatusCode::CREATED);
    let korean: Value = korean.json().await.unwrap();
    let answer = json!({"body": "Yes: on the course page.", "releasable_to": ["PARTNERS"]});
    let answered = app.post(&path, Some(&provider), &answer).await;
    assert_eq!(answered.status(), StatusCode::CREATED);
    let answered: Value = answered.json().await.unwrap();
    let first = korea_stream.next(Duration::from_secs(10)).await.expect("Korea's stream carries its comment");
    assert_eq!(first.data["id"], korean["id"], "Japan's comment never reached Korea's stream");
    let second = korea_stream.next(Duration::from_secs(10)).await.expect("and the provider's answer");
    assert_eq!(second.data["id"], answered["id"]);
    let next = japan_stream.next(Duration::from_secs(10)).await.expect("Japan's stream carries the answer");
    assert_eq!(next.data["id"], answered["id"], "Korea's comment never reached Japan's stream");
    assert_eq!(count(&app, &path, Some(&japan)).await, Some(2));
    assert_eq!(count(&app, &path, Some(&korea)).await, Some(2));

    // Watching the event: the answer Korea may read reaches its inbox; mentions reach the provider.
    let mut watched = None;
    for _ in 0..100 {
        let inbox = app.get_json("/api/v1/notifications", Some(&korea)).await;
        // The notifier works in passes: wait for the answer's notification, not the event's earlier ones.
        watched = inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["reason"] == "watched" && n["summary"].as_str().is_some_and(|s| s.contains("course page")))
            .cloned();
        if watched.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let watched = watched.expect("the watched event's discussion reaches Korea's inbox");
    assert_eq!((watched["entity"].as_str(), watched["entity_id"].as_str()), (Some("offering"), Some(id.as_str())));
    assert!(watched["summary"].as_str().unwrap().contains("course page"), "{watched}");
    let korea_inbox = app.get_json("/api/v1/notifications", Some(&korea)).await;
    assert!(
        korea_inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| !n["summary"].as_str().unwrap().contains("reading list")),
        "nothing of Japan's question: {korea_inbox}"
    );
    let mut mentioned = false;
    for _ in 0..100 {
        let inbox = app.get_json("/api/v1/notifications", Some(&provider)).await;
        mentioned = inbox["items"].as_array().unwrap().iter().any(|n| n["reason"] == "mention");
        if mentioned {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(mentioned, "the provider is told of its mention");

    // Edited by its author, removed by NATO staff, every version kept.
    let edited = app.request(Method::PATCH, &comment_path, Some(&japan)).json(&json!({"body": "Reading list?"}));
    assert_eq!(edited.send().await.unwrap().status(), StatusCode::OK);
    let deleted = app.request(Method::DELETE, &comment_path, Some(&staff)).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::OK);
    let history = app.get_json(&format!("{comment_path}/history"), Some(&japan)).await;
    let operations: Vec<&str> = history.as_array().unwrap().iter().map(|h| h["operation"].as_str().unwrap()).collect();
    assert_eq!(operations, ["create", "update", "delete"]);
    let unwatch = app.request(Method::DELETE, &watch, Some(&korea)).send().await.unwrap();
    assert_eq!(unwatch.status(), StatusCode::NO_CONTENT);

    // Bad input.
    problem(app.post("/api/v1/menu/nope/comments", Some(&japan), &json!({"body": "x"})).await, StatusCode::BAD_REQUEST)
        .await;
    problem(app.post(&path, Some(&japan), &json!({"body": ""})).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    let auditor = app.login("auditor").await;
    problem(app.post(&path, Some(&auditor), &json!({"body": "Noted"})).await, StatusCode::FORBIDDEN).await;
}
