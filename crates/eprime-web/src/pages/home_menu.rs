//! The menu's part of the home page: what waits for the viewer in the Partnership Cooperation
//! Menu, and the viewer's coming menu events and nomination deadlines.
//!
//! Each list is one bounded store read through the viewer's scope, filtered in SQL by the
//! viewer's provider or nation (`find_nominations`, `list_offerings`), so the page does the same
//! small amount of work however many years of menus the database holds:
//!
//! * a provider: nominations to decide, its reports overdue, its coming events;
//! * NATO staff: offerings waiting for approval, reports overdue anywhere;
//! * a partner officer: its nation's nominations in progress, feedback overdue, the events it
//!   nominated to and their deadlines;
//! * a participant: its own registrations (by e-mail) and feedback it owes.

use eprime_domain::menu::{Nomination, NominationStatus, Offering, OfferingStatus};
use eprime_domain::{Principal, ReadScope, Role};
use eprime_server::AppState;
use eprime_store::{NominationFilter, OfferingFilter, PageRequest};
use time::Date;

use crate::page::PageError;
use crate::pages::home::Upcoming;
use crate::views::{date, date_range};

/// How many entries each list shows; a list that has more says so and points to where the
/// rest are.
const SHOWN: u32 = 8;

/// One thing to do, with where to do it.
pub struct WorkItem {
    pub href: String,
    pub title: String,
    /// Code, nation, dates: what tells the items apart.
    pub meta: String,
    /// What is expected of the viewer.
    pub why: String,
    /// A badge class ("nomination-accepted", "overdue") and its label; empty for none.
    pub badge: (String, String),
}

/// A titled list of things to do.
pub struct WorkList {
    pub id: &'static str,
    pub heading: &'static str,
    pub items: Vec<WorkItem>,
    /// More than `items` matched.
    pub more: bool,
    /// Where all of them can be browsed, when a menu search narrows to them.
    pub more_href: Option<String>,
}

/// What the menu asks of the viewer, and what is coming.
#[derive(Default)]
pub struct MenuWork {
    pub lists: Vec<WorkList>,
    pub upcoming: Vec<(Date, Upcoming)>,
}

fn list(id: &'static str, heading: &'static str, mut items: Vec<WorkItem>) -> Option<WorkList> {
    let more = items.len() > SHOWN as usize;
    items.truncate(SHOWN as usize);
    (!items.is_empty()).then_some(WorkList { id, heading, items, more, more_href: None })
}

/// A provider's lists continue in the menu narrowed to its events.
fn provider_list(
    id: &'static str,
    heading: &'static str,
    items: Vec<WorkItem>,
    provider: &eprime_domain::OrgCode,
) -> Option<WorkList> {
    list(id, heading, items).map(|l| WorkList { more_href: Some(format!("/menu?provider={provider}")), ..l })
}

fn nomination_item(n: &Nomination, why: String, badge: (String, String)) -> WorkItem {
    WorkItem {
        href: format!("/menu/{}#nomination-{}", n.offering, n.id),
        title: format!("{} — {}", n.participant.name, n.offering_title),
        meta: format!("{} · {}", n.offering_code, n.nation),
        why,
        badge,
    }
}

fn offering_item(o: &Offering, why: String, badge: (String, String)) -> WorkItem {
    WorkItem {
        href: format!("/menu/{}", o.id),
        title: o.title.to_string(),
        meta: format!("{} · {} · {}", o.code, o.provider, date_range(o.first_day(), o.last_day())),
        why,
        badge,
    }
}

fn status_badge(status: NominationStatus) -> (String, String) {
    (format!("nomination-{}", status.as_str()), status.as_str().to_owned())
}

fn overdue() -> (String, String) {
    ("overdue".to_owned(), "overdue".to_owned())
}

/// The event's start, if still to come (`own_event`: the viewer offers it).
fn starts(o: &Offering, today: Date, own_event: bool) -> Option<(Date, Upcoming)> {
    let start = o.first_day().filter(|d| *d >= today)?;
    Some((
        start,
        Upcoming {
            when: date(start),
            what: format!("{} ({})", o.title, o.code),
            href: format!("/menu/{}", o.id),
            kind: if own_event { "Your menu event starts" } else { "Menu event starts" },
        },
    ))
}

/// The nomination deadline of an event open for nominations.
fn deadline(o: &Offering) -> (Date, Upcoming) {
    (
        o.nomination_deadline,
        Upcoming {
            when: date(o.nomination_deadline),
            what: format!("{} ({})", o.title, o.code),
            href: format!("/menu/{}", o.id),
            kind: "Nomination deadline",
        },
    )
}

/// The viewer's coming events (`filter` says whose) and, read separately, the deadlines of
/// those still open for nominations: deadlines fall weeks before their events, so the soonest
/// deadlines are not among the soonest events.
async fn coming(
    state: &AppState,
    scope: &ReadScope,
    filter: OfferingFilter,
    today: Date,
    own_event: bool,
) -> Result<Vec<(Date, Upcoming)>, PageError> {
    // Events to start, not those under way: a long course or e-learning module already running
    // would take every slot, and the viewer would see none of its coming events.
    let events = OfferingFilter { starts_on_or_after: Some(today), ..filter.clone() };
    let mut found: Vec<_> =
        offerings(state, scope, events, SHOWN).await?.iter().filter_map(|o| starts(o, today, own_event)).collect();
    let open = OfferingFilter { nominations_open_on: Some(today), ..filter };
    found.extend(offerings(state, scope, open, SHOWN).await?.iter().map(deadline));
    Ok(found)
}

async fn offerings(
    state: &AppState,
    scope: &ReadScope,
    filter: OfferingFilter,
    limit: u32,
) -> Result<Vec<Offering>, PageError> {
    Ok(state.store.list_offerings(scope, &filter, &PageRequest::first(limit)).await?.items)
}

async fn nominations(
    state: &AppState,
    scope: &ReadScope,
    filter: NominationFilter,
) -> Result<Vec<Nomination>, PageError> {
    // One more than shown, to tell whether there are more.
    Ok(state.store.find_nominations(scope, &filter, SHOWN + 1).await?)
}

pub async fn work(state: &AppState, principal: &Principal, today: Date) -> Result<MenuWork, PageError> {
    let scope = eprime_domain::Caller::User(principal.clone()).read_scope();
    let rules = &state.config.overdue;
    let mut work = MenuWork::default();
    let open = vec![NominationStatus::Nominated, NominationStatus::Waitlisted, NominationStatus::Accepted];
    match principal.role() {
        Role::Provider => {
            let Some(provider) = principal.binding.organisation.clone() else { return Ok(work) };
            let to_decide = nominations(
                state,
                &scope,
                NominationFilter {
                    provider: Some(provider.clone()),
                    statuses: vec![NominationStatus::Nominated],
                    ends_after: Some(today),
                    ..NominationFilter::default()
                },
            )
            .await?;
            let items = to_decide
                .iter()
                .map(|n| nomination_item(n, "Accept, waitlist or reject".to_owned(), status_badge(n.status)))
                .collect();
            work.lists.extend(provider_list("to-decide", "Nominations to decide", items, &provider));
            let late = OfferingFilter {
                provider: Some(provider.clone()),
                report_missing_before: Some(rules.report_cutoff(today)),
                ..OfferingFilter::default()
            };
            let items = offerings(state, &scope, late, SHOWN + 1)
                .await?
                .iter()
                .map(|o| offering_item(o, "File the after-action report".to_owned(), overdue()))
                .collect();
            work.lists.extend(provider_list("reports-overdue", "After-action reports overdue", items, &provider));
            let mine = OfferingFilter { provider: Some(provider), ..OfferingFilter::default() };
            work.upcoming.extend(coming(state, &scope, mine, today, true).await?);
        }
        Role::PartnerOfficer | Role::PartnerAdmin => {
            let Some(nation) = principal.binding.partner.clone() else { return Ok(work) };
            if principal.role() == Role::PartnerOfficer {
                let in_progress = nominations(
                    state,
                    &scope,
                    NominationFilter {
                        nation: Some(nation.clone()),
                        statuses: open,
                        ends_after: Some(today),
                        ..NominationFilter::default()
                    },
                )
                .await?;
                let items = in_progress
                    .iter()
                    .map(|n| {
                        let why = match n.status {
                            NominationStatus::Nominated => "Waiting for the provider's decision".to_owned(),
                            NominationStatus::Waitlisted => match n.waitlist_position {
                                Some(at) => format!("Number {at} on the waiting list"),
                                None => "On the waiting list".to_owned(),
                            },
                            _ => "Accepted: withdraw it here if plans change".to_owned(),
                        };
                        nomination_item(n, why, status_badge(n.status))
                    })
                    .collect();
                work.lists.extend(list("nominations", "Your nominations in progress", items));
                let late = nominations(
                    state,
                    &scope,
                    NominationFilter {
                        nation: Some(nation.clone()),
                        feedback_missing_before: Some(rules.feedback_cutoff(today)),
                        ..NominationFilter::default()
                    },
                )
                .await?;
                let items = late
                    .iter()
                    .map(|n| nomination_item(n, "Give the participant's feedback".to_owned(), overdue()))
                    .collect();
                work.lists.extend(list("feedback-overdue", "Feedback overdue", items));
            }
            let nominated = OfferingFilter { nominated_by: Some(nation), ..OfferingFilter::default() };
            work.upcoming.extend(coming(state, &scope, nominated, today, false).await?);
        }
        Role::Participant => {
            // A participant's own registrations, by the e-mail its account is named by (a
            // handful of rows); their offerings in one read, as `GET /api/v1/nominations/mine`.
            let own = state.store.nominations_of(&principal.username).await?;
            let ids: Vec<_> = own.iter().map(|n| n.offering).collect();
            let events = state.store.offerings_by_ids(&ReadScope::system(), &ids).await?;
            let mut items = Vec::new();
            for n in &own {
                let Some(o) = events.iter().find(|o| o.id == n.offering) else { continue };
                if rules.feedback_overdue(n, o, today) {
                    items.push(nomination_item(n, "Give your feedback on the event".to_owned(), overdue()));
                }
                if n.status == NominationStatus::Accepted {
                    work.upcoming.extend(starts(o, today, false));
                }
            }
            work.lists.extend(list("feedback-overdue", "Feedback overdue", items));
        }
        role if role.is_nato_writer() => {
            let submitted = OfferingFilter { status: Some(OfferingStatus::Submitted), ..OfferingFilter::default() };
            let items = offerings(state, &scope, submitted, SHOWN + 1)
                .await?
                .iter()
                .map(|o| offering_item(o, "Approve it, or return it for revision".to_owned(), Default::default()))
                .collect();
            work.lists.extend(list("menu-approvals", "Menu offerings waiting for approval", items));
            let late =
                OfferingFilter { report_missing_before: Some(rules.report_cutoff(today)), ..OfferingFilter::default() };
            let items = offerings(state, &scope, late, SHOWN + 1)
                .await?
                .iter()
                .map(|o| offering_item(o, format!("{} has not filed its after-action report", o.provider), overdue()))
                .collect();
            work.lists.extend(list("reports-overdue", "After-action reports overdue", items));
        }
        _ => {}
    }
    Ok(work)
}
