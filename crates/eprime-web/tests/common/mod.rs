//! A real server for the page tests: a fresh SQLite file with the Japan–NATO demo, the JSON API
//! and the pages on one router, on a random loopback port.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use eprime_server::{AppState, ServerConfig};
use eprime_store::DynStore;
use eprime_store_sqlite::SqliteStore;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub const PASSWORD: &str = "demo-password";

pub struct TestServer {
    pub url: String,
    pub store: DynStore,
    pub client: Client,
    stop: Option<oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A signed-in browser: its session cookie and the CSRF token its pages carry.
#[derive(Clone, Debug)]
pub struct Browser {
    pub session: String,
    pub csrf: String,
}

impl TestServer {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join("eprime.db").display());
        let sqlite = SqliteStore::connect(&url).await.expect("database opens");
        let store: DynStore = Arc::new(sqlite);
        let hash = |password: &str| eprime_server::passwords::hash_password(password).unwrap_or_default();
        eprime_demo::load(store.as_ref(), PASSWORD, &hash).await.expect("demo loads");
        let config = ServerConfig { session_ttl: Duration::from_secs(3600), ..ServerConfig::default() };
        let state = AppState::new(store.clone(), config);
        // As `eprime serve` builds it: the pages behind the same middleware as the API.
        let app = eprime_server::app_with(state, eprime_web::router());
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let service = app.into_make_service_with_connect_info::<SocketAddr>();
            let _ = axum::serve(listener, service)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        let client = Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        Self { url: format!("http://{addr}"), store, client, stop: Some(stop), _dir: dir }
    }

    pub async fn get(&self, path: &str, browser: Option<&Browser>) -> Response {
        let mut request = self.client.get(format!("{}{path}", self.url));
        if let Some(b) = browser {
            request = request.header(COOKIE, format!("eprime_session={}", b.session));
        }
        request.send().await.expect("GET")
    }

    /// GET a page and return its status and body.
    pub async fn page(&self, path: &str, browser: Option<&Browser>) -> (StatusCode, String) {
        let response = self.get(path, browser).await;
        let status = response.status();
        (status, response.text().await.expect("body"))
    }

    /// POST a form the way a browser does.
    pub async fn post_form(&self, path: &str, browser: Option<&Browser>, fields: &[(&str, &str)]) -> Response {
        let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let mut request = self
            .client
            .post(format!("{}{path}", self.url))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        if let Some(b) = browser {
            request = request.header(COOKIE, format!("eprime_session={}", b.session));
        }
        request.send().await.expect("POST")
    }

    /// Submits a form the way `browser`'s pages do: its fields plus the CSRF token every
    /// state-changing form carries.
    pub async fn submit(&self, path: &str, browser: &Browser, fields: &[(&str, &str)]) -> Response {
        let mut all = fields.to_vec();
        all.push(("csrf_token", browser.csrf.as_str()));
        self.post_form(path, Some(browser), &all).await
    }

    /// [`Self::submit`], expecting the 303 to the changed page; returns where it leads.
    pub async fn submit_ok(&self, path: &str, browser: &Browser, fields: &[(&str, &str)]) -> String {
        let response = self.submit(path, browser, fields).await;
        let (status, to) = (response.status(), location(&response));
        let body = response.text().await.unwrap_or_default();
        assert_eq!(status, StatusCode::SEE_OTHER, "POST {path} was refused: {body}");
        to
    }

    /// [`Self::submit`], expecting a refusal with `status`; returns the page that explains it.
    pub async fn submit_refused(
        &self,
        path: &str,
        browser: &Browser,
        fields: &[(&str, &str)],
        status: StatusCode,
    ) -> String {
        let response = self.submit(path, browser, fields).await;
        let got = response.status();
        let body = response.text().await.unwrap_or_default();
        assert_eq!(got, status, "POST {path} answered {got}: {body}");
        body
    }

    /// Signs in through the `/login` form.
    pub async fn sign_in(&self, username: &str) -> Browser {
        let form = self.get("/login", None).await;
        assert_eq!(form.status(), StatusCode::OK);
        let login_cookie = set_cookie(&form, "eprime_login").expect("the login form sets its cookie");
        let html = form.text().await.unwrap();
        let token = hidden(&html, "csrf_token").expect("the login form carries a token");
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([("username", username), ("password", PASSWORD), ("csrf_token", &token), ("next", "/")])
            .finish();
        let response = self
            .client
            .post(format!("{}/login", self.url))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(COOKIE, format!("eprime_login={login_cookie}"))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "sign-in of {username}");
        let session = set_cookie(&response, "eprime_session").expect("a session cookie");
        let (_, home) = self.page("/", Some(&Browser { session: session.clone(), csrf: String::new() })).await;
        let csrf = hidden(&home, "csrf_token").expect("the sign-out form carries the CSRF token");
        Browser { session, csrf }
    }

    /// A bearer token from the JSON API.
    pub async fn api_token(&self, username: &str) -> String {
        let response = self
            .client
            .post(format!("{}/api/v1/auth/login", self.url))
            .json(&json!({"username": username, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
    }

    /// Creates an activity through the JSON API.
    pub async fn api_create(&self, token: &str, body: Value) -> Value {
        let response = self
            .client
            .post(format!("{}/api/v1/activities", self.url))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.unwrap()
    }

    pub async fn api_get(&self, token: Option<&str>, path: &str) -> Value {
        let mut request = self.client.get(format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.unwrap()
    }

    /// A menu event offered by NDC through the JSON API (as NATO staff), open to `nations` only,
    /// with a quota of one nomination per nation, moved to `status` (`draft` or `published`).
    pub async fn api_menu_event(&self, title: &str, nations: &[&str], status: &str) -> String {
        let token = self.api_token("nato.staff").await;
        let today = time::OffsetDateTime::now_utc().date();
        let day = |days: i64| eprime_domain::dates::format_date(today + time::Duration::days(days));
        // Menu codes are unique: number the events this test process offers.
        static OFFERED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
        let code = format!("CYD-NDC-WEB-{}", OFFERED.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        let body = json!({
            "code": code, "title": title, "description": "A test event for the menu pages.",
            "areas": ["CYD"], "event_type": "course", "provider": "NDC",
            "contact": {"name": "Course office", "email": "courses@ndc.example"},
            "sessions": [{"starts_on": day(90), "ends_on": day(94), "location": "Rome, ITA", "language": "en"}],
            "seats": 10, "nation_quota": 1,
            "eligibility": {"kind": "nations", "nations": nations},
            "nomination_deadline": day(60),
        });
        let response =
            self.client.post(format!("{}/api/v1/menu", self.url)).bearer_auth(&token).json(&body).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
        let id = response.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        if status == "published" {
            for to in ["submitted", "approved", "published"] {
                let moved = self
                    .client
                    .post(format!("{}/api/v1/menu/{id}/transitions", self.url))
                    .bearer_auth(&token)
                    .json(&json!({"to": to}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(moved.status(), StatusCode::OK, "to {to}");
            }
        }
        id
    }
}

impl TestServer {
    /// The store's reading of a menu event, as the system sees it.
    pub async fn offering(&self, id: &str) -> eprime_domain::menu::Offering {
        let id = id.parse().expect("an offering id");
        self.store.offering(&eprime_domain::ReadScope::system(), id).await.unwrap().expect("the offering exists")
    }

    /// The nominations of a menu event, as the system sees them, oldest first.
    pub async fn nominations(&self, offering: &str) -> Vec<eprime_domain::menu::Nomination> {
        let id = offering.parse().expect("an offering id");
        self.store.list_nominations(&eprime_domain::ReadScope::system(), id).await.unwrap().unwrap_or_default()
    }

    /// A participant's account, named by its e-mail address as participants' accounts are.
    pub async fn participant_account(&self, email: &str) {
        let binding = eprime_domain::RoleBinding::new(eprime_domain::Role::Participant, None, None)
            .expect("a participant binding");
        let password_hash = eprime_server::passwords::hash_password(PASSWORD).expect("a hash");
        let new = eprime_store::NewUser {
            username: email.to_owned(),
            display_name: email.to_owned(),
            binding,
            password_hash,
        };
        self.store.create_user(None, new).await.expect("the participant's account");
    }

    /// The principal of a demo account, to act through the store directly.
    pub async fn principal(&self, username: &str) -> eprime_domain::Principal {
        self.store.user_by_username(username).await.unwrap().expect("the account exists").principal()
    }

    /// Waits (up to 5 s) until the notifier has given `username` at least `count` unread
    /// notifications.
    pub async fn until_unread(&self, username: &str, count: u64) {
        let user = self.principal(username).await;
        let started = std::time::Instant::now();
        loop {
            let unread = self.store.unread_notifications(&user).await.unwrap();
            if unread >= count {
                return;
            }
            assert!(started.elapsed() < Duration::from_secs(5), "{username} has {unread} unread, not {count}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

pub fn set_cookie(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter_map(|pair| pair.split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.to_owned())
}

pub fn location(response: &Response) -> String {
    response.headers().get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

/// The value of the first hidden input called `name`.
pub fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_owned())
}

/// The value of the hidden input `name` in the part of `html` after `marker` (e.g. one table
/// row's `data-nomination="…"`).
pub fn hidden_after(html: &str, marker: &str, name: &str) -> Option<String> {
    hidden(html.split(marker).nth(1)?, name)
}
