//! One search over one segment: which documents match, their facet counts, and the best of them.
//!
//! Everything that does not need a score is done on bitmaps ([`Bits`]), a word of 64 documents at a
//! time, so its cost follows the size of the segment, not the number of matches:
//!
//! 1. the documents matching every clause of the text (each clause's documents kept per segment, so a
//!    word searched before costs a lookup), or all; minus the deleted ones; within what the caller may
//!    see (the union of its audiences' bitmaps);
//! 2. per facet filter, the documents having one of the selected values; the hits pass every filter;
//! 3. drill-sideways counts: a filtered facet counts the hits plus the documents failing only its own
//!    filter, so its alternatives stay visible; the other facets count the hits;
//! 4. the best hits: with words or phrases, tantivy's pruning search (block-max WAND) scores only
//!    documents that can still enter the top and keeps those among the hits; without them (no text, or
//!    prefixes only, which score every match alike), the first hits in the segment's precomputed
//!    browsing order.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

use tantivy::query::Weight;
use tantivy::{DocId, Score, Searcher, SegmentReader, Term};

use crate::bits::Bits;
use crate::columns::{RankedList, SegmentColumns};
use crate::facets::Facet;
use crate::query::TextQuery;
use crate::types::SearchError;

/// What a search asks of every segment.
pub(crate) struct Plan {
    /// The `public` term and the caller's audiences; `None` for a caller who sees everything.
    pub visibility: Option<Vec<Term>>,
    /// Selected values per facet in `Facet::ALL` order; `None` = no filter.
    pub filters: Vec<Option<Vec<String>>>,
    /// How many of the best hits to keep (offset + limit).
    pub keep: usize,
    /// Without ranked text: the day (as a sort key) from which entries are listed first (see
    /// `MenuQuery::upcoming_from`).
    pub upcoming_from: Option<i64>,
    /// Whether to count facet values (not when the answer's counts were kept, see `kept.rs`).
    pub count_facets: bool,
}

/// A hit from one segment, ready to be merged with the others by comparing strings.
#[derive(Debug)]
pub(crate) struct Candidate {
    pub score: Score,
    pub day: i64,
    /// By score: (id, ""); by date: (code, id).
    pub keys: (String, String),
    pub id: String,
    /// Listed after the upcoming ones, latest first (browsing from a day).
    pub past: bool,
}

impl Candidate {
    pub fn rank(&self, other: &Self) -> Ordering {
        let by_score = other.score.total_cmp(&self.score).then(self.past.cmp(&other.past));
        let by_day = self.day.cmp(&other.day).then_with(|| self.keys.cmp(&other.keys));
        by_score.then(if self.past && other.past { by_day.reverse() } else { by_day })
    }
}

/// What one segment found.
pub(crate) struct SegmentFruit {
    pub total: u64,
    pub candidates: Vec<Candidate>,
    /// Per facet (in `Facet::ALL` order), value → count.
    pub counts: Vec<Vec<(String, u64)>>,
}

/// The text of a search: its clauses (each must match) and, when it ranks, the weight that scores.
pub(crate) struct Text<'a> {
    pub query: &'a TextQuery,
    pub scoring: Option<&'a dyn Weight>,
    /// The searcher generation the scoring weight's statistics come from.
    pub generation: u64,
}

/// Searches one segment.
pub(crate) fn segment(
    plan: &Plan,
    text: Option<&Text<'_>>,
    searcher: &Searcher,
    reader: &SegmentReader,
    cols: &SegmentColumns,
) -> Result<SegmentFruit, SearchError> {
    let max_doc = reader.max_doc();
    let mut base = Bits::full(max_doc);
    for (key, query) in text.iter().flat_map(|t| &t.query.clauses) {
        base.and(cols.clause(key, query.as_ref(), searcher, reader)?.words());
    }
    let base_without_visibility = base.clone();
    base.and(cols.alive(reader).words());
    if let Some(terms) = &plan.visibility {
        base.and(cols.visible(reader, terms)?.words());
    }

    // Per filtered facet, the documents of `base` passing that filter.
    let passing: Vec<(Facet, Bits)> = plan
        .filters
        .iter()
        .zip(Facet::ALL)
        .filter_map(|(selected, facet)| {
            let selected = selected.as_ref()?;
            let column = &cols.facets[facet.index()];
            let ords: Vec<u32> = selected.iter().filter_map(|v| column.ord(v)).collect();
            Some((facet, column.having(&ords, &base)))
        })
        .collect();
    let mut hits = base.clone();
    for (_, pass) in &passing {
        hits.and(pass.words());
    }

    let counts = Facet::ALL
        .iter()
        .zip(&cols.facets)
        .map(|(facet, column)| {
            if !facet.counted() || !plan.count_facets {
                return Vec::new();
            }
            let mut counts = vec![0u32; column.dict.len() + 1];
            match passing.iter().find(|(f, _)| f == facet) {
                // Drill-sideways: the hits, and those only this facet's own filter turned away.
                Some(_) => {
                    let mut set = base.clone();
                    for (_, pass) in passing.iter().filter(|(f, _)| f != facet) {
                        set.and(pass.words());
                    }
                    column.count_set(&set, &mut counts);
                }
                None => column.count_set(&hits, &mut counts),
            }
            counts.iter().zip(&column.dict).filter(|(n, _)| **n > 0).map(|(n, v)| (v.clone(), u64::from(*n))).collect()
        })
        .collect();

    let scoring = text.and_then(|t| t.scoring);
    let kept = match (plan.keep, scoring) {
        (0, _) => Vec::new(),
        (keep, Some(weight)) => {
            let text = text.expect("a scoring weight comes with its text");
            let text_matches = || {
                let mut matches = base_without_visibility.clone();
                matches.and(cols.alive(reader).words());
                matches
            };
            from_ranked_list(text, weight, reader, cols, &hits, keep, text_matches)?
        }
        (keep, None) => {
            // The browsing order is by first day: from `upcoming_from` on, then the days before it backwards.
            let from = plan.upcoming_from.map_or(0, |day| cols.order.partition_point(|&d| cols.day[d as usize] < day));
            let (past, upcoming) = cols.order.split_at(from);
            upcoming
                .iter()
                .chain(past.iter().rev())
                .filter(|&&doc| hits.contains(doc))
                .take(keep)
                .map(|&doc| Kept { score: 0.0, day: cols.day[doc as usize], tie: browse_tie(cols, doc), doc })
                .collect()
        }
    };
    let scored = scoring.is_some();
    let candidates = kept
        .into_iter()
        .map(|k| {
            let id = cols.id_str(k.doc).to_string();
            let keys =
                if scored { (id.clone(), String::new()) } else { (cols.code_str(k.doc).to_string(), id.clone()) };
            let past = !scored && plan.upcoming_from.is_some_and(|from| k.day < from);
            Candidate { score: k.score, day: k.day, keys, id, past }
        })
        .collect();
    Ok(SegmentFruit { total: hits.len(), candidates, counts })
}

/// The `keep` best hits by score (then first day, then id), from the segment's ranked list of the text
/// when one was scored in this generation (made now if not): the first `keep` of the list that are hits.
/// Only when filters leave fewer than `keep` of an incomplete list does the search score again, then
/// only for the hits.
fn from_ranked_list(
    text: &Text<'_>,
    weight: &dyn Weight,
    reader: &SegmentReader,
    cols: &SegmentColumns,
    hits: &Bits,
    keep: usize,
    text_matches: impl FnOnce() -> Bits,
) -> Result<Vec<Kept>, SearchError> {
    let key = text.query.key();
    let list = match cols.ranked(&key, text.generation) {
        Some(list) => list,
        None => {
            let matches = text_matches();
            let docs = best_scored(weight, reader, cols, &matches, RankedList::LEN)?;
            let mut docs: Vec<Kept> = docs;
            docs.sort();
            let complete = matches.len() as usize <= RankedList::LEN;
            let list = Arc::new(RankedList {
                generation: text.generation,
                docs: docs.iter().map(|k| (k.doc, k.score)).collect(),
                complete,
            });
            cols.keep_ranked(&key, list.clone());
            list
        }
    };
    let kept: Vec<Kept> = list
        .docs
        .iter()
        .filter(|(doc, _)| hits.contains(*doc))
        .take(keep)
        .map(|&(doc, score)| Kept { score, day: cols.day[doc as usize], tie: (cols.id[doc as usize], 0), doc })
        .collect();
    if kept.len() == keep || list.complete {
        return Ok(kept);
    }
    best_scored(weight, reader, cols, hits, keep)
}

/// The `keep` best hits by score (then first day, then id). The pruning search only calls back for
/// documents scoring above the threshold it is given; the threshold returned is just below the worst
/// kept score, so a document tying with it still comes and the tie is broken by day and id.
fn best_scored(
    weight: &dyn Weight,
    reader: &SegmentReader,
    cols: &SegmentColumns,
    hits: &Bits,
    keep: usize,
) -> Result<Vec<Kept>, SearchError> {
    let mut top: BinaryHeap<Kept> = BinaryHeap::with_capacity(keep + 1);
    weight.for_each_pruning(Score::NEG_INFINITY, reader, &mut |doc, score| {
        if hits.contains(doc) {
            let d = doc as usize;
            let kept = Kept { score, day: cols.day[d], tie: (cols.id[d], 0), doc };
            if top.len() < keep {
                top.push(kept);
            } else if let Some(mut worst) = top.peek_mut()
                && kept < *worst
            {
                *worst = kept;
            }
        }
        match top.peek() {
            Some(worst) if top.len() == keep => worst.score.next_down(),
            _ => Score::NEG_INFINITY,
        }
    })?;
    Ok(top.into_vec())
}

fn browse_tie(cols: &SegmentColumns, doc: DocId) -> (u32, u32) {
    (cols.code[doc as usize], cols.id[doc as usize])
}

/// A hit kept while searching a segment; "greater" means worse, so the heap's top is the first to drop.
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

/// The segments' findings together: the total, the `keep` best candidates, and the counts per facet.
pub(crate) fn merge(fruits: Vec<SegmentFruit>, keep: usize) -> (u64, Vec<Candidate>, Vec<HashMap<String, u64>>) {
    let mut total = 0;
    let mut candidates = Vec::new();
    let mut counts: Vec<HashMap<String, u64>> = vec![HashMap::new(); Facet::ALL.len()];
    for fruit in fruits {
        total += fruit.total;
        candidates.extend(fruit.candidates);
        for (merged, segment) in counts.iter_mut().zip(fruit.counts) {
            for (value, n) in segment {
                *merged.entry(value).or_default() += n;
            }
        }
    }
    candidates.sort_by(Candidate::rank);
    candidates.truncate(keep);
    (total, candidates, counts)
}
