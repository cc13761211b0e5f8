//! A partner never receives another partner's partnership, documents or activities: on every
//! resource they answer 404, and they never appear in lists.

mod common;

use common::{TestApp, problem};
use reqwest::StatusCode;
use serde_json::Value;

fn is_public(record: &Value) -> bool {
    record["marking"] == "PUBLIC"
}

/// Everything NATO staff can see, as (partnership, path, record).
async fn everything(app: &TestApp, staff: &str) -> Vec<(String, String, Value)> {
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

#[tokio::test]
async fn partner_officers_get_404_for_other_partners_records_on_every_resource() {
    let app = TestApp::demo().await;
    let staff = app.login("nato.staff").await;
    let records = everything(&app, &staff).await;
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

#[tokio::test]
async fn each_role_sees_its_own_slice_of_japan() {
    let app = TestApp::demo().await;
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
