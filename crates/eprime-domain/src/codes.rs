//! Codes that name organisations, partners and areas of cooperation.
//!
//! Each is a validated newtype: once you hold a `PartnerCode` it is three upper-case letters,
//! so nothing downstream re-checks it.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::FieldError;

/// ISO 3166-1 alpha-3 code of a partner nation, e.g. `JPN`. A partnership is named by it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, example = "JPN"))]
#[serde(try_from = "String", into = "String")]
pub struct PartnerCode(String);

impl PartnerCode {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let code = raw.trim();
        if code.len() == 3 && code.bytes().all(|b| b.is_ascii_alphabetic()) {
            Ok(Self(code.to_ascii_uppercase()))
        } else {
            Err(FieldError::new(
                "partner",
                format!("`{raw}` is not an ISO 3166 alpha-3 code (three letters, e.g. JPN)"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The organisation code of the partner nation itself (nations are organisations too).
    pub fn as_org(&self) -> OrgCode {
        OrgCode(self.0.clone())
    }
}

/// Code of any organisation: a nation (ISO alpha-3: `JPN`, `FRA`), a NATO body (`NATO`, `NAC`,
/// `IS`, `IMS`), or a provider (`NDC`, `NSO`, `CCDCOE`). Also the reserved group code
/// [`OrgCode::ALLIES`], meaning every Ally at once, used in releasability lists.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, example = "NDC"))]
#[serde(try_from = "String", into = "String")]
pub struct OrgCode(String);

impl OrgCode {
    /// Group code standing for all 32 Allies in a releasability list.
    pub const ALLIES: &'static str = "ALLIES";

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let code = raw.trim();
        let ok = (2..=16).contains(&code.len())
            && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && code.bytes().next().is_some_and(|b| b.is_ascii_alphabetic());
        if ok {
            Ok(Self(code.to_ascii_uppercase()))
        } else {
            Err(FieldError::new(
                "organisation",
                format!("`{raw}` is not an organisation code (2–16 letters, digits or '-', starting with a letter)"),
            ))
        }
    }

    pub fn allies() -> Self {
        Self(Self::ALLIES.to_owned())
    }

    /// Group code standing for every partner nation at once (menu events open to all partners).
    pub const PARTNERS: &'static str = "PARTNERS";

    pub fn partners() -> Self {
        Self(Self::PARTNERS.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Code of an Area of Cooperation of the Partnership Cooperation Menu (`CEP`, `C3`, `CYD`).
/// The list of areas is data, not code: this type only checks the shape.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, example = "CEP"))]
#[serde(try_from = "String", into = "String")]
pub struct AreaCode(String);

impl AreaCode {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let code = raw.trim();
        if (2..=8).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Ok(Self(code.to_ascii_uppercase()))
        } else {
            Err(FieldError::new(
                "area",
                format!("`{raw}` is not an area-of-cooperation code (2–8 letters or digits, e.g. CEP)"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! string_code_impls {
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
        impl std::str::FromStr for $ty {
            type Err = FieldError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
    )*};
}
string_code_impls!(PartnerCode, OrgCode, AreaCode);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partner_codes_are_three_letters_upper_cased() {
        assert_eq!(PartnerCode::parse("jpn").unwrap().as_str(), "JPN");
        assert_eq!(PartnerCode::parse(" KOR ").unwrap().as_str(), "KOR");
        for bad in ["", "JP", "JAPN", "J1N", "日本"] {
            assert!(PartnerCode::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn org_codes_accept_bodies_and_providers() {
        for good in ["NATO", "NDC", "CCDCOE", "FRA", "ALLIES", "NSO-OBERAMMERGAU"] {
            assert!(OrgCode::parse(good).is_ok(), "{good} refused");
        }
        for bad in ["", "N", "1NDC", "N D C", "THIS-CODE-IS-FAR-TOO-LONG"] {
            assert!(OrgCode::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn codes_deserialize_through_validation() {
        let ok: PartnerCode = serde_json::from_str("\"aus\"").unwrap();
        assert_eq!(ok.as_str(), "AUS");
        assert!(serde_json::from_str::<PartnerCode>("\"Australia\"").is_err());
    }
}
