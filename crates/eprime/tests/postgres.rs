//! e-PRIME on PostgreSQL: the HTTP integration checks the SQLite tests make, two instances on one
//! database, `eprime db copy` from a demo SQLite file, and `eprime migrate` / `eprime db check`.
//!
//! Runs when `EPRIME_TEST_POSTGRES_URL` names a server (e.g.
//! `postgres://postgres@127.0.0.1:5432/postgres`, a role that may create databases); each test
//! creates a database of its own and drops it at the end. Without the variable every test says on
//! stderr that it was skipped, and why.

mod common;

use std::process::{Command, Output};

use common::postgres::{TestDatabase, server_url};
use common::{TestApp, checks, problem};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A fresh database for this test, or `None` (the test was skipped, and said so).
async fn database(test: &str) -> Option<TestDatabase> {
    let server = server_url(test)?;
    Some(TestDatabase::create(&server).await)
}

/// A demo server on a fresh PostgreSQL database (kept alive by the returned guard).
async fn demo_app(test: &str) -> Option<(TestApp, TestDatabase)> {
    let database = database(test).await?;
    let app = TestApp::on_database(&database.url, true).await;
    Some((app, database))
}

// ----- (a) the API behaves as it does on SQLite -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_on_postgres_holds_the_same_programme() {
    let Some((app, _db)) = demo_app("the_demo_on_postgres_holds_the_same_programme").await else { return };
    assert!(app.server.as_ref().unwrap().demo.is_some(), "the demo filled the empty database");
    checks::demo_content(&app).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activities_are_created_updated_and_transitioned_on_postgres() {
    let Some((app, _db)) = demo_app("activities_are_created_updated_and_transitioned_on_postgres").await else {
        return;
    };
    checks::activity_lifecycle(&app).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_and_stores_nothing_on_postgres() {
    let Some((app, _db)) = demo_app("bad_input_is_refused_and_stores_nothing_on_postgres").await else { return };
    checks::bad_bodies_store_nothing(&app).await;
    checks::bad_updates_change_nothing(&app).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partners_see_only_what_they_may_on_postgres() {
    let Some((app, _db)) = demo_app("partners_see_only_what_they_may_on_postgres").await else { return };
    checks::partner_confidentiality(&app).await;
    checks::role_slices_of_japan(&app).await;
    app.stop().await;
}

// ----- (b) several instances on one database -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_writes_sessions_and_optimistic_concurrency() {
    let Some(db) = database("two_instances_share_writes_sessions_and_optimistic_concurrency").await else { return };
    let a = TestApp::on_database(&db.url, true).await;
    let b = TestApp::on_database(&db.url, true).await;
    assert!(a.server.as_ref().unwrap().demo.is_some());
    assert!(b.server.as_ref().unwrap().demo.is_none(), "the second instance finds the data and loads nothing");
    assert_ne!(a.url, b.url);

    // A sign-in through A is valid on B: sessions live in the database, not in an instance.
    let officer = a.login("jpn.officer").await;
    assert_eq!(b.get_json("/api/v1/auth/me", Some(&officer)).await["username"], "jpn.officer");
    let staff = b.login("nato.staff").await;

    // A write through A is read at once through B, and the other way round.
    let body = json!({"partnership": "JPN", "title": "Staff talks", "kind": "meeting", "starts_on": "2026-12-01"});
    let created = checks::create(&a, &officer, body).await;
    let path = format!("/api/v1/activities/{}", created["id"].as_str().unwrap());
    assert_eq!(b.get_json(&path, Some(&staff)).await, created, "B reads A's write at once");
    assert!(b.all_activities("&partnership=JPN", Some(&staff)).await.iter().any(|x| x["id"] == created["id"]));
    let patched = b
        .request(Method::PATCH, &path, Some(&staff))
        .header("If-Match", "\"v1\"")
        .json(&json!({"location": "Tokyo"}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), StatusCode::OK);
    let patched: Value = patched.json().await.unwrap();
    assert_eq!(a.get_json(&path, Some(&officer)).await, patched, "A reads B's write at once");

    // Concurrent updates from the same version through both instances: exactly one wins.
    let attempts: Vec<_> = (0..8)
        .map(|i| {
            let (app, token) = if i % 2 == 0 { (&a, &officer) } else { (&b, &staff) };
            let request = app
                .request(Method::PATCH, &path, Some(token))
                .header("If-Match", "\"v2\"")
                .json(&json!({"title": format!("Staff talks, take {i}")}));
            tokio::spawn(async move { request.send().await.unwrap() })
        })
        .collect();
    let mut winners = Vec::new();
    for attempt in attempts {
        let response = attempt.await.unwrap();
        match response.status() {
            StatusCode::OK => winners.push(response.json::<Value>().await.unwrap()),
            _ => {
                let body = problem(response, StatusCode::PRECONDITION_FAILED).await;
                assert_eq!(body["current_version"], 3);
            }
        }
    }
    assert_eq!(winners.len(), 1, "exactly one of the concurrent PATCHes wins");
    assert_eq!(winners[0]["version"], 3);
    for app in [&a, &b] {
        assert_eq!(app.get_json(&path, Some(&staff)).await, winners[0], "both instances hold the winner's write");
    }
    let history = a.get_json(&format!("{path}/history"), Some(&staff)).await;
    let operations: Vec<&str> = history.as_array().unwrap().iter().map(|h| h["operation"].as_str().unwrap()).collect();
    assert_eq!(operations, ["create", "update", "update"], "one change-log entry per successful write");

    // Signing out through B ends the session on B at once, and on A within the moment A may keep a
    // resolved token (`session_cache::RECHECK`).
    let out = b.request(Method::POST, "/api/v1/auth/logout", Some(&officer)).send().await.unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    problem(b.get("/api/v1/auth/me", Some(&officer)).await, StatusCode::UNAUTHORIZED).await;
    tokio::time::sleep(eprime_server::session_cache::RECHECK + std::time::Duration::from_millis(100)).await;
    problem(a.get("/api/v1/auth/me", Some(&officer)).await, StatusCode::UNAUTHORIZED).await;
    a.stop().await;
    b.stop().await;
}

// ----- (c) moving from the embedded SQLite file to PostgreSQL -----

fn eprime(args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_eprime")).args(args).env("RUST_LOG", "warn").output().unwrap();
    // Shown when the test fails.
    eprintln!(
        "$ eprime {}\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `value` with every instant (RFC 3339, UTC) cut to the microsecond, which is what PostgreSQL
/// keeps, and written with its fraction's trailing zeros dropped.
fn to_microseconds(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(instant_to_microseconds(s).unwrap_or_else(|| s.clone())),
        Value::Array(items) => Value::Array(items.iter().map(to_microseconds).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), to_microseconds(v))).collect()),
        other => other.clone(),
    }
}

fn instant_to_microseconds(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let shape = bytes.len() >= 20
        && bytes[4] == b'-'
        && bytes[10] == b'T'
        && bytes[13] == b':'
        && s.ends_with('Z')
        && bytes[..19].iter().enumerate().all(|(i, b)| matches!(i, 4 | 7 | 10 | 13 | 16) || b.is_ascii_digit());
    if !shape {
        return None;
    }
    let fraction = s[19..s.len() - 1].strip_prefix('.').unwrap_or("");
    if !fraction.bytes().all(|b| b.is_ascii_digit()) || (fraction.is_empty() && s.len() != 20) {
        return None;
    }
    let micros = format!("{fraction:0<9}")[..6].trim_end_matches('0').to_owned();
    Some(if micros.is_empty() { format!("{}Z", &s[..19]) } else { format!("{}.{micros}Z", &s[..19]) })
}

/// What each kind of user sees: (user, every activity listed, partnerships).
async fn views(app: &TestApp) -> Vec<(String, Vec<Value>, Value)> {
    let mut out = Vec::new();
    for user in [None, Some("nato.staff"), Some("jpn.officer"), Some("kor.officer"), Some("fra.ally")] {
        let token = match user {
            Some(user) => Some(app.login(user).await),
            None => None,
        };
        let activities = app.all_activities("", token.as_deref()).await.iter().map(to_microseconds).collect();
        let partnerships = match &token {
            Some(token) => to_microseconds(&app.get_json("/api/v1/partnerships", Some(token)).await),
            None => Value::Null,
        };
        out.push((user.unwrap_or("anonymous").to_owned(), activities, partnerships));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn db_copy_moves_a_demo_sqlite_database_to_postgres_with_every_row_verified() {
    let Some(db) = database("db_copy_moves_a_demo_sqlite_database_to_postgres_with_every_row_verified").await else {
        return;
    };
    // A demo SQLite database with some history beyond the demo: an update and a transition.
    let mut source = TestApp::demo().await;
    let staff = source.login("nato.staff").await;
    let created = checks::create(
        &source,
        &staff,
        json!({"partnership": "KOR", "title": "Cyber staff talks", "kind": "consultation", "starts_on": "2026-05-01"}),
    )
    .await;
    let path = format!("/api/v1/activities/{}", created["id"].as_str().unwrap());
    let approved = source.post(&format!("{path}/transitions"), Some(&staff), &json!({"to": "approved"})).await;
    assert_eq!(approved.status(), StatusCode::OK);
    let before = views(&source).await;
    let history_before = source.get_json(&format!("{path}/history"), Some(&staff)).await;
    source.server.take().unwrap().stop().await.unwrap();
    let sqlite = source.database.clone();

    let copy = eprime(&["db", "copy", "--from", &sqlite, "--to", &db.url]);
    assert!(copy.status.success(), "db copy succeeds");
    let printed = stdout(&copy);
    assert!(printed.contains("every row count and checksum matches"), "{printed}");
    for table in ["organisations", "documents", "activities", "users", "sessions", "change_log"] {
        let line = printed.lines().find(|l| l.starts_with(table)).unwrap_or_else(|| panic!("{table} in {printed}"));
        assert!(line.ends_with(" ok"), "{line}");
    }
    let log_rows: i64 = db.scalar_i64("SELECT count(*) FROM change_log").await;
    let max_seq: i64 = db.scalar_i64("SELECT max(seq) FROM change_log").await;
    assert!(log_rows > 100 && max_seq == log_rows, "the change log is copied with its numbers");

    for url in [&sqlite, &db.url] {
        let check = eprime(&["--database", url, "db", "check"]);
        assert!(check.status.success(), "db check on {url} passes");
        assert!(stdout(&check).contains("integrity:      ok"));
    }
    assert!(stdout(&eprime(&["--database", &db.url, "db", "check"])).contains("backend:        PostgreSQL"));

    // The copy serves the same data to every kind of user; accounts still sign in.
    let mut target = TestApp::on_database(&db.url, true).await;
    assert!(target.server.as_ref().unwrap().demo.is_none(), "the copy is not empty: no demo loaded");
    let after = views(&target).await;
    for ((user, want_activities, want_partnerships), (_, got_activities, got_partnerships)) in before.iter().zip(&after)
    {
        assert!(!want_activities.is_empty());
        assert_eq!(got_activities, want_activities, "{user} sees the same activities");
        assert_eq!(got_partnerships, want_partnerships, "{user} sees the same partnerships");
    }
    let staff = target.login("nato.staff").await;
    assert_eq!(
        to_microseconds(&target.get_json(&format!("{path}/history"), Some(&staff)).await),
        to_microseconds(&history_before)
    );

    // New writes continue the change log after the copied entries.
    let later =
        checks::create(&target, &staff, json!({"partnership": "JPN", "title": "After the move", "kind": "meeting"}))
            .await;
    // Sign-ins and the create, numbered on from the copied entries without a gap or a clash.
    let next = db.scalar_i64(&format!("SELECT min(seq) FROM change_log WHERE seq > {max_seq}")).await;
    assert_eq!(next, max_seq + 1);
    let newest = db.scalar_i64("SELECT max(seq) FROM change_log").await;
    let added = db.scalar_i64(&format!("SELECT count(*) FROM change_log WHERE seq > {max_seq}")).await;
    assert!(added >= 2 && newest == max_seq + added, "{added} entries up to {newest}");
    let history =
        target.get_json(&format!("/api/v1/activities/{}/history", later["id"].as_str().unwrap()), Some(&staff)).await;
    assert_eq!(history.as_array().unwrap().len(), 1);
    target.restart().await;
    target.stop().await;

    // A second copy into the now non-empty database is refused, and changes nothing.
    let again = eprime(&["db", "copy", "--from", &sqlite, "--to", &db.url]);
    assert!(!again.status.success());
    let error = String::from_utf8_lossy(&again.stderr);
    assert!(error.contains("not empty"), "{error}");
    assert_eq!(db.scalar_i64("SELECT count(*) FROM activities").await as usize, before[1].1.len() + 1);
    let check = eprime(&["--database", &db.url, "db", "check"]);
    assert!(check.status.success());
}

// ----- (d) migrations and checks, explicitly -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_and_db_check_on_a_fresh_postgres_database() {
    let Some(db) = database("migrate_and_db_check_on_a_fresh_postgres_database").await else { return };
    let newest = eprime_store_postgres_newest();

    // Before any migration: check changes nothing, says what to do, and fails.
    let unmigrated = eprime(&["--database", &db.url, "db", "check"]);
    assert!(!unmigrated.status.success());
    let printed = stdout(&unmigrated);
    assert!(printed.contains(&format!("schema version: 0 (newest known to this binary: {newest})")), "{printed}");
    assert!(printed.contains("eprime migrate"), "{printed}");
    assert_eq!(db.scalar_i64("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").await, 0);

    let migrated = eprime(&["--database", &db.url, "migrate"]);
    assert!(migrated.status.success());
    assert!(stdout(&migrated).contains(&format!("(PostgreSQL): schema version {newest}")), "{}", stdout(&migrated));
    // Twice is harmless.
    assert!(eprime(&["--database", &db.url, "migrate"]).status.success());

    let check = eprime(&["--database", &db.url, "db", "check"]);
    assert!(check.status.success());
    let printed = stdout(&check);
    assert!(printed.contains("backend:        PostgreSQL"), "{printed}");
    assert!(printed.contains(&format!("schema version: {newest} (newest known to this binary: {newest})")));
    assert!(printed.lines().any(|l| l.trim_start().starts_with("change_log") && l.trim_end().ends_with(" 0")));
    assert!(printed.contains("integrity:      ok"));

    // A broken reference (behind the application's back, constraints bypassed) is reported.
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&db.url).await.unwrap();
    sqlx::query("SET session_replication_role = replica").execute(&mut conn).await.unwrap();
    sqlx::query(
        "INSERT INTO activities (id, partnership, title, description, kind, status, outcome, marking, version,
                                 created_at, updated_at)
         VALUES (gen_random_uuid(), 'XXX', 'Orphan', '', 'meeting', 'proposed', '', 'PUBLIC', 1, now(), now())",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let _ = sqlx::Connection::close(conn).await;
    let broken = eprime(&["--database", &db.url, "db", "check"]);
    assert!(!broken.status.success());
    assert!(stdout(&broken).contains("activities.partnership refers to an existing partnerships.partner"));
}

fn eprime_store_postgres_newest() -> i64 {
    // The migrations this binary embeds are the crate's `migrations/` files, numbered from 1.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../eprime-store-postgres/migrations");
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.split('_').next()?.parse::<i64>().ok())
        .max()
        .unwrap()
}

#[test]
fn instants_compare_to_the_microsecond() {
    assert_eq!(instant_to_microseconds("2026-11-23T07:27:41.190050123Z").unwrap(), "2026-11-23T07:27:41.19005Z");
    assert_eq!(instant_to_microseconds("2026-11-23T07:27:41.19005Z").unwrap(), "2026-11-23T07:27:41.19005Z");
    assert_eq!(instant_to_microseconds("2026-11-23T07:27:41.000000400Z").unwrap(), "2026-11-23T07:27:41Z");
    assert_eq!(instant_to_microseconds("2026-11-23T07:27:41Z").unwrap(), "2026-11-23T07:27:41Z");
    assert_eq!(instant_to_microseconds("2026-12-01"), None);
    assert_eq!(instant_to_microseconds("Staff talks on 2026-11-23T07:27:41Z"), None);
}

#[tokio::test]
async fn without_the_variable_the_tests_say_they_are_skipped() {
    // Documented behaviour: the URL comes from this variable, named in the README.
    assert_eq!(common::postgres::URL_VARIABLE, "EPRIME_TEST_POSTGRES_URL");
    assert_eq!(
        common::postgres::with_database("postgres://u:p@host:5432/postgres?sslmode=disable", "t"),
        "postgres://u:p@host:5432/t?sslmode=disable"
    );
}

/// The next `change` event's data on an SSE response, or `None` when none arrives within `wait`.
async fn next_change(
    response: &mut reqwest::Response,
    buffer: &mut String,
    wait: std::time::Duration,
) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            if block.lines().any(|l| l == "event: change") {
                let data = block.lines().find_map(|l| l.strip_prefix("data: "))?;
                return serde_json::from_str(data).ok();
            }
        }
        let chunk = tokio::time::timeout_at(deadline, response.chunk()).await.ok()?.ok()??;
        buffer.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_through_one_instance_reaches_the_streams_of_another() {
    let Some(db) = database("a_change_through_one_instance_reaches_the_streams_of_another").await else { return };
    let a = TestApp::on_database(&db.url, true).await;
    let b = TestApp::on_database(&db.url, true).await;
    let staff = a.login("nato.staff").await;
    let japan = b.login("jpn.officer").await;
    let mut stream = b.request(Method::GET, "/api/v1/stream", Some(&japan)).send().await.unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    let mut buffer = String::new();

    let body = json!({"partnership": "KOR", "title": "Not for Japan", "kind": "meeting"});
    assert_eq!(a.post("/api/v1/activities", Some(&staff), &body).await.status(), StatusCode::CREATED);
    let body = json!({"partnership": "JPN", "title": "Committed through A", "kind": "meeting"});
    let created: Value = a.post("/api/v1/activities", Some(&staff), &body).await.json().await.unwrap();
    // Woken by PostgreSQL's LISTEN/NOTIFY on instance B; generous bound for a busy CI machine.
    let event =
        next_change(&mut stream, &mut buffer, std::time::Duration::from_secs(10)).await.expect("B streams A's change");
    assert_eq!(event["id"], created["id"], "and Korea's activity, which Japan may not see, was skipped");
    assert_eq!(event["record"]["title"], "Committed through A");
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seat_quotas_and_menu_search_hold_across_instances() {
    let Some(db) = database("seat_quotas_and_menu_search_hold_across_instances").await else { return };
    let a = TestApp::on_database(&db.url, true).await;
    let b = TestApp::on_database(&db.url, true).await;
    let provider = a.login("ndc.provider").await;
    let staff = a.login("nato.staff").await;
    let start = time::OffsetDateTime::now_utc().date() + time::Duration::days(60);
    let body = json!({
        "code": "CEP-NDC-TWO-INSTANCES", "title": "Wombatical Resilience Course", "areas": ["CEP"],
        "event_type": "course", "contact": {"name": "Registrar", "email": "registrar@ndc.example"},
        "sessions": [{"starts_on": start.to_string(), "ends_on": (start + time::Duration::days(2)).to_string(), "location": "Rome, ITA"}],
        "seats": 40, "nation_quota": 4, "eligibility": {"kind": "nations", "nations": ["JPN"]},
        "nomination_deadline": (start - time::Duration::days(20)).to_string(),
    });
    let created: Value = a.post("/api/v1/menu", Some(&provider), &body).await.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    for to in ["submitted", "approved", "published"] {
        let path = format!("/api/v1/menu/{id}/transitions");
        assert_eq!(a.post(&path, Some(&staff), &json!({"to": to})).await.status(), StatusCode::OK);
    }
    // B's index follows the log: it finds what was published through A.
    let japan_b = b.login("jpn.officer").await;
    let mut found = 0;
    for _ in 0..100 {
        let page: Value = b.get_json("/api/v1/menu?q=wombatical", Some(&japan_b)).await;
        found = page["total"].as_u64().unwrap();
        if found == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(found, 1, "instance B's search finds the offering published through A");
    // Nominations raced through both instances: exactly the quota succeeds.
    let japan_a = a.login("jpn.officer").await;
    let path = format!("/api/v1/menu/{id}/nominations");
    let requests = (0..24).map(|n| {
        let (app, token) = if n % 2 == 0 { (&a, &japan_a) } else { (&b, &japan_b) };
        let body = json!({"name": format!("P {n}"), "organisation": "JSDF", "email": format!("p{n}@example.jp")});
        let request = app.request(Method::POST, &path, Some(token)).json(&body);
        async move { request.send().await.unwrap().status() }
    });
    let statuses = futures::future::join_all(requests).await;
    let created = statuses.iter().filter(|s| **s == StatusCode::CREATED).count();
    assert_eq!(created, 4, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT));
    a.stop().await;
    b.stop().await;
}
