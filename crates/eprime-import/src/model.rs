//! The structured result of an import. Field names are part of the public JSON contract.

use eprime_domain::{DocumentKind, PartnerCode};
use serde::{Deserialize, Serialize};
use time::Date;

use crate::dates::serde_date;

/// Everything the importer could read from one document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportedDocument {
    pub kind: DocumentKind,
    pub title: String,
    pub partner: Option<PartnerCode>,
    /// The parties, partner first, then NATO (spelled "North Atlantic Treaty Organization").
    pub parties: Vec<String>,
    #[serde(with = "serde_date::option")]
    pub signed_on: Option<Date>,
    pub signed_at: Option<String>,
    /// The date a web page states as its own (publication or "last updated").
    #[serde(with = "serde_date::option")]
    pub published_on: Option<Date>,
    pub period: Option<Period>,
    /// "open" when the text says it is the Open Edition.
    pub edition: Option<String>,
    pub entry_into_force: Option<Clause>,
    pub review: Option<Clause>,
    /// "nac" and/or "partner", as named by the entry-into-force clause.
    pub approvers: Vec<String>,
    pub signatories: Vec<Signatory>,
    pub sections: Vec<Section>,
    pub strategic_objectives: Vec<Item>,
    pub priority_issues: Vec<PriorityIssue>,
    /// Every partnership goal, flat, in document order (the same goals as under `priority_issues`).
    pub partnership_goals: Vec<Item>,
    pub priority_areas: Vec<Item>,
    pub cooperation_modalities: Vec<Item>,
    pub warnings: Vec<Warning>,
}

/// A programme period: whole years unless the text gives days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    #[serde(with = "serde_date")]
    pub from: Date,
    #[serde(with = "serde_date")]
    pub to: Date,
}

/// A clause quoted from the text, with the line it starts on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clause {
    pub text: String,
    pub line: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signatory {
    /// With the honorific as written: "Mr Shinzo Abe".
    pub name: String,
    pub office: String,
    pub line: u32,
}

/// A part of the document under one heading (numbered "1", "II", … or unnumbered).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    pub number: Option<String>,
    pub title: String,
    pub line: u32,
    pub paragraphs: Vec<Paragraph>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paragraph {
    /// The paragraph's own number ("1.1", "a", "iv"); `None` for bullets and plain text.
    pub number: Option<String>,
    pub text: String,
    pub line: u32,
}

/// A programme element: objective, goal, area or modality.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub code: String,
    /// Non-empty, one line, at most 300 characters.
    pub title: String,
    pub text: String,
    pub line: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriorityIssue {
    pub code: String,
    pub title: String,
    pub line: u32,
    pub goals: Vec<Item>,
}

/// Something that looks like structure but could not be placed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    pub line: u32,
    pub message: String,
}

impl ImportedDocument {
    pub(crate) fn empty(kind: DocumentKind) -> Self {
        Self {
            kind,
            title: String::new(),
            partner: None,
            parties: Vec::new(),
            signed_on: None,
            signed_at: None,
            published_on: None,
            period: None,
            edition: None,
            entry_into_force: None,
            review: None,
            approvers: Vec::new(),
            signatories: Vec::new(),
            sections: Vec::new(),
            strategic_objectives: Vec::new(),
            priority_issues: Vec::new(),
            partnership_goals: Vec::new(),
            priority_areas: Vec::new(),
            cooperation_modalities: Vec::new(),
            warnings: Vec::new(),
        }
    }
}
