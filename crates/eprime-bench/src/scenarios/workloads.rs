//! The requests scenarios send.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, ETAG, IF_MATCH};
use hyper::{Method, Request, StatusCode};

use crate::driver::client::{Body, Reply};
use crate::driver::{Workload, describe};

fn request(method: Method, path: &str, token: Option<&str>, body: Option<String>) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        builder = builder.header(AUTHORIZATION, format!("Bearer {token}"));
    }
    if body.is_some() {
        builder = builder.header(CONTENT_TYPE, "application/json");
    }
    builder.body(Body::new(body.map(Bytes::from).unwrap_or_default())).expect("the harness builds valid requests")
}

/// GETs of a rotating list of paths, as one user.
pub struct Get {
    paths: Vec<String>,
    token: Option<String>,
    /// Send the token as the browser's session cookie (the pages read only that), not as a bearer.
    cookie: bool,
    next: AtomicUsize,
}

impl Get {
    pub fn new(paths: Vec<String>, token: Option<&str>) -> Self {
        Self { paths, token: token.map(str::to_owned), cookie: false, next: AtomicUsize::new(0) }
    }

    /// As a browser: the token in the session cookie.
    pub fn browser(paths: Vec<String>, token: &str) -> Self {
        Self { paths, token: Some(token.to_owned()), cookie: true, next: AtomicUsize::new(0) }
    }
}

impl Workload for Get {
    fn request(&self, _worker: usize) -> Request<Body> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let path = &self.paths[n % self.paths.len()];
        match (&self.token, self.cookie) {
            (Some(token), true) => {
                let mut request = request(Method::GET, path, None, None);
                if let Ok(value) = format!("{}={token}", eprime_server::auth::SESSION_COOKIE).parse() {
                    request.headers_mut().insert(COOKIE, value);
                }
                request
            }
            (token, _) => request(Method::GET, path, token.as_deref(), None),
        }
    }
}

/// Sign-ins, rotating over accounts (every one with the benchmark's password).
pub struct SignIn {
    usernames: Vec<String>,
    password: String,
    next: AtomicUsize,
}

impl SignIn {
    pub fn new(usernames: Vec<String>, password: &str) -> Self {
        Self { usernames, password: password.to_owned(), next: AtomicUsize::new(0) }
    }
}

impl Workload for SignIn {
    fn request(&self, _worker: usize) -> Request<Body> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let body = serde_json::json!({"username": self.usernames[n % self.usernames.len()], "password": self.password});
        request(Method::POST, "/api/v1/auth/login", None, Some(body.to_string()))
    }
}

/// One connection's activities (id, current version) and the index of the next to change.
type Owned = (Vec<(String, i64)>, usize);

/// `PATCH /api/v1/activities/{id}` with `If-Match`. Each connection owns its own activities, so
/// no two connections race for one and every 412 is a real error; the ETag of each answer is
/// the `If-Match` of the next change to that activity.
pub struct Update {
    token: String,
    /// Per connection: its activities (id, version) and which one is next.
    owned: Vec<Mutex<Owned>>,
    counter: AtomicUsize,
}

impl Update {
    /// Deals `activities` out to `connections` connections (at most one per activity).
    pub fn new(token: &str, activities: &[(String, i64)], connections: usize) -> Self {
        let connections = connections.min(activities.len()).max(1);
        let mut owned: Vec<Vec<(String, i64)>> = vec![Vec::new(); connections];
        for (i, activity) in activities.iter().enumerate() {
            owned[i % connections].push(activity.clone());
        }
        Self {
            token: token.to_owned(),
            owned: owned.into_iter().map(|a| Mutex::new((a, 0))).collect(),
            counter: AtomicUsize::new(0),
        }
    }

    /// How many connections can write at once without sharing an activity.
    pub fn connections(&self) -> usize {
        self.owned.len()
    }
}

impl Workload for Update {
    fn request(&self, worker: usize) -> Request<Body> {
        let slot = self.owned[worker % self.owned.len()].lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (activities, next) = &*slot;
        let (id, version) = &activities[*next % activities.len()];
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let body = serde_json::json!({"location": format!("Benchmark room {n}")}).to_string();
        let mut request = request(Method::PATCH, &format!("/api/v1/activities/{id}"), Some(&self.token), Some(body));
        if let Ok(value) = format!("\"v{version}\"").parse() {
            request.headers_mut().insert(IF_MATCH, value);
        }
        request
    }

    fn check(&self, worker: usize, reply: &Reply) -> Result<(), String> {
        let mut slot = self.owned[worker % self.owned.len()].lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (activities, next) = &mut *slot;
        let index = *next % activities.len();
        let result = if reply.status == StatusCode::OK {
            let version = reply
                .headers
                .get(ETAG)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim_matches('"').strip_prefix('v').and_then(|v| v.parse().ok()));
            match version {
                Some(version) => {
                    activities[index].1 = version;
                    Ok(())
                }
                None => Err("200 without a version ETag".to_owned()),
            }
        } else {
            Err(describe(reply))
        };
        *next += 1;
        result
    }
}

/// Partner officers nominating to a few offerings at once. Each connection is one person, nominated,
/// then withdrawn, then nominated again; every nomination write locks its offering and counts the seats
/// and the nation's quota there, so the connections contend for the same few ledgers. A nomination
/// refused because the quota or the seats are used (409) is that contention working, not an error.
pub struct Nominate {
    token: String,
    offerings: Vec<String>,
    /// Per connection: the nomination to withdraw next, if it holds one.
    open: Vec<Mutex<Option<String>>>,
}

impl Nominate {
    pub fn new(token: &str, offerings: Vec<String>, connections: usize) -> Self {
        Self { token: token.to_owned(), offerings, open: (0..connections.max(1)).map(|_| Mutex::new(None)).collect() }
    }

    fn slot(&self, worker: usize) -> std::sync::MutexGuard<'_, Option<String>> {
        self.open[worker % self.open.len()].lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Workload for Nominate {
    fn request(&self, worker: usize) -> Request<Body> {
        match self.slot(worker).as_ref() {
            Some(nomination) => {
                let body = serde_json::json!({"decision": "withdraw", "reason": "benchmark"}).to_string();
                let path = format!("/api/v1/nominations/{nomination}/decision");
                request(Method::POST, &path, Some(&self.token), Some(body))
            }
            None => {
                let offering = &self.offerings[worker % self.offerings.len()];
                let body = serde_json::json!({
                    "name": format!("Benchmark Participant {worker}"),
                    "rank": "Major",
                    "organisation": "Ministry of Defense",
                    "email": format!("bench.participant{worker}@example.jp"),
                    "clearance": "nato_secret",
                    "language_level": 5,
                })
                .to_string();
                request(Method::POST, &format!("/api/v1/menu/{offering}/nominations"), Some(&self.token), Some(body))
            }
        }
    }

    fn check(&self, worker: usize, reply: &Reply) -> Result<(), String> {
        let mut slot = self.slot(worker);
        match (slot.is_some(), reply.status) {
            (true, StatusCode::OK) => {
                *slot = None;
                Ok(())
            }
            (false, StatusCode::CREATED) => {
                let json: serde_json::Value = serde_json::from_slice(&reply.body).map_err(|e| e.to_string())?;
                *slot = json["id"].as_str().map(str::to_owned);
                slot.as_ref().map(drop).ok_or_else(|| "201 without a nomination id".to_owned())
            }
            (false, StatusCode::CONFLICT) => Ok(()),
            _ => {
                // Start over with a fresh nomination, so one failure does not repeat forever.
                *slot = None;
                Err(describe(reply))
            }
        }
    }
}
