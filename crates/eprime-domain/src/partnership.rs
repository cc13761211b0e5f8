//! Organisations, areas of cooperation and partnerships: the reference data everything hangs on.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::codes::{AreaCode, OrgCode, PartnerCode};
use crate::error::FieldError;
use crate::marking::Marking;
use crate::text::{Text, Title};

/// What sort of organisation this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    /// NATO itself and its bodies (NAC, IS, IMS, commands, programmes).
    NatoBody,
    /// One of the 32 Allies.
    Ally,
    /// A partner nation.
    Partner,
    /// A school, Centre of Excellence or training centre offering events.
    Provider,
}

impl OrgKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NatoBody => "nato_body",
            Self::Ally => "ally",
            Self::Partner => "partner",
            Self::Provider => "provider",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        [Self::NatoBody, Self::Ally, Self::Partner, Self::Provider].into_iter().find(|k| k.as_str() == raw).ok_or_else(
            || {
                FieldError::new(
                    "kind",
                    format!("`{raw}` is not an organisation kind (nato_body, ally, partner, provider)"),
                )
            },
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Organisation {
    pub code: OrgCode,
    pub name: Title,
    pub kind: OrgKind,
    /// The nation a provider or body is based in, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<OrgCode>,
}

/// An Area of Cooperation of the Partnership Cooperation Menu.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Area {
    pub code: AreaCode,
    pub title: Title,
}

/// The framework a partnership belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Framework {
    PartnersAcrossTheGlobe,
    PartnershipForPeace,
    MediterraneanDialogue,
    IstanbulCooperationInitiative,
    Other,
}

impl Framework {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PartnersAcrossTheGlobe => "partners_across_the_globe",
            Self::PartnershipForPeace => "partnership_for_peace",
            Self::MediterraneanDialogue => "mediterranean_dialogue",
            Self::IstanbulCooperationInitiative => "istanbul_cooperation_initiative",
            Self::Other => "other",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        [
            Self::PartnersAcrossTheGlobe,
            Self::PartnershipForPeace,
            Self::MediterraneanDialogue,
            Self::IstanbulCooperationInitiative,
            Self::Other,
        ]
        .into_iter()
        .find(|f| f.as_str() == raw)
        .ok_or_else(|| FieldError::new("framework", format!("`{raw}` is not a partnership framework")))
    }
}

/// NATO's relationship with one partner nation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Partnership {
    pub partner: PartnerCode,
    /// The partner nation's name ("Japan").
    pub name: Title,
    pub framework: Framework,
    /// When relations began, as the sources state it ("1990s").
    pub since: String,
    pub summary: Text,
    #[serde(flatten)]
    pub marking: Marking,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: OffsetDateTime,
}
