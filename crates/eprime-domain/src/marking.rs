//! Markings and releasability: what a record says about who may read it.

use serde::{Deserialize, Serialize};

use crate::codes::OrgCode;
use crate::error::FieldError;

/// The classification marking of a record. e-PRIME holds unclassified information only:
/// a record is either public, or NATO UNCLASSIFIED and then seen by NATO plus whoever it is
/// released to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Classification {
    #[serde(rename = "PUBLIC")]
    Public,
    #[default]
    #[serde(rename = "NATO UNCLASSIFIED")]
    NatoUnclassified,
}

impl Classification {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "PUBLIC",
            Self::NatoUnclassified => "NATO UNCLASSIFIED",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        match raw {
            "PUBLIC" => Ok(Self::Public),
            "NATO UNCLASSIFIED" => Ok(Self::NatoUnclassified),
            other => {
                Err(FieldError::new("marking", format!("`{other}` is not a marking (PUBLIC or NATO UNCLASSIFIED)")))
            }
        }
    }
}

/// A marking with its releasability list: `NATO UNCLASSIFIED` releasable to `JPN`, `ALLIES`.
///
/// Serialises as two fields, `"marking"` and `"releasable_to"`, so records that flatten it show
/// `"marking": "PUBLIC"` at their top level.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Marking {
    #[serde(rename = "marking")]
    pub classification: Classification,
    /// Organisations (nations, providers, or the group `ALLIES`) the record is released to,
    /// sorted and without duplicates. Always empty for public records.
    releasable_to: Vec<OrgCode>,
}

impl Marking {
    pub fn public() -> Self {
        Self { classification: Classification::Public, releasable_to: Vec::new() }
    }

    /// NATO UNCLASSIFIED, released to the given organisations (deduplicated, ordered).
    pub fn releasable_to(orgs: impl IntoIterator<Item = OrgCode>) -> Self {
        let mut releasable_to: Vec<OrgCode> = orgs.into_iter().collect();
        releasable_to.sort();
        releasable_to.dedup();
        Self { classification: Classification::NatoUnclassified, releasable_to }
    }

    /// Builds a marking from its two parts, refusing a public record with a releasability list
    /// (meaningless, and a sign the caller misunderstood).
    pub fn new(classification: Classification, releasable_to: Vec<OrgCode>) -> Result<Self, FieldError> {
        match classification {
            Classification::Public if !releasable_to.is_empty() => Err(FieldError::new(
                "releasable_to",
                "a PUBLIC record is visible to everyone; releasability applies to NATO UNCLASSIFIED only",
            )),
            Classification::Public => Ok(Self::public()),
            Classification::NatoUnclassified => Ok(Self::releasable_to(releasable_to)),
        }
    }

    pub fn is_public(&self) -> bool {
        self.classification == Classification::Public
    }

    pub fn releasable_list(&self) -> &[OrgCode] {
        &self.releasable_to
    }

    /// "NATO UNCLASSIFIED Releasable to ALLIES, JPN" — the banner a page or export prints.
    pub fn banner(&self) -> String {
        if self.releasable_to.is_empty() {
            self.classification.as_str().to_owned()
        } else {
            let list: Vec<_> = self.releasable_to.iter().map(OrgCode::as_str).collect();
            format!("{} Releasable to {}", self.classification.as_str(), list.join(", "))
        }
    }
}
