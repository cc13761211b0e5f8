//! The Partnership Cooperation Menu end to end over HTTP: offer, approve, publish, search,
//! nominate within quota, decide, waitlist and promote, adopt into the programme, attend, give
//! feedback, report — and every refused step answered with a problem that changes nothing.

mod common;

use common::{TestApp, problem};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn offering(code: &str, seats: u32, quota: u32, nations: &[&str], deadline_in_days: i64) -> Value {
    let today = time::OffsetDateTime::now_utc().date();
    let start = today + time::Duration::days(60);
    json!({
        "code": code,
        "title": format!("Quokka Resilience Course {code}"),
        "description": "A course on resilience planning with a very rare word: quokkatastic.",
        "areas": ["CEP"],
        "event_type": "course",
        "contact": {"name": "Registrar", "email": "registrar@ndc.example"},
        "sessions": [{"starts_on": start.to_string(), "ends_on": (start + time::Duration::days(4)).to_string(),
                      "location": "Rome, ITA", "language": "en"}],
        "seats": seats,
        "nation_quota": quota,
        "eligibility": {"kind": "nations", "nations": nations},
        "prerequisites": {"clearance": "none", "language_level": 2},
        "nomination_deadline": (today + time::Duration::days(deadline_in_days)).to_string(),
    })
}

fn nominee(n: usize) -> Value {
    json!({"name": format!("Participant {n}"), "rank": "Maj", "organisation": "JSDF",
           "email": format!("participant{n}@mod.example.jp"), "clearance": "none", "language_level": 3})
}

async fn created(app: &TestApp, path: &str, token: &str, body: &Value) -> Value {
    let response = app.post(path, Some(token), body).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{path}: {body}");
    body
}

async fn ok(app: &TestApp, path: &str, token: &str, body: &Value) -> Value {
    let response = app.post(path, Some(token), body).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

/// Submitted by the provider, approved by NATO, published by the provider.
async fn publish(app: &TestApp, id: &str, provider: &str, staff: &str) {
    let path = format!("/api/v1/menu/{id}/transitions");
    ok(app, &path, provider, &json!({"to": "submitted"})).await;
    let refused = app.post(&path, Some(provider), &json!({"to": "approved"})).await;
    let detail = problem(refused, StatusCode::FORBIDDEN).await;
    assert!(detail["detail"].as_str().unwrap().contains("only NATO staff approve"), "{detail}");
    ok(app, &path, staff, &json!({"to": "approved"})).await;
    ok(app, &path, provider, &json!({"to": "published"})).await;
}

async fn search(app: &TestApp, query: &str, token: Option<&str>) -> Value {
    let response = app.get(&format!("/api/v1/menu?{query}"), token).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    body
}

/// The first notification of `reason` in the inbox, waiting for the notifier to get there.
async fn inbox_with(app: &TestApp, token: &str, reason: &str, about: &str) -> Value {
    for _ in 0..100 {
        let inbox = app.get_json("/api/v1/notifications?limit=200", Some(token)).await;
        let found = inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["reason"] == reason && n["summary"].as_str().is_some_and(|s| s.contains(about)));
        if let Some(found) = found {
            return found.clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no `{reason}` notification about {about} arrived");
}

#[tokio::test]
async fn the_whole_menu_loop_runs_through_the_api() {
    let app = TestApp::demo().await;
    let provider = app.login("ndc.provider").await;
    let staff = app.login("nato.staff").await;
    let japan = app.login("jpn.officer").await;
    let korea = app.login("kor.officer").await;

    let draft = created(&app, "/api/v1/menu", &provider, &offering("CEP-NDC-QUOKKA", 1, 2, &["JPN"], 20)).await;
    let id = draft["id"].as_str().unwrap().to_owned();
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["provider"], "NDC", "a provider offers in its own name");
    let path = format!("/api/v1/menu/{id}");
    assert_eq!(app.get(&path, Some(&japan)).await.status(), StatusCode::NOT_FOUND, "a draft is the provider's");
    assert_eq!(search(&app, "q=quokkatastic", Some(&japan)).await["total"], 0);
    assert_eq!(search(&app, "q=quokkatastic", Some(&staff)).await["total"], 1, "NATO finds the draft at once");

    publish(&app, &id, &provider, &staff).await;
    let found = search(&app, "q=quokkatastic&area=CEP&open_seats=true", Some(&japan)).await;
    assert_eq!(found["total"], 1, "{found}");
    assert_eq!(found["items"][0]["id"], id.as_str());
    assert_eq!(found["items"][0]["status"], "published", "a hit shows the offering as it is now, not as first found");
    assert!(found["facets"]["area"].as_array().unwrap().iter().any(|f| f["value"] == "CEP"));
    assert_eq!(search(&app, "q=quokkatastic", Some(&korea)).await["total"], 0, "Korea is not eligible");
    assert_eq!(search(&app, "q=quokkatastic", None).await["total"], 0, "the menu is not public");
    assert_eq!(app.get(&path, Some(&korea)).await.status(), StatusCode::NOT_FOUND);

    // Nominations within Japan's quota of two; a third is refused and leaves nothing.
    let nominations = format!("{path}/nominations");
    let first = created(&app, &nominations, &japan, &nominee(1)).await;
    let second = created(&app, &nominations, &japan, &nominee(2)).await;
    let over = problem(app.post(&nominations, Some(&japan), &nominee(3)).await, StatusCode::CONFLICT).await;
    assert!(over["detail"].as_str().unwrap().contains("quota"), "{over}");
    let from_korea = app.post(&nominations, Some(&korea), &nominee(4)).await;
    problem(from_korea, StatusCode::NOT_FOUND).await;
    let listed = app.get_json(&nominations, Some(&japan)).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    // The provider learns of the nominations in its inbox; Korea learns of nothing.
    let provider_inbox = inbox_with(&app, &provider, "nomination", "Participant 1").await;
    assert!(provider_inbox["summary"].as_str().unwrap().contains("nominated"), "{provider_inbox}");
    let korea_inbox = app.get_json("/api/v1/notifications", Some(&korea)).await;
    assert!(!korea_inbox.to_string().contains("Quokka"), "{korea_inbox}");

    // One seat: the first is accepted, the second waits, and moves up when the first withdraws.
    let decide = |n: &Value| format!("/api/v1/nominations/{}/decision", n["id"].as_str().unwrap());
    ok(&app, &decide(&first), &provider, &json!({"decision": "accept"})).await;
    let decided = inbox_with(&app, &japan, "nomination", "Participant 1").await;
    assert!(decided["summary"].as_str().unwrap().contains("accepted"), "{decided}");
    let full = app.post(&decide(&second), Some(&provider), &json!({"decision": "accept"})).await;
    let full = problem(full, StatusCode::CONFLICT).await;
    assert!(full["detail"].as_str().unwrap().contains("no seat left"), "{full}");
    let waiting = ok(&app, &decide(&second), &provider, &json!({"decision": "waitlist"})).await;
    assert_eq!((waiting["status"].as_str(), waiting["waitlist_position"].as_u64()), (Some("waitlisted"), Some(1)));
    let not_yours = app.post(&decide(&first), Some(&provider), &json!({"decision": "withdraw"})).await;
    problem(not_yours, StatusCode::FORBIDDEN).await;
    ok(&app, &decide(&first), &japan, &json!({"decision": "withdraw", "reason": "posted abroad"})).await;
    let promoted = app.get_json(&format!("/api/v1/nominations/{}", second["id"].as_str().unwrap()), Some(&japan)).await;
    assert_eq!(promoted["status"], "accepted", "{promoted}");

    // Japan adopts the event into its programme under one of its goals.
    let itpp = app
        .get_json("/api/v1/documents?partnership=JPN", Some(&japan))
        .await
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == "ITPP")
        .cloned()
        .expect("Japan's ITPP");
    let detail = app.get_json(&format!("/api/v1/documents/{}", itpp["id"].as_str().unwrap()), Some(&japan)).await;
    let goal = detail["partnership_goals"][0]["id"].as_str().unwrap().to_owned();
    let activity = created(&app, &format!("{path}/adopt"), &japan, &json!({"supports": [goal]})).await;
    assert_eq!(activity["offering"], id.as_str());
    assert_eq!(activity["partnership"], "JPN");

    // After the event: attendance, feedback (once), the report.
    let transitions = format!("{path}/transitions");
    ok(&app, &transitions, &provider, &json!({"to": "closed"})).await;
    let attended = format!("/api/v1/nominations/{}/attendance", second["id"].as_str().unwrap());
    ok(&app, &attended, &provider, &json!({"attendance": "attended"})).await;
    ok(&app, &transitions, &provider, &json!({"to": "held"})).await;
    let feedback = format!("/api/v1/nominations/{}/feedback", second["id"].as_str().unwrap());
    let bad = json!({"ratings": {"overall": 6, "content": 5, "organisation": 5, "relevance": 5}});
    let invalid = problem(app.post(&feedback, Some(&japan), &bad).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(invalid["errors"][0]["field"], "ratings.overall");
    let good =
        json!({"ratings": {"overall": 5, "content": 4, "organisation": 5, "relevance": 5}, "comments": "Excellent."});
    ok(&app, &feedback, &japan, &good).await;
    problem(app.post(&feedback, Some(&japan), &good).await, StatusCode::CONFLICT).await;
    let reported = ok(&app, &format!("{path}/report"), &provider, &json!({"summary": "Held as planned."})).await;
    assert_eq!(reported["status"], "reported");
    assert_eq!(reported["report"]["attended"], 1);

    // The roll-up reaches the activity and the goal.
    let rollup = app
        .get_json(&format!("/api/v1/activities/{}/participation", activity["id"].as_str().unwrap()), Some(&japan))
        .await;
    assert_eq!(
        (rollup["events"].as_u64(), rollup["attended"].as_u64(), rollup["feedback_given"].as_u64()),
        (Some(1), Some(1), Some(1))
    );
    assert_eq!(rollup["average_rating"].as_f64(), Some(5.0));
    let by_goal = app.get_json(&format!("/api/v1/goals/{goal}/participation"), Some(&japan)).await;
    assert!(by_goal["attended"].as_u64().unwrap() >= 1, "{by_goal}");
    let history = app.get_json(&format!("{path}/history"), Some(&staff)).await;
    assert!(history.as_array().unwrap().len() >= 7, "every step is in the change log");
}

#[tokio::test]
async fn parallel_nominations_take_exactly_the_quota() {
    let app = TestApp::demo().await;
    let provider = app.login("ndc.provider").await;
    let staff = app.login("nato.staff").await;
    let japan = app.login("jpn.officer").await;
    let draft = created(&app, "/api/v1/menu", &provider, &offering("CEP-NDC-RUSH", 50, 4, &["JPN"], 20)).await;
    let id = draft["id"].as_str().unwrap().to_owned();
    publish(&app, &id, &provider, &staff).await;
    let path = format!("/api/v1/menu/{id}/nominations");
    let requests = (0..24).map(|n| {
        let request = app.request(Method::POST, &path, Some(&japan)).json(&nominee(n));
        async move { request.send().await.unwrap().status() }
    });
    let statuses = futures::future::join_all(requests).await;
    let created = statuses.iter().filter(|s| **s == StatusCode::CREATED).count();
    let refused = statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count();
    assert_eq!((created, refused), (4, 20), "{statuses:?}");
    let listed = app.get_json(&path, Some(&japan)).await;
    assert_eq!(listed.as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn refused_menu_steps_explain_and_change_nothing() {
    let app = TestApp::demo().await;
    let provider = app.login("ndc.provider").await;
    let staff = app.login("nato.staff").await;
    let japan = app.login("jpn.officer").await;
    let ally = app.login("fra.ally").await;

    let mut bad = offering("bad code!", 0, 0, &[], 20);
    bad["sessions"][0]["language"] = json!("english");
    let invalid =
        problem(app.post("/api/v1/menu", Some(&provider), &bad).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    let fields: Vec<&str> =
        invalid["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    for field in ["code", "sessions[0].language", "seats", "nation_quota", "eligibility.nations"] {
        assert!(fields.contains(&field), "{field} not in {fields:?}");
    }
    problem(
        app.post("/api/v1/menu", Some(&ally), &offering("CEP-FRA-1", 5, 1, &["JPN"], 20)).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    problem(
        app.post("/api/v1/menu", None, &offering("CEP-ANON-1", 5, 1, &["JPN"], 20)).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;

    // The deadline has passed (it was yesterday): nominations are refused.
    let late = created(&app, "/api/v1/menu", &provider, &offering("CEP-NDC-LATE", 5, 2, &["JPN"], -1)).await;
    let id = late["id"].as_str().unwrap().to_owned();
    publish(&app, &id, &provider, &staff).await;
    let path = format!("/api/v1/menu/{id}");
    let refused =
        problem(app.post(&format!("{path}/nominations"), Some(&japan), &nominee(1)).await, StatusCode::CONFLICT).await;
    assert!(refused["detail"].as_str().unwrap().contains("deadline"), "{refused}");
    // Steps the lifecycle does not allow, and one without its reason.
    let transitions = format!("{path}/transitions");
    let wrong =
        problem(app.post(&transitions, Some(&staff), &json!({"to": "reported"})).await, StatusCode::CONFLICT).await;
    assert!(wrong["detail"].as_str().unwrap().contains("allowed"), "{wrong}");
    let unexplained = app.post(&transitions, Some(&staff), &json!({"to": "cancelled"})).await;
    let unexplained = problem(unexplained, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(unexplained["errors"][0]["field"], "reason");
    problem(app.post(&transitions, Some(&japan), &json!({"to": "closed"})).await, StatusCode::FORBIDDEN).await;
    let stale = app
        .request(Method::POST, &transitions, Some(&staff))
        .header("If-Match", "\"v1\"")
        .json(&json!({"to": "closed"}));
    assert_eq!(stale.send().await.unwrap().status(), StatusCode::PRECONDITION_FAILED);
    let after = app.get_json(&path, Some(&staff)).await;
    assert_eq!((after["status"].as_str(), after["version"].as_i64()), (Some("published"), Some(4)), "nothing changed");
    let bad_query = problem(app.get("/api/v1/menu?type=lecture", Some(&japan)).await, StatusCode::BAD_REQUEST).await;
    assert_eq!(bad_query["errors"][0]["field"], "type");
    let unbalanced = problem(app.get("/api/v1/menu?q=%22cyber", Some(&japan)).await, StatusCode::BAD_REQUEST).await;
    assert_eq!(unbalanced["errors"][0]["field"], "q");
}

#[tokio::test]
async fn the_demo_menu_is_searchable_with_facets() {
    let app = TestApp::demo().await;
    let japan = app.login("jpn.officer").await;
    let staff = app.login("nato.staff").await;
    let everything = search(&app, "limit=1", Some(&staff)).await;
    assert!(everything["total"].as_u64().unwrap() >= 1_400, "{}", everything["total"]);
    let cyber = search(&app, "q=cyber&type=course", Some(&japan)).await;
    assert!(cyber["total"].as_u64().unwrap() > 0);
    assert!(cyber["items"].as_array().unwrap().iter().all(|o| o["event_type"] == "course"));
    let months = cyber["facets"]["month"].as_array().unwrap();
    assert!(!months.is_empty());
    let providers = search(&app, "provider=NSO&limit=5", Some(&japan)).await;
    assert!(providers["items"].as_array().unwrap().iter().all(|o| o["provider"] == "NSO"));
    let mine = app.get_json("/api/v1/menu?limit=100&status=draft", Some(&japan)).await;
    assert_eq!(mine["total"], 0, "partners never see drafts");
}

#[tokio::test]
async fn calendar_feeds_show_the_owners_events_until_revoked() {
    let app = TestApp::demo().await;
    let provider = app.login("ndc.provider").await;
    let staff = app.login("nato.staff").await;
    let japan = app.login("jpn.officer").await;
    let korea = app.login("kor.officer").await;
    let draft = created(&app, "/api/v1/menu", &provider, &offering("CEP-NDC-ICS", 10, 2, &["JPN"], 20)).await;
    let id = draft["id"].as_str().unwrap().to_owned();
    publish(&app, &id, &provider, &staff).await;
    created(&app, &format!("/api/v1/menu/{id}/nominations"), &japan, &nominee(1)).await;

    let event = app.get(&format!("/api/v1/menu/{id}/event.ics"), Some(&japan)).await;
    assert_eq!(event.status(), StatusCode::OK);
    assert!(event.headers()["content-type"].to_str().unwrap().starts_with("text/calendar"));
    let text = event.text().await.unwrap();
    assert!(text.contains("BEGIN:VEVENT") && text.contains("Nomination deadline"), "{text}");
    assert_eq!(app.get(&format!("/api/v1/menu/{id}/event.ics"), Some(&korea)).await.status(), StatusCode::NOT_FOUND);

    let mut urls = Vec::new();
    for token in [&japan, &korea] {
        let feed = created(&app, "/api/v1/calendar/feeds", token, &json!({"name": "mission calendar"})).await;
        urls.push((feed["id"].as_str().unwrap().to_owned(), feed["url"].as_str().unwrap().to_owned()));
    }
    let japanese = app.get(&urls[0].1, None).await;
    assert_eq!(japanese.status(), StatusCode::OK);
    let japanese = japanese.text().await.unwrap();
    assert!(japanese.contains("CEP-NDC-ICS"), "Japan nominated for it: {japanese}");
    let korean = app.get(&urls[1].1, None).await.text().await.unwrap();
    assert!(korean.starts_with("BEGIN:VCALENDAR") && !korean.contains("CEP-NDC-ICS"), "never another nation's");

    // The feed's secret is not a credential for anything else.
    let secret = urls[0].1.trim_start_matches("/api/v1/calendar/").trim_end_matches("/feed.ics").to_owned();
    assert_eq!(app.get("/api/v1/auth/me", Some(&secret)).await.status(), StatusCode::UNAUTHORIZED);
    let listed = app.get_json("/api/v1/calendar/feeds", Some(&japan)).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(listed[0].get("url").is_none(), "the secret is shown once");
    let revoke = app.request(Method::DELETE, &format!("/api/v1/calendar/feeds/{}", urls[0].0), Some(&korea));
    assert_eq!(revoke.send().await.unwrap().status(), StatusCode::NOT_FOUND, "only its owner revokes it");
    let revoke = app.request(Method::DELETE, &format!("/api/v1/calendar/feeds/{}", urls[0].0), Some(&japan));
    assert_eq!(revoke.send().await.unwrap().status(), StatusCode::NO_CONTENT);
    problem(app.get(&urls[0].1, None).await, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn missing_feedback_and_reports_are_flagged_overdue() {
    let app = TestApp::demo().await;
    let staff = app.login("nato.staff").await;
    // The demo holds past events Japan attended, some without feedback for weeks.
    let mut overdue = 0;
    let mut offset = 0;
    while overdue == 0 && offset < 1_000 {
        let past = search(&app, &format!("status=held,reported&limit=100&offset={offset}"), Some(&staff)).await;
        for offering in past["items"].as_array().unwrap() {
            let path = format!("/api/v1/menu/{}/nominations", offering["id"].as_str().unwrap());
            for nomination in app.get_json(&path, Some(&staff)).await.as_array().unwrap() {
                if nomination["feedback_overdue"] == true {
                    assert!(nomination["attendance"] == "attended" && nomination["feedback"].is_null(), "{nomination}");
                    overdue += 1;
                }
            }
            if offering["report_overdue"] == true {
                assert!(offering["report"].is_null() && offering["status"] == "held", "{offering}");
            }
        }
        offset += 100;
    }
    assert!(overdue > 0, "the demo has attended participants whose feedback is overdue");
    let reported = search(&app, "status=reported&limit=5", Some(&staff)).await;
    assert!(reported["items"].as_array().unwrap().iter().all(|o| o["report_overdue"] == false));
}

#[tokio::test]
async fn a_participant_is_told_about_its_own_nomination_and_never_about_another() {
    let app = TestApp::demo().await;
    let admin = app.login("nato.admin").await;
    let staff = app.login("nato.staff").await;
    let provider = app.login("ndc.provider").await;
    let japan = app.login("jpn.officer").await;
    // A participant's account is named by the e-mail address its nominations give.
    let account = |username: &str| json!({"username": username, "display_name": username, "role": "participant", "password": "a-sound-passphrase-2026"});
    let refused = app.post("/api/v1/users", Some(&admin), &account("participant1")).await;
    let detail = problem(refused, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(detail["errors"][0]["message"].as_str().unwrap().contains("e-mail"), "{detail}");
    for n in [1, 2] {
        created(&app, "/api/v1/users", &admin, &account(&format!("participant{n}@mod.example.jp"))).await;
    }
    let event = created(&app, "/api/v1/menu", &provider, &offering("QRC-PARTICIPANT", 10, 4, &["JPN"], 30)).await;
    let id = event["id"].as_str().unwrap();
    publish(&app, id, &provider, &staff).await;
    let mut nominations = Vec::new();
    for n in [1, 2, 3] {
        let nomination = created(&app, &format!("/api/v1/menu/{id}/nominations"), &japan, &nominee(n)).await;
        nominations.push(nomination["id"].as_str().unwrap().to_owned());
    }
    ok(&app, &format!("/api/v1/nominations/{}/decision", nominations[0]), &provider, &json!({"decision": "accept"}))
        .await;
    ok(&app, &format!("/api/v1/nominations/{}/decision", nominations[1]), &provider, &json!({"decision": "waitlist"}))
        .await;
    let reason = json!({"decision": "reject", "reason": "prerequisites"});
    ok(&app, &format!("/api/v1/nominations/{}/decision", nominations[2]), &provider, &reason).await;

    for (n, own, status) in [(1, &nominations[0], "accepted"), (2, &nominations[1], "waitlisted")] {
        let participant = app.login_with(&format!("participant{n}@mod.example.jp"), "a-sound-passphrase-2026").await;
        let told = inbox_with(&app, &participant, "nomination", status).await;
        assert_eq!(told["entity"], "nomination");
        assert_eq!(told["entity_id"], own.as_str());
        let inbox = app.get_json("/api/v1/notifications?limit=200", Some(&participant)).await;
        for item in inbox["items"].as_array().unwrap() {
            assert_eq!(item["entity_id"], own.as_str(), "participant{n} hears of its own nomination only: {item}");
        }
        // Told, without reading anything it could not read before.
        assert_eq!(app.get(&format!("/api/v1/nominations/{own}"), Some(&participant)).await.status(), StatusCode::OK);
        for other in nominations.iter().filter(|o| *o != own) {
            problem(app.get(&format!("/api/v1/nominations/{other}"), Some(&participant)).await, StatusCode::NOT_FOUND)
                .await;
        }
        problem(app.get(&format!("/api/v1/menu/{id}"), Some(&participant)).await, StatusCode::NOT_FOUND).await;
    }
}

#[tokio::test]
async fn overdue_reports_are_announced_to_their_provider_once_across_restarts() {
    let mut app = TestApp::demo().await;
    let provider = app.login("ndc.provider").await;
    // The demo's NDC events held weeks ago whose report has not come.
    let mut overdue = Vec::new();
    let mut offset = 0;
    loop {
        let page = search(
            &app,
            &format!("provider=NDC&status=held,closed,published&limit=100&offset={offset}"),
            Some(&provider),
        )
        .await;
        let items = page["items"].as_array().unwrap();
        overdue
            .extend(items.iter().filter(|o| o["report_overdue"] == true).map(|o| o["id"].as_str().unwrap().to_owned()));
        offset += 100;
        if items.len() < 100 {
            break;
        }
    }
    assert!(!overdue.is_empty(), "the demo has NDC events whose report is overdue");
    let announced = |app: &TestApp, token: String| {
        let app_url = app.url.clone();
        let client = app.client.clone();
        async move {
            let inbox: Value = client
                .get(format!("{app_url}/api/v1/notifications?limit=200"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let mut ids: Vec<String> = inbox["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|n| n["reason"] == "overdue_report")
                .map(|n| n["entity_id"].as_str().unwrap().to_owned())
                .collect();
            ids.sort();
            ids
        }
    };
    overdue.sort();
    let mut told = Vec::new();
    for _ in 0..100 {
        told = announced(&app, provider.clone()).await;
        if told.len() >= overdue.len() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(told, overdue, "each overdue report is announced to the provider, once");
    let history = app.get_json(&format!("/api/v1/menu/{}/history", overdue[0]), Some(&provider)).await;
    let logged = |history: &Value| history.as_array().unwrap().iter().filter(|h| h["operation"] == "overdue").count();
    assert_eq!(logged(&history), 1);
    assert!(history.as_array().unwrap().last().unwrap()["actor"].is_null(), "the system records it");

    // A restart sweeps again: nothing new is announced.
    app.restart().await;
    let provider = app.login("ndc.provider").await;
    let staff = app.login("nato.staff").await;
    // Let the notifier see anything there might be, then look again.
    app.post(
        "/api/v1/activities",
        Some(&staff),
        &json!({"partnership": "JPN", "title": "After restart", "kind": "meeting"}),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(announced(&app, provider.clone()).await, overdue, "nothing announced twice");
    let history = app.get_json(&format!("/api/v1/menu/{}/history", overdue[0]), Some(&provider)).await;
    assert_eq!(logged(&history), 1);
}
