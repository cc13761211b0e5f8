//! Answers kept between requests (`eprime_server::fresh`): never served to a reader of another
//! scope, never served after a write through this server, and never kept past a second after a
//! write by another process.

mod common;

use std::time::{Duration, Instant};

use common::{TestApp, problem};
use eprime_domain::{ActivityChanges, ActivityId, ActivityPatch};
use eprime_store::Store;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// What each reader gets from `paths`, asked in turn with no write in between.
async fn answers(app: &TestApp, paths: &[String], token: Option<&str>) -> Vec<(u16, Value)> {
    let mut answers = Vec::new();
    for path in paths {
        let response = app.get(path, token).await;
        let status = response.status().as_u16();
        answers.push((status, response.json().await.unwrap_or(Value::Null)));
    }
    answers
}

/// NATO staff ask first, so their answers are kept; every other reader then asks the same paths
/// before anything is written, and must get exactly what it got when it asked first.
#[tokio::test]
async fn a_kept_answer_is_never_served_to_a_reader_of_another_scope() {
    let app = TestApp::demo().await;
    let readers = ["nato.staff", "jpn.officer", "fra.ally", "kor.officer"];
    let mut tokens = Vec::new();
    for username in readers {
        tokens.push(Some(app.login(username).await));
    }
    tokens.push(None); // the public
    let paths: Vec<String> = [
        "/api/v1/partnerships/JPN",
        "/api/v1/activities?partnership=JPN&limit=200",
        "/api/v1/activities?limit=200",
        "/api/v1/activities?status=scheduled&limit=100",
    ]
    .map(str::to_owned)
    .to_vec();

    // Each reader's own answers, asked first: nothing of another reader's could be kept then, as
    // a sign-in (a write) came after every other reader's last read.
    let mut own = Vec::new();
    for (token, username) in tokens.iter().zip(readers.iter().chain(["(public)"].iter())) {
        let _ = app.login("nato.admin").await; // a write: nothing kept survives it
        own.push((username, answers(&app, &paths, token.as_deref()).await));
    }
    assert_ne!(own[0].1, own[2].1, "NATO staff and an Ally see different things, or this test proves nothing");
    assert_eq!(own[3].1[0].0, 404, "Korea does not see Japan's partnership");
    assert_eq!(own[4].1[0].0, 404, "nor does the public");

    // Now NATO staff ask first, and everyone else right after: no write in between.
    let _ = app.login("nato.admin").await;
    for ((username, expected), token) in own.iter().zip(&tokens) {
        assert_eq!(&answers(&app, &paths, token.as_deref()).await, expected, "{username} got another reader's answer");
    }
    // And the other way round: the public first.
    let _ = app.login("nato.admin").await;
    for ((username, expected), token) in own.iter().zip(&tokens).rev() {
        assert_eq!(&answers(&app, &paths, token.as_deref()).await, expected, "{username} got another reader's answer");
    }
}

/// The partnership page's body is kept per scope, and its header is each viewer's own.
#[tokio::test]
async fn a_kept_partnership_page_shows_each_viewer_its_own_header_and_scope() {
    let app = TestApp::demo().await;
    let page = |token: Option<String>| {
        let app = &app;
        async move {
            let mut request = app.client.get(format!("{}/partnerships/JPN", app.url));
            if let Some(token) = token {
                request = request.header("cookie", format!("eprime_session={token}"));
            }
            let response = request.send().await.unwrap();
            (response.status(), response.text().await.unwrap())
        }
    };
    let staff = app.login("nato.staff").await;
    let ally = app.login("fra.ally").await;
    let ids = |token: String| {
        let app = &app;
        async move {
            let listed = app.all_activities("&partnership=JPN", Some(&token)).await;
            listed.iter().map(|a| a["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
        }
    };
    let (france_sees, staff_sees) = (ids(ally.clone()).await, ids(staff.clone()).await);

    // Staff first, so the body is kept; then France and the public, with nothing written between.
    let (status, staff_page) = page(Some(staff.clone())).await;
    assert_eq!(status, StatusCode::OK);
    let (status, ally_page) = page(Some(ally.clone())).await;
    assert_eq!(status, StatusCode::OK);
    let (public_status, _) = page(None).await;
    assert_eq!(public_status, StatusCode::NOT_FOUND, "the public does not see Japan's partnership");

    let hidden: Vec<&String> =
        staff_sees.iter().filter(|id| !france_sees.contains(id) && staff_page.contains(id.as_str())).collect();
    assert!(!hidden.is_empty(), "staff's page lists activities France may not see, or this test proves nothing");
    for id in hidden {
        assert!(!ally_page.contains(id.as_str()), "France's page shows {id}, which France may not see");
    }
    let signed_in = |name: &str| format!("Signed in as <strong>{name}</strong>");
    assert!(staff_page.contains(&signed_in("nato.staff")) && !staff_page.contains(&signed_in("fra.ally")));
    assert!(ally_page.contains(&signed_in("fra.ally")) && !ally_page.contains(&signed_in("nato.staff")));
    let csrf = |token: &str| eprime_server::auth::csrf_token(token);
    assert!(staff_page.contains(&csrf(&staff)) && !ally_page.contains(&csrf(&staff)), "each form is its viewer's own");
    assert!(ally_page.contains(&csrf(&ally)));
}

/// Another process writing to the same SQLite file (the command line) is seen within a second,
/// though this server kept the answer just before.
#[tokio::test]
async fn a_write_by_another_process_is_seen_within_a_second() {
    let app = TestApp::demo().await;
    let staff = app.login("nato.staff").await;
    let first = app.all_activities("&partnership=JPN", Some(&staff)).await[0].clone();
    let id = first["id"].as_str().unwrap().to_owned();
    let path = "/api/v1/activities?partnership=JPN&limit=200".to_owned();
    let title_in_list = |list: &Value| {
        list["items"].as_array().unwrap().iter().find(|a| a["id"] == id.as_str()).map(|a| a["title"].clone())
    };
    assert_eq!(title_in_list(&app.get_json(&path, Some(&staff)).await), Some(first["title"].clone()), "kept now");

    let elsewhere = eprime_store_sqlite::SqliteStore::connect(&app.database).await.unwrap();
    let actor = elsewhere.session_principal(&eprime_server::auth::token_hash(&staff)).await.unwrap().unwrap();
    let patch: ActivityPatch = serde_json::from_value(json!({"title": "Renamed by another process"})).unwrap();
    let changes = ActivityChanges::validate(patch).unwrap();
    elsewhere.update_activity(&actor, id.parse::<ActivityId>().unwrap(), None, changes).await.unwrap();
    elsewhere.close().await;

    let written = Instant::now();
    loop {
        let title = title_in_list(&app.get_json(&path, Some(&staff)).await);
        if title == Some(json!("Renamed by another process")) {
            break;
        }
        assert!(
            written.elapsed() < eprime_server::fresh::MAX_AGE + Duration::from_millis(500),
            "still {title:?} after {:?}",
            written.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The record by id is read at the version the store names: it shows the write at once.
    let alone = app.get_json(&format!("/api/v1/activities/{id}"), Some(&staff)).await;
    assert_eq!(alone["title"], "Renamed by another process");
    problem(app.get("/api/v1/partnerships/XXX", Some(&staff)).await, StatusCode::NOT_FOUND).await;
}

/// The change follower moves the clock when it reads a new entry: that is how a write by another
/// instance, or by a background task here, ends the answers kept before it.
#[tokio::test]
async fn the_change_follower_moves_the_clock_for_each_new_entry() {
    use std::sync::Arc;
    let (_dir, store) = demo_store().await;
    let clock = Arc::new(eprime_server::fresh::Clock::default());
    // The follower alone (it starts at the log's end): nothing else moves this clock.
    let hub = eprime_server::changes::ChangeHub::start(store.clone(), clock.clone());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = clock.tick();
    rename_an_activity(&store).await;
    wait_for_the_clock_to_move(&clock, before, "the follower read the entry and did not move the clock").await;
    hub.close();
}

/// A store of its own on a file, with the demo loaded, and nothing following its log yet.
async fn demo_store() -> (tempfile::TempDir, eprime_store::DynStore) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("eprime.db").display());
    let store: eprime_store::DynStore =
        std::sync::Arc::new(eprime_store_sqlite::SqliteStore::connect(&url).await.unwrap());
    let hash = |password: &str| eprime_server::passwords::hash_password(password).unwrap_or_default();
    eprime_demo::load(store.as_ref(), common::PASSWORD, &hash).await.unwrap();
    (dir, store)
}

/// Waits (up to five seconds, else fails with `failure`) for `clock` to move past `before`.
async fn wait_for_the_clock_to_move(
    clock: &eprime_server::fresh::Clock,
    before: eprime_server::fresh::Tick,
    failure: &str,
) {
    let written = Instant::now();
    while clock.tick() == before {
        assert!(written.elapsed() < Duration::from_secs(5), "{failure}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn rename_an_activity(store: &eprime_store::DynStore) {
    let staff = store.user_by_username("nato.staff").await.unwrap().unwrap().principal();
    let scope = eprime_domain::ReadScope::system();
    let first = store.list_activities(&scope, &Default::default(), &Default::default()).await.unwrap().items[0].clone();
    let changes = ActivityChanges::validate(serde_json::from_value(json!({"title": "Renamed"})).unwrap()).unwrap();
    store.update_activity(&staff, first.id, None, changes).await.unwrap();
}

/// The notifier makes notifications without any request writing, after the change follower may
/// already have moved the clock for the change itself; so it moves the clock too, or an unread count
/// read between the change and its notification would be kept for up to a second.
#[tokio::test]
async fn the_notifier_moves_the_clock_after_a_pass_that_made_notifications() {
    use std::sync::Arc;
    let (_dir, store) = demo_store().await;
    let clock = Arc::new(eprime_server::fresh::Clock::default());
    let alive = Arc::new(());
    // The notifier alone: no change follower, no requests, so nothing else moves this clock.
    eprime_server::notifier::start(store.clone(), Arc::downgrade(&alive), clock.clone());
    let settled = || async {
        // Until the notifier has caught up with the demo's log: the tick stands still for a while.
        let mut last = clock.tick();
        loop {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if clock.tick() == last {
                return last;
            }
            last = clock.tick();
        }
    };
    let before = settled().await;
    rename_an_activity(&store).await;
    wait_for_the_clock_to_move(&clock, before, "the notifier's pass did not move the clock").await;
    drop(alive);
}
