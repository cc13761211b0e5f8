//! `/`: my partnerships, what waits for my action (activities here, the menu's nominations,
//! approvals and overdue feedback and reports in `home_menu`), what is coming (activities,
//! programme deadlines, menu events and nomination deadlines), and recent changes (live).

use askama::Template;
use axum::extract::State;
use eprime_domain::access::{may_edit_activity, may_transition_activity};
use eprime_domain::{ActivityStatus, DocumentKind};
use eprime_server::AppState;
use eprime_store::{ActivityFilter, ActivityOrder, DocumentFilter, PageRequest};
use time::{Duration, OffsetDateTime};

use crate::page::{PageError, PageResult, render};
use crate::pages::home_menu::{self, MenuWork, WorkList};
use crate::programme;
use crate::session::Viewer;
use crate::views::{ActivityRow, Chrome, date};

pub struct PartnershipCard {
    pub code: String,
    pub name: String,
    pub since: String,
    pub activities: u64,
    pub open: u64,
    pub programme: String,
    pub own: bool,
}

pub struct Waiting {
    pub row: ActivityRow,
    pub why: String,
}

pub struct Upcoming {
    pub when: String,
    pub what: String,
    pub href: String,
    pub kind: &'static str,
}

pub struct Recent {
    pub row: ActivityRow,
    pub at: String,
    pub at_iso: String,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    chrome: Chrome,
    signed_in: bool,
    partnerships: Vec<PartnershipCard>,
    waiting: Vec<Waiting>,
    waiting_on_others: Vec<Waiting>,
    /// The menu's work lists (`home_menu`).
    menu_work: Vec<WorkList>,
    upcoming: Vec<Upcoming>,
    recent: Vec<Recent>,
    /// Programmes the viewer may read when no partnership is visible (the public's Open Editions).
    published: Vec<(String, String)>,
}

/// How many activities each of the page's activity lists reads at most.
const SHOWN: u32 = 12;

pub async fn show(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    let scope = viewer.scope();
    let store = state.store.as_ref();
    let today = OffsetDateTime::now_utc().date();
    let documents = store.list_documents(&scope, &DocumentFilter::default()).await?;
    let own = viewer.principal().and_then(|p| p.binding.partner.clone());

    // Every read below is bounded: counts come from the (cached) tallies, lists are one short
    // page each, so the page costs the same with ten years of activities as with one.
    let mut partnerships = Vec::new();
    for p in store.list_partnerships(&scope).await? {
        let tally = &state.tallies.tally(store, &scope, &p.partner).await?.tally;
        let open: u64 = ActivityStatus::ALL
            .iter()
            .filter(|s| !s.is_terminal())
            .map(|s| tally.by_status[eprime_store::status_index(*s)])
            .sum();
        let partner_docs: Vec<_> = documents.iter().filter(|d| d.partnership == p.partner).cloned().collect();
        partnerships.push(PartnershipCard {
            code: p.partner.to_string(),
            name: p.name.to_string(),
            since: p.since.clone(),
            activities: tally.total(),
            open,
            programme: programme::current_programme(&partner_docs).map(|d| d.title.to_string()).unwrap_or_default(),
            own: own.as_ref() == Some(&p.partner),
        });
    }
    partnerships.sort_by_key(|p| (!p.own, p.code.clone()));

    let mut waiting = Vec::new();
    let mut waiting_on_others = Vec::new();
    if let Some(principal) = viewer.principal() {
        let scope = &scope;
        let list = |filter: ActivityFilter| async move {
            Ok::<_, PageError>(store.list_activities(scope, &filter, &PageRequest::first(SHOWN)).await?.items)
        };
        // Proposals: NATO approves them; the partner's own editors wait for that.
        let proposed_filter = |partnership| ActivityFilter {
            status: Some(ActivityStatus::Proposed),
            partnership,
            order: ActivityOrder::SoonestFirst,
            ..Default::default()
        };
        if principal.role().is_nato_writer() {
            for activity in list(proposed_filter(None)).await? {
                if may_transition_activity(principal, &activity.partnership, ActivityStatus::Approved).is_ok() {
                    waiting.push(Waiting { row: (&activity).into(), why: "Proposed: awaits your approval".into() });
                }
            }
        } else if let Some(partner) = &principal.binding.partner
            && may_edit_activity(principal, partner).is_ok()
        {
            for activity in list(proposed_filter(Some(partner.clone()))).await? {
                waiting_on_others
                    .push(Waiting { row: (&activity).into(), why: "Proposed: awaits NATO's approval".into() });
            }
        }
        // Activities that ended but were never recorded as held: for whoever may edit them.
        for status in [ActivityStatus::Approved, ActivityStatus::Scheduled, ActivityStatus::InProgress] {
            let filter = ActivityFilter {
                status: Some(status),
                partnership: principal.binding.partner.clone(),
                ends_before: Some(today),
                ..Default::default()
            };
            for activity in list(filter).await? {
                if may_edit_activity(principal, &activity.partnership).is_ok() {
                    let end = activity.ends_on.map(date).unwrap_or_default();
                    waiting.push(Waiting {
                        row: (&activity).into(),
                        why: format!(
                            "Ended {end} but still {}: record how it went",
                            activity.status.as_str().replace('_', " ")
                        ),
                    });
                }
            }
        }
        waiting.truncate(SHOWN as usize * 2);
    }

    let horizon = today + Duration::days(365);
    let coming = ActivityFilter {
        starts_from: Some(today),
        to: Some(horizon),
        order: ActivityOrder::SoonestFirst,
        ..Default::default()
    };
    let mut upcoming: Vec<(time::Date, Upcoming)> = store
        .list_activities(&scope, &coming, &PageRequest::first(SHOWN * 3))
        .await?
        .items
        .into_iter()
        .filter(|a| !a.status.is_terminal())
        .take(SHOWN as usize)
        .map(|a| {
            let start = a.starts_on.unwrap_or(today);
            (
                start,
                Upcoming {
                    when: date(start),
                    what: format!("{} ({})", a.title, a.partnership),
                    href: format!("/activities/{}", a.id),
                    kind: "Activity starts",
                },
            )
        })
        .collect();
    upcoming.extend(
        documents
            .iter()
            .filter(|d| d.kind != DocumentKind::Jpd)
            .filter(|d| d.status != eprime_domain::DocumentStatus::Superseded)
            .filter_map(|d| {
                d.period_to.filter(|end| *end >= today && *end <= today + Duration::days(730)).map(|end| (d, end))
            })
            .map(|(d, end)| {
                (
                    end,
                    Upcoming {
                        when: date(end),
                        what: format!("{} ends — prepare the next cycle", d.title),
                        href: format!("/documents/{}", d.id),
                        kind: "Programme deadline",
                    },
                )
            }),
    );
    let menu = match viewer.principal() {
        Some(principal) => home_menu::work(&state, principal, today).await?,
        None => MenuWork::default(),
    };
    upcoming.extend(menu.upcoming);
    upcoming.sort_by_key(|(when, _)| *when);

    let changed = ActivityFilter { order: ActivityOrder::RecentlyChanged, ..Default::default() };
    let recent = store
        .list_activities(&scope, &changed, &PageRequest::first(8))
        .await?
        .items
        .iter()
        .map(|a| Recent {
            row: a.into(),
            at: date(a.updated_at.date()),
            at_iso: a.updated_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        })
        .collect();

    let published = if partnerships.is_empty() {
        let mut published: Vec<_> =
            documents.iter().filter(|d| programme::is_cycle(d.kind) || d.kind == DocumentKind::Jpd).collect();
        published.sort_by_key(|d| (d.partnership.to_string(), d.signed_on.or(d.period_from)));
        published.into_iter().map(|d| (d.id.to_string(), format!("{} — {}", d.partnership, d.title))).collect()
    } else {
        Vec::new()
    };
    Ok(render(&HomePage {
        published,
        chrome: Chrome::new(&viewer, "home"),
        signed_in: viewer.principal().is_some(),
        partnerships,
        waiting,
        waiting_on_others,
        menu_work: menu.lists,
        upcoming: upcoming.into_iter().take(12).map(|(_, u)| u).collect(),
        recent,
    }))
}
