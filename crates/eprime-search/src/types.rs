//! The plain data the index takes and gives back; nothing here knows about tantivy.

use serde::Serialize;

/// One offering as the index sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MenuEntry {
    /// UUID text, the unique key: an upsert with the same id replaces the entry.
    pub id: String,
    /// e.g. "CYB-NS-2026-014".
    pub code: String,
    pub title: String,
    pub description: String,
    /// Org code of the provider, e.g. "NSO".
    pub provider: String,
    /// e.g. "NATO School Oberammergau".
    pub provider_name: String,
    /// Area codes, e.g. ["CYB", "EDU"].
    pub areas: Vec<String>,
    pub area_titles: Vec<String>,
    /// "course", "seminar", "workshop", "conference", "exercise", "expert_visit", "mobile_training_team",
    /// "e_learning".
    pub event_type: String,
    /// "draft", "submitted", "approved", "published", "closed", "held", "reported", "cancelled".
    pub status: String,
    /// "2026-03", one per session start month.
    pub months: Vec<String>,
    /// "Oberammergau", "online", ...
    pub locations: Vec<String>,
    /// "en", "fr", ...
    pub languages: Vec<String>,
    pub open_seats: u32,
    /// Earliest session start.
    pub first_day: Option<time::Date>,
    /// Who may see it: org codes (nations like "JPN", providers like "NSO", groups like "ALLIES", "PARTNERS").
    pub audiences: Vec<String>,
    /// Visible to everyone.
    pub public: bool,
}

/// What the caller may see: an entry is visible iff `everything || entry.public || audiences ∩ entry.audiences ≠ ∅`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Visibility {
    pub everything: bool,
    pub audiences: Vec<String>,
}

impl Visibility {
    /// Sees every entry (administrators, the menu's own staff).
    pub fn everything() -> Self {
        Visibility { everything: true, audiences: Vec::new() }
    }

    /// Sees public entries and those released to any of `audiences`.
    pub fn of<I: IntoIterator<Item = S>, S: Into<String>>(audiences: I) -> Self {
        Visibility { everything: false, audiences: audiences.into_iter().map(Into::into).collect() }
    }
}

/// A menu search: optional free text, facet filters (values OR within a facet, facets AND together), a page.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MenuQuery {
    /// Free text over title, description, provider (code and name), areas (codes and titles) and code.
    /// Words must all match; `"quoted phrases"`; `cyb*` prefixes. Empty or blank means no text filter.
    pub q: Option<String>,
    pub areas: Vec<String>,
    pub event_types: Vec<String>,
    pub providers: Vec<String>,
    pub months: Vec<String>,
    pub locations: Vec<String>,
    pub languages: Vec<String>,
    pub statuses: Vec<String>,
    /// `Some(true)`: only entries with seats left; `Some(false)`: only full ones; `None`: either.
    pub open_seats: Option<bool>,
    /// Without ranked text, entries are listed by first day. Given a day (today, usually), those starting on
    /// or after it come first, soonest first, then the earlier ones, latest first; without it, oldest first.
    pub upcoming_from: Option<time::Date>,
    pub offset: usize,
    /// Page size; 0 returns only `total` and the facets. Capped at [`MAX_LIMIT`].
    pub limit: usize,
}

/// The largest page a search returns, whatever `limit` asks.
pub const MAX_LIMIT: usize = 1000;

/// The answer to a search.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MenuHits {
    /// Visible entries matching the text and every filter.
    pub total: u64,
    /// The requested page of them, best first.
    pub hits: Vec<Hit>,
    pub facets: Facets,
}

/// One matching entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Hit {
    pub id: String,
    /// BM25 relevance when the query has words or phrases; 0 otherwise (no text, or prefixes only, which
    /// match every word of a family alike and so list their matches in browsing order).
    pub score: f32,
}

/// Counts per facet value over the visible, text-matching entries with every OTHER facet's filter applied
/// (drill-sideways), so a facet's own selection does not hide its alternatives.
/// Sorted by count descending then value (months: by value), at most 50 values each.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Facets {
    pub area: Vec<FacetCount>,
    pub event_type: Vec<FacetCount>,
    pub provider: Vec<FacetCount>,
    pub month: Vec<FacetCount>,
    pub location: Vec<FacetCount>,
    pub language: Vec<FacetCount>,
    /// Values "yes" (seats left) and "no".
    pub open_seats: Vec<FacetCount>,
}

/// How many entries carry one facet value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FacetCount {
    pub value: String,
    pub count: u64,
}

/// Why a search or an update failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SearchError {
    /// The user's query could not be understood; the message says what and where.
    #[error("{0}")]
    Query(String),
    /// The index itself failed.
    #[error("search index: {0}")]
    Index(String),
}

impl From<tantivy::TantivyError> for SearchError {
    fn from(e: tantivy::TantivyError) -> Self {
        SearchError::Index(e.to_string())
    }
}

/// The menu search index. Implementations are shared by every request thread.
pub trait MenuIndex: Send + Sync + 'static {
    /// Adds or replaces entries (by id) and makes them searchable before returning.
    fn upsert(&self, entries: Vec<MenuEntry>) -> Result<(), SearchError>;
    /// Removes entries by id; unknown ids are ignored.
    fn remove(&self, ids: &[String]) -> Result<(), SearchError>;
    /// Searches the entries `visibility` may see.
    fn search(&self, visibility: &Visibility, query: &MenuQuery) -> Result<MenuHits, SearchError>;
    /// Rewrites the index as compactly as it can for searching (after a bulk load): fewer parts to
    /// search, nothing deleted left behind. Searches keep working meanwhile.
    fn compact(&self) -> Result<(), SearchError>;
    /// Number of entries in the index.
    fn len(&self) -> u64;
    /// Whether the index holds no entry.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
