//! Accounts by scope, API tokens, the audit log, sign-in throttling and CSRF, through the API.

mod common;

use common::{PASSWORD, TestApp, problem};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn patch(app: &TestApp, path: &str, token: &str, body: Value) -> reqwest::Response {
    app.request(Method::PATCH, path, Some(token)).json(&body).send().await.unwrap()
}

fn account(username: &str, role: &str, partner: Option<&str>) -> Value {
    json!({"username": username, "display_name": username, "role": role, "partner": partner, "password": "a-sound-passphrase-2026"})
}

#[tokio::test]
async fn partner_administrators_manage_only_their_own_nations_partner_accounts() {
    let app = TestApp::demo().await;
    let nato_admin = app.login("nato.admin").await;
    let jpn_admin = app.login("jpn.admin").await;

    let all = app.get_json("/api/v1/users", Some(&nato_admin)).await;
    assert_eq!(all.as_array().unwrap().len(), 8);
    let japan = app.get_json("/api/v1/users", Some(&jpn_admin)).await;
    let names: Vec<&str> = japan.as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap()).collect();
    assert_eq!(names, ["jpn.admin", "jpn.officer"], "a partner administrator sees only its nation's accounts");
    assert!(japan.to_string().find("password").is_none(), "no hash in an account view");

    let created =
        app.post("/api/v1/users", Some(&jpn_admin), &account("jpn.desk2", "partner_officer", Some("JPN"))).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let desk = app.login_with("jpn.desk2", "a-sound-passphrase-2026").await;
    assert_eq!(app.get_json("/api/v1/auth/me", Some(&desk)).await["partner"], "JPN");

    for (body, why) in [
        (account("kor.desk2", "partner_officer", Some("KOR")), "KOR"),
        (account("nato.desk2", "nato_staff", None), "nato_staff"),
        (
            json!({"username": "fra.desk2", "display_name": "F", "role": "ally_officer", "organisation": "FRA", "password": "a-sound-passphrase-2026"}),
            "ally_officer",
        ),
    ] {
        let refused = problem(app.post("/api/v1/users", Some(&jpn_admin), &body).await, StatusCode::FORBIDDEN).await;
        assert!(
            refused["detail"].as_str().unwrap().contains(why)
                || refused["detail"].as_str().unwrap().contains("partner"),
            "{refused}"
        );
    }
    // Another nation's account looks absent; its own nation's can be disabled and reset.
    problem(
        patch(&app, "/api/v1/users/kor.officer", &jpn_admin, json!({"disabled": true})).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        patch(&app, "/api/v1/users/nato.staff", &jpn_admin, json!({"disabled": true})).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let disabled = patch(&app, "/api/v1/users/jpn.desk2", &jpn_admin, json!({"disabled": true})).await;
    assert_eq!(disabled.status(), StatusCode::OK);
    problem(app.get("/api/v1/auth/me", Some(&desk)).await, StatusCode::UNAUTHORIZED).await;
    let reset = patch(
        &app,
        "/api/v1/users/jpn.desk2",
        &jpn_admin,
        json!({"disabled": false, "password": "another-sound-passphrase"}),
    )
    .await;
    assert_eq!(reset.status(), StatusCode::OK);
    app.login_with("jpn.desk2", "another-sound-passphrase").await;

    // Bad input, duplicates and roles that manage nothing.
    let weak = problem(
        app.post(
            "/api/v1/users",
            Some(&nato_admin),
            &json!({"username": "Bad Name", "display_name": "", "role": "king", "password": "short"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let fields: Vec<&str> = weak["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["username", "display_name", "role", "password"]);
    problem(
        app.post("/api/v1/users", Some(&nato_admin), &account("jpn.officer", "partner_officer", Some("JPN"))).await,
        StatusCode::CONFLICT,
    )
    .await;
    for user in ["nato.staff", "jpn.officer", "auditor", "fra.ally"] {
        let token = app.login(user).await;
        problem(app.get("/api/v1/users", Some(&token)).await, StatusCode::FORBIDDEN).await;
    }
    problem(app.get("/api/v1/users", None).await, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn api_tokens_are_named_expiring_listed_and_revocable() {
    let app = TestApp::demo().await;
    let session = app.login("jpn.officer").await;
    let created =
        app.post("/api/v1/tokens", Some(&session), &json!({"name": "mission sync", "expires_in_days": 30})).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    let api_token = created["token"].as_str().unwrap().to_owned();
    assert_eq!(app.get_json("/api/v1/auth/me", Some(&api_token)).await["username"], "jpn.officer");
    let listed = app.get_json("/api/v1/tokens", Some(&session)).await;
    assert!(listed.as_array().unwrap().iter().any(|t| t["name"] == "mission sync" && t["kind"] == "api"));
    assert!(!listed.to_string().contains(&api_token), "a token is shown once, never listed");
    let other = app.login("kor.officer").await;
    let path = format!("/api/v1/tokens/{}", created["id"].as_str().unwrap());
    problem(app.request(Method::DELETE, &path, Some(&other)).send().await.unwrap(), StatusCode::NOT_FOUND).await;
    let revoked = app.request(Method::DELETE, &path, Some(&session)).send().await.unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    problem(app.get("/api/v1/auth/me", Some(&api_token)).await, StatusCode::UNAUTHORIZED).await;
    for bad in
        [json!({"name": ""}), json!({"name": "x", "expires_in_days": 0}), json!({"name": "x", "expires_in_days": 5000})]
    {
        problem(app.post("/api/v1/tokens", Some(&session), &bad).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
}

#[tokio::test]
async fn the_audit_log_shows_who_did_what_to_those_allowed() {
    let app = TestApp::demo().await;
    let officer = app.login("jpn.officer").await;
    let failed =
        app.post("/api/v1/auth/login", None, &json!({"username": "jpn.officer", "password": "wrong-password!"})).await;
    assert_eq!(failed.status(), StatusCode::UNAUTHORIZED);
    let activity = app
        .post(
            "/api/v1/activities",
            Some(&officer),
            &json!({"partnership": "JPN", "title": "Audited talks", "kind": "meeting"}),
        )
        .await;
    assert_eq!(activity.status(), StatusCode::CREATED);

    let auditor = app.login("auditor").await;
    // The demo's own history has Japan's officer nominating for menu events; activities are the test's.
    let page = app.get_json("/api/v1/audit?actor=jpn.officer&entity=activity", Some(&auditor)).await;
    let operations: Vec<(&str, &str)> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["entity"].as_str().unwrap(), e["operation"].as_str().unwrap()))
        .collect();
    assert_eq!(operations, [("activity", "create")]);
    let account = app.get_json("/api/v1/audit?entity=account&entity_id=jpn.officer", Some(&auditor)).await;
    let events: Vec<&str> =
        account["items"].as_array().unwrap().iter().map(|e| e["operation"].as_str().unwrap()).collect();
    assert_eq!(events, ["sign_in_failed", "sign_in"], "newest first");
    assert!(account["items"][0]["after"]["address"].as_str().unwrap().starts_with("127."));
    assert!(!account.to_string().contains("wrong-password"), "no secrets in the log");

    let csv = app.get("/api/v1/audit?format=csv&actor=jpn.officer", Some(&auditor)).await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(csv.headers()["content-disposition"].to_str().unwrap().contains("attachment"));
    let csv = csv.text().await.unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next().unwrap(), "seq,at,actor,entity,entity_id,partner,operation,before,after");
    assert!(lines.next().unwrap().contains("\"activity\",\"") && csv.contains("\"JPN\""));
    let json_export: Value = app.get("/api/v1/audit?format=json", Some(&auditor)).await.json().await.unwrap();
    assert!(json_export.as_array().unwrap().len() > 100, "the whole log, demo loading included");

    let jpn_admin = app.login("jpn.admin").await;
    let own = app.get_json("/api/v1/audit?limit=200", Some(&jpn_admin)).await;
    for entry in own["items"].as_array().unwrap() {
        assert_eq!(entry["partner"], "JPN", "{entry}");
        assert!(entry["entity"] == "user" || entry["entity"] == "account", "{entry}");
    }
    assert!(!own["items"].as_array().unwrap().is_empty());
    for user in ["nato.staff", "jpn.officer", "fra.ally", "ndc.provider"] {
        let token = app.login(user).await;
        problem(app.get("/api/v1/audit", Some(&token)).await, StatusCode::FORBIDDEN).await;
    }
    for bad in ["entity=planet", "from=yesterday", "format=xml", "limit=0"] {
        problem(app.get(&format!("/api/v1/audit?{bad}"), Some(&auditor)).await, StatusCode::BAD_REQUEST).await;
    }
}

#[tokio::test]
async fn repeated_failed_sign_ins_are_throttled_per_account_then_per_address() {
    let app = TestApp::demo().await;
    let attempt = |user: &str, password: &str| {
        let body = json!({"username": user, "password": password});
        let request = app.request(Method::POST, "/api/v1/auth/login", None).json(&body);
        async move { request.send().await.unwrap() }
    };
    for _ in 0..5 {
        assert_eq!(attempt("jpn.officer", "not-the-password").await.status(), StatusCode::UNAUTHORIZED);
    }
    let throttled = attempt("jpn.officer", PASSWORD).await;
    let retry_after: u64 = throttled.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry_after));
    problem(throttled, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(attempt("kor.officer", PASSWORD).await.status(), StatusCode::OK, "other accounts still sign in");
    for i in 0..15 {
        attempt(&format!("nobody{i}"), "not-the-password").await;
    }
    problem(attempt("fra.ally", PASSWORD).await, StatusCode::TOO_MANY_REQUESTS).await;
}

#[tokio::test]
async fn cookie_authenticated_changes_need_the_csrf_token() {
    let app = TestApp::demo().await;
    let login = app.post("/api/v1/auth/login", None, &json!({"username": "jpn.officer", "password": PASSWORD})).await;
    let cookies: Vec<String> =
        login.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    let body: Value = login.json().await.unwrap();
    let pair = |name: &str| cookies.iter().find(|c| c.starts_with(name)).unwrap().split(';').next().unwrap().to_owned();
    let cookie = format!("{}; {}", pair("eprime_session="), pair("eprime_csrf="));
    assert!(
        cookies.iter().any(|c| c.starts_with("eprime_csrf=") && !c.contains("HttpOnly")),
        "page scripts can read the CSRF cookie"
    );
    let activity = json!({"partnership": "JPN", "title": "From a browser", "kind": "meeting"});
    let forged = app
        .request(Method::POST, "/api/v1/activities", None)
        .header("Cookie", &cookie)
        .json(&activity)
        .send()
        .await
        .unwrap();
    let forged = problem(forged, StatusCode::FORBIDDEN).await;
    assert!(forged["detail"].as_str().unwrap().contains("X-CSRF-Token"));
    let wrong = app
        .request(Method::POST, "/api/v1/activities", None)
        .header("Cookie", &cookie)
        .header("X-CSRF-Token", "0".repeat(32))
        .json(&activity)
        .send()
        .await
        .unwrap();
    problem(wrong, StatusCode::FORBIDDEN).await;
    let csrf = body["csrf_token"].as_str().unwrap();
    let ok = app
        .request(Method::POST, "/api/v1/activities", None)
        .header("Cookie", &cookie)
        .header("X-CSRF-Token", csrf)
        .json(&activity)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::CREATED);
    let read = app.request(Method::GET, "/api/v1/auth/me", None).header("Cookie", &cookie).send().await.unwrap();
    assert_eq!(read.status(), StatusCode::OK, "reads need no CSRF token");
}
