//! `/menu/{id}`: one menu event — details, sessions, seats, who may come, the nominations the
//! viewer may see — with the nomination form for a partner officer while the event is
//! published (`POST /menu/{id}/nominations`) and the provider's decisions on each nomination
//! (`POST /menu/nominations/{id}/decision`). The store checks every rule (eligibility, quota,
//! deadline, prerequisites, who decides); the page only decides what is worth offering.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use eprime_domain::menu::{
    Clearance, Decision, Eligibility, NewNomination, NominationInput, NominationStatus, Offering,
};
use eprime_domain::{NominationId, OfferingId, Principal, Role, SubjectKind, ValidationErrors};
use eprime_server::AppState;
use eprime_store::{NewComment, StoreError};
use serde::Deserialize;

use crate::discussion::Discussion;
use crate::form::FormData;
use crate::page::{PageError, PageResult, render_status, see_other};
use crate::pages::menu::event_type_label;
use crate::session::Viewer;
use crate::views::{Chrome, date, date_range};

pub struct SessionRow {
    pub dates: String,
    pub location: String,
    pub language: String,
}

pub struct NominationRow {
    pub id: String,
    pub version: i64,
    pub name: String,
    pub rank: String,
    pub organisation: String,
    pub nation: String,
    pub status: &'static str,
    pub detail: String,
    /// (decision value, button label) the viewer may take.
    pub decisions: Vec<(&'static str, &'static str)>,
    pub may_reject: bool,
}

/// A text field of the nomination form, with what was typed and why it was refused.
pub struct TextField {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: &'static str,
    pub autocomplete: &'static str,
    pub required: bool,
    pub value: String,
    pub error: Option<String>,
}

pub struct NominationForm {
    pub fields: Vec<TextField>,
    pub clearance: String,
    pub clearance_error: Option<String>,
    pub clearances: Vec<(&'static str, &'static str)>,
    pub language_level: String,
    pub language_error: Option<String>,
}

#[derive(Template)]
#[template(path = "event.html")]
struct EventPage {
    chrome: Chrome,
    id: String,
    title: String,
    code: String,
    status: &'static str,
    status_reason: String,
    marking: String,
    facts: Vec<(&'static str, String)>,
    description: String,
    sessions: Vec<SessionRow>,
    seats: u32,
    seats_taken: u32,
    open_seats: u32,
    waitlisted: u32,
    nominations: Vec<NominationRow>,
    signed_in: bool,
    form: Option<NominationForm>,
    notice: Option<String>,
    problem: Option<String>,
    /// The event's discussion (`templates/discussion.html`).
    discussion: Discussion,
}

#[derive(Deserialize)]
pub struct ShowQuery {
    notice: Option<String>,
}

/// What the last post left to show.
#[derive(Default)]
struct Feedback {
    notice: Option<String>,
    problem: Option<String>,
    /// The nomination form as sent, and the errors per field.
    sent: Option<(FormData, HashMap<String, String>)>,
    /// What was typed in the discussion box, and why it was refused.
    comment: Option<(String, String)>,
}

fn offering_id(raw: &str) -> Result<OfferingId, PageError> {
    raw.parse().map_err(|_| PageError::NotFound)
}

pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(raw): Path<String>,
    Query(query): Query<ShowQuery>,
) -> PageResult {
    let notice = match query.notice.as_deref() {
        Some("nominated") => Some("The participant was nominated. The provider decides on the nomination.".to_owned()),
        Some("decided") => Some("The decision was recorded.".to_owned()),
        Some("comment") => Some("Your comment was posted.".to_owned()),
        _ => None,
    };
    page(&state, &viewer, offering_id(&raw)?, StatusCode::OK, Feedback { notice, ..Feedback::default() }).await
}

fn eligibility(e: &Eligibility) -> String {
    match e {
        Eligibility::AllPartners => "All partners".to_owned(),
        Eligibility::Frameworks { frameworks } => {
            let names: Vec<_> = frameworks.iter().map(|f| f.as_str().replace('_', " ")).collect();
            format!("Partners of {}", names.join(", "))
        }
        Eligibility::Nations { nations } => {
            format!("Only {}", nations.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))
        }
    }
}

/// Whether `principal` decides on this offering's nominations: its provider or NATO staff.
fn decides(principal: &Principal, offering: &Offering) -> bool {
    principal.role().is_nato_writer()
        || (principal.role() == Role::Provider && principal.binding.organisation.as_ref() == Some(&offering.provider))
}

fn decisions(status: NominationStatus) -> Vec<(&'static str, &'static str)> {
    match status {
        NominationStatus::Nominated => vec![("accept", "Accept"), ("waitlist", "Waitlist")],
        NominationStatus::Waitlisted => vec![("accept", "Accept")],
        _ => Vec::new(),
    }
}

fn form(sent: Option<&(FormData, HashMap<String, String>)>) -> NominationForm {
    let value = |name: &str| sent.map(|(f, _)| f.raw(name).to_owned()).unwrap_or_default();
    let error = |name: &str| sent.and_then(|(_, e)| e.get(name).cloned());
    let field = |name, label, kind, autocomplete, required| TextField {
        name,
        label,
        kind,
        autocomplete,
        required,
        value: value(name),
        error: error(name),
    };
    NominationForm {
        fields: vec![
            field("name", "Full name", "text", "name", true),
            field("rank", "Rank or title", "text", "honorific-prefix", false),
            field("organisation", "Organisation", "text", "organization", true),
            field("email", "E-mail address", "email", "email", true),
        ],
        clearance: sent.map_or_else(|| "none".to_owned(), |(f, _)| f.raw("clearance").to_owned()),
        clearance_error: error("clearance"),
        clearances: Clearance::ALL
            .iter()
            .map(|c| {
                let label = match c {
                    Clearance::None => "None",
                    Clearance::NatoRestricted => "NATO RESTRICTED",
                    Clearance::NatoConfidential => "NATO CONFIDENTIAL",
                    Clearance::NatoSecret => "NATO SECRET",
                };
                (c.as_str(), label)
            })
            .collect(),
        language_level: sent.map_or_else(|| "3".to_owned(), |(f, _)| f.raw("language_level").to_owned()),
        language_error: error("language_level"),
    }
}

async fn page(state: &AppState, viewer: &Viewer, id: OfferingId, status: StatusCode, feedback: Feedback) -> PageResult {
    let scope = viewer.scope();
    let store = state.store.as_ref();
    let o = store.offering(&scope, id).await?.ok_or(PageError::NotFound)?;
    let organisations: HashMap<String, String> =
        store.list_organisations().await?.into_iter().map(|o| (o.code.to_string(), o.name.to_string())).collect();
    let provider = match organisations.get(o.provider.as_str()) {
        Some(name) => format!("{name} ({})", o.provider),
        None => o.provider.to_string(),
    };
    let decider = viewer.principal().is_some_and(|p| decides(p, &o));
    let nominations = store
        .list_nominations(&scope, id)
        .await?
        .unwrap_or_default()
        .into_iter()
        .map(|n| {
            let detail = match (n.status, n.waitlist_position, &n.status_reason) {
                (NominationStatus::Waitlisted, Some(at), _) => format!("number {at} on the waiting list"),
                (_, _, Some(reason)) => reason.clone(),
                _ => String::new(),
            };
            NominationRow {
                id: n.id.to_string(),
                version: n.version,
                name: n.participant.name,
                rank: n.participant.rank,
                organisation: n.participant.organisation,
                nation: n.nation.to_string(),
                status: n.status.as_str(),
                detail,
                decisions: if decider { decisions(n.status) } else { Vec::new() },
                may_reject: decider && n.status.is_open(),
            }
        })
        .collect();
    let may_nominate = o.status == eprime_domain::menu::OfferingStatus::Published
        && viewer.principal().is_some_and(|p| p.role() == Role::PartnerOfficer);
    let prerequisites = format!(
        "Clearance: {}; language level (STANAG 6001): {}",
        o.prerequisites.clearance.as_str().replace('_', " "),
        o.prerequisites.language_level
    );
    let facts: Vec<(&'static str, String)> = [
        ("Code", o.code.to_string()),
        ("Type", event_type_label(o.event_type.as_str())),
        ("Provider", provider),
        ("When", date_range(o.first_day(), o.last_day())),
        ("Areas of cooperation", o.areas.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")),
        ("Who may attend", eligibility(&o.eligibility)),
        ("Prerequisites", prerequisites),
        ("Nomination deadline", date(o.nomination_deadline)),
        ("Places per nation", o.nation_quota.to_string()),
        ("Fees", o.fees.clone()),
        ("Contact", format!("{} <{}>", o.contact.name, o.contact.email)),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .collect();
    let page = EventPage {
        chrome: Chrome::new(viewer, "menu"),
        id: o.id.to_string(),
        title: o.title.to_string(),
        code: o.code.to_string(),
        status: o.status.as_str(),
        status_reason: o.status_reason.clone().unwrap_or_default(),
        marking: o.marking.banner(),
        facts,
        description: o.description.to_string(),
        sessions: o
            .sessions
            .iter()
            .map(|s| SessionRow {
                dates: date_range(Some(s.starts_on), Some(s.ends_on)),
                location: s.location.clone(),
                language: s.language.clone(),
            })
            .collect(),
        seats: o.seats,
        seats_taken: o.seats_taken,
        open_seats: o.open_seats(),
        waitlisted: o.waitlisted,
        nominations,
        signed_in: viewer.principal().is_some(),
        form: may_nominate.then(|| form(feedback.sent.as_ref())),
        notice: feedback.notice,
        problem: feedback.problem,
        discussion: Discussion::load(
            store,
            viewer,
            SubjectKind::Offering,
            &o.id.to_string(),
            &o.provider,
            format!("/menu/{}/comments", o.id),
            feedback.comment,
        )
        .await?,
    };
    Ok(render_status(status, &page))
}

fn field_errors(errors: &ValidationErrors) -> HashMap<String, String> {
    let mut map = HashMap::new();
    for e in &errors.0 {
        map.entry(e.field.clone()).or_insert_with(|| format!("This {}.", e.message.trim_end_matches('.')));
    }
    map
}

/// `POST /menu/{id}/nominations`: name, rank, organisation, email, clearance, language_level.
pub async fn nominate(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(raw): Path<String>,
    form: FormData,
) -> PageResult {
    let id = offering_id(&raw)?;
    let here = format!("/menu/{id}");
    let actor = crate::csrf::check(&viewer, &form, &here)?;
    // An offering the viewer cannot see answers 404, as on every page, before any rule is told.
    state.store.offering(&viewer.scope(), id).await?.ok_or(PageError::NotFound)?;
    let language_level = match form.get("language_level").map(str::parse::<u8>) {
        None => None,
        Some(Ok(level)) => Some(level),
        Some(Err(_)) => {
            let errors = ValidationErrors(vec![eprime_domain::FieldError::new(
                "language_level",
                "must be a STANAG 6001 level, 0–5",
            )]);
            return refused(&state, &viewer, id, form, &errors).await;
        }
    };
    let input = NominationInput {
        nation: None,
        name: form.raw("name").to_owned(),
        rank: form.get("rank").map(str::to_owned),
        organisation: form.raw("organisation").to_owned(),
        email: form.raw("email").to_owned(),
        clearance: form.get("clearance").map(str::to_owned),
        language_level,
    };
    let new = match NewNomination::validate(id, input) {
        Ok(new) => new,
        Err(errors) => return refused(&state, &viewer, id, form, &errors).await,
    };
    let today = time::OffsetDateTime::now_utc().date();
    match state.store.nominate(actor, new, today).await {
        Ok(_) => {
            // The open seats and counts shown on /menu move with a nomination: refresh now
            // rather than wait for the change-log follower. A failure is only logged: the
            // follower catches up.
            if let Err(error) = state.menu.refresh(&state.store, &[id]).await {
                tracing::warn!(%error, "menu search: refreshing after a nomination failed");
            }
            Ok(see_other(&format!("{here}?notice=nominated#nominations")))
        }
        Err(StoreError::Invalid(errors)) => refused(&state, &viewer, id, form, &errors).await,
        Err(StoreError::Conflict(message)) => {
            let problem = Some(format!("The participant was not nominated: {message}."));
            let sent = Some((form, HashMap::new()));
            page(&state, &viewer, id, StatusCode::CONFLICT, Feedback { problem, sent, ..Feedback::default() }).await
        }
        Err(StoreError::Forbidden(message)) => {
            let problem = Some(format!("The participant was not nominated: {message}."));
            let sent = Some((form, HashMap::new()));
            page(&state, &viewer, id, StatusCode::FORBIDDEN, Feedback { problem, sent, ..Feedback::default() }).await
        }
        Err(other) => Err(other.into()),
    }
}

async fn refused(
    state: &AppState,
    viewer: &Viewer,
    id: OfferingId,
    form: FormData,
    errors: &ValidationErrors,
) -> PageResult {
    let problem = Some("The participant was not nominated: correct the fields marked below.".to_owned());
    let feedback = Feedback { problem, sent: Some((form, field_errors(errors))), ..Feedback::default() };
    page(state, viewer, id, StatusCode::UNPROCESSABLE_ENTITY, feedback).await
}

/// `POST /menu/nominations/{id}/decision`: `decision` (accept, waitlist, reject), `reason`
/// (for reject), `version`.
pub async fn decide(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(raw): Path<String>,
    form: FormData,
) -> PageResult {
    let id: NominationId = raw.parse().map_err(|_| PageError::NotFound)?;
    let actor = crate::csrf::check(&viewer, &form, "/menu")?;
    let nomination = state.store.nomination(&viewer.scope(), id).await?.ok_or(PageError::NotFound)?;
    let offering = nomination.offering;
    let decision = match form.get("decision") {
        Some("accept") => Decision::Accept,
        Some("waitlist") => Decision::Waitlist,
        Some("reject") => Decision::Reject { reason: form.get("reason").unwrap_or_default().to_owned() },
        _ => return Err(PageError::BadRequest("choose accept, waitlist or reject".to_owned())),
    };
    let version = form.get("version").and_then(|v| v.parse::<i64>().ok());
    let problem = |message: String| Feedback {
        problem: Some(format!("The decision on {} was not recorded: {message}.", nomination.participant.name)),
        ..Feedback::default()
    };
    match state.store.decide_nomination(actor, id, version, decision).await {
        Ok(_) => {
            // Seats moved: keep the search's open-seat counts current (see `nominate`).
            if let Err(error) = state.menu.refresh(&state.store, &[offering]).await {
                tracing::warn!(%error, "menu search: refreshing after a decision failed");
            }
            Ok(see_other(&format!("/menu/{offering}?notice=decided#nominations")))
        }
        Err(StoreError::Invalid(errors)) => {
            let message = errors.0.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join("; ");
            page(&state, &viewer, offering, StatusCode::UNPROCESSABLE_ENTITY, problem(message)).await
        }
        Err(StoreError::Conflict(message)) => {
            page(&state, &viewer, offering, StatusCode::CONFLICT, problem(message)).await
        }
        Err(StoreError::Forbidden(message)) => {
            page(&state, &viewer, offering, StatusCode::FORBIDDEN, problem(message)).await
        }
        Err(error @ StoreError::Stale { .. }) => {
            let message = format!("{error}; reload the page to see the nomination as it is now");
            page(&state, &viewer, offering, StatusCode::CONFLICT, problem(message)).await
        }
        Err(other) => Err(other.into()),
    }
}

/// `POST /menu/{id}/comments`: `body`. Posted with the default marking: NATO, the provider and
/// the author's own nation or organisation read it (see `eprime_domain::access::comment_marking`).
pub async fn comment(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(raw): Path<String>,
    form: FormData,
) -> PageResult {
    let id = offering_id(&raw)?;
    let here = format!("/menu/{id}");
    let actor = crate::csrf::check(&viewer, &form, &here)?;
    let draft = form.raw("body").to_owned();
    let refused = |message: String| Feedback { comment: Some((draft.clone(), message)), ..Feedback::default() };
    let body = match eprime_domain::comment::check_body(&draft) {
        Ok(body) => body,
        Err(error) => {
            // An event the viewer cannot see answers 404, as on every page, before any rule is told.
            state.store.offering(&viewer.scope(), id).await?.ok_or(PageError::NotFound)?;
            let feedback = refused(format!("The comment {}.", error.message));
            return page(&state, &viewer, id, StatusCode::UNPROCESSABLE_ENTITY, feedback).await;
        }
    };
    let new = NewComment { subject: SubjectKind::Offering, subject_id: id.to_string(), body, marking: None };
    match state.store.create_comment(actor, new).await {
        Ok(_) => Ok(see_other(&format!("{here}?notice=comment#discussion"))),
        Err(StoreError::Invalid(errors)) => {
            page(&state, &viewer, id, StatusCode::UNPROCESSABLE_ENTITY, refused(errors.to_string())).await
        }
        Err(StoreError::Forbidden(reason)) => page(&state, &viewer, id, StatusCode::FORBIDDEN, refused(reason)).await,
        Err(other) => Err(other.into()),
    }
}
