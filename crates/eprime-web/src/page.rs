//! Turning templates into responses with the headers every page carries, and the error pages.

use askama::Template;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use eprime_store::StoreError;

use crate::views::Chrome;

/// The pages' content security policy: only our own styles, scripts, images and connections
/// (the change stream), no inline script, no framing, forms post only to us.
pub const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
    connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'";

/// A rendered page with the security headers of the access issue. Pages show what one viewer
/// may see, so no shared cache keeps them.
pub fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(HeaderName::from_static("referrer-policy"), HeaderValue::from_static("same-origin"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub fn render(template: &impl Template) -> Response {
    render_status(StatusCode::OK, template)
}

pub fn render_status(status: StatusCode, template: &impl Template) -> Response {
    finish(status, template.render())
}

/// `render`, for a page around a part rendered before (a kept body of `part_len` bytes). Its text
/// starts with room for that part, which is then copied once. Rendered from askama's estimate of
/// the template alone (1.4 KB for the partnership page), the text grew to fit a 48 KB part, then
/// grew again for the rest of the layout, copying the part a second time.
pub fn render_around<T: Template>(part_len: usize, template: &T) -> Response {
    finish(StatusCode::OK, rendered_around(part_len, template))
}

fn rendered_around<T: Template>(part_len: usize, template: &T) -> askama::Result<String> {
    // askama's hint is the template's own text; its values (names, counts) come on top.
    let mut page = String::with_capacity(2 * T::SIZE_HINT + part_len);
    template.render_into(&mut page).map(|()| page)
}

fn finish(status: StatusCode, rendered: askama::Result<String>) -> Response {
    match rendered {
        Ok(body) => html(status, body),
        Err(error) => {
            tracing::error!(%error, "a page template failed to render");
            PageError::Internal.into_response()
        }
    }
}

/// 303 See Other: where a browser goes after a POST.
pub fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Why a page could not be shown.
#[derive(Debug)]
pub enum PageError {
    /// Absent, or not visible to the viewer: the two look the same.
    NotFound,
    /// Visible, but the viewer may not do this.
    Forbidden(String),
    BadRequest(String),
    /// The page needs a signed-in viewer: go to the sign-in page, then come back to `next`.
    SignIn {
        next: String,
    },
    Internal,
}

pub type PageResult = Result<Response, PageError>;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    chrome: Chrome,
    heading: &'static str,
    message: String,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, heading, message) = match self {
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                "Not found",
                "There is nothing here, or it is not released to you. \
                 If you expected to see it, sign in or ask its owner."
                    .to_owned(),
            ),
            Self::Forbidden(reason) => (StatusCode::FORBIDDEN, "Not allowed", reason),
            Self::BadRequest(reason) => (StatusCode::BAD_REQUEST, "That did not work", reason),
            Self::SignIn { next } => return see_other(&format!("/login?next={}", crate::views::urlencode(&next))),
            Self::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The server could not complete this request; it has been logged. Try again in a moment.".to_owned(),
            ),
        };
        render_status(status, &ErrorPage { chrome: Chrome::plain(), heading, message })
    }
}

impl From<StoreError> for PageError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(_) => Self::NotFound,
            StoreError::Forbidden(reason) => Self::Forbidden(reason),
            StoreError::Invalid(errors) => Self::BadRequest(errors.to_string()),
            StoreError::Transition(e) => Self::BadRequest(e.to_string()),
            StoreError::Stale { .. } | StoreError::Conflict(_) => Self::BadRequest(error.to_string()),
            StoreError::Backend(message) => {
                tracing::error!(%message, "store error on a page");
                Self::Internal
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Template)]
    #[template(source = "<main><h1>{{ name }}</h1>{{ part|safe }}</main>", ext = "html")]
    struct AroundPart<'a> {
        name: &'a str,
        part: &'a str,
    }

    #[test]
    fn a_page_around_a_kept_part_is_the_same_page_copied_into_one_buffer() {
        let part = "<li>activity</li>".repeat(2_000);
        let page = AroundPart { name: "Japan & NATO", part: &part };

        let around = rendered_around(part.len(), &page).unwrap();

        assert_eq!(around, page.render().unwrap(), "the same text as rendering it plainly");
        assert!(around.contains("Japan &#38; NATO"), "the template's own values are escaped as ever");
        assert_eq!(
            around.capacity(),
            2 * AroundPart::SIZE_HINT + part.len(),
            "the text never outgrew its first buffer, so the part was copied once"
        );
    }
}
