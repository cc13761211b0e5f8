//! Importing a partnership document's text into the store: shared by `POST
//! /api/v1/documents/import` and `eprime import-document`.
//!
//! The same text twice changes nothing (it is recognised by its hash). A new text of a document
//! already held — same partnership, kind and title — becomes a new document that supersedes the
//! old one, whose history is kept.

use eprime_domain::access::may_edit_programme;
use eprime_domain::{
    Caller, Classification, Document, DocumentId, DocumentStatus, Edition, FieldError, Framework, Marking, PartnerCode,
    Principal, Text, Title, ValidationErrors,
};
use eprime_import::ImportedDocument;
use eprime_import::record::{Provenance, content_hash, new_document};
use eprime_store::{DocumentDetail, DocumentFilter, NewPartnership, Store, StoreError};

/// What the caller says about the document beyond its text. `None` keeps the defaults the text
/// implies (see [`Provenance::defaults`]).
#[derive(Clone, Debug, Default)]
pub struct ImportSettings {
    pub status: Option<DocumentStatus>,
    pub edition: Option<Edition>,
    pub marking: Option<Marking>,
    /// The document this one replaces, when it is not found by partnership, kind and title.
    pub supersedes: Option<DocumentId>,
    /// Where the text came from (a file name, a URL).
    pub source: String,
}

/// What an import did.
#[derive(Debug)]
pub enum ImportOutcome {
    /// A new document; `superseded` names the one it replaced; `new_partnership` says the
    /// partnership the text names did not exist and was created for it.
    Created { detail: DocumentDetail, superseded: Option<DocumentId>, new_partnership: bool },
    /// The same text was imported before: nothing changed.
    Unchanged { document: Document },
}

/// Stores an imported document for `actor` (NATO staff).
pub async fn store_import(
    store: &dyn Store,
    actor: &Principal,
    text: &str,
    imported: &ImportedDocument,
    settings: ImportSettings,
) -> Result<ImportOutcome, StoreError> {
    may_edit_programme(actor)?;
    let scope = Caller::User(actor.clone()).read_scope();
    let partnership: PartnerCode = imported.partner.clone().ok_or_else(|| {
        StoreError::from(FieldError::new("partner", "the text names no partner; say which (e.g. JPN)"))
    })?;
    if let Some(document) = store.document_by_hash(&scope, &partnership, &content_hash(text)).await? {
        return Ok(ImportOutcome::Unchanged { document });
    }
    let new_partnership = store.partnership(&scope, &partnership).await?.is_none();
    if new_partnership {
        create_partnership(store, actor, imported, &partnership).await?;
    }
    let mut provenance = Provenance::defaults(imported, partnership.clone(), settings.source);
    if let Some(status) = settings.status {
        provenance.status = status;
    }
    if let Some(edition) = settings.edition {
        provenance.edition = edition;
    }
    if let Some(marking) = settings.marking {
        provenance.marking = if marking.classification == Classification::Public {
            marking
        } else {
            // A partnership's documents are always released to the partner.
            let mut orgs = marking.releasable_list().to_vec();
            orgs.push(partnership.as_org());
            Marking::releasable_to(orgs)
        };
    }
    let mut new = new_document(imported, text, provenance).map_err(StoreError::from)?;
    new.supersedes = match settings.supersedes {
        Some(id) => Some(id),
        None => predecessor(store, &scope, imported, &partnership).await?,
    };
    let superseded = new.supersedes;
    let detail = store.create_document(actor, new).await?;
    Ok(ImportOutcome::Created { detail, superseded, new_partnership })
}

/// A programme can arrive before its partnership is recorded: record it from what the text says,
/// known to the partner only until NATO staff say more.
async fn create_partnership(
    store: &dyn Store,
    actor: &Principal,
    imported: &ImportedDocument,
    partner: &PartnerCode,
) -> Result<(), StoreError> {
    let name = imported.parties.first().map_or(partner.as_str(), String::as_str);
    let new = NewPartnership {
        partner: partner.clone(),
        name: Title::parse(name).or_else(|_| Title::parse(partner.as_str()))?,
        framework: Framework::Other,
        since: String::new(),
        summary: Text::default(),
        marking: Marking::releasable_to([partner.as_org()]),
    };
    store.create_partnership(actor, new).await.map(|_| ())
}

/// The live document this text is a new version of: same partnership, kind and title.
async fn predecessor(
    store: &dyn Store,
    scope: &eprime_domain::ReadScope,
    imported: &ImportedDocument,
    partnership: &PartnerCode,
) -> Result<Option<DocumentId>, StoreError> {
    let filter = DocumentFilter { partnership: Some(partnership.clone()), kind: Some(imported.kind) };
    let documents = store.list_documents(scope, &filter).await?;
    Ok(documents
        .iter()
        .rev()
        .find(|d| {
            d.status != DocumentStatus::Superseded && d.title.as_str().eq_ignore_ascii_case(imported.title.trim())
        })
        .map(|d| d.id))
}

/// Collects the settings of an API request, reporting every bad field.
pub fn settings_from(
    status: Option<&str>,
    edition: Option<&str>,
    marking: Option<&str>,
    releasable_to: Option<&[String]>,
    supersedes: Option<&str>,
    source: String,
) -> Result<ImportSettings, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let settings = ImportSettings {
        status: status.and_then(|s| errors.check(DocumentStatus::parse(s))),
        edition: edition.and_then(|e| errors.check(Edition::parse(e))),
        marking: match (marking, releasable_to) {
            (None, None) => None,
            (m, r) => {
                let classification = m.map(Classification::parse).transpose();
                let orgs = r
                    .unwrap_or_default()
                    .iter()
                    .enumerate()
                    .map(|(i, o)| eprime_domain::OrgCode::parse(o).map_err(|e| e.at(format!("releasable_to[{i}]"))))
                    .collect::<Result<Vec<_>, _>>();
                match (errors.check(classification), errors.check(orgs)) {
                    (Some(c), Some(orgs)) => errors.check(Marking::new(c.unwrap_or_default(), orgs)),
                    _ => None,
                }
            }
        },
        supersedes: supersedes.and_then(|s| {
            errors.check(s.parse().map_err(|_| FieldError::new("supersedes", format!("`{s}` is not a document id"))))
        }),
        source,
    };
    errors.into_result()?;
    Ok(settings)
}
