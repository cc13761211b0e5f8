//! Keeps the menu search index in step with the store.
//!
//! The index is rebuilt from the store when the server starts, then follows the change log: an
//! offering's change, or a nomination's (which moves its offering's open seats), re-reads that
//! offering and replaces its entry. Writes through this instance also refresh the index before
//! they answer, so a provider finds what it just published; other instances catch up from the
//! log within moments. The index filters by visibility itself, and the handler reads the hits
//! back through the store with the caller's scope, so a stale entry can never show a record.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use eprime_domain::menu::Offering;
use eprime_domain::{OfferingId, ReadScope};
use eprime_search::{MenuEntry, MenuIndex, Visibility};
use eprime_store::{DynStore, EntityType, OfferingFilter, PageRequest};

use crate::pace::Pace;

/// The index with what it needs to describe offerings: organisation names and area titles.
pub struct MenuSearch {
    pub index: Arc<dyn MenuIndex>,
    names: RwLock<Names>,
    /// Becomes true once the index holds every offering the store had at start.
    built: tokio::sync::watch::Sender<bool>,
}

#[derive(Default)]
struct Names {
    organisations: HashMap<String, String>,
    areas: HashMap<String, String>,
}

/// What a read scope may see, in the index's terms.
pub fn visibility(scope: &ReadScope) -> Visibility {
    if scope.sees_everything() {
        Visibility::everything()
    } else {
        Visibility::of(scope.audiences().iter().map(|a| a.as_str().to_owned()))
    }
}

impl MenuSearch {
    pub fn new(index: Arc<dyn MenuIndex>) -> Arc<Self> {
        Arc::new(Self { index, names: RwLock::new(Names::default()), built: tokio::sync::watch::channel(false).0 })
    }

    /// Resolves once the first build from the store is done (a server answers searches only
    /// then, so a fresh start never shows a partial menu).
    pub async fn built(&self) {
        let mut built = self.built.subscribe();
        let _ = built.wait_for(|done| *done).await;
    }

    async fn load_names(&self, store: &DynStore) -> eprime_store::Result<()> {
        let organisations = store.list_organisations().await?;
        let areas = store.list_areas().await?;
        let mut names = self.names.write().unwrap_or_else(|e| e.into_inner());
        names.organisations = organisations.into_iter().map(|o| (o.code.to_string(), o.name.to_string())).collect();
        names.areas = areas.into_iter().map(|a| (a.code.to_string(), a.title.to_string())).collect();
        Ok(())
    }

    fn entry(&self, offering: &Offering) -> MenuEntry {
        let names = self.names.read().unwrap_or_else(|e| e.into_inner());
        let distinct = |values: Vec<String>| values.into_iter().collect::<BTreeSet<_>>().into_iter().collect();
        MenuEntry {
            id: offering.id.to_string(),
            code: offering.code.to_string(),
            title: offering.title.to_string(),
            description: offering.description.to_string(),
            provider: offering.provider.to_string(),
            provider_name: names.organisations.get(offering.provider.as_str()).cloned().unwrap_or_default(),
            areas: offering.areas.iter().map(ToString::to_string).collect(),
            area_titles: offering.areas.iter().filter_map(|a| names.areas.get(a.as_str()).cloned()).collect(),
            event_type: offering.event_type.as_str().to_owned(),
            status: offering.status.as_str().to_owned(),
            months: distinct(
                offering
                    .sessions
                    .iter()
                    .map(|s| format!("{:04}-{:02}", s.starts_on.year(), u8::from(s.starts_on.month())))
                    .collect(),
            ),
            locations: distinct(offering.sessions.iter().map(|s| location_facet(&s.location)).collect()),
            languages: distinct(offering.sessions.iter().map(|s| s.language.clone()).collect()),
            open_seats: offering.open_seats(),
            first_day: offering.first_day(),
            audiences: offering.marking.releasable_list().iter().map(ToString::to_string).collect(),
            public: offering.marking.is_public(),
        }
    }

    /// Replaces the entries of these offerings with what the store holds now.
    pub async fn refresh(&self, store: &DynStore, ids: &[OfferingId]) -> eprime_store::Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let offerings = store.offerings_by_ids(&ReadScope::system(), ids).await?;
        if offerings.iter().any(|o| !self.knows_provider(o)) {
            self.load_names(store).await?;
        }
        let entries: Vec<MenuEntry> = offerings.iter().map(|o| self.entry(o)).collect();
        let index = self.index.clone();
        let outcome = tokio::task::spawn_blocking(move || index.upsert(entries)).await;
        match outcome {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(eprime_store::StoreError::Backend(error.to_string())),
            Err(error) => Err(eprime_store::StoreError::Backend(error.to_string())),
        }
    }

    fn knows_provider(&self, offering: &Offering) -> bool {
        self.names.read().unwrap_or_else(|e| e.into_inner()).organisations.contains_key(offering.provider.as_str())
    }

    /// Indexes every offering in the store: read a page at a time, written in large batches (each
    /// commit makes an index segment, and every segment costs each search a little), then compacted.
    pub async fn rebuild(&self, store: &DynStore) -> eprime_store::Result<u64> {
        const BATCH: usize = 10_000;
        self.load_names(store).await?;
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        let mut count = 0;
        let mut batch: Vec<MenuEntry> = Vec::with_capacity(BATCH);
        loop {
            let found = store.list_offerings(&ReadScope::system(), &OfferingFilter::default(), &page).await?;
            count += found.items.len() as u64;
            batch.extend(found.items.iter().map(|o| self.entry(o)));
            let last = found.next_cursor.is_none();
            if batch.len() >= BATCH || last {
                let entries = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                self.blocking(move |index| index.upsert(entries)).await?;
            }
            match found.next_cursor {
                Some(cursor) => page.after = Some(cursor),
                None => break,
            }
        }
        self.blocking(|index| index.compact()).await?;
        Ok(count)
    }

    /// Runs `work` on the index on a blocking thread (index writes commit and reload synchronously).
    async fn blocking(
        &self,
        work: impl FnOnce(&dyn MenuIndex) -> Result<(), eprime_search::SearchError> + Send + 'static,
    ) -> eprime_store::Result<()> {
        let index = self.index.clone();
        tokio::task::spawn_blocking(move || work(index.as_ref()))
            .await
            .map_err(|e| eprime_store::StoreError::Backend(e.to_string()))?
            .map_err(|e| eprime_store::StoreError::Backend(e.to_string()))
    }

    /// Rebuilds, then follows the change log for as long as the search is in use.
    pub fn start(self: &Arc<Self>, store: DynStore) {
        let search = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut after = match store.last_change_seq().await {
                Ok(seq) => seq,
                Err(error) => return tracing::error!(%error, "menu search: cannot read the change log"),
            };
            {
                let Some(search) = search.upgrade() else { return };
                match search.rebuild(&store).await {
                    Ok(count) => tracing::info!(count, "menu search index built"),
                    Err(error) => tracing::error!(%error, "menu search: rebuilding the index failed"),
                }
                search.built.send_replace(true);
            }
            // This instance's own writes refresh the index as they are made; the log brings other
            // instances' writes, and a few milliseconds' pace batches them under load.
            let mut pace = Pace::every(Duration::from_millis(20));
            loop {
                store.wait_for_changes(after, Duration::from_secs(30)).await;
                pace.next_pass().await;
                let Some(search) = search.upgrade() else { return };
                // Only offerings and nominations change what the index holds: the log's other
                // entries (most of it: activities) are passed over unread.
                let read = match store.changes_of(&[EntityType::Offering, EntityType::Nomination], after, 1_000).await {
                    Ok(read) => read,
                    Err(error) => {
                        tracing::warn!(%error, "menu search: reading the change log failed; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                };
                let mut ids: Vec<OfferingId> = read
                    .entries
                    .iter()
                    .filter_map(|entry| match entry.entity {
                        EntityType::Offering => entry.entity_id.parse().ok(),
                        EntityType::Nomination => entry
                            .record()
                            .and_then(|r| r.get("offering"))
                            .and_then(|o| o.as_str())
                            .and_then(|o| o.parse().ok()),
                        _ => None,
                    })
                    .collect();
                ids.sort();
                ids.dedup();
                if let Err(error) = search.refresh(&store, &ids).await {
                    tracing::warn!(%error, "menu search: updating the index failed");
                }
                after = read.reached;
            }
        });
    }
}

/// The place a session is held, as the location facet counts it: the city, without the nation
/// code ("Oberammergau, DEU" → "Oberammergau"), or "online".
fn location_facet(location: &str) -> String {
    if location.eq_ignore_ascii_case("online") {
        return "online".to_owned();
    }
    location.split(',').next().unwrap_or(location).trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::location_facet;

    #[test]
    fn locations_facet_by_city() {
        assert_eq!(location_facet("Oberammergau, DEU"), "Oberammergau");
        assert_eq!(location_facet("Online"), "online");
        assert_eq!(location_facet("Rome"), "Rome");
    }
}
