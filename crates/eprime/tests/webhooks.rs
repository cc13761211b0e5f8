//! Webhooks over HTTP, end to end: a receiving server in the test gets, signed, exactly the
//! changes its organisation may see; failed deliveries are retried with backoff and logged;
//! redelivery re-sends; endpoints and management are guarded.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::postgres::{TestDatabase, server_url};
use common::{PASSWORD, TestApp, problem};
use eprime::{ServeOptions, start};
use eprime_server::ServerConfig;
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Generous bound: deliveries are meant to be immediate, but CI machines are slow and busy.
const ARRIVES: Duration = Duration::from_secs(15);

/// A server with the demo whose webhook retries wait milliseconds, not seconds, on a fresh SQLite
/// file — or on `database` when given (a PostgreSQL test database).
async fn app_on(database: Option<&str>) -> TestApp {
    let dir = tempfile::tempdir().expect("temporary directory");
    let database = match database {
        Some(url) => url.to_owned(),
        None => format!("sqlite://{}", dir.path().join("eprime.db").display()),
    };
    let config = ServerConfig {
        session_ttl: Duration::from_secs(3600),
        webhook_retry_base: Duration::from_millis(5),
        webhook_timeout: Duration::from_secs(5),
        ..ServerConfig::default()
    };
    let options = ServeOptions {
        database: database.clone(),
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        demo: true,
        demo_password: PASSWORD.to_owned(),
        config,
    };
    let server = start(options).await.expect("server starts");
    let url = server.url();
    TestApp { server: Some(server), client: reqwest::Client::new(), dir, url, database }
}

async fn app() -> TestApp {
    app_on(None).await
}

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Received {
    headers: HashMap<String, String>,
    body: String,
    /// The status the receiver answered.
    answered: u16,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }

    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or_else(|| panic!("no {name} header: {self:?}"))
    }
}

#[derive(Default)]
struct ReceiverState {
    received: Vec<Received>,
    /// Requests still to answer with 500.
    fail_next: usize,
}

/// A tiny HTTP/1.1 server on 127.0.0.1 that records every request and answers 200 — or 500 for
/// the next `fail_next` requests.
#[derive(Clone)]
struct Receiver {
    url: String,
    state: Arc<Mutex<ReceiverState>>,
}

impl Receiver {
    async fn start(fail_next: usize) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(ReceiverState { received: Vec::new(), fail_next }));
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, shared.clone()));
            }
        });
        Self { url, state }
    }

    fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// Waits until `enough` holds for what was received, and returns it.
    async fn wait_for(&self, what: &str, enough: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + ARRIVES;
        loop {
            let received = self.received();
            if enough(&received) {
                return received;
            }
            assert!(tokio::time::Instant::now() < deadline, "waited in vain for {what}; received {received:#?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn serve(mut stream: tokio::net::TcpStream, state: Arc<Mutex<ReceiverState>>) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let (head_end, length) = loop {
        let Ok(n) = stream.read(&mut chunk).await else { return };
        if n == 0 {
            return;
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).to_string();
            let length = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()))
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            break (end + 4, length);
        }
    };
    while buffer.len() < head_end + length {
        let Ok(n) = stream.read(&mut chunk).await else { return };
        if n == 0 {
            return;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let body = String::from_utf8_lossy(&buffer[head_end..head_end + length]).to_string();
    let answered = {
        let mut state = state.lock().unwrap();
        let answered = if state.fail_next > 0 {
            state.fail_next -= 1;
            500
        } else {
            200
        };
        state.received.push(Received { headers, body, answered });
        answered
    };
    let reply = format!("HTTP/1.1 {answered} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    let _ = stream.write_all(reply.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Checks `X-Eprime-Signature` the way a receiving system would: HMAC-SHA256 keyed with the
/// secret over `<X-Eprime-Timestamp>.<body>`, hex, after `sha256=`.
fn signature_verifies(request: &Received, secret: &str) -> bool {
    let timestamp = request.header("x-eprime-timestamp");
    let Some(given) = request.header("x-eprime-signature").strip_prefix("sha256=") else { return false };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{}", request.body).as_bytes());
    let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    given == expected
}

async fn create_activity(app: &TestApp, token: &str, partnership: &str, title: &str) -> Value {
    let body = json!({"partnership": partnership, "title": title, "kind": "meeting"});
    let response = app.post("/api/v1/activities", Some(token), &body).await;
    assert_eq!(response.status(), StatusCode::CREATED, "create {title}");
    response.json().await.unwrap()
}

async fn deliveries(app: &TestApp, token: &str, webhook: &str) -> Vec<Value> {
    let page = app.get_json(&format!("/api/v1/webhooks/{webhook}/deliveries"), Some(token)).await;
    page["items"].as_array().unwrap().clone()
}

/// Waits until the delivery log shows what `done` asks for.
async fn wait_for_log(app: &TestApp, token: &str, webhook: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + ARRIVES;
    loop {
        let items = deliveries(app, token, webhook).await;
        if done(&items) {
            return items;
        }
        assert!(tokio::time::Instant::now() < deadline, "the delivery log never got there: {items:#?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_get_what_their_organisation_may_see_signed_retried_and_redelivered() {
    let app = app().await;
    deliveries_are_signed_retried_and_redelivered(&app).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_webhooks_are_signed_retried_and_redelivered_too() {
    let Some(server) = server_url("on_postgres_webhooks_are_signed_retried_and_redelivered_too") else { return };
    let database = TestDatabase::create(&server).await;
    let app = app_on(Some(&database.url)).await;
    deliveries_are_signed_retried_and_redelivered(&app).await;
    app.stop().await;
}

/// Two instances on one PostgreSQL database share the work: each change is queued once and sent
/// once, whichever instance commits it and whichever sends it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_postgres_deliver_each_change_once() {
    let Some(server) = server_url("two_instances_on_postgres_deliver_each_change_once") else { return };
    let database = TestDatabase::create(&server).await;
    let first = app_on(Some(&database.url)).await;
    let second = app_on(Some(&database.url)).await;
    let receiver = Receiver::start(0).await;
    let admin = first.login("jpn.admin").await;
    let response = first.post("/api/v1/webhooks", Some(&admin), &json!({"url": receiver.url})).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let secret = response.json::<Value>().await.unwrap()["secret"].as_str().unwrap().to_owned();
    let officers = [first.login("jpn.officer").await, second.login("jpn.officer").await];
    let mut ids = Vec::new();
    for n in 0..6 {
        let (app, token) = if n % 2 == 0 { (&first, &officers[0]) } else { (&second, &officers[1]) };
        ids.push(create_activity(app, token, "JPN", &format!("Talks {n}")).await["id"].as_str().unwrap().to_owned());
    }
    receiver.wait_for("six deliveries", |r| r.len() >= 6).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let got = receiver.received();
    assert_eq!(got.len(), 6, "each change once: {got:#?}");
    let mut delivered: Vec<String> = got.iter().map(|r| r.json()["id"].as_str().unwrap().to_owned()).collect();
    delivered.sort();
    ids.sort();
    assert_eq!(delivered, ids);
    let mut deliveries: Vec<&str> = got.iter().map(|r| r.header("x-eprime-delivery")).collect();
    deliveries.dedup();
    assert_eq!(deliveries.len(), 6);
    assert!(got.iter().all(|r| signature_verifies(r, &secret)));
    first.stop().await;
    second.stop().await;
}

async fn deliveries_are_signed_retried_and_redelivered(app: &TestApp) {
    let admin = app.login("jpn.admin").await;
    let officer = app.login("jpn.officer").await;
    let korea = app.login("kor.officer").await;
    // The receiver fails the first two requests: the delivery succeeds on its third attempt.
    let receiver = Receiver::start(2).await;

    let body = json!({"url": receiver.url, "description": "Japan's mission system"});
    let response = app.post("/api/v1/webhooks", Some(&admin), &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert!(response.headers().contains_key("location"));
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["organisation"], "JPN", "a partner administrator's webhook is its nation's");
    assert_eq!(created["active"], true);
    let webhook = created["id"].as_str().unwrap().to_owned();
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 64, "32 random bytes, hex");
    let read = app.get_json(&format!("/api/v1/webhooks/{webhook}"), Some(&admin)).await;
    assert!(read.get("secret").is_none(), "the secret is shown once: {read}");

    let korean = create_activity(app, &korea, "KOR", "Korean staff talks").await;
    let japanese = create_activity(app, &officer, "JPN", "Japanese staff talks").await;
    let japanese_id = japanese["id"].as_str().unwrap();

    let got = receiver.wait_for("three attempts", |r| r.len() >= 3).await;
    assert_eq!(got.iter().map(|r| r.answered).collect::<Vec<_>>(), [500, 500, 200]);
    for request in &got {
        assert_eq!(request.header("content-type"), "application/json");
        assert_eq!(request.header("x-eprime-event"), "change");
        assert!(signature_verifies(request, &secret), "the signature verifies: {request:?}");
        assert!(!signature_verifies(request, "not-the-secret"));
        let data = request.json();
        assert_eq!(data["entity"], "activity");
        assert_eq!(data["id"], japanese_id, "only Japan's change; never Korea's: {data}");
        assert_eq!(data["operation"], "create");
        assert_eq!(data["partnership"], "JPN");
        assert_eq!(data["actor"], "jpn.officer");
        assert_eq!(data["record"]["title"], "Japanese staff talks");
        assert!(data["seq"].as_i64().is_some_and(|s| s > 0));
    }
    let delivery = got[0].header("x-eprime-delivery").to_owned();
    assert!(got.iter().all(|r| r.header("x-eprime-delivery") == delivery), "one delivery, three attempts");
    assert_eq!(got[0].body, got[2].body, "the same body each time");

    // The log: the one delivery, delivered on the third attempt, every attempt listed.
    let log =
        wait_for_log(app, &admin, &webhook, |items| items.first().is_some_and(|d| d["state"] == "delivered")).await;
    assert_eq!(log.len(), 1, "Korea's change is never queued for Japan: {log:#?}");
    let entry = &log[0];
    assert_eq!(entry["id"], delivery.as_str());
    assert_eq!(entry["entity_id"], japanese_id);
    assert_eq!((entry["attempts"].as_u64(), entry["round_attempts"].as_u64()), (Some(3), Some(3)));
    let statuses: Vec<Value> = entry["attempt_log"].as_array().unwrap().iter().map(|a| a["status"].clone()).collect();
    assert_eq!(statuses, [json!(500), json!(500), json!(200)]);
    assert_eq!(entry["attempt_log"][0]["error"], "HTTP 500");
    assert!(entry["delivered_at"].is_string());

    // Redelivery sends the same delivery again, and the log counts it.
    let redeliver = format!("/api/v1/webhooks/{webhook}/deliveries/{delivery}/redeliver");
    let response = app.post(&redeliver, Some(&admin), &json!({})).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let got = receiver.wait_for("the redelivery", |r| r.len() >= 4).await;
    assert_eq!(got[3].header("x-eprime-delivery"), delivery);
    assert_eq!(got[3].json()["id"], japanese_id);
    assert!(signature_verifies(&got[3], &secret));
    let log = wait_for_log(app, &admin, &webhook, |items| {
        items.first().is_some_and(|d| d["attempts"] == 4 && d["state"] == "delivered")
    })
    .await;
    assert_eq!(log[0]["round_attempts"], 1);

    // A rotated secret signs what follows; the old one no longer verifies.
    let response = app.post(&format!("/api/v1/webhooks/{webhook}/rotate-secret"), Some(&admin), &json!({})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let rotated = response.json::<Value>().await.unwrap()["secret"].as_str().unwrap().to_owned();
    assert_ne!(rotated, secret);
    let patch = app
        .request(Method::PATCH, &format!("/api/v1/activities/{japanese_id}"), Some(&officer))
        .header("If-Match", "*")
        .json(&json!({"title": "Japanese staff talks, revised"}))
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status(), StatusCode::OK);
    let got = receiver.wait_for("the update", |r| r.len() >= 5).await;
    assert_eq!(got[4].json()["operation"], "update");
    assert!(signature_verifies(&got[4], &rotated));
    assert!(!signature_verifies(&got[4], &secret));

    // Nothing about Korea's activity ever arrived.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let korean_id = korean["id"].as_str().unwrap();
    assert!(receiver.received().iter().all(|r| r.json()["id"] != korean_id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_and_management_are_guarded() {
    let app = app().await;
    let jpn_admin = app.login("jpn.admin").await;
    let nato_admin = app.login("nato.admin").await;
    let kor_officer = app.login("kor.officer").await;
    let body = json!({"username": "kor.admin", "display_name": "Korea admin", "role": "partner_admin", "partner": "KOR", "password": "a-sound-passphrase-2026"});
    assert_eq!(app.post("/api/v1/users", Some(&nato_admin), &body).await.status(), StatusCode::CREATED);
    let kor_admin = app.login_with("kor.admin", "a-sound-passphrase-2026").await;

    // Only https://, or http:// to a loopback address.
    for url in ["http://partner.example.org/hook", "http://10.1.2.3/hook", "ftp://example.org/hook", "hook"] {
        let refused = app.post("/api/v1/webhooks", Some(&jpn_admin), &json!({"url": url})).await;
        let problem = problem(refused, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(problem["errors"][0]["field"], "url", "{url}: {problem}");
    }
    let refused = app.post("/api/v1/webhooks", Some(&jpn_admin), &json!({"url": "http://example.org/hook"})).await;
    let detail = problem(refused, StatusCode::UNPROCESSABLE_ENTITY).await["detail"].as_str().unwrap().to_owned();
    assert!(detail.contains("https://") && detail.contains("loopback"), "{detail}");
    let bad_filter = json!({"url": "https://jpn.example.invalid/hook", "entities": ["user"]});
    problem(app.post("/api/v1/webhooks", Some(&jpn_admin), &bad_filter).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    // Not another nation's, and not by someone who manages no webhooks.
    let korea = json!({"organisation": "KOR", "url": "https://kor.example.invalid/hook"});
    problem(app.post("/api/v1/webhooks", Some(&jpn_admin), &korea).await, StatusCode::FORBIDDEN).await;
    let mine = json!({"url": "https://jpn.example.invalid/hook", "active": false, "entities": ["activity"]});
    problem(app.post("/api/v1/webhooks", Some(&kor_officer), &mine).await, StatusCode::FORBIDDEN).await;
    problem(app.post("/api/v1/webhooks", None, &mine).await, StatusCode::UNAUTHORIZED).await;
    let no_org = json!({"url": "https://nato.example.invalid/hook"});
    problem(app.post("/api/v1/webhooks", Some(&nato_admin), &no_org).await, StatusCode::UNPROCESSABLE_ENTITY).await;

    let response = app.post("/api/v1/webhooks", Some(&jpn_admin), &mine).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let webhook = response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/webhooks/{webhook}");
    let unknown_delivery = format!("{path}/deliveries/01020304-0506-7708-890a-0b0c0d0e0f10/redeliver");

    // Korea's officer manages no webhooks; Korea's administrator does not see Japan's.
    for (token, expected) in [(&kor_officer, StatusCode::FORBIDDEN), (&kor_admin, StatusCode::NOT_FOUND)] {
        problem(app.get(&path, Some(token)).await, expected).await;
        problem(app.get(&format!("{path}/deliveries"), Some(token)).await, expected).await;
        let patch =
            app.request(Method::PATCH, &path, Some(token)).header("If-Match", "*").json(&json!({"active": true}));
        problem(patch.send().await.unwrap(), expected).await;
        problem(app.post(&format!("{path}/rotate-secret"), Some(token), &json!({})).await, expected).await;
        problem(app.post(&unknown_delivery, Some(token), &json!({})).await, expected).await;
        problem(app.request(Method::DELETE, &path, Some(token)).send().await.unwrap(), expected).await;
    }
    problem(app.get("/api/v1/webhooks", Some(&kor_officer)).await, StatusCode::FORBIDDEN).await;
    assert_eq!(app.get_json("/api/v1/webhooks", Some(&kor_admin)).await, json!([]), "another nation's look absent");
    let listed = app.get_json("/api/v1/webhooks", Some(&nato_admin)).await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "NATO administrators manage every organisation's");
    assert!(listed[0].get("secret").is_none());
    assert_eq!(listed[0]["entities"], json!(["activity"]));

    // Changes need If-Match, and are checked like a new webhook.
    let patch = app.request(Method::PATCH, &path, Some(&jpn_admin)).json(&json!({"active": true}));
    problem(patch.send().await.unwrap(), StatusCode::PRECONDITION_REQUIRED).await;
    let patch = app.request(Method::PATCH, &path, Some(&jpn_admin)).header("If-Match", "\"v1\"");
    let refused = patch.json(&json!({"url": "http://partner.example.org/"})).send().await.unwrap();
    problem(refused, StatusCode::UNPROCESSABLE_ENTITY).await;
    let patch = app.request(Method::PATCH, &path, Some(&jpn_admin)).header("If-Match", "\"v1\"");
    let changed = patch.json(&json!({"partnership": "JPN", "entities": null})).send().await.unwrap();
    assert_eq!(changed.status(), StatusCode::OK);
    assert_eq!(changed.headers()["etag"], "\"v2\"");
    let changed: Value = changed.json().await.unwrap();
    assert_eq!((changed["partnership"].as_str(), changed["entities"].is_null()), (Some("JPN"), true));
    let stale = app.request(Method::PATCH, &path, Some(&jpn_admin)).header("If-Match", "\"v1\"");
    problem(stale.json(&json!({"active": true})).send().await.unwrap(), StatusCode::PRECONDITION_FAILED).await;
    problem(app.post(&unknown_delivery, Some(&jpn_admin), &json!({})).await, StatusCode::NOT_FOUND).await;

    // The change log records webhooks for the audit, never their secrets.
    let audit = app.get_json("/api/v1/audit?entity=webhook", Some(&nato_admin)).await;
    let text = audit.to_string();
    assert!(text.contains(&webhook), "{text}");
    assert!(!text.contains("\"secret\""), "{text}");

    assert_eq!(
        app.request(Method::DELETE, &path, Some(&jpn_admin)).send().await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    problem(app.get(&path, Some(&jpn_admin)).await, StatusCode::NOT_FOUND).await;
    app.stop().await;
}
