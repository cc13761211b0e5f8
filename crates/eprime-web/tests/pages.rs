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
    server
        .submit_refused(
            &format!("/activities/{id}/status"),
            &kor,
            &[("to", "cancelled"), ("reason", "x")],
            StatusCode::NOT_FOUND,
        )
        .await;
    server
        .submit_refused(&format!("/activities/{id}/edit"), &kor, &[("title", "mine now")], StatusCode::NOT_FOUND)
        .await;
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
    let page = server
        .submit_refused(
            "/activities/new",
            &jpn,
            &[
                ("partnership", "JPN"),
                ("title", "   "),
                ("kind", "meeting"),
                ("starts_on", "2026-12-02"),
                ("ends_on", "2026-12-01"),
                ("participants", "JPN, ?"),
                ("marking", "NATO UNCLASSIFIED"),
            ],
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
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
        .submit_ok(
            "/activities/new",
            &jpn,
            &[
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
    let path = created;
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
    server.submit_ok(&format!("/activities/{id}/status"), &staff, &[("to", "approved"), ("version", &version)]).await;
    let (_, page) = server.page(&format!("/activities/{id}"), Some(&jpn)).await;
    assert!(page.contains("status-approved") && page.contains("moved it to approved"));
    // Postponing without a reason: the error sits beside the reason field.
    let page = server
        .submit_refused(
            &format!("/activities/{id}/status"),
            &jpn,
            &[("to", "postponed")],
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert!(page.contains("id=\"reason-postponed-error\""));
    // A step the lifecycle does not allow is refused with a message.
    let refused = server
        .submit_refused(&format!("/activities/{id}/status"), &jpn, &[("to", "completed")], StatusCode::CONFLICT)
        .await;
    assert!(refused.contains("The status was not changed"), "{refused}");
    server
        .submit_ok(&format!("/activities/{id}/status"), &jpn, &[("to", "postponed"), ("reason", "Typhoon warning")])
        .await;
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
        .submit_refused(
            "/admin/accounts",
            &admin,
            &[
                ("username", "jpn.second"),
                ("display_name", "Second officer"),
                ("role", "partner_officer"),
                ("password", "short"),
            ],
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert!(weak.contains("id=\"password-error\""));
    server
        .submit_ok(
            "/admin/accounts",
            &admin,
            &[
                ("username", "jpn.second"),
                ("display_name", "Second officer"),
                ("role", "partner_officer"),
                ("password", "a long enough passphrase"),
            ],
        )
        .await;
    // A partner administrator cannot grant a NATO role, nor touch another nation's account.
    let nato = server
        .submit_refused(
            "/admin/accounts",
            &admin,
            &[
                ("username", "jpn.boss"),
                ("display_name", "Boss"),
                ("role", "nato_staff"),
                ("password", "a long enough passphrase"),
            ],
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert!(nato.contains("not bound to a partner"));
    server.submit_refused("/admin/accounts/kor.officer", &admin, &[("action", "disable")], StatusCode::NOT_FOUND).await;
    server.submit_ok("/admin/accounts/jpn.second", &admin, &[("action", "disable")]).await;
    let (_, page) = server.page("/admin/accounts?notice=disabled", Some(&admin)).await;
    assert!(page.contains("Enable jpn.second"));
    // Officers manage no accounts.
    let officer = server.sign_in("jpn.officer").await;
    assert_eq!(server.page("/admin/accounts", Some(&officer)).await.0, StatusCode::FORBIDDEN);
    // A NATO administrator creates participants' accounts, each named by the e-mail address its
    // nominations give, as in the API.
    let nato_admin = server.sign_in("nato.admin").await;
    let participant = |username: &'static str| {
        [
            ("username", username),
            ("display_name", "Sato Hanako"),
            ("role", "participant"),
            ("password", "a long enough passphrase"),
        ]
    };
    let plain = server
        .submit_refused("/admin/accounts", &nato_admin, &participant("sato"), StatusCode::UNPROCESSABLE_ENTITY)
        .await;
    assert!(plain.contains("id=\"username-error\"") && plain.contains("e-mail address"), "{plain}");
    server.submit_ok("/admin/accounts", &nato_admin, &participant("sato@mod.example.jp")).await;
    let (_, page) = server.page("/admin/accounts", Some(&nato_admin)).await;
    assert!(page.contains("sato@mod.example.jp"));
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
    let empty = server
        .submit_refused(&format!("{path}/comments"), &jpn, &[("body", "  ")], StatusCode::UNPROCESSABLE_ENTITY)
        .await;
    assert!(empty.contains("id=\"comment-body-error\""));
    let forged = server.post_form(&format!("{path}/comments"), Some(&jpn), &[("body", "forged")]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    server.submit_ok(&format!("{path}/comments"), &jpn, &[("body", "Can we meet in <Tokyo>? @nato.staff")]).await;
    let staff = server.sign_in("nato.staff").await;
    let (_, page) = server.page(&path, Some(&staff)).await;
    assert!(page.contains("Can we meet in &lt;Tokyo&gt;?") || page.contains("Can we meet in &#60;Tokyo&#62;?"));
    let kor = server.sign_in("kor.officer").await;
    server.submit_refused(&format!("{path}/comments"), &kor, &[("body", "hello")], StatusCode::NOT_FOUND).await;
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
    server
        .submit_ok(
            &format!("/menu/nominations/{nomination}/decision"),
            &ndc,
            &[("decision", "accept"), ("version", &version)],
        )
        .await;
    let decision = format!("/menu/nominations/{nomination}/decision");
    let forged = server.post_form(&decision, Some(&ndc), &[("decision", "reject"), ("reason", "x")]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN, "a decision without the CSRF token");
    let unexplained =
        server.submit_refused(&decision, &ndc, &[("decision", "reject")], StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(unexplained.contains("a rejection needs a `reason`"));
    // Japan may not decide on its own nomination, even by posting the form.
    server.submit_refused(&decision, &jpn, &[("decision", "reject"), ("reason", "x")], StatusCode::FORBIDDEN).await;
    let (_, page) = server.page(&path, Some(&jpn)).await;
    assert!(page.contains("nomination-accepted") && page.contains("1 of 10 taken"));
    assert!(!page.contains("name=\"decision\" value=\"accept\""), "Japan does not decide");
    assert!(page.contains("name=\"decision\" value=\"withdraw\""), "Japan may withdraw its nomination");
}

/// The event's present status, as stored.
async fn event_status(server: &TestServer, id: &str) -> &'static str {
    server.offering(id).await.status.as_str()
}

#[tokio::test]
async fn an_events_lifecycle_is_moved_only_by_those_allowed() {
    let server = TestServer::start().await;
    let id = server.api_menu_event("Lifecycle form course", &["JPN"], "draft").await;
    let (path, post) = (format!("/menu/{id}"), format!("/menu/{id}/status"));
    let (ndc, jpn, staff) =
        (server.sign_in("ndc.provider").await, server.sign_in("jpn.officer").await, server.sign_in("nato.staff").await);

    // The provider is offered its own step only: submitting, not approving.
    let (_, page) = server.page(&path, Some(&ndc)).await;
    assert!(page.contains(&format!("action=\"{post}\"")) && page.contains("name=\"to\" value=\"submitted\""));
    assert!(!page.contains("name=\"to\" value=\"approved\""), "approval is NATO's");
    // Japan cannot see a draft, so cannot move it: the same 404 as for nothing at all.
    server.submit_refused(&post, &jpn, &[("to", "submitted")], StatusCode::NOT_FOUND).await;
    // Without the CSRF token nothing moves.
    let forged = server.post_form(&post, Some(&ndc), &[("to", "submitted")]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(event_status(&server, &id).await, "draft");

    let to = server.submit_ok(&post, &ndc, &[("to", "submitted")]).await;
    assert_eq!(to, format!("{path}?notice=status"));
    let refused = server.submit_refused(&post, &ndc, &[("to", "approved")], StatusCode::FORBIDDEN).await;
    assert!(refused.contains("only NATO staff approve") && refused.contains("role=\"alert\""), "{refused}");
    assert_eq!(event_status(&server, &id).await, "submitted");

    // NATO returns it for revision only with a reason, shown beside the reason field.
    let (_, page) = server.page(&path, Some(&staff)).await;
    assert!(page.contains("<label for=\"event-reason-draft\">Reason to return for revision</label>"));
    let refused = server.submit_refused(&post, &staff, &[("to", "draft")], StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(refused.contains("id=\"event-reason-draft-error\""), "{refused}");
    assert!(refused.contains("aria-describedby=\"event-reason-draft-error\""));
    assert_eq!(event_status(&server, &id).await, "submitted");
    let version = server.offering(&id).await.version.to_string();
    server.submit_ok(&post, &staff, &[("to", "approved"), ("version", &version)]).await;
    server.submit_ok(&post, &ndc, &[("to", "published")]).await;

    // Published, Japan sees it, is offered no lifecycle step, and its posts are refused.
    let (status, page) = server.page(&path, Some(&jpn)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains(&format!("action=\"{post}\"")), "no step for a partner");
    let refused = server.submit_refused(&post, &jpn, &[("to", "closed")], StatusCode::FORBIDDEN).await;
    assert!(refused.contains("cannot move offerings"), "{refused}");
    // A step from a page read before a change is refused as stale.
    let refused = server.submit_refused(&post, &ndc, &[("to", "closed"), ("version", "1")], StatusCode::CONFLICT).await;
    assert!(refused.contains("someone changed it"), "{refused}");
    // A step the lifecycle does not allow names the allowed ones.
    let refused = server.submit_refused(&post, &ndc, &[("to", "reported")], StatusCode::CONFLICT).await;
    assert!(refused.contains("allowed from `published`"), "{refused}");
    assert_eq!(event_status(&server, &id).await, "published");
    // Cancelling needs a reason too; with one, the page shows it.
    let refused = server.submit_refused(&post, &staff, &[("to", "cancelled")], StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(refused.contains("id=\"event-reason-cancelled-error\""));
    server.submit_ok(&post, &staff, &[("to", "cancelled"), ("reason", "The instructor is unavailable")]).await;
    let (_, page) = server.page(&path, Some(&jpn)).await;
    assert!(page.contains("menu-cancelled") && page.contains("The instructor is unavailable"));
}

/// A published event of NDC for Japan with one nomination by the form, accepted by NDC:
/// (event id, nomination id).
async fn accepted_nomination(server: &TestServer, title: &str, email: &str) -> (String, String) {
    let id = server.api_menu_event(title, &["JPN"], "published").await;
    let jpn = server.sign_in("jpn.officer").await;
    let fields = [("name", "Kobayashi Ren"), ("organisation", "Japan Joint Staff"), ("email", email)];
    server.submit_ok(&format!("/menu/{id}/nominations"), &jpn, &fields).await;
    let nomination = server.nominations(&id).await[0].id.to_string();
    let ndc = server.sign_in("ndc.provider").await;
    server.submit_ok(&format!("/menu/nominations/{nomination}/decision"), &ndc, &[("decision", "accept")]).await;
    (id, nomination)
}

#[tokio::test]
async fn after_the_event_the_provider_records_attendance_and_reports_and_the_nation_gives_feedback() {
    let server = TestServer::start().await;
    let (id, nomination) = accepted_nomination(&server, "Attendance form course", "kobayashi@mod.example.jp").await;
    let (path, status) = (format!("/menu/{id}"), format!("/menu/{id}/status"));
    let attendance = format!("/menu/nominations/{nomination}/attendance");
    let (ndc, jpn, kor) = (
        server.sign_in("ndc.provider").await,
        server.sign_in("jpn.officer").await,
        server.sign_in("kor.officer").await,
    );
    let recorded = || async { server.nominations(&id).await[0].attendance.map(|a| a.as_str()) };

    // Attendance: the provider's, once nominations are closed.
    let refused = server.submit_refused(&attendance, &jpn, &[("attendance", "attended")], StatusCode::FORBIDDEN).await;
    assert!(refused.contains("only NDC (the provider) or NATO staff record attendance"), "{refused}");
    let refused = server.submit_refused(&attendance, &ndc, &[("attendance", "attended")], StatusCode::CONFLICT).await;
    assert!(refused.contains("once nominations are closed"), "{refused}");
    server.submit_refused(&attendance, &kor, &[("attendance", "attended")], StatusCode::NOT_FOUND).await;
    server.submit_refused(&attendance, &ndc, &[("attendance", "maybe")], StatusCode::BAD_REQUEST).await;
    assert_eq!(recorded().await, None);
    server.submit_ok(&status, &ndc, &[("to", "closed")]).await;
    let (_, page) = server.page(&path, Some(&ndc)).await;
    assert!(page.contains(&format!("action=\"{attendance}\"")), "the provider's attendance buttons");
    assert!(!server.page(&path, Some(&jpn)).await.1.contains(&format!("action=\"{attendance}\"")));
    let forged = server.post_form(&attendance, Some(&ndc), &[("attendance", "attended")]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(recorded().await, None, "nothing recorded without the token");
    server.submit_ok(&attendance, &ndc, &[("attendance", "attended")]).await;
    assert_eq!(recorded().await, Some("attended"));
    server.submit_ok(&status, &ndc, &[("to", "held")]).await;

    // Feedback: Japan's (the participant's nation), with ratings 1–5 beside their fields.
    let feedback = format!("/menu/nominations/{nomination}/feedback");
    let (_, page) = server.page(&path, Some(&jpn)).await;
    assert!(page.contains(&format!("<label for=\"fb-{nomination}-overall\">Overall</label>")));
    assert!(!server.page(&path, Some(&ndc)).await.1.contains(&format!("action=\"{feedback}\"")));
    let good = [("overall", "4"), ("content", "5"), ("organisation", "4"), ("relevance", "5"), ("comments", "Useful.")];
    let refused = server.submit_refused(&feedback, &ndc, &good, StatusCode::FORBIDDEN).await;
    assert!(refused.contains("feedback comes from the participant or a partner officer of JPN"), "{refused}");
    let bad = [("content", "5"), ("organisation", "4"), ("relevance", "9")];
    let refused = server.submit_refused(&feedback, &jpn, &bad, StatusCode::UNPROCESSABLE_ENTITY).await;
    for field in ["overall", "relevance"] {
        assert!(refused.contains(&format!("id=\"fb-{nomination}-{field}-error\"")), "an error beside {field}");
    }
    assert!(refused.contains("value=\"5\" selected"), "the ratings chosen are kept");
    assert!(server.post_form(&feedback, Some(&jpn), &good).await.status() == StatusCode::FORBIDDEN, "no token");
    assert!(server.nominations(&id).await[0].feedback.is_none(), "nothing stored by refusals");
    server.submit_ok(&feedback, &jpn, &good).await;
    let (_, page) = server.page(&path, Some(&ndc)).await;
    assert!(page.contains("Feedback: overall 4/5"), "the provider reads the feedback");
    let again = server.submit_refused(&feedback, &jpn, &good, StatusCode::CONFLICT).await;
    assert!(again.contains("already given"), "{again}");

    // The after-action report: the provider's, with its summary required.
    let report = format!("/menu/{id}/report");
    let refused = server.submit_refused(&report, &jpn, &[("summary", "Mine")], StatusCode::FORBIDDEN).await;
    assert!(refused.contains("file after-action reports"), "{refused}");
    let refused = server.submit_refused(&report, &ndc, &[("summary", " ")], StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(refused.contains("id=\"report-summary-error\""), "{refused}");
    let forged = server.post_form(&report, Some(&ndc), &[("summary", "Held as planned.")]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(event_status(&server, &id).await, "held");
    let to = server.submit_ok(&report, &ndc, &[("summary", "Held as planned."), ("lessons", "Start earlier.")]).await;
    assert!(to.starts_with(&format!("{path}?notice=reported")));
    assert_eq!(event_status(&server, &id).await, "reported");
    let (_, page) = server.page(&path, Some(&jpn)).await;
    assert!(page.contains("Held as planned.") && page.contains("Start earlier."), "the report as filed");
    assert!(!page.contains(&format!("action=\"{report}\"")), "filed once");
}

#[tokio::test]
async fn a_nation_withdraws_its_own_nomination_only() {
    let server = TestServer::start().await;
    let (id, nomination) = accepted_nomination(&server, "Withdrawal form course", "sato@mod.example.jp").await;
    let decision = format!("/menu/nominations/{nomination}/decision");
    let (ndc, jpn) = (server.sign_in("ndc.provider").await, server.sign_in("jpn.officer").await);
    assert!(!server.page(&format!("/menu/{id}"), Some(&ndc)).await.1.contains("value=\"withdraw\""));
    let refused = server.submit_refused(&decision, &ndc, &[("decision", "withdraw")], StatusCode::FORBIDDEN).await;
    assert!(
        refused.contains("only JPN&#39;s partner officers") || refused.contains("only JPN&#x27;s partner officers")
    );
    let forged = server.post_form(&decision, Some(&jpn), &[("decision", "withdraw")]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(server.nominations(&id).await[0].status.as_str(), "accepted");
    let to = server.submit_ok(&decision, &jpn, &[("decision", "withdraw"), ("reason", "Posted abroad")]).await;
    assert!(to.contains("notice=withdrawn"));
    let (_, page) = server.page(&format!("/menu/{id}"), Some(&jpn)).await;
    assert!(page.contains("nomination-withdrawn") && page.contains("Posted abroad"));
    assert!(page.contains("0 of 10 taken"), "the seat is free again");
    let again = server.submit_refused(&decision, &jpn, &[("decision", "withdraw")], StatusCode::CONFLICT).await;
    assert!(again.contains("cannot become `withdrawn`"), "{again}");
}

#[tokio::test]
async fn a_participant_sees_its_own_registration_and_gives_feedback() {
    let server = TestServer::start().await;
    let email = "tanaka@mod.example.jp";
    let (id, nomination) = accepted_nomination(&server, "Participant feedback course", email).await;
    let other = server.api_menu_event("Someone else's course", &["JPN"], "published").await;
    server.participant_account(email).await;
    server.participant_account("stranger@mod.example.jp").await;
    let ndc = server.sign_in("ndc.provider").await;
    for (path, fields) in [
        (format!("/menu/{id}/status"), vec![("to", "closed")]),
        (format!("/menu/nominations/{nomination}/attendance"), vec![("attendance", "attended")]),
        (format!("/menu/{id}/status"), vec![("to", "held")]),
    ] {
        server.submit_ok(&path, &ndc, &fields).await;
    }
    let me = server.sign_in(email).await;
    let (status, page) = server.page(&format!("/menu/{id}"), Some(&me)).await;
    assert_eq!(status, StatusCode::OK, "a participant sees the event it is registered for");
    assert!(page.contains("Your own registration") && page.contains("Kobayashi Ren"));
    assert!(!page.contains("name=\"action\" value=\"watch\""), "nothing to watch beyond its scope");
    assert_eq!(server.page(&format!("/menu/{other}"), Some(&me)).await.0, StatusCode::NOT_FOUND, "not others");
    assert_eq!(server.page(&format!("/menu/nominations/{nomination}"), Some(&me)).await.0, StatusCode::SEE_OTHER);
    let stranger = server.sign_in("stranger@mod.example.jp").await;
    assert_eq!(server.page(&format!("/menu/{id}"), Some(&stranger)).await.0, StatusCode::NOT_FOUND);
    let feedback = format!("/menu/nominations/{nomination}/feedback");
    let good = [("overall", "5"), ("content", "5"), ("organisation", "4"), ("relevance", "4")];
    server.submit_refused(&feedback, &stranger, &good, StatusCode::NOT_FOUND).await;
    server.submit_ok(&feedback, &me, &good).await;
    let given = server.nominations(&id).await[0].feedback.clone().expect("the feedback is stored");
    assert_eq!(given.given_by, email);
}

#[tokio::test]
async fn overdue_feedback_and_reports_are_flagged_on_event_pages() {
    let server = TestServer::start().await;
    let rules = eprime_domain::menu::OverdueRules::default();
    let today = time::OffsetDateTime::now_utc().date();
    let system = eprime_domain::ReadScope::system();
    // The demo holds Japan's attended participants without feedback, and held events without report.
    let late = eprime_store::NominationFilter {
        nation: Some(eprime_domain::PartnerCode::parse("JPN").unwrap()),
        feedback_missing_before: Some(rules.feedback_cutoff(today)),
        ..Default::default()
    };
    let nomination = server.store.find_nominations(&system, &late, 1).await.unwrap().pop().expect("overdue feedback");
    let jpn = server.sign_in("jpn.officer").await;
    let (_, page) = server.page(&format!("/menu/{}", nomination.offering), Some(&jpn)).await;
    assert!(page.contains("data-overdue=\"feedback\""), "the row is flagged");
    assert!(page.contains(&format!("id=\"feedback-{}\"", nomination.id)), "with the form to give it");
    let filter =
        eprime_store::OfferingFilter { report_missing_before: Some(rules.report_cutoff(today)), ..Default::default() };
    let page_of = eprime_store::PageRequest::first(1);
    let offering =
        server.store.list_offerings(&system, &filter, &page_of).await.unwrap().items.pop().expect("a report");
    let staff = server.sign_in("nato.staff").await;
    let (_, page) = server.page(&format!("/menu/{}", offering.id), Some(&staff)).await;
    assert!(page.contains("data-overdue=\"report\"") && page.contains("report is overdue"));
}

#[tokio::test]
async fn the_home_page_lists_the_menus_work_for_each_role_and_only_within_scope() {
    let server = TestServer::start().await;
    let id = server.api_menu_event("Home work list course", &["JPN", "KOR"], "published").await;
    // Korea nominates (the demo gives Korea no nominations of its own, so its list is this one).
    let kor = server.sign_in("kor.officer").await;
    let nominee =
        [("name", "Kim Minji"), ("organisation", "ROK Joint Chiefs of Staff"), ("email", "kim@mnd.example.kr")];
    server.submit_ok(&format!("/menu/{id}/nominations"), &kor, &nominee).await;

    // The provider: nominations to decide, its coming events and open nomination deadlines.
    let (_, home) = server.page("/", Some(&server.sign_in("ndc.provider").await)).await;
    let to_decide = home.split("id=\"to-decide\"").nth(1).expect("nominations to decide");
    assert!(
        to_decide.contains("Kim Minji — Home work list course") && to_decide.contains("Accept, waitlist or reject")
    );
    assert!(home.contains("Your menu event starts") && home.contains("Nomination deadline"));
    // Korea: its nomination in progress, and the event it nominated to among what is coming.
    let (_, home) = server.page("/", Some(&kor)).await;
    let in_progress = home.split("id=\"nominations\"").nth(1).expect("Korea's nominations in progress");
    assert!(in_progress.contains("Kim Minji") && in_progress.contains("Waiting for the provider"));
    let coming = home.split("id=\"upcoming-heading\"").nth(1).unwrap();
    assert!(coming.contains(&format!("href=\"/menu/{id}\"")), "the event and its deadline in what is coming");
    assert!(!home.contains("id=\"feedback-overdue\""), "Japan's overdue feedback is Japan's");
    // Japan: its own nominations in progress and overdue feedback (from the demo), never Korea's.
    let (_, home) = server.page("/", Some(&server.sign_in("jpn.officer").await)).await;
    assert!(home.contains("id=\"nominations\"") && home.contains("id=\"feedback-overdue\""));
    assert!(!home.contains("Kim Minji"), "another nation's nomination never shows");
    // NATO staff: offerings waiting for approval and reports overdue (both in the demo).
    let (_, home) = server.page("/", Some(&server.sign_in("nato.staff").await)).await;
    assert!(home.contains("id=\"menu-approvals\"") && home.contains("id=\"reports-overdue\""));
    // The public has no work lists.
    let (_, home) = server.page("/", None).await;
    assert!(!home.contains("id=\"to-decide\"") && !home.contains("Kim Minji"));
}

#[tokio::test]
async fn the_inbox_shows_notifications_and_marks_them_read() {
    let server = TestServer::start().await;
    let token = server.api_token("jpn.officer").await;
    let activity = server
        .api_create(&token, json!({"partnership": "JPN", "title": "Watched staff talks", "kind": "meeting"}))
        .await;
    let id = activity["id"].as_str().unwrap().to_owned();
    let jpn = server.sign_in("jpn.officer").await;
    let watch = [("entity", "activity"), ("id", id.as_str()), ("action", "watch")];
    server.submit_ok("/watches", &jpn, &[watch[0], watch[1], watch[2], ("next", &format!("/activities/{id}"))]).await;
    let staff = server.api_token("nato.staff").await;
    let approved = server
        .client
        .post(format!("{}/api/v1/activities/{id}/transitions", server.url))
        .bearer_auth(&staff)
        .json(&json!({"to": "approved"}))
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), StatusCode::OK);
    server.until_unread("jpn.officer", 1).await;

    let (_, home) = server.page("/", Some(&jpn)).await;
    assert!(home.contains("href=\"/inbox\"") && home.contains("data-unread="), "the header counts unread");
    let (status, inbox) = server.page("/inbox", Some(&jpn)).await;
    assert_eq!(status, StatusCode::OK);
    let item = inbox.split("data-notification=\"").nth(1).expect("a notification");
    let notification = item.split('"').next().unwrap().to_owned();
    assert!(item.contains("class=\"unread\"") && item.contains(&format!("href=\"/activities/{id}\"")));
    assert!(item.contains("Watched staff talks") && item.contains("You watch it"));
    // Marking read: without the token nothing changes; someone else's post changes nothing.
    let forged = server.post_form("/inbox/read", Some(&jpn), &[("id", &notification)]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let kor = server.sign_in("kor.officer").await;
    server.submit_ok("/inbox/read", &kor, &[("id", &notification)]).await;
    server.submit_refused("/inbox/read", &jpn, &[("id", "not-an-id")], StatusCode::BAD_REQUEST).await;
    let (_, unread) = server.page("/inbox?unread=1", Some(&jpn)).await;
    assert!(unread.contains(&notification), "still unread");
    let to = server.submit_ok("/inbox/read", &jpn, &[("id", &notification), ("next", "/inbox?unread=1")]).await;
    assert_eq!(to, "/inbox?unread=1&notice=read");
    let (_, unread) = server.page("/inbox?unread=1", Some(&jpn)).await;
    assert!(!unread.contains(&notification) && unread.contains("Nothing unread."));
    let (_, all) = server.page("/inbox", Some(&jpn)).await;
    assert!(all.contains(&notification) && !all.contains("data-unread="), "kept, read");
    // Korea's inbox never shows Japan's activity; a made-up cursor is explained, not a 500.
    let (_, theirs) = server.page("/inbox", Some(&kor)).await;
    assert!(!theirs.contains("Watched staff talks"));
    assert_eq!(server.page("/inbox?after=zzz", Some(&jpn)).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(location(&server.get("/inbox", None).await), "/login?next=%2Finbox");
}

#[tokio::test]
async fn records_are_watched_from_their_pages_and_listed_only_while_visible() {
    let server = TestServer::start().await;
    let token = server.api_token("jpn.officer").await;
    let body =
        json!({"partnership": "JPN", "title": "Shared with Allies", "kind": "meeting", "releasable_to": ["ALLIES"]});
    let id = server.api_create(&token, body).await["id"].as_str().unwrap().to_owned();
    let path = format!("/activities/{id}");
    let jpn = server.sign_in("jpn.officer").await;
    let (_, page) = server.page(&path, Some(&jpn)).await;
    assert!(page.contains("data-watching=\"false\""), "a Watch button");
    let watch = |next: &'static str| [("entity", "activity"), ("action", "watch"), ("next", next)];
    let fields = |extra: [(&'static str, &'static str); 3], id: &str| {
        let mut all = vec![("id", id.to_owned())];
        all.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        all
    };
    let forged = server.post_form("/watches", Some(&jpn), &as_refs(&fields(watch("/"), &id))).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let back = server.submit_ok("/watches", &jpn, &as_refs(&fields(watch("/activities"), &id))).await;
    assert_eq!(back, "/activities");
    let (_, page) = server.page(&path, Some(&jpn)).await;
    assert!(page.contains("data-watching=\"true\""), "now a Stop watching button");
    // A goal and a document from their pages' buttons too.
    let (_, programme) = server.page("/partnerships/JPN", Some(&jpn)).await;
    let goal = programme.split("data-element=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let document = programme.split("href=\"/documents/").nth(1).unwrap().split('"').next().unwrap().to_owned();
    for (entity, record, page) in
        [("element", &goal, format!("/goals/{goal}")), ("document", &document, format!("/documents/{document}"))]
    {
        assert!(server.page(&page, Some(&jpn)).await.1.contains("data-watching=\"false\""), "{page}");
        server.submit_ok("/watches", &jpn, &[("entity", entity), ("id", record), ("action", "watch")]).await;
        assert!(server.page(&page, Some(&jpn)).await.1.contains("data-watching=\"true\""), "{page}");
    }
    let (_, list) = server.page("/watches", Some(&jpn)).await;
    assert_eq!(list.matches("data-watch=").count(), 3, "{list}");
    assert!(list.contains("Shared with Allies") && list.contains(&format!("href=\"/goals/{goal}\"")));
    // Korea cannot watch what it cannot see: 404, and nothing is stored.
    let kor = server.sign_in("kor.officer").await;
    server.submit_refused("/watches", &kor, &as_refs(&fields(watch("/"), &id)), StatusCode::NOT_FOUND).await;
    assert!(!server.page("/watches", Some(&kor)).await.1.contains("Shared with Allies"));
    server
        .submit_refused(
            "/watches",
            &kor,
            &[("entity", "user"), ("id", "x"), ("action", "watch")],
            StatusCode::BAD_REQUEST,
        )
        .await;

    // France (an Ally) watches it while it is released to the Allies; once Japan stops releasing
    // it, France's list no longer shows it.
    let fra = server.sign_in("fra.ally").await;
    server.submit_ok("/watches", &fra, &as_refs(&fields(watch("/watches"), &id))).await;
    assert!(server.page("/watches", Some(&fra)).await.1.contains("Shared with Allies"));
    let officer = server.principal("jpn.officer").await;
    let narrowed = eprime_domain::ActivityChanges {
        marking: Some(eprime_domain::Marking::releasable_to([eprime_domain::OrgCode::parse("JPN").unwrap()])),
        ..Default::default()
    };
    server.store.update_activity(&officer, id.parse().unwrap(), None, narrowed).await.unwrap();
    let (status, list) = server.page("/watches", Some(&fra)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!list.contains("Shared with Allies") && !list.contains(&id), "a record no longer released is not listed");

    // Unwatching from the list.
    let to = server
        .submit_ok(
            "/watches",
            &jpn,
            &as_refs(&fields(
                [("entity", "activity"), ("action", "unwatch"), ("next", "/watches?notice=unwatched")],
                &id,
            )),
        )
        .await;
    assert_eq!(to, "/watches?notice=unwatched");
    let (_, list) = server.page(&to, Some(&jpn)).await;
    assert!(list.contains("You no longer watch it.") && !list.contains("Shared with Allies"));
    assert_eq!(list.matches("data-watch=").count(), 2);
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

/// An activity's discussion uses the shared discussion block, and tells each viewer who will read
/// what they post: the partner's officer posts to NATO and the partner, an Ally's officer also to
/// the Ally (the comment's marking includes its author's nation).
#[tokio::test]
async fn an_activitys_discussion_names_who_will_read_a_comment() {
    let server = TestServer::start().await;
    let token = server.api_token("jpn.officer").await;
    let body =
        json!({"partnership": "JPN", "title": "Talks with Allies", "kind": "meeting", "releasable_to": ["ALLIES"]});
    let id = server.api_create(&token, body).await["id"].as_str().unwrap().to_owned();
    let path = format!("/activities/{id}");
    for (user, audience) in [("jpn.officer", "seen by NATO and JPN"), ("fra.ally", "seen by NATO, FRA and JPN")] {
        let viewer = server.sign_in(user).await;
        let (status, page) = server.page(&path, Some(&viewer)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("id=\"discussion-heading\"") && page.contains("No one has commented yet."));
        assert!(page.contains(audience), "{user}: {page}");
        assert!(page.contains(&format!("action=\"{path}/comments\"")));
        assert!(page.contains("id=\"comments\" data-live-swap"), "the comments refresh live");
    }
}
