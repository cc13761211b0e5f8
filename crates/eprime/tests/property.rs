//! Property: random users with random scopes never receive a record outside their scope from any
//! list or search endpoint — and, for the unfiltered activity list, receive every record inside it.
//! The oracle below is written from the rules, independently of the code under test.

mod common;

use std::collections::BTreeSet;

use common::TestApp;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use reqwest::StatusCode;
use serde_json::{Value, json};

const PARTNERS: [&str; 5] = ["JPN", "KOR", "AUS", "NZL", "MNG"];
const ALLIES: [&str; 3] = ["FRA", "DEU", "USA"];
const PROVIDERS: [&str; 2] = ["NDC", "CCDCOE"];
const ROLES: [&str; 9] = [
    "anonymous",
    "nato_admin",
    "nato_staff",
    "auditor",
    "partner_admin",
    "partner_officer",
    "ally_officer",
    "provider",
    "participant",
];

#[derive(Clone, Debug)]
struct User {
    role: &'static str,
    partner: Option<&'static str>,
    organisation: Option<&'static str>,
}

/// The rule, as the access-control issue states it.
fn may_see(user: &User, record: &Value) -> bool {
    if record["marking"] == "PUBLIC" {
        return true;
    }
    let released: Vec<&str> = record["releasable_to"].as_array().unwrap().iter().map(|o| o.as_str().unwrap()).collect();
    match user.role {
        "nato_admin" | "nato_staff" | "auditor" => true,
        "partner_admin" | "partner_officer" => user.partner.is_some_and(|p| released.contains(&p)),
        "ally_officer" => user.organisation.is_some_and(|o| released.contains(&o)) || released.contains(&"ALLIES"),
        "provider" | "participant" => user.organisation.is_some_and(|o| released.contains(&o)),
        _ => false,
    }
}

fn any_user() -> impl Strategy<Value = User> {
    (
        proptest::sample::select(ROLES.to_vec()),
        proptest::sample::select(PARTNERS.to_vec()),
        proptest::sample::select(ALLIES.to_vec()),
        proptest::sample::select(PROVIDERS.to_vec()),
        any::<bool>(),
    )
        .prop_map(|(role, partner, ally, provider, with_org)| match role {
            "partner_admin" | "partner_officer" => User { role, partner: Some(partner), organisation: None },
            "ally_officer" => User { role, partner: None, organisation: Some(ally) },
            "provider" => User { role, partner: None, organisation: Some(provider) },
            "participant" => User { role, partner: None, organisation: with_org.then_some(provider) },
            _ => User { role, partner: None, organisation: None },
        })
}

fn any_query() -> impl Strategy<Value = String> {
    let partnership = proptest::option::of(proptest::sample::select(PARTNERS.to_vec()));
    let status =
        proptest::option::of(proptest::sample::select(vec!["proposed", "approved", "completed", "in_progress"]));
    let kind = proptest::option::of(proptest::sample::select(vec!["meeting", "exercise", "trust_fund", "research"]));
    let text = proptest::option::of(proptest::sample::select(vec!["talks", "Japan", "cyber", "trust", "a"]));
    (partnership, status, kind, text).prop_map(|(p, s, k, q)| {
        let mut query = String::new();
        for (name, value) in [("partnership", p), ("status", s), ("kind", k), ("q", q)] {
            if let Some(value) = value {
                query.push_str(&format!("&{name}={value}"));
            }
        }
        query
    })
}

/// A varied population of records: random partnerships and releasability lists.
async fn seed_records(app: &TestApp, staff: &str) {
    let mut runner = TestRunner::deterministic();
    let released = proptest::collection::vec(
        proptest::sample::select(vec!["ALLIES", "FRA", "DEU", "USA", "NDC", "CCDCOE", "JPN", "KOR", "AUS"]),
        0..4,
    );
    let strategy = (proptest::sample::select(PARTNERS.to_vec()), any::<bool>(), released);
    for i in 0..40 {
        let (partner, public, released) = strategy.new_tree(&mut runner).unwrap().current();
        let mut body = json!({"partnership": partner, "title": format!("Seeded talks {i}"), "kind": "meeting"});
        if public {
            body["marking"] = json!("PUBLIC");
        } else {
            body["releasable_to"] = json!(released);
        }
        assert_eq!(app.post("/api/v1/activities", Some(staff), &body).await.status(), StatusCode::CREATED);
    }
}

#[test]
fn random_users_never_receive_a_record_outside_their_scope() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let app = runtime.block_on(TestApp::demo());
    let (admin, staff) = runtime.block_on(async { (app.login("nato.admin").await, app.login("nato.staff").await) });
    runtime.block_on(seed_records(&app, &staff));
    let everything: Vec<Value> = runtime.block_on(app.all_activities("", Some(&staff)));
    let counter = std::sync::atomic::AtomicUsize::new(0);
    let mut runner = TestRunner::new(Config { cases: 24, ..Config::default() });
    runner
        .run(&(any_user(), proptest::collection::vec(any_query(), 1..4)), |(user, queries)| {
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            runtime.block_on(async {
                let token = if user.role == "anonymous" {
                    None
                } else {
                    // A participant's account is named by its e-mail address.
                    let username =
                        if user.role == "participant" { format!("prop.{n}@example.org") } else { format!("prop.{n}") };
                    let body = json!({
                        "username": username, "display_name": username, "role": user.role,
                        "partner": user.partner, "organisation": user.organisation, "password": "a-sound-passphrase-2026",
                    });
                    let created = app.post("/api/v1/users", Some(&admin), &body).await;
                    assert_eq!(created.status(), StatusCode::CREATED, "{user:?}");
                    Some(app.login_with(&username, "a-sound-passphrase-2026").await)
                };
                let token = token.as_deref();
                for query in &queries {
                    for activity in app.all_activities(query, token).await {
                        assert!(may_see(&user, &activity), "{user:?} received {activity} for {query}");
                    }
                }
                for document in app.get_json("/api/v1/documents", token).await.as_array().unwrap() {
                    assert!(may_see(&user, document), "{user:?} received document {document}");
                }
                for partnership in app.get_json("/api/v1/partnerships", token).await.as_array().unwrap() {
                    assert!(may_see(&user, partnership), "{user:?} received partnership {partnership}");
                }
                // Completeness: everything the rule allows is listed.
                let listed: BTreeSet<String> =
                    app.all_activities("", token).await.iter().map(|a| a["id"].as_str().unwrap().to_owned()).collect();
                let allowed: BTreeSet<String> = everything
                    .iter()
                    .filter(|a| may_see(&user, a))
                    .map(|a| a["id"].as_str().unwrap().to_owned())
                    .collect();
                assert_eq!(listed, allowed, "{user:?} sees exactly what the rule allows");
            });
            Ok(())
        })
        .unwrap();
}
