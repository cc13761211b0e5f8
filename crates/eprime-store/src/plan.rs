//! The rules of a write, decided once for every store: given the record as the actor sees it,
//! what it becomes — or why it may not. The stores only read, lock and save.

use eprime_domain::comment::{check_body, mentions};
use eprime_domain::{Comment, Principal};
use time::OffsetDateTime;

use crate::StoreError;

/// A comment's new text: only its author edits it, never once deleted, and only from the version
/// the author last saw (when given).
pub fn edited_comment(
    before: &Comment,
    actor: &Principal,
    expected_version: Option<i64>,
    body: &str,
    now: OffsetDateTime,
) -> Result<Comment, StoreError> {
    if before.author != actor.username {
        return Err(StoreError::Forbidden("only its author edits a comment".to_owned()));
    }
    if before.deleted_at.is_some() {
        return Err(StoreError::Conflict("the comment was deleted".to_owned()));
    }
    if let Some(expected) = expected_version.filter(|v| *v != before.version) {
        return Err(StoreError::Stale { expected, current: before.version });
    }
    let body = check_body(body)?;
    let mut after = before.clone();
    after.mentions = mentions(&body);
    after.body = body;
    after.version += 1;
    after.updated_at = now;
    Ok(after)
}

/// A deleted comment: its text removed (the change log keeps it), by its author or NATO staff.
/// `None` when it is already deleted (deleting twice changes nothing).
pub fn deleted_comment(
    before: &Comment,
    actor: &Principal,
    now: OffsetDateTime,
) -> Result<Option<Comment>, StoreError> {
    if before.author != actor.username && !actor.role().is_nato_writer() {
        return Err(StoreError::Forbidden("a comment is deleted by its author or by NATO staff".to_owned()));
    }
    if before.deleted_at.is_some() {
        return Ok(None);
    }
    let mut after = before.clone();
    after.body = String::new();
    after.mentions = Vec::new();
    after.version += 1;
    after.updated_at = now;
    after.deleted_at = Some(now);
    Ok(Some(after))
}
