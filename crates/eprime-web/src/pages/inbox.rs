//! `/inbox`: the viewer's notifications (unread and read, newest first, marked read one by one
//! or all at once with `POST /inbox/read`), `/watches`: the records the viewer watches (with
//! `POST /watches` to watch or stop watching, also used by the buttons on activity, document,
//! goal and event pages).
//!
//! Notifications are only ever written for records their recipient may see (`notify::plan`);
//! the watch list is read through the visibility rule (`watched_records`), so a watch of a
//! record no longer released to the viewer is not listed.

use askama::Template;
use axum::extract::{Query, State};
use eprime_domain::NotificationId;
use eprime_server::AppState;
use eprime_store::{EntityType, NotificationReason, PageRequest, StoreError};
use serde::Deserialize;

use crate::form::FormData;
use crate::page::{PageError, PageResult, render, see_other};
use crate::pages::login::safe_next;
use crate::session::Viewer;
use crate::views::{Chrome, date, urlencode};

/// Notifications per page of the inbox.
const PAGE: u32 = 30;

/// Where a record of `entity` is shown; `None` for records without a page.
pub fn record_href(entity: EntityType, id: &str) -> Option<String> {
    let id = urlencode(id);
    match entity {
        EntityType::Activity => Some(format!("/activities/{id}")),
        EntityType::Document => Some(format!("/documents/{id}")),
        EntityType::Element => Some(format!("/goals/{id}")),
        EntityType::Partnership => Some(format!("/partnerships/{id}")),
        EntityType::Offering => Some(format!("/menu/{id}")),
        EntityType::Nomination => Some(format!("/menu/nominations/{id}")),
        _ => None,
    }
}

fn entity_label(entity: EntityType) -> &'static str {
    match entity {
        EntityType::Activity => "Activity",
        EntityType::Document => "Document",
        EntityType::Element => "Goal",
        EntityType::Partnership => "Partnership",
        EntityType::Offering => "Menu event",
        EntityType::Nomination => "Nomination",
        _ => "Record",
    }
}

fn reason_label(reason: NotificationReason) -> &'static str {
    match reason {
        NotificationReason::Watched => "You watch it",
        NotificationReason::Nomination => "Nomination",
        NotificationReason::OverdueFeedback => "Feedback overdue",
        NotificationReason::OverdueReport => "Report overdue",
        NotificationReason::Approval => "Waits for approval",
        NotificationReason::Mention => "You were mentioned",
    }
}

fn timestamp(at: time::OffsetDateTime) -> String {
    format!("{} {:02}:{:02} UTC", date(at.date()), at.hour(), at.minute())
}

fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

pub struct InboxItem {
    pub id: String,
    pub reason: &'static str,
    pub what: &'static str,
    pub summary: String,
    pub href: Option<String>,
    pub partnership: String,
    pub at: String,
    pub at_iso: String,
    pub unread: bool,
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    chrome: Chrome,
    unread_only: bool,
    items: Vec<InboxItem>,
    unread: u64,
    /// The link to the next (older) page.
    older: Option<String>,
    notice: Option<String>,
    /// The path this page is at, for the forms to come back to.
    here: String,
}

#[derive(Deserialize)]
pub struct InboxQuery {
    unread: Option<String>,
    after: Option<String>,
    notice: Option<String>,
}

/// `GET /inbox?unread=1&after=CURSOR`.
pub async fn show(State(state): State<AppState>, viewer: Viewer, Query(query): Query<InboxQuery>) -> PageResult {
    let Some(principal) = viewer.principal() else {
        return Err(PageError::SignIn { next: "/inbox".to_owned() });
    };
    let unread_only = query.unread.as_deref().is_some_and(|u| u == "1" || u == "true");
    let page = PageRequest { limit: PAGE, after: query.after.clone().filter(|a| !a.is_empty()) };
    let found = match state.store.list_notifications(principal, unread_only, &page).await {
        Ok(found) => found,
        Err(StoreError::Invalid(_)) => {
            return Err(PageError::BadRequest(
                "That link to an older page of the inbox is not one this server gave out: start again from the \
                 inbox."
                    .to_owned(),
            ));
        }
        Err(other) => return Err(other.into()),
    };
    let filter = if unread_only { "unread=1&" } else { "" };
    let older = found.next_cursor.map(|cursor| format!("/inbox?{filter}after={}", urlencode(&cursor)));
    let items = found
        .items
        .into_iter()
        .map(|n| InboxItem {
            id: n.id.to_string(),
            reason: reason_label(n.reason),
            what: entity_label(n.entity),
            href: record_href(n.entity, &n.entity_id),
            summary: n.summary,
            partnership: n.partnership.map(|p| p.to_string()).unwrap_or_default(),
            at: timestamp(n.created_at),
            at_iso: rfc3339(n.created_at),
            unread: n.read_at.is_none(),
        })
        .collect();
    let notice = match query.notice.as_deref() {
        Some("read") => Some("Marked as read.".to_owned()),
        Some("all-read") => Some("Every notification is marked as read.".to_owned()),
        _ => None,
    };
    let mut here = String::from("/inbox");
    if unread_only {
        here.push_str("?unread=1");
    }
    Ok(render(&InboxPage {
        chrome: Chrome::new(&viewer, "inbox"),
        unread_only,
        items,
        unread: viewer.unread,
        older,
        notice,
        here,
    }))
}

/// `POST /inbox/read`: `id` (one notification) or `all=1`, and `next` (the inbox page to go
/// back to).
pub async fn mark_read(State(state): State<AppState>, viewer: Viewer, form: FormData) -> PageResult {
    let next = safe_next(form.get("next").filter(|n| n.starts_with("/inbox")));
    let principal = crate::csrf::check(&viewer, &form, &next)?;
    let (ids, notice) = match (form.get("all"), form.get("id")) {
        (Some(_), _) => (None, "all-read"),
        (None, Some(raw)) => {
            let id: NotificationId = raw.parse().map_err(|_| {
                PageError::BadRequest(format!("`{raw}` is not a notification id; go back to the inbox and try again"))
            })?;
            (Some(vec![id]), "read")
        }
        (None, None) => {
            return Err(PageError::BadRequest("say which notification to mark read, or all of them".to_owned()));
        }
    };
    // Only the viewer's own notifications change; another's id changes nothing.
    state.store.mark_notifications_read(principal.user_id, ids.as_deref()).await?;
    let separator = if next.contains('?') { '&' } else { '?' };
    Ok(see_other(&format!("{next}{separator}notice={notice}")))
}

pub struct WatchedItem {
    pub entity: &'static str,
    pub what: &'static str,
    pub id: String,
    pub title: String,
    pub href: Option<String>,
    pub partnership: String,
    pub since: String,
}

#[derive(Template)]
#[template(path = "watches.html")]
struct WatchesPage {
    chrome: Chrome,
    items: Vec<WatchedItem>,
    notice: Option<String>,
}

#[derive(Deserialize)]
pub struct WatchesQuery {
    notice: Option<String>,
}

/// `GET /watches`.
pub async fn watches(State(state): State<AppState>, viewer: Viewer, Query(query): Query<WatchesQuery>) -> PageResult {
    let Some(principal) = viewer.principal() else {
        return Err(PageError::SignIn { next: "/watches".to_owned() });
    };
    let items = state
        .store
        .watched_records(principal)
        .await?
        .into_iter()
        .map(|w| WatchedItem {
            entity: w.entity.as_str(),
            what: entity_label(w.entity),
            href: record_href(w.entity, &w.entity_id),
            id: w.entity_id,
            title: w.title,
            partnership: w.partnership.map(|p| p.to_string()).unwrap_or_default(),
            since: date(w.created_at.date()),
        })
        .collect();
    let notice = match query.notice.as_deref() {
        Some("unwatched") => Some("You no longer watch it.".to_owned()),
        _ => None,
    };
    Ok(render(&WatchesPage { chrome: Chrome::new(&viewer, "watches"), items, notice }))
}

/// The kinds of record a page can watch, as the forms name them.
fn watchable(raw: &str) -> Option<EntityType> {
    match raw {
        "activity" => Some(EntityType::Activity),
        "document" => Some(EntityType::Document),
        "element" => Some(EntityType::Element),
        "partnership" => Some(EntityType::Partnership),
        "offering" => Some(EntityType::Offering),
        _ => None,
    }
}

/// `POST /watches`: `entity`, `id`, `action` (watch, unwatch), `next` (where to go back to).
pub async fn change(State(state): State<AppState>, viewer: Viewer, form: FormData) -> PageResult {
    let next = safe_next(form.get("next"));
    let principal = crate::csrf::check(&viewer, &form, &next)?;
    let entity = form.get("entity").and_then(watchable).ok_or_else(|| {
        PageError::BadRequest("only activities, documents, goals, partnerships and menu events can be watched".into())
    })?;
    let id = form.get("id").ok_or_else(|| PageError::BadRequest("say which record to watch".to_owned()))?;
    match form.get("action") {
        // A record the viewer may not see answers 404, exactly like one that does not exist.
        Some("watch") => state.store.watch(principal, entity, id).await?,
        Some("unwatch") => {
            state.store.unwatch(principal, entity, id).await?;
        }
        _ => return Err(PageError::BadRequest("choose to watch or to stop watching".to_owned())),
    }
    Ok(see_other(&next))
}

/// The watch button of a record's page: whether the viewer watches it, and the form's fields.
pub struct WatchButton {
    pub entity: &'static str,
    pub id: String,
    pub watching: bool,
    pub next: String,
}

/// The button for `entity`/`id` on the page at `next`; `None` for anonymous viewers.
pub async fn watch_button(
    state: &AppState,
    viewer: &Viewer,
    entity: EntityType,
    id: &str,
    next: String,
) -> Result<Option<WatchButton>, PageError> {
    let Some(principal) = viewer.principal() else { return Ok(None) };
    let watching = state.store.is_watching(principal.user_id, entity, id).await?;
    Ok(Some(WatchButton { entity: entity.as_str(), id: id.to_owned(), watching, next }))
}
