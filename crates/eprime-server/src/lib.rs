//! e-PRIME's HTTP server.
//!
//! [`app`] builds the whole router: the JSON API under `/api/v1` (handlers in [`api`], each
//! annotated for the OpenAPI document served at `/api/openapi.json`), health checks, and the
//! middleware every response passes through (security headers, body limit, request tracing).
//! Handlers are thin: they extract the caller and the input, call one store method with the
//! caller's scope, and shape the answer. Permission and visibility live in the domain and the
//! store, never here.

pub mod api;
pub mod auth;
pub mod changes;
pub mod extract;
pub mod importing;
pub mod problem;
pub mod signin;
pub mod throttle;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, header};
use eprime_store::DynStore;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

/// Largest request body accepted, in bytes.
pub const BODY_LIMIT: usize = 256 * 1024;

/// Settings of one server instance.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// How long a sign-in session lasts.
    pub session_ttl: Duration,
    /// Mark the session cookie `Secure` (set when served over HTTPS, directly or via a proxy).
    pub secure_cookies: bool,
    /// Failed sign-ins per account allowed within `sign_in_window`; an address (which an office
    /// behind one gateway shares) gets four times as many.
    pub sign_in_failures: usize,
    pub sign_in_window: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            session_ttl: Duration::from_secs(12 * 3600),
            secure_cookies: false,
            sign_in_failures: 5,
            sign_in_window: Duration::from_secs(15 * 60),
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: DynStore,
    pub config: Arc<ServerConfig>,
    /// Failed sign-ins per account.
    pub account_throttle: Arc<throttle::SignInThrottle>,
    /// Failed sign-ins per client address.
    pub address_throttle: Arc<throttle::SignInThrottle>,
    /// Live changes for the stream.
    pub changes: Arc<changes::ChangeHub>,
}

impl AppState {
    pub fn new(store: DynStore, config: ServerConfig) -> Self {
        let (failures, window) = (config.sign_in_failures, config.sign_in_window);
        Self {
            changes: changes::ChangeHub::start(store.clone()),
            store,
            account_throttle: Arc::new(throttle::SignInThrottle::new(failures, window)),
            address_throttle: Arc::new(throttle::SignInThrottle::new(failures * 4, window)),
            config: Arc::new(config),
        }
    }
}

/// The complete application router.
pub fn app(state: AppState) -> Router {
    let (api, openapi) = api::router().split_for_parts();
    let openapi = Arc::new(openapi);
    Router::new()
        .merge(api)
        .route(
            "/api/openapi.json",
            axum::routing::get(move || {
                let openapi = openapi.clone();
                async move { axum::Json(openapi.as_ref().clone()) }
            }),
        )
        .merge(api::health::router())
        .fallback(api::not_found)
        .with_state(state)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // Headers on every response: no MIME sniffing, no framing, no referrer leaks, and a content
        // security policy that allows nothing an API response would need.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("referrer-policy"),
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(TraceLayer::new_for_http())
}

/// Serves `app` on `listener` until `shutdown` resolves, then finishes in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = app(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}
