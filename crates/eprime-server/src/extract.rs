//! Request extractors whose every rejection is a problem document.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::problem::ApiError;

/// JSON body. Malformed JSON is 400; a body of the wrong shape (wrong types, unknown or missing
/// fields) is 422 naming the field; a missing content type 415; an oversized body 413.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_problem(rejection)),
        }
    }
}

fn json_problem(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::JsonSyntaxError(e) => {
            ApiError::bad_request(format!("the body is not valid JSON: {}", source_text(&e.body_text())))
        }
        JsonRejection::JsonDataError(e) => {
            let text = source_text(&e.body_text());
            // serde_path_to_error puts the path first: "title: invalid type: integer `5`, …".
            match text.split_once(": ") {
                Some((path, message)) if !path.contains(' ') => ApiError::field(path, message.to_owned()),
                _ => ApiError::field("body", text),
            }
        }
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the body as JSON with `Content-Type: application/json`",
        ),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is larger than the {} KiB limit", crate::BODY_LIMIT / 1024),
        ),
        other => ApiError::new(other.status(), other.body_text()),
    }
}

/// axum prefixes its own words ("Failed to deserialize the JSON body into the target type: ");
/// the caller needs only serde's part.
fn source_text(text: &str) -> String {
    text.split_once("target type: ").map_or(text, |(_, rest)| rest).to_owned()
}

/// Query string. A malformed one is 400 with what serde found wrong.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => {
                let text = e.body_text();
                let text = text.split_once("query string: ").map_or(text.as_str(), |(_, rest)| rest);
                Err(ApiError::bad_request(format!("the query string is invalid: {text}")))
            }
            Err(other) => Err(ApiError::bad_request(other.body_text())),
        }
    }
}

/// The version an `If-Match` header names (`"v3"`, `W/"v3"`), `None` for no header or `*`.
pub fn if_match_version(parts: &axum::http::HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = parts.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let raw = value.to_str().map_err(|_| ApiError::bad_request("If-Match is not text"))?.trim();
    if raw == "*" {
        return Ok(None);
    }
    raw.trim_start_matches("W/").trim_matches('"').strip_prefix('v').and_then(|v| v.parse().ok()).map(Some).ok_or_else(
        || ApiError::bad_request(format!("If-Match `{raw}` is not an ETag this server gave out (like \"v3\")")),
    )
}

/// The strong ETag of a record version.
pub fn etag(version: i64) -> String {
    format!("\"v{version}\"")
}
