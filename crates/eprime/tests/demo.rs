//! `serve --demo`: the Japan–NATO partnership from the seed documents.

mod common;

use common::TestApp;
use serde_json::Value;

fn find<'a>(documents: &'a [Value], kind: &str) -> &'a Value {
    documents.iter().find(|d| d["kind"] == kind).unwrap_or_else(|| panic!("no {kind} among {documents:?}"))
}

#[tokio::test]
async fn the_demo_holds_the_japan_nato_programme_from_the_seeds() {
    let app = TestApp::demo().await;
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
