//! `eprime-bench --smoke`: every scenario for a moment at scale S against a real server process;
//! fails only on errors (HTTP errors, events that never arrived), never on timing.

use std::process::Command;

#[test]
fn smoke_mode_runs_every_scenario_without_errors() {
    let out = tempfile::tempdir().expect("a temporary directory");
    let output = Command::new(env!("CARGO_BIN_EXE_eprime-bench"))
        .args(["--smoke", "--out"])
        .arg(out.path())
        .env_remove("EPRIME_TEST_POSTGRES_URL")
        .output()
        .expect("the harness runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "smoke run failed\nstdout:\n{stdout}\nstderr:\n{stderr}");

    let json = std::fs::read(out.path().join("S-sqlite-smoke.json")).expect("results.json written");
    let results: serde_json::Value = serde_json::from_slice(&json).expect("valid JSON");
    let scenarios = results["scenarios"].as_array().expect("scenarios");
    for name in [
        "healthz",
        "sign_in",
        "dashboard_json",
        "dashboard_html",
        "activity_list",
        "activity_detail",
        "activity_update",
    ] {
        let scenario = scenarios.iter().find(|s| s["name"] == name).unwrap_or_else(|| panic!("{name} measured"));
        assert!(scenario["saturation"]["requests"].as_u64().unwrap_or(0) > 0, "{name} sent requests");
        assert!(scenario["fixed_rate"]["requests"].as_u64().unwrap_or(0) > 0, "{name} sent fixed-rate requests");
        // Each whole second's p99 (none in a smoke run's 0.4 s phases, but the field is written).
        assert!(scenario["fixed_rate"]["p99_by_second_ms"].is_array(), "{name}'s p99 by second");
    }
    let stream = &results["stream"][0];
    assert!(stream["connected"].as_u64().unwrap_or(0) > 0, "stream subscribers connected: {stream}");
    assert_eq!(stream["missing"], 0, "every subscriber got every event");
    assert!(results["cold_start"]["median_ms"].as_f64().unwrap_or(0.0) > 0.0);
    assert!(stdout.contains("| healthz |"), "the table is printed:\n{stdout}");
}
