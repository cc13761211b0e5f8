//! The facets: what each one is called in the schema, which query field filters it, and how the merged
//! counts are ordered and capped for the answer.

use std::collections::HashMap;

use crate::types::{FacetCount, Facets, MenuQuery};

/// At most this many values per facet in an answer.
pub(crate) const FACET_CAP: usize = 50;

/// Every facet the index can filter on. `Status` filters but is not counted (it is not in [`Facets`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Facet {
    Area,
    EventType,
    Provider,
    Month,
    Location,
    Language,
    OpenSeats,
    Status,
}

impl Facet {
    pub(crate) const ALL: [Facet; 8] = [
        Facet::Area,
        Facet::EventType,
        Facet::Provider,
        Facet::Month,
        Facet::Location,
        Facet::Language,
        Facet::OpenSeats,
        Facet::Status,
    ];

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    pub(crate) fn field_name(self) -> &'static str {
        match self {
            Facet::Area => "f_area",
            Facet::EventType => "f_event_type",
            Facet::Provider => "f_provider",
            Facet::Month => "f_month",
            Facet::Location => "f_location",
            Facet::Language => "f_language",
            Facet::OpenSeats => "f_open_seats",
            Facet::Status => "f_status",
        }
    }

    /// Whether the answer reports counts for this facet.
    pub(crate) fn counted(self) -> bool {
        self != Facet::Status
    }
}

/// The value of the open-seats facet.
pub(crate) fn seats_value(open: bool) -> &'static str {
    if open { "yes" } else { "no" }
}

/// The selected values per facet (in `Facet::ALL` order); `None` where the query does not filter that facet.
pub(crate) fn filters(q: &MenuQuery) -> Vec<Option<Vec<String>>> {
    let list = |v: &Vec<String>| if v.is_empty() { None } else { Some(v.clone()) };
    Facet::ALL
        .iter()
        .map(|f| match f {
            Facet::Area => list(&q.areas),
            Facet::EventType => list(&q.event_types),
            Facet::Provider => list(&q.providers),
            Facet::Month => list(&q.months),
            Facet::Location => list(&q.locations),
            Facet::Language => list(&q.languages),
            Facet::OpenSeats => q.open_seats.map(|open| vec![seats_value(open).to_string()]),
            Facet::Status => list(&q.statuses),
        })
        .collect()
}

/// Turns merged counts (in `Facet::ALL` order) into the answer: count descending then value, months by value;
/// at most [`FACET_CAP`] values, keeping the most frequent.
pub(crate) fn finish(counts: Vec<HashMap<String, u64>>) -> Facets {
    let mut lists: Vec<Vec<FacetCount>> = counts
        .into_iter()
        .zip(Facet::ALL)
        .map(|(map, facet)| {
            let mut list: Vec<FacetCount> =
                map.into_iter().filter(|(_, c)| *c > 0).map(|(value, count)| FacetCount { value, count }).collect();
            list.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
            list.truncate(FACET_CAP);
            if facet == Facet::Month {
                list.sort_by(|a, b| a.value.cmp(&b.value));
            }
            list
        })
        .collect();
    let mut take = |f: Facet| std::mem::take(&mut lists[f.index()]);
    Facets {
        area: take(Facet::Area),
        event_type: take(Facet::EventType),
        provider: take(Facet::Provider),
        month: take(Facet::Month),
        location: take(Facet::Location),
        language: take(Facet::Language),
        open_seats: take(Facet::OpenSeats),
    }
}
