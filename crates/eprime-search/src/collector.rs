//! One pass over the documents that are visible and match the text: filters, drill-sideways facet counts,
//! the total and the requested page, all at once.
//!
//! Facet filters are checked here rather than in the tantivy query because drill-sideways counting needs
//! the documents that fail exactly one filter: such a document counts for that filter's facet only (its
//! alternatives), one that fails none counts everywhere and is a hit, one that fails two is skipped.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use crate::columns::{ColumnCache, SegmentColumns};
use crate::facets::Facet;
use crate::types::SearchError;

/// What the search asks of the pass.
pub(crate) struct MenuCollector {
    pub cache: Arc<ColumnCache>,
    /// Selected values per facet in `Facet::ALL` order; `None` = no filter.
    pub filters: Vec<Option<Vec<String>>>,
    /// How many of the best hits to keep (offset + limit).
    pub keep: usize,
    /// Rank by BM25 (the query has text) or by first day and code.
    pub scored: bool,
}

/// A candidate from one segment, ready to be merged with the others by comparing strings.
#[derive(Debug)]
pub(crate) struct Candidate {
    pub score: Score,
    pub day: i64,
    /// By score: (id, ""); by date: (code, id).
    pub keys: (String, String),
    pub id: String,
}

impl Candidate {
    pub fn rank(&self, other: &Self) -> Ordering {
        other.score.total_cmp(&self.score).then(self.day.cmp(&other.day)).then_with(|| self.keys.cmp(&other.keys))
    }
}

pub(crate) struct SegmentFruit {
    pub total: u64,
    pub candidates: Vec<Candidate>,
    /// Per facet, value → count.
    pub counts: Vec<Vec<(String, u64)>>,
}

impl Collector for MenuCollector {
    type Fruit = (u64, Vec<Candidate>, Vec<HashMap<String, u64>>);
    type Child = MenuSegmentCollector;

    fn for_segment(&self, _: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<Self::Child> {
        let cols = self.cache.get(reader).map_err(|e| tantivy::TantivyError::InternalError(e.to_string()))?;
        // Selected values become a lookup table by this segment's ordinals.
        let active = self
            .filters
            .iter()
            .zip(Facet::ALL)
            .filter_map(|(selected, facet)| {
                let selected = selected.as_ref()?;
                let column = &cols.facets[facet.index()];
                let mut table = vec![false; column.dict.len() + 1];
                for ord in selected.iter().filter_map(|v| column.ord(v)) {
                    table[ord as usize] = true;
                }
                Some((facet, table))
            })
            .collect();
        Ok(MenuSegmentCollector {
            cols,
            active,
            matched: spare_buffer(),
            near: Facet::ALL.iter().map(|_| spare_buffer()).collect(),
            top: BinaryHeap::new(),
            keep: self.keep,
            scored: self.scored,
        })
    }

    fn requires_scoring(&self) -> bool {
        self.scored
    }

    fn merge_fruits(&self, fruits: Vec<Result<SegmentFruit, String>>) -> tantivy::Result<Self::Fruit> {
        let mut total = 0;
        let mut candidates = Vec::new();
        let mut counts: Vec<HashMap<String, u64>> = vec![HashMap::new(); Facet::ALL.len()];
        for fruit in fruits {
            let fruit = fruit.map_err(tantivy::TantivyError::InternalError)?;
            total += fruit.total;
            candidates.extend(fruit.candidates);
            for (merged, segment) in counts.iter_mut().zip(fruit.counts) {
                for (value, n) in segment {
                    *merged.entry(value).or_default() += n;
                }
            }
        }
        candidates.sort_by(Candidate::rank);
        candidates.truncate(self.keep);
        Ok((total, candidates, counts))
    }
}

fn bitmap(docs: &[DocId], max_doc: usize) -> Vec<u64> {
    let mut bits = vec![0u64; max_doc.div_ceil(64)];
    add_to_bitmap(&mut bits, docs);
    bits
}

fn add_to_bitmap(bits: &mut [u64], docs: &[DocId]) {
    for &doc in docs {
        bits[(doc / 64) as usize] |= 1 << (doc % 64);
    }
}

thread_local! {
    /// Document lists of finished scans, reused: a fresh 400 KB vector per search costs page faults.
    static SPARE: RefCell<Vec<Vec<DocId>>> = const { RefCell::new(Vec::new()) };
}

fn spare_buffer() -> Vec<DocId> {
    SPARE.with(|spare| spare.borrow_mut().pop()).unwrap_or_default()
}

fn return_buffer(mut buffer: Vec<DocId>) {
    buffer.clear();
    SPARE.with(|spare| {
        let mut spare = spare.borrow_mut();
        if spare.len() < 2 * Facet::ALL.len() {
            spare.push(buffer);
        }
    });
}

/// A hit kept while scanning a segment; "greater" means worse, so the heap's top is the first to drop.
#[derive(Clone, Copy)]
struct Kept {
    score: Score,
    day: i64,
    tie: (u32, u32),
    doc: DocId,
}

impl Ord for Kept {
    fn cmp(&self, other: &Self) -> Ordering {
        other.score.total_cmp(&self.score).then(self.day.cmp(&other.day)).then(self.tie.cmp(&other.tie))
    }
}
impl PartialOrd for Kept {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for Kept {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Kept {}

pub(crate) struct MenuSegmentCollector {
    cols: Arc<SegmentColumns>,
    /// Facets with a filter, and for each a table: ordinal → selected.
    active: Vec<(Facet, Vec<bool>)>,
    /// Documents passing every filter: the hits, counted in every facet.
    matched: Vec<DocId>,
    /// Per facet, documents failing that facet's filter only: counted in that facet alone.
    near: Vec<Vec<DocId>>,
    top: BinaryHeap<Kept>,
    keep: usize,
    scored: bool,
}

impl MenuSegmentCollector {
    fn harvest_inner(self) -> Result<SegmentFruit, SearchError> {
        let cols = &self.cols;
        let candidates = self
            .top
            .into_iter()
            .map(|k| {
                let id = cols.id_str(k.doc).to_string();
                let keys = if self.scored {
                    (id.clone(), String::new())
                } else {
                    (cols.code_str(k.doc).to_string(), id.clone())
                };
                Candidate { score: k.score, day: k.day, keys, id }
            })
            .collect();
        // Counting facet by facet after the scan keeps each loop tight and its table in cache.
        let mut matched_bits: Option<Vec<u64>> = None;
        let counts = Facet::ALL
            .iter()
            .zip(&cols.facets)
            .zip(&self.near)
            .map(|((facet, column), near)| {
                if !facet.counted() {
                    return Vec::new();
                }
                let mut counts = vec![0u32; column.dict.len() + 1];
                if column.prefers_bitmaps(self.matched.len() + near.len()) {
                    let matched = matched_bits.get_or_insert_with(|| bitmap(&self.matched, self.cols.day.len()));
                    if near.is_empty() {
                        column.count_bitmaps(matched, &mut counts);
                    } else {
                        // Drill-sideways: this facet also counts the documents only its own filter rejected.
                        let mut bits = matched.clone();
                        add_to_bitmap(&mut bits, near);
                        column.count_bitmaps(&bits, &mut counts);
                    }
                } else {
                    column.count(&self.matched, &mut counts);
                    column.count(near, &mut counts);
                }
                counts
                    .iter()
                    .zip(&column.dict)
                    .filter(|(n, _)| **n > 0)
                    .map(|(n, v)| (v.clone(), u64::from(*n)))
                    .collect()
            })
            .collect();
        let total = self.matched.len() as u64;
        for buffer in self.near.into_iter().chain([self.matched]) {
            return_buffer(buffer);
        }
        Ok(SegmentFruit { total, candidates, counts })
    }
}

impl SegmentCollector for MenuSegmentCollector {
    // Errors travel as text: a fruit must be `Send + 'static`, and the message is all that is reported.
    type Fruit = Result<SegmentFruit, String>;

    #[inline]
    fn collect(&mut self, doc: DocId, score: Score) {
        let mut failed = None;
        for (facet, table) in &self.active {
            if !self.cols.facets[facet.index()].passes(doc, table) {
                if failed.is_some() {
                    return;
                }
                failed = Some(*facet);
            }
        }
        if let Some(facet) = failed {
            self.near[facet.index()].push(doc);
            return;
        }
        self.matched.push(doc);
        if self.keep == 0 {
            return;
        }
        let d = doc as usize;
        let tie = if self.scored { (self.cols.id[d], 0) } else { (self.cols.code[d], self.cols.id[d]) };
        let kept = Kept { score, day: self.cols.day[d], tie, doc };
        if self.top.len() < self.keep {
            self.top.push(kept);
        } else if let Some(mut worst) = self.top.peek_mut()
            && kept < *worst
        {
            *worst = kept;
        }
    }

    fn harvest(self) -> Self::Fruit {
        self.harvest_inner().map_err(|e| e.to_string())
    }
}
