//! Partnership documents (JPD, IPCP, ITPP, …), their editions, approvals and lifecycle.

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::codes::PartnerCode;
use crate::error::FieldError;
use crate::ids::{DocumentId, ElementId};
use crate::marking::Marking;
use crate::text::{Text, Title};

/// The kind of a partnership document. The model assumes no single type or cycle length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "UPPERCASE")]
pub enum DocumentKind {
    /// Joint Political Declaration: the founding political document of a partnership.
    Jpd,
    /// Individual Partnership and Cooperation Programme.
    Ipcp,
    /// Individually Tailored Partnership Programme (since the 2021 reform).
    Itpp,
    /// Individual Partnership Action Plan.
    Ipap,
    /// Annual National Programme.
    Anp,
    Other,
}

impl DocumentKind {
    pub const ALL: [DocumentKind; 6] = [Self::Jpd, Self::Ipcp, Self::Itpp, Self::Ipap, Self::Anp, Self::Other];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jpd => "JPD",
            Self::Ipcp => "IPCP",
            Self::Itpp => "ITPP",
            Self::Ipap => "IPAP",
            Self::Anp => "ANP",
            Self::Other => "OTHER",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        Self::ALL.into_iter().find(|kind| kind.as_str().eq_ignore_ascii_case(raw.trim())).ok_or_else(|| {
            FieldError::new("kind", format!("`{raw}` is not a document kind (JPD, IPCP, ITPP, IPAP, ANP or OTHER)"))
        })
    }

    /// Whether documents of this kind carry a programme (objectives, goals, areas) that
    /// activities are carried out under. A declaration does not.
    pub fn is_programme(self) -> bool {
        !matches!(self, Self::Jpd)
    }
}

/// Which edition of a document this is: the published Open Edition, or the fuller restricted one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Edition {
    Open,
    #[default]
    Restricted,
}

impl Edition {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Restricted => "restricted",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        match raw {
            "open" => Ok(Self::Open),
            "restricted" => Ok(Self::Restricted),
            other => Err(FieldError::new("edition", format!("`{other}` is not an edition (open or restricted)"))),
        }
    }
}

/// Lifecycle of a document: draft → agreed → in force → superseded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DocumentStatus {
    Draft,
    Agreed,
    InForce,
    Superseded,
}

impl DocumentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Agreed => "agreed",
            Self::InForce => "in_force",
            Self::Superseded => "superseded",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        [Self::Draft, Self::Agreed, Self::InForce, Self::Superseded].into_iter().find(|s| s.as_str() == raw).ok_or_else(
            || {
                FieldError::new(
                    "status",
                    format!("`{raw}` is not a document status (draft, agreed, in_force, superseded)"),
                )
            },
        )
    }

    /// The statuses a document may move to from this one. Entry into force is not here:
    /// it follows from the approvals (see [`entry_into_force`]).
    pub fn next(self) -> &'static [DocumentStatus] {
        match self {
            Self::Draft => &[Self::Agreed],
            Self::Agreed => &[Self::Draft],
            Self::InForce => &[Self::Superseded],
            Self::Superseded => &[],
        }
    }
}

/// Who approves a programme: it enters into force when both have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Approver {
    /// The North Atlantic Council.
    Nac,
    /// The partner nation's government.
    Partner,
}

impl Approver {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Nac => "nac",
            Self::Partner => "partner",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        match raw {
            "nac" => Ok(Self::Nac),
            "partner" => Ok(Self::Partner),
            other => Err(FieldError::new("by", format!("`{other}` is not an approver (nac or partner)"))),
        }
    }
}

/// One recorded approval of a document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Approval {
    pub by: Approver,
    /// When it was given; `None` when the sources record the approval but not its date.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub on: Option<Date>,
}

/// Whether both the North Atlantic Council and the partner have approved: the condition for a
/// programme to be in force.
pub fn approved_by_both(approvals: &[Approval]) -> bool {
    [Approver::Nac, Approver::Partner].iter().all(|who| approvals.iter().any(|a| a.by == *who))
}

/// The date a programme enters into force: the later of the NAC's and the partner's approval,
/// once both exist with known dates. `None` while either is missing or undated.
pub fn entry_into_force(approvals: &[Approval]) -> Option<Date> {
    if !approved_by_both(approvals) {
        return None;
    }
    approvals.iter().map(|a| a.on).collect::<Option<Vec<_>>>()?.into_iter().max()
}

/// Someone who signed a document, with the office they signed in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Signatory {
    pub name: String,
    /// e.g. "Prime Minister of Japan".
    pub office: String,
}

/// The kind of element in a programme's structure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ElementKind {
    /// An end the programme pursues (ITPP Part 2).
    StrategicObjective,
    /// A heading that groups partnership goals (ITPP: "EMERGING SECURITY ISSUES").
    PriorityIssue,
    /// A way to reach the objectives (ITPP Part 3); belongs to a priority issue when there is one.
    PartnershipGoal,
    /// A focus area of practical cooperation (IPCP §3.1.x).
    PriorityArea,
}

impl ElementKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StrategicObjective => "strategic_objective",
            Self::PriorityIssue => "priority_issue",
            Self::PartnershipGoal => "partnership_goal",
            Self::PriorityArea => "priority_area",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        [Self::StrategicObjective, Self::PriorityIssue, Self::PartnershipGoal, Self::PriorityArea]
            .into_iter()
            .find(|k| k.as_str() == raw)
            .ok_or_else(|| FieldError::new("kind", format!("`{raw}` is not a programme element kind")))
    }
}

/// A programme element before it is stored: what an importer or an editor produces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewElement {
    pub kind: ElementKind,
    /// The document's own numbering ("SO1", "3.1.5", "PG-CYBER"): unique per document and kind.
    pub code: String,
    pub title: Title,
    pub text: Text,
    /// Index (into the same list) of the priority issue a goal belongs to.
    pub parent: Option<usize>,
    /// Line of the source text the element was read from, when imported.
    pub source_line: Option<u32>,
}

/// A partnership document as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Document {
    pub id: DocumentId,
    pub partnership: PartnerCode,
    pub kind: DocumentKind,
    pub title: Title,
    pub edition: Edition,
    pub status: DocumentStatus,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub signed_on: Option<Date>,
    pub signed_at: Option<String>,
    /// The date a published copy carries, when it differs from the signing (a web page's date).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub published_on: Option<Date>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub period_from: Option<Date>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub period_to: Option<Date>,
    /// Derived from the approvals: the later of the NAC's and the partner's.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub entered_into_force_on: Option<Date>,
    pub signatories: Vec<Signatory>,
    pub approvals: Vec<Approval>,
    pub supersedes: Option<DocumentId>,
    /// Where the text came from (a seed file, a URL) and what the sources say about it.
    pub source: Option<String>,
    pub notes: Text,
    /// SHA-256 of the imported text, so importing the same text twice changes nothing.
    pub content_hash: Option<String>,
    #[serde(flatten)]
    pub marking: Marking,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: OffsetDateTime,
}

/// One element of a document's programme.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Element {
    pub id: ElementId,
    pub document: DocumentId,
    pub kind: ElementKind,
    pub code: String,
    pub title: Title,
    pub text: Text,
    /// The priority issue a goal belongs to.
    pub parent: Option<ElementId>,
    pub position: i64,
    pub source_line: Option<u32>,
}

/// A document to store, with its programme structure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewDocument {
    pub partnership: PartnerCode,
    pub kind: DocumentKind,
    pub title: Title,
    pub edition: Edition,
    pub status: DocumentStatus,
    pub signed_on: Option<Date>,
    pub signed_at: Option<String>,
    pub published_on: Option<Date>,
    pub period_from: Option<Date>,
    pub period_to: Option<Date>,
    pub signatories: Vec<Signatory>,
    pub approvals: Vec<Approval>,
    pub supersedes: Option<DocumentId>,
    pub source: Option<String>,
    pub notes: Text,
    pub content_hash: Option<String>,
    pub marking: Marking,
    pub elements: Vec<NewElement>,
}

impl NewDocument {
    /// Checks what no single field can: a period in order, element codes unique per kind,
    /// goals pointing at priority issues, and an `in_force` status backed by both approvals.
    pub fn check(&self) -> Result<(), crate::error::ValidationErrors> {
        let mut errors = crate::error::ValidationErrors::default();
        if let (Some(from), Some(to)) = (self.period_from, self.period_to)
            && to < from
        {
            errors.push(FieldError::new("period", format!("ends {to} before it starts {from}")));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, element) in self.elements.iter().enumerate() {
            if !seen.insert((element.kind, element.code.as_str())) {
                errors
                    .push(FieldError::new(format!("elements[{i}].code"), format!("`{}` appears twice", element.code)));
            }
            if let Some(parent) = element.parent {
                let is_issue = self.elements.get(parent).is_some_and(|p| p.kind == ElementKind::PriorityIssue);
                if element.kind != ElementKind::PartnershipGoal || !is_issue || parent >= i {
                    errors.push(FieldError::new(
                        format!("elements[{i}].parent"),
                        "only a partnership goal has a parent, and it must be an earlier priority issue",
                    ));
                }
            }
        }
        if self.status == DocumentStatus::InForce && self.kind.is_programme() && !approved_by_both(&self.approvals) {
            errors.push(FieldError::new(
                "status",
                "a programme is in force only once both the NAC and the partner have approved it",
            ));
        }
        errors.into_result()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn kinds_round_trip_and_reject_unknown() {
        for kind in DocumentKind::ALL {
            assert_eq!(DocumentKind::parse(kind.as_str()).unwrap(), kind);
        }
        assert_eq!(DocumentKind::parse("itpp").unwrap(), DocumentKind::Itpp);
        assert!(DocumentKind::parse("MOU").is_err());
    }

    #[test]
    fn entry_into_force_needs_both_approvals() {
        let nac = Approval { by: Approver::Nac, on: Some(date!(2014 - 05 - 01)) };
        let jpn = Approval { by: Approver::Partner, on: Some(date!(2014 - 05 - 06)) };
        assert_eq!(entry_into_force(&[]), None);
        assert_eq!(entry_into_force(std::slice::from_ref(&nac)), None);
        assert_eq!(entry_into_force(std::slice::from_ref(&jpn)), None);
        assert!(!approved_by_both(std::slice::from_ref(&jpn)));
        assert_eq!(entry_into_force(&[nac.clone(), jpn]), Some(date!(2014 - 05 - 06)));
        let undated = Approval { by: Approver::Partner, on: None };
        assert!(approved_by_both(&[nac.clone(), undated.clone()]), "an undated approval still counts");
        assert_eq!(entry_into_force(&[nac, undated]), None, "but gives no date");
    }
}
