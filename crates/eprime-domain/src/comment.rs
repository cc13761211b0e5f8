//! Discussions: comments on activities, documents, programme elements and menu events.

use serde::Serialize;
use time::OffsetDateTime;

use crate::codes::PartnerCode;
use crate::error::FieldError;
use crate::ids::CommentId;
use crate::marking::Marking;

/// What a comment is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    Activity,
    Document,
    /// A partnership goal, priority area, priority issue or strategic objective.
    Element,
    /// An event offered in the Partnership Cooperation Menu (it belongs to no partnership).
    Offering,
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Activity => "activity",
            Self::Document => "document",
            Self::Element => "element",
            Self::Offering => "offering",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        [Self::Activity, Self::Document, Self::Element, Self::Offering]
            .into_iter()
            .find(|k| k.as_str() == raw)
            .ok_or_else(|| {
                FieldError::new(
                    "subject",
                    format!("`{raw}` cannot be discussed (activity, document, element, offering)"),
                )
            })
    }
}

/// A comment as stored and shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Comment {
    pub id: CommentId,
    pub subject: SubjectKind,
    pub subject_id: String,
    /// The partnership of the subject; `None` for a menu event, which belongs to no partnership.
    pub partnership: Option<PartnerCode>,
    pub author: String,
    /// Empty once deleted.
    pub body: String,
    /// Users mentioned as `@username`.
    pub mentions: Vec<String>,
    #[serde(flatten)]
    pub marking: Marking,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub deleted_at: Option<OffsetDateTime>,
}

/// A comment's text: 1–10,000 characters, no control characters but line breaks.
pub fn check_body(raw: &str) -> Result<String, FieldError> {
    let body = raw.trim();
    if body.is_empty() {
        return Err(FieldError::new("body", "must not be empty"));
    }
    if body.chars().count() > 10_000 {
        return Err(FieldError::new("body", "at most 10,000 characters"));
    }
    if body.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(FieldError::new("body", "must not contain control characters"));
    }
    Ok(body.to_owned())
}

/// The usernames a text mentions as `@username` (sorted, without duplicates). A mention is an `@`
/// at the start or after a non-word character, followed by a valid username; a trailing `.` is
/// punctuation, not part of the name.
pub fn mentions(body: &str) -> Vec<String> {
    let mut found = Vec::new();
    let chars: Vec<char> = body.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if *c != '@' || (i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')) {
            continue;
        }
        let name: String = chars[i + 1..]
            .iter()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
            .collect();
        let name = name.trim_end_matches('.');
        if crate::password::check_username(name).is_ok() {
            found.push(name.to_owned());
        }
    }
    found.sort();
    found.dedup();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_found_where_they_are_meant() {
        assert_eq!(mentions("Thanks @jpn.officer and @nato.staff."), ["jpn.officer", "nato.staff"]);
        assert_eq!(mentions("write to desk@nato.int"), Vec::<String>::new(), "an e-mail address is no mention");
        assert_eq!(mentions("@ab is too short, @kor.officer, @kor.officer"), ["kor.officer"]);
        assert_eq!(mentions("(@fra.ally)"), ["fra.ally"]);
    }

    #[test]
    fn bodies_are_checked() {
        assert!(check_body("  ").is_err());
        assert!(check_body(&"x".repeat(10_001)).is_err());
        assert_eq!(check_body(" Agreed.\nSee you in Brussels. ").unwrap(), "Agreed.\nSee you in Brussels.");
    }
}
