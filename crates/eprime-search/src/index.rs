//! [`TantivyMenuIndex`]: the menu index in memory, one writer behind a mutex, one reader shared by all.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tantivy::query::EnableScoring;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::analysis;
use crate::columns::ColumnCache;
use crate::facets::{filters, finish};
use crate::pass::{self, Plan};
use crate::query::{Analyzers, parse, text_query};
use crate::schema::{self, Fields};
use crate::types::{Hit, MAX_LIMIT, MenuEntry, MenuHits, MenuIndex, MenuQuery, SearchError, Visibility};

/// Indexing memory, shared by the writer's threads; enough to index 100,000 entries without a mid-batch flush.
const WRITER_MEMORY: usize = 96 * 1024 * 1024;

/// The menu index in RAM, rebuilt from the database at start. Cheap to search from many threads at once;
/// updates are serialised.
pub struct TantivyMenuIndex {
    fields: Fields,
    reader: IndexReader,
    writer: Mutex<IndexWriter<TantivyDocument>>,
    cache: Arc<ColumnCache>,
    analyzers: Analyzers,
}

impl std::fmt::Debug for TantivyMenuIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TantivyMenuIndex").field("len", &self.len()).finish_non_exhaustive()
    }
}

impl TantivyMenuIndex {
    /// An empty index in memory.
    pub fn new() -> Result<Self, SearchError> {
        let (schema, fields) = schema::build();
        let index = Index::create_in_ram(schema);
        analysis::register(&index);
        let writer = index.writer(WRITER_MEMORY)?;
        // Manual: the index reloads right after each commit, so a caller's write is visible on return.
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let analyzers = Analyzers { stemmed: analysis::words(true), unstemmed: analysis::words(false) };
        Ok(TantivyMenuIndex { fields, reader, writer: Mutex::new(writer), cache: Arc::default(), analyzers })
    }

    /// Runs `change` on the writer, commits, and makes the result visible to the next search.
    fn write(
        &self,
        change: impl FnOnce(&IndexWriter<TantivyDocument>, &Fields) -> Result<(), SearchError>,
    ) -> Result<(), SearchError> {
        // A panic elsewhere while holding the lock leaves nothing half-done that a rollback cannot undo.
        let mut writer = self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let result = change(&writer, &self.fields).and_then(|()| writer.commit().map(drop).map_err(SearchError::from));
        if let Err(e) = result {
            // Drop whatever this batch added so the next one does not commit it by accident.
            let _ = writer.rollback();
            return Err(e);
        }
        self.reader.reload()?;
        self.cache.warm(&self.reader.searcher())
    }

    /// The terms a caller sees documents through: the `public` flag or one of its audiences; `None` when
    /// it sees everything.
    fn visibility_terms(&self, visibility: &Visibility) -> Option<Vec<Term>> {
        if visibility.everything {
            return None;
        }
        let mut terms = vec![Term::from_field_bool(self.fields.public, true)];
        terms.extend(visibility.audiences.iter().map(|a| Term::from_field_text(self.fields.audience, a)));
        Some(terms)
    }
}

impl MenuIndex for TantivyMenuIndex {
    fn upsert(&self, entries: Vec<MenuEntry>) -> Result<(), SearchError> {
        if entries.is_empty() {
            return Ok(());
        }
        // The last of several entries with one id wins, as if they had been upserted one after the other.
        let mut last: HashMap<&str, usize> = HashMap::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            last.insert(e.id.as_str(), i);
        }
        self.write(|writer, fields| {
            // Under the writer lock the reader shows every committed write, so it tells which ids exist.
            // Deleting only those keeps a rebuild from queueing 100,000 deletes that match nothing.
            let searcher = self.reader.searcher();
            let empty = searcher.num_docs() == 0;
            for (i, e) in entries.iter().enumerate() {
                if last.get(e.id.as_str()) != Some(&i) {
                    continue;
                }
                let id = Term::from_field_text(fields.id, &e.id);
                // Counts deleted documents too; an unneeded delete is harmless.
                if !empty && searcher.doc_freq(&id)? > 0 {
                    // Deletes apply to documents added before them, so the new version survives its own delete.
                    writer.delete_term(id);
                }
                writer.add_document(schema::document(fields, e))?;
            }
            Ok(())
        })
    }

    fn remove(&self, ids: &[String]) -> Result<(), SearchError> {
        if ids.is_empty() {
            return Ok(());
        }
        self.write(|writer, fields| {
            for id in ids {
                writer.delete_term(Term::from_field_text(fields.id, id));
            }
            Ok(())
        })
    }

    fn search(&self, visibility: &Visibility, query: &MenuQuery) -> Result<MenuHits, SearchError> {
        let clauses = match query.q.as_deref() {
            Some(q) => parse(q)?,
            None => Vec::new(),
        };
        let mut analyzers = self.analyzers.clone();
        let text = text_query(&self.fields, &mut analyzers, &clauses)?;
        let searcher = self.reader.searcher();
        let scoring = match &text {
            Some(text) if text.ranked => Some(text.combined().weight(EnableScoring::enabled_from_searcher(&searcher))?),
            _ => None,
        };
        let generation = searcher.generation().generation_id();
        let text = text.as_ref().map(|query| pass::Text { query, scoring: scoring.as_deref(), generation });
        let limit = query.limit.min(MAX_LIMIT);
        let keep = if limit == 0 { 0 } else { query.offset.saturating_add(limit) };
        let plan = Plan {
            visibility: self.visibility_terms(visibility),
            filters: filters(query),
            keep,
            upcoming_from: query.upcoming_from.map(|day| schema::day_key(Some(day))),
        };
        let mut fruits = Vec::with_capacity(searcher.segment_readers().len());
        for reader in searcher.segment_readers() {
            let cols = self.cache.get(reader)?;
            fruits.push(pass::segment(&plan, text.as_ref(), &searcher, reader, &cols)?);
        }
        let (total, candidates, counts) = pass::merge(fruits, keep);
        let hits =
            candidates.into_iter().skip(query.offset).take(limit).map(|c| Hit { id: c.id, score: c.score }).collect();
        Ok(MenuHits { total, hits, facets: finish(counts) })
    }

    fn compact(&self) -> Result<(), SearchError> {
        let mut writer = self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let segments = self.reader.searcher().segment_readers().iter().map(|r| r.segment_id()).collect::<Vec<_>>();
        if segments.len() > 1 {
            writer.merge(&segments).wait()?;
        }
        // Wait for merges the policy started meanwhile, so the reload sees the final segments.
        writer.commit()?;
        drop(writer);
        self.reader.reload()?;
        self.cache.warm(&self.reader.searcher())
    }

    fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }
}
