//! The Partnership Cooperation Menu search index.
//!
//! The server keeps every menu offering in a [`MenuIndex`]: rebuilt from the database at start, updated as
//! offerings change, and asked for one page of hits plus facet counts per menu search. [`TantivyMenuIndex`]
//! is the implementation, in memory with tantivy.
//!
//! Confidentiality is structural: every search takes the caller's [`Visibility`] and the index itself
//! leaves out what the caller may not see, from hits and from facet counts alike.
//!
//! # Query language (`q`)
//! Words (all must match, case-insensitive, English stems), `"quoted phrases"`, prefixes `cyb*` (at least
//! two letters). Anything malformed (unbalanced quote, lone or inner `*`, empty phrase, over 16 clauses or
//! 500 characters) is a [`SearchError::Query`] saying what and where. Blank `q` means no text filter.
//!
//! # How it is fast
//! Everything that needs no score works on per-segment bitmaps, 64 documents a word (`pass.rs`):
//! - Each text clause's documents are kept per segment (segments never change), so a word or prefix
//!   searched before costs a lookup; the clauses are intersected, the deleted documents and what the
//!   caller may not see (the union of its audiences' bitmaps) are masked out.
//! - Facet filters are unions of per-value bitmaps; drill-sideways counts are AND + popcount per value
//!   (or per document for small sets), so their cost follows the segment's size, not the matches. The
//!   answer's counts are kept for the searcher generation, by text, visibility and filters (`kept.rs`):
//!   a search asked again in the same generation does not count at all.
//! - Ranking: per segment and searcher generation, the best 1,024 documents of each ranked text are
//!   kept, whoever asked; a search takes the first of them that are its hits. Only when its filters
//!   leave fewer than a page of an incomplete list does it score again, and then with tantivy's pruning
//!   search (block-max WAND) restricted to its hits. Prefix-only text scores every match alike, so it
//!   lists matches in browsing order (first day, code, id), precomputed per segment.
//! - Phrases are conjunctions of indexed adjacent word pairs, not positional queries (no positions
//!   stored). Nothing is read from tantivy's document store: ids and sort keys come from decoded columns.
//!
//! # Measured (`cargo run --release -p eprime-search --example scale -- 100000`)
//! 100,000 generated entries, caller sees public + KOR (~72% of entries), one core (`taskset -c 1`),
//! load ≈ 2: indexing 5.7 s, +46 MiB resident; upsert of one entry 4.7 ms. CPU per query when the
//! query was asked before (in this generation of the index); the first time a text is asked, its clause
//! bitmaps and ranked list are made: "first" is the slowest such query (the `max` column).
//!
//! | class            | p50     | p99     | CPU/query | first   | matches |
//! |------------------|--------:|--------:|----------:|--------:|--------:|
//! | rare word        | 0.06 ms | 0.13 ms | 0.06 ms   | 0.3 ms  | 372     |
//! | common word      | 0.15 ms | 0.24 ms | 0.13 ms   | 0.8 ms  | 25,775  |
//! | very common word | 0.21 ms | 0.26 ms | 0.22 ms   | 1.9 ms  | 72,062  |
//! | two words        | 0.19 ms | 0.27 ms | 0.21 ms   | 3.1 ms  | 19,308  |
//! | phrase           | 0.17 ms | 0.23 ms | 0.16 ms   | 1.4 ms  | 16,048  |
//! | prefix           | 0.21 ms | 0.35 ms | 0.22 ms   | 1.3 ms  | 69,382  |
//! | facet-only       | 0.21 ms | 0.26 ms | 0.19 ms   | 0.3 ms  | 5,948   |
//! | word+facets      | 0.14 ms | 0.21 ms | 0.13 ms   | 1.3 ms  | 20,063  |
//!
//! Before these bitmaps and lists (a tantivy collector scoring every match), the heavy classes took
//! 1.4–2.2 ms each. SQLite FTS5 for comparison: 55–240 ms for common words at 100k.

mod analysis;
mod bits;
mod columns;
mod facets;
mod index;
mod kept;
mod pass;
mod query;
mod schema;
mod types;

#[cfg(test)]
mod tests;

pub use index::TantivyMenuIndex;
pub use types::{
    FacetCount, Facets, Hit, MAX_LIMIT, MenuEntry, MenuHits, MenuIndex, MenuQuery, SearchError, Visibility,
};
