//! Pages of activities, with each activity kept by (id, version) as a record and as its JSON.
//!
//! Reading a page of fifty activities whole costs four correlated sub-queries per row (participants,
//! goals, areas, releasability) and then writing each out as JSON; most of a list request went there,
//! although the first pages of the common lists seldom change. So a page is read in two steps: the
//! store walks its index for the page's (id, version) pairs (`Store::list_activity_versions`, with the
//! same filters, visibility rule and cursor as `list_activities`), and only the activities not kept
//! at that version are read whole (`Store::activities_by_ids`, one statement). One activity is read
//! the same way: its version (`Store::activity_version`, one row by its key), then the record if it
//! is not kept at that version. The store decides what the caller sees on every request; see
//! `versioned`.

use std::sync::Arc;

use axum::body::Bytes;
use eprime_domain::{Activity, ActivityId, ReadScope};
use eprime_store::{ActivityFilter, Page, PageRequest, Store, StoreError};
use serde_json::value::RawValue;

use crate::versioned::Versioned;

/// How many activities are kept (about 3 KB each, record and JSON).
const CAPACITY: usize = 8192;

/// One version of an activity, and its JSON as the API gives it.
pub struct KeptActivity {
    pub record: Activity,
    pub json: Box<RawValue>,
}

impl KeptActivity {
    fn new(record: Activity) -> Result<Self, StoreError> {
        let json = serde_json::value::to_raw_value(&record)
            .map_err(|error| StoreError::Backend(format!("activity {} as JSON: {error}", record.id)))?;
        Ok(Self { record, json })
    }

    /// Its JSON as a response body, not copied: the body holds on to the kept activity.
    pub fn json_body(self: &Arc<Self>) -> Bytes {
        Bytes::from_owner(JsonOf(self.clone()))
    }
}

/// A kept activity seen as the bytes of its JSON.
struct JsonOf(Arc<KeptActivity>);

impl AsRef<[u8]> for JsonOf {
    fn as_ref(&self) -> &[u8] {
        self.0.json.get().as_bytes()
    }
}

pub struct ActivityViews {
    kept: Versioned<ActivityId, Arc<KeptActivity>>,
}

impl Default for ActivityViews {
    fn default() -> Self {
        Self { kept: Versioned::with_capacity(CAPACITY) }
    }
}

impl ActivityViews {
    /// The page `Store::list_activities` would give, item for item.
    pub async fn page(
        &self,
        store: &dyn Store,
        scope: &ReadScope,
        filter: &ActivityFilter,
        page: &PageRequest,
    ) -> Result<Page<Arc<KeptActivity>>, StoreError> {
        let versions = store.list_activity_versions(scope, filter, page).await?;
        let items = self.take_or_read(store, scope, &versions.items).await?;
        Ok(Page { items, next_cursor: versions.next_cursor })
    }

    /// Keeps an activity as a write returned it: every write gives the record exactly as it is read
    /// back at its new version (the storage suite checks this), so the next read of it, alone or in a
    /// page, is not a read of the record. Returns it kept, to answer the write with.
    pub fn written(&self, record: Activity) -> Result<Arc<KeptActivity>, StoreError> {
        let kept = Arc::new(KeptActivity::new(record)?);
        self.kept.put(kept.record.id, kept.record.version, kept.clone());
        Ok(kept)
    }

    /// The activity `Store::activity` would give, if the caller may see it.
    pub async fn one(
        &self,
        store: &dyn Store,
        scope: &ReadScope,
        id: ActivityId,
    ) -> Result<Option<Arc<KeptActivity>>, StoreError> {
        let Some(version) = store.activity_version(scope, id).await? else {
            return Ok(None);
        };
        Ok(self.take_or_read(store, scope, &[(id, version)]).await?.pop())
    }

    /// The activities listed (id and version), those kept at that version as they are, the rest
    /// read in one statement.
    async fn take_or_read(
        &self,
        store: &dyn Store,
        scope: &ReadScope,
        listed: &[(ActivityId, i64)],
    ) -> Result<Vec<Arc<KeptActivity>>, StoreError> {
        self.kept
            .take_or_read(listed, |missing| async move {
                let records = store.activities_by_ids(scope, &missing).await?;
                records
                    .into_iter()
                    .map(|record| {
                        Ok::<_, StoreError>((record.id, record.version, Arc::new(KeptActivity::new(record)?)))
                    })
                    .collect()
            })
            .await
    }
}
