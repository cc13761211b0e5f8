//! Visibility as a tantivy query: the documents released to any of the caller's audiences, or public.
//!
//! A boolean union of the audience terms works but is slow to intersect with text (every seek walks several
//! posting lists, and the public list holds most documents). Here each term's documents are kept per segment
//! as a bitmap (see [`crate::columns`]); a search ORs the caller's few bitmaps and the intersection probes the
//! result in constant time. It scores nothing, so it never changes ranking.

use std::sync::Arc;

use tantivy::query::{EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::{DocId, DocSet, Score, SegmentReader, TERMINATED, TantivyError, Term};

use crate::columns::ColumnCache;

/// Matches documents carrying any of `terms` (the `public` flag and the caller's audiences).
#[derive(Clone)]
pub(crate) struct VisibilityQuery {
    pub terms: Vec<Term>,
    pub cache: Arc<ColumnCache>,
}

impl std::fmt::Debug for VisibilityQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VisibilityQuery").field("terms", &self.terms).finish_non_exhaustive()
    }
}

impl Query for VisibilityQuery {
    fn weight(&self, _: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.clone()))
    }
}

impl Weight for VisibilityQuery {
    fn scorer(&self, reader: &SegmentReader, _boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let internal = |e: crate::SearchError| TantivyError::InternalError(e.to_string());
        let columns = self.cache.get(reader).map_err(internal)?;
        let mut words = vec![0u64; (reader.max_doc() as usize).div_ceil(64)];
        for term in &self.terms {
            let bits = columns.term_bitmap(reader, term).map_err(internal)?;
            for (w, b) in words.iter_mut().zip(bits.iter()) {
                *w |= b;
            }
        }
        Ok(Box::new(Bitmap::new(words, reader.max_doc())))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.seek(doc) == doc {
            Ok(Explanation::new("visible to the caller", 0.0))
        } else {
            Err(TantivyError::InvalidArgument(format!("document {doc} is not visible to the caller")))
        }
    }
}

/// A doc set over a plain bitmap, scoring 0.
struct Bitmap {
    words: Vec<u64>,
    max_doc: u32,
    doc: DocId,
    len: u32,
}

impl Bitmap {
    fn new(words: Vec<u64>, max_doc: u32) -> Self {
        let len = words.iter().map(|w| w.count_ones()).sum();
        let mut bitmap = Bitmap { words, max_doc, doc: 0, len };
        bitmap.doc = bitmap.first_from(0);
        bitmap
    }

    /// The first document at or after `from`, or `TERMINATED`.
    fn first_from(&self, from: DocId) -> DocId {
        if from >= self.max_doc {
            return TERMINATED;
        }
        let mut i = (from / 64) as usize;
        let mut bits = self.words[i] & (u64::MAX << (from % 64));
        loop {
            if bits != 0 {
                let doc = i as u32 * 64 + bits.trailing_zeros();
                return if doc < self.max_doc { doc } else { TERMINATED };
            }
            i += 1;
            match self.words.get(i) {
                Some(&w) => bits = w,
                None => return TERMINATED,
            }
        }
    }
}

impl DocSet for Bitmap {
    fn advance(&mut self) -> DocId {
        self.doc = if self.doc == TERMINATED { TERMINATED } else { self.first_from(self.doc + 1) };
        self.doc
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if target > self.doc {
            self.doc = self.first_from(target);
        }
        self.doc
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        self.len
    }

    /// Probing a bitmap costs next to nothing, while seeking in a union of text postings is slow: claiming
    /// a high cost lets the text lead the intersection and probe visibility for each of its documents.
    fn cost(&self) -> u64 {
        u64::MAX
    }
}

impl Scorer for Bitmap {
    fn score(&mut self) -> Score {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitmap_walks_and_seeks() {
        let mut words = vec![0u64; 3];
        for d in [0u32, 5, 63, 64, 130] {
            words[(d / 64) as usize] |= 1 << (d % 64);
        }
        let mut b = Bitmap::new(words.clone(), 131);
        let mut seen = vec![b.doc()];
        while b.advance() != TERMINATED {
            seen.push(b.doc());
        }
        assert_eq!(seen, [0, 5, 63, 64, 130]);
        let mut b = Bitmap::new(words.clone(), 131);
        assert_eq!(b.seek(6), 63);
        assert_eq!(b.seek(65), 130);
        assert_eq!(b.advance(), TERMINATED);
        assert_eq!(Bitmap::new(vec![0; 2], 100).doc(), TERMINATED);
        // Bits past max_doc are never returned.
        assert_eq!(Bitmap::new(vec![1 << 40], 10).doc(), TERMINATED);
    }
}
