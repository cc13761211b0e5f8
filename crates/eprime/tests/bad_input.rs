//! Bad input gets a clear problem+json answer and stores nothing.

mod common;

use common::{TestApp, problem};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn activity_count(app: &TestApp, token: &str) -> usize {
    app.all_activities("", Some(token)).await.len()
}

async fn change_log_length(app: &TestApp, token: &str, path: &str) -> usize {
    app.get_json(&format!("{path}/history"), Some(token)).await.as_array().unwrap().len()
}

#[tokio::test]
async fn malformed_wrong_unknown_invalid_and_oversized_bodies_are_refused_and_store_nothing() {
    let app = TestApp::demo().await;
    let staff = app.login("nato.staff").await;
    let before = activity_count(&app, &staff).await;
    let send = |body: String| {
        app.request(Method::POST, "/api/v1/activities", Some(&staff))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };

    let malformed = problem(send("{\"partnership\": \"JPN\", ".into()).await.unwrap(), StatusCode::BAD_REQUEST).await;
    assert!(malformed["detail"].as_str().unwrap().contains("not valid JSON"));

    let wrong_type = problem(
        send(json!({"partnership": "JPN", "title": 42, "kind": "meeting"}).to_string()).await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(wrong_type["errors"][0]["field"], "title");

    let unknown = problem(
        send(json!({"partnership": "JPN", "title": "T", "kind": "meeting", "colour": "red"}).to_string())
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(unknown["detail"].as_str().unwrap().contains("colour"), "{unknown}");

    let missing = problem(
        send(json!({"partnership": "JPN", "kind": "meeting"}).to_string()).await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(missing["detail"].as_str().unwrap().contains("title"), "{missing}");

    let invalid = json!({"partnership": "JPN", "title": " ", "kind": "party", "starts_on": "2026-02-30", "ends_on": "2026-01-01", "lead": "??"});
    let invalid = problem(send(invalid.to_string()).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY).await;
    let fields: Vec<&str> =
        invalid["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["title", "kind", "starts_on", "lead"], "every invalid field named: {invalid}");

    let reversed = json!({"partnership": "JPN", "title": "T", "kind": "meeting", "starts_on": "2026-12-02", "ends_on": "2026-12-01"});
    let reversed = problem(send(reversed.to_string()).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(reversed["errors"][0]["field"], "ends_on");

    let unknown_refs = json!({"partnership": "JPN", "title": "T", "kind": "meeting", "participants": ["ZZZ"], "areas": ["NOPE"], "supports": ["01020304-0506-0708-090a-0b0c0d0e0f10"]});
    let unknown_refs = problem(send(unknown_refs.to_string()).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY).await;
    let fields: Vec<&str> =
        unknown_refs["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["participants[0]", "areas[0]", "supports[0]"]);

    let no_partnership = json!({"partnership": "XYZ", "title": "T", "kind": "meeting"});
    problem(send(no_partnership.to_string()).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY).await;

    let huge = json!({"partnership": "JPN", "title": "T", "kind": "meeting", "description": "x".repeat(400_000)});
    let huge = problem(send(huge.to_string()).await.unwrap(), StatusCode::PAYLOAD_TOO_LARGE).await;
    assert!(huge["detail"].as_str().unwrap().contains("KiB"));

    let not_json = app.request(Method::POST, "/api/v1/activities", Some(&staff)).body("title=T").send().await.unwrap();
    problem(not_json, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;

    assert_eq!(activity_count(&app, &staff).await, before, "nothing was stored");
}

#[tokio::test]
async fn bad_updates_change_nothing() {
    let app = TestApp::demo().await;
    let staff = app.login("nato.staff").await;
    let activity: Value = app
        .post("/api/v1/activities", Some(&staff), &json!({"partnership": "JPN", "title": "T", "kind": "meeting"}))
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/api/v1/activities/{}", activity["id"].as_str().unwrap());
    let patch =
        |body: Value| app.request(Method::PATCH, &path, Some(&staff)).header("If-Match", "\"v1\"").json(&body).send();
    problem(patch(json!({"status": "completed"})).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY).await;
    problem(patch(json!({})).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY).await;
    problem(
        patch(json!({"ends_on": "2020-01-01", "starts_on": "2021-01-01"})).await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    problem(patch(json!({"participants": ["NOWHERE"]})).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY).await;
    let bad_tag = app
        .request(Method::PATCH, &path, Some(&staff))
        .header("If-Match", "yesterday")
        .json(&json!({"title": "X"}))
        .send()
        .await
        .unwrap();
    problem(bad_tag, StatusCode::BAD_REQUEST).await;
    let after = app.get_json(&path, Some(&staff)).await;
    assert_eq!(after, activity, "unchanged");
    assert_eq!(change_log_length(&app, &staff, &path).await, 1, "no change-log entry for refused writes");
}

#[tokio::test]
async fn malformed_ids_and_unknown_paths_answer_problems() {
    let app = TestApp::demo().await;
    let staff = app.login("nato.staff").await;
    problem(app.get("/api/v1/activities/not-an-id", Some(&staff)).await, StatusCode::BAD_REQUEST).await;
    problem(
        app.get("/api/v1/activities/01020304-0506-0708-090a-0b0c0d0e0f10", Some(&staff)).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(app.get("/api/v1/partnerships/XYZ", Some(&staff)).await, StatusCode::NOT_FOUND).await;
    problem(app.get("/api/v1/partnerships/J4P", Some(&staff)).await, StatusCode::BAD_REQUEST).await;
    problem(app.get("/api/v1/nothing-here", None).await, StatusCode::NOT_FOUND).await;
    problem(app.get("/api/v1/activities", Some("forged-token")).await, StatusCode::UNAUTHORIZED).await;
}
