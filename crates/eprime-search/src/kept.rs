//! Facet counts kept per query for one generation of the index.
//!
//! Counting is most of the cost of a search that matches much of the menu (a very common word, or no
//! text at all): an AND and a popcount per facet value and 64 documents, over every segment, then the
//! segments' counts merged and sorted. The counts depend only on the text's clauses, the caller's
//! visibility, the facet filters and the index's content, and the content changes only with a new
//! searcher generation. So the answer's counts are kept by the first three until the generation moves
//! on. The key holds the whole visibility: counts made for one audience are never another's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::query::TextQuery;
use crate::types::{Facets, Visibility};

/// Queries kept per generation: the menu page's few filter combinations and the words people search
/// for again, with room to spare. Beyond it one is forgotten to make room. An answer's counts are at
/// most 50 short values per facet, some 15 KB at the most, so this bounds the memory at a few MB.
const MAX_KEPT: usize = 256;

#[derive(Default)]
pub(crate) struct KeptFacets {
    kept: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    generation: u64,
    by_query: HashMap<String, Arc<Facets>>,
}

/// Everything the counts of a search depend on besides the index's content. Each part's `Debug` form is
/// self-delimiting (strings quoted and escaped), so two different searches never share a key.
pub(crate) fn key(visibility: &Visibility, text: Option<&TextQuery>, filters: &[Option<Vec<String>>]) -> String {
    let clauses: Vec<&str> = text.iter().flat_map(|t| &t.clauses).map(|(key, _)| key.as_str()).collect();
    format!("{}{:?} {clauses:?} {filters:?}", visibility.everything, visibility.audiences)
}

impl KeptFacets {
    /// The counts kept for `key` in searcher generation `generation`.
    pub fn get(&self, generation: u64, key: &str) -> Option<Arc<Facets>> {
        let kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        if kept.generation != generation {
            return None;
        }
        kept.by_query.get(key).cloned()
    }

    /// Keeps `facets`, counted in `generation`, for `key`; what was kept for an older generation is
    /// dropped. Counts of a generation older than the kept one are not kept (a search that started
    /// before the last write ended after the next one kept its counts).
    pub fn keep(&self, generation: u64, key: String, facets: Arc<Facets>) {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        if generation < kept.generation {
            return;
        }
        if generation > kept.generation {
            kept.generation = generation;
            kept.by_query.clear();
        }
        if kept.by_query.len() >= MAX_KEPT
            && let Some(victim) = kept.by_query.keys().next().cloned()
        {
            kept.by_query.remove(&victim);
        }
        kept.by_query.insert(key, facets);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{KeptFacets, MAX_KEPT, key};
    use crate::types::{FacetCount, Facets, Visibility};

    fn facets(n: u64) -> Arc<Facets> {
        Arc::new(Facets { area: vec![FacetCount { value: "CYD".into(), count: n }], ..Facets::default() })
    }

    #[test]
    fn a_key_tells_apart_every_audience_and_filter() {
        let no_filters = vec![None; 2];
        let keys = [
            key(&Visibility::everything(), None, &no_filters),
            key(&Visibility::of(["JPN"]), None, &no_filters),
            key(&Visibility::of(["JPN", "PARTNERS"]), None, &no_filters),
            key(&Visibility::of(["JPN\", \"PARTNERS"]), None, &no_filters),
            key(&Visibility::default(), None, &no_filters),
            key(&Visibility::of(["JPN"]), None, &[Some(vec!["CYD".into()]), None]),
            key(&Visibility::of(["JPN"]), None, &[None, Some(vec!["CYD".into()])]),
        ];
        let distinct: std::collections::HashSet<_> = keys.iter().collect();
        assert_eq!(distinct.len(), keys.len(), "{keys:#?}");
    }

    #[test]
    fn counts_are_kept_for_their_generation_only() {
        let kept = KeptFacets::default();
        kept.keep(3, "q".into(), facets(1));
        assert_eq!(kept.get(3, "q"), Some(facets(1)));
        assert_eq!(kept.get(3, "other"), None);
        assert_eq!(kept.get(4, "q"), None, "a newer generation counts again");
        kept.keep(4, "q".into(), facets(2));
        kept.keep(3, "q".into(), facets(1));
        assert_eq!(kept.get(4, "q"), Some(facets(2)), "an older search does not replace newer counts");
        assert_eq!(kept.get(3, "q"), None);
        for n in 0..2 * MAX_KEPT {
            kept.keep(4, format!("q{n}"), facets(n as u64));
        }
        assert!(kept.kept.lock().unwrap().by_query.len() <= MAX_KEPT, "bounded");
    }
}
