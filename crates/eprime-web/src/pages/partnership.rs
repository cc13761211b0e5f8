//! `/partnerships/{partner}`: the documents as a timeline, the current programme's tree with
//! activity counts (goals without activities highlighted), charts, and the activities.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use eprime_domain::access::may_edit_activity;
use eprime_domain::{Document, DocumentStatus, PartnerCode};
use eprime_server::tally::Counted;
use eprime_server::{AppState, RenderedPart, fresh};
use eprime_store::{ActivityFilter, DocumentFilter, StatusCounts};

use crate::charts::{self, Period, ThemeBar};
use crate::page::{PageError, PageResult, render_around};
use crate::programme::{self, ActivityListing, ListPosition, Tree};
use crate::session::Viewer;
use crate::views::{Chrome, date, opt_date};

pub struct DocItem {
    pub id: String,
    pub kind: &'static str,
    pub title: String,
    pub signed: String,
    pub period: String,
    pub status: String,
    pub superseded: bool,
    pub current: bool,
}

pub struct YearRow {
    pub year: i32,
    pub label: String,
    pub counts: [usize; 7],
    pub total: usize,
}

#[derive(Template)]
#[template(path = "partnership.html")]
struct PartnershipPage {
    chrome: Chrome,
    code: String,
    name: String,
    body: Arc<RenderedPart>,
}

/// Everything on the page but its header, which is the viewer's own.
#[derive(Template)]
#[template(path = "partnership_body.html")]
struct PartnershipBody {
    code: String,
    name: String,
    framework: String,
    since: String,
    summary: String,
    marking: String,
    documents: Vec<DocItem>,
    programme_title: String,
    programme_id: String,
    tree: Tree,
    theme_count: usize,
    uncovered: usize,
    compare_default: Option<(String, String, String)>,
    goals_chart: String,
    timeline_chart: String,
    years: Vec<YearRow>,
    legend: Vec<(&'static str, &'static str)>,
    listing: ActivityListing,
    may_create: bool,
}

impl PartnershipBody {
    fn theme_rows(&self) -> Vec<&programme::Node> {
        self.tree.themes()
    }
}

fn partner(raw: &str) -> Result<PartnerCode, PageError> {
    PartnerCode::parse(raw).map_err(|_| PageError::NotFound)
}

struct Loaded {
    partnership: eprime_domain::Partnership,
    documents: Vec<Document>,
    current: Option<eprime_store::DocumentDetail>,
    /// The partnership's visible activities, counted (never loaded) by the store.
    counted: Arc<Counted>,
}

/// The partnership, its documents and the counts of its activities: five statements however many
/// activities it has.
async fn load(state: &AppState, viewer: &Viewer, raw: &str) -> Result<Loaded, PageError> {
    let code = partner(raw)?;
    let scope = viewer.scope();
    let store = state.store.as_ref();
    let partnership = store.partnership(&scope, &code).await?.ok_or(PageError::NotFound)?;
    let mut documents =
        store.list_documents(&scope, &DocumentFilter { partnership: Some(code.clone()), kind: None }).await?;
    programme::in_time_order(&mut documents);
    let current = match programme::current_programme(&documents) {
        Some(d) => store.document(&scope, d.id).await?,
        None => None,
    };
    let counted = state.tallies.tally(store, &scope, &code).await?;
    Ok(Loaded { partnership, documents, current, counted })
}

fn bars(tree: &Tree) -> Vec<ThemeBar> {
    tree.themes()
        .into_iter()
        .map(|n| ThemeBar { code: n.code.clone(), title: n.title.clone(), by_status: n.by_status })
        .collect()
}

/// Activities per starting year, from five years before the partnership's first document (earlier
/// ones are counted in the first year, which is then marked "folded") to the last start.
fn years(by_year: &BTreeMap<i32, StatusCounts>, documents: &[Document]) -> (Vec<YearRow>, bool) {
    let (Some(&earliest), Some(&last)) = (by_year.keys().next(), by_year.keys().next_back()) else {
        return (Vec::new(), false);
    };
    let documents_start = documents.iter().filter_map(|d| d.signed_on.or(d.period_from).map(|s| s.year())).min();
    let first = documents_start.map_or(earliest, |start| earliest.max(start - 5)).min(last);
    let rows = (first..=last)
        .map(|year| {
            let mut counts = [0; 7];
            for (_, by_status) in by_year.iter().filter(|(y, _)| **y == year || (year == first && **y < first)) {
                for (total, n) in counts.iter_mut().zip(by_status) {
                    *total += usize::try_from(*n).unwrap_or(usize::MAX);
                }
            }
            YearRow {
                year,
                label: if year == first && earliest < first { format!("{year} or earlier") } else { year.to_string() },
                total: counts.iter().sum(),
                counts,
            }
        })
        .collect();
    (rows, earliest < first)
}

fn periods(documents: &[Document]) -> Vec<Period> {
    documents
        .iter()
        .filter(|d| programme::is_cycle(d.kind))
        .filter_map(|d| {
            let from = d.period_from.or(d.signed_on).or(d.entered_into_force_on)?.year();
            let to = d.period_to.map(|t| t.year()).or_else(|| {
                // A programme without an end runs until the next one starts.
                documents
                    .iter()
                    .filter(|n| programme::is_cycle(n.kind) && n.id != d.id)
                    .filter_map(|n| n.period_from.or(n.signed_on).map(|s| s.year()))
                    .filter(|y| *y > from)
                    .min()
                    .map(|y| y - 1)
            })?;
            Some(Period { label: format!("{} {from}–{to}", d.kind.as_str()), from, to })
        })
        .collect()
}

fn timeline_svg(loaded: &Loaded) -> (String, Vec<YearRow>) {
    let (years, folded) = years(&loaded.counted.tally.by_year, &loaded.documents);
    let series: Vec<(i32, [usize; 7])> = years.iter().map(|y| (y.year, y.counts)).collect();
    (charts::timeline("timeline-chart", &series, &periods(&loaded.documents), folded), years)
}

pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(raw): Path<String>,
    Query(position): Query<ListPosition>,
) -> PageResult {
    let code = partner(&raw)?;
    let may_create = viewer.principal().is_some_and(|v| may_edit_activity(v, &code).is_ok());
    // The key holds all the body depends on besides the store: the scope, the partnership, the
    // position in its list of activities, and whether the viewer may add one.
    let key = (viewer.scope(), format!("partnership {code} {may_create} {:?}", position.after));
    let body = fresh::get_or_read(&state.kept.page_parts, &state.clock, key, async {
        let loaded = load(&state, &viewer, &raw).await?;
        let body = body(&state, &viewer, &loaded, position.after, may_create).await?;
        let html = body.render().map_err(|error| {
            tracing::error!(%error, "a page template failed to render");
            PageError::Internal
        })?;
        Ok::<_, PageError>(RenderedPart { title: body.name, html })
    })
    .await?;
    Ok(render_around(
        body.html.len(),
        &PartnershipPage {
            chrome: Chrome::new(&viewer, "partnership"),
            code: code.to_string(),
            name: body.title.clone(),
            body,
        },
    ))
}

async fn body(
    state: &AppState,
    viewer: &Viewer,
    loaded: &Loaded,
    after: Option<String>,
    may_create: bool,
) -> Result<PartnershipBody, PageError> {
    let p = &loaded.partnership;
    let current_id = loaded.current.as_ref().map(|d| d.document.id);
    let documents = loaded
        .documents
        .iter()
        .map(|d| DocItem {
            id: d.id.to_string(),
            kind: if d.kind == eprime_domain::DocumentKind::Other { "SOURCE" } else { d.kind.as_str() },
            title: d.title.to_string(),
            signed: match (&d.signed_on, &d.signed_at) {
                (Some(on), Some(at)) => format!("signed {} in {at}", date(*on)),
                (Some(on), None) => format!("signed {}", date(*on)),
                _ => d.published_on.map(|p| format!("published {}", date(p))).unwrap_or_default(),
            },
            period: match (d.period_from, d.period_to) {
                (None, None) => String::new(),
                (from, to) => format!("{} – {}", opt_date(from), opt_date(to)),
            },
            status: d.status.as_str().replace('_', " "),
            superseded: d.status == DocumentStatus::Superseded,
            current: Some(d.id) == current_id,
        })
        .collect();
    let tree = match &loaded.current {
        Some(detail) => Tree::build(detail, &loaded.counted.tally),
        None => Tree::empty(),
    };
    let programmes: Vec<&Document> = loaded.documents.iter().filter(|d| programme::is_cycle(d.kind)).collect();
    let compare_default = match (programmes.first(), loaded.current.as_ref()) {
        (Some(first), Some(current)) if first.id != current.document.id => Some((
            first.id.to_string(),
            current.document.id.to_string(),
            format!("{} → {}", first.title, current.document.title),
        )),
        _ => None,
    };
    let goals_chart = charts::goals_by_status("goals-chart", &bars(&tree));
    let (timeline_chart, years) = timeline_svg(loaded);
    let filter = ActivityFilter { partnership: Some(p.partner.clone()), ..Default::default() };
    let base = format!("/partnerships/{}", p.partner);
    let listing = ActivityListing::load(state, &viewer.scope(), &filter, after, loaded.counted.total(), &base).await?;
    Ok(PartnershipBody {
        code: p.partner.to_string(),
        name: p.name.to_string(),
        framework: p.framework.as_str().replace('_', " "),
        since: p.since.clone(),
        summary: p.summary.to_string(),
        marking: p.marking.banner(),
        documents,
        programme_title: loaded.current.as_ref().map(|d| d.document.title.to_string()).unwrap_or_default(),
        programme_id: loaded.current.as_ref().map(|d| d.document.id.to_string()).unwrap_or_default(),
        theme_count: tree.themes().len(),
        uncovered: tree.uncovered(),
        tree,
        compare_default,
        goals_chart,
        timeline_chart,
        years,
        legend: charts::legend(),
        listing,
        may_create,
    })
}

/// A chart as `image/svg+xml`, with a policy that lets it carry nothing active.
pub(crate) fn svg(body: String) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    response
}

/// The goals chart alone, as `image/svg+xml`.
pub async fn goals_chart(State(state): State<AppState>, viewer: Viewer, Path(raw): Path<String>) -> PageResult {
    let loaded = load(&state, &viewer, &raw).await?;
    let tree = match &loaded.current {
        Some(detail) => Tree::build(detail, &loaded.counted.tally),
        None => return Err(PageError::NotFound),
    };
    Ok(svg(charts::goals_by_status("goals-chart", &bars(&tree))))
}

/// The timeline chart alone, as `image/svg+xml`.
pub async fn timeline_chart(State(state): State<AppState>, viewer: Viewer, Path(raw): Path<String>) -> PageResult {
    let loaded = load(&state, &viewer, &raw).await?;
    Ok(svg(timeline_svg(&loaded).0))
}
