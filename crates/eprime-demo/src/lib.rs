//! The Japan–NATO demo.
//!
//! [`load`] fills an empty store with: the reference data (organisations, areas of cooperation);
//! the partnerships of Japan, the Republic of Korea, Australia, New Zealand and Mongolia; the
//! three Japan–NATO documents *read from the seed texts by the importer* (so the demo proves
//! the importer), with what the texts do not say (status, edition, approvals) from
//! `data/documents.toml`; the other partners' IPCPs; the curated activities, each linked to the
//! goals or priority areas it serves and to the source it is recorded in; the year's
//! Partnership Cooperation Menu with Japan's nominations ([`menu`]); and the demo accounts.
//!
//! Everything is embedded in the binary, so `eprime serve --demo` works from any directory.

mod data;
pub mod menu;

use std::collections::HashMap;

use eprime_domain::dates::parse_date;
use eprime_domain::{
    ActivityKind, ActivityStatus, Approval, Approver, Area, AreaCode, Classification, DocumentId, DocumentKind,
    DocumentStatus, Edition, ElementId, ElementKind, Framework, Marking, NewActivity, NewDocument, NewElement, OrgCode,
    OrgKind, Organisation, PartnerCode, Principal, Role, RoleBinding, SourceRef, Text, Title, UserId,
};
use eprime_import::{ImportOptions, import};
use eprime_store::{DocumentDetail, NewPartnership, NewUser, Store, StoreError};

use eprime_import::record::{Provenance, content_hash, new_document};

/// The seed documents, embedded.
pub const SEEDS: [(&str, &str); 5] = [
    ("000_3b0b251586ad6093.txt", include_str!("../../../seeds/000_3b0b251586ad6093.txt")),
    ("001_569038fb7a03f57f.txt", include_str!("../../../seeds/001_569038fb7a03f57f.txt")),
    ("002_00afff77f7d7b4ab.txt", include_str!("../../../seeds/002_00afff77f7d7b4ab.txt")),
    ("003_82e5337bd389dbe6.txt", include_str!("../../../seeds/003_82e5337bd389dbe6.txt")),
    ("004_cf7b80114048b85a.txt", include_str!("../../../seeds/004_cf7b80114048b85a.txt")),
];

const ORGANISATIONS: &str = include_str!("../data/organisations.toml");
const AREAS: &str = include_str!("../data/areas.toml");
const PARTNERSHIPS: &str = include_str!("../data/partnerships.toml");
const DOCUMENTS: &str = include_str!("../data/documents.toml");
const ACTIVITIES: &str = include_str!("../data/activities.toml");

/// A demo account.
pub struct DemoAccount {
    pub username: &'static str,
    pub display_name: &'static str,
    pub role: Role,
    pub partner: Option<&'static str>,
    pub organisation: Option<&'static str>,
}

const fn account(
    username: &'static str,
    display_name: &'static str,
    role: Role,
    partner: Option<&'static str>,
    organisation: Option<&'static str>,
) -> DemoAccount {
    DemoAccount { username, display_name, role, partner, organisation }
}

/// The demo accounts, one per kind of user, so each sees a visibly different slice.
pub const ACCOUNTS: [DemoAccount; 8] = [
    account("nato.admin", "NATO administrator", Role::NatoAdmin, None, None),
    account("nato.staff", "NATO partnership desk officer", Role::NatoStaff, None, None),
    account("auditor", "Auditor", Role::Auditor, None, None),
    account("jpn.officer", "Japan Mission to NATO officer", Role::PartnerOfficer, Some("JPN"), None),
    account("jpn.admin", "Japan partner administrator", Role::PartnerAdmin, Some("JPN"), None),
    account("kor.officer", "Republic of Korea Mission officer", Role::PartnerOfficer, Some("KOR"), None),
    account("ndc.provider", "NATO Defense College course office", Role::Provider, None, Some("NDC")),
    account("fra.ally", "French delegation officer", Role::AllyOfficer, None, Some("FRA")),
];

/// The password of every demo account unless `EPRIME_DEMO_PASSWORD` says otherwise.
pub const DEFAULT_PASSWORD: &str = "demo-password";

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("the database is not empty; the demo fills only an empty one")]
    NotEmpty,
    #[error("demo data {file}: {message}")]
    Data { file: &'static str, message: String },
    #[error("importing seed {seed}: {message}")]
    Import { seed: String, message: String },
    #[error("storing {what}: {source}")]
    Record { what: String, source: StoreError },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn data_error(file: &'static str, message: impl std::fmt::Display) -> DemoError {
    DemoError::Data { file, message: message.to_string() }
}

/// What the demo put in the database.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub organisations: usize,
    pub areas: usize,
    pub partnerships: usize,
    pub documents: usize,
    pub activities: usize,
    pub menu_offerings: usize,
    /// Japan's nominations to menu events (participants).
    pub nominations: usize,
    pub accounts: usize,
}

/// Fills an empty store with the demo. `hash_password` turns the demo password into the stored
/// hash (the server's argon2id), called once per account.
pub async fn load(
    store: &dyn Store,
    password: &str,
    hash_password: &dyn Fn(&str) -> String,
) -> Result<Summary, DemoError> {
    if !store.is_empty().await? {
        return Err(DemoError::NotEmpty);
    }
    let loader = Principal {
        user_id: UserId::new(),
        username: "demo-loader".to_owned(),
        binding: RoleBinding::new(Role::NatoAdmin, None, None).map_err(|e| data_error("accounts", e))?,
    };
    let organisations = load_organisations(store, &loader).await?;
    let areas = load_areas(store, &loader).await?;
    let partnerships = load_partnerships(store, &loader).await?;
    let documents = load_documents(store, &loader).await?;
    let activities = load_activities(store, &loader, &documents).await?;
    // The menu around today, its statuses as they stand today.
    let today = time::OffsetDateTime::now_utc().date();
    let menu::Loaded { offerings: menu_offerings, nominations } = menu::load(store, &loader, today).await?;
    let accounts = load_accounts(store, password, hash_password).await?;
    let summary = Summary {
        organisations,
        areas,
        partnerships,
        documents: documents.len(),
        activities,
        menu_offerings,
        nominations,
        accounts,
    };
    tracing::info!(?summary, "demo loaded");
    Ok(summary)
}

async fn load_organisations(store: &dyn Store, loader: &Principal) -> Result<usize, DemoError> {
    const FILE: &str = "organisations.toml";
    let rows: data::Organisations = toml::from_str(ORGANISATIONS).map_err(|e| data_error(FILE, e))?;
    for row in &rows.organisation {
        let org = Organisation {
            code: OrgCode::parse(&row.code).map_err(|e| data_error(FILE, e))?,
            name: Title::parse(&row.name).map_err(|e| data_error(FILE, e))?,
            kind: OrgKind::parse(&row.kind).map_err(|e| data_error(FILE, e))?,
            country: row.country.as_deref().map(OrgCode::parse).transpose().map_err(|e| data_error(FILE, e))?,
        };
        store.upsert_organisation(loader, &org).await?;
    }
    Ok(rows.organisation.len())
}

async fn load_areas(store: &dyn Store, loader: &Principal) -> Result<usize, DemoError> {
    const FILE: &str = "areas.toml";
    let rows: data::Areas = toml::from_str(AREAS).map_err(|e| data_error(FILE, e))?;
    for row in &rows.area {
        let area = Area {
            code: AreaCode::parse(&row.code).map_err(|e| data_error(FILE, e))?,
            title: Title::parse(&row.title).map_err(|e| data_error(FILE, e))?,
        };
        store.upsert_area(loader, &area).await?;
    }
    Ok(rows.area.len())
}

fn marking(file: &'static str, classification: &str, releasable_to: &[String]) -> Result<Marking, DemoError> {
    let classification = match classification {
        "public" => Classification::Public,
        "nato_unclassified" => Classification::NatoUnclassified,
        other => return Err(data_error(file, format!("unknown marking `{other}`"))),
    };
    let orgs = releasable_to
        .iter()
        .map(|o| OrgCode::parse(o))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| data_error(file, e))?;
    Marking::new(classification, orgs).map_err(|e| data_error(file, e))
}

async fn load_partnerships(store: &dyn Store, loader: &Principal) -> Result<usize, DemoError> {
    const FILE: &str = "partnerships.toml";
    let rows: data::Partnerships = toml::from_str(PARTNERSHIPS).map_err(|e| data_error(FILE, e))?;
    let organisations = store.list_organisations().await?;
    for row in &rows.partnership {
        let partner = PartnerCode::parse(&row.partner).map_err(|e| data_error(FILE, e))?;
        let name = organisations
            .iter()
            .find(|o| o.code.as_str() == partner.as_str())
            .map(|o| o.name.clone())
            .ok_or_else(|| data_error(FILE, format!("partner {partner} is not in organisations.toml")))?;
        store
            .create_partnership(
                loader,
                NewPartnership {
                    partner,
                    name,
                    framework: Framework::parse(&row.framework).map_err(|e| data_error(FILE, e))?,
                    since: row.since.clone(),
                    summary: Text::parse(&row.summary).map_err(|e| data_error(FILE, e))?,
                    marking: marking(FILE, &row.marking, &row.releasable_to)?,
                },
            )
            .await?;
    }
    Ok(rows.partnership.len())
}

fn seed_text(file: &'static str, seed: &str) -> Result<&'static str, DemoError> {
    SEEDS
        .iter()
        .find(|(name, _)| *name == seed)
        .map(|(_, text)| *text)
        .ok_or_else(|| data_error(file, format!("no seed {seed}")))
}

fn date(file: &'static str, raw: Option<&str>) -> Result<Option<time::Date>, DemoError> {
    raw.map(|d| parse_date("date", d)).transpose().map_err(|e| data_error(file, e))
}

/// Loads every document and returns them by their data key.
async fn load_documents(store: &dyn Store, loader: &Principal) -> Result<HashMap<String, DocumentDetail>, DemoError> {
    const FILE: &str = "documents.toml";
    let rows: data::Documents = toml::from_str(DOCUMENTS).map_err(|e| data_error(FILE, e))?;
    let mut loaded: HashMap<String, DocumentDetail> = HashMap::new();
    // The seed texts, through the importer, oldest first so a newer one can supersede.
    for facts in &rows.document_facts {
        let text = seed_text(FILE, &facts.seed)?;
        let imported = import(text, &ImportOptions::default())
            .map_err(|e| DemoError::Import { seed: facts.seed.clone(), message: e.to_string() })?;
        let partnership = imported
            .partner
            .clone()
            .ok_or_else(|| DemoError::Import { seed: facts.seed.clone(), message: "no partner recognised".into() })?;
        let approvals = facts
            .approvals
            .iter()
            .map(|a| {
                Ok(Approval {
                    by: Approver::parse(&a.by).map_err(|e| data_error(FILE, e))?,
                    on: date(FILE, a.on.as_deref())?,
                })
            })
            .collect::<Result<Vec<_>, DemoError>>()?;
        let provenance = Provenance {
            partnership,
            status: DocumentStatus::parse(&facts.status).map_err(|e| data_error(FILE, e))?,
            edition: Edition::parse(&facts.edition).map_err(|e| data_error(FILE, e))?,
            marking: marking(FILE, &facts.marking, &facts.releasable_to)?,
            approvals,
            source: format!("seeds/{}", facts.seed),
            notes: facts.notes.clone(),
        };
        let mut new = new_document(&imported, text, provenance)
            .map_err(|e| DemoError::Import { seed: facts.seed.clone(), message: e.to_string() })?;
        // Where the text is silent, the curated facts fill in (the JPD page gives no signing date).
        if new.signed_on.is_none() {
            new.signed_on = date(FILE, facts.signed_on.as_deref())?;
        }
        if new.signed_at.is_none() {
            new.signed_at = facts.signed_at.clone();
        }
        if let Some(old) = &facts.supersedes {
            new.supersedes = Some(
                loaded
                    .get(old)
                    .ok_or_else(|| data_error(FILE, format!("{old} is not loaded before {}", facts.key)))?
                    .document
                    .id,
            );
        }
        let detail = store
            .create_document(loader, new)
            .await
            .map_err(|source| DemoError::Record { what: format!("document {}", facts.key), source })?;
        loaded.insert(facts.key.clone(), detail);
    }
    for row in &rows.document {
        let elements = row
            .element
            .iter()
            .map(|e| {
                Ok(NewElement {
                    kind: ElementKind::parse(&e.kind).map_err(|err| data_error(FILE, err))?,
                    code: e.code.clone(),
                    title: Title::parse(&e.title).map_err(|err| data_error(FILE, err))?,
                    text: Text::parse(&e.text).map_err(|err| data_error(FILE, err))?,
                    parent: None,
                    source_line: None,
                })
            })
            .collect::<Result<Vec<_>, DemoError>>()?;
        let new = NewDocument {
            partnership: PartnerCode::parse(&row.partnership).map_err(|e| data_error(FILE, e))?,
            kind: DocumentKind::parse(&row.kind).map_err(|e| data_error(FILE, e))?,
            title: Title::parse(&row.title).map_err(|e| data_error(FILE, e))?,
            edition: Edition::parse(&row.edition).map_err(|e| data_error(FILE, e))?,
            status: DocumentStatus::parse(&row.status).map_err(|e| data_error(FILE, e))?,
            signed_on: None,
            signed_at: None,
            published_on: None,
            period_from: None,
            period_to: None,
            signatories: Vec::new(),
            approvals: Vec::new(),
            supersedes: None,
            source: None,
            notes: Text::parse(&row.notes).map_err(|e| data_error(FILE, e))?,
            content_hash: None,
            marking: marking(FILE, &row.marking, &row.releasable_to)?,
            elements,
        };
        let detail = store
            .create_document(loader, new)
            .await
            .map_err(|source| DemoError::Record { what: format!("document {}", row.key), source })?;
        loaded.insert(row.key.clone(), detail);
    }
    // Pages and articles activities cite: kept as documents of kind OTHER with their text's hash.
    for row in &rows.source {
        let text = seed_text(FILE, &row.seed)?;
        let new = NewDocument {
            partnership: PartnerCode::parse("JPN").map_err(|e| data_error(FILE, e))?,
            kind: DocumentKind::Other,
            title: Title::parse(&row.title).map_err(|e| data_error(FILE, e))?,
            edition: Edition::Open,
            status: DocumentStatus::Agreed,
            signed_on: None,
            signed_at: None,
            published_on: date(FILE, row.published_on.as_deref())?,
            period_from: None,
            period_to: None,
            signatories: Vec::new(),
            approvals: Vec::new(),
            supersedes: None,
            source: Some(format!("seeds/{}", row.seed)),
            notes: Text::default(),
            content_hash: Some(content_hash(text)),
            marking: Marking::public(),
            elements: Vec::new(),
        };
        let detail = store.create_document(loader, new).await?;
        loaded.insert(row.key.clone(), detail);
    }
    Ok(loaded)
}

/// Resolves `DOCKEY:CODE` to the element's id.
fn element_id(documents: &HashMap<String, DocumentDetail>, reference: &str) -> Result<ElementId, DemoError> {
    const FILE: &str = "activities.toml";
    let (key, code) =
        reference.split_once(':').ok_or_else(|| data_error(FILE, format!("`{reference}` is not DOCKEY:CODE")))?;
    let document = documents.get(key).ok_or_else(|| data_error(FILE, format!("no document {key}")))?;
    document.elements.iter().find(|e| e.code == code && e.kind != ElementKind::PriorityIssue).map(|e| e.id).ok_or_else(
        || data_error(FILE, format!("{key} has no goal, area or objective {code} (the importer did not find it)")),
    )
}

async fn load_activities(
    store: &dyn Store,
    loader: &Principal,
    documents: &HashMap<String, DocumentDetail>,
) -> Result<usize, DemoError> {
    const FILE: &str = "activities.toml";
    let rows: data::Activities = toml::from_str(ACTIVITIES).map_err(|e| data_error(FILE, e))?;
    for row in &rows.activity {
        let context = |e: &dyn std::fmt::Display| data_error(FILE, format!("{}: {e}", row.title));
        let partnership = PartnerCode::parse(&row.partnership).map_err(|e| context(&e))?;
        let mut marking = marking(FILE, &row.marking, &row.releasable_to)?;
        if !marking.is_public() {
            let mut orgs = marking.releasable_list().to_vec();
            orgs.push(partnership.as_org());
            marking = Marking::releasable_to(orgs);
        }
        let mut description = row.description.clone();
        if row.illustrative {
            description.push_str("\n\n(Illustrative: not stated in a source document.)");
        }
        let source = row
            .source
            .as_ref()
            .map(|s| -> Result<SourceRef, DemoError> {
                let document: DocumentId = documents
                    .get(&s.document)
                    .map(|d| d.document.id)
                    .ok_or_else(|| context(&format!("no document {}", s.document)))?;
                Ok(SourceRef { document: Some(document), locator: s.locator.clone(), quote: s.quote.clone() })
            })
            .transpose()?;
        let mut supports = row.supports.iter().map(|r| element_id(documents, r)).collect::<Result<Vec<_>, _>>()?;
        supports.sort();
        supports.dedup();
        let status = ActivityStatus::parse(&row.status).map_err(|e| context(&e))?;
        let new = NewActivity {
            partnership,
            title: Title::parse(&row.title).map_err(|e| context(&e))?,
            kind: ActivityKind::parse(&row.kind).map_err(|e| context(&e))?,
            description: Text::parse(&description).map_err(|e| context(&e))?,
            starts_on: date(FILE, row.starts_on.as_deref())?,
            ends_on: date(FILE, row.ends_on.as_deref())?,
            location: row.location.clone(),
            lead: row.lead.as_deref().map(OrgCode::parse).transpose().map_err(|e| context(&e))?,
            participants: sorted(
                row.participants
                    .iter()
                    .map(|p| OrgCode::parse(p))
                    .collect::<Result<_, _>>()
                    .map_err(|e| context(&e))?,
            ),
            supports,
            areas: sorted(
                row.areas.iter().map(|a| AreaCode::parse(a)).collect::<Result<_, _>>().map_err(|e| context(&e))?,
            ),
            outcome: Text::parse(row.outcome.as_deref().unwrap_or_default()).map_err(|e| context(&e))?,
            source,
            offering: None,
            marking,
            status,
            status_reason: row.status_reason.clone().filter(|_| status.needs_reason()),
        };
        store
            .create_activity(loader, new)
            .await
            .map_err(|source| DemoError::Record { what: format!("activity `{}`", row.title), source })?;
    }
    Ok(rows.activity.len())
}

fn sorted<T: Ord>(mut values: Vec<T>) -> Vec<T> {
    values.sort();
    values.dedup();
    values
}

async fn load_accounts(
    store: &dyn Store,
    password: &str,
    hash_password: &dyn Fn(&str) -> String,
) -> Result<usize, DemoError> {
    for account in &ACCOUNTS {
        let partner = account.partner.map(PartnerCode::parse).transpose().map_err(|e| data_error("accounts", e))?;
        let organisation =
            account.organisation.map(OrgCode::parse).transpose().map_err(|e| data_error("accounts", e))?;
        let binding = RoleBinding::new(account.role, partner, organisation).map_err(|e| data_error("accounts", e))?;
        store
            .create_user(
                None,
                NewUser {
                    username: account.username.to_owned(),
                    display_name: account.display_name.to_owned(),
                    binding,
                    password_hash: hash_password(password),
                },
            )
            .await?;
    }
    Ok(ACCOUNTS.len())
}
