//! The OpenAPI document is generated from the handlers and covers the whole API; health checks
//! and security headers are on every response.

mod common;

use common::TestApp;

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let app = TestApp::empty().await;
    let doc = app.get_json("/api/openapi.json", None).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/v1/auth/login", "post"),
        ("/api/v1/auth/logout", "post"),
        ("/api/v1/partnerships", "get"),
        ("/api/v1/partnerships/{partner}", "get"),
        ("/api/v1/documents", "get"),
        ("/api/v1/documents/{id}", "get"),
        ("/api/v1/documents/{id}/approvals", "post"),
        ("/api/v1/goals/{id}", "get"),
        ("/api/v1/activities", "get"),
        ("/api/v1/activities", "post"),
        ("/api/v1/activities/{id}", "get"),
        ("/api/v1/activities/{id}", "patch"),
        ("/api/v1/activities/{id}/transitions", "post"),
        ("/api/v1/activities/{id}/history", "get"),
    ] {
        assert!(paths.get(path).and_then(|p| p.get(method)).is_some(), "{method} {path} is documented");
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for schema in ["Activity", "ActivityInput", "Problem", "DocumentView"] {
        assert!(schemas.contains_key(schema), "schema {schema}");
    }
}

#[tokio::test]
async fn health_checks_and_security_headers() {
    let app = TestApp::empty().await;
    let health = app.get("/healthz", None).await;
    assert_eq!(health.status(), 200);
    assert_eq!(health.headers()["x-content-type-options"], "nosniff");
    assert!(health.headers()["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
    assert_eq!(app.get("/readyz", None).await.text().await.unwrap(), "ready");
}
