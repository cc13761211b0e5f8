//! The tantivy schema: which field holds what, how text is analysed, and how an entry becomes a document.
//!
//! Nothing is stored: ids and sort keys are read back from fast (columnar) fields, which keeps the index
//! compact and lets a search answer without touching the document store.

use std::collections::BTreeSet;

use tantivy::TantivyDocument;
use tantivy::schema::{
    Field, INDEXED, IndexRecordOption, NumericOptions, STRING, Schema, TextFieldIndexing, TextOptions,
};

use crate::analysis::{PAIRS, STEMMED, UNSTEMMED};

use crate::facets::{Facet, seats_value};
use crate::types::MenuEntry;

/// Sort key of an entry without a first day: after every dated one.
pub(crate) const UNDATED: i64 = i64::MAX;

/// Handles on every field.
#[derive(Debug, Clone)]
pub(crate) struct Fields {
    pub id: Field,
    pub code: Field,
    pub title: Field,
    pub body: Field,
    /// Provider code and name, area codes and titles, offering code.
    pub meta: Field,
    /// Adjacent stemmed word pairs ("crisis management") of the title, and of description and meta: a phrase
    /// is found as a conjunction of its pairs, which costs a term lookup instead of reading positions.
    pub title_pairs: Field,
    pub pairs: Field,
    /// Every searchable word unstemmed, without positions or norms: only prefix queries use it.
    pub words: Field,
    pub audience: Field,
    pub public: Field,
    pub day: Field,
    /// One fast string field per facet, in `Facet::ALL` order.
    pub facets: Vec<Field>,
}

pub(crate) fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let ranked = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default().set_tokenizer(STEMMED).set_index_option(IndexRecordOption::WithFreqs),
    );
    let pairs = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default().set_tokenizer(PAIRS).set_index_option(IndexRecordOption::WithFreqs),
    );
    let prefix_only = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(UNSTEMMED)
            .set_index_option(IndexRecordOption::Basic)
            .set_fieldnorms(false),
    );
    let fast_only = TextOptions::default().set_fast("raw");
    let fields = Fields {
        id: b.add_text_field("id", STRING.set_fast("raw")),
        code: b.add_text_field("code", fast_only.clone()),
        title: b.add_text_field("title", ranked.clone()),
        body: b.add_text_field("body", ranked.clone()),
        meta: b.add_text_field("meta", ranked),
        title_pairs: b.add_text_field("title_pairs", pairs.clone()),
        pairs: b.add_text_field("pairs", pairs),
        words: b.add_text_field("words", prefix_only),
        audience: b.add_text_field("audience", STRING),
        public: b.add_bool_field("public", INDEXED),
        day: b.add_i64_field("day", NumericOptions::default().set_fast()),
        facets: Facet::ALL.iter().map(|f| b.add_text_field(f.field_name(), fast_only.clone())).collect(),
    };
    (b.build(), fields)
}

/// Day number used for sorting: Julian day, undated last.
pub(crate) fn day_key(day: Option<time::Date>) -> i64 {
    day.map_or(UNDATED, |d| i64::from(d.to_julian_day()))
}

pub(crate) fn document(f: &Fields, e: &MenuEntry) -> TantivyDocument {
    let mut doc = TantivyDocument::new();
    doc.add_text(f.id, &e.id);
    doc.add_text(f.code, &e.code);
    doc.add_text(f.title, &e.title);
    doc.add_text(f.body, &e.description);
    let meta = [e.provider.as_str(), e.provider_name.as_str(), e.code.as_str()]
        .into_iter()
        .chain(e.areas.iter().map(String::as_str))
        .chain(e.area_titles.iter().map(String::as_str))
        .filter(|s| !s.is_empty());
    for text in meta.clone() {
        doc.add_text(f.meta, text);
    }
    // Each value is analysed on its own, so no pair spans two values.
    doc.add_text(f.title_pairs, &e.title);
    for text in [e.description.as_str()].into_iter().chain(meta.clone()) {
        doc.add_text(f.pairs, text);
    }
    for text in [e.title.as_str(), e.description.as_str()].into_iter().chain(meta) {
        doc.add_text(f.words, text);
    }
    for audience in &e.audiences {
        doc.add_text(f.audience, audience);
    }
    doc.add_bool(f.public, e.public);
    doc.add_i64(f.day, day_key(e.first_day));
    for (facet, &field) in Facet::ALL.iter().zip(&f.facets) {
        // A set: a value listed twice must count once.
        let values: BTreeSet<&str> = facet_values(*facet, e).into_iter().filter(|v| !v.is_empty()).collect();
        for v in values {
            doc.add_text(field, v);
        }
    }
    doc
}

fn facet_values(facet: Facet, e: &MenuEntry) -> Vec<&str> {
    let one = |s: &'static str| vec![s];
    match facet {
        Facet::Area => e.areas.iter().map(String::as_str).collect(),
        Facet::EventType => vec![e.event_type.as_str()],
        Facet::Provider => vec![e.provider.as_str()],
        Facet::Month => e.months.iter().map(String::as_str).collect(),
        Facet::Location => e.locations.iter().map(String::as_str).collect(),
        Facet::Language => e.languages.iter().map(String::as_str).collect(),
        Facet::OpenSeats => one(seats_value(e.open_seats > 0)),
        Facet::Status => vec![e.status.as_str()],
    }
}
