//! The event page's forms after nomination: the offering's lifecycle (`POST /menu/{id}/status`),
//! the provider's after-action report (`POST /menu/{id}/report`), attendance per participant
//! (`POST /menu/nominations/{id}/attendance`) and feedback (`POST /menu/nominations/{id}/feedback`),
//! plus `GET /menu/nominations/{id}`, where an inbox entry about a nomination leads.
//!
//! Each post goes through the same `Store` method as its API handler (`api/menu.rs`), which
//! checks who may do it and when; a refusal is shown on the event page — beside the field it
//! concerns when it is about one — and changes nothing.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use eprime_domain::menu::{
    Attendance, Feedback, FeedbackInput, Nomination, Offering, OfferingStatus, Ratings, Report, ReportInput,
};
use eprime_domain::{FieldError, NominationId, Principal, ValidationErrors};
use eprime_server::AppState;
use eprime_store::StoreError;

use crate::form::FormData;
use crate::page::{PageError, PageResult, see_other};
use crate::pages::event::{Outcome, event_for, field_errors, nomination_for, offering_id, page};
use crate::session::Viewer;
use crate::views::date;

/// A lifecycle step the viewer may take, with the reason typed and its error after a refusal.
pub struct LifecycleAction {
    pub to: &'static str,
    pub label: &'static str,
    pub needs_reason: bool,
    pub reason: String,
    pub error: Option<String>,
}

fn step_label(to: OfferingStatus) -> &'static str {
    match to {
        OfferingStatus::Draft => "Return for revision",
        OfferingStatus::Submitted => "Submit for approval",
        OfferingStatus::Approved => "Approve",
        OfferingStatus::Published => "Publish",
        OfferingStatus::Closed => "Close nominations",
        OfferingStatus::Held => "Record as held",
        OfferingStatus::Reported => "Mark reported",
        OfferingStatus::Cancelled => "Cancel event",
    }
}

/// The steps `principal` may take from the offering's status: the domain's own check, asked
/// with a placeholder reason so that only who-may and the graph decide (the reason itself is
/// checked when posted).
pub fn lifecycle_actions(
    principal: &Principal,
    o: &Offering,
    refused: Option<&(OfferingStatus, String, String)>,
) -> Vec<LifecycleAction> {
    o.status
        .next()
        .iter()
        .filter(|to| o.status.transition(**to, principal, &o.provider, Some("—")).is_ok())
        .map(|to| {
            let (reason, error) = match refused {
                Some((step, reason, error)) if step == to => (reason.clone(), Some(error.clone())),
                _ => (String::new(), None),
            };
            LifecycleAction {
                to: to.as_str(),
                label: step_label(*to),
                needs_reason: o.status.needs_reason(*to),
                reason,
                error,
            }
        })
        .collect()
}

/// A filed report as the page shows it.
pub struct ReportView {
    pub summary: String,
    pub lessons: String,
    pub attended: u32,
    pub filed_by: String,
    pub filed_on: String,
}

impl From<&eprime_domain::menu::Report> for ReportView {
    fn from(r: &eprime_domain::menu::Report) -> Self {
        Self {
            summary: r.summary.to_string(),
            lessons: r.lessons.to_string(),
            attended: r.attended,
            filed_by: r.filed_by.clone(),
            filed_on: date(r.filed_at.date()),
        }
    }
}

/// The after-action report form, as sent after a refusal.
pub struct ReportForm {
    pub summary: String,
    pub summary_error: Option<String>,
    pub lessons: String,
    pub lessons_error: Option<String>,
}

pub fn report_form(sent: Option<&(FormData, HashMap<String, String>)>) -> ReportForm {
    let value = |name: &str| sent.map(|(f, _)| f.raw(name).to_owned()).unwrap_or_default();
    let error = |name: &str| sent.and_then(|(_, e)| e.get(name).cloned());
    ReportForm {
        summary: value("summary"),
        summary_error: error("summary"),
        lessons: value("lessons"),
        lessons_error: error("lessons"),
    }
}

/// One rating of the feedback form.
pub struct RatingField {
    pub name: &'static str,
    pub label: &'static str,
    /// (value, label, chosen) for each point of the scale, best first.
    pub choices: Vec<(&'static str, &'static str, bool)>,
    pub error: Option<String>,
}

/// The feedback form for one participant's nomination.
pub struct FeedbackForm {
    pub nomination: String,
    pub participant: String,
    pub overdue: bool,
    pub ratings: Vec<RatingField>,
    pub comments: String,
    pub comments_error: Option<String>,
}

/// The four ratings, as the form names them (the API's `ratings.<name>`).
const RATINGS: [(&str, &str); 4] = [
    ("overall", "Overall"),
    ("content", "Content"),
    ("organisation", "Organisation"),
    ("relevance", "Relevance to your work with NATO"),
];

/// The choices of every rating, best first.
const SCALE: [(&str, &str); 5] =
    [("5", "5 — excellent"), ("4", "4 — good"), ("3", "3 — adequate"), ("2", "2 — weak"), ("1", "1 — poor")];

pub fn feedback_form(
    n: &Nomination,
    overdue: bool,
    sent: Option<(&FormData, &HashMap<String, String>)>,
) -> FeedbackForm {
    let value = |name: &str| sent.map(|(f, _)| f.raw(name).to_owned()).unwrap_or_default();
    let error = |name: &str| sent.and_then(|(_, e)| e.get(name).cloned());
    FeedbackForm {
        nomination: n.id.to_string(),
        participant: n.participant.name.clone(),
        overdue,
        ratings: RATINGS
            .iter()
            .map(|(name, label)| {
                let chosen = value(name);
                RatingField {
                    name,
                    label,
                    choices: SCALE.iter().map(|(v, l)| (*v, *l, *v == chosen)).collect(),
                    error: error(name),
                }
            })
            .collect(),
        comments: value("comments"),
        comments_error: error("comments"),
    }
}

/// The page's answer to a refused write about offering `id`: 403, 409 or 422 with the reason
/// at the top; other errors (404 above all) as error pages.
async fn refused_write(
    state: &AppState,
    viewer: &Viewer,
    id: eprime_domain::OfferingId,
    what: &str,
    error: StoreError,
) -> PageResult {
    let (status, message) = match error {
        StoreError::Forbidden(message) => (StatusCode::FORBIDDEN, message),
        StoreError::Conflict(message) => (StatusCode::CONFLICT, message),
        StoreError::Invalid(errors) => (StatusCode::UNPROCESSABLE_ENTITY, errors.to_string()),
        StoreError::Stale { current, .. } => (
            StatusCode::CONFLICT,
            format!(
                "someone changed it while you were looking at it (it is now at version {current}); check it as it \
                 is now, then try again"
            ),
        ),
        other => return Err(other.into()),
    };
    page(state, viewer, id, status, Outcome::problem(format!("{what}: {message}."))).await
}

/// `POST /menu/{id}/status`: `to`, `version`, `reason` (to return for revision or cancel).
pub async fn transition(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(raw): Path<String>,
    form: FormData,
) -> PageResult {
    let id = offering_id(&raw)?;
    let here = format!("/menu/{id}");
    let actor = crate::csrf::check(&viewer, &form, &here)?;
    let to = OfferingStatus::parse(form.get("to").unwrap_or_default()).map_err(|e| PageError::BadRequest(e.message))?;
    let version = form.get("version").and_then(|v| v.parse::<i64>().ok());
    let reason = form.get("reason").map(str::to_owned);
    match state.store.transition_offering(actor, id, version, to, reason.clone()).await {
        Ok(_) => {
            // Publication and closing change who finds it and its status facet: refresh the
            // search now (the change-log follower would, moments later).
            if let Err(error) = state.menu.refresh(&state.store, &[id]).await {
                tracing::warn!(%error, "menu search: refreshing after a status change failed");
            }
            Ok(see_other(&format!("{here}?notice=status")))
        }
        Err(StoreError::Invalid(errors)) if errors.0.iter().any(|e| e.field == "reason") => {
            let message = format!("Say why: {}.", step_label(to).to_lowercase());
            let outcome = Outcome {
                problem: Some("The status was not changed: a reason is needed.".to_owned()),
                lifecycle: Some((to, reason.unwrap_or_default(), message)),
                ..Outcome::default()
            };
            page(&state, &viewer, id, StatusCode::UNPROCESSABLE_ENTITY, outcome).await
        }
        Err(error) => refused_write(&state, &viewer, id, "The status was not changed", error).await,
    }
}

/// `POST /menu/{id}/report`: `summary`, `lessons`, `version`.
pub async fn report(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(raw): Path<String>,
    form: FormData,
) -> PageResult {
    let id = offering_id(&raw)?;
    let here = format!("/menu/{id}");
    let actor = crate::csrf::check(&viewer, &form, &here)?;
    let version = form.get("version").and_then(|v| v.parse::<i64>().ok());
    let input =
        ReportInput { summary: form.raw("summary").to_owned(), lessons: form.get("lessons").map(str::to_owned) };
    let (summary, lessons) = match input.validate() {
        Ok(valid) => valid,
        Err(errors) => {
            // Whoever may not file it is told so, not how to fill in a form it cannot use (an
            // event the viewer cannot see answers 404 here).
            let (offering, _, _) = event_for(&state, &viewer, id).await?;
            if let Err(refusal) = Report::check(actor, &offering) {
                return refused_write(&state, &viewer, id, "The report was not filed", refusal.into()).await;
            }
            let outcome = Outcome {
                problem: Some("The report was not filed: correct the fields marked below.".to_owned()),
                report: Some((form, field_errors(&errors))),
                ..Outcome::default()
            };
            return page(&state, &viewer, id, StatusCode::UNPROCESSABLE_ENTITY, outcome).await;
        }
    };
    match state.store.file_report(actor, id, version, summary, lessons).await {
        Ok(_) => {
            if let Err(error) = state.menu.refresh(&state.store, &[id]).await {
                tracing::warn!(%error, "menu search: refreshing after a report failed");
            }
            Ok(see_other(&format!("{here}?notice=reported#report")))
        }
        Err(error) => refused_write(&state, &viewer, id, "The report was not filed", error).await,
    }
}

fn nomination_id(raw: &str) -> Result<NominationId, PageError> {
    raw.parse().map_err(|_| PageError::NotFound)
}

/// `POST /menu/nominations/{id}/attendance`: `attendance` (attended, absent).
pub async fn attendance(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(raw): Path<String>,
    form: FormData,
) -> PageResult {
    let id = nomination_id(&raw)?;
    let actor = crate::csrf::check(&viewer, &form, "/menu")?;
    let nomination = state.store.nomination(&viewer.scope(), id).await?.ok_or(PageError::NotFound)?;
    let attendance = match form.get("attendance") {
        Some("attended") => Attendance::Attended,
        Some("absent") => Attendance::Absent,
        _ => return Err(PageError::BadRequest("choose attended or absent".to_owned())),
    };
    let what = format!("The attendance of {} was not recorded", nomination.participant.name);
    match state.store.record_attendance(actor, id, attendance).await {
        Ok(_) => Ok(see_other(&format!("/menu/{}?notice=attendance#nominations", nomination.offering))),
        Err(error) => refused_write(&state, &viewer, nomination.offering, &what, error).await,
    }
}

/// Reads one rating; a missing or unreadable one is a field error (1–5 is checked by
/// `FeedbackInput::validate`).
fn rating(form: &FormData, name: &str, errors: &mut ValidationErrors) -> u8 {
    match form.get(name).map(str::parse::<u8>) {
        Some(Ok(value)) => value,
        Some(Err(_)) => {
            errors.push(FieldError::new(name, "must be a rating from 1 to 5"));
            0
        }
        None => {
            errors.push(FieldError::new(name, "needs a rating from 1 to 5"));
            0
        }
    }
}

/// `POST /menu/nominations/{id}/feedback`: `overall`, `content`, `organisation`, `relevance`
/// (1–5), `comments`.
pub async fn feedback(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(raw): Path<String>,
    form: FormData,
) -> PageResult {
    let id = nomination_id(&raw)?;
    let actor = crate::csrf::check(&viewer, &form, "/menu")?;
    let nomination = nomination_for(&state, &viewer, id).await?;
    let offering = nomination.offering;
    let mut errors = ValidationErrors::default();
    let ratings = Ratings {
        overall: rating(&form, "overall", &mut errors),
        content: rating(&form, "content", &mut errors),
        organisation: rating(&form, "organisation", &mut errors),
        relevance: rating(&form, "relevance", &mut errors),
    };
    // The domain checks the ranges (and the comments); its errors join those of ratings missing
    // or unreadable, which come first (a missing one is also out of range, as 0).
    let input = FeedbackInput { ratings, comments: form.get("comments").map(str::to_owned) };
    let checked = match input.validate() {
        Ok(valid) if errors.0.is_empty() => Ok(valid),
        Ok(_) => Err(errors),
        Err(domain) => {
            // The domain names ratings `ratings.overall`; the form calls them `overall`.
            let renamed = domain.0.into_iter().map(|f| FieldError::new(f.field.replace("ratings.", ""), f.message));
            errors.0.extend(renamed);
            Err(errors)
        }
    };
    let (ratings, comments) = match checked {
        Ok(valid) => valid,
        Err(errors) => {
            // As for the report: a viewer who may not give this feedback is told that first.
            let (event, _, _) = event_for(&state, &viewer, offering).await?;
            if let Err(refusal) = Feedback::check(actor, &nomination, &event) {
                let what = format!("The feedback for {} was not recorded", nomination.participant.name);
                return refused_write(&state, &viewer, offering, &what, refusal.into()).await;
            }
            let outcome = Outcome {
                problem: Some(format!(
                    "The feedback for {} was not recorded: correct the fields marked below.",
                    nomination.participant.name
                )),
                feedback: Some((id, form, field_errors(&errors))),
                ..Outcome::default()
            };
            return page(&state, &viewer, offering, StatusCode::UNPROCESSABLE_ENTITY, outcome).await;
        }
    };
    let what = format!("The feedback for {} was not recorded", nomination.participant.name);
    match state.store.give_feedback(actor, id, ratings, comments).await {
        Ok(_) => Ok(see_other(&format!("/menu/{offering}?notice=feedback#nominations"))),
        Err(error) => refused_write(&state, &viewer, offering, &what, error).await,
    }
}

/// `GET /menu/nominations/{id}`: the event page of a nomination the viewer may see, at its row.
pub async fn show_nomination(State(state): State<AppState>, viewer: Viewer, Path(raw): Path<String>) -> PageResult {
    let id = nomination_id(&raw)?;
    if viewer.principal().is_none() {
        return Err(PageError::SignIn { next: format!("/menu/nominations/{id}") });
    }
    let nomination = nomination_for(&state, &viewer, id).await?;
    Ok(see_other(&format!("/menu/{}#nomination-{id}", nomination.offering)))
}
