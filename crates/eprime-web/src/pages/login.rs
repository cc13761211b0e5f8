//! `/login` and sign-out, through the server's own sign-in (throttling and audit included).
//!
//! The sign-in form is protected against login CSRF by a double-submit token: `GET /login` sets a
//! random value in a short-lived cookie and in the form; the post must carry both, equal.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use eprime_server::AppState;
use eprime_server::auth::{ClientAddress, cookie, new_token};
use eprime_server::signin;
use serde::Deserialize;

use crate::csrf::constant_time_eq;
use crate::form::FormData;
use crate::page::{PageResult, render_status, see_other};
use crate::session::Viewer;
use crate::views::Chrome;

const LOGIN_COOKIE: &str = "eprime_login";

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    chrome: Chrome,
    form_token: String,
    next: String,
    username: String,
    problem: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

/// Only a path on this site: never `//elsewhere` or `https://elsewhere`.
pub(crate) fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".to_owned(),
    }
}

fn page(viewer: &Viewer, status: StatusCode, next: String, username: String, problem: Option<String>) -> Response {
    let form_token = new_token();
    let mut response = render_status(
        status,
        &LoginPage { chrome: Chrome::new(viewer, "login"), form_token: form_token.clone(), next, username, problem },
    );
    let value = format!("{LOGIN_COOKIE}={form_token}; Path=/login; HttpOnly; SameSite=Strict; Max-Age=3600");
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

pub async fn form(viewer: Viewer, Query(query): Query<LoginQuery>) -> Response {
    page(&viewer, StatusCode::OK, safe_next(query.next.as_deref()), String::new(), None)
}

pub async fn submit(
    State(state): State<AppState>,
    viewer: Viewer,
    ClientAddress(address): ClientAddress,
    headers: axum::http::HeaderMap,
    form: FormData,
) -> PageResult {
    let next = safe_next(form.get("next"));
    let username = form.get("username").unwrap_or_default().to_owned();
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !constant_time_eq(form.raw("csrf_token").as_bytes(), expected.as_bytes()) {
        let problem = "The sign-in form had expired. Please sign in again.".to_owned();
        return Ok(page(&viewer, StatusCode::FORBIDDEN, next, username, Some(problem)));
    }
    if username.is_empty() || form.raw("password").is_empty() {
        let problem = "Enter your username and your password.".to_owned();
        return Ok(page(&viewer, StatusCode::UNPROCESSABLE_ENTITY, next, username, Some(problem)));
    }
    match signin::sign_in(&state, &username, form.raw("password").to_owned(), address).await {
        Ok(session) => {
            let mut response = see_other(&next);
            for value in signin::session_cookies(&state, &session) {
                if let Ok(value) = HeaderValue::from_str(&value) {
                    response.headers_mut().append(header::SET_COOKIE, value);
                }
            }
            let spent = format!("{LOGIN_COOKIE}=; Path=/login; HttpOnly; SameSite=Strict; Max-Age=0");
            if let Ok(value) = HeaderValue::from_str(&spent) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            Ok(response)
        }
        Err(error) => {
            let status = error.status();
            let problem = match status {
                StatusCode::TOO_MANY_REQUESTS => {
                    "Too many failed sign-ins for this account or from this address. Wait a few minutes and try again."
                }
                StatusCode::UNAUTHORIZED => "Unknown username or wrong password.",
                _ => "Signing in failed. Try again in a moment.",
            };
            Ok(page(&viewer, status, next, username, Some(problem.to_owned())))
        }
    }
}

pub async fn logout(State(state): State<AppState>, viewer: Viewer, form: FormData) -> PageResult {
    let principal = crate::csrf::check(&viewer, &form, "/")?;
    signin::sign_out(&state, principal, viewer.token()).await.map_err(|_| crate::page::PageError::Internal)?;
    let mut response = see_other("/");
    for value in signin::clearing_cookies() {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    Ok(response)
}
