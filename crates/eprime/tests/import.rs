//! Document import through the CLI and the API: the seeds read correctly, the same text twice
//! changes nothing, a new version supersedes the old, bad input is refused clearly.

mod common;

use std::process::Command;

use common::{TestApp, problem};
use reqwest::StatusCode;
use serde_json::{Value, json};

const IPCP: &str = include_str!("../../../seeds/000_3b0b251586ad6093.txt");
const KOREA: &str = include_str!("../../eprime-import/tests/fixtures/korea_ipcp.txt");

fn eprime(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_eprime")).args(args).current_dir(dir).output().unwrap()
}

fn seed(name: &str) -> String {
    format!("{}/../../seeds/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_cli_prints_what_it_read_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let output =
        eprime(dir.path(), &["import-document", &seed("000_3b0b251586ad6093.txt"), "--dry-run", "--format", "json"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let doc: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(doc["kind"], "IPCP");
    assert_eq!(doc["partner"], "JPN");
    assert_eq!(doc["signed_on"], "2014-05-06");
    assert_eq!(doc["signed_at"], "Brussels");
    let areas = doc["priority_areas"].as_array().unwrap();
    assert_eq!(areas.len(), 10);
    assert!(areas.iter().all(|a| a["line"].as_u64().unwrap() > 0), "every item keeps its line");
    assert!(doc["warnings"].as_array().unwrap().is_empty());
    assert!(!dir.path().join("eprime.db").exists(), "a dry run opens no database");

    let itpp =
        eprime(dir.path(), &["import-document", &seed("001_569038fb7a03f57f.txt"), "--dry-run", "--format", "json"]);
    let itpp: Value = serde_json::from_slice(&itpp.stdout).unwrap();
    assert_eq!(itpp["period"], json!({"from": "2023-01-01", "to": "2026-12-31"}));
    let sizes: Vec<usize> =
        itpp["priority_issues"].as_array().unwrap().iter().map(|i| i["goals"].as_array().unwrap().len()).collect();
    assert_eq!(sizes, [5, 3, 6, 2]);
    assert_eq!(itpp["partnership_goals"].as_array().unwrap().len(), 16);
}

#[test]
fn the_cli_refuses_what_is_not_a_document_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("empty.txt"), "  \n").unwrap();
    std::fs::write(dir.path().join("binary.bin"), [0u8, 159, 146, 150, 0, 1, 2]).unwrap();
    std::fs::write(dir.path().join("recipe.txt"), "Pancakes\n\nMix flour, eggs and milk. Fry.\n").unwrap();
    for (file, expected) in [
        ("empty.txt", "empty"),
        ("binary.bin", "not plain text"),
        ("recipe.txt", "partnership document"),
        ("missing.txt", "cannot read"),
    ] {
        let output = eprime(dir.path(), &["import-document", file, "--dry-run"]);
        assert!(!output.status.success(), "{file} accepted");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(file) && stderr.contains(expected), "{file}: {stderr}");
    }
}

#[test]
fn the_cli_stores_once_and_supersedes_a_new_version() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("korea.txt"), KOREA).unwrap();
    let first = eprime(dir.path(), &["import-document", "korea.txt"]);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    assert!(String::from_utf8_lossy(&first.stderr).contains("stored as document"));
    let again = eprime(dir.path(), &["import-document", "korea.txt"]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("unchanged"), "{}", String::from_utf8_lossy(&again.stderr));
    std::fs::write(dir.path().join("korea-v2.txt"), format!("{KOREA}\n")).unwrap();
    let revised = eprime(dir.path(), &["import-document", "korea-v2.txt"]);
    assert!(
        String::from_utf8_lossy(&revised.stderr).contains("supersedes"),
        "{}",
        String::from_utf8_lossy(&revised.stderr)
    );
}

#[test]
fn the_cli_compares_two_cycles() {
    let dir = tempfile::tempdir().unwrap();
    let output = eprime(
        dir.path(),
        &[
            "compare-documents",
            &seed("000_3b0b251586ad6093.txt"),
            &seed("001_569038fb7a03f57f.txt"),
            "--format",
            "json",
        ],
    );
    assert!(output.status.success());
    let comparison: Value = serde_json::from_slice(&output.stdout).unwrap();
    let carried: Vec<&str> =
        comparison["carried_over"].as_array().unwrap().iter().map(|m| m["to"]["code"].as_str().unwrap()).collect();
    for goal in ["a.1", "b.1", "b.2", "c.1", "c.2", "c.6", "d.1"] {
        assert!(carried.contains(&goal), "{goal} carried over: {carried:?}");
    }
    let new: Vec<&str> = comparison["new"].as_array().unwrap().iter().map(|t| t["code"].as_str().unwrap()).collect();
    for goal in ["a.2", "a.3", "a.4", "a.5"] {
        assert!(new.contains(&goal), "{goal} is new: {new:?}");
    }
}

#[tokio::test]
async fn the_api_imports_idempotently_and_supersedes() {
    let app = TestApp::demo().await;
    let staff = app.login("nato.staff").await;
    let officer = app.login("jpn.officer").await;

    let dry = app.post("/api/v1/documents/import", Some(&staff), &json!({"text": KOREA, "dry_run": true})).await;
    assert_eq!(dry.status(), StatusCode::OK);
    let dry: Value = dry.json().await.unwrap();
    assert_eq!(dry["outcome"], "dry_run");
    assert_eq!(dry["imported"]["partner"], "KOR");

    let created =
        app.post("/api/v1/documents/import", Some(&staff), &json!({"text": KOREA, "source": "korea.txt"})).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["outcome"], "created");
    let first_id = created["document"]["id"].as_str().unwrap().to_owned();
    assert_eq!(created["document"]["releasable_to"], json!(["KOR"]), "restricted by default, released to its partner");
    assert!(!created["document"]["priority_areas"].as_array().unwrap().is_empty());

    let again = app.post("/api/v1/documents/import", Some(&staff), &json!({"text": KOREA})).await;
    assert_eq!(again.status(), StatusCode::OK);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["outcome"], "unchanged");
    assert_eq!(again["document"]["id"], first_id.as_str());

    let revised = app.post("/api/v1/documents/import", Some(&staff), &json!({"text": format!("{KOREA}\n\n")})).await;
    assert_eq!(revised.status(), StatusCode::CREATED);
    let revised: Value = revised.json().await.unwrap();
    assert_eq!(revised["superseded"], first_id.as_str());
    let old = app.get_json(&format!("/api/v1/documents/{first_id}"), Some(&staff)).await;
    assert_eq!(old["status"], "superseded");
    let history = app.get_json(&format!("/api/v1/documents/{first_id}/history"), Some(&staff)).await;
    assert_eq!(history.as_array().unwrap().len(), 2, "the old version keeps its history");

    // Japan's officer cannot import, and never sees Korea's new document.
    problem(app.post("/api/v1/documents/import", Some(&officer), &json!({"text": KOREA})).await, StatusCode::FORBIDDEN)
        .await;
    problem(app.get(&format!("/api/v1/documents/{first_id}"), Some(&officer)).await, StatusCode::NOT_FOUND).await;

    // Not a document; bad settings.
    let refused = problem(
        app.post("/api/v1/documents/import", Some(&staff), &json!({"text": "Pancakes.\nMix and fry.\n"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(refused["errors"][0]["field"], "text");
    let bad = problem(
        app.post(
            "/api/v1/documents/import",
            Some(&staff),
            &json!({"text": IPCP, "status": "final", "marking": "SECRET"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let fields: Vec<&str> = bad["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["status", "marking"]);
}

#[tokio::test]
async fn the_api_compares_stored_programmes() {
    let app = TestApp::demo().await;
    let documents = app.get_json("/api/v1/documents?partnership=JPN", None).await;
    let id = |kind: &str| {
        documents.as_array().unwrap().iter().find(|d| d["kind"] == kind).unwrap()["id"].as_str().unwrap().to_owned()
    };
    let comparison =
        app.get_json(&format!("/api/v1/documents/compare?from={}&to={}", id("IPCP"), id("ITPP")), None).await;
    let carried = comparison["carried_over"].as_array().unwrap();
    assert!(carried.iter().any(|m| m["from"]["code"] == "3.1.1" && m["to"]["code"] == "a.1"));
    assert!(comparison["new"].as_array().unwrap().iter().any(|t| t["code"] == "a.4"));
    problem(app.get("/api/v1/documents/compare?from=x&to=y", None).await, StatusCode::BAD_REQUEST).await;
}
