//! Creating, updating and moving activities through their lifecycle over HTTP.

mod common;

use common::{TestApp, checks, problem};
use eprime_store::Store;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn an_activity_is_created_updated_and_transitioned() {
    let app = TestApp::demo().await;
    checks::activity_lifecycle(&app).await;
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
    let created = checks::create(
        &app,
        &staff,
        json!({"partnership": "KOR", "title": "Cyber staff talks", "kind": "consultation"}),
    )
    .await;
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

/// Resolved tokens are kept for a moment (`session_cache`): a session ended through this server is
/// refused by the very next request; one ended by another process (the command line on the same
/// database) within `RECHECK`.
#[tokio::test]
async fn ended_sessions_are_refused_at_once_here_and_within_a_moment_when_ended_elsewhere() {
    let app = TestApp::demo().await;
    let admin = app.login("nato.admin").await;
    let officer = app.login("jpn.officer").await;
    assert_eq!(app.get("/api/v1/auth/me", Some(&officer)).await.status(), StatusCode::OK, "kept now");
    let disable = app
        .request(Method::PATCH, "/api/v1/users/jpn.officer", Some(&admin))
        .json(&json!({"disabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(disable.status(), StatusCode::OK);
    problem(app.get("/api/v1/auth/me", Some(&officer)).await, StatusCode::UNAUTHORIZED).await;

    // Another process disables an account whose token this server has just resolved and kept.
    let korean = app.login("kor.officer").await;
    assert_eq!(app.get("/api/v1/auth/me", Some(&korean)).await.status(), StatusCode::OK);
    let elsewhere = eprime_store_sqlite::SqliteStore::connect(&app.database).await.unwrap();
    elsewhere.set_user_disabled(None, "kor.officer", true).await.unwrap();
    elsewhere.close().await;
    tokio::time::sleep(eprime_server::session_cache::RECHECK + std::time::Duration::from_millis(100)).await;
    problem(app.get("/api/v1/auth/me", Some(&korean)).await, StatusCode::UNAUTHORIZED).await;
}

/// The dashboard's activity count is cached per scope until the partnership changes: every write
/// shows in the very next read, and each viewer counts only what it may see.
#[tokio::test]
async fn the_dashboard_count_follows_every_write_and_each_viewers_scope() {
    let app = TestApp::demo().await;
    let staff = app.login("nato.staff").await;
    let officer = app.login("jpn.officer").await;
    let ally = app.login("fra.ally").await;
    let count = |token: String| {
        let app = &app;
        async move { app.get_json("/api/v1/partnerships/JPN", Some(&token)).await["activity_count"].as_u64().unwrap() }
    };
    let listed = |token: String| {
        let app = &app;
        async move { app.all_activities("&partnership=JPN", Some(&token)).await.len() as u64 }
    };
    for token in [&staff, &officer, &ally] {
        assert_eq!(count(token.clone()).await, listed(token.clone()).await, "the count is what the list holds");
        // Asked again (now from the cache), the same.
        assert_eq!(count(token.clone()).await, listed(token.clone()).await);
    }
    let (staff_before, ally_before) = (count(staff.clone()).await, count(ally.clone()).await);
    let body = json!({"partnership": "JPN", "title": "Bilateral staff talks", "kind": "meeting",
        "starts_on": "2026-12-10", "ends_on": "2026-12-11", "marking": "NATO UNCLASSIFIED", "releasable_to": ["JPN"]});
    let created = app.post("/api/v1/activities", Some(&officer), &body).await;
    assert_eq!(created.status(), StatusCode::CREATED, "{}", created.text().await.unwrap());
    assert_eq!(count(staff.clone()).await, staff_before + 1, "NATO sees the new activity at once");
    assert_eq!(count(officer.clone()).await, listed(officer.clone()).await);
    assert_eq!(count(ally.clone()).await, ally_before, "France does not: it is not released to France");
}

/// Lists and the record by id keep activities by (id, version) between requests: a change shows in
/// the very next list and read, every list equals the activity as read alone, and a narrowed release
/// takes the activity from those who lost it, though they had read it (and it was kept) before.
#[tokio::test]
async fn lists_and_reads_show_every_change_at_once_and_only_to_those_who_may_see_it() {
    let app = TestApp::demo().await;
    let staff = app.login("nato.staff").await;
    let ally = app.login("fra.ally").await;
    let listed = |token: String| {
        let app = &app;
        async move { app.all_activities("&partnership=JPN", Some(&token)).await }
    };
    let find = |list: &[serde_json::Value], id: &str| list.iter().find(|a| a["id"] == id).cloned();
    // France, an Ally, sees Japan's activities released to Allies; take one of those.
    let seen_by_france = listed(ally.clone()).await;
    let shared = seen_by_france
        .iter()
        .find(|a| a["marking"] == "NATO UNCLASSIFIED" && a["releasable_to"].to_string().contains("ALLIES"))
        .expect("the demo releases some of Japan's activities to Allies")
        .clone();
    let id = shared["id"].as_str().unwrap().to_owned();
    let all_before = listed(staff.clone()).await;
    assert_eq!(find(&all_before, &id), Some(shared.clone()), "every reader gets the same record");
    let detail = format!("/api/v1/activities/{id}");
    for token in [&staff, &ally] {
        assert_eq!(app.get_json(&detail, Some(token)).await, shared, "read alone, kept now");
    }

    let patch = |body: serde_json::Value| {
        let (app, staff, id) = (&app, &staff, &id);
        async move {
            let current = app.get(&format!("/api/v1/activities/{id}"), Some(staff)).await;
            let tag = current.headers()["etag"].to_str().unwrap().to_owned();
            let response = app
                .request(Method::PATCH, &format!("/api/v1/activities/{id}"), Some(staff))
                .header("If-Match", tag)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap());
            response.json::<serde_json::Value>().await.unwrap()
        }
    };
    let renamed = patch(json!({"title": "Renamed while kept"})).await;
    for token in [&staff, &ally] {
        let listed = find(&listed(token.clone()).await, &id).expect("still visible");
        assert_eq!(listed, renamed, "the list shows the new version at once");
        let alone = app.get_json(&format!("/api/v1/activities/{id}"), Some(token)).await;
        assert_eq!(listed, alone, "the list and the record agree");
    }

    let releasable: Vec<String> = shared["releasable_to"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|org| org.as_str())
        .filter(|org| !["ALLIES", "FRA"].contains(org))
        .map(str::to_owned)
        .collect();
    let narrowed = patch(json!({"releasable_to": releasable})).await;
    assert!(!narrowed["releasable_to"].to_string().contains("ALLIES"));
    assert_eq!(find(&listed(staff.clone()).await, &id), Some(narrowed.clone()), "NATO still lists it");
    let france_after = listed(ally.clone()).await;
    assert_eq!(find(&france_after, &id), None, "France no longer lists it");
    assert_eq!(france_after.len(), seen_by_france.len() - 1, "and lists everything else as before");
    let read = app.get(&detail, Some(&staff)).await;
    assert_eq!(read.headers()["etag"], format!("\"v{}\"", narrowed["version"]).as_str(), "the new version's tag");
    assert_eq!(read.json::<serde_json::Value>().await.unwrap(), narrowed, "NATO reads the new version");
    problem(app.get(&detail, Some(&ally)).await, StatusCode::NOT_FOUND).await;
}
