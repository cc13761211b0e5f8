//! The web interface (in progress).

use axum::Router;
use eprime_server::AppState;

/// The pages, to merge into the application router.
pub fn router() -> Router<AppState> {
    Router::new()
}
