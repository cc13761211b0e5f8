//! `/menu`: the Partnership Cooperation Menu, searched with a plain GET form (words, facet check
//! boxes with their counts, pages by `offset`), and a chart of events by area and month.
//!
//! The search index narrows and ranks; the hits are read back through the store with the
//! viewer's scope, so what a page lists is always what the store lets the viewer see.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use eprime_domain::OfferingId;
use eprime_domain::menu::Offering;
use eprime_search::{FacetCount, MenuHits, MenuQuery, SearchError};
use eprime_server::AppState;
use eprime_server::menu_index::visibility;

use crate::charts::{self, AreaMonths};
use crate::form::FormData;
use crate::page::{PageError, PageResult, render_status};
use crate::session::Viewer;
use crate::views::{Chrome, date, urlencode};

/// Results per page.
const PAGE: usize = 20;
/// The chart shows the areas with the most events; the rest would be unreadable slivers.
const CHART_AREAS: usize = 10;

/// The facets a search can narrow by: (query parameter, heading).
const FACETS: [(&str, &str); 7] = [
    ("area", "Area of cooperation"),
    ("type", "Event type"),
    ("provider", "Provider"),
    ("month", "Month"),
    ("location", "Location"),
    ("language", "Language"),
    ("open_seats", "Seats"),
];

pub struct FacetOption {
    pub value: String,
    pub label: String,
    pub count: u64,
    pub checked: bool,
}

pub struct FacetGroup {
    pub name: &'static str,
    pub heading: &'static str,
    pub options: Vec<FacetOption>,
}

pub struct ResultRow {
    pub id: String,
    pub title: String,
    pub code: String,
    pub provider: String,
    pub first_day: String,
    pub location: String,
    pub open_seats: u32,
    pub seats: u32,
    pub status: &'static str,
}

#[derive(Template)]
#[template(path = "menu.html")]
struct MenuPage {
    chrome: Chrome,
    q: String,
    q_error: Option<String>,
    /// Whether any facet box is ticked: the filters then start unfolded.
    filtering: bool,
    total: u64,
    first: usize,
    last: usize,
    facets: Vec<FacetGroup>,
    results: Vec<ResultRow>,
    previous: Option<String>,
    next: Option<String>,
    chart: String,
    chart_rows: Vec<(String, u64)>,
}

/// What the form sent: repeated parameters (one per ticked box) are kept, which axum's `Query`
/// would not do.
struct Params(FormData);

impl Params {
    fn parse(raw: Option<&str>) -> Self {
        Self(FormData::parse(raw.unwrap_or_default().as_bytes()))
    }

    fn query(&self) -> MenuQuery {
        let all = |name: &str| self.0.all(name);
        let upper = |name: &str| all(name).into_iter().map(|v| v.to_ascii_uppercase()).collect();
        let seats = all("open_seats");
        // Both boxes ticked means either, like none.
        let open_seats = match (seats.iter().any(|s| s == "yes"), seats.iter().any(|s| s == "no")) {
            (true, false) => Some(true),
            (false, true) => Some(false),
            _ => None,
        };
        MenuQuery {
            q: self.0.get("q").map(str::to_owned),
            areas: upper("area"),
            event_types: all("type"),
            providers: upper("provider"),
            months: all("month"),
            locations: all("location"),
            languages: all("language").into_iter().map(|v| v.to_ascii_lowercase()).collect(),
            statuses: Vec::new(),
            open_seats,
            // Without words to rank by, what is coming first.
            upcoming_from: Some(time::OffsetDateTime::now_utc().date()),
            offset: self.0.get("offset").and_then(|o| o.parse().ok()).unwrap_or(0).min(10_000),
            limit: PAGE,
        }
    }

    /// This search's link at another offset.
    fn at(&self, offset: usize) -> String {
        let mut pairs: Vec<String> = self
            .0
            .0
            .iter()
            .filter(|(k, v)| k != "offset" && !v.trim().is_empty())
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect();
        if offset > 0 {
            pairs.push(format!("offset={offset}"));
        }
        format!("/menu?{}", pairs.join("&"))
    }
}

fn groups(facets: &eprime_search::Facets, params: &Params, providers: &HashMap<String, String>) -> Vec<FacetGroup> {
    let lists: [&Vec<FacetCount>; 7] = [
        &facets.area,
        &facets.event_type,
        &facets.provider,
        &facets.month,
        &facets.location,
        &facets.language,
        &facets.open_seats,
    ];
    FACETS
        .into_iter()
        .zip(lists)
        .map(|((name, heading), counts)| {
            let chosen = params.0.all(name);
            FacetGroup {
                name,
                heading,
                options: counts
                    .iter()
                    .map(|c| FacetOption {
                        label: label(name, &c.value, providers),
                        checked: chosen.iter().any(|v| v.eq_ignore_ascii_case(&c.value)),
                        value: c.value.clone(),
                        count: c.count,
                    })
                    .collect(),
            }
        })
        .filter(|g| !g.options.is_empty())
        .collect()
}

fn label(facet: &str, value: &str, providers: &HashMap<String, String>) -> String {
    match (facet, value) {
        ("open_seats", "yes") => "Seats left".to_owned(),
        ("open_seats", "no") => "Full".to_owned(),
        ("type", _) => event_type_label(value),
        ("provider", _) => providers.get(value).map_or_else(|| value.to_owned(), |name| format!("{name} ({value})")),
        ("month", _) => month_label(value),
        _ => value.to_owned(),
    }
}

pub fn event_type_label(value: &str) -> String {
    match value {
        "e_learning" => "E-learning".to_owned(),
        other => {
            let spaced = other.replace('_', " ");
            let mut chars = spaced.chars();
            chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
        }
    }
}

/// "2026-03" → "Mar 2026".
fn month_label(value: &str) -> String {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    match value.split_once('-').map(|(y, m)| (y, m.parse::<usize>())) {
        Some((year, Ok(m @ 1..=12))) => format!("{} {year}", MONTHS[m - 1]),
        _ => value.to_owned(),
    }
}

fn row(o: &Offering) -> ResultRow {
    ResultRow {
        id: o.id.to_string(),
        title: o.title.to_string(),
        code: o.code.to_string(),
        provider: o.provider.to_string(),
        first_day: o.first_day().map(date).unwrap_or_default(),
        location: o.sessions.first().map(|s| s.location.clone()).unwrap_or_default(),
        open_seats: o.open_seats(),
        seats: o.seats,
        status: o.status.as_str(),
    }
}

fn search(state: &AppState, viewer: &Viewer, query: &MenuQuery) -> Result<Result<MenuHits, String>, PageError> {
    match state.menu.index.search(&visibility(&viewer.scope()), query) {
        Ok(hits) => Ok(Ok(hits)),
        Err(SearchError::Query(message)) => Ok(Err(message)),
        Err(SearchError::Index(message)) => {
            tracing::error!(%message, "menu search failed on a page");
            Err(PageError::Internal)
        }
    }
}

/// `GET /menu?q=…&area=…&type=…&provider=…&month=…&location=…&language=…&open_seats=yes&offset=…`
pub async fn show(State(state): State<AppState>, viewer: Viewer, RawQuery(raw): RawQuery) -> PageResult {
    // A fresh server answers only once the whole menu is indexed, never with a partial list.
    state.menu.built().await;
    let params = Params::parse(raw.as_deref());
    let query = params.query();
    let (hits, q_error) = match search(&state, &viewer, &query)? {
        Ok(hits) => (hits, None),
        Err(message) => (MenuHits::default(), Some(message)),
    };
    let ids: Vec<OfferingId> = hits.hits.iter().filter_map(|h| h.id.parse().ok()).collect();
    let mut offerings = state.store.offerings_by_ids(&viewer.scope(), &ids).await?;
    // Keep the index's ranking, whatever order the store answers in.
    offerings.sort_by_key(|o| ids.iter().position(|id| *id == o.id));
    let providers: HashMap<String, String> =
        state.store.list_organisations().await?.into_iter().map(|o| (o.code.to_string(), o.name.to_string())).collect();
    let (chart, chart_data) = area_chart(&state, &viewer)?;
    let shown = offerings.len();
    let facets = groups(&hits.facets, &params, &providers);
    let page = MenuPage {
        chrome: Chrome::new(&viewer, "menu"),
        q: params.0.raw("q").to_owned(),
        total: hits.total,
        first: if shown == 0 { 0 } else { query.offset + 1 },
        last: query.offset + shown,
        filtering: facets.iter().any(|g| g.options.iter().any(|o| o.checked)),
        facets,
        results: offerings.iter().map(row).collect(),
        previous: (query.offset > 0).then(|| params.at(query.offset.saturating_sub(PAGE))),
        next: ((query.offset + PAGE) < hits.total as usize).then(|| params.at(query.offset + PAGE)),
        chart,
        chart_rows: chart_data.iter().map(|a| (a.area.clone(), a.months.iter().map(|(_, c)| c).sum())).collect(),
        q_error: q_error.map(|m| format!("The search could not be understood: {m}")),
    };
    let status = if page.q_error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    Ok(render_status(status, &page))
}

/// Counts per area and month of the viewer's menu: one count-only search per area, reading the
/// month facet, so the numbers match what a search for that area shows.
fn area_chart(state: &AppState, viewer: &Viewer) -> Result<(String, Vec<AreaMonths>), PageError> {
    let overall = match search(state, viewer, &MenuQuery { limit: 0, ..MenuQuery::default() })? {
        Ok(hits) => hits,
        Err(_) => return Ok((String::new(), Vec::new())),
    };
    let mut months: Vec<String> = overall.facets.month.iter().map(|m| m.value.clone()).collect();
    months.sort();
    let mut rows = Vec::new();
    for area in overall.facets.area.iter().take(CHART_AREAS) {
        let query = MenuQuery { areas: vec![area.value.clone()], limit: 0, ..MenuQuery::default() };
        let Ok(hits) = search(state, viewer, &query)? else { continue };
        let counts: HashMap<String, u64> = hits.facets.month.into_iter().map(|m| (m.value, m.count)).collect();
        rows.push(AreaMonths {
            area: area.value.clone(),
            months: months.iter().map(|m| (month_label(m), counts.get(m).copied().unwrap_or(0))).collect(),
        });
    }
    Ok((charts::menu_by_area("menu-chart", &rows), rows))
}

/// `GET /menu/charts/areas.svg`: the chart alone.
pub async fn areas_chart(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    state.menu.built().await;
    Ok(super::partnership::svg(area_chart(&state, &viewer)?.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameters_become_facet_filters_and_links_keep_them() {
        let params = Params::parse(Some("q=cyber&area=cyd&area=EDU&open_seats=yes&offset=40"));
        let query = params.query();
        assert_eq!(query.areas, ["CYD", "EDU"]);
        assert_eq!(query.open_seats, Some(true));
        assert_eq!(query.offset, 40);
        assert_eq!(params.at(20), "/menu?q=cyber&area=cyd&area=EDU&open_seats=yes&offset=20");
        assert_eq!(month_label("2026-03"), "Mar 2026");
        assert_eq!(event_type_label("mobile_training_team"), "Mobile training team");
    }
}
