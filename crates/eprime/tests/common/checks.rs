//! The checks the HTTP integration tests make, shared by every backend: the SQLite tests and
//! the PostgreSQL tests (`tests/postgres.rs`) run the very same functions against a server.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{TestApp, problem};

pub fn find<'a>(documents: &'a [Value], kind: &str) -> &'a Value {
    documents.iter().find(|d| d["kind"] == kind).unwrap_or_else(|| panic!("no {kind} among {documents:?}"))
}
/// The Japan–NATO demo as loaded from the seeds: partnerships, documents, goals, activities.
pub async fn demo_content(app: &TestApp) {
    let staff = app.login("nato.staff").await;

    let partnerships = app.get_json("/api/v1/partnerships", Some(&staff)).await;
    let codes: Vec<&str> = partnerships.as_array().unwrap().iter().map(|p| p["partner"].as_str().unwrap()).collect();
    assert_eq!(codes, ["AUS", "JPN", "KOR", "MNG", "NZL"]);

    let japan = app.get_json("/api/v1/partnerships/JPN", Some(&staff)).await;
    assert_eq!(japan["framework"], "partners_across_the_globe");
    let timeline: Vec<&str> =
        japan["documents"].as_array().unwrap().iter().map(|d| d["kind"].as_str().unwrap()).collect();
    let programmes: Vec<&str> = timeline.iter().copied().filter(|k| *k != "OTHER").collect();
    assert_eq!(programmes, ["JPD", "IPCP", "ITPP"], "documents in time order: {timeline:?}");
    assert_eq!(timeline.len(), 5, "plus the web page and the news report activities cite");
    assert!(japan["activity_count"].as_u64().unwrap() >= 20);

    let documents = app.get_json("/api/v1/documents?partnership=JPN", Some(&staff)).await;
    let documents = documents.as_array().unwrap();

    let jpd = find(documents, "JPD");
    assert_eq!(jpd["signed_on"], "2013-04-15");
    assert_eq!(jpd["signed_at"], "Tokyo");
    assert_eq!(jpd["published_on"], "2013-04-13", "both dates kept, each with its source");

    let ipcp = app
        .get_json(&format!("/api/v1/documents/{}", find(documents, "IPCP")["id"].as_str().unwrap()), Some(&staff))
        .await;
    assert_eq!(ipcp["signed_on"], "2014-05-06");
    assert_eq!(ipcp["signed_at"], "Brussels");
    assert_eq!(ipcp["status"], "superseded");
    let areas: Vec<&str> =
        ipcp["priority_areas"].as_array().unwrap().iter().map(|a| a["code"].as_str().unwrap()).collect();
    let expected: Vec<String> = (1..=10).map(|i| format!("3.1.{i}")).collect();
    assert_eq!(areas, expected, "ten priority areas 3.1.1–3.1.10");
    assert_eq!(ipcp["signatories"].as_array().unwrap().len(), 2);

    let itpp = app
        .get_json(&format!("/api/v1/documents/{}", find(documents, "ITPP")["id"].as_str().unwrap()), Some(&staff))
        .await;
    assert_eq!(itpp["edition"], "open");
    assert_eq!(itpp["marking"], "PUBLIC");
    assert_eq!(itpp["status"], "in_force");
    assert_eq!(itpp["period_from"], "2023-01-01");
    assert_eq!(itpp["period_to"], "2026-12-31");
    assert_eq!(itpp["supersedes"], ipcp["id"]);
    assert_eq!(itpp["strategic_objectives"].as_array().unwrap().len(), 3);
    let issues = itpp["priority_issues"].as_array().unwrap();
    let sizes: Vec<usize> = issues.iter().map(|i| i["goals"].as_array().unwrap().len()).collect();
    assert_eq!(sizes, [5, 3, 6, 2], "16 goals in 4 priority issues");
    assert_eq!(itpp["partnership_goals"].as_array().unwrap().len(), 16);
    let goal_titles: Vec<String> = itpp["partnership_goals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["title"].as_str().unwrap().to_lowercase())
        .collect();
    for theme in ["cyber defence", "space security", "women, peace and security", "human security"] {
        assert!(goal_titles.iter().any(|t| t.contains(theme)), "goal {theme} in {goal_titles:?}");
    }

    let activities = app.all_activities("&partnership=JPN", Some(&staff)).await;
    assert!(activities.len() >= 20, "at least 20 real activities, got {}", activities.len());
    let sourced = activities.iter().filter(|a| a["source"]["document"].is_string()).count();
    assert!(sourced >= 20, "activities refer to their source document ({sourced})");
    let linked = activities.iter().filter(|a| !a["supports"].as_array().unwrap().is_empty()).count();
    assert!(linked >= 20, "activities are linked to the goals or areas they serve ({linked})");
    let baltic =
        activities.iter().find(|a| a["title"].as_str().unwrap().contains("Baltic")).expect("the Baltic Sea training");
    assert_eq!(baltic["kind"], "exercise");

    // A goal knows its activities.
    let cyber = &itpp["partnership_goals"][0];
    let goal = app.get_json(&format!("/api/v1/goals/{}", cyber["id"].as_str().unwrap()), Some(&staff)).await;
    assert_eq!(goal["kind"], "partnership_goal");
    let supporting = app.all_activities(&format!("&goal={}", cyber["id"].as_str().unwrap()), Some(&staff)).await;
    assert_eq!(goal["activity_count"].as_u64().unwrap() as usize, supporting.len());

    for partner in ["KOR", "AUS", "NZL", "MNG"] {
        let documents = app.get_json(&format!("/api/v1/documents?partnership={partner}"), Some(&staff)).await;
        assert!(documents.as_array().unwrap().iter().any(|d| d["kind"] == "IPCP"), "{partner} has its IPCP");
        let count = app.all_activities(&format!("&partnership={partner}"), Some(&staff)).await.len();
        assert!(count >= 2, "{partner} has a few activities");
    }
}

pub async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let response = app.post("/api/v1/activities", Some(token), &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["etag"], "\"v1\"");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let activity: Value = response.json().await.unwrap();
    assert_eq!(location, format!("/api/v1/activities/{}", activity["id"].as_str().unwrap()));
    activity
}
/// Create, read with its ETag, update with If-Match (412 when stale, 428 without), transition, history.
pub async fn activity_lifecycle(app: &TestApp) {
    let officer = app.login("jpn.officer").await;
    let staff = app.login("nato.staff").await;

    let body = json!({"partnership": "JPN", "title": "Staff talks", "kind": "meeting", "starts_on": "2026-12-01", "ends_on": "2026-12-02"});
    let activity = create(app, &officer, body).await;
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

pub async fn activity_count(app: &TestApp, token: &str) -> usize {
    app.all_activities("", Some(token)).await.len()
}
pub async fn change_log_length(app: &TestApp, token: &str, path: &str) -> usize {
    app.get_json(&format!("{path}/history"), Some(token)).await.as_array().unwrap().len()
}
/// Malformed, mistyped, unknown, invalid and oversized bodies: problem+json, and nothing stored.
pub async fn bad_bodies_store_nothing(app: &TestApp) {
    let staff = app.login("nato.staff").await;
    let before = activity_count(app, &staff).await;
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

    assert_eq!(activity_count(app, &staff).await, before, "nothing was stored");
}

/// Refused updates change nothing and leave no change-log entry.
pub async fn bad_updates_change_nothing(app: &TestApp) {
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
    assert_eq!(change_log_length(app, &staff, &path).await, 1, "no change-log entry for refused writes");
}

pub fn is_public(record: &Value) -> bool {
    record["marking"] == "PUBLIC"
}
/// Everything NATO staff can see, as (partnership, path, record).
pub async fn everything(app: &TestApp, staff: &str) -> Vec<(String, String, Value)> {
    let mut records = Vec::new();
    for partnership in app.get_json("/api/v1/partnerships", Some(staff)).await.as_array().unwrap() {
        let code = partnership["partner"].as_str().unwrap().to_owned();
        records.push((code.clone(), format!("/api/v1/partnerships/{code}"), partnership.clone()));
        records.push((code.clone(), format!("/api/v1/partnerships/{code}/history"), partnership.clone()));
    }
    for document in app.get_json("/api/v1/documents", Some(staff)).await.as_array().unwrap() {
        let code = document["partnership"].as_str().unwrap().to_owned();
        let path = format!("/api/v1/documents/{}", document["id"].as_str().unwrap());
        let detail = app.get_json(&path, Some(staff)).await;
        for goal in
            detail["partnership_goals"].as_array().unwrap().iter().chain(detail["priority_areas"].as_array().unwrap())
        {
            records.push((code.clone(), format!("/api/v1/goals/{}", goal["id"].as_str().unwrap()), document.clone()));
        }
        records.push((code.clone(), format!("{path}/history"), document.clone()));
        records.push((code, path, document.clone()));
    }
    for activity in app.all_activities("", Some(staff)).await {
        let code = activity["partnership"].as_str().unwrap().to_owned();
        let path = format!("/api/v1/activities/{}", activity["id"].as_str().unwrap());
        records.push((code.clone(), format!("{path}/history"), activity.clone()));
        records.push((code, path, activity));
    }
    records
}
/// Partner officers get 404 for other partners' records on every resource, and never see them listed.
pub async fn partner_confidentiality(app: &TestApp) {
    let staff = app.login("nato.staff").await;
    let records = everything(app, &staff).await;
    assert!(records.len() > 100);
    for (officer, own) in [("jpn.officer", "JPN"), ("kor.officer", "KOR")] {
        let token = app.login(officer).await;
        for (partnership, path, record) in &records {
            let response = app.get(path, Some(&token)).await;
            if partnership == own || (is_public(record) && !path.starts_with("/api/v1/partnerships")) {
                continue; // own records, and the open editions everyone may read
            }
            problem(response, StatusCode::NOT_FOUND).await;
        }
        // Lists: never another partner's non-public record.
        let partnerships = app.get_json("/api/v1/partnerships", Some(&token)).await;
        let codes: Vec<&str> =
            partnerships.as_array().unwrap().iter().map(|p| p["partner"].as_str().unwrap()).collect();
        assert_eq!(codes, [own]);
        for document in app.get_json("/api/v1/documents", Some(&token)).await.as_array().unwrap() {
            assert!(document["partnership"] == own || is_public(document), "{officer} listed {document}");
        }
        let activities = app.all_activities("", Some(&token)).await;
        for activity in &activities {
            assert!(activity["partnership"] == own || is_public(activity), "{officer} listed {activity}");
        }
        // Filtering by another partnership never reveals more than its public records.
        for other in ["JPN", "KOR", "AUS", "NZL", "MNG"].into_iter().filter(|p| *p != own) {
            for activity in app.all_activities(&format!("&partnership={other}"), Some(&token)).await {
                assert!(is_public(&activity), "{officer} filtered {other} and saw {activity}");
            }
        }
        // And their own partnership is fully theirs.
        let own_count = app.all_activities(&format!("&partnership={own}"), Some(&token)).await.len();
        let staff_count = app.all_activities(&format!("&partnership={own}"), Some(&staff)).await.len();
        assert!(own_count > 0 && own_count <= staff_count);
    }
}

/// Each role sees its own slice of Japan’s activities.
pub async fn role_slices_of_japan(app: &TestApp) {
    let staff = app.login("nato.staff").await;
    let japan = |token: Option<String>| {
        let app = &app;
        async move {
            let mut ids: Vec<String> = app
                .all_activities("&partnership=JPN", token.as_deref())
                .await
                .iter()
                .map(|a| a["id"].as_str().unwrap().to_owned())
                .collect();
            ids.sort();
            ids
        }
    };
    let all = japan(Some(staff.clone())).await;
    let officer = japan(Some(app.login("jpn.officer").await)).await;
    let ally = japan(Some(app.login("fra.ally").await)).await;
    let korea = japan(Some(app.login("kor.officer").await)).await;
    let public = japan(None).await;
    let subset = |a: &[String], b: &[String]| a.iter().all(|x| b.contains(x));
    assert!(subset(&ally, &all) && ally.len() < all.len(), "the Ally sees a strict subset of what NATO staff see");
    assert!(subset(&public, &ally) && public.len() < ally.len(), "Allies see more than the public");
    assert_eq!(korea, public, "Korea sees only Japan's public records");
    assert!(officer.len() > ally.len(), "Japan sees its own restricted records");

    // Anonymous callers see public documents through the same endpoint.
    let documents = app.get_json("/api/v1/documents", None).await;
    assert!(!documents.as_array().unwrap().is_empty());
    assert!(documents.as_array().unwrap().iter().all(|d| d["marking"] == "PUBLIC"));
    problem(app.get("/api/v1/partnerships/JPN", None).await, StatusCode::NOT_FOUND).await;
}
