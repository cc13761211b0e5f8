//! `/activities/{id}`: an activity's details, the status steps the viewer may take, and its
//! history with what each change altered. `POST /activities/{id}/status` takes a step.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use eprime_domain::access::{may_comment, may_edit_activity, may_transition_activity};
use eprime_domain::comment::check_body;
use eprime_domain::{ActivityId, ActivityStatus, OrgCode, SubjectKind, TransitionError};
use eprime_server::AppState;
use eprime_store::{ChangeEntry, EntityType, NewComment, StoreError};
use serde::Deserialize;
use serde_json::Value;

use crate::discussion::Discussion;
use crate::form::FormData;
use crate::page::{PageError, PageResult, render_status, see_other};
use crate::pages::inbox::{WatchButton, watch_button};
use crate::session::Viewer;
use crate::views::{Chrome, date, date_range, kind_label, status_action, status_label};

pub struct StatusAction {
    pub to: &'static str,
    pub label: &'static str,
    pub needs_reason: bool,
    pub reason: String,
    pub error: Option<String>,
}

pub struct Change {
    pub field: String,
    pub before: String,
    pub after: String,
}

pub struct HistoryItem {
    pub at: String,
    pub at_iso: String,
    pub actor: String,
    pub operation: String,
    pub changes: Vec<Change>,
}

pub struct Link {
    pub href: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "activity.html")]
struct ActivityPage {
    chrome: Chrome,
    id: String,
    version: i64,
    title: String,
    partnership: String,
    status: &'static str,
    status_label: &'static str,
    status_reason: String,
    marking: String,
    facts: Vec<(&'static str, String)>,
    supports: Vec<Link>,
    description: String,
    outcome: String,
    source: Option<(String, String)>,
    actions: Vec<StatusAction>,
    blocked: Vec<String>,
    may_edit: bool,
    signed_in: bool,
    history: Vec<HistoryItem>,
    discussion: Discussion,
    watch: Option<WatchButton>,
    notice: Option<String>,
    problem: Option<String>,
}

#[derive(Deserialize)]
pub struct ShowQuery {
    notice: Option<String>,
}

/// What the last post left to show: a confirmation, a problem, or an error on one step's reason.
#[derive(Default)]
struct Feedback {
    notice: Option<String>,
    problem: Option<String>,
    reason_error: Option<(ActivityStatus, String, String)>,
    /// What was typed in the discussion box, and why it was refused.
    comment: Option<(String, String)>,
}

fn activity_id(raw: &str) -> Result<ActivityId, PageError> {
    raw.parse().map_err(|_| PageError::NotFound)
}

pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(raw): Path<String>,
    Query(query): Query<ShowQuery>,
) -> PageResult {
    let notice = match query.notice.as_deref() {
        Some("created") => Some("The activity was created. It is proposed until NATO approves it.".to_owned()),
        Some("saved") => Some("Your changes were saved.".to_owned()),
        Some("unchanged") => Some("Nothing was changed: the form matched the activity.".to_owned()),
        Some("status") => Some("The status was changed.".to_owned()),
        Some("comment") => Some("Your comment was posted.".to_owned()),
        _ => None,
    };
    page(&state, &viewer, activity_id(&raw)?, StatusCode::OK, Feedback { notice, ..Feedback::default() }).await
}

async fn page(state: &AppState, viewer: &Viewer, id: ActivityId, status: StatusCode, feedback: Feedback) -> PageResult {
    let scope = viewer.scope();
    let store = state.store.as_ref();
    let a = store.activity(&scope, id).await?.ok_or(PageError::NotFound)?;
    let history = store.history(&scope, EntityType::Activity, &id.to_string()).await?.unwrap_or_default();
    let organisations: HashMap<String, String> =
        store.list_organisations().await?.into_iter().map(|o| (o.code.to_string(), o.name.to_string())).collect();
    let org = |code: &str| match organisations.get(code) {
        Some(name) => format!("{name} ({code})"),
        None => code.to_owned(),
    };
    let mut supports = Vec::new();
    for element in &a.supports {
        if let Some(e) = store.element(&scope, *element).await? {
            supports.push(Link { href: format!("/goals/{}", e.id), label: format!("{} {}", e.code, e.title) });
        }
    }
    let mut actions = Vec::new();
    let mut blocked = Vec::new();
    if let Some(principal) = viewer.principal() {
        for next in a.status.next() {
            match may_transition_activity(principal, &a.partnership, *next) {
                Ok(()) => {
                    let (reason, error) = match &feedback.reason_error {
                        Some((to, reason, error)) if to == next => (reason.clone(), Some(error.clone())),
                        _ => (String::new(), None),
                    };
                    actions.push(StatusAction {
                        to: next.as_str(),
                        label: status_action(*next),
                        needs_reason: next.needs_reason(),
                        reason,
                        error,
                    });
                }
                Err(refusal) if may_edit_activity(principal, &a.partnership).is_ok() => {
                    blocked.push(format!("{}: {}", status_action(*next), refusal.0));
                }
                Err(_) => {}
            }
        }
    }
    let facts: Vec<(&'static str, String)> = [
        ("Kind", kind_label(a.kind)),
        ("When", date_range(a.starts_on, a.ends_on)),
        ("Where", a.location.clone().unwrap_or_default()),
        ("Lead", a.lead.as_ref().map(|l| org(l.as_str())).unwrap_or_default()),
        ("Participants", a.participants.iter().map(|p| org(p.as_str())).collect::<Vec<_>>().join(", ")),
        ("Areas of cooperation", a.areas.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(", ")),
        ("Last changed", format!("{} (version {})", date(a.updated_at.date()), a.version)),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .collect();
    let may_edit = viewer.principal().is_some_and(|p| may_edit_activity(p, &a.partnership).is_ok());
    // Besides NATO, an activity's discussion belongs to its partner nation.
    let owner = OrgCode::parse(a.partnership.as_str()).map_err(|_| PageError::Internal)?;
    let discussion = Discussion::load(
        store,
        viewer,
        SubjectKind::Activity,
        &id.to_string(),
        &owner,
        format!("/activities/{id}/comments"),
        feedback.comment,
    )
    .await?;
    let watch = watch_button(state, viewer, EntityType::Activity, &id.to_string(), format!("/activities/{id}")).await?;
    let page = ActivityPage {
        chrome: Chrome::new(viewer, "partnership"),
        id: a.id.to_string(),
        version: a.version,
        title: a.title.to_string(),
        partnership: a.partnership.to_string(),
        status: a.status.as_str(),
        status_label: status_label(a.status),
        status_reason: a.status_reason.clone().unwrap_or_default(),
        marking: a.marking.banner(),
        facts,
        supports,
        description: a.description.to_string(),
        outcome: a.outcome.to_string(),
        source: a.source.as_ref().map(|s| (s.locator.clone(), s.quote.clone())),
        actions,
        blocked,
        may_edit,
        signed_in: viewer.principal().is_some(),
        history: history.into_iter().rev().map(history_item).collect(),
        discussion,
        watch,
        notice: feedback.notice,
        problem: feedback.problem,
    };
    Ok(render_status(status, &page))
}

/// Fields not worth showing in a history.
const QUIET: [&str; 4] = ["version", "updated_at", "created_at", "id"];

fn history_item(entry: ChangeEntry) -> HistoryItem {
    let changes = entry
        .changed_fields(&QUIET)
        .into_iter()
        .map(|(field, before, after)| Change {
            field: field.replace('_', " "),
            before: shown(before),
            after: shown(after),
        })
        .collect();
    let operation = match entry.operation.as_str() {
        "create" => "created it".to_owned(),
        "update" => "edited it".to_owned(),
        "transition" => match entry.after.as_ref().and_then(|a| a.get("status")).and_then(Value::as_str) {
            Some(status) => format!("moved it to {}", status.replace('_', " ")),
            None => "changed its status".to_owned(),
        },
        other => other.replace('_', " "),
    };
    HistoryItem {
        at: timestamp(entry.at),
        at_iso: entry.at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        actor: entry.actor.unwrap_or_else(|| "the system".to_owned()),
        operation,
        changes,
    }
}

fn timestamp(at: time::OffsetDateTime) -> String {
    format!("{} {:02}:{:02} UTC", date(at.date()), at.hour(), at.minute())
}

fn shown(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "—".to_owned(),
        Some(Value::String(s)) if s.is_empty() => "—".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) if items.is_empty() => "—".to_owned(),
        Some(Value::Array(items)) => items.iter().map(|i| shown(Some(i))).collect::<Vec<_>>().join(", "),
        Some(other) => other.to_string(),
    }
}

/// `POST /activities/{id}/status`: `to`, `version`, `reason` (for postponed and cancelled).
pub async fn transition(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(raw): Path<String>,
    form: FormData,
) -> PageResult {
    let id = activity_id(&raw)?;
    let here = format!("/activities/{id}");
    let principal = crate::csrf::check(&viewer, &form, &here)?;
    let to = ActivityStatus::parse(form.get("to").unwrap_or_default()).map_err(|e| PageError::BadRequest(e.message))?;
    let version = form.get("version").and_then(|v| v.parse::<i64>().ok());
    let reason = form.get("reason").map(str::to_owned);
    match state.store.transition_activity(principal, id, version, to, reason.clone()).await {
        Ok(_) => Ok(see_other(&format!("{here}?notice=status"))),
        Err(StoreError::Transition(TransitionError::ReasonRequired { .. })) => {
            let message = format!("Say why the activity is {}.", status_label(to).to_lowercase());
            let feedback = Feedback {
                reason_error: Some((to, reason.unwrap_or_default(), message)),
                problem: Some("The status was not changed: a reason is needed.".to_owned()),
                ..Feedback::default()
            };
            page(&state, &viewer, id, StatusCode::UNPROCESSABLE_ENTITY, feedback).await
        }
        Err(StoreError::Transition(error @ TransitionError::NotAllowed { .. })) => {
            let problem = Some(format!("The status was not changed: {error}."));
            page(&state, &viewer, id, StatusCode::CONFLICT, Feedback { problem, ..Feedback::default() }).await
        }
        Err(StoreError::Stale { current, .. }) => {
            let problem = Some(format!(
                "Someone changed this activity while you were looking at it (it is now at version {current}), so \
                 the status was not changed. Check the activity as it is now, then choose again."
            ));
            page(&state, &viewer, id, StatusCode::CONFLICT, Feedback { problem, ..Feedback::default() }).await
        }
        Err(StoreError::Forbidden(reason)) => {
            let problem = Some(format!("The status was not changed: {reason}."));
            page(&state, &viewer, id, StatusCode::FORBIDDEN, Feedback { problem, ..Feedback::default() }).await
        }
        Err(other) => Err(other.into()),
    }
}

/// `POST /activities/{id}/comments`: `body`.
pub async fn comment(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(raw): Path<String>,
    form: FormData,
) -> PageResult {
    let id = activity_id(&raw)?;
    let here = format!("/activities/{id}");
    let principal = crate::csrf::check(&viewer, &form, &here)?;
    may_comment(principal).map_err(|r| PageError::Forbidden(r.0))?;
    let draft = form.raw("body").to_owned();
    let refused = |message: String| Feedback { comment: Some((draft.clone(), message)), ..Feedback::default() };
    let body = match check_body(&draft) {
        Ok(body) => body,
        Err(error) => {
            let feedback = refused(format!("The comment {}.", error.message));
            return page(&state, &viewer, id, StatusCode::UNPROCESSABLE_ENTITY, feedback).await;
        }
    };
    let new = NewComment { subject: SubjectKind::Activity, subject_id: id.to_string(), body, marking: None };
    match state.store.create_comment(principal, new).await {
        Ok(_) => Ok(see_other(&format!("{here}?notice=comment#discussion"))),
        Err(StoreError::Invalid(errors)) => {
            page(&state, &viewer, id, StatusCode::UNPROCESSABLE_ENTITY, refused(errors.to_string())).await
        }
        Err(StoreError::Forbidden(reason)) => page(&state, &viewer, id, StatusCode::FORBIDDEN, refused(reason)).await,
        Err(other) => Err(other.into()),
    }
}
