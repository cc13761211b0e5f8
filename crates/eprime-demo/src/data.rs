//! The shape of the curated TOML files in `data/`, as written by their curators.

use serde::Deserialize;

#[derive(Deserialize)]
pub struct Organisations {
    pub organisation: Vec<OrganisationRow>,
}

#[derive(Deserialize)]
pub struct OrganisationRow {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub country: Option<String>,
    #[allow(dead_code)]
    pub provider_type: Option<String>,
}

#[derive(Deserialize)]
pub struct Areas {
    pub area: Vec<AreaRow>,
}

#[derive(Deserialize)]
pub struct AreaRow {
    pub code: String,
    pub title: String,
}

#[derive(Deserialize)]
pub struct Partnerships {
    pub partnership: Vec<PartnershipRow>,
}

#[derive(Deserialize)]
pub struct PartnershipRow {
    pub partner: String,
    pub framework: String,
    pub since: String,
    pub summary: String,
    pub marking: String,
    #[serde(default)]
    pub releasable_to: Vec<String>,
}

#[derive(Deserialize)]
pub struct Documents {
    /// What the importer cannot read from a seed text (status, edition, approvals…).
    pub document_facts: Vec<DocumentFacts>,
    /// Documents without a text in the seeds.
    #[serde(default)]
    pub document: Vec<DocumentRow>,
    /// Web pages and articles that activities cite as their source.
    #[serde(default)]
    pub source: Vec<SourceRow>,
}

#[derive(Deserialize)]
pub struct DocumentFacts {
    pub seed: String,
    pub key: String,
    pub status: String,
    pub edition: String,
    pub marking: String,
    #[serde(default)]
    pub releasable_to: Vec<String>,
    #[serde(default)]
    pub approvals: Vec<ApprovalRow>,
    pub signed_on: Option<String>,
    pub signed_at: Option<String>,
    pub notes: String,
    pub supersedes: Option<String>,
}

#[derive(Deserialize)]
pub struct ApprovalRow {
    pub by: String,
    pub on: Option<String>,
}

#[derive(Deserialize)]
pub struct DocumentRow {
    pub key: String,
    pub partnership: String,
    pub kind: String,
    pub title: String,
    pub status: String,
    pub edition: String,
    pub marking: String,
    #[serde(default)]
    pub releasable_to: Vec<String>,
    pub notes: String,
    #[serde(default)]
    pub element: Vec<ElementRow>,
}

#[derive(Deserialize)]
pub struct ElementRow {
    pub kind: String,
    pub code: String,
    pub title: String,
    #[serde(default)]
    pub text: String,
}

#[derive(Deserialize)]
pub struct SourceRow {
    pub key: String,
    pub seed: String,
    pub title: String,
    pub published_on: Option<String>,
}

#[derive(Deserialize)]
pub struct Activities {
    pub activity: Vec<ActivityRow>,
}

#[derive(Deserialize)]
pub struct ActivityRow {
    pub partnership: String,
    pub title: String,
    pub kind: String,
    pub description: String,
    pub starts_on: Option<String>,
    pub ends_on: Option<String>,
    #[allow(dead_code)]
    pub dates_as_given: Option<String>,
    pub location: Option<String>,
    pub lead: Option<String>,
    #[serde(default)]
    pub participants: Vec<String>,
    pub status: String,
    pub status_reason: Option<String>,
    pub outcome: Option<String>,
    #[serde(default)]
    pub supports: Vec<String>,
    #[serde(default)]
    pub areas: Vec<String>,
    pub source: Option<SourceRefRow>,
    pub marking: String,
    #[serde(default)]
    pub releasable_to: Vec<String>,
    #[serde(default)]
    pub illustrative: bool,
}

#[derive(Deserialize)]
pub struct SourceRefRow {
    pub document: String,
    pub locator: String,
    pub quote: String,
}
