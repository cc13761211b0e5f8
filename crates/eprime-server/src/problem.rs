//! One error format for the whole API: RFC 9457 problem details (`application/problem+json`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use eprime_domain::{FieldError, TransitionError, ValidationErrors};
use eprime_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An API error as the caller receives it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// `about:blank`: the status code says what kind of problem this is.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: String,
    pub status: u16,
    /// What went wrong, in a sentence the caller can act on.
    pub detail: String,
    /// For invalid input: each offending field and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// For a refused status change: the statuses that are allowed from the current one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<String>>,
    /// For a stale write: the record's current version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<i64>,
    /// Seconds to wait before trying again; sent as the `Retry-After` header.
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

/// The error type of every handler.
#[derive(Debug)]
pub struct ApiError(Box<Problem>);

impl ApiError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self(Box::new(Problem {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            allowed: None,
            current_version: None,
            retry_after: None,
        }))
    }

    /// 429 with `Retry-After`.
    pub fn too_many_requests(detail: impl Into<String>, retry_after_seconds: u64) -> Self {
        let mut error = Self::new(StatusCode::TOO_MANY_REQUESTS, detail);
        error.0.retry_after = Some(retry_after_seconds);
        error
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, detail)
    }

    pub fn not_found(what: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("{what} not found"))
    }

    pub fn invalid(errors: ValidationErrors) -> Self {
        let mut error = Self::new(StatusCode::UNPROCESSABLE_ENTITY, format!("the request is invalid: {errors}"));
        error.0.errors = errors.0;
        error
    }

    /// A query string whose parameters are wrong: 400, with each parameter named.
    pub fn bad_query(errors: ValidationErrors) -> Self {
        let mut error = Self::new(StatusCode::BAD_REQUEST, format!("the query is invalid: {errors}"));
        error.0.errors = errors.0;
        error
    }

    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::invalid(FieldError::new(field, message).into())
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(what) => Self::not_found(what),
            StoreError::Forbidden(reason) => Self::new(StatusCode::FORBIDDEN, reason),
            StoreError::Stale { expected, current } => {
                let mut e = Self::new(
                    StatusCode::PRECONDITION_FAILED,
                    format!(
                        "the record has changed since version {expected} (it is now at version {current}); \
                         fetch it again and reapply your change"
                    ),
                );
                e.0.current_version = Some(current);
                e
            }
            StoreError::Transition(TransitionError::NotAllowed { from, to, allowed }) => {
                let mut e = Self::new(
                    StatusCode::CONFLICT,
                    TransitionError::NotAllowed { from, to, allowed: allowed.clone() }.to_string(),
                );
                e.0.allowed = Some(allowed.iter().map(|s| s.as_str().to_owned()).collect());
                e
            }
            StoreError::Transition(e @ TransitionError::ReasonRequired { .. }) => Self::field("reason", e.to_string()),
            StoreError::Invalid(errors) => Self::invalid(errors),
            StoreError::Conflict(detail) => Self::new(StatusCode::CONFLICT, detail),
            StoreError::Backend(message) => {
                tracing::error!(%message, "store failure");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the server could not complete the request; it has been logged",
                )
            }
        }
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(errors: ValidationErrors) -> Self {
        Self::invalid(errors)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = serde_json::to_vec(&self.0).unwrap_or_default();
        let mut response = (status, body).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(seconds) = self.0.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
