//! e-PRIME's HTTP server.
//!
//! [`app`] builds the whole router: the JSON API under `/api/v1` (handlers in [`api`], each
//! annotated for the OpenAPI document served at `/api/openapi.json`), health checks, and the
//! middleware every response passes through (security headers, body limit, request tracing).
//! Handlers are thin: they extract the caller and the input, call one store method with the
//! caller's scope, and shape the answer. Permission and visibility live in the domain and the
//! store, never here.

pub mod activity_views;
pub mod api;
pub mod auth;
pub mod calendar;
pub mod changes;
pub mod digest;
pub mod extract;
pub mod fresh;
pub mod importing;
pub mod menu_index;
pub mod notifier;
pub mod offering_views;
pub mod overdue;
pub mod pace;
pub mod passwords;
pub mod problem;
pub mod session_cache;
pub mod signin;
pub mod tally;
pub mod throttle;
pub mod versioned;
pub mod webhooks;

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
    /// The SMTP relay for daily digests; `None` (the default) sends no e-mail.
    pub mail: Option<digest::MailConfig>,
    /// Failed sign-ins per account allowed within `sign_in_window`; an address (which an office
    /// behind one gateway shares) gets four times as many.
    pub sign_in_failures: usize,
    pub sign_in_window: Duration,
    /// Webhook deliveries: the wait before the second attempt (doubling after each failure, up
    /// to an hour; 10 attempts), and how long an endpoint has to answer.
    pub webhook_retry_base: Duration,
    pub webhook_timeout: Duration,
    /// Days after an event before missing feedback and reports are flagged overdue.
    pub overdue: eprime_domain::menu::OverdueRules,
    /// How often the overdue sweep looks for newly overdue feedback and reports (it also runs
    /// once when the server starts, see [`overdue::sweep`]).
    pub overdue_sweep_every: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            session_ttl: Duration::from_secs(12 * 3600),
            secure_cookies: false,
            mail: None,
            sign_in_failures: 5,
            sign_in_window: Duration::from_secs(15 * 60),
            webhook_retry_base: Duration::from_secs(10),
            webhook_timeout: Duration::from_secs(10),
            overdue: eprime_domain::menu::OverdueRules::default(),
            overdue_sweep_every: Duration::from_secs(3600),
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
    /// The SMTP relay, when one is configured.
    pub mailer: Option<digest::Mailer>,
    /// Sends webhook deliveries (stops when the last state is dropped).
    pub webhooks: Arc<webhooks::WebhookWorker>,
    /// The menu's search index, kept in step with the store.
    pub menu: Arc<menu_index::MenuSearch>,
    /// Partnerships' activity counts per scope, until the partnership changes.
    pub tallies: Arc<tally::TallyCache>,
    /// Menu offerings as the API shows them, by (id, version).
    pub offering_views: Arc<offering_views::OfferingViews>,
    /// Activities and their JSON, by (id, version), for pages of activities.
    pub activity_views: Arc<activity_views::ActivityViews>,
    /// Resolved session tokens, for a moment (`session_cache`).
    pub sessions: Arc<session_cache::SessionCache>,
    /// What this instance knows to have been committed: kept answers are served while it stands still.
    pub clock: Arc<fresh::Clock>,
    /// Answers kept while the clock stands still (`fresh`).
    pub kept: Arc<KeptAnswers>,
}

/// A rendered part of a web page, with the page's title.
pub struct RenderedPart {
    pub title: String,
    pub html: String,
}

/// The answers kept per [`fresh::Clock`] tick, each keyed by all it depends on.
pub struct KeptAnswers {
    /// `GET /api/v1/partnerships/{partner}`'s JSON, per (partnership, scope).
    pub partnership: fresh::Kept<(eprime_domain::PartnerCode, eprime_domain::ReadScope), axum::body::Bytes>,
    /// `GET /api/v1/activities`' JSON, per (scope, query string).
    pub activity_pages: fresh::Kept<(eprime_domain::ReadScope, String), axum::body::Bytes>,
    /// The header's unread count, per (account, scope).
    pub unread: fresh::Kept<(eprime_domain::UserId, eprime_domain::ReadScope), u64>,
    /// Rendered parts of web pages, per (scope, the page's own key; `eprime-web` says what each holds).
    pub page_parts: fresh::Kept<(eprime_domain::ReadScope, String), RenderedPart>,
}

impl Default for KeptAnswers {
    fn default() -> Self {
        Self {
            partnership: fresh::Kept::new(1024),
            // ≈ 33 KB a page of 50 activities: at most ≈ 8 MB.
            activity_pages: fresh::Kept::new(256),
            unread: fresh::Kept::new(8192),
            // A partnership page's middle is ≈ 60 KB: at most ≈ 15 MB.
            page_parts: fresh::Kept::new(256),
        }
    }
}

impl AppState {
    pub fn new(store: DynStore, config: ServerConfig) -> Self {
        let (failures, window) = (config.sign_in_failures, config.sign_in_window);
        let clock = Arc::new(fresh::Clock::default());
        let changes = changes::ChangeHub::start(store.clone(), clock.clone());
        notifier::start(store.clone(), Arc::downgrade(&changes), clock.clone());
        overdue::start(store.clone(), config.overdue, config.overdue_sweep_every, Arc::downgrade(&changes));
        let delivery =
            webhooks::DeliverySettings { retry_base: config.webhook_retry_base, timeout: config.webhook_timeout };
        // The command line checks the mail settings before it gets here; a bad one only disables mail.
        let mailer = config.mail.as_ref().and_then(|mail| {
            digest::Mailer::new(mail).map_err(|error| tracing::error!(%error, "e-mail digests are off")).ok()
        });
        if let (Some(mailer), Some(mail)) = (&mailer, &config.mail) {
            digest::start(store.clone(), mailer.clone(), mail.digest_hour, Arc::downgrade(&changes));
        }
        let index = eprime_search::TantivyMenuIndex::new().expect("an in-memory index can always be created");
        let menu = menu_index::MenuSearch::new(Arc::new(index));
        menu.start(store.clone());
        Self {
            menu,
            tallies: Arc::default(),
            offering_views: Arc::new(offering_views::offering_views()),
            activity_views: Arc::default(),
            sessions: Arc::default(),
            clock,
            kept: Arc::default(),
            mailer,
            changes,
            webhooks: webhooks::WebhookWorker::start(store.clone(), delivery),
            store,
            account_throttle: Arc::new(throttle::SignInThrottle::new(failures, window)),
            address_throttle: Arc::new(throttle::SignInThrottle::new(failures * 4, window)),
            config: Arc::new(config),
        }
    }
}

/// The complete application router.
pub fn app(state: AppState) -> Router {
    app_with(state, Router::new())
}

/// The application router with more routes (the web pages) behind the same middleware: body
/// limit, security headers (pages set their own policy first), tracing.
pub fn app_with(state: AppState, pages: Router<AppState>) -> Router {
    let (api, openapi) = api::router().split_for_parts();
    let openapi = Arc::new(openapi);
    let clock = state.clock.clone();
    Router::new()
        .merge(pages)
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
        .layer(axum::middleware::from_fn(move |request, next| note_writes(clock.clone(), request, next)))
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

/// Moves the clock after every request that may have written, before its answer leaves, so the
/// client's next read is never served from an answer kept before its write (`fresh`).
async fn note_writes(
    clock: Arc<fresh::Clock>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let may_write = !request.method().is_safe();
    let response = next.run(request).await;
    if may_write {
        clock.wrote();
    }
    response
}

/// Serves `app` on `listener` until `shutdown` resolves, then finishes in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_app(listener, app(state), shutdown).await
}

/// Serves a router built with [`app`] or [`app_with`], knowing each client's address (sign-in
/// throttling counts per address).
pub async fn serve_app(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(without_nagle(listener), app).with_graceful_shutdown(shutdown).await
}

/// Accepts connections with `TCP_NODELAY` set (axum's `serve` leaves Nagle's algorithm on). With
/// it on, a small write that follows another before the peer has acknowledged the first is held
/// until the acknowledgement comes back: over a network, a round trip or more (the peer may delay
/// its acknowledgement by up to 40 ms) for the second of two stream events committed in quick
/// succession. Every write e-PRIME makes is a whole response or a whole event, so there is nothing
/// for the algorithm to merge. (On loopback acknowledgements return within microseconds, so the
/// benchmark cannot show the difference.)
fn without_nagle(
    listener: tokio::net::TcpListener,
) -> axum::serve::TapIo<tokio::net::TcpListener, fn(&mut tokio::net::TcpStream)> {
    use axum::serve::ListenerExt;
    fn set_nodelay(connection: &mut tokio::net::TcpStream) {
        if let Err(error) = connection.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY on an accepted connection");
        }
    }
    listener.tap_io(set_nodelay)
}

#[cfg(test)]
mod tests {
    use axum::serve::Listener;

    #[tokio::test]
    async fn accepted_connections_have_nagles_algorithm_off() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut listener = super::without_nagle(listener);
        let _client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (accepted, _) = listener.accept().await;
        assert!(accepted.nodelay().unwrap(), "TCP_NODELAY is not set on the accepted connection");
    }
}
