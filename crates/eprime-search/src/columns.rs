//! Per-segment copies of the fast fields, laid out as plain arrays for the search loop.
//!
//! Tantivy's columns are compact (bit-packed, behind `dyn` calls); reading eight of them per matching
//! document costs ~100 ns, which at 100,000 matches is far over budget. Segments never change once written
//! (deletes only mark documents dead), so each segment is decoded once, after the reload that brings it in,
//! and kept until it leaves the searcher.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use tantivy::columnar::StrColumn;
use tantivy::query::{EnableScoring, Query};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocId, DocSet, Searcher, SegmentReader, TERMINATED, Term, index::SegmentId};

use crate::bits::Bits;
use crate::facets::Facet;
use crate::schema::UNDATED;
use crate::types::SearchError;

/// The values of one facet for every document of a segment, as ordinals into `dict` (sorted, so ordinals
/// compare like the strings). Ordinal `dict.len()` stands for "no value", so tables indexed by ordinal
/// have `dict.len() + 1` slots and need no branch for it.
pub(crate) struct FacetColumn {
    values: Values,
    pub dict: Vec<String>,
    /// Per value, its documents as a bitmap: for facets of few values, counting a large match set is then
    /// an AND and a popcount per 64 documents and value, whatever the number of matches.
    bitmaps: Option<Vec<Vec<u64>>>,
}

/// Facets with more values than this are only counted document by document (bitmaps would cost too much
/// memory: values × documents / 8 bytes).
const MAX_BITMAP_VALUES: usize = 256;

enum Values {
    /// At most one value per document (event type, provider, ...): one load per document.
    Single(Ords),
    /// Values of document `d` are `ords[starts[d]..starts[d + 1]]`.
    Multi { starts: Vec<u32>, ords: Ords },
}

/// Ordinals as narrow as the dictionary allows: most facets have under 256 values, and a quarter of the
/// memory traffic makes counting 100,000 documents markedly faster.
enum Ords {
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
}

/// An ordinal of any width.
trait Ordinal: Copy {
    fn at(self) -> usize;
}
impl Ordinal for u8 {
    #[inline]
    fn at(self) -> usize {
        usize::from(self)
    }
}
impl Ordinal for u16 {
    #[inline]
    fn at(self) -> usize {
        usize::from(self)
    }
}
impl Ordinal for u32 {
    #[inline]
    fn at(self) -> usize {
        self as usize
    }
}

impl Ords {
    /// `largest` is the largest value in `ords`.
    fn new(ords: Vec<u32>, largest: u32) -> Self {
        if let Ok(narrow) = ords.iter().map(|&o| u8::try_from(o)).collect::<Result<Vec<_>, _>>()
            && u8::try_from(largest).is_ok()
        {
            Ords::U8(narrow)
        } else if let Ok(narrow) = ords.iter().map(|&o| u16::try_from(o)).collect::<Result<Vec<_>, _>>() {
            Ords::U16(narrow)
        } else {
            Ords::U32(ords)
        }
    }
}

fn passes_single<T: Ordinal>(ords: &[T], doc: DocId, table: &[bool]) -> bool {
    table[ords[doc as usize].at()]
}

fn passes_multi<T: Ordinal>(starts: &[u32], ords: &[T], doc: DocId, table: &[bool]) -> bool {
    let d = doc as usize;
    ords[starts[d] as usize..starts[d + 1] as usize].iter().any(|o| table[o.at()])
}

// Counting into one table stalls when consecutive documents share a value (most are "en", half are
// "course"): each increment waits for the previous store to the same slot. Four interleaved tables,
// summed at the end, let four increments run at once.
const LANES: usize = 4;

fn count_single<T: Ordinal>(ords: &[T], docs: &[DocId], counts: &mut [u32]) {
    let n = counts.len();
    let mut lanes = vec![0u32; n * LANES];
    let mut chunks = docs.chunks_exact(LANES);
    for chunk in &mut chunks {
        for (lane, &doc) in chunk.iter().enumerate() {
            lanes[lane * n + ords[doc as usize].at()] += 1;
        }
    }
    for &doc in chunks.remainder() {
        lanes[ords[doc as usize].at()] += 1;
    }
    fold_lanes(&lanes, counts);
}

fn count_multi<T: Ordinal>(starts: &[u32], ords: &[T], docs: &[DocId], counts: &mut [u32]) {
    let n = counts.len();
    let mut lanes = vec![0u32; n * LANES];
    for (i, &doc) in docs.iter().enumerate() {
        let d = doc as usize;
        let lane = (i % LANES) * n;
        for o in &ords[starts[d] as usize..starts[d + 1] as usize] {
            lanes[lane + o.at()] += 1;
        }
    }
    fold_lanes(&lanes, counts);
}

fn fold_lanes(lanes: &[u32], counts: &mut [u32]) {
    for lane in lanes.chunks_exact(counts.len().max(1)) {
        for (c, l) in counts.iter_mut().zip(lane) {
            *c += l;
        }
    }
}

impl FacetColumn {
    /// Whether any value of `doc` is selected in `table` (by ordinal, `dict.len() + 1` slots).
    #[inline]
    pub fn passes(&self, doc: DocId, table: &[bool]) -> bool {
        match &self.values {
            Values::Single(Ords::U8(o)) => passes_single(o, doc, table),
            Values::Single(Ords::U16(o)) => passes_single(o, doc, table),
            Values::Single(Ords::U32(o)) => passes_single(o, doc, table),
            Values::Multi { starts, ords: Ords::U8(o) } => passes_multi(starts, o, doc, table),
            Values::Multi { starts, ords: Ords::U16(o) } => passes_multi(starts, o, doc, table),
            Values::Multi { starts, ords: Ords::U32(o) } => passes_multi(starts, o, doc, table),
        }
    }

    /// Adds the values of `docs` to `counts` (by ordinal, `dict.len() + 1` slots).
    pub fn count(&self, docs: &[DocId], counts: &mut [u32]) {
        match &self.values {
            Values::Single(Ords::U8(o)) => count_single(o, docs, counts),
            Values::Single(Ords::U16(o)) => count_single(o, docs, counts),
            Values::Single(Ords::U32(o)) => count_single(o, docs, counts),
            Values::Multi { starts, ords: Ords::U8(o) } => count_multi(starts, o, docs, counts),
            Values::Multi { starts, ords: Ords::U16(o) } => count_multi(starts, o, docs, counts),
            Values::Multi { starts, ords: Ords::U32(o) } => count_multi(starts, o, docs, counts),
        }
    }

    /// Whether counting `matches` documents is cheaper with [`FacetColumn::count_bitmaps`].
    pub fn prefers_bitmaps(&self, matches: usize) -> bool {
        // A popcount word costs about a fifth of one document's increment.
        self.bitmaps.as_ref().is_some_and(|b| b.len() * b.first().map_or(0, Vec::len) < matches * 5)
    }

    /// Adds, per value, the number of documents set in `matched` (a bitmap over the segment's documents).
    pub fn count_bitmaps(&self, matched: &[u64], counts: &mut [u32]) {
        for (bitmap, count) in self.bitmaps.iter().flatten().zip(counts.iter_mut()) {
            *count += bitmap.iter().zip(matched).map(|(a, b)| (a & b).count_ones()).sum::<u32>();
        }
    }

    /// The documents of `base` having any of the values `selected` (ordinals of this segment): the union of
    /// the values' bitmaps, or a look at each document of `base` for a facet without bitmaps.
    pub fn having(&self, selected: &[u32], base: &Bits) -> Bits {
        let max_doc = base.max_doc();
        match &self.bitmaps {
            Some(bitmaps) => {
                let mut bits = Bits::empty(max_doc);
                for &ord in selected {
                    if let Some(bitmap) = bitmaps.get(ord as usize) {
                        bits.or(bitmap);
                    }
                }
                bits
            }
            None => {
                let mut table = vec![false; self.dict.len() + 1];
                for &ord in selected {
                    table[ord as usize] = true;
                }
                let docs: Vec<DocId> = base.docs().into_iter().filter(|&doc| self.passes(doc, &table)).collect();
                Bits::of(&docs, max_doc)
            }
        }
    }

    /// Adds, per value, the number of documents of `set` having it (by ordinal, `dict.len() + 1` slots):
    /// by bitmaps for a large set, document by document for a small one.
    pub fn count_set(&self, set: &Bits, counts: &mut [u32]) {
        let n = set.len() as usize;
        if self.prefers_bitmaps(n) {
            self.count_bitmaps(set.words(), counts);
        } else if n > 0 {
            self.count(&set.docs(), counts);
        }
    }

    /// Ordinal of `value` in this segment, if any document has it.
    pub fn ord(&self, value: &str) -> Option<u32> {
        self.dict.binary_search_by(|v| v.as_str().cmp(value)).ok().map(|i| i as u32)
    }
}

pub(crate) struct SegmentColumns {
    /// In `Facet::ALL` order.
    pub facets: Vec<FacetColumn>,
    /// Sort key: Julian day of the first session, [`UNDATED`] when there is none.
    pub day: Vec<i64>,
    /// Ordinals into the segment's code and id dictionaries: tie-breakers that compare like the strings.
    pub code: Vec<u32>,
    pub id: Vec<u32>,
    /// Every document, in browsing order (first day, then code, then id): a search without text takes
    /// the first matching ones from here instead of sorting its matches.
    pub order: Vec<DocId>,
    /// The dictionaries themselves, to name the hits without a lookup in tantivy's compressed blocks.
    codes: Strings,
    ids: Strings,
    /// The documents not deleted, as of the number of deleted documents it was made for (deletes only
    /// ever add to a segment's deleted set, so an equal number means the same set).
    alive: RwLock<Option<(u32, Arc<Bits>)>>,
    /// Documents per visibility term (audience or public flag), one bit each; filled on first use.
    term_bitmaps: RwLock<HashMap<Term, Arc<Vec<u64>>>>,
    /// Documents per text clause (by [`crate::query::TextQuery`] key), deleted ones included: what a
    /// clause matches in a segment never changes, so the words people search for again cost a lookup.
    clause_bitmaps: RwLock<HashMap<String, Arc<Bits>>>,
    /// Per ranked text, its best documents in this segment, scored as of one searcher generation.
    ranked: RwLock<HashMap<String, Arc<RankedList>>>,
}

/// Many strings in one buffer, by ordinal.
#[derive(Default)]
struct Strings {
    text: String,
    ends: Vec<u32>,
}

impl Strings {
    fn read(col: &Option<StrColumn>) -> Result<Self, SearchError> {
        let mut s = Strings::default();
        if let Some(col) = col {
            let mut stream = col.dictionary().stream().map_err(io_err)?;
            while stream.advance() {
                s.text.push_str(&String::from_utf8_lossy(stream.key()));
                s.ends.push(s.text.len() as u32);
            }
        }
        Ok(s)
    }

    fn get(&self, ord: u32) -> &str {
        let i = ord as usize;
        let (Some(&end), start) = (self.ends.get(i), if i == 0 { 0 } else { self.ends[i - 1] }) else {
            return "";
        };
        &self.text[start as usize..end as usize]
    }
}

fn io_err(e: std::io::Error) -> SearchError {
    SearchError::Index(e.to_string())
}

impl SegmentColumns {
    fn build(reader: &SegmentReader) -> Result<Self, SearchError> {
        let ff = reader.fast_fields();
        let max_doc = reader.max_doc();
        let mut facets = Vec::with_capacity(Facet::ALL.len());
        for facet in Facet::ALL {
            facets.push(facet_column(ff.str(facet.field_name())?, max_doc)?);
        }
        let day_col = ff.i64("day")?;
        let day: Vec<i64> = (0..max_doc).map(|d| day_col.first(d).unwrap_or(UNDATED)).collect();
        let code_col = ff.str("code")?;
        let id_col = ff.str("id")?;
        let first_ords = |col: &Option<StrColumn>| -> Vec<u32> {
            (0..max_doc).map(|d| col.as_ref().and_then(|c| c.ords().first(d)).map_or(u32::MAX, |o| o as u32)).collect()
        };
        let code = first_ords(&code_col);
        let id = first_ords(&id_col);
        let mut order: Vec<DocId> = (0..max_doc).collect();
        order.sort_by_key(|&d| (day[d as usize], code[d as usize], id[d as usize]));
        Ok(SegmentColumns {
            facets,
            day,
            code,
            id,
            order,
            codes: Strings::read(&code_col)?,
            ids: Strings::read(&id_col)?,
            term_bitmaps: RwLock::default(),
            clause_bitmaps: RwLock::default(),
            ranked: RwLock::default(),
            alive: RwLock::default(),
        })
    }

    pub fn code_str(&self, doc: DocId) -> &str {
        self.codes.get(self.code[doc as usize])
    }

    pub fn id_str(&self, doc: DocId) -> &str {
        self.ids.get(self.id[doc as usize])
    }

    /// The documents of the segment `reader` reads that are not deleted.
    pub fn alive(&self, reader: &SegmentReader) -> Arc<Bits> {
        let deleted = reader.num_deleted_docs();
        if let Some((n, bits)) = self.alive.read().unwrap_or_else(|e| e.into_inner()).as_ref()
            && *n == deleted
        {
            return bits.clone();
        }
        let bits = Arc::new(match reader.alive_bitset() {
            None => Bits::full(reader.max_doc()),
            Some(alive) => {
                let docs: Vec<DocId> = alive.iter_alive().collect();
                Bits::of(&docs, reader.max_doc())
            }
        });
        *self.alive.write().unwrap_or_else(|e| e.into_inner()) = Some((deleted, bits.clone()));
        bits
    }

    /// The documents a text clause matches, from the cache or found with `query` (and then kept).
    pub fn clause(
        &self,
        key: &str,
        query: &dyn Query,
        searcher: &Searcher,
        reader: &SegmentReader,
    ) -> Result<Arc<Bits>, SearchError> {
        if let Some(bits) = self.clause_bitmaps.read().unwrap_or_else(|e| e.into_inner()).get(key) {
            return Ok(bits.clone());
        }
        let weight = query.weight(EnableScoring::disabled_from_searcher(searcher))?;
        let mut bits = Bits::empty(reader.max_doc());
        weight.for_each_no_score(reader, &mut |docs| bits.insert_all(docs))?;
        let bits = Arc::new(bits);
        let mut map = self.clause_bitmaps.write().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_CACHED_CLAUSES {
            // Forget one at random (the map's order): the often searched come back at once.
            if let Some(victim) = map.keys().next().cloned() {
                map.remove(&victim);
            }
        }
        map.insert(key.to_owned(), bits.clone());
        Ok(bits)
    }

    /// The ranked list kept for `key` (a ranked text), if it was scored in searcher generation `generation`.
    pub fn ranked(&self, key: &str, generation: u64) -> Option<Arc<RankedList>> {
        let lists = self.ranked.read().unwrap_or_else(|e| e.into_inner());
        lists.get(key).filter(|list| list.generation == generation).cloned()
    }

    /// Keeps `list` as the ranked list of `key`.
    pub fn keep_ranked(&self, key: &str, list: Arc<RankedList>) {
        let mut lists = self.ranked.write().unwrap_or_else(|e| e.into_inner());
        if lists.len() >= MAX_CACHED_CLAUSES && !lists.contains_key(key) {
            // Lists of an older generation go first; else one at random (the map's order).
            let stale: Vec<String> =
                lists.iter().filter(|(_, l)| l.generation != list.generation).map(|(k, _)| k.clone()).collect();
            if stale.is_empty() {
                if let Some(victim) = lists.keys().next().cloned() {
                    lists.remove(&victim);
                }
            } else {
                for key in stale {
                    lists.remove(&key);
                }
            }
        }
        lists.insert(key.to_owned(), list);
    }

    /// The documents visible through any of `terms` (the `public` flag and the caller's audiences).
    pub fn visible(&self, reader: &SegmentReader, terms: &[Term]) -> Result<Bits, SearchError> {
        let mut bits = Bits::empty(reader.max_doc());
        for term in terms {
            bits.or(&self.term_bitmap(reader, term)?);
        }
        Ok(bits)
    }

    /// The documents of this segment indexed with `term`, as a bitmap (one bit per document id).
    pub fn term_bitmap(&self, reader: &SegmentReader, term: &Term) -> Result<Arc<Vec<u64>>, SearchError> {
        if let Some(bits) = self.term_bitmaps.read().unwrap_or_else(|e| e.into_inner()).get(term) {
            return Ok(bits.clone());
        }
        let mut bits = vec![0u64; (reader.max_doc() as usize).div_ceil(64)];
        let inverted = reader.inverted_index(term.field())?;
        if let Some(mut postings) = inverted.read_postings(term, IndexRecordOption::Basic).map_err(io_err)? {
            let mut doc = postings.doc();
            while doc != TERMINATED {
                bits[(doc / 64) as usize] |= 1 << (doc % 64);
                doc = postings.advance();
            }
        }
        let bits = Arc::new(bits);
        // Unknown audiences get an (empty) entry too; bound the map so arbitrary callers cannot grow it forever.
        let mut map = self.term_bitmaps.write().unwrap_or_else(|e| e.into_inner());
        if map.len() < MAX_CACHED_TERMS {
            map.insert(term.clone(), bits.clone());
        }
        Ok(bits)
    }
}

/// Most visibility terms remembered per segment (there are a few hundred organisations).
const MAX_CACHED_TERMS: usize = 4096;

/// Most text clauses remembered per segment: at 100,000 documents, 512 bitmaps are 6.4 MB.
const MAX_CACHED_CLAUSES: usize = 512;

fn facet_column(col: Option<StrColumn>, max_doc: u32) -> Result<FacetColumn, SearchError> {
    let Some(col) = col else {
        // No document of this segment has a value for the facet.
        let values = Values::Single(Ords::U8(vec![0; max_doc as usize]));
        return Ok(FacetColumn { values, dict: Vec::new(), bitmaps: None });
    };
    let mut dict = Vec::with_capacity(col.num_terms());
    let mut stream = col.dictionary().stream().map_err(io_err)?;
    while stream.advance() {
        dict.push(String::from_utf8_lossy(stream.key()).into_owned());
    }
    let none = dict.len() as u32;
    let mut starts = Vec::with_capacity(max_doc as usize + 1);
    let mut ords = Vec::with_capacity(max_doc as usize);
    starts.push(0);
    for doc in 0..max_doc {
        ords.extend(col.ords().values_for_doc(doc).map(|o| o as u32));
        starts.push(ords.len() as u32);
    }
    let bitmaps = (dict.len() <= MAX_BITMAP_VALUES).then(|| {
        let mut bitmaps = vec![vec![0u64; (max_doc as usize).div_ceil(64)]; dict.len()];
        for (doc, w) in starts.windows(2).enumerate() {
            for &o in &ords[w[0] as usize..w[1] as usize] {
                bitmaps[o as usize][doc / 64] |= 1 << (doc % 64);
            }
        }
        bitmaps
    });
    let single = starts.windows(2).all(|w| w[1] - w[0] <= 1);
    let values = if single {
        let first = starts.windows(2).map(|w| if w[1] > w[0] { ords[w[0] as usize] } else { none }).collect();
        Values::Single(Ords::new(first, none))
    } else {
        Values::Multi { starts, ords: Ords::new(ords, none) }
    };
    Ok(FacetColumn { values, dict, bitmaps })
}

/// The best documents of a segment for one ranked text, whoever asks and whatever the filters: best first
/// (score, then first day, then id), at most [`RankedList::LEN`]. Scores depend on the whole index's
/// statistics, so a list is only used within the searcher generation it was scored in.
pub(crate) struct RankedList {
    pub generation: u64,
    pub docs: Vec<(DocId, f32)>,
    /// Whether every matching (live) document is in `docs`.
    pub complete: bool,
}

impl RankedList {
    /// How many documents a list keeps: enough that a caller's filters (visibility, facets) leave a page.
    /// (Tests keep a few, so that lists run short and the search falls back to scoring the hits.)
    #[cfg(not(test))]
    pub const LEN: usize = 1024;
    #[cfg(test)]
    pub const LEN: usize = 8;
}

/// Decoded columns of the segments in use, by segment id.
#[derive(Default)]
pub(crate) struct ColumnCache {
    segments: RwLock<HashMap<SegmentId, Arc<SegmentColumns>>>,
}

impl ColumnCache {
    pub fn get(&self, reader: &SegmentReader) -> Result<Arc<SegmentColumns>, SearchError> {
        let id = reader.segment_id();
        if let Some(cols) = self.segments.read().unwrap_or_else(|e| e.into_inner()).get(&id) {
            return Ok(cols.clone());
        }
        // Only reached for a segment that was not warmed (a search racing a reload): decode it now.
        let cols = Arc::new(SegmentColumns::build(reader)?);
        self.segments.write().unwrap_or_else(|e| e.into_inner()).insert(id, cols.clone());
        Ok(cols)
    }

    /// Decodes the segments of `searcher` not yet decoded and forgets those it no longer uses.
    pub fn warm(&self, searcher: &Searcher) -> Result<(), SearchError> {
        let live: HashSet<SegmentId> = searcher.segment_readers().iter().map(SegmentReader::segment_id).collect();
        self.segments.write().unwrap_or_else(|e| e.into_inner()).retain(|id, _| live.contains(id));
        for reader in searcher.segment_readers() {
            self.get(reader)?;
        }
        Ok(())
    }
}
