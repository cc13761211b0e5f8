//! `serve --demo`: the Japan–NATO partnership from the seed documents.

mod common;

use common::{TestApp, checks};

#[tokio::test]
async fn the_demo_holds_the_japan_nato_programme_from_the_seeds() {
    let app = TestApp::demo().await;
    checks::demo_content(&app).await;
}

#[tokio::test]
async fn every_demo_account_signs_in_and_the_demo_never_fills_a_used_database() {
    let mut app = TestApp::demo().await;
    for account in ["nato.staff", "jpn.officer", "kor.officer", "ndc.provider", "fra.ally"] {
        let token = app.login(account).await;
        let me = app.get_json("/api/v1/auth/me", Some(&token)).await;
        assert_eq!(me["username"], account);
    }
    let staff = app.login("nato.staff").await;
    let before = app.all_activities("", Some(&staff)).await.len();
    app.restart().await; // restarts with --demo on the same, now non-empty, database
    assert!(app.server.as_ref().unwrap().demo.is_none(), "the demo is not loaded twice");
    let staff = app.login("nato.staff").await;
    assert_eq!(app.all_activities("", Some(&staff)).await.len(), before);
}
