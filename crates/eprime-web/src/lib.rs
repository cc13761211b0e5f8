//! e-PRIME's web interface: server-rendered pages for desk officers, partner missions and the public.
//!
//! Every page is an askama template (compile-time checked, HTML-escaped), rendered from what the
//! viewer may see: pages resolve the `eprime_session` cookie to a caller and read the store only
//! with `caller.read_scope()`, so a record another partner owns answers the same 404 page as one
//! that does not exist. Reading works without JavaScript; `static/live.js` adds live updates from
//! the change stream (`/api/v1/stream`, Server-Sent Events) with the browser's own `EventSource`.
//!
//! Every state-changing form is a POST carrying a hidden `csrf_token` derived from the session
//! ([`eprime_server::auth::csrf_token`]); a POST without the right one is refused with a 403 page.
//! After a successful POST the browser is redirected (303) to the page it changed.

mod assets;
mod charts;
mod csrf;
mod discussion;
mod form;
mod page;
mod pages;
mod programme;
mod session;
mod views;

use axum::Router;
use axum::routing::{get, post};
use eprime_server::AppState;

/// The pages, to merge into the application router.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home::show))
        .route("/login", get(pages::login::form).post(pages::login::submit))
        .route("/logout", post(pages::login::logout))
        .route("/partnerships/{partner}", get(pages::partnership::show))
        .route("/partnerships/{partner}/charts/goals.svg", get(pages::partnership::goals_chart))
        .route("/partnerships/{partner}/charts/timeline.svg", get(pages::partnership::timeline_chart))
        .route("/documents/{id}", get(pages::document::show))
        .route("/compare", get(pages::compare::show))
        .route("/goals/{id}", get(pages::goal::show))
        .route("/activities/new", get(pages::activity_form::new_form).post(pages::activity_form::create))
        .route("/activities/{id}", get(pages::activity::show))
        .route("/activities/{id}/edit", get(pages::activity_form::edit_form).post(pages::activity_form::update))
        .route("/activities/{id}/status", post(pages::activity::transition))
        .route("/activities/{id}/comments", post(pages::activity::comment))
        .route("/menu", get(pages::menu::show))
        .route("/menu/charts/areas.svg", get(pages::menu::areas_chart))
        .route("/menu/{id}", get(pages::event::show))
        .route("/menu/{id}/nominations", post(pages::event::nominate))
        .route("/menu/{id}/status", post(pages::event_forms::transition))
        .route("/menu/{id}/report", post(pages::event_forms::report))
        .route("/menu/nominations/{id}", get(pages::event_forms::show_nomination))
        .route("/menu/{id}/comments", post(pages::event::comment))
        .route("/menu/nominations/{id}/decision", post(pages::event::decide))
        .route("/menu/nominations/{id}/attendance", post(pages::event_forms::attendance))
        .route("/menu/nominations/{id}/feedback", post(pages::event_forms::feedback))
        .route("/inbox", get(pages::inbox::show))
        .route("/inbox/read", post(pages::inbox::mark_read))
        .route("/watches", get(pages::inbox::watches).post(pages::inbox::change))
        .route("/admin/accounts", get(pages::admin::list).post(pages::admin::create))
        .route("/admin/accounts/{username}", post(pages::admin::change))
        .route("/static/{file}", get(assets::serve))
}
