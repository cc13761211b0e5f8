//! Creating, updating and moving activities through their lifecycle over HTTP.

mod common;

use common::{TestApp, problem};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let response = app.post("/api/v1/activities", Some(token), &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["etag"], "\"v1\"");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let activity: Value = response.json().await.unwrap();
    assert_eq!(location, format!("/api/v1/activities/{}", activity["id"].as_str().unwrap()));
    activity
}

#[tokio::test]
async fn an_activity_is_created_updated_and_transitioned() {
    let app = TestApp::demo().await;
    let officer = app.login("jpn.officer").await;
    let staff = app.login("nato.staff").await;

    let body = json!({"partnership": "JPN", "title": "Staff talks", "kind": "meeting", "starts_on": "2026-12-01", "ends_on": "2026-12-02"});
    let activity = create(&app, &officer, body).await;
    assert_eq!(activity["status"], "proposed");
    assert_eq!(activity["marking"], "NATO UNCLASSIFIED");
    assert_eq!(activity["releasable_to"], json!(["JPN"]));
    let path = format!("/api/v1/activities/{}", activity["id"].as_str().unwrap());

    let read = app.get(&path, Some(&officer)).await;
    assert_eq!(read.headers()["etag"], "\"v1\"");

    // Update with the current ETag.
    let patch = app
        .request(Method::PATCH, &path, Some(&officer))
        .header("If-Match", "\"v1\"")
        .json(&json!({"title": "Staff talks on cyber defence", "location": "Brussels"}))
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status(), StatusCode::OK);
    assert_eq!(patch.headers()["etag"], "\"v2\"");
    let updated: Value = patch.json().await.unwrap();
    assert_eq!(updated["title"], "Staff talks on cyber defence");
    assert_eq!(updated["location"], "Brussels");

    // A stale ETag: 412, nothing changes.
    let stale = app
        .request(Method::PATCH, &path, Some(&staff))
        .header("If-Match", "\"v1\"")
        .json(&json!({"title": "Overwritten"}))
        .send()
        .await
        .unwrap();
    let body = problem(stale, StatusCode::PRECONDITION_FAILED).await;
    assert_eq!(body["current_version"], 2);
    assert_eq!(app.get_json(&path, Some(&staff)).await["title"], "Staff talks on cyber defence");

    // No If-Match at all: 428.
    let blind = app.request(Method::PATCH, &path, Some(&staff)).json(&json!({"title": "Blind"})).send().await.unwrap();
    problem(blind, StatusCode::PRECONDITION_REQUIRED).await;

    // Only NATO approves.
    let transitions = format!("{path}/transitions");
    problem(app.post(&transitions, Some(&officer), &json!({"to": "approved"})).await, StatusCode::FORBIDDEN).await;
    let approved = app.post(&transitions, Some(&staff), &json!({"to": "approved"})).await;
    assert_eq!(approved.status(), StatusCode::OK);
    assert_eq!(approved.headers()["etag"], "\"v3\"");

    // A step the lifecycle does not allow names the allowed ones.
    let refused =
        problem(app.post(&transitions, Some(&staff), &json!({"to": "completed"})).await, StatusCode::CONFLICT).await;
    assert_eq!(refused["allowed"], json!(["scheduled", "postponed", "cancelled"]));
    assert!(refused["detail"].as_str().unwrap().contains("scheduled, postponed, cancelled"));
    // Postponing needs a reason.
    let reasonless = problem(
        app.post(&transitions, Some(&officer), &json!({"to": "postponed"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(reasonless["errors"][0]["field"], "reason");
    let postponed =
        app.post(&transitions, Some(&officer), &json!({"to": "postponed", "reason": "typhoon season"})).await;
    let postponed: Value = postponed.json().await.unwrap();
    assert_eq!(postponed["status"], "postponed");
    assert_eq!(postponed["status_reason"], "typhoon season");
    // Unknown status.
    let unknown =
        problem(app.post(&transitions, Some(&staff), &json!({"to": "party"})).await, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    assert_eq!(unknown["errors"][0]["field"], "to");

    // History: create, update, two transitions; the update shows what changed.
    let history = app.get_json(&format!("{path}/history"), Some(&officer)).await;
    let operations: Vec<&str> = history.as_array().unwrap().iter().map(|h| h["operation"].as_str().unwrap()).collect();
    assert_eq!(operations, ["create", "update", "transition", "transition"]);
    let changed: Vec<&str> =
        history[1]["changes"].as_array().unwrap().iter().map(|c| c["field"].as_str().unwrap()).collect();
    assert_eq!(changed, ["location", "title"]);
    assert_eq!(history[0]["actor"], "jpn.officer");
    assert_eq!(history[2]["actor"], "nato.staff");
}

#[tokio::test]
async fn lists_filter_and_paginate() {
    let app = TestApp::demo().await;
    let staff = app.login("nato.staff").await;
    let all = app.all_activities("&partnership=JPN", Some(&staff)).await;
    let completed = app.all_activities("&partnership=JPN&status=completed", Some(&staff)).await;
    assert!(!completed.is_empty() && completed.len() < all.len());
    assert!(completed.iter().all(|a| a["status"] == "completed"));
    let trust_funds = app.all_activities("&kind=trust_fund", Some(&staff)).await;
    assert!(trust_funds.iter().all(|a| a["kind"] == "trust_fund") && !trust_funds.is_empty());
    let baltic = app.all_activities("&q=Baltic", Some(&staff)).await;
    assert!(!baltic.is_empty() && baltic.iter().all(|a| a.to_string().contains("Baltic")));
    let in_2014 = app.all_activities("&from=2014-01-01&to=2014-12-31", Some(&staff)).await;
    for activity in &in_2014 {
        let ends = activity["ends_on"].as_str().unwrap_or("9999-12-31");
        let starts = activity["starts_on"].as_str().unwrap_or("0000-01-01");
        assert!(ends >= "2014-01-01" && starts <= "2014-12-31", "{activity}");
    }
    // Small pages cover the same set, each item once.
    let mut paged = Vec::new();
    let mut after = None::<String>;
    loop {
        let mut path = "/api/v1/activities?partnership=JPN&limit=7".to_owned();
        if let Some(cursor) = &after {
            path.push_str(&format!("&after={}", common::urlencode(cursor)));
        }
        let page = app.get_json(&path, Some(&staff)).await;
        paged.extend(page["items"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => after = Some(c.to_owned()),
            None => break,
        }
    }
    let mut ids: Vec<String> = all.iter().map(|a| a["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(paged, ids, "same order, page by page");
    ids.dedup();
    assert_eq!(ids.len(), paged.len());
    for bad in
        ["status=party", "from=2014-13-01", "limit=0", "limit=500", "after=garbage", "partnership=Japan", "colour=red"]
    {
        let response = app.get(&format!("/api/v1/activities?{bad}"), Some(&staff)).await;
        problem(response, StatusCode::BAD_REQUEST).await;
    }
}

#[tokio::test]
async fn data_survives_a_restart() {
    let mut app = TestApp::demo().await;
    let staff = app.login("nato.staff").await;
    let created =
        create(&app, &staff, json!({"partnership": "KOR", "title": "Cyber staff talks", "kind": "consultation"})).await;
    app.restart().await;
    let staff = app.login("nato.staff").await;
    let read = app.get_json(&format!("/api/v1/activities/{}", created["id"].as_str().unwrap()), Some(&staff)).await;
    assert_eq!(read, created);
}

#[tokio::test]
async fn sign_out_revokes_the_token_and_bad_credentials_look_alike() {
    let app = TestApp::demo().await;
    let token = app.login("jpn.officer").await;
    let out = app.request(Method::POST, "/api/v1/auth/logout", Some(&token)).send().await.unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    problem(app.get("/api/v1/auth/me", Some(&token)).await, StatusCode::UNAUTHORIZED).await;
    problem(app.get("/api/v1/activities", Some(&token)).await, StatusCode::UNAUTHORIZED).await;
    let wrong_password =
        app.post("/api/v1/auth/login", None, &json!({"username": "jpn.officer", "password": "wrong-password"})).await;
    let unknown_user =
        app.post("/api/v1/auth/login", None, &json!({"username": "nobody", "password": "wrong-password"})).await;
    let a = problem(wrong_password, StatusCode::UNAUTHORIZED).await;
    let b = problem(unknown_user, StatusCode::UNAUTHORIZED).await;
    assert_eq!(a, b, "no account enumeration");
    // The browser cookie works like the bearer token.
    let login =
        app.post("/api/v1/auth/login", None, &json!({"username": "jpn.officer", "password": common::PASSWORD})).await;
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let session = cookie.split(';').next().unwrap().to_owned();
    let me = app.request(Method::GET, "/api/v1/auth/me", None).header("Cookie", session).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    // Anonymous writes are refused.
    problem(app.post("/api/v1/activities", None, &json!({})).await, StatusCode::UNAUTHORIZED).await;
}
