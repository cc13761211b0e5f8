//! The pages over real HTTP: rendering, sign-in and out, CSRF, escaping, confidentiality between
//! partners, form errors beside their fields, the activity lifecycle, charts, comparison, accounts.

mod common;

use common::{TestServer, hidden, location};
use reqwest::StatusCode;
use serde_json::json;

fn assert_security_headers(response: &reqwest::Response) {
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let csp = header("content-security-policy");
    assert!(csp.contains("default-src 'self'") && csp.contains("script-src 'self'"), "CSP: {csp}");
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("form-action 'self'"), "CSP: {csp}");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert!(header("content-type").starts_with("text/html"));
}

#[tokio::test]
async fn the_public_sees_published_pages_and_a_sign_in_link() {
    let server = TestServer::start().await;
    let response = server.get("/", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_security_headers(&response);
    let home = response.text().await.unwrap();
    assert!(home.contains("href=\"/login\""), "a sign-in link");
    assert!(home.contains("class=\"skip\" href=\"#main\""), "a skip link");
    // Japan's partnership record is released to Japan only: the public gets the 404 page.
    let (status, body) = server.page("/partnerships/JPN", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("Not found"));
    // The stylesheet and script are served with long cache lifetimes.
    let css = server.get("/static/app.css", None).await;
    assert_eq!(css.status(), StatusCode::OK);
    assert!(css.headers()["cache-control"].to_str().unwrap().contains("max-age=31536000"));
    assert!(
        server.get("/static/live.js", None).await.headers()["content-type"].to_str().unwrap().contains("javascript")
    );
    assert_eq!(server.get("/static/nothing.css", None).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn signing_in_and_out_goes_through_the_form() {
    let server = TestServer::start().await;
    // A wrong password is refused on the form itself.
    let form = server.get("/login", None).await;
    let cookie = common::set_cookie(&form, "eprime_login").unwrap();
    let token = hidden(&form.text().await.unwrap(), "csrf_token").unwrap();
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("username", "jpn.officer"), ("password", "wrong-password"), ("csrf_token", &token)])
        .finish();
    let refused = server
        .client
        .post(format!("{}/login", server.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", format!("eprime_login={cookie}"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(refused.text().await.unwrap().contains("Unknown username or wrong password"));
    // A sign-in form without its token (login CSRF) is refused.
    let forged = server.post_form("/login", None, &[("username", "jpn.officer"), ("password", "demo-password")]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    let jpn = server.sign_in("jpn.officer").await;
    let (status, home) = server.page("/", Some(&jpn)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(home.contains("Signed in as <strong>jpn.officer</strong>"));
    assert!(home.contains("Japan"), "the partnership card");
    // Sign-out needs the CSRF token too.
    let forged = server.post_form("/logout", Some(&jpn), &[("csrf_token", "nope")]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let out = server.post_form("/logout", Some(&jpn), &[("csrf_token", &jpn.csrf)]).await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(common::set_cookie(&out, "eprime_session").as_deref(), Some(""));
    // The old cookie no longer signs anyone in.
    let (_, home) = server.page("/", Some(&jpn)).await;
    assert!(home.contains("href=\"/login\"") && !home.contains("Signed in as"));
}

#[tokio::test]
async fn a_login_redirect_never_leaves_the_site() {
    let server = TestServer::start().await;
    let (_, page) = server.page("/login?next=//evil.example/x", None).await;
    assert_eq!(hidden(&page, "next").as_deref(), Some("/"));
    let anonymous_post = server.post_form("/activities/new", None, &[("title", "x")]).await;
    assert_eq!(anonymous_post.status(), StatusCode::SEE_OTHER);
    assert!(location(&anonymous_post).starts_with("/login?next="));
}

#[tokio::test]
async fn the_japan_programme_shows_its_timeline_tree_and_charts() {
    let server = TestServer::start().await;
    let jpn = server.sign_in("jpn.officer").await;
    let (status, page) = server.page("/partnerships/JPN", Some(&jpn)).await;
    assert_eq!(status, StatusCode::OK);
    for text in ["JPD", "IPCP", "ITPP", "Strategic objectives", "Priority issues and partnership goals", "New activity"]
    {
        assert!(page.contains(text), "the partnership page shows {text}");
    }
    // Documents in time order: the declaration, then the IPCP, then the ITPP.
    let (jpd, ipcp, itpp) = (page.find(">JPD<").unwrap(), page.find(">IPCP<").unwrap(), page.find(">ITPP<").unwrap());
    assert!(jpd < ipcp && ipcp < itpp, "timeline order");
    // Sixteen ITPP goals, each with a count or highlighted as without activity.
    let goals = page.matches("data-element=").count();
    assert_eq!(goals, 16, "the ITPP's sixteen partnership goals");
    assert!(page.contains("No activity yet") || page.contains("every one has at least one activity"));
    // Charts drawn on the server, with a text alternative and a table beside them.
    assert_eq!(page.matches("<svg").count(), 2, "two charts");
    assert!(page.contains("role=\"img\"") && page.contains("<title id=\"goals-chart-title\">"));
    assert!(page.contains("<th scope=\"col\" class=\"num\">Completed</th>"));
    let svg = server.get("/partnerships/JPN/charts/goals.svg", Some(&jpn)).await;
    assert_eq!(svg.status(), StatusCode::OK);
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    // A goal page and the document page.
    let goal = page.split("data-element=\"").nth(1).unwrap().split('"').next().unwrap();
    let (status, goal_page) = server.page(&format!("/goals/{goal}"), Some(&jpn)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(goal_page.contains("Partnership goal"));
    let doc = page.split("href=\"/documents/").nth(1).unwrap().split('"').next().unwrap();
    let (status, doc_page) = server.page(&format!("/documents/{doc}"), Some(&jpn)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc_page.contains("Approvals"));
}

#[tokio::test]
async fn programme_cycles_can_be_compared() {
    let server = TestServer::start().await;
    let staff = server.sign_in("nato.staff").await;
    let (_, page) = server.page("/partnerships/JPN", Some(&staff)).await;
    let link = page.split("href=\"/compare?").nth(1).expect("a comparison link").split('"').next().unwrap();
    let (status, compare) = server.page(&format!("/compare?{}", link.replace("&amp;", "&")), Some(&staff)).await;
    assert_eq!(status, StatusCode::OK);
    for text in ["Carried over", "New in", "Dropped since", "Shared terms"] {
        assert!(compare.contains(text), "the comparison shows {text}");
    }
    let (status, _) = server.page("/compare?from=nope&to=nope", Some(&staff)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, chooser) = server.page("/compare", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(chooser.contains("Compare programme cycles"));
}

#[tokio::test]
async fn titles_are_shown_as_text_never_as_markup() {
    let server = TestServer::start().await;
    let token = server.api_token("jpn.officer").await;
    let title = "<script>alert('x')</script> & <b>bold</b>";
    let activity = server
        .api_create(
            &token,
            json!({"partnership": "JPN", "title": title, "kind": "meeting", "location": "\"><img src=x>"}),
        )
        .await;
    let jpn = server.sign_in("jpn.officer").await;
    for path in
        [format!("/activities/{}", activity["id"].as_str().unwrap()), "/partnerships/JPN".to_owned(), "/".to_owned()]
    {
        let (status, page) = server.page(&path, Some(&jpn)).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(!page.contains("<script>alert"), "{path} must escape the title");
        assert!(!page.contains("<b>bold</b>") && !page.contains("\"><img src=x>"), "{path} must escape markup");
        assert!(page.contains("&lt;script&gt;") || page.contains("&#60;script&#62;"), "{path} shows the title as text");
    }
}

#[tokio::test]
async fn a_partner_never_sees_another_partners_records_on_any_page() {
    let server = TestServer::start().await;
    let token = server.api_token("jpn.officer").await;
    let goals = server.api_get(Some(&token), "/api/v1/documents?partnership=JPN&kind=ITPP").await;
    let itpp = goals.as_array().unwrap()[0]["id"].as_str().unwrap().to_owned();
    let itpp = server.api_get(Some(&token), &format!("/api/v1/documents/{itpp}")).await;
    let goal = itpp["partnership_goals"][0]["id"].as_str().unwrap().to_owned();
    let secret = "Confidential staff talks on maritime picture";
    let activity = server
        .api_create(&token, json!({"partnership": "JPN", "title": secret, "kind": "meeting", "supports": [goal]}))
        .await;
    let id = activity["id"].as_str().unwrap().to_owned();

    let kor = server.sign_in("kor.officer").await;
    for path in [format!("/activities/{id}"), format!("/activities/{id}/edit"), "/partnerships/JPN".to_owned()] {
        let (status, page) = server.page(&path, Some(&kor)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path} must look absent to Korea");
        assert!(!page.contains(secret));
    }
    for path in ["/".to_owned(), format!("/goals/{goal}"), "/partnerships/KOR".to_owned(), "/compare".to_owned()] {
        let (status, page) = server.page(&path, Some(&kor)).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(!page.contains(secret), "{path} must not show Japan's activity to Korea");
    }
    // Writing to it looks absent too, and changes nothing.
    let post = server
        .post_form(
            &format!("/activities/{id}/status"),
            Some(&kor),
            &[("csrf_token", &kor.csrf), ("to", "cancelled"), ("reason", "x")],
        )
        .await;
    assert_eq!(post.status(), StatusCode::NOT_FOUND);
    let post = server
        .post_form(&format!("/activities/{id}/edit"), Some(&kor), &[("csrf_token", &kor.csrf), ("title", "mine now")])
        .await;
    assert_eq!(post.status(), StatusCode::NOT_FOUND);
    // The public sees nothing of it either; Japan and NATO do.
    assert_eq!(server.page(&format!("/activities/{id}"), None).await.0, StatusCode::NOT_FOUND);
    let staff = server.sign_in("nato.staff").await;
    assert!(server.page(&format!("/activities/{id}"), Some(&staff)).await.1.contains(secret));
    assert!(
        server.page(&format!("/goals/{goal}"), Some(&server.sign_in("jpn.officer").await)).await.1.contains(secret)
    );
}

#[tokio::test]
async fn form_errors_appear_next_to_their_fields_and_nothing_is_saved() {
    let server = TestServer::start().await;
    let jpn = server.sign_in("jpn.officer").await;
    let (status, form) = server.page("/activities/new", Some(&jpn)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("<label for=\"title\">"), "labelled fields");
    let response = server
        .post_form(
            "/activities/new",
            Some(&jpn),
            &[
                ("csrf_token", &jpn.csrf),
                ("partnership", "JPN"),
                ("title", "   "),
                ("kind", "meeting"),
                ("starts_on", "2026-12-02"),
                ("ends_on", "2026-12-01"),
                ("participants", "JPN, ?"),
                ("marking", "NATO UNCLASSIFIED"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    for field in ["title", "ends_on", "participants"] {
        assert!(page.contains(&format!("id=\"{field}-error\"")), "an error beside {field}");
        assert!(page.contains(&format!("aria-describedby=\"{field}-error\"")), "{field} points at its error");
    }
    assert!(page.contains("value=\"2026-12-02\""), "what was typed is kept");
    let before = server.page("/partnerships/JPN", Some(&jpn)).await.1;
    assert!(!before.contains("2 Dec 2026"));
}

#[tokio::test]
async fn state_changing_forms_without_the_csrf_token_are_refused() {
    let server = TestServer::start().await;
    let jpn = server.sign_in("jpn.officer").await;
    let fields = [("partnership", "JPN"), ("title", "Forged talks"), ("kind", "meeting")];
    let missing = server.post_form("/activities/new", Some(&jpn), &fields).await;
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
    assert!(missing.text().await.unwrap().contains("security token"));
    let mut wrong = fields.to_vec();
    wrong.push(("csrf_token", "0123456789abcdef0123456789abcdef"));
    assert_eq!(server.post_form("/activities/new", Some(&jpn), &wrong).await.status(), StatusCode::FORBIDDEN);
    // Another user's token does not work either.
    let staff = server.sign_in("nato.staff").await;
    let mut theirs = fields.to_vec();
    theirs.push(("csrf_token", &staff.csrf));
    assert_eq!(server.post_form("/activities/new", Some(&jpn), &theirs).await.status(), StatusCode::FORBIDDEN);
    let (_, page) = server.page("/partnerships/JPN", Some(&jpn)).await;
    assert!(!page.contains("Forged talks"), "nothing was created");
}

#[tokio::test]
async fn an_activity_is_created_edited_and_moved_through_its_lifecycle_with_forms() {
    let server = TestServer::start().await;
    let jpn = server.sign_in("jpn.officer").await;
    let created = server
        .post_form(
            "/activities/new",
            Some(&jpn),
            &[
                ("csrf_token", &jpn.csrf),
                ("partnership", "JPN"),
                ("title", "Cyber defence staff talks"),
                ("kind", "consultation"),
                ("starts_on", "2026-11-10"),
                ("ends_on", "2026-11-11"),
                ("location", "Tokyo"),
                ("marking", "NATO UNCLASSIFIED"),
            ],
        )
        .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let path = location(&created);
    assert!(path.starts_with("/activities/") && path.ends_with("?notice=created"), "{path}");
    let id = path.trim_start_matches("/activities/").split('?').next().unwrap().to_owned();
    let (_, page) = server.page(&path, Some(&jpn)).await;
    assert!(page.contains("The activity was created"));
    assert!(page.contains("status-proposed"));
    // Approval is NATO's: Japan sees why it cannot approve, and can only cancel.
    assert!(!page.contains("value=\"approved\""));
    assert!(page.contains("only NATO staff approve"));
    assert!(page.contains("value=\"cancelled\""));

    // Editing with the version read; a second edit from the same (now stale) form is refused.
    let (_, edit) = server.page(&format!("/activities/{id}/edit"), Some(&jpn)).await;
    let version = hidden(&edit, "version").unwrap();
    let edit_fields = |title: &'static str| {
        vec![
            ("csrf_token", jpn.csrf.clone()),
            ("version", version.clone()),
            ("title", title.to_owned()),
            ("kind", "consultation".to_owned()),
            ("starts_on", "2026-11-10".to_owned()),
            ("ends_on", "2026-11-12".to_owned()),
            ("location", "Tokyo".to_owned()),
            ("marking", "NATO UNCLASSIFIED".to_owned()),
        ]
    };
    let first = edit_fields("Cyber defence staff talks (extended)");
    let saved = server.post_form(&format!("/activities/{id}/edit"), Some(&jpn), &as_refs(&first)).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert!(location(&saved).ends_with("?notice=saved"));
    let stale = edit_fields("Someone else's idea");
    let refused = server.post_form(&format!("/activities/{id}/edit"), Some(&jpn), &as_refs(&stale)).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let refused = refused.text().await.unwrap();
    assert!(
        refused.contains("NOT saved") && refused.contains("Someone else&#39;s idea")
            || refused.contains("Someone else&#x27;s idea")
    );
    let (_, page) = server.page(&format!("/activities/{id}"), Some(&jpn)).await;
    assert!(page.contains("Cyber defence staff talks (extended)"));
    assert!(
        page.contains("diff-before") && page.contains("12 Nov 2026") || page.contains("2026-11-12"),
        "the history shows what changed"
    );

    // NATO approves through the form.
    let staff = server.sign_in("nato.staff").await;
    let (_, page) = server.page(&format!("/activities/{id}"), Some(&staff)).await;
    let version = page.split("name=\"version\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let approved = server
        .post_form(
            &format!("/activities/{id}/status"),
            Some(&staff),
            &[("csrf_token", &staff.csrf), ("to", "approved"), ("version", &version)],
        )
        .await;
    assert_eq!(approved.status(), StatusCode::SEE_OTHER);
    let (_, page) = server.page(&format!("/activities/{id}"), Some(&jpn)).await;
    assert!(page.contains("status-approved") && page.contains("moved it to approved"));
    // Postponing without a reason: the error sits beside the reason field.
    let refused = server
        .post_form(&format!("/activities/{id}/status"), Some(&jpn), &[("csrf_token", &jpn.csrf), ("to", "postponed")])
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = refused.text().await.unwrap();
    assert!(page.contains("id=\"reason-postponed-error\""));
    // A step the lifecycle does not allow is refused with a message.
    let refused = server
        .post_form(&format!("/activities/{id}/status"), Some(&jpn), &[("csrf_token", &jpn.csrf), ("to", "completed")])
        .await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let postponed = server
        .post_form(
            &format!("/activities/{id}/status"),
            Some(&jpn),
            &[("csrf_token", &jpn.csrf), ("to", "postponed"), ("reason", "Typhoon warning")],
        )
        .await;
    assert_eq!(postponed.status(), StatusCode::SEE_OTHER);
    let (_, page) = server.page(&format!("/activities/{id}"), Some(&jpn)).await;
    assert!(page.contains("status-postponed") && page.contains("Typhoon warning"));
}

#[tokio::test]
async fn administrators_manage_the_accounts_in_their_scope_only() {
    let server = TestServer::start().await;
    let admin = server.sign_in("jpn.admin").await;
    let (status, page) = server.page("/admin/accounts", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("jpn.officer") && !page.contains("kor.officer") && !page.contains("nato.staff"));
    // A weak password is refused beside the field.
    let weak = server
        .post_form(
            "/admin/accounts",
            Some(&admin),
            &[
                ("csrf_token", &admin.csrf),
                ("username", "jpn.second"),
                ("display_name", "Second officer"),
                ("role", "partner_officer"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(weak.text().await.unwrap().contains("id=\"password-error\""));
    let made = server
        .post_form(
            "/admin/accounts",
            Some(&admin),
            &[
                ("csrf_token", &admin.csrf),
                ("username", "jpn.second"),
                ("display_name", "Second officer"),
                ("role", "partner_officer"),
                ("password", "a long enough passphrase"),
            ],
        )
        .await;
    assert_eq!(made.status(), StatusCode::SEE_OTHER);
    // A partner administrator cannot grant a NATO role, nor touch another nation's account.
    let nato = server
        .post_form(
            "/admin/accounts",
            Some(&admin),
            &[
                ("csrf_token", &admin.csrf),
                ("username", "jpn.boss"),
                ("display_name", "Boss"),
                ("role", "nato_staff"),
                ("password", "a long enough passphrase"),
            ],
        )
        .await;
    assert_eq!(nato.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(nato.text().await.unwrap().contains("not bound to a partner"));
    let other = server
        .post_form("/admin/accounts/kor.officer", Some(&admin), &[("csrf_token", &admin.csrf), ("action", "disable")])
        .await;
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
    let disabled = server
        .post_form("/admin/accounts/jpn.second", Some(&admin), &[("csrf_token", &admin.csrf), ("action", "disable")])
        .await;
    assert_eq!(disabled.status(), StatusCode::SEE_OTHER);
    let (_, page) = server.page("/admin/accounts?notice=disabled", Some(&admin)).await;
    assert!(page.contains("Enable jpn.second"));
    // Officers manage no accounts.
    let officer = server.sign_in("jpn.officer").await;
    assert_eq!(server.page("/admin/accounts", Some(&officer)).await.0, StatusCode::FORBIDDEN);
}

fn as_refs<'a>(fields: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    fields.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[tokio::test]
async fn people_discuss_an_activity_on_its_page() {
    let server = TestServer::start().await;
    let token = server.api_token("jpn.officer").await;
    let activity =
        server.api_create(&token, json!({"partnership": "JPN", "title": "Talks to discuss", "kind": "meeting"})).await;
    let path = format!("/activities/{}", activity["id"].as_str().unwrap());
    let jpn = server.sign_in("jpn.officer").await;
    let empty =
        server.post_form(&format!("{path}/comments"), Some(&jpn), &[("csrf_token", &jpn.csrf), ("body", "  ")]).await;
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.text().await.unwrap().contains("id=\"comment-body-error\""));
    let forged = server.post_form(&format!("{path}/comments"), Some(&jpn), &[("body", "forged")]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let posted = server
        .post_form(
            &format!("{path}/comments"),
            Some(&jpn),
            &[("csrf_token", &jpn.csrf), ("body", "Can we meet in <Tokyo>? @nato.staff")],
        )
        .await;
    assert_eq!(posted.status(), StatusCode::SEE_OTHER);
    let staff = server.sign_in("nato.staff").await;
    let (_, page) = server.page(&path, Some(&staff)).await;
    assert!(page.contains("Can we meet in &lt;Tokyo&gt;?") || page.contains("Can we meet in &#60;Tokyo&#62;?"));
    let kor = server.sign_in("kor.officer").await;
    let post = server
        .post_form(&format!("{path}/comments"), Some(&kor), &[("csrf_token", &kor.csrf), ("body", "hello")])
        .await;
    assert_eq!(post.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_menu_lists_ranked_results_with_facet_counts_and_pages() {
    let server = TestServer::start().await;
    let jpn = server.sign_in("jpn.officer").await;
    let (status, page) = server.page("/menu", Some(&jpn)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("href=\"/menu\" aria-current=\"page\""), "Menu in the navigation");
    assert_eq!(page.matches("data-offering=").count(), 20, "a page of twenty events");
    assert!(page.contains("Showing 1–20 of"));
    assert!(page.contains("<label for=\"menu-q\">"), "a labelled search field");
    // Facet check boxes carry their counts.
    assert!(page.contains("type=\"checkbox\" name=\"area\""));
    assert!(page.contains("type=\"checkbox\" name=\"month\""));
    assert!(page.matches("data-facet-count>(").count() > 10, "facet counts");
    // The chart, drawn on the server, with a text alternative.
    assert!(page.contains("<title id=\"menu-chart-title\">"));
    let svg = server.get("/menu/charts/areas.svg", Some(&jpn)).await;
    assert_eq!(svg.status(), StatusCode::OK);
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    // Narrowing by a facet keeps its box ticked and the page links keep the filter.
    let area = page.split("name=\"area\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let (_, narrowed) = server.page(&format!("/menu?area={area}"), Some(&jpn)).await;
    assert!(narrowed.contains(&format!("name=\"area\" value=\"{area}\" checked")));
    let (_, second) = server.page("/menu?offset=20", Some(&jpn)).await;
    assert!(second.contains("Showing 21–40 of") && second.contains("rel=\"prev\""));
    // A query the index cannot read is explained beside the field, not a server error.
    let (status, bad) = server.page("/menu?q=cyber+%22defence", Some(&jpn)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(bad.contains("id=\"menu-q-error\"") && bad.contains("aria-invalid=\"true\""));
}

#[tokio::test]
async fn drafts_and_events_for_other_nations_stay_hidden() {
    let server = TestServer::start().await;
    let title = "Zebrafinch draft course";
    let draft = server.api_menu_event(title, &["JPN"], "draft").await;
    let jpn = server.sign_in("jpn.officer").await;
    let (_, found) = server.page("/menu?q=zebrafinch", Some(&jpn)).await;
    assert!(!found.contains(title), "a draft is not on a partner's menu");
    let (status, _) = server.page(&format!("/menu/{draft}"), Some(&jpn)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let staff = server.sign_in("nato.staff").await;
    let (_, found) = server.page("/menu?q=zebrafinch", Some(&staff)).await;
    assert!(found.contains(title), "NATO staff find the draft");

    let japan_only = server.api_menu_event("Japan only staff course", &["JPN"], "published").await;
    let kor = server.sign_in("kor.officer").await;
    let (status, page) = server.page(&format!("/menu/{japan_only}"), Some(&kor)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not eligible, so absent for Korea");
    assert!(!page.contains("Japan only staff course"));
    let (status, _) = server.page(&format!("/menu/{japan_only}"), Some(&jpn)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_partner_officer_nominates_through_the_form_within_its_quota() {
    let server = TestServer::start().await;
    let id = server.api_menu_event("Nomination form course", &["JPN"], "published").await;
    let jpn = server.sign_in("jpn.officer").await;
    let path = format!("/menu/{id}");
    let (status, page) = server.page(&path, Some(&jpn)).await;
    assert_eq!(status, StatusCode::OK);
    for label in ["for=\"nominee-name\"", "for=\"nominee-email\"", "for=\"nominee-clearance\""] {
        assert!(page.contains(label), "a labelled field: {label}");
    }
    assert!(page.contains(&format!("href=\"/api/v1/menu/{id}/event.ics\"")));
    let fields = |name: &'static str, email: &'static str| {
        vec![
            ("name", name),
            ("rank", "Maj"),
            ("organisation", "Japan Joint Staff"),
            ("email", email),
            ("clearance", "none"),
            ("language_level", "3"),
        ]
    };
    let post = format!("{path}/nominations");
    // Without the CSRF token nothing happens.
    let forged = server.post_form(&post, Some(&jpn), &fields("Forged Person", "forged@mod.example.jp")).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    // A field error is shown beside its field.
    let mut bad = fields("", "not-an-address");
    bad.push(("csrf_token", &jpn.csrf));
    let refused = server.post_form(&post, Some(&jpn), &bad).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = refused.text().await.unwrap();
    assert!(body.contains("id=\"nominee-email-error\"") && body.contains("id=\"nominee-name-error\""));
    // A good nomination: 303 back to the event, where it is listed.
    let mut good = fields("Kobayashi Ren", "kobayashi@mod.example.jp");
    good.push(("csrf_token", &jpn.csrf));
    let done = server.post_form(&post, Some(&jpn), &good).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert!(location(&done).starts_with(&path));
    let (_, page) = server.page(&path, Some(&jpn)).await;
    assert!(page.contains("Kobayashi Ren") && page.contains("nomination-nominated"));
    assert!(!page.contains("Forged Person"));
    // The quota is one per nation: a second is refused, with the reason at the top.
    let mut second = fields("Mori Aya", "mori@mod.example.jp");
    second.push(("csrf_token", &jpn.csrf));
    let over = server.post_form(&post, Some(&jpn), &second).await;
    assert_eq!(over.status(), StatusCode::CONFLICT);
    let body = over.text().await.unwrap();
    assert!(body.contains("role=\"alert\"") && body.contains("quota"), "{body}");
    assert!(body.contains("value=\"Mori Aya\""), "what was typed is kept");

    // NDC (the provider) decides; Japan sees the outcome.
    let ndc = server.sign_in("ndc.provider").await;
    let (_, page) = server.page(&path, Some(&ndc)).await;
    let nomination = page.split("data-nomination=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let version = hidden(page.split(&format!("data-nomination=\"{nomination}\"")).nth(1).unwrap(), "version").unwrap();
    let decided = server
        .post_form(
            &format!("/menu/nominations/{nomination}/decision"),
            Some(&ndc),
            &[("csrf_token", &ndc.csrf), ("decision", "accept"), ("version", &version)],
        )
        .await;
    assert_eq!(decided.status(), StatusCode::SEE_OTHER);
    let decision = format!("/menu/nominations/{nomination}/decision");
    let forged = server.post_form(&decision, Some(&ndc), &[("decision", "reject"), ("reason", "x")]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN, "a decision without the CSRF token");
    let unexplained =
        server.post_form(&decision, Some(&ndc), &[("csrf_token", &ndc.csrf), ("decision", "reject")]).await;
    assert_eq!(unexplained.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unexplained.text().await.unwrap().contains("a rejection needs a `reason`"));
    // Japan may not decide on its own nomination, even by posting the form.
    let own = server
        .post_form(&decision, Some(&jpn), &[("csrf_token", &jpn.csrf), ("decision", "reject"), ("reason", "x")])
        .await;
    assert_eq!(own.status(), StatusCode::FORBIDDEN);
    let (_, page) = server.page(&path, Some(&jpn)).await;
    assert!(page.contains("nomination-accepted") && page.contains("1 of 10 taken"));
    assert!(!page.contains("/decision\""), "Japan does not decide");
}

#[tokio::test]
async fn a_menu_event_is_discussed_on_its_page_each_partner_apart() {
    let server = TestServer::start().await;
    let id = server.api_menu_event("Discussed staff course", &["JPN", "KOR"], "published").await;
    let path = format!("/menu/{id}");
    let post = format!("{path}/comments");
    let jpn = server.sign_in("jpn.officer").await;
    let (status, page) = server.page(&path, Some(&jpn)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("id=\"discussion-heading\"") && page.contains("No one has commented yet."));
    assert!(page.contains("<label for=\"comment-body\">") && page.contains("seen by NATO, JPN and NDC"), "{page}");
    assert!(page.contains(&format!("action=\"{post}\"")));

    let forged = server.post_form(&post, Some(&jpn), &[("body", "forged")]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let empty = server.post_form(&post, Some(&jpn), &[("csrf_token", &jpn.csrf), ("body", "  ")]).await;
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = empty.text().await.unwrap();
    assert!(body.contains("id=\"comment-body-error\"") && body.contains("aria-invalid=\"true\""));
    let posted = server
        .post_form(
            &post,
            Some(&jpn),
            &[("csrf_token", &jpn.csrf), ("body", "Can two of us come to <Rome>? @ndc.provider")],
        )
        .await;
    assert_eq!(posted.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&posted), format!("{path}?notice=comment#discussion"));
    let (_, page) = server.page(&format!("{path}?notice=comment"), Some(&jpn)).await;
    assert!(page.contains("Your comment was posted.") && page.contains("data-comment"));

    // The provider reads Japan's words (escaped); Korea, also invited, does not.
    let ndc = server.sign_in("ndc.provider").await;
    let (_, page) = server.page(&path, Some(&ndc)).await;
    assert!(
        page.contains("Can two of us come to &lt;Rome&gt;?") || page.contains("Can two of us come to &#60;Rome&#62;?")
    );
    assert!(!page.contains("<Rome>"), "never as markup");
    let kor = server.sign_in("kor.officer").await;
    let (status, page) = server.page(&path, Some(&kor)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("Can two of us come") && page.contains("No one has commented yet."));
    let korean =
        server.post_form(&post, Some(&kor), &[("csrf_token", &kor.csrf), ("body", "Korea asks separately.")]).await;
    assert_eq!(korean.status(), StatusCode::SEE_OTHER);
    let (_, page) = server.page(&path, Some(&jpn)).await;
    assert!(!page.contains("Korea asks separately."), "and Korea's words stay Korea's");
    assert_eq!(page.matches("data-comment").count(), 1);

    // An event a partner may not see cannot be discussed by it.
    let japan_only = server.api_menu_event("Japan only discussed course", &["JPN"], "published").await;
    let hidden = server
        .post_form(&format!("/menu/{japan_only}/comments"), Some(&kor), &[("csrf_token", &kor.csrf), ("body", "hi")])
        .await;
    assert_eq!(hidden.status(), StatusCode::NOT_FOUND);
    let (_, public) = server.page(&path, None).await;
    assert!(!public.contains("Can two of us come"), "the public sees no event, so no discussion");
}
