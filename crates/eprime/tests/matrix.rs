//! The authorization matrix: every operation of the OpenAPI document × every role × records of
//! the caller's own partner, another partner, public records and records released to the
//! caller, against an expected outcome written out here by hand — not computed by the code under
//! test. An operation the OpenAPI document lists but the matrix does not cover fails the test.

mod common;

use std::collections::BTreeSet;

use common::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const MONGOLIA: &str = include_str!("../../eprime-import/tests/fixtures/mongolia_ipap.txt");
const AUSTRALIA: &str = include_str!("../../eprime-import/tests/fixtures/australia_itpp.txt");

/// Record classes, by whom they are released to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    /// NATO UNCLASSIFIED, released to Japan only.
    JapanOnly,
    /// NATO UNCLASSIFIED, released to the Republic of Korea only.
    KoreaOnly,
    Public,
    /// A Japan record released also to the Allies and to the NATO Defense College.
    Released,
}

const CALLERS: [&str; 9] = [
    "anonymous",
    "nato.admin",
    "nato.staff",
    "auditor",
    "jpn.admin",
    "jpn.officer",
    "kor.officer",
    "fra.ally",
    "ndc.provider",
];

/// Who sees what, written out.
fn sees(caller: &str, class: Class) -> bool {
    use Class::*;
    match caller {
        "nato.admin" | "nato.staff" | "auditor" => true,
        "jpn.admin" | "jpn.officer" => matches!(class, JapanOnly | Public | Released),
        "kor.officer" => matches!(class, KoreaOnly | Public),
        "fra.ally" | "ndc.provider" => matches!(class, Public | Released),
        "anonymous" => class == Public,
        other => panic!("unknown caller {other}"),
    }
}

/// Partnerships are released to their partner and to the Allies.
fn sees_partnership(caller: &str, partner: &str) -> bool {
    match caller {
        "nato.admin" | "nato.staff" | "auditor" | "fra.ally" => true,
        "jpn.admin" | "jpn.officer" => partner == "JPN",
        "kor.officer" => partner == "KOR",
        _ => false,
    }
}

fn partner_of(class: Class) -> &'static str {
    if class == Class::KoreaOnly { "KOR" } else { "JPN" }
}

fn edits_activities_of(caller: &str, partner: &str) -> bool {
    matches!((caller, partner), ("nato.admin" | "nato.staff", _) | ("jpn.officer", "JPN") | ("kor.officer", "KOR"))
}

fn nato_writer(caller: &str) -> bool {
    matches!(caller, "nato.admin" | "nato.staff")
}

/// A record the caller may not see answers 404 to reads, for anonymous callers too.
fn read(visible: bool) -> StatusCode {
    if visible { StatusCode::OK } else { StatusCode::NOT_FOUND }
}

fn write(caller: &str, visible: bool, allowed: bool, success: StatusCode) -> StatusCode {
    match (caller, visible, allowed) {
        ("anonymous", _, _) => StatusCode::UNAUTHORIZED,
        (_, false, _) => StatusCode::NOT_FOUND,
        (_, true, false) => StatusCode::FORBIDDEN,
        (_, true, true) => success,
    }
}

fn signed_in(caller: &str, success: StatusCode) -> StatusCode {
    if caller == "anonymous" { StatusCode::UNAUTHORIZED } else { success }
}

struct Matrix<'a> {
    app: &'a TestApp,
    covered: BTreeSet<(String, String)>,
    failures: Vec<String>,
}

impl Matrix<'_> {
    async fn check(
        &mut self,
        caller: &str,
        token: Option<&str>,
        (method, template): (Method, &str),
        path: &str,
        body: Option<Value>,
        expected: StatusCode,
    ) {
        self.covered.insert((method.as_str().to_lowercase(), template.to_owned()));
        let mut request = self.app.request(method.clone(), path, token);
        if method == Method::PATCH || method == Method::PUT {
            request = request.header("If-Match", "*");
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        if response.status() != expected {
            let status = response.status();
            let detail = response.text().await.unwrap_or_default();
            self.failures.push(format!("{caller:>12} {method} {path}: expected {expected}, got {status} {detail}"));
        }
    }
}

struct Records {
    /// Comments by nato.staff on each class's activity, marked like it.
    comments: Vec<(Class, String)>,
    activities: Vec<(Class, String, String)>,
    documents: Vec<(Class, String)>,
    goals: Vec<(Class, String)>,
}

async fn create_activity(app: &TestApp, staff: &str, body: Value) -> (String, String) {
    let response = app.post("/api/v1/activities", Some(staff), &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let activity: Value = response.json().await.unwrap();
    (activity["id"].as_str().unwrap().to_owned(), activity["title"].as_str().unwrap().to_owned())
}

async fn import(app: &TestApp, staff: &str, body: Value) -> Value {
    let response = app.post("/api/v1/documents/import", Some(staff), &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json::<Value>().await.unwrap()["document"].clone()
}

async fn records(app: &TestApp, staff: &str) -> Records {
    let mut activities = Vec::new();
    for (class, body) in [
        (Class::JapanOnly, json!({"partnership": "JPN", "title": "Japan only", "kind": "meeting"})),
        (Class::KoreaOnly, json!({"partnership": "KOR", "title": "Korea only", "kind": "meeting"})),
        (Class::Public, json!({"partnership": "JPN", "title": "Public", "kind": "meeting", "marking": "PUBLIC"})),
        (
            Class::Released,
            json!({"partnership": "JPN", "title": "Released", "kind": "meeting", "releasable_to": ["ALLIES", "NDC"]}),
        ),
    ] {
        let (id, title) = create_activity(app, staff, body).await;
        activities.push((class, id, title));
    }
    // Drafts, so that approving them is refused by the lifecycle (409) and never changes them.
    let japan_only = import(app, staff, json!({"text": MONGOLIA, "partner": "JPN", "status": "draft"})).await;
    let released = import(
        app,
        staff,
        json!({"text": AUSTRALIA, "partner": "JPN", "status": "draft", "marking": "NATO UNCLASSIFIED", "releasable_to": ["ALLIES", "NDC"]}),
    )
    .await;
    assert_eq!(released["releasable_to"], json!(["ALLIES", "JPN", "NDC"]));
    let listed = app.get_json("/api/v1/documents", Some(staff)).await;
    let find = |partner: &str, kind: &str| -> Value {
        listed.as_array().unwrap().iter().find(|d| d["partnership"] == partner && d["kind"] == kind).unwrap().clone()
    };
    let mut documents = Vec::new();
    let mut goals = Vec::new();
    for (class, document) in [
        (Class::JapanOnly, japan_only),
        (Class::KoreaOnly, find("KOR", "IPCP")),
        (Class::Public, find("JPN", "ITPP")),
        (Class::Released, released),
    ] {
        let id = document["id"].as_str().unwrap().to_owned();
        let detail = app.get_json(&format!("/api/v1/documents/{id}"), Some(staff)).await;
        let element = ["partnership_goals", "priority_areas", "strategic_objectives"]
            .iter()
            .find_map(|k| detail[*k].as_array().unwrap().first().cloned())
            .unwrap_or_else(|| panic!("{class:?} document has no element"));
        goals.push((class, element["id"].as_str().unwrap().to_owned()));
        documents.push((class, id));
    }
    let mut comments = Vec::new();
    for (class, id, _) in &activities {
        let comment = comment_on(app, staff, *class, id).await;
        comments.push((*class, comment));
    }
    Records { comments, activities, documents, goals }
}

/// A comment by nato.staff on activity `id`, marked like the activity's class.
async fn comment_on(app: &TestApp, staff: &str, class: Class, id: &str) -> String {
    let body = match class {
        Class::Public => json!({"body": "Noted.", "marking": "PUBLIC"}),
        Class::Released => json!({"body": "Noted.", "releasable_to": ["ALLIES", "NDC"]}),
        _ => json!({"body": "Noted."}),
    };
    let response = app.post(&format!("/api/v1/activities/{id}/comments"), Some(staff), &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_operation_for_every_role_and_record_class() {
    let app = TestApp::demo().await;
    let staff = app.login("nato.staff").await;
    let admin = app.login("nato.admin").await;
    let records = records(&app, &staff).await;
    for (name, partner) in [("matrix.jpn", "JPN"), ("matrix.kor", "KOR")] {
        let body = json!({"username": name, "display_name": name, "role": "partner_officer", "partner": partner, "password": "a-sound-passphrase-2026"});
        assert_eq!(app.post("/api/v1/users", Some(&admin), &body).await.status(), StatusCode::CREATED);
    }
    let webhooks = webhooks(&app, &admin).await;
    let menu = menu_records(&app, &staff).await;
    let mut m = Matrix { app: &app, covered: BTreeSet::new(), failures: Vec::new() };

    for caller in CALLERS {
        let token = if caller == "anonymous" { None } else { Some(app.login(caller).await) };
        let t = token.as_deref();
        use Method as M;
        use StatusCode as S;

        // Session and tokens.
        let login = json!({"username": caller, "password": if caller == "anonymous" { "x".to_owned() } else { common::PASSWORD.to_owned() }});
        let expected = if caller == "anonymous" { S::UNAUTHORIZED } else { S::OK };
        m.check(caller, None, (M::POST, "/api/v1/auth/login"), "/api/v1/auth/login", Some(login), expected).await;
        m.check(caller, t, (M::GET, "/api/v1/auth/me"), "/api/v1/auth/me", None, signed_in(caller, S::OK)).await;
        m.check(caller, t, (M::GET, "/api/v1/tokens"), "/api/v1/tokens", None, signed_in(caller, S::OK)).await;
        let token_body = json!({"name": "matrix"});
        m.check(
            caller,
            t,
            (M::POST, "/api/v1/tokens"),
            "/api/v1/tokens",
            Some(token_body),
            signed_in(caller, S::CREATED),
        )
        .await;
        let unknown = "/api/v1/tokens/01020304-0506-7708-890a-0b0c0d0e0f10";
        m.check(caller, t, (M::DELETE, "/api/v1/tokens/{id}"), unknown, None, signed_in(caller, S::NOT_FOUND)).await;

        // Reference data and lists: everyone, the lists filtered by what each may see.
        for path in [
            "/api/v1/organisations",
            "/api/v1/areas",
            "/api/v1/partnerships",
            "/api/v1/documents",
            "/api/v1/activities",
            "/api/v1/stream",
        ] {
            m.check(caller, t, (M::GET, path), path, None, S::OK).await;
        }

        // Partnerships.
        for partner in ["JPN", "KOR"] {
            let expected = read(sees_partnership(caller, partner));
            let path = format!("/api/v1/partnerships/{partner}");
            m.check(caller, t, (M::GET, "/api/v1/partnerships/{partner}"), &path, None, expected).await;
            let history = format!("{path}/history");
            m.check(caller, t, (M::GET, "/api/v1/partnerships/{partner}/history"), &history, None, expected).await;
        }

        // Activities.
        let new_activity = json!({"partnership": "JPN", "title": "Matrix", "kind": "meeting"});
        let expected = write(caller, true, edits_activities_of(caller, "JPN"), S::CREATED);
        m.check(caller, t, (M::POST, "/api/v1/activities"), "/api/v1/activities", Some(new_activity), expected).await;
        for (class, id, title) in &records.activities {
            let visible = sees(caller, *class);
            let path = format!("/api/v1/activities/{id}");
            m.check(caller, t, (M::GET, "/api/v1/activities/{id}"), &path, None, read(visible)).await;
            let history = format!("{path}/history");
            m.check(caller, t, (M::GET, "/api/v1/activities/{id}/history"), &history, None, read(visible)).await;
            let allowed = edits_activities_of(caller, partner_of(*class));
            let unchanged = json!({"title": title});
            let expected = write(caller, visible, allowed, S::OK);
            m.check(caller, t, (M::PATCH, "/api/v1/activities/{id}"), &path, Some(unchanged), expected).await;
            // Proposed → completed is never a valid step: an allowed caller reaches the lifecycle (409).
            let transitions = format!("{path}/transitions");
            let expected = write(caller, visible, allowed, S::CONFLICT);
            let body = json!({"to": "completed"});
            m.check(caller, t, (M::POST, "/api/v1/activities/{id}/transitions"), &transitions, Some(body), expected)
                .await;
        }

        // Discussions, watches.
        let comments_allowed = caller != "auditor";
        for (class, id, _) in &records.activities {
            let visible = sees(caller, *class);
            let path = format!("/api/v1/activities/{id}/comments");
            m.check(caller, t, (M::GET, "/api/v1/activities/{id}/comments"), &path, None, read(visible)).await;
            let expected = write(caller, visible, comments_allowed, S::CREATED);
            m.check(
                caller,
                t,
                (M::POST, "/api/v1/activities/{id}/comments"),
                &path,
                Some(json!({"body": "Seen."})),
                expected,
            )
            .await;
            let watch = format!("/api/v1/watches/activities/{id}");
            let expected = write(caller, visible, true, S::NO_CONTENT);
            m.check(caller, t, (M::PUT, "/api/v1/watches/{entity}/{id}"), &watch, None, expected).await;
            m.check(caller, t, (M::DELETE, "/api/v1/watches/{entity}/{id}"), &watch, None, expected).await;
            // A fresh comment for each caller to delete: its author (nato.staff) and NATO staff may.
            let doomed = comment_on(&app, &staff, *class, id).await;
            let path = format!("/api/v1/comments/{doomed}");
            let expected = write(caller, visible, nato_writer(caller), S::OK);
            m.check(caller, t, (M::DELETE, "/api/v1/comments/{id}"), &path, None, expected).await;
        }
        for (class, id) in &records.comments {
            let visible = sees(caller, *class);
            let path = format!("/api/v1/comments/{id}");
            // Only its author (nato.staff) edits a comment.
            let expected = write(caller, visible, caller == "nato.staff", S::OK);
            m.check(caller, t, (M::PATCH, "/api/v1/comments/{id}"), &path, Some(json!({"body": "Noted."})), expected)
                .await;
            let history = format!("{path}/history");
            m.check(caller, t, (M::GET, "/api/v1/comments/{id}/history"), &history, None, read(visible)).await;
        }
        m.check(caller, t, (M::GET, "/api/v1/watches"), "/api/v1/watches", None, signed_in(caller, S::OK)).await;
        // The e-mail digest: everyone manages their own subscription; only NATO administrators send
        // (and without an SMTP relay, as here, that is refused as a conflict).
        let digest = "/api/v1/digest";
        let email = Some(json!({"email": "desk@example.org"}));
        m.check(caller, t, (M::PUT, digest), digest, email, signed_in(caller, S::NO_CONTENT)).await;
        m.check(caller, t, (M::GET, digest), digest, None, signed_in(caller, S::OK)).await;
        m.check(caller, t, (M::DELETE, digest), digest, None, signed_in(caller, S::NO_CONTENT)).await;
        let expected = write(caller, true, caller == "nato.admin", S::CONFLICT);
        m.check(caller, t, (M::POST, "/api/v1/digest/send"), "/api/v1/digest/send", None, expected).await;
        m.check(caller, t, (M::GET, "/api/v1/notifications"), "/api/v1/notifications", None, signed_in(caller, S::OK))
            .await;
        let all = Some(json!({}));
        let expected = signed_in(caller, S::OK);
        m.check(caller, t, (M::POST, "/api/v1/notifications/read"), "/api/v1/notifications/read", all, expected).await;

        // Documents, their history, approvals and their goals.
        for (class, id) in &records.documents {
            let visible = sees(caller, *class);
            let path = format!("/api/v1/documents/{id}");
            m.check(caller, t, (M::GET, "/api/v1/documents/{id}"), &path, None, read(visible)).await;
            let comments = format!("{path}/comments");
            m.check(caller, t, (M::GET, "/api/v1/documents/{id}/comments"), &comments, None, read(visible)).await;
            let expected = write(caller, visible, caller != "auditor", S::CREATED);
            let body = Some(json!({"body": "Seen."}));
            m.check(caller, t, (M::POST, "/api/v1/documents/{id}/comments"), &comments, body, expected).await;
            let history = format!("{path}/history");
            m.check(caller, t, (M::GET, "/api/v1/documents/{id}/history"), &history, None, read(visible)).await;
            // None of them is an agreed programme, so an allowed approval is refused by the lifecycle.
            let approvals = format!("{path}/approvals");
            let body = json!({"by": "nac", "on": "2026-01-01"});
            let expected = write(caller, visible, nato_writer(caller), S::CONFLICT);
            m.check(caller, t, (M::POST, "/api/v1/documents/{id}/approvals"), &approvals, Some(body), expected).await;
        }
        for (class, id) in &records.goals {
            let path = format!("/api/v1/goals/{id}");
            let visible = sees(caller, *class);
            m.check(caller, t, (M::GET, "/api/v1/goals/{id}"), &path, None, read(visible)).await;
            let comments = format!("{path}/comments");
            m.check(caller, t, (M::GET, "/api/v1/goals/{id}/comments"), &comments, None, read(visible)).await;
            let expected = write(caller, visible, caller != "auditor", S::CREATED);
            let body = Some(json!({"body": "Seen."}));
            m.check(caller, t, (M::POST, "/api/v1/goals/{id}/comments"), &comments, body, expected).await;
        }
        let public = &records.documents.iter().find(|(c, _)| *c == Class::Public).unwrap().1;
        let japan_only = &records.documents.iter().find(|(c, _)| *c == Class::JapanOnly).unwrap().1;
        let compare = format!("/api/v1/documents/compare?from={japan_only}&to={public}");
        let expected = read(sees(caller, Class::JapanOnly));
        m.check(caller, t, (M::GET, "/api/v1/documents/compare"), &compare, None, expected).await;
        let body = json!({"text": MONGOLIA, "partner": "JPN", "dry_run": true});
        let expected = write(caller, true, nato_writer(caller), S::OK);
        m.check(caller, t, (M::POST, "/api/v1/documents/import"), "/api/v1/documents/import", Some(body), expected)
            .await;

        // Accounts and audit.
        let manages = matches!(caller, "nato.admin" | "jpn.admin");
        m.check(caller, t, (M::GET, "/api/v1/users"), "/api/v1/users", None, write(caller, true, manages, S::OK)).await;
        let username = format!("made.by.{}", caller.replace('.', "-"));
        let body = json!({"username": username, "display_name": "M", "role": "partner_officer", "partner": "JPN", "password": "a-sound-passphrase-2026"});
        m.check(
            caller,
            t,
            (M::POST, "/api/v1/users"),
            "/api/v1/users",
            Some(body),
            write(caller, true, manages, S::CREATED),
        )
        .await;
        for (target, in_scope) in [("matrix.jpn", manages), ("matrix.kor", caller == "nato.admin")] {
            let path = format!("/api/v1/users/{target}");
            let body = json!({"password": "a-fresh-passphrase-2026"});
            let expected = match caller {
                "anonymous" => S::UNAUTHORIZED,
                _ if !manages => S::FORBIDDEN,
                _ if !in_scope => S::NOT_FOUND,
                _ => S::OK,
            };
            m.check(caller, t, (M::PATCH, "/api/v1/users/{username}"), &path, Some(body), expected).await;
        }
        let reads_audit = matches!(caller, "nato.admin" | "auditor" | "jpn.admin");
        m.check(caller, t, (M::GET, "/api/v1/audit"), "/api/v1/audit", None, write(caller, true, reads_audit, S::OK))
            .await;
        check_webhooks(&mut m, caller, t, &webhooks).await;
        check_menu(&mut m, caller, t, &menu, &records).await;

        // Signing out last: it revokes the token.
        m.check(
            caller,
            t,
            (M::POST, "/api/v1/auth/logout"),
            "/api/v1/auth/logout",
            None,
            signed_in(caller, S::NO_CONTENT),
        )
        .await;
    }

    let doc = app.get_json("/api/openapi.json", None).await;
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.clone(), path.clone()));
        }
    }
    let uncovered: Vec<_> = documented.difference(&m.covered).collect();
    assert!(uncovered.is_empty(), "operations without a row in the matrix: {uncovered:?}");
    assert!(m.failures.is_empty(), "{} mismatches:\n{}", m.failures.len(), m.failures.join("\n"));
}

/// A paused webhook of Japan's and one of Korea's (never sent anything), by id.
async fn webhooks(app: &TestApp, nato_admin: &str) -> [(&'static str, String); 2] {
    let mut ids = Vec::new();
    for organisation in ["JPN", "KOR"] {
        let body =
            json!({"organisation": organisation, "url": "https://partner.example.invalid/hook", "active": false});
        let response = app.post("/api/v1/webhooks", Some(nato_admin), &body).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        ids.push(response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
    }
    let [jpn, kor] = <[String; 2]>::try_from(ids).unwrap();
    [("JPN", jpn), ("KOR", kor)]
}

/// Webhooks: NATO administrators manage every organisation's, Japan's administrator Japan's (the
/// others' look absent); nobody else manages any.
async fn check_webhooks(m: &mut Matrix<'_>, caller: &str, t: Option<&str>, webhooks: &[(&'static str, String)]) {
    use Method as M;
    use StatusCode as S;
    let manages = matches!(caller, "nato.admin" | "jpn.admin");
    let expected = |in_scope: bool, success: StatusCode| match caller {
        "anonymous" => S::UNAUTHORIZED,
        _ if !manages => S::FORBIDDEN,
        _ if !in_scope => S::NOT_FOUND,
        _ => success,
    };
    m.check(caller, t, (M::GET, "/api/v1/webhooks"), "/api/v1/webhooks", None, expected(true, S::OK)).await;
    let body = json!({"organisation": "JPN", "url": "https://jpn.example.invalid/hook", "active": false});
    m.check(caller, t, (M::POST, "/api/v1/webhooks"), "/api/v1/webhooks", Some(body), expected(true, S::CREATED)).await;
    let unknown = "/api/v1/webhooks/01020304-0506-7708-890a-0b0c0d0e0f10";
    m.check(caller, t, (M::DELETE, "/api/v1/webhooks/{id}"), unknown, None, expected(false, S::NO_CONTENT)).await;
    for (organisation, id) in webhooks {
        let in_scope = caller == "nato.admin" || *organisation == "JPN";
        let path = format!("/api/v1/webhooks/{id}");
        m.check(caller, t, (M::GET, "/api/v1/webhooks/{id}"), &path, None, expected(in_scope, S::OK)).await;
        let body = json!({"description": format!("checked by {caller}")});
        m.check(caller, t, (M::PATCH, "/api/v1/webhooks/{id}"), &path, Some(body), expected(in_scope, S::OK)).await;
        let rotate = format!("{path}/rotate-secret");
        let template = "/api/v1/webhooks/{id}/rotate-secret";
        m.check(caller, t, (M::POST, template), &rotate, None, expected(in_scope, S::OK)).await;
        let log = format!("{path}/deliveries");
        m.check(caller, t, (M::GET, "/api/v1/webhooks/{id}/deliveries"), &log, None, expected(in_scope, S::OK)).await;
        // No such delivery: an allowed caller reaches the lookup (404) too.
        let redeliver = format!("{path}/deliveries/01020304-0506-7708-890a-0b0c0d0e0f10/redeliver");
        let template = "/api/v1/webhooks/{id}/deliveries/{delivery}/redeliver";
        m.check(caller, t, (M::POST, template), &redeliver, None, expected(in_scope, S::NOT_FOUND)).await;
    }
}

/// Menu records: a draft of NDC's, a published event open to Japan only and one open to Korea
/// only, and a Japanese nomination to the first.
struct MenuRecords {
    draft: String,
    draft_body: Value,
    for_japan: String,
    for_korea: String,
    nomination: String,
}

fn offering_body(code: &str, nation: &str) -> Value {
    let start = time::OffsetDateTime::now_utc().date() + time::Duration::days(90);
    let deadline = start - time::Duration::days(30);
    json!({
        "code": code, "title": "Matrix Course", "areas": ["CYD"], "event_type": "course", "provider": "NDC",
        "contact": {"name": "Registrar", "email": "registrar@ndc.example"},
        "sessions": [{"starts_on": start.to_string(), "ends_on": (start + time::Duration::days(4)).to_string(), "location": "Rome, ITA"}],
        "seats": 20, "nation_quota": 5, "eligibility": {"kind": "nations", "nations": [nation]},
        "nomination_deadline": deadline.to_string(),
    })
}

async fn menu_records(app: &TestApp, staff: &str) -> MenuRecords {
    let mut ids = Vec::new();
    for (code, nation, publish) in [("MTX-DRAFT", "JPN", false), ("MTX-JPN", "JPN", true), ("MTX-KOR", "KOR", true)] {
        let response = app.post("/api/v1/menu", Some(staff), &offering_body(code, nation)).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
        let id = response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        if publish {
            for to in ["submitted", "approved", "published"] {
                let path = format!("/api/v1/menu/{id}/transitions");
                assert_eq!(app.post(&path, Some(staff), &json!({"to": to})).await.status(), StatusCode::OK);
            }
        }
        ids.push(id);
    }
    let officer = app.login("jpn.officer").await;
    let body = json!({"name": "Sato Hiroshi", "organisation": "JSDF", "email": "sato@example.jp", "language_level": 3});
    let response = app.post(&format!("/api/v1/menu/{}/nominations", ids[1]), Some(&officer), &body).await;
    assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
    let nomination = response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    MenuRecords {
        draft: ids[0].clone(),
        draft_body: offering_body("MTX-DRAFT", "JPN"),
        for_japan: ids[1].clone(),
        for_korea: ids[2].clone(),
        nomination,
    }
}

async fn check_menu(m: &mut Matrix<'_>, caller: &str, t: Option<&str>, menu: &MenuRecords, records: &Records) {
    use Method as M;
    use StatusCode as S;
    let nato = nato_writer(caller);
    let sees_everything = nato || caller == "auditor";
    let provider = caller == "ndc.provider";
    let japanese = matches!(caller, "jpn.admin" | "jpn.officer");
    // Who sees which offering: NATO and the provider everything; eligible partners published ones.
    let sees_draft = sees_everything || provider;
    let sees_japan = sees_draft || japanese;
    let sees_korea = sees_draft || caller == "kor.officer";
    m.check(caller, t, (M::GET, "/api/v1/menu"), "/api/v1/menu?q=matrix", None, S::OK).await;
    let mut create = offering_body(&format!("MTX-NEW-{}", caller.replace('.', "-").to_uppercase()), "JPN");
    if provider {
        create.as_object_mut().unwrap().remove("provider");
    }
    let expected = write(caller, true, nato || provider, S::CREATED);
    m.check(caller, t, (M::POST, "/api/v1/menu"), "/api/v1/menu", Some(create), expected).await;
    for (id, visible) in [(&menu.draft, sees_draft), (&menu.for_japan, sees_japan), (&menu.for_korea, sees_korea)] {
        m.check(caller, t, (M::GET, "/api/v1/menu/{id}"), &format!("/api/v1/menu/{id}"), None, read(visible)).await;
        let ics = format!("/api/v1/menu/{id}/event.ics");
        m.check(caller, t, (M::GET, "/api/v1/menu/{id}/event.ics"), &ics, None, read(visible)).await;
        // An event's discussion: whoever sees the event reads it and (but auditors) takes part.
        let comments = format!("/api/v1/menu/{id}/comments");
        m.check(caller, t, (M::GET, "/api/v1/menu/{id}/comments"), &comments, None, read(visible)).await;
        let expected = write(caller, visible, caller != "auditor", S::CREATED);
        let body = Some(json!({"body": "Seen."}));
        m.check(caller, t, (M::POST, "/api/v1/menu/{id}/comments"), &comments, body, expected).await;
        let watch = format!("/api/v1/watches/offerings/{id}");
        let expected = write(caller, visible, true, S::NO_CONTENT);
        m.check(caller, t, (M::PUT, "/api/v1/watches/{entity}/{id}"), &watch, None, expected).await;
        m.check(caller, t, (M::DELETE, "/api/v1/watches/{entity}/{id}"), &watch, None, expected).await;
    }
    let feeds = "/api/v1/calendar/feeds";
    let body = json!({"name": "matrix"});
    m.check(caller, t, (M::POST, feeds), feeds, Some(body), signed_in(caller, S::CREATED)).await;
    m.check(caller, t, (M::GET, feeds), feeds, None, signed_in(caller, S::OK)).await;
    let unknown = "/api/v1/calendar/feeds/01020304-0506-7708-890a-0b0c0d0e0f10";
    m.check(caller, t, (M::DELETE, "/api/v1/calendar/feeds/{id}"), unknown, None, signed_in(caller, S::NOT_FOUND))
        .await;
    // A feed is read with its own secret, never with the caller's credentials.
    let bogus = "/api/v1/calendar/not-a-feed-token/feed.ics";
    m.check(caller, t, (M::GET, "/api/v1/calendar/{token}/feed.ics"), bogus, None, S::NOT_FOUND).await;
    let draft = format!("/api/v1/menu/{}", menu.draft);
    let expected = write(caller, sees_draft, nato || provider, S::OK);
    m.check(caller, t, (M::PUT, "/api/v1/menu/{id}"), &draft, Some(menu.draft_body.clone()), expected).await;
    // Not a step the lifecycle allows from `draft`: 409 for those who may move it at all.
    let step = json!({"to": "approved"});
    let expected = write(caller, sees_draft, nato || provider, S::CONFLICT);
    let path = format!("{draft}/transitions");
    m.check(caller, t, (M::POST, "/api/v1/menu/{id}/transitions"), &path, Some(step), expected).await;
    let report = json!({"summary": "Held."});
    let expected = write(caller, sees_draft, nato || provider, S::CONFLICT);
    let path = format!("{draft}/report");
    m.check(caller, t, (M::POST, "/api/v1/menu/{id}/report"), &path, Some(report), expected).await;
    let japan = format!("/api/v1/menu/{}", menu.for_japan);
    let path = format!("{japan}/history");
    m.check(caller, t, (M::GET, "/api/v1/menu/{id}/history"), &path, None, read(sees_japan)).await;
    let path = format!("{japan}/nominations");
    let expected = signed_in(caller, read(sees_japan));
    m.check(caller, t, (M::GET, "/api/v1/menu/{id}/nominations"), &path, None, expected).await;
    let nominee = json!({"name": "Tanaka Aiko", "organisation": "MOD", "email": format!("{caller}@example.jp")});
    let expected = match caller {
        "anonymous" => S::UNAUTHORIZED,
        "jpn.officer" => S::CREATED,
        // NATO staff must name the nation they nominate for.
        "nato.admin" | "nato.staff" => S::UNPROCESSABLE_ENTITY,
        "kor.officer" => S::NOT_FOUND,
        _ => S::FORBIDDEN,
    };
    m.check(caller, t, (M::POST, "/api/v1/menu/{id}/nominations"), &path, Some(nominee), expected).await;
    let path = format!("{japan}/adopt");
    let expected = write(caller, sees_japan, nato || caller == "jpn.officer", S::CREATED);
    let adopt = json!({"partnership": "JPN"});
    m.check(caller, t, (M::POST, "/api/v1/menu/{id}/adopt"), &path, Some(adopt), expected).await;
    let mine = "/api/v1/nominations/mine";
    m.check(caller, t, (M::GET, "/api/v1/nominations/mine"), mine, None, signed_in(caller, S::OK)).await;
    let nomination = format!("/api/v1/nominations/{}", menu.nomination);
    let sees_nomination = sees_draft || japanese;
    let expected = signed_in(caller, read(sees_nomination));
    m.check(caller, t, (M::GET, "/api/v1/nominations/{id}"), &nomination, None, expected).await;
    // The first who may decide waitlists it; later deciders find it waitlisted already.
    let expected = match caller {
        "nato.admin" => S::OK,
        "nato.staff" | "ndc.provider" => S::CONFLICT,
        _ => write(caller, sees_nomination, false, S::OK),
    };
    let path = format!("{nomination}/decision");
    let decision = json!({"decision": "waitlist"});
    m.check(caller, t, (M::POST, "/api/v1/nominations/{id}/decision"), &path, Some(decision), expected).await;
    // Attendance: the provider's and NATO's, but not while the event is open.
    let expected = write(caller, sees_nomination, nato || provider, S::CONFLICT);
    let path = format!("{nomination}/attendance");
    let body = json!({"attendance": "attended"});
    m.check(caller, t, (M::POST, "/api/v1/nominations/{id}/attendance"), &path, Some(body), expected).await;
    // Feedback: Japan's officer's (not before the event), nobody else's.
    let expected = write(caller, sees_nomination, caller == "jpn.officer", S::CONFLICT);
    let path = format!("{nomination}/feedback");
    let body = json!({"ratings": {"overall": 5, "content": 5, "organisation": 5, "relevance": 5}});
    m.check(caller, t, (M::POST, "/api/v1/nominations/{id}/feedback"), &path, Some(body), expected).await;
    for (class, id, _) in &records.activities {
        let path = format!("/api/v1/activities/{id}/participation");
        let template = "/api/v1/activities/{id}/participation";
        m.check(caller, t, (M::GET, template), &path, None, read(sees(caller, *class))).await;
    }
    for (class, id) in &records.goals {
        let path = format!("/api/v1/goals/{id}/participation");
        let template = "/api/v1/goals/{id}/participation";
        let visible = sees(caller, *class);
        m.check(caller, t, (M::GET, template), &path, None, read(visible)).await;
    }
}
