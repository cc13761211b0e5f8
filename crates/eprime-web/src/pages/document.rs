//! `/documents/{id}`: a partnership document — its facts, approvals, signatories — and its
//! programme structure with the activities under each element.

use askama::Template;
use axum::extract::{Path, State};
use eprime_domain::DocumentId;
use eprime_server::AppState;
use eprime_store::{ActivityFilter, DocumentFilter, EntityType};

use crate::page::{PageError, PageResult, render};
use crate::pages::inbox::{WatchButton, watch_button};
use crate::programme::{self, Tree};
use crate::session::Viewer;
use crate::views::{Chrome, opt_date};

#[derive(Template)]
#[template(path = "document.html")]
struct DocumentPage {
    chrome: Chrome,
    id: String,
    partnership: String,
    partnership_name: String,
    kind: &'static str,
    title: String,
    edition: &'static str,
    status: String,
    marking: String,
    facts: Vec<(&'static str, String)>,
    signatories: Vec<(String, String)>,
    approvals: Vec<(String, String)>,
    supersedes: Option<(String, String)>,
    notes: String,
    tree: Tree,
    activity_count: u64,
    /// Other programmes of the same partnership, to compare with.
    others: Vec<(String, String)>,
    watch: Option<WatchButton>,
}

pub async fn show(State(state): State<AppState>, viewer: Viewer, Path(raw): Path<String>) -> PageResult {
    let id: DocumentId = raw.parse().map_err(|_| PageError::NotFound)?;
    let scope = viewer.scope();
    let store = state.store.as_ref();
    let detail = store.document(&scope, id).await?.ok_or(PageError::NotFound)?;
    let d = &detail.document;
    let partnership = store.partnership(&scope, &d.partnership).await?;
    let filter = ActivityFilter { document: Some(id), ..Default::default() };
    let tally = store.tally_activities(&scope, &filter).await?;
    let tree = Tree::build(&detail, &tally);
    let supersedes = match d.supersedes {
        Some(old) => store.document(&scope, old).await?.map(|o| (old.to_string(), o.document.title.to_string())),
        None => None,
    };
    let mut others =
        store.list_documents(&scope, &DocumentFilter { partnership: Some(d.partnership.clone()), kind: None }).await?;
    programme::in_time_order(&mut others);
    let others = if programme::is_cycle(d.kind) {
        others
            .into_iter()
            .filter(|o| programme::is_cycle(o.kind) && o.id != d.id)
            .map(|o| (o.id.to_string(), o.title.to_string()))
            .collect()
    } else {
        Vec::new()
    };
    let mut facts = vec![
        ("Signed", opt_date(d.signed_on)),
        ("Signed at", d.signed_at.clone().unwrap_or_default()),
        ("Published", opt_date(d.published_on)),
        (
            "Period",
            match (d.period_from, d.period_to) {
                (None, None) => String::new(),
                (f, t) => format!("{} – {}", opt_date(f), opt_date(t)),
            },
        ),
        ("Entered into force", opt_date(d.entered_into_force_on)),
        ("Source", d.source.clone().unwrap_or_default()),
        ("Version", d.version.to_string()),
    ];
    facts.retain(|(_, v)| !v.is_empty());
    let watch =
        watch_button(&state, &viewer, EntityType::Document, &id.to_string(), format!("/documents/{id}")).await?;
    let page = DocumentPage {
        chrome: Chrome::new(&viewer, "partnership"),
        id: d.id.to_string(),
        partnership: d.partnership.to_string(),
        partnership_name: partnership.map(|p| p.name.to_string()).unwrap_or_else(|| d.partnership.to_string()),
        kind: d.kind.as_str(),
        title: d.title.to_string(),
        edition: d.edition.as_str(),
        status: d.status.as_str().replace('_', " "),
        marking: d.marking.banner(),
        facts,
        signatories: d.signatories.iter().map(|s| (s.name.clone(), s.office.clone())).collect(),
        approvals: d
            .approvals
            .iter()
            .map(|a| {
                let by = if a.by == eprime_domain::Approver::Nac { "North Atlantic Council" } else { "Partner" };
                (by.to_owned(), a.on.map(crate::views::date).unwrap_or_else(|| "date not recorded".to_owned()))
            })
            .collect(),
        supersedes,
        notes: d.notes.to_string(),
        tree,
        activity_count: tally.total(),
        others,
        watch,
    };
    Ok(render(&page))
}
