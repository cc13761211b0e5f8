//! Bad input gets a clear problem+json answer and stores nothing.

mod common;

use common::{TestApp, checks, problem};
use reqwest::StatusCode;

#[tokio::test]
async fn malformed_wrong_unknown_invalid_and_oversized_bodies_are_refused_and_store_nothing() {
    let app = TestApp::demo().await;
    checks::bad_bodies_store_nothing(&app).await;
}

#[tokio::test]
async fn bad_updates_change_nothing() {
    let app = TestApp::demo().await;
    checks::bad_updates_change_nothing(&app).await;
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
