//! Starting the real application for a test: a fresh database file, a random port, the same
//! code path as `eprime serve`.

#![allow(dead_code)]

pub mod checks;
pub mod postgres;
pub mod sse;

use std::net::SocketAddr;
use std::time::Duration;

use eprime::{RunningServer, ServeOptions, start};
use eprime_server::ServerConfig;
use reqwest::{Client, Method, Response, StatusCode};
use serde_json::{Value, json};

pub const PASSWORD: &str = "demo-password";

pub struct TestApp {
    pub server: Option<RunningServer>,
    pub client: Client,
    pub dir: tempfile::TempDir,
    pub url: String,
    /// The database URL the server runs on (a SQLite file in `dir` unless given).
    pub database: String,
}

impl TestApp {
    /// A server on an empty database (no demo).
    pub async fn empty() -> Self {
        Self::start(false).await
    }

    /// A server with the Japan–NATO demo loaded.
    pub async fn demo() -> Self {
        Self::start(true).await
    }

    async fn start(demo: bool) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let database = format!("sqlite://{}", dir.path().join("eprime.db").display());
        Self::start_on(dir, database, demo).await
    }

    /// A server on the database at `database` (e.g. a PostgreSQL test database), with the demo
    /// loaded into it when `demo` and it is empty.
    pub async fn on_database(database: &str, demo: bool) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        Self::start_on(dir, database.to_owned(), demo).await
    }

    async fn start_on(dir: tempfile::TempDir, database: String, demo: bool) -> Self {
        let server = start(options(&database, demo)).await.expect("server starts");
        let url = server.url();
        Self { server: Some(server), client: Client::new(), dir, url, database }
    }

    /// Stops the server and starts a new one on the same database.
    pub async fn restart(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await.expect("server stops cleanly");
        }
        let server = start(options(&self.database, true)).await.expect("server restarts");
        self.url = server.url();
        self.server = Some(server);
    }

    pub async fn login(&self, username: &str) -> String {
        self.login_with(username, PASSWORD).await
    }

    pub async fn login_with(&self, username: &str, password: &str) -> String {
        let response = self
            .client
            .post(format!("{}/api/v1/auth/login", self.url))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "sign-in of {username}");
        response.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
    }

    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let builder = self.client.request(method, format!("{}{path}", self.url));
        match token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.request(Method::GET, path, token).send().await.unwrap()
    }

    pub async fn get_json(&self, path: &str, token: Option<&str>) -> Value {
        let response = self.get(path, token).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.unwrap()
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.request(Method::POST, path, token).json(body).send().await.unwrap()
    }

    /// Every activity the token's user can list, following the cursor.
    pub async fn all_activities(&self, query: &str, token: Option<&str>) -> Vec<Value> {
        let mut items = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut path = format!("/api/v1/activities?limit=200{query}");
            if let Some(cursor) = &after {
                path.push_str(&format!("&after={}", urlencode(cursor)));
            }
            let page = self.get_json(&path, token).await;
            items.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(cursor) => after = Some(cursor.to_owned()),
                None => return items,
            }
        }
    }

    /// Stops the server (closing its database).
    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await.expect("server stops cleanly");
        }
    }
}

fn options(database: &str, demo: bool) -> ServeOptions {
    ServeOptions {
        database: database.to_owned(),
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        demo,
        demo_password: PASSWORD.to_owned(),
        config: ServerConfig { session_ttl: Duration::from_secs(3600), ..ServerConfig::default() },
    }
}

pub fn urlencode(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Asserts a problem+json answer with the status, and returns its body.
pub async fn problem(response: Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status, "status");
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert_eq!(content_type, "application/problem+json", "problem content type");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status.as_u16());
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()), "a useful detail: {body}");
    body
}
