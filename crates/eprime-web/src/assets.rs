//! The stylesheet and the little JavaScript, embedded in the binary and served under `/static/`
//! with long cache lifetimes. Pages link them with a content hash in the query string, so a new
//! build is fetched at once while an unchanged one is never fetched twice.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

const CSS: &str = include_str!("../static/app.css");
const JS: &str = include_str!("../static/live.js");

/// `/static/app.css?v=…`
pub static CSS_URL: LazyLock<String> = LazyLock::new(|| format!("/static/app.css?v={:016x}", fnv(CSS)));
/// `/static/live.js?v=…`
pub static JS_URL: LazyLock<String> = LazyLock::new(|| format!("/static/live.js?v={:016x}", fnv(JS)));

fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
}

pub async fn serve(Path(file): Path<String>) -> Response {
    let (body, content_type) = match file.as_str() {
        "app.css" => (CSS, "text/css; charset=utf-8"),
        "live.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return crate::page::PageError::NotFound.into_response(),
    };
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}
