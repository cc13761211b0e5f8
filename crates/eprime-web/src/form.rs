//! Form bodies (`application/x-www-form-urlencoded`), read as a list of pairs so repeated fields
//! (check boxes) keep every value.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;

use crate::page::PageError;

/// Largest form accepted.
const LIMIT: usize = 128 * 1024;

pub struct FormData(pub Vec<(String, String)>);

impl FormData {
    pub fn parse(body: &[u8]) -> Self {
        Self(form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
    }

    /// The first value of a field, trimmed; `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
    }

    /// The value of a field as sent (untrimmed), or "".
    pub fn raw(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }

    /// Every non-blank value of a repeated field.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.trim().to_owned()).filter(|v| !v.is_empty()).collect()
    }
}

/// Splits "FRA, DEU ALLIES" into codes.
pub fn codes(raw: &str) -> Vec<String> {
    raw.split(|c: char| c == ',' || c.is_whitespace()).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

impl<S: Send + Sync> FromRequest<S> for FormData {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_form = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(PageError::BadRequest("send the form as application/x-www-form-urlencoded".into()));
        }
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|_| PageError::BadRequest("the form could not be read".into()))?;
        if body.len() > LIMIT {
            return Err(PageError::BadRequest("the form is too large".into()));
        }
        Ok(Self::parse(&body))
    }
}
