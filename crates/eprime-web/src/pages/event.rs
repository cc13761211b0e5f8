//! `/menu/{id}`: one menu event — details, sessions, seats, who may come, the nominations the
//! viewer may see — with the forms each viewer may use: the nomination form for a partner
//! officer while the event is published (`POST /menu/{id}/nominations`), the provider's
//! decisions and a nation's withdrawal (`POST /menu/nominations/{id}/decision`), and the forms of
//! `event_forms` (lifecycle, attendance, feedback, after-action report). The store checks every
//! rule; the page offers only what the domain's own checks say the viewer may do, so a button
//! is never shown that its post would refuse for the viewer's role.
//!
//! A participant's account sees no programme data, but an event it is nominated to is its own
//! registration: it sees that event with its own nominations only (as its calendar feed and
//! `GET /api/v1/nominations/mine` show it), and gives its feedback here.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use eprime_domain::menu::{
    Attendance, Clearance, Decision, Eligibility, Feedback, NewNomination, Nomination, NominationInput,
    NominationStatus, Offering, OfferingStatus, Report,
};
use eprime_domain::{NominationId, OfferingId, Principal, ReadScope, Role, SubjectKind, ValidationErrors};
use eprime_server::AppState;
use eprime_store::{EntityType, NewComment, StoreError};
use serde::Deserialize;

use crate::discussion::Discussion;
use crate::form::FormData;
use crate::page::{PageError, PageResult, render_status, see_other};
use crate::pages::event_forms::{self, FeedbackForm, LifecycleAction, ReportForm, ReportView};
use crate::pages::inbox::{WatchButton, watch_button};
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
    /// The nominating nation (or NATO) may withdraw it.
    pub may_withdraw: bool,
    /// "attended", "absent", or "" while not recorded.
    pub attendance: &'static str,
    /// The provider (or NATO) may record attendance now.
    pub may_record_attendance: bool,
    /// The feedback given, in one line ("overall 4/5 …"), or "".
    pub feedback: String,
    /// The participant attended and its feedback is overdue.
    pub feedback_overdue: bool,
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
    version: i64,
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
    /// The viewer is a participant seeing its own registration.
    participant_view: bool,
    form: Option<NominationForm>,
    lifecycle: Vec<LifecycleAction>,
    report_overdue: bool,
    report: Option<ReportView>,
    report_form: Option<ReportForm>,
    feedback_forms: Vec<FeedbackForm>,
    watch: Option<WatchButton>,
    notice: Option<String>,
    problem: Option<String>,
    /// The event's discussion (`templates/discussion.html`); none in a participant's view.
    discussion: Option<Discussion>,
}

#[derive(Deserialize)]
pub struct ShowQuery {
    notice: Option<String>,
}

/// What the last post left to show on the page: a confirmation or a problem, and the form
/// that was refused, as sent, with its errors by field.
#[derive(Default)]
pub(crate) struct Outcome {
    pub notice: Option<String>,
    pub problem: Option<String>,
    /// The nomination form.
    pub sent: Option<(FormData, HashMap<String, String>)>,
    /// A lifecycle step refused for its reason: the step, the reason typed, the error.
    pub lifecycle: Option<(OfferingStatus, String, String)>,
    /// The after-action report form.
    pub report: Option<(FormData, HashMap<String, String>)>,
    /// One nomination's feedback form.
    pub feedback: Option<(NominationId, FormData, HashMap<String, String>)>,
    /// What was typed in the discussion box, and why it was refused.
    pub comment: Option<(String, String)>,
}

impl Outcome {
    pub fn problem(message: String) -> Self {
        Self { problem: Some(message), ..Self::default() }
    }
}

pub(crate) fn offering_id(raw: &str) -> Result<OfferingId, PageError> {
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
        Some("withdrawn") => Some("The nomination was withdrawn; its seat and quota place are free again.".to_owned()),
        Some("status") => Some("The event's status was changed.".to_owned()),
        Some("attendance") => Some("The attendance was recorded.".to_owned()),
        Some("feedback") => Some("Thank you: the feedback was recorded.".to_owned()),
        Some("reported") => Some("The after-action report was filed; the event is now reported.".to_owned()),
        Some("comment") => Some("Your comment was posted.".to_owned()),
        _ => None,
    };
    page(&state, &viewer, offering_id(&raw)?, StatusCode::OK, Outcome { notice, ..Outcome::default() }).await
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

/// The provider's decisions `principal` may take on `n` now, by the domain's own check (seats
/// are counted by the store when the decision is posted).
fn decisions(principal: &Principal, n: &Nomination, o: &Offering) -> Vec<(&'static str, &'static str)> {
    [(Decision::Accept, "accept", "Accept"), (Decision::Waitlist, "waitlist", "Waitlist")]
        .into_iter()
        .filter(|(decision, _, _)| decision.check(principal, n, o).is_ok())
        .map(|(_, value, label)| (value, label))
        .collect()
}

/// The event and the nominations on it that the viewer may see, and whether it is a
/// participant's own registration (read beyond its scope, see the module's comment).
pub(crate) async fn event_for(
    state: &AppState,
    viewer: &Viewer,
    id: OfferingId,
) -> Result<(Offering, Vec<Nomination>, bool), PageError> {
    let scope = viewer.scope();
    let store = state.store.as_ref();
    if let Some(offering) = store.offering(&scope, id).await? {
        let nominations = store.list_nominations(&scope, id).await?.unwrap_or_default();
        return Ok((offering, nominations, false));
    }
    if let Some(participant) = viewer.principal().filter(|p| p.role() == Role::Participant) {
        let own: Vec<Nomination> =
            store.nominations_of(&participant.username).await?.into_iter().filter(|n| n.offering == id).collect();
        if !own.is_empty()
            && let Some(offering) = store.offering(&ReadScope::system(), id).await?
        {
            return Ok((offering, own, true));
        }
    }
    Err(PageError::NotFound)
}

/// A nomination the viewer may see (a participant: its own), for the forms that post about one.
pub(crate) async fn nomination_for(
    state: &AppState,
    viewer: &Viewer,
    id: NominationId,
) -> Result<Nomination, PageError> {
    let store = state.store.as_ref();
    if let Some(found) = store.nomination(&viewer.scope(), id).await? {
        return Ok(found);
    }
    match viewer.principal().filter(|p| p.role() == Role::Participant) {
        Some(participant) => store
            .nominations_of(&participant.username)
            .await?
            .into_iter()
            .find(|n| n.id == id)
            .ok_or(PageError::NotFound),
        None => Err(PageError::NotFound),
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

fn nomination_row(viewer: Option<&Principal>, n: &Nomination, o: &Offering, overdue: bool) -> NominationRow {
    let detail = match (n.status, n.waitlist_position, &n.status_reason) {
        (NominationStatus::Waitlisted, Some(at), _) => format!("number {at} on the waiting list"),
        (_, _, Some(reason)) => reason.clone(),
        _ => String::new(),
    };
    let may = |decision: Decision| viewer.is_some_and(|p| decision.check(p, n, o).is_ok());
    NominationRow {
        id: n.id.to_string(),
        version: n.version,
        name: n.participant.name.clone(),
        rank: n.participant.rank.clone(),
        organisation: n.participant.organisation.clone(),
        nation: n.nation.to_string(),
        status: n.status.as_str(),
        detail,
        decisions: viewer.map(|p| decisions(p, n, o)).unwrap_or_default(),
        // The reason is checked when posted; any text passes the check of who may reject.
        may_reject: may(Decision::Reject { reason: "—".to_owned() }),
        may_withdraw: may(Decision::Withdraw { reason: None }),
        attendance: n.attendance.map_or("", Attendance::as_str),
        may_record_attendance: viewer.is_some_and(|p| Attendance::check(p, n, o).is_ok()),
        feedback: n
            .feedback
            .as_ref()
            .map(|f| {
                let r = f.ratings;
                format!(
                    "overall {}/5 · content {}/5 · organisation {}/5 · relevance {}/5",
                    r.overall, r.content, r.organisation, r.relevance
                )
            })
            .unwrap_or_default(),
        feedback_overdue: overdue,
    }
}

pub(crate) async fn page(
    state: &AppState,
    viewer: &Viewer,
    id: OfferingId,
    status: StatusCode,
    outcome: Outcome,
) -> PageResult {
    let (o, nominations, participant_view) = event_for(state, viewer, id).await?;
    let store = state.store.as_ref();
    let today = time::OffsetDateTime::now_utc().date();
    let rules = &state.config.overdue;
    let principal = viewer.principal();
    let organisations: HashMap<String, String> =
        store.list_organisations().await?.into_iter().map(|o| (o.code.to_string(), o.name.to_string())).collect();
    let provider = match organisations.get(o.provider.as_str()) {
        Some(name) => format!("{name} ({})", o.provider),
        None => o.provider.to_string(),
    };
    let rows =
        nominations.iter().map(|n| nomination_row(principal, n, &o, rules.feedback_overdue(n, &o, today))).collect();
    let feedback_forms = match principal {
        Some(p) => nominations
            .iter()
            .filter(|n| Feedback::check(p, n, &o).is_ok())
            .map(|n| {
                let sent = outcome.feedback.as_ref().filter(|(id, _, _)| *id == n.id).map(|(_, f, e)| (f, e));
                event_forms::feedback_form(n, rules.feedback_overdue(n, &o, today), sent)
            })
            .collect(),
        None => Vec::new(),
    };
    let may_nominate =
        o.status == OfferingStatus::Published && principal.is_some_and(|p| p.role() == Role::PartnerOfficer);
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
    // A participant reads its registration beyond its scope; watching is for records one sees.
    let watch = match participant_view {
        false => watch_button(state, viewer, EntityType::Offering, &id.to_string(), format!("/menu/{id}")).await?,
        true => None,
    };
    let page = EventPage {
        chrome: Chrome::new(viewer, "menu"),
        id: o.id.to_string(),
        version: o.version,
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
        nominations: rows,
        signed_in: principal.is_some(),
        participant_view,
        form: may_nominate.then(|| form(outcome.sent.as_ref())),
        lifecycle: principal
            .map(|p| event_forms::lifecycle_actions(p, &o, outcome.lifecycle.as_ref()))
            .unwrap_or_default(),
        report_overdue: rules.report_overdue(&o, today),
        report: o.report.as_ref().map(ReportView::from),
        report_form: principal
            .filter(|p| Report::check(p, &o).is_ok())
            .map(|_| event_forms::report_form(outcome.report.as_ref())),
        feedback_forms,
        watch,
        notice: outcome.notice,
        problem: outcome.problem,
        // A participant reads its own registration beyond its scope, not the event's discussion.
        discussion: match participant_view {
            true => None,
            false => Some(
                Discussion::load(
                    store,
                    viewer,
                    SubjectKind::Offering,
                    &o.id.to_string(),
                    &o.provider,
                    format!("/menu/{}/comments", o.id),
                    outcome.comment,
                )
                .await?,
            ),
        },
    };
    Ok(render_status(status, &page))
}

/// Field errors by field name, each as a sentence ("This must not be empty.").
pub(crate) fn field_errors(errors: &ValidationErrors) -> HashMap<String, String> {
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
            page(&state, &viewer, id, StatusCode::CONFLICT, Outcome { problem, sent, ..Outcome::default() }).await
        }
        Err(StoreError::Forbidden(message)) => {
            let problem = Some(format!("The participant was not nominated: {message}."));
            let sent = Some((form, HashMap::new()));
            page(&state, &viewer, id, StatusCode::FORBIDDEN, Outcome { problem, sent, ..Outcome::default() }).await
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
    let outcome = Outcome { problem, sent: Some((form, field_errors(errors))), ..Outcome::default() };
    page(state, viewer, id, StatusCode::UNPROCESSABLE_ENTITY, outcome).await
}

/// `POST /menu/nominations/{id}/decision`: `decision` (accept, waitlist, reject — the
/// provider's; withdraw — the nominating nation's), `reason` (required to reject, optional to
/// withdraw), `version`.
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
    let reason = form.get("reason").map(str::to_owned);
    let (decision, notice) = match form.get("decision") {
        Some("accept") => (Decision::Accept, "decided"),
        Some("waitlist") => (Decision::Waitlist, "decided"),
        Some("reject") => (Decision::Reject { reason: reason.unwrap_or_default() }, "decided"),
        Some("withdraw") => (Decision::Withdraw { reason }, "withdrawn"),
        _ => return Err(PageError::BadRequest("choose accept, waitlist, reject or withdraw".to_owned())),
    };
    let version = form.get("version").and_then(|v| v.parse::<i64>().ok());
    let problem = |message: String| {
        Outcome::problem(format!("The decision on {} was not recorded: {message}.", nomination.participant.name))
    };
    match state.store.decide_nomination(actor, id, version, decision).await {
        Ok(_) => {
            // Seats moved: keep the search's open-seat counts current (see `nominate`).
            if let Err(error) = state.menu.refresh(&state.store, &[offering]).await {
                tracing::warn!(%error, "menu search: refreshing after a decision failed");
            }
            Ok(see_other(&format!("/menu/{offering}?notice={notice}#nominations")))
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
    let refused = |message: String| Outcome { comment: Some((draft.clone(), message)), ..Outcome::default() };
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
