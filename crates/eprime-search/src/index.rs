//! [`TantivyMenuIndex`]: the menu index in memory, one writer behind a mutex, one reader shared by all.
//!
//! Writes commit in groups. A tantivy commit has a fixed cost whatever it holds (a new segment
//! writer, whose term table alone is 4 MiB to clear, then a reader reload and the column cache for
//! the new segment), and a menu sees bursts of one-offering writes: every nomination moves its
//! offering's open seats. So a write queues its change and waits for the writer; whoever gets the
//! writer commits everything queued by then, and each caller returns once the commit holding its
//! change is visible. A burst of writes costs about one commit per commit's duration, not one each.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use tantivy::query::EnableScoring;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::analysis;
use crate::columns::ColumnCache;
use crate::facets::{filters, finish};
use crate::kept::{self, KeptFacets};
use crate::pass::{self, Plan};
use crate::query::{Analyzers, parse, text_query};
use crate::schema::{self, Fields};
use crate::types::{Facets, Hit, MAX_LIMIT, MenuEntry, MenuHits, MenuIndex, MenuQuery, SearchError, Visibility};

/// Indexing memory, shared by the writer's threads; enough to index 100,000 entries without a mid-batch flush.
const WRITER_MEMORY: usize = 96 * 1024 * 1024;

/// The menu index in RAM, rebuilt from the database at start. Cheap to search from many threads at once;
/// updates are serialised.
pub struct TantivyMenuIndex {
    fields: Fields,
    reader: IndexReader,
    pub(crate) writer: Mutex<IndexWriter<TantivyDocument>>,
    /// Changes waiting for the next commit; taken, all at once, only by the holder of `writer`.
    pub(crate) queue: Mutex<Vec<Queued>>,
    /// Commits made (the tests count them).
    #[cfg(test)]
    commits: std::sync::atomic::AtomicU64,
    cache: Arc<ColumnCache>,
    /// The facet counts of searches asked before, for the current searcher generation.
    kept_facets: KeptFacets,
    analyzers: Analyzers,
}

/// One caller's change to the entries.
#[derive(Debug)]
pub(crate) enum Change {
    Upsert(Vec<MenuEntry>),
    Remove(Vec<String>),
}

/// A change waiting for a commit, and where its caller finds the commit's outcome.
pub(crate) struct Queued {
    change: Change,
    outcome: Arc<OnceLock<Result<(), SearchError>>>,
}

/// The changes one commit holds. Should the commit panic, each caller still hears that its change
/// was not made (instead of finding its outcome unset and taking the next batch for its own).
struct Batch(Vec<Queued>);

impl Drop for Batch {
    fn drop(&mut self) {
        for queued in &self.0 {
            let _ = queued.outcome.set(Err(SearchError::Index("the commit holding this change failed".to_owned())));
        }
    }
}

/// Locks `mutex` even if a thread panicked holding it: what it guards stays consistent (the
/// writer rolls back a failed batch; the queue is a list).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
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
        Ok(TantivyMenuIndex {
            fields,
            reader,
            writer: Mutex::new(writer),
            queue: Mutex::default(),
            #[cfg(test)]
            commits: Default::default(),
            cache: Arc::default(),
            kept_facets: KeptFacets::default(),
            analyzers,
        })
    }

    /// Queues `change`, and returns once a commit holding it is visible to the next search.
    fn write(&self, change: Change) -> Result<(), SearchError> {
        let outcome = Arc::new(OnceLock::new());
        lock(&self.queue).push(Queued { change, outcome: outcome.clone() });
        let mut writer = lock(&self.writer);
        // The holder before us took the queue after we joined it: our change is committed.
        if let Some(done) = outcome.get() {
            return done.clone();
        }
        let batch = Batch(std::mem::take(&mut *lock(&self.queue)));
        let result = self.commit(&mut writer, batch.0.iter().map(|queued| &queued.change));
        for queued in &batch.0 {
            let _ = queued.outcome.set(result.clone());
        }
        result
    }

    /// Applies `changes` in order, commits, and reloads the reader; all or nothing.
    pub(crate) fn commit<'a>(
        &self,
        writer: &mut IndexWriter<TantivyDocument>,
        changes: impl Iterator<Item = &'a Change>,
    ) -> Result<(), SearchError> {
        let result = self.apply(writer, changes).and_then(|()| writer.commit().map(drop).map_err(SearchError::from));
        if let Err(e) = result {
            // Drop whatever this batch added so the next one does not commit it by accident.
            let _ = writer.rollback();
            return Err(e);
        }
        #[cfg(test)]
        self.commits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.reader.reload()?;
        self.cache.warm(&self.reader.searcher())
    }

    fn apply<'a>(
        &self,
        writer: &IndexWriter<TantivyDocument>,
        changes: impl Iterator<Item = &'a Change>,
    ) -> Result<(), SearchError> {
        let fields = &self.fields;
        // Under the writer lock the reader shows every committed write, so it tells which ids exist.
        // Deleting only those (and ids added earlier in this batch) keeps a rebuild from queueing
        // 100,000 deletes that match nothing.
        let searcher = self.reader.searcher();
        let empty = searcher.num_docs() == 0;
        let mut added: HashSet<&str> = HashSet::new();
        for change in changes {
            match change {
                Change::Upsert(entries) => {
                    for e in entries {
                        let id = Term::from_field_text(fields.id, &e.id);
                        // Counts deleted documents too; an unneeded delete is harmless.
                        if added.contains(e.id.as_str()) || (!empty && searcher.doc_freq(&id)? > 0) {
                            // A delete applies to documents added before it, so the new version
                            // survives its own delete and the last of several versions wins.
                            writer.delete_term(id);
                        }
                        writer.add_document(schema::document(fields, e))?;
                        added.insert(e.id.as_str());
                    }
                }
                Change::Remove(ids) => {
                    for id in ids {
                        writer.delete_term(Term::from_field_text(fields.id, id));
                    }
                }
            }
        }
        Ok(())
    }

    /// Commits made since the index was created.
    #[cfg(test)]
    pub(crate) fn commits(&self) -> u64 {
        self.commits.load(std::sync::atomic::Ordering::Relaxed)
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
        self.write(Change::Upsert(entries))
    }

    fn remove(&self, ids: &[String]) -> Result<(), SearchError> {
        if ids.is_empty() {
            return Ok(());
        }
        self.write(Change::Remove(ids.to_vec()))
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
        let filters = filters(query);
        let kept_key = kept::key(visibility, text.as_ref().map(|t| t.query), &filters);
        let kept_facets = self.kept_facets.get(generation, &kept_key);
        let plan = Plan {
            visibility: self.visibility_terms(visibility),
            filters,
            keep,
            upcoming_from: query.upcoming_from.map(|day| schema::day_key(Some(day))),
            count_facets: kept_facets.is_none(),
        };
        let mut fruits = Vec::with_capacity(searcher.segment_readers().len());
        for reader in searcher.segment_readers() {
            let cols = self.cache.get(reader)?;
            fruits.push(pass::segment(&plan, text.as_ref(), &searcher, reader, &cols)?);
        }
        let (total, candidates, counts) = pass::merge(fruits, keep);
        let hits =
            candidates.into_iter().skip(query.offset).take(limit).map(|c| Hit { id: c.id, score: c.score }).collect();
        let facets = match kept_facets {
            Some(kept) => Facets::clone(&kept),
            None => {
                let facets = finish(counts);
                self.kept_facets.keep(generation, kept_key, Arc::new(facets.clone()));
                facets
            }
        };
        Ok(MenuHits { total, hits, facets })
    }

    fn compact(&self) -> Result<(), SearchError> {
        let mut writer = lock(&self.writer);
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
