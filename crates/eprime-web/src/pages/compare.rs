//! `/compare?from=ID&to=ID`: two programme cycles' themes lined up — carried over (with the
//! terms they share), new, dropped — by `eprime_import::compare`.

use askama::Template;
use axum::extract::{Query, State};
use eprime_domain::DocumentId;
use eprime_import::record::stored_themes;
use eprime_server::AppState;
use eprime_store::DocumentFilter;
use serde::Deserialize;

use crate::page::{PageError, PageResult, render};
use crate::programme;
use crate::session::Viewer;
use crate::views::Chrome;

#[derive(Deserialize)]
pub struct CompareQuery {
    from: Option<String>,
    to: Option<String>,
}

pub struct Carried {
    pub from_code: String,
    pub from_title: String,
    pub to_code: String,
    pub to_title: String,
    pub shared: String,
    pub score: u32,
}

pub struct Side {
    pub id: String,
    pub title: String,
    pub partnership: String,
    pub themes: usize,
}

#[derive(Template)]
#[template(path = "compare.html")]
struct ComparePage {
    chrome: Chrome,
    choices: Vec<(String, String)>,
    from: Option<Side>,
    to: Option<Side>,
    carried: Vec<Carried>,
    new: Vec<(String, String)>,
    dropped: Vec<(String, String)>,
}

fn parse(raw: Option<&str>) -> Result<Option<DocumentId>, PageError> {
    raw.filter(|r| !r.is_empty()).map(|r| r.parse().map_err(|_| PageError::NotFound)).transpose()
}

pub async fn show(State(state): State<AppState>, viewer: Viewer, Query(query): Query<CompareQuery>) -> PageResult {
    let scope = viewer.scope();
    let store = state.store.as_ref();
    let mut documents = store.list_documents(&scope, &DocumentFilter::default()).await?;
    programme::in_time_order(&mut documents);
    let choices = documents
        .iter()
        .filter(|d| programme::is_cycle(d.kind))
        .map(|d| (d.id.to_string(), format!("{} — {}", d.partnership, d.title)))
        .collect();
    let mut page = ComparePage {
        chrome: Chrome::new(&viewer, "partnership"),
        choices,
        from: None,
        to: None,
        carried: Vec::new(),
        new: Vec::new(),
        dropped: Vec::new(),
    };
    let (Some(from), Some(to)) = (parse(query.from.as_deref())?, parse(query.to.as_deref())?) else {
        return Ok(render(&page));
    };
    let from = store.document(&scope, from).await?.ok_or(PageError::NotFound)?;
    let to = store.document(&scope, to).await?.ok_or(PageError::NotFound)?;
    let (a, b) = (stored_themes(&from.elements), stored_themes(&to.elements));
    let comparison = eprime_import::compare(&a, &b);
    let side = |d: &eprime_store::DocumentDetail, themes: usize| Side {
        id: d.document.id.to_string(),
        title: d.document.title.to_string(),
        partnership: d.document.partnership.to_string(),
        themes,
    };
    page.from = Some(side(&from, a.len()));
    page.to = Some(side(&to, b.len()));
    page.carried = comparison
        .carried_over
        .into_iter()
        .map(|m| Carried {
            from_code: m.from.code,
            from_title: m.from.title,
            to_code: m.to.code,
            to_title: m.to.title,
            shared: m.shared_terms.join(", "),
            score: (m.score * 100.0).round() as u32,
        })
        .collect();
    page.new = comparison.new.into_iter().map(|t| (t.code, t.title)).collect();
    page.dropped = comparison.dropped.into_iter().map(|t| (t.code, t.title)).collect();
    Ok(render(&page))
}
