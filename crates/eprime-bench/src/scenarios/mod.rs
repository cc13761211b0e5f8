//! The scenario registry: what is measured, with which load, against which target.
//!
//! A scenario is a [`Workload`] (the requests) plus how to load it: connections for saturation,
//! the fixed rate, and optionally a background load that runs alongside both phases (reads while
//! writing). New scenarios plug in by adding an entry to [`http_scenarios`]; those waiting for an
//! API that is not on this branch are listed in [`PENDING`] and reported as such.

pub mod stream;
pub mod workloads;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use hyper::StatusCode;
use serde_json::Value;

use self::workloads::{Get, Nominate, SignIn, Update};
use crate::driver::Workload;
use crate::driver::client::{Body, Conn};
use crate::options::Options;

/// Scenarios that wait for an API or data this harness does not have yet (none now).
pub const PENDING: [(&str, &str); 0] = [];

/// A menu search scenario over one query class, as the partner officer.
fn menu_search(
    name: &'static str,
    class: &str,
    queries: &[&str],
    reader: Option<&str>,
    rate: f64,
    slack: f64,
) -> HttpScenario {
    let paths = queries.iter().map(|q| format!("/api/v1/menu?{q}&limit=20")).collect();
    HttpScenario {
        name,
        what: format!("GET /api/v1/menu with {class}: ranked, faceted, filtered by visibility"),
        workload: Arc::new(Get::new(paths, reader)),
        saturation_connections: 8,
        rate,
        rate_connections: 8,
        background: None,
        targets: vec![Target::P99Ms(5.0 * slack)],
    }
}

/// What the scenarios need from the running server: who to be and what to touch.
pub struct Context {
    pub addr: SocketAddr,
    /// The partner whose programme the reads look at.
    pub partner: String,
    /// A partner officer of that partner: the reads go through the full visibility rule.
    pub reader_token: String,
    /// NATO staff: writes, and a stream that sees every change.
    pub staff_token: String,
    /// Activities of the partner (id, version) the reads and writes use.
    pub activities: Vec<(String, i64)>,
    /// Accounts to sign in as.
    pub sign_in_as: Vec<String>,
    /// The current version of the stream scenario's activity (it changes it on every event).
    pub stream_version: std::sync::atomic::AtomicI64,
    /// Published offerings the partner may still nominate to, soonest deadline first.
    pub open_offerings: Vec<String>,
}

impl Context {
    pub async fn new(addr: SocketAddr, generated_users: usize) -> anyhow::Result<Self> {
        let reader_token = sign_in(addr, "jpn.officer").await?;
        let staff_token = sign_in(addr, "nato.staff").await?;
        let partner = "JPN".to_owned();
        let activities = activities(addr, &reader_token, &partner, 1000).await?;
        if activities.len() < 2 {
            bail!("{partner} has {} activities; the scenarios need at least two", activities.len());
        }
        let mut sign_in_as: Vec<String> = (0..generated_users.min(1000)).map(crate::generate::bench_username).collect();
        if sign_in_as.is_empty() {
            sign_in_as = eprime_demo::ACCOUNTS.iter().map(|a| a.username.to_owned()).collect();
        }
        let stream_version = std::sync::atomic::AtomicI64::new(activities[0].1);
        let open_offerings = open_offerings(addr, &reader_token).await?;
        Ok(Self { addr, partner, reader_token, staff_token, activities, sign_in_as, stream_version, open_offerings })
    }

    /// The activity the stream scenario changes (kept out of the update scenario's share).
    pub fn stream_activity(&self) -> &(String, i64) {
        &self.activities[0]
    }
}

async fn sign_in(addr: SocketAddr, username: &str) -> anyhow::Result<String> {
    let body = serde_json::json!({"username": username, "password": crate::generate::PASSWORD}).to_string();
    let request = hyper::Request::post("/api/v1/auth/login")
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Body::new(body.into()))?;
    let reply = Conn::new(addr).send(request).await?;
    if reply.status != StatusCode::OK {
        bail!("signing in as {username}: {}", crate::driver::describe(&reply));
    }
    let json: Value = serde_json::from_slice(&reply.body)?;
    json["token"].as_str().map(str::to_owned).context("the sign-in answer has a token")
}

/// Up to `limit` activities of `partner`, following the cursor.
async fn activities(addr: SocketAddr, token: &str, partner: &str, limit: usize) -> anyhow::Result<Vec<(String, i64)>> {
    let mut conn = Conn::new(addr);
    let mut found = Vec::new();
    let mut after: Option<String> = None;
    while found.len() < limit {
        let mut path = format!("/api/v1/activities?partnership={partner}&limit=200");
        if let Some(cursor) = &after {
            path.push_str(&format!("&after={}", urlencode(cursor)));
        }
        let request = hyper::Request::get(path).header(hyper::header::AUTHORIZATION, format!("Bearer {token}"));
        let reply = conn.send(request.body(Body::default())?).await?;
        if reply.status != StatusCode::OK {
            bail!("listing activities: {}", crate::driver::describe(&reply));
        }
        let page: Value = serde_json::from_slice(&reply.body)?;
        for item in page["items"].as_array().into_iter().flatten() {
            if let (Some(id), Some(version)) = (item["id"].as_str(), item["version"].as_i64()) {
                found.push((id.to_owned(), version));
            }
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => after = Some(cursor.to_owned()),
            None => break,
        }
    }
    found.truncate(limit);
    Ok(found)
}

/// Published offerings whose nomination deadline is at least a week away, as the partner sees them.
async fn open_offerings(addr: SocketAddr, token: &str) -> anyhow::Result<Vec<String>> {
    // The menu lists without search words by first day, oldest first: ask for the coming months.
    let today = time::OffsetDateTime::now_utc().date();
    let months: Vec<String> = (0..4)
        .map(|i| today + time::Duration::days(30 * i + 7))
        .map(|d| format!("{:04}-{:02}", d.year(), u8::from(d.month())))
        .collect();
    let path = format!("/api/v1/menu?status=published&month={}&limit=100", months.join(","));
    let request = hyper::Request::get(path)
        .header(hyper::header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::default())?;
    let reply = Conn::new(addr).send(request).await?;
    if reply.status != StatusCode::OK {
        bail!("searching the menu: {}", crate::driver::describe(&reply));
    }
    let page: Value = serde_json::from_slice(&reply.body)?;
    let soon = (today + time::Duration::days(7)).to_string();
    Ok(page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|o| o["nomination_deadline"].as_str().is_some_and(|d| d > soon.as_str()))
        .filter_map(|o| o["id"].as_str().map(str::to_owned))
        .collect())
}

fn urlencode(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// A target from the issue, checked against one figure of a scenario.
#[derive(Clone, Copy, Debug, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// p99 of the fixed-rate phase at most this many milliseconds.
    P99Ms(f64),
    /// Saturation throughput at least this share of the `/healthz` ceiling of the same run.
    CeilingShare(f64),
    /// Saturation throughput at least this many requests per second.
    Throughput(f64),
}

/// An HTTP scenario of the registry.
pub struct HttpScenario {
    pub name: &'static str,
    pub what: String,
    pub workload: Arc<dyn Workload>,
    pub saturation_connections: usize,
    pub rate: f64,
    pub rate_connections: usize,
    /// A load running alongside both phases, at a fixed rate (reads while writing).
    pub background: Option<(Arc<dyn Workload>, f64)>,
    pub targets: Vec<Target>,
}

/// Every HTTP scenario, `/healthz` (the ceiling) first.
pub fn http_scenarios(ctx: &Context, options: &Options) -> Vec<HttpScenario> {
    let rate = options.rate as f64;
    // The targets are SQLite's; another database is held to them with its slack.
    let slack = options.database.slack();
    // The write target: 2,000 updates/s with p99 ≤ 20 ms, measured at the rate it names.
    let update_rate = 2000.0 / slack;
    let wide = options.connections;
    let p = &ctx.partner;
    let reader = Some(ctx.reader_token.as_str());
    let ids: Vec<&str> = ctx.activities.iter().skip(1).map(|(id, _)| id.as_str()).collect();
    let detail_paths: Vec<String> = ids.iter().map(|id| format!("/api/v1/activities/{id}")).collect();
    let list_paths = vec![
        format!("/api/v1/activities?partnership={p}&limit=50"),
        format!("/api/v1/activities?partnership={p}&status=completed&limit=50"),
        format!("/api/v1/activities?partnership={p}&kind=exercise&from=2020-01-01&limit=50"),
        "/api/v1/activities?status=scheduled&limit=50".to_owned(),
    ];
    let reads_while_writing: Arc<dyn Workload> = Arc::new(Get::new(
        [
            vec![format!("/api/v1/partnerships/{p}")],
            list_paths.clone(),
            detail_paths.iter().take(50).cloned().collect(),
        ]
        .concat(),
        reader,
    ));
    let update = Update::new(&ctx.staff_token, &ctx.activities[1..], 64);
    let update_connections = update.connections();
    let update: Arc<dyn Workload> = Arc::new(update);
    let get = |paths: Vec<String>| -> Arc<dyn Workload> { Arc::new(Get::new(paths, reader)) };
    let read_targets = vec![Target::P99Ms(5.0 * slack), Target::CeilingShare(0.2 / slack)];
    let mut scenarios = vec![
        HttpScenario {
            name: "healthz",
            what: "GET /healthz: the ceiling every other scenario is compared with".to_owned(),
            workload: Arc::new(Get::new(vec!["/healthz".to_owned()], None)),
            saturation_connections: wide,
            rate,
            rate_connections: wide,
            background: None,
            targets: vec![],
        },
        HttpScenario {
            name: "sign_in",
            what: "POST /api/v1/auth/login (argon2id verification, a session row, an audit event)".to_owned(),
            workload: Arc::new(SignIn::new(ctx.sign_in_as.clone(), crate::generate::PASSWORD)),
            // Each verification holds ≈ 19 MB and a core for tens of milliseconds: a few at a time.
            saturation_connections: 4,
            rate: (rate / 50.0).max(5.0),
            rate_connections: 4,
            background: None,
            targets: vec![],
        },
        HttpScenario {
            name: "dashboard_json",
            what: format!("GET /api/v1/partnerships/{p} as {p}'s officer (partnership, documents, activity count)"),
            workload: get(vec![format!("/api/v1/partnerships/{p}")]),
            saturation_connections: wide,
            rate,
            rate_connections: wide,
            background: None,
            targets: read_targets.clone(),
        },
        HttpScenario {
            name: "dashboard_related",
            what: "GET /api/v1/partnerships, /api/v1/documents?partnership=…: what the dashboard also reads".to_owned(),
            workload: get(vec!["/api/v1/partnerships".to_owned(), format!("/api/v1/documents?partnership={p}")]),
            saturation_connections: wide,
            rate,
            rate_connections: wide,
            background: None,
            targets: vec![],
        },
        HttpScenario {
            name: "dashboard_html",
            what: format!("GET /partnerships/{p}: the server-rendered page (timeline, programme tree, charts)"),
            workload: Arc::new(Get::browser(vec![format!("/partnerships/{p}")], &ctx.reader_token)),
            saturation_connections: wide,
            rate,
            rate_connections: wide,
            background: None,
            targets: read_targets.clone(),
        },
        HttpScenario {
            name: "activity_list",
            what: format!("GET /api/v1/activities, 50 a page, four filter sets (partner, status, kind + date) on {p}"),
            workload: get(list_paths),
            saturation_connections: wide,
            rate,
            rate_connections: wide,
            background: None,
            targets: read_targets,
        },
        HttpScenario {
            name: "activity_search",
            what: "GET /api/v1/activities?q=…: the phrase filter (LIKE over title, description, location)".to_owned(),
            workload: get(vec![
                format!("/api/v1/activities?partnership={p}&q=cyber&limit=20"),
                "/api/v1/activities?q=maritime&limit=20".to_owned(),
            ]),
            saturation_connections: wide,
            rate,
            rate_connections: wide,
            background: None,
            targets: vec![],
        },
        // Menu search, one scenario per query class, 8 clients (the target's setting).
        menu_search("menu_search_rare", "a rare word", &["q=quokkatastic", "q=verification"], reader, rate, slack),
        menu_search("menu_search_common", "a common word", &["q=cyber", "q=maritime", "q=crisis"], reader, rate, slack),
        menu_search("menu_search_very_common", "a very common word", &["q=partners", "q=course"], reader, rate, slack),
        menu_search(
            "menu_search_phrase",
            "a phrase",
            &["q=%22cyber%20defence%22", "q=%22crisis%20management%22"],
            reader,
            rate,
            slack,
        ),
        menu_search("menu_search_prefix", "a prefix", &["q=cyb*", "q=secur*"], reader, rate, slack),
        menu_search(
            "menu_search_facets",
            "facets only",
            &["area=CYD&type=course", "provider=NSO&open_seats=true", "language=fr"],
            reader,
            rate,
            slack,
        ),
        HttpScenario {
            name: "activity_detail",
            what: "GET /api/v1/activities/{id} over the partner's activities".to_owned(),
            workload: get(detail_paths),
            saturation_connections: wide,
            rate,
            rate_connections: wide,
            background: None,
            targets: vec![],
        },
        HttpScenario {
            name: "activity_update",
            what: format!(
                "PATCH /api/v1/activities/{{id}} with If-Match ({update_connections} writers, each its own \
                 activities) while reads continue at {rate:.0} req/s"
            ),
            workload: update,
            saturation_connections: update_connections,
            rate: update_rate,
            rate_connections: update_connections,
            background: Some((reads_while_writing, rate)),
            targets: vec![Target::Throughput(update_rate), Target::P99Ms(20.0 * slack)],
        },
    ];
    // Only where the partner can still nominate somewhere (every generated menu has such offerings).
    if !ctx.open_offerings.is_empty() {
        scenarios.push(HttpScenario {
            name: "nominations",
            what: format!(
                "POST /api/v1/menu/{{id}}/nominations and withdrawals: {NOMINATING} officers' connections contending \
                 for the seats and quota of {} offerings",
                ctx.open_offerings.len().min(2)
            ),
            workload: Arc::new(Nominate::new(
                &ctx.reader_token,
                ctx.open_offerings.iter().take(2).cloned().collect(),
                NOMINATING,
            )),
            saturation_connections: NOMINATING,
            rate: rate / 4.0,
            rate_connections: NOMINATING,
            background: None,
            targets: vec![],
        });
    }
    scenarios
}

/// Connections nominating at once: more than a nation's quota on one offering, so they contend.
const NOMINATING: usize = 16;
