//! The JSON API under `/api/v1`. One module per resource; [`router`] collects their routes and
//! OpenAPI descriptions.

pub mod activities;
pub mod audit;
pub mod calendar;
pub mod comments;
pub mod digest;
pub mod documents;
pub mod health;
pub mod menu;
pub mod notifications;
pub mod partnerships;
pub mod reference;
pub mod session;
pub mod stream;
pub mod tokens;
pub mod users;
pub mod views;
pub mod webhooks;

use axum::http::{StatusCode, Uri};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::problem::{ApiError, ApiResult};

/// A value serialised once, to be kept (`fresh`) and sent as often as asked.
pub(crate) fn to_json_bytes<T: serde::Serialize>(value: &T) -> ApiResult<axum::body::Bytes> {
    serde_json::to_vec(value)
        .map(axum::body::Bytes::from)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("the answer could not be written: {e}")))
}

/// What `Json` would answer with an already serialised body.
pub(crate) fn json_bytes(body: axum::body::Bytes) -> axum::response::Response {
    use axum::response::IntoResponse;
    ([(axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static("application/json"))], body)
        .into_response()
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "e-PRIME API",
        description = "Electronic Partnership Real-time Information, Management and Exchange System. \
            Every error is `application/problem+json` (RFC 9457). Reads show only what the caller may see: \
            records another partner owns answer 404, exactly as if they did not exist.",
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "session", description = "Signing in and out"),
        (name = "partnerships", description = "NATO's partnerships and their programmes"),
        (name = "documents", description = "Partnership documents and their structure"),
        (name = "activities", description = "Cooperation activities and their lifecycle"),
        (name = "reference", description = "Organisations and areas of cooperation"),
        (name = "discussions", description = "Comments on activities, documents, goals and menu events"),
        (name = "notifications", description = "Watching records and the inbox"),
        (name = "menu", description = "The Partnership Cooperation Menu: offerings, nominations, attendance, feedback, reports"),
        (name = "webhooks", description = "An organisation's endpoints that receive, signed, the changes it may see"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(session::login))
        .routes(routes!(session::logout))
        .routes(routes!(session::me))
        .routes(routes!(tokens::create, tokens::list))
        .routes(routes!(tokens::revoke))
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::update))
        .routes(routes!(audit::audit))
        .routes(routes!(reference::organisations))
        .routes(routes!(reference::areas))
        .routes(routes!(partnerships::list))
        .routes(routes!(partnerships::get))
        .routes(routes!(partnerships::history))
        .routes(routes!(documents::list))
        .routes(routes!(documents::get))
        .routes(routes!(documents::history))
        .routes(routes!(documents::approve))
        .routes(routes!(documents::element))
        .routes(routes!(documents::import))
        .routes(routes!(documents::compare))
        .routes(routes!(activities::list, activities::create))
        .routes(routes!(activities::get, activities::update))
        .routes(routes!(activities::transition))
        .routes(routes!(activities::history))
        .routes(routes!(stream::stream))
        .routes(routes!(webhooks::create, webhooks::list))
        .routes(routes!(webhooks::get, webhooks::update, webhooks::delete))
        .routes(routes!(webhooks::rotate_secret))
        .routes(routes!(webhooks::deliveries))
        .routes(routes!(webhooks::redeliver))
        .routes(routes!(comments::list_on_activity, comments::post_on_activity))
        .routes(routes!(comments::list_on_document, comments::post_on_document))
        .routes(routes!(comments::list_on_goal, comments::post_on_goal))
        .routes(routes!(comments::list_on_offering, comments::post_on_offering))
        .routes(routes!(comments::edit, comments::delete))
        .routes(routes!(comments::history))
        .routes(routes!(notifications::watch, notifications::unwatch))
        .routes(routes!(notifications::watches))
        .routes(routes!(notifications::inbox))
        .routes(routes!(notifications::mark_read))
        .routes(routes!(digest::get, digest::subscribe, digest::unsubscribe))
        .routes(routes!(digest::send_now))
        .routes(routes!(menu::search, menu::create))
        .routes(routes!(menu::get, menu::update))
        .routes(routes!(menu::transition))
        .routes(routes!(menu::report))
        .routes(routes!(menu::history))
        .routes(routes!(menu::nominations, menu::nominate))
        .routes(routes!(menu::adopt))
        .routes(routes!(menu::mine))
        .routes(routes!(menu::nomination))
        .routes(routes!(menu::decide))
        .routes(routes!(menu::attendance))
        .routes(routes!(menu::feedback))
        .routes(routes!(menu::activity_participation))
        .routes(routes!(menu::goal_participation))
        .routes(routes!(calendar::event))
        .routes(routes!(calendar::create_feed, calendar::list_feeds))
        .routes(routes!(calendar::revoke_feed))
        .routes(routes!(calendar::feed))
}

/// Unknown paths answer a problem document too.
pub async fn not_found(uri: Uri) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, format!("there is nothing at {}", uri.path()))
}
