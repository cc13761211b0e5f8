//! Response shapes that are not a single domain record.

use eprime_domain::{
    Activity, Document, DocumentId, DocumentKind, DocumentStatus, Element, ElementId, ElementKind, PartnerCode,
    Partnership, Role,
};
use eprime_store::{ChangeEntry, DocumentDetail, LoggedRecord};
use serde::Serialize;
use time::Date;
use utoipa::ToSchema;

/// A programme element as a document shows it.
#[derive(Serialize, ToSchema)]
pub struct ElementView {
    pub id: ElementId,
    pub code: String,
    pub title: String,
    pub text: String,
    /// Line of the source text it was imported from.
    pub source_line: Option<u32>,
}

impl From<&Element> for ElementView {
    fn from(e: &Element) -> Self {
        Self {
            id: e.id,
            code: e.code.clone(),
            title: e.title.to_string(),
            text: e.text.to_string(),
            source_line: e.source_line,
        }
    }
}

/// A priority issue with the partnership goals it groups.
#[derive(Serialize, ToSchema)]
pub struct PriorityIssueView {
    #[serde(flatten)]
    pub issue: ElementView,
    pub goals: Vec<ElementView>,
}

/// A document with its programme structure.
#[derive(Serialize, ToSchema)]
pub struct DocumentView {
    #[serde(flatten)]
    pub document: Document,
    pub strategic_objectives: Vec<ElementView>,
    pub priority_issues: Vec<PriorityIssueView>,
    /// Every partnership goal, flat, in document order (also listed under their priority issue).
    pub partnership_goals: Vec<ElementView>,
    pub priority_areas: Vec<ElementView>,
}

impl From<DocumentDetail> for DocumentView {
    fn from(detail: DocumentDetail) -> Self {
        let of = |kind| detail.elements_of(kind).map(ElementView::from).collect::<Vec<_>>();
        let priority_issues = detail
            .elements_of(ElementKind::PriorityIssue)
            .map(|issue| PriorityIssueView {
                issue: issue.into(),
                goals: detail
                    .elements_of(ElementKind::PartnershipGoal)
                    .filter(|g| g.parent == Some(issue.id))
                    .map(ElementView::from)
                    .collect(),
            })
            .collect();
        Self {
            strategic_objectives: of(ElementKind::StrategicObjective),
            partnership_goals: of(ElementKind::PartnershipGoal),
            priority_areas: of(ElementKind::PriorityArea),
            priority_issues,
            document: detail.document,
        }
    }
}

/// A document in a list or a timeline.
#[derive(Serialize, ToSchema)]
pub struct DocumentSummary {
    pub id: DocumentId,
    pub kind: DocumentKind,
    pub title: String,
    pub status: DocumentStatus,
    #[schema(value_type = Option<String>, format = Date)]
    pub signed_on: Option<Date>,
    #[schema(value_type = Option<String>, format = Date)]
    pub period_from: Option<Date>,
    #[schema(value_type = Option<String>, format = Date)]
    pub period_to: Option<Date>,
}

impl From<&Document> for DocumentSummary {
    fn from(d: &Document) -> Self {
        Self {
            id: d.id,
            kind: d.kind,
            title: d.title.to_string(),
            status: d.status,
            signed_on: d.signed_on,
            period_from: d.period_from,
            period_to: d.period_to,
        }
    }
}

/// A partnership with its documents (as the caller may see them) and activity count.
#[derive(Serialize, ToSchema)]
pub struct PartnershipView {
    #[serde(flatten)]
    pub partnership: Partnership,
    pub documents: Vec<DocumentSummary>,
    /// Activities of this partnership the caller may see.
    pub activity_count: u64,
}

/// A goal, priority area or objective, with where it comes from.
#[derive(Serialize, ToSchema)]
pub struct ElementDetailView {
    #[serde(flatten)]
    pub element: ElementView,
    pub kind: ElementKind,
    pub partnership: PartnerCode,
    pub document: DocumentSummary,
    /// Activities supporting it that the caller may see.
    pub activity_count: u64,
}

/// One page of activities.
#[derive(Serialize, ToSchema)]
pub struct ActivityPage {
    #[schema(value_type = Vec<Activity>)]
    pub items: Vec<Box<serde_json::value::RawValue>>,
    /// Pass as `after` for the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

/// One entry of a record's change history.
#[derive(Serialize, ToSchema)]
pub struct HistoryEntry {
    pub seq: i64,
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub at: time::OffsetDateTime,
    pub actor: Option<String>,
    /// `create`, `update`, `transition`, `approve`, …
    pub operation: String,
    /// Fields whose value changed, with before and after (empty on create).
    pub changes: Vec<FieldChange>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
}

/// A field's value before and after a change.
#[derive(Serialize, ToSchema)]
pub struct FieldChange {
    pub field: String,
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
}

impl From<ChangeEntry> for HistoryEntry {
    fn from(entry: ChangeEntry) -> Self {
        let changes = entry
            .changed_fields(&["version", "updated_at"])
            .into_iter()
            .map(|(field, before, after)| FieldChange {
                field: field.to_owned(),
                before: before.cloned(),
                after: after.cloned(),
            })
            .collect();
        Self {
            seq: entry.seq,
            at: entry.at,
            actor: entry.actor,
            operation: entry.operation.as_str().to_owned(),
            changes,
            after: entry.after.map(LoggedRecord::into_value),
        }
    }
}

/// The signed-in user.
#[derive(Serialize, ToSchema)]
pub struct UserView {
    pub username: String,
    pub role: Role,
    pub partner: Option<PartnerCode>,
    pub organisation: Option<eprime_domain::OrgCode>,
}
