use serde::Serialize;
use time::{Date, OffsetDateTime};

use super::{ActivityKind, ActivityStatus};
use crate::codes::{AreaCode, OrgCode, PartnerCode};
use crate::ids::{ActivityId, DocumentId, ElementId, OfferingId};
use crate::marking::Marking;
use crate::text::{Text, Title};

/// A cooperation activity carried out under a partnership's programme.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Activity {
    pub id: ActivityId,
    pub partnership: PartnerCode,
    pub title: Title,
    pub description: Text,
    pub kind: ActivityKind,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub starts_on: Option<Date>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub ends_on: Option<Date>,
    pub location: Option<String>,
    /// The organisation leading the activity.
    pub lead: Option<OrgCode>,
    /// Organisations taking part (the partner, Allies who join, providers).
    pub participants: Vec<OrgCode>,
    /// Programme elements (partnership goals, priority areas, objectives) it serves.
    pub supports: Vec<ElementId>,
    /// Areas of Cooperation of the menu it falls under.
    pub areas: Vec<AreaCode>,
    pub status: ActivityStatus,
    /// Why it was postponed or cancelled.
    pub status_reason: Option<String>,
    pub outcome: Text,
    /// Where the activity is recorded in the sources.
    pub source: Option<SourceRef>,
    /// The menu event this activity takes part in, when a partner adopted one into its programme.
    pub offering: Option<OfferingId>,
    #[serde(flatten)]
    pub marking: Marking,
    /// Increases with every change; send it back in `If-Match` to update.
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: OffsetDateTime,
}

/// A reference from an activity to the document (and place in it) that records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SourceRef {
    pub document: Option<DocumentId>,
    /// Where in the document: "§3.1.5", "Wider cooperation, 1st bullet".
    pub locator: String,
    /// The source's own words.
    pub quote: String,
}
