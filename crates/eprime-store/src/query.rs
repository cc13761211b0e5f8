//! Filters and pages for list reads.

use std::collections::BTreeMap;

use eprime_domain::{ActivityKind, ActivityStatus, DocumentId, DocumentKind, ElementId, PartnerCode};
use serde::Serialize;
use time::Date;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DocumentFilter {
    pub partnership: Option<PartnerCode>,
    pub kind: Option<DocumentKind>,
}

/// Which activities to list. Every field narrows the list; `None` means "any".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ActivityFilter {
    pub partnership: Option<PartnerCode>,
    /// Activities that support an element of this document.
    pub document: Option<DocumentId>,
    /// Activities that support this element (a goal, a priority area, an objective).
    pub element: Option<ElementId>,
    pub status: Option<ActivityStatus>,
    pub kind: Option<ActivityKind>,
    /// Activities that end on or after this date (or have no end).
    pub from: Option<Date>,
    /// Activities that start on or before this date (or have no start).
    pub to: Option<Date>,
    /// Words that must all appear in the title, description or location (case-insensitive).
    pub text: Option<String>,
    /// Activities that start on or after this date (dated ones only).
    pub starts_from: Option<Date>,
    /// Activities that ended before this date.
    pub ends_before: Option<Date>,
    /// The order of a list (counts and tallies ignore it).
    pub order: ActivityOrder,
}

/// The order activities are listed in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ActivityOrder {
    /// Latest start first, undated last; pages follow a cursor.
    #[default]
    NewestFirst,
    /// Earliest start first, undated first; pages follow a cursor.
    SoonestFirst,
    /// Most recently changed first: one page only (a cursor is refused).
    RecentlyChanged,
}

/// A page request: at most `limit` items after the `after` cursor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub after: Option<String>,
}

impl PageRequest {
    pub const DEFAULT_LIMIT: u32 = 50;
    pub const MAX_LIMIT: u32 = 200;

    pub fn first(limit: u32) -> Self {
        Self { limit: limit.clamp(1, Self::MAX_LIMIT), after: None }
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self::first(Self::DEFAULT_LIMIT)
    }
}

/// One page of a list, with the cursor of the next page when there is one.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `after` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Activities counted per status, in [`ActivityStatus::ALL`] order.
pub type StatusCounts = [u64; ActivityStatus::ALL.len()];

/// The visible activities matching a filter, counted along the axes a programme page draws —
/// computed by the store in a few grouped statements, so a page never loads the activities
/// themselves to count them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ActivityTally {
    /// Every matching activity once, by status.
    pub by_status: StatusCounts,
    /// Per element an activity supports directly (a goal, a priority area, an objective).
    pub by_element: BTreeMap<ElementId, StatusCounts>,
    /// Per branch of the programme tree: an element together with its direct children (a priority
    /// issue with its goals), each activity once however many of them it supports. An element
    /// without a parent is the root of its own branch.
    pub by_branch: BTreeMap<ElementId, StatusCounts>,
    /// Per year the activity starts in; undated activities are only in `by_status`.
    pub by_year: BTreeMap<i32, StatusCounts>,
}

impl ActivityTally {
    pub fn total(&self) -> u64 {
        self.by_status.iter().sum()
    }

    /// Adds `n` activities of `status` to the counts of `key` in `map`.
    pub fn add<K: Ord>(map: &mut BTreeMap<K, StatusCounts>, key: K, status: ActivityStatus, n: u64) {
        map.entry(key).or_default()[status_index(status)] += n;
    }
}

/// The position of `status` in [`ActivityStatus::ALL`].
pub fn status_index(status: ActivityStatus) -> usize {
    ActivityStatus::ALL.iter().position(|s| *s == status).expect("ALL lists every status")
}
