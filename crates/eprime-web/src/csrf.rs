//! Every state-changing form carries `csrf_token`, which must equal the token derived from the
//! viewer's session. A cross-site page can make the browser send the cookie but cannot read the
//! token, so it cannot forge the field.

use eprime_domain::Principal;

use crate::form::FormData;
use crate::page::PageError;
use crate::session::Viewer;

/// The signed-in principal behind a form post, once its CSRF token checks out. Anonymous posts
/// go to the sign-in page; a missing or wrong token is refused with 403.
pub fn check<'a>(viewer: &'a Viewer, form: &FormData, next: &str) -> Result<&'a Principal, PageError> {
    let Some(principal) = viewer.principal() else {
        return Err(PageError::SignIn { next: next.to_owned() });
    };
    let sent = form.raw("csrf_token");
    if !constant_time_eq(sent.as_bytes(), viewer.csrf().as_bytes()) {
        return Err(PageError::Forbidden(
            "This form did not carry a valid security token (it may be from another site, or from before you \
             signed in again). Nothing was changed: go back, reload the page and try again."
                .to_owned(),
        ));
    }
    Ok(principal)
}

/// Compares secrets without revealing through timing how much of them matched.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}
