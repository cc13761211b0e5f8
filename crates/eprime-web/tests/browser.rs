//! End-to-end tests in a real browser: headless Chromium driven through chromedriver (WebDriver)
//! with fantoccini. Each test starts its own server and chromedriver; they run one at a time.
//! Without `chromium` and `chromedriver` on PATH they print why and pass.
//!
//! On failure a screenshot is saved to `target/browser-screenshots/NAME.png` (the path is in the
//! failure message). With `EPRIME_SCREENSHOTS=1` every visited page is saved there too.

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::TestServer;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// One browser test at a time: Chromium is heavy and the machine small.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?.to_str()?.split(':').map(|dir| PathBuf::from(dir).join(program)).find(|p| p.is_file())
}

fn screenshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).parent().map(|p| p.join("browser-screenshots")).unwrap_or_default()
}

/// chromedriver, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
    _profile: tempfile::TempDir,
    chromium: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    /// Starts chromedriver on a free port, or `None` (with the reason printed) when the browser
    /// is not installed.
    async fn start() -> Option<Self> {
        let (Some(chromium), Some(chromedriver)) = (on_path("chromium"), on_path("chromedriver")) else {
            // Straight to standard error, past the test harness's capture, so CI logs show it.
            let _ = writeln!(
                std::io::stderr(),
                "skipping browser tests: chromium and chromedriver not found (apt-get install chromium chromium-driver)"
            );
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");
        let driver = Self { child, url, _profile: tempfile::tempdir().expect("profile directory"), chromium };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if reqwest::get(format!("{}/status", driver.url)).await.is_ok_and(|r| r.status().is_success()) {
                return Some(driver);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not answer within 20 s");
    }

    async fn browser(&self, profile: &str) -> Client {
        connect(&self.url, &self.chromium, &self._profile.path().join(profile)).await
    }
}

/// A new Chromium session through the chromedriver at `url`, with its own profile directory
/// (so its cookies are its own: a second session is a second person).
async fn connect(url: &str, chromium: &std::path::Path, dir: &std::path::Path) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        json!({
            "binary": chromium.to_string_lossy(),
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--no-first-run",
                "--disable-sync", "--window-size=1280,1000", format!("--user-data-dir={}", dir.display()),
            ],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let client =
        ClientBuilder::new(connector).capabilities(capabilities).connect(url).await.expect("a Chromium session");
    let _ = client.set_window_size(1280, 1000).await;
    client
}

type Step = Result<(), String>;

fn fail(what: impl std::fmt::Display) -> String {
    what.to_string()
}

/// Runs a browser scenario; on failure saves a screenshot and panics with where it is.
async fn run<F, Fut>(name: &str, scenario: F)
where
    F: FnOnce(TestServer, Pages) -> Fut,
    Fut: std::future::Future<Output = (Pages, Step)>,
{
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(driver) = Driver::start().await else { return };
    let server = TestServer::start().await;
    let pages = Pages {
        client: driver.browser(name).await,
        base: server.url.clone(),
        name: name.to_owned(),
        shots: 0,
        driver: driver.url.clone(),
        chromium: driver.chromium.clone(),
        profiles: driver._profile.path().to_owned(),
    };
    let (pages, result) = scenario(server, pages).await;
    if let Err(error) = result {
        let dir = screenshot_dir();
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join(format!("{name}.png"));
        let saved = match pages.client.screenshot().await {
            Ok(png) => std::fs::write(&path, png).map(|_| format!("screenshot: {}", path.display())),
            Err(e) => Ok(format!("no screenshot: {e}")),
        }
        .unwrap_or_else(|e| format!("no screenshot: {e}"));
        let url = pages.client.current_url().await.map(|u| u.to_string()).unwrap_or_default();
        let _ = pages.client.close().await;
        panic!("browser test {name} failed at {url}: {error}\n{saved}");
    }
    let _ = pages.client.close().await;
}

/// A browser session on the test server.
struct Pages {
    client: Client,
    base: String,
    name: String,
    shots: u32,
    /// Where to open more sessions: the chromedriver, the browser, the profiles' directory.
    driver: String,
    chromium: PathBuf,
    profiles: PathBuf,
}

impl Pages {
    /// A second, separate browser session (another person) on the same server.
    async fn another(&self, name: &str) -> Pages {
        let name = format!("{}-{name}", self.name);
        Pages {
            client: connect(&self.driver, &self.chromium, &self.profiles.join(&name)).await,
            base: self.base.clone(),
            name,
            shots: 0,
            driver: self.driver.clone(),
            chromium: self.chromium.clone(),
            profiles: self.profiles.clone(),
        }
    }

    async fn open(&mut self, path: &str) -> Step {
        self.client.goto(&format!("{}{path}", self.base)).await.map_err(fail)?;
        self.shot().await;
        Ok(())
    }

    /// Saves a screenshot of the page when EPRIME_SCREENSHOTS is set (for looking at the pages).
    async fn shot(&mut self) {
        if std::env::var_os("EPRIME_SCREENSHOTS").is_none() {
            return;
        }
        self.shots += 1;
        let dir = screenshot_dir();
        let _ = std::fs::create_dir_all(&dir);
        // The whole page: make the window as tall as the document, then restore it.
        let (width, height) = self.client.get_window_size().await.unwrap_or((1280, 1000));
        let full = self.script("return document.documentElement.scrollHeight").await.ok().and_then(|v| v.as_u64());
        if let Some(full) = full {
            let _ = self.client.set_window_size(width as u32, (full as u32 + 150).min(8000)).await;
        }
        if let Ok(png) = self.client.screenshot().await {
            let _ = std::fs::write(dir.join(format!("{}-{:02}.png", self.name, self.shots)), png);
        }
        let _ = self.client.set_window_size(width as u32, height as u32).await;
    }

    async fn text(&self, css: &str) -> Result<String, String> {
        let element = self.client.wait().at_most(Duration::from_secs(5)).for_element(Locator::Css(css)).await;
        element.map_err(|e| format!("no `{css}`: {e}"))?.text().await.map_err(fail)
    }

    async fn fill(&self, css: &str, value: &str) -> Step {
        let field = self.client.find(Locator::Css(css)).await.map_err(|e| format!("no field `{css}`: {e}"))?;
        field.clear().await.map_err(fail)?;
        field.send_keys(value).await.map_err(fail)
    }

    async fn click(&mut self, css: &str) -> Step {
        let target =
            self.client.find(Locator::Css(css)).await.map_err(|e| format!("nothing to click at `{css}`: {e}"))?;
        target.click().await.map_err(fail)?;
        self.shot().await;
        Ok(())
    }

    async fn script(&self, code: &str) -> Result<Value, String> {
        self.client.execute(code, Vec::new()).await.map_err(fail)
    }

    /// Opens `path` at phone width (360 px) and fails if the page scrolls sideways.
    async fn fits_a_phone(&mut self, path: &str) -> Step {
        let (width, height) = self.client.get_window_size().await.unwrap_or((1280, 1000));
        self.client.set_window_size(360, 800).await.map_err(fail)?;
        self.open(path).await?;
        let overflow =
            self.script("return document.documentElement.scrollWidth - document.documentElement.clientWidth").await?;
        self.client.set_window_size(width as u32, height as u32).await.map_err(fail)?;
        if overflow.as_i64().unwrap_or(1) > 0 {
            return Err(format!("{path} is {overflow} px wider than a 360 px phone"));
        }
        Ok(())
    }

    async fn sign_in(&mut self, username: &str) -> Step {
        self.open("/login").await?;
        self.fill("#username", username).await?;
        self.fill("#password", common::PASSWORD).await?;
        self.click("form.stack button[type=submit]").await?;
        let who = self.text(".who strong").await?;
        if who != username {
            return Err(format!("signed in as `{who}`, expected {username}"));
        }
        Ok(())
    }

    async fn sign_out(&mut self) -> Step {
        self.click(".who button").await?;
        self.text(".who a[href='/login']").await.map(|_| ())
    }

    /// Waits until `css`'s text contains `expected`, polling every 50 ms.
    async fn until_text(&self, css: &str, expected: &str, within: Duration) -> Result<Duration, String> {
        let started = Instant::now();
        loop {
            let text = match self.client.find(Locator::Css(css)).await {
                Ok(element) => element.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if text.contains(expected) {
                return Ok(started.elapsed());
            }
            if started.elapsed() > within {
                return Err(format!("`{css}` shows `{text}`, not `{expected}`, after {within:?}"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test]
async fn signing_in_and_browsing_the_japan_programme() {
    run("browse", |server, mut pages| async move {
        let result = async {
            pages.open("/").await?;
            // The first Tab lands on the skip link.
            pages.script("document.activeElement.blur(); return true;").await?;
            let body = pages.client.find(Locator::Css("body")).await.map_err(fail)?;
            body.send_keys("\u{e004}").await.map_err(fail)?;
            let focused = pages.script("return document.activeElement.className").await?;
            if focused != json!("skip") {
                return Err(format!("the first Tab focuses {focused}, not the skip link"));
            }
            pages.sign_in("jpn.officer").await?;
            pages.click("nav a[href='/partnerships/JPN']").await?;
            let heading = pages.text("h1").await?;
            if !heading.contains("Japan") {
                return Err(format!("the partnership page is headed `{heading}`"));
            }
            let goals = pages.client.find_all(Locator::Css("li[data-element]")).await.map_err(fail)?;
            if goals.len() != 16 {
                return Err(format!("{} goals in the tree, expected 16", goals.len()));
            }
            let charts = pages.script("return document.querySelectorAll('svg.chart[role=img] title').length").await?;
            if charts != json!(2) {
                return Err(format!("{charts} titled charts"));
            }
            if std::env::var_os("EPRIME_SCREENSHOTS").is_some() {
                for (i, chart) in
                    pages.client.find_all(Locator::Css("svg.chart")).await.map_err(fail)?.iter().enumerate()
                {
                    if let Ok(png) = chart.screenshot().await {
                        let _ = std::fs::write(screenshot_dir().join(format!("chart-{i}.png")), png);
                    }
                }
            }
            pages.click("li[data-element] a").await?;
            let kind = pages.text("main p.muted").await?;
            if !kind.contains("Partnership goal") {
                return Err(format!("the goal page says `{kind}`"));
            }
            // The programme cycles side by side.
            pages.open("/partnerships/JPN").await?;
            pages.click("a[href^='/compare?']").await?;
            let carried = pages.text("#carried-heading").await?;
            if carried != "Carried over" {
                return Err(format!("the comparison page shows `{carried}`"));
            }
            // At phone width nothing overflows sideways.
            pages.client.set_window_size(360, 800).await.map_err(fail)?;
            pages.open("/partnerships/JPN").await?;
            let overflow = pages
                .script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
                .await?;
            if overflow.as_i64().unwrap_or(1) > 0 {
                return Err(format!("the page is {overflow} px wider than a 360 px phone"));
            }
            pages.open("/activities/new").await?;
            let overflow = pages
                .script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
                .await?;
            if overflow.as_i64().unwrap_or(1) > 0 {
                return Err(format!("the activity form is {overflow} px wider than a 360 px phone"));
            }
            pages.client.set_window_size(1280, 1000).await.map_err(fail)?;
            pages.sign_out().await?;
            // A partner administrator manages its own nation's accounts.
            pages.sign_in("jpn.admin").await?;
            pages.click("nav a[href='/admin/accounts']").await?;
            let accounts = pages.text("#accounts-heading").await?;
            if !accounts.ends_with("accounts") {
                return Err(format!("the accounts page shows `{accounts}`"));
            }
            pages.sign_out().await
        }
        .await;
        drop(server);
        (pages, result)
    })
    .await;
}

#[tokio::test]
async fn creating_an_activity_and_moving_it_through_its_lifecycle() {
    run("lifecycle", |server, mut pages| async move {
        let result = async {
            pages.sign_in("jpn.officer").await?;
            pages.open("/partnerships/JPN").await?;
            pages.click("a.button[href^='/activities/new']").await?;
            pages.fill("#title", "Maritime security staff talks").await?;
            let kind = pages.client.find(Locator::Css("#kind")).await.map_err(fail)?;
            kind.select_by_value("consultation").await.map_err(fail)?;
            pages
                .script("document.getElementById('starts_on').value = '2026-11-10'; document.getElementById('ends_on').value = '2026-11-11'; return true;")
                .await?;
            pages.fill("#location", "Tokyo").await?;
            pages.click("input[name=supports]").await?;
            pages.click("form.stack button[type=submit]").await?;
            pages.text(".notice.ok").await?;
            let status = pages.text("#activity-status [data-field=status]").await?;
            if status != "Proposed" {
                return Err(format!("a new activity is `{status}`"));
            }
            let path = pages.client.current_url().await.map_err(fail)?.path().to_owned();
            pages.sign_out().await?;
            pages.sign_in("nato.staff").await?;
            pages.open(&path).await?;
            pages.click("#activity-actions form:has(input[value=approved]) button").await?;
            pages.until_text("#activity-status [data-field=status]", "Approved", Duration::from_secs(5)).await?;
            pages.click("#activity-actions form:has(input[value=scheduled]) button").await?;
            pages.until_text("#activity-status [data-field=status]", "Scheduled", Duration::from_secs(5)).await?;
            let history = pages.text("#activity-history").await?;
            if !history.contains("moved it to approved") || !history.contains("moved it to scheduled") {
                return Err(format!("the history says: {history}"));
            }
            // Postponing needs a reason, shown beside its field when missing.
            pages.click("#activity-actions form:has(input[value=postponed]) button").await?;
            let error = pages.text(".action-card .error").await?;
            if !error.contains("Say why") {
                return Err(format!("the reason error says `{error}`"));
            }
            Ok(())
        }
        .await;
        drop(server);
        (pages, result)
    })
    .await;
}

#[tokio::test]
async fn a_change_made_elsewhere_appears_without_reloading() {
    run("live", |server, mut pages| async move {
        let result = async {
            let stream = server.client.get(format!("{}/api/v1/stream", server.url)).send().await.map_err(fail)?;
            if stream.status() == reqwest::StatusCode::NOT_FOUND {
                let _ = writeln!(
                    std::io::stderr(),
                    "skipping the live-update browser test: GET /api/v1/stream does not exist yet"
                );
                return Ok(());
            }
            drop(stream);
            let token = server.api_token("jpn.officer").await;
            let activity = server
                .api_create(&token, json!({"partnership": "JPN", "title": "Live staff talks", "kind": "meeting"}))
                .await;
            let id = activity["id"].as_str().unwrap_or_default().to_owned();
            pages.sign_in("jpn.officer").await?;
            pages.open(&format!("/activities/{id}")).await?;
            pages.script("window.__notReloaded = true; return true;").await?;
            let connected = Instant::now();
            while pages.script("return document.getElementById('main').dataset.liveConnected || ''").await?
                != json!("true")
            {
                if connected.elapsed() > Duration::from_secs(5) {
                    return Err("the page did not connect to the change stream".to_owned());
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            // A second session — NATO staff, signed in in another browser — approves it with the
            // page's own form.
            let mut desk = pages.another("desk").await;
            let approved = async {
                desk.sign_in("nato.staff").await?;
                desk.open(&format!("/activities/{id}")).await?;
                desk.click("#activity-actions form:has(input[value=approved]) button").await?;
                // The desk's own page after its post: the approval is committed by then.
                desk.until_text("#activity-status [data-field=status]", "Approved", Duration::from_secs(5)).await
            }
            .await;
            let _ = desk.client.close().await;
            approved.map_err(|e| format!("the second session: {e}"))?;
            let took =
                pages.until_text("#activity-status [data-field=status]", "Approved", Duration::from_secs(1)).await?;
            pages.shot().await;
            if pages.script("return window.__notReloaded === true").await? != json!(true) {
                return Err("the page was reloaded".to_owned());
            }
            eprintln!("the approval appeared on the open page after {took:?}");
            // A comment posted elsewhere (a script, through the API) joins the discussion.
            let staff = server.api_token("nato.staff").await;
            let commented = server
                .client
                .post(format!("{}/api/v1/activities/{id}/comments", server.url))
                .bearer_auth(&staff)
                .json(&json!({"body": "Approved; please schedule it."}))
                .send()
                .await
                .map_err(fail)?;
            if !commented.status().is_success() {
                return Err(format!("the API refused the comment: {}", commented.status()));
            }
            pages.until_text("#comments", "please schedule it", Duration::from_secs(1)).await?;
            if pages.script("return window.__notReloaded === true").await? != json!(true) {
                return Err("the page was reloaded".to_owned());
            }
            // The home page's recent changes take new entries live too.
            pages.open("/").await?;
            pages.script("window.__notReloaded = true; return true;").await?;
            tokio::time::sleep(Duration::from_millis(300)).await;
            let body = json!({"partnership": "JPN", "title": "Freshly proposed exchange", "kind": "exchange"});
            server.api_create(&token, body).await;
            pages.until_text("#recent-list", "Freshly proposed exchange", Duration::from_secs(1)).await?;
            pages.shot().await;
            Ok(())
        }
        .await;
        drop(server);
        (pages, result)
    })
    .await;
}

#[tokio::test]
async fn a_partner_officer_finds_an_event_and_nominates_a_participant() {
    run("menu", |server, mut pages| async move {
        let title = "Heliotrope maritime awareness course";
        server.api_menu_event(title, &["JPN"], "published").await;
        let result = async {
            pages.sign_in("jpn.officer").await?;
            pages.click("nav a[href='/menu']").await?;
            pages.until_text("h1", "Partnership Cooperation Menu", Duration::from_secs(5)).await?;
            pages.fill("#menu-q", "heliotrope").await?;
            pages.click(".menu-search .inline-form button[type=submit]").await?;
            // Wait for the answer page: until it arrives, the unfiltered menu's rows are still there.
            pages.until_text("table.menu-results tbody tr:first-child a", title, Duration::from_secs(5)).await?;
            pages.click("table.menu-results tbody tr:first-child a").await?;
            pages.until_text("h1", title, Duration::from_secs(5)).await?;
            pages.fill("#nominee-name", "Kobayashi Ren").await?;
            pages.fill("#nominee-rank", "Maj").await?;
            pages.fill("#nominee-organisation", "Japan Joint Staff").await?;
            pages.fill("#nominee-email", "kobayashi@mod.example.jp").await?;
            pages.click("form[action$='/nominations'] button[type=submit]").await?;
            pages.until_text("table.nominations", "Kobayashi Ren", Duration::from_secs(5)).await?;
            pages.until_text("main .notice.ok", "nominated", Duration::from_secs(2)).await?;
            // The menu fits a phone: nothing overflows sideways at 360 px.
            pages.client.set_window_size(360, 800).await.map_err(fail)?;
            for path in ["/menu", "/menu?q=heliotrope"] {
                pages.open(path).await?;
                let overflow = pages
                    .script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
                    .await?;
                if overflow.as_i64().unwrap_or(1) > 0 {
                    return Err(format!("{path} is {overflow} px wider than a 360 px phone"));
                }
            }
            Ok(())
        }
        .await;
        (pages, result)
    })
    .await;
}

#[tokio::test]
async fn the_provider_decides_and_records_attendance_and_the_partner_gives_feedback() {
    run("event", |server, mut pages| async move {
        let title = "Marigold staff officers course";
        let id = server.api_menu_event(title, &["JPN"], "published").await;
        // Japan's nomination, made through the form over HTTP (the browser part is `menu`).
        let jpn = server.sign_in("jpn.officer").await;
        let nominee = [("name", "Ito Naomi"), ("organisation", "Japan Joint Staff"), ("email", "ito@mod.example.jp")];
        server.submit_ok(&format!("/menu/{id}/nominations"), &jpn, &nominee).await;
        let path = format!("/menu/{id}");
        let result = async {
            // The provider decides, closes nominations, records attendance, and the event is held.
            pages.sign_in("ndc.provider").await?;
            pages.open(&path).await?;
            pages.click("tr[data-nomination] form:has(input[value=accept]) button").await?;
            pages.until_text("tr[data-nomination] .badge", "accepted", Duration::from_secs(5)).await?;
            pages.until_text("main .notice.ok", "decision was recorded", Duration::from_secs(2)).await?;
            pages.click("#event-actions form:has(input[value=closed]) button").await?;
            pages.until_text("[data-field=status]", "closed", Duration::from_secs(5)).await?;
            pages.click("tr[data-nomination] form:has(input[value=attended]) button").await?;
            pages.until_text("td[data-attendance]", "attended", Duration::from_secs(5)).await?;
            pages.click("#event-actions form:has(input[value=held]) button").await?;
            pages.until_text("[data-field=status]", "held", Duration::from_secs(5)).await?;
            pages.sign_out().await?;

            // Japan gives the participant's feedback with the form's labelled ratings.
            pages.sign_in("jpn.officer").await?;
            pages.open(&path).await?;
            for (name, value) in [("overall", "4"), ("content", "5"), ("organisation", "4"), ("relevance", "5")] {
                let select = pages
                    .client
                    .find(Locator::Css(&format!("form[id^=feedback-] select[name={name}]")))
                    .await
                    .map_err(|e| format!("no `{name}` rating: {e}"))?;
                select.select_by_value(value).await.map_err(fail)?;
            }
            pages.fill("form[id^=feedback-] textarea[name=comments]", "Clear and practical.").await?;
            pages.click("form[id^=feedback-] button[type=submit]").await?;
            pages.until_text("main .notice.ok", "feedback was recorded", Duration::from_secs(5)).await?;
            pages.until_text("td[data-attendance]", "overall 4/5", Duration::from_secs(2)).await?;
            pages.sign_out().await?;

            // The provider files the after-action report; the event is reported.
            pages.sign_in("ndc.provider").await?;
            pages.open(&path).await?;
            pages.fill("#report-summary", "Held as planned; all objectives met.").await?;
            pages.click("form[action$='/report'] button[type=submit]").await?;
            pages.until_text("[data-field=status]", "reported", Duration::from_secs(5)).await?;
            pages.until_text("#report", "all objectives met", Duration::from_secs(2)).await?;
            pages.fits_a_phone(&path).await?;
            pages.fits_a_phone("/").await
        }
        .await;
        drop(server);
        (pages, result)
    })
    .await;
}

#[tokio::test]
async fn a_watched_change_reaches_the_inbox_and_is_marked_read() {
    run("inbox", |server, mut pages| async move {
        let token = server.api_token("jpn.officer").await;
        let title = "Lantern staff talks";
        let activity =
            server.api_create(&token, json!({"partnership": "JPN", "title": title, "kind": "meeting"})).await;
        let id = activity["id"].as_str().unwrap_or_default().to_owned();
        let result = async {
            pages.sign_in("jpn.officer").await?;
            pages.open(&format!("/activities/{id}")).await?;
            pages.click(".watch-form button").await?;
            pages.until_text(".watch-form button", "Stop watching", Duration::from_secs(5)).await?;
            // Someone else (NATO staff, through the API) approves the watched activity.
            let staff = server.api_token("nato.staff").await;
            let approved = server
                .client
                .post(format!("{}/api/v1/activities/{id}/transitions", server.url))
                .bearer_auth(&staff)
                .json(&json!({"to": "approved"}))
                .send()
                .await
                .map_err(fail)?;
            if !approved.status().is_success() {
                return Err(format!("the API refused the approval: {}", approved.status()));
            }
            server.until_unread("jpn.officer", 1).await;
            pages.open("/").await?;
            pages.until_text("#inbox-link .badge", "1", Duration::from_secs(2)).await?;
            pages.click("#inbox-link").await?;
            pages.until_text("#notifications li.unread", title, Duration::from_secs(5)).await?;
            pages.click("#notifications li.unread form button").await?;
            pages.until_text("main .notice.ok", "Marked as read", Duration::from_secs(5)).await?;
            let link = pages.text("#inbox-link").await?;
            if link.trim() != "Inbox" {
                return Err(format!("the inbox link still says `{link}`"));
            }
            // The watch list has it; stopping from there empties it.
            pages.click("nav a[href='/watches']").await?;
            pages.until_text("table.watches", title, Duration::from_secs(5)).await?;
            pages.click("table.watches form button").await?;
            pages.until_text("main .notice.ok", "no longer watch", Duration::from_secs(5)).await?;
            pages.fits_a_phone("/inbox").await
        }
        .await;
        drop(server);
        (pages, result)
    })
    .await;
}
