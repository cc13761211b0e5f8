//! Human text with limits: titles are one line and short, free text is bounded.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::FieldError;

/// A non-empty, single-line title of at most [`Title::MAX_CHARS`] characters, trimmed.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String))]
#[serde(try_from = "String", into = "String")]
pub struct Title(String);

impl Title {
    pub const MAX_CHARS: usize = 300;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let title = raw.trim();
        if title.is_empty() {
            return Err(FieldError::new("title", "must not be empty"));
        }
        if title.chars().any(char::is_control) {
            return Err(FieldError::new("title", "must be one line without control characters"));
        }
        let chars = title.chars().count();
        if chars > Self::MAX_CHARS {
            return Err(FieldError::new(
                "title",
                format!("is {chars} characters long; at most {} allowed", Self::MAX_CHARS),
            ));
        }
        Ok(Self(title.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Free text (descriptions, outcomes, reasons) of at most [`Text::MAX_CHARS`] characters.
/// May be empty; line breaks are kept, other control characters are refused.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String))]
#[serde(try_from = "String", into = "String")]
pub struct Text(String);

impl Text {
    pub const MAX_CHARS: usize = 20_000;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let text = raw.trim();
        if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') {
            return Err(FieldError::new("text", "must not contain control characters"));
        }
        let chars = text.chars().count();
        if chars > Self::MAX_CHARS {
            return Err(FieldError::new(
                "text",
                format!("is {chars} characters long; at most {} allowed", Self::MAX_CHARS),
            ));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

macro_rules! text_impls {
    ($($ty:ident),*) => {$(
        impl TryFrom<String> for $ty {
            type Error = FieldError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }
        impl From<$ty> for String {
            fn from(value: $ty) -> String {
                value.0
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}
text_impls!(Title, Text);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_trimmed_single_lines() {
        assert_eq!(Title::parse("  Cyber defence  ").unwrap().as_str(), "Cyber defence");
        assert!(Title::parse("   ").is_err());
        assert!(Title::parse("two\nlines").is_err());
        assert!(Title::parse(&"x".repeat(301)).is_err());
        assert!(Title::parse(&"é".repeat(300)).is_ok());
    }

    #[test]
    fn text_keeps_line_breaks_but_not_other_controls() {
        assert!(Text::parse("one\ntwo").is_ok());
        assert!(Text::parse("bell\u{7}").is_err());
        assert!(Text::parse("").unwrap().is_empty());
    }
}
