//! From what the importer read to a document the store keeps: the imported structure, plus the
//! provenance the text does not carry (status, edition, marking, approvals, where it came from).

use eprime_domain::{
    Approval, DocumentStatus, Edition, Element, ElementKind, FieldError, Marking, NewDocument, NewElement, PartnerCode,
    Signatory, Text, Title, ValidationErrors,
};
use sha2::{Digest, Sha256};

use crate::{ImportedDocument, Item, Theme};

/// What the text of a document does not say and its record needs.
pub struct Provenance {
    pub partnership: PartnerCode,
    pub status: DocumentStatus,
    pub edition: Edition,
    pub marking: Marking,
    pub approvals: Vec<Approval>,
    pub source: String,
    pub notes: String,
}

/// SHA-256 of a document's text (hex): the same text imported twice is recognised.
pub fn content_hash(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Builds the document to store: the importer's structure, the provenance the caller knows.
pub fn new_document(
    imported: &ImportedDocument,
    text: &str,
    provenance: Provenance,
) -> Result<NewDocument, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let mut elements = Vec::new();
    let mut push = |kind: ElementKind,
                    item: &Item,
                    parent: Option<usize>,
                    errors: &mut ValidationErrors|
     -> Option<usize> {
        let title = errors.check(Title::parse(&item.title).map_err(|e| at_line(e, item.line)))?;
        let text = errors.check(Text::parse(&item.text).map_err(|e| at_line(e, item.line)))?;
        elements.push(NewElement { kind, code: item.code.clone(), title, text, parent, source_line: Some(item.line) });
        Some(elements.len() - 1)
    };
    for item in &imported.strategic_objectives {
        push(ElementKind::StrategicObjective, item, None, &mut errors);
    }
    for issue in &imported.priority_issues {
        let as_item =
            Item { code: issue.code.clone(), title: issue.title.clone(), text: String::new(), line: issue.line };
        let parent = push(ElementKind::PriorityIssue, &as_item, None, &mut errors);
        for goal in &issue.goals {
            push(ElementKind::PartnershipGoal, goal, parent, &mut errors);
        }
    }
    // Goals outside any priority issue (documents that have goals but no issues).
    let grouped: std::collections::HashSet<&str> =
        imported.priority_issues.iter().flat_map(|i| i.goals.iter().map(|g| g.code.as_str())).collect();
    for goal in imported.partnership_goals.iter().filter(|g| !grouped.contains(g.code.as_str())) {
        push(ElementKind::PartnershipGoal, goal, None, &mut errors);
    }
    for area in &imported.priority_areas {
        push(ElementKind::PriorityArea, area, None, &mut errors);
    }
    let title = errors.check(Title::parse(&imported.title));
    let notes = errors.check(Text::parse(&provenance.notes).map_err(|e| e.at("notes")));
    errors.into_result()?;
    let (Some(title), Some(notes)) = (title, notes) else {
        return Err(ValidationErrors::default());
    };
    Ok(NewDocument {
        partnership: provenance.partnership,
        kind: imported.kind,
        title,
        edition: provenance.edition,
        status: provenance.status,
        signed_on: imported.signed_on,
        signed_at: imported.signed_at.clone(),
        published_on: imported.published_on,
        period_from: imported.period.as_ref().map(|p| p.from),
        period_to: imported.period.as_ref().map(|p| p.to),
        signatories: imported
            .signatories
            .iter()
            .map(|s| Signatory { name: s.name.clone(), office: s.office.clone() })
            .collect(),
        approvals: provenance.approvals,
        supersedes: None,
        source: Some(provenance.source),
        notes,
        content_hash: Some(content_hash(text)),
        marking: provenance.marking,
        elements,
    })
}

fn at_line(error: FieldError, line: u32) -> FieldError {
    let field = format!("line {line}: {}", error.field);
    error.at(field)
}

impl Provenance {
    /// What a text says about itself when nobody says more: signed means agreed (a draft is not
    /// signed), an Open Edition is public, anything else is NATO UNCLASSIFIED released to the
    /// partner.
    pub fn defaults(imported: &ImportedDocument, partnership: PartnerCode, source: String) -> Self {
        let open = imported.edition.as_deref() == Some("open");
        Self {
            status: if imported.signed_on.is_some() || !imported.signatories.is_empty() {
                DocumentStatus::Agreed
            } else {
                DocumentStatus::Draft
            },
            edition: if open { Edition::Open } else { Edition::Restricted },
            marking: if open { Marking::public() } else { Marking::releasable_to([partnership.as_org()]) },
            partnership,
            approvals: Vec::new(),
            source,
            notes: String::new(),
        }
    }
}

/// The themes of a stored programme, as [`crate::themes`] gives them for an imported one: its
/// goals if it has any, else its priority areas, else its strategic objectives.
pub fn stored_themes(elements: &[Element]) -> Vec<Theme> {
    let of = |kind: ElementKind| -> Vec<Theme> {
        elements
            .iter()
            .filter(|e| e.kind == kind)
            .map(|e| Theme { code: e.code.clone(), title: e.title.to_string(), text: e.text.to_string() })
            .collect()
    };
    [ElementKind::PartnershipGoal, ElementKind::PriorityArea, ElementKind::StrategicObjective]
        .into_iter()
        .map(of)
        .find(|themes| !themes.is_empty())
        .unwrap_or_default()
}
