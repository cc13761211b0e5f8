//! `/`: my partnerships, what waits for my action (activities here, the menu's nominations,
//! approvals and overdue feedback and reports in `home_menu`), what is coming (activities,
//! programme deadlines, menu events and nomination deadlines), and recent changes (live).

use askama::Template;
use axum::extract::State;
use eprime_domain::access::{may_edit_activity, may_transition_activity};
use eprime_domain::{Activity, ActivityStatus, DocumentKind};
use eprime_server::AppState;
use eprime_store::{ActivityFilter, DocumentFilter};
use time::{Duration, OffsetDateTime};

use crate::page::{PageResult, render};
use crate::pages::home_menu::{self, MenuWork, WorkList};
use crate::programme;
use crate::session::Viewer;
use crate::views::{ActivityRow, Chrome, date};

pub struct PartnershipCard {
    pub code: String,
    pub name: String,
    pub since: String,
    pub activities: usize,
    pub open: usize,
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

pub async fn show(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    let scope = viewer.scope();
    let store = state.store.as_ref();
    let today = OffsetDateTime::now_utc().date();
    let activities = programme::activities(store, &scope, &ActivityFilter::default()).await?;
    let documents = store.list_documents(&scope, &DocumentFilter::default()).await?;
    let own = viewer.principal().and_then(|p| p.binding.partner.clone());

    let mut partnerships: Vec<PartnershipCard> = store
        .list_partnerships(&scope)
        .await?
        .into_iter()
        .map(|p| {
            let mine: Vec<&Activity> = activities.iter().filter(|a| a.partnership == p.partner).collect();
            let partner_docs: Vec<_> = documents.iter().filter(|d| d.partnership == p.partner).cloned().collect();
            PartnershipCard {
                code: p.partner.to_string(),
                name: p.name.to_string(),
                since: p.since.clone(),
                activities: mine.len(),
                open: mine.iter().filter(|a| !a.status.is_terminal()).count(),
                programme: programme::current_programme(&partner_docs).map(|d| d.title.to_string()).unwrap_or_default(),
                own: own.as_ref() == Some(&p.partner),
            }
        })
        .collect();
    partnerships.sort_by_key(|p| (!p.own, p.code.clone()));

    let mut waiting = Vec::new();
    let mut waiting_on_others = Vec::new();
    if let Some(principal) = viewer.principal() {
        for activity in &activities {
            let may_edit = may_edit_activity(principal, &activity.partnership).is_ok();
            let overdue = activity.ends_on.is_some_and(|end| end < today)
                && matches!(
                    activity.status,
                    ActivityStatus::Approved | ActivityStatus::Scheduled | ActivityStatus::InProgress
                );
            if activity.status == ActivityStatus::Proposed {
                if may_transition_activity(principal, &activity.partnership, ActivityStatus::Approved).is_ok() {
                    waiting.push(Waiting { row: activity.into(), why: "Proposed: awaits your approval".into() });
                } else if may_edit {
                    waiting_on_others
                        .push(Waiting { row: activity.into(), why: "Proposed: awaits NATO's approval".into() });
                }
            } else if overdue && may_edit {
                let end = activity.ends_on.map(date).unwrap_or_default();
                waiting.push(Waiting {
                    row: activity.into(),
                    why: format!(
                        "Ended {end} but still {}: record how it went",
                        activity.status.as_str().replace('_', " ")
                    ),
                });
            }
        }
    }

    let horizon = today + Duration::days(365);
    let mut upcoming: Vec<(time::Date, Upcoming)> = activities
        .iter()
        .filter(|a| !a.status.is_terminal() && a.starts_on.is_some_and(|s| s >= today && s <= horizon))
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

    let mut recent: Vec<&Activity> = activities.iter().collect();
    recent.sort_by_key(|a| std::cmp::Reverse(a.updated_at));
    let recent = recent
        .into_iter()
        .take(8)
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
