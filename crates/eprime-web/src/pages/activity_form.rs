//! Creating and editing an activity: the form, its validation through the domain
//! (`NewActivity::validate`, `ActivityChanges::validate`) with each error shown next to its field,
//! and the optimistic-concurrency check on edits (a stale form is refused with a clear message).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use eprime_domain::access::may_edit_activity;
use eprime_domain::{
    Activity, ActivityChanges, ActivityId, ActivityInput, ActivityKind, ActivityPatch, Classification, FieldError,
    NewActivity, PartnerCode, Principal,
};
use eprime_import::record::stored_themes;
use eprime_server::AppState;
use eprime_store::{DocumentFilter, StoreError};
use serde::Deserialize;

use crate::form::{FormData, codes};
use crate::page::{PageError, PageResult, render_status, see_other};
use crate::programme;
use crate::session::Viewer;
use crate::views::{Chrome, iso, kind_label};

/// What the form holds, as typed.
#[derive(Default, Clone)]
pub struct Values {
    pub partnership: String,
    pub title: String,
    pub kind: String,
    pub description: String,
    pub starts_on: String,
    pub ends_on: String,
    pub location: String,
    pub lead: String,
    pub participants: String,
    pub supports: Vec<String>,
    pub areas: Vec<String>,
    pub outcome: String,
    pub public: bool,
    pub releasable_to: String,
}

impl Values {
    fn from_form(form: &FormData) -> Self {
        let text = |name| form.get(name).unwrap_or_default().to_owned();
        Self {
            partnership: text("partnership").to_uppercase(),
            title: text("title"),
            kind: text("kind"),
            description: text("description"),
            starts_on: text("starts_on"),
            ends_on: text("ends_on"),
            location: text("location"),
            lead: text("lead"),
            participants: text("participants"),
            supports: form.all("supports"),
            areas: form.all("areas"),
            outcome: text("outcome"),
            public: form.get("marking") == Some(Classification::Public.as_str()),
            releasable_to: text("releasable_to"),
        }
    }

    fn from_activity(a: &Activity) -> Self {
        let own = a.partnership.as_org();
        Self {
            partnership: a.partnership.to_string(),
            title: a.title.to_string(),
            kind: a.kind.as_str().to_owned(),
            description: a.description.to_string(),
            starts_on: iso(a.starts_on),
            ends_on: iso(a.ends_on),
            location: a.location.clone().unwrap_or_default(),
            lead: a.lead.as_ref().map(|l| l.to_string()).unwrap_or_default(),
            participants: a.participants.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", "),
            supports: a.supports.iter().map(|s| s.to_string()).collect(),
            areas: a.areas.iter().map(|s| s.to_string()).collect(),
            outcome: a.outcome.to_string(),
            public: a.marking.is_public(),
            // The partner itself is always a recipient; the form lists only the others.
            releasable_to: a
                .marking
                .releasable_list()
                .iter()
                .filter(|o| **o != own)
                .map(|o| o.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    fn marking(&self) -> String {
        if self.public { Classification::Public } else { Classification::NatoUnclassified }.as_str().to_owned()
    }

    fn optional(value: &str) -> Option<String> {
        Some(value.trim()).filter(|v| !v.is_empty()).map(str::to_owned)
    }

    fn input(&self) -> ActivityInput {
        ActivityInput {
            partnership: self.partnership.clone(),
            title: self.title.clone(),
            kind: self.kind.clone(),
            description: Some(self.description.clone()),
            starts_on: Self::optional(&self.starts_on),
            ends_on: Self::optional(&self.ends_on),
            location: Self::optional(&self.location),
            lead: Self::optional(&self.lead),
            participants: Some(codes(&self.participants)),
            supports: Some(self.supports.clone()),
            areas: Some(self.areas.clone()),
            outcome: Some(self.outcome.clone()),
            source: None,
            marking: Some(self.marking()),
            releasable_to: if self.public { None } else { Some(codes(&self.releasable_to)) },
        }
    }

    /// A patch of exactly the fields that differ from `current`.
    fn patch(&self, current: &Values) -> ActivityPatch {
        let differs = |a: &str, b: &str| a.trim() != b.trim();
        let sorted = |mut v: Vec<String>| {
            v.iter_mut().for_each(|s| *s = s.to_uppercase());
            v.sort();
            v.dedup();
            v
        };
        let changed_opt = |a: &str, b: &str| if differs(a, b) { Some(Self::optional(a)) } else { None };
        let mut patch = ActivityPatch {
            title: differs(&self.title, &current.title).then(|| self.title.clone()),
            kind: differs(&self.kind, &current.kind).then(|| self.kind.clone()),
            description: differs(&self.description, &current.description).then(|| self.description.clone()),
            starts_on: changed_opt(&self.starts_on, &current.starts_on),
            ends_on: changed_opt(&self.ends_on, &current.ends_on),
            location: changed_opt(&self.location, &current.location),
            lead: changed_opt(&self.lead.to_uppercase(), &current.lead),
            outcome: differs(&self.outcome, &current.outcome).then(|| self.outcome.clone()),
            ..ActivityPatch::default()
        };
        if sorted(codes(&self.participants)) != sorted(codes(&current.participants)) {
            patch.participants = Some(codes(&self.participants));
        }
        if sorted(self.supports.clone()).iter().map(|s| s.to_lowercase()).collect::<Vec<_>>()
            != sorted(current.supports.clone()).iter().map(|s| s.to_lowercase()).collect::<Vec<_>>()
        {
            patch.supports = Some(self.supports.clone());
        }
        if sorted(self.areas.clone()) != sorted(current.areas.clone()) {
            patch.areas = Some(self.areas.clone());
        }
        if self.public != current.public || sorted(codes(&self.releasable_to)) != sorted(codes(&current.releasable_to))
        {
            patch.marking = Some(self.marking());
            patch.releasable_to = if self.public { None } else { Some(codes(&self.releasable_to)) };
        }
        patch
    }
}

pub struct Choice {
    pub value: String,
    pub label: String,
}

pub struct SupportGroup {
    pub legend: String,
    pub choices: Vec<Choice>,
}

#[derive(Template)]
#[template(path = "activity_form.html")]
struct FormPage {
    chrome: Chrome,
    /// The activity being edited (id, title), or None for a new one.
    editing: Option<(String, String)>,
    version: i64,
    values: Values,
    errors: Vec<FieldError>,
    problem: Option<String>,
    partnerships: Vec<Choice>,
    kinds: Vec<Choice>,
    support_groups: Vec<SupportGroup>,
    areas: Vec<Choice>,
    organisations: Vec<Choice>,
}

impl FormPage {
    /// The first error about `field` (`participants[2]` counts as `participants`).
    fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field || e.field.strip_prefix(field).is_some_and(|rest| rest.starts_with('[')))
            .map(|e| e.message.as_str())
    }

    /// Every error with the id of the field it concerns, for the summary's links.
    fn error_list(&self) -> Vec<(String, String, String)> {
        self.errors
            .iter()
            .map(|e| {
                let anchor = e.field.split('[').next().unwrap_or_default().to_owned();
                (anchor, e.field.replace('_', " "), e.message.clone())
            })
            .collect()
    }

    fn has_error(&self, field: &str) -> bool {
        self.error(field).is_some()
    }

    fn supported(&self, id: &str) -> bool {
        self.values.supports.iter().any(|s| s.eq_ignore_ascii_case(id))
    }

    fn in_area(&self, code: &str) -> bool {
        self.values.areas.iter().any(|s| s.eq_ignore_ascii_case(code))
    }
}

/// The errors no field shows, as one message.
fn unplaced(errors: &[FieldError]) -> Option<String> {
    const FIELDS: [&str; 14] = [
        "partnership",
        "title",
        "kind",
        "description",
        "starts_on",
        "ends_on",
        "location",
        "lead",
        "participants",
        "supports",
        "areas",
        "outcome",
        "marking",
        "releasable_to",
    ];
    let rest: Vec<String> = errors
        .iter()
        .filter(|e| !FIELDS.iter().any(|f| e.field == *f || e.field.starts_with(&format!("{f}["))))
        .map(|e| e.to_string())
        .collect();
    (!rest.is_empty()).then(|| rest.join("; "))
}

struct Context<'a> {
    state: &'a AppState,
    viewer: &'a Viewer,
}

impl Context<'_> {
    async fn render(
        &self,
        status: StatusCode,
        editing: Option<(String, String)>,
        version: i64,
        values: Values,
        errors: Vec<FieldError>,
        problem: Option<String>,
    ) -> PageResult {
        let scope = self.viewer.scope();
        let store = self.state.store.as_ref();
        let principal = self.viewer.principal();
        let partnerships = store
            .list_partnerships(&scope)
            .await?
            .into_iter()
            .filter(|p| principal.is_some_and(|v| may_edit_activity(v, &p.partner).is_ok()))
            .map(|p| Choice { value: p.partner.to_string(), label: format!("{} ({})", p.name, p.partner) })
            .collect();
        let mut support_groups = Vec::new();
        if let Ok(partner) = PartnerCode::parse(&values.partnership) {
            let mut documents =
                store.list_documents(&scope, &DocumentFilter { partnership: Some(partner), kind: None }).await?;
            programme::in_time_order(&mut documents);
            for document in documents.iter().rev().filter(|d| programme::is_cycle(d.kind)) {
                let Some(detail) = store.document(&scope, document.id).await? else { continue };
                let themes = stored_themes(&detail.elements);
                let choices = detail
                    .elements
                    .iter()
                    .filter(|e| themes.iter().any(|t| t.code == e.code && t.title == e.title.as_str()))
                    .map(|e| Choice { value: e.id.to_string(), label: format!("{} {}", e.code, e.title) })
                    .collect::<Vec<_>>();
                if !choices.is_empty() {
                    support_groups.push(SupportGroup { legend: document.title.to_string(), choices });
                }
            }
        }
        let areas = store
            .list_areas()
            .await?
            .into_iter()
            .map(|a| Choice { value: a.code.to_string(), label: format!("{} — {}", a.code, a.title) })
            .collect();
        let organisations = store
            .list_organisations()
            .await?
            .into_iter()
            .map(|o| Choice { value: o.code.to_string(), label: format!("{} — {}", o.code, o.name) })
            .collect();
        let kinds =
            ActivityKind::ALL.iter().map(|k| Choice { value: k.as_str().to_owned(), label: kind_label(*k) }).collect();
        let page = FormPage {
            chrome: Chrome::new(self.viewer, "partnership"),
            editing,
            version,
            values,
            errors,
            problem,
            partnerships,
            kinds,
            support_groups,
            areas,
            organisations,
        };
        Ok(render_status(status, &page))
    }
}

#[derive(Deserialize)]
pub struct NewQuery {
    partnership: Option<String>,
    supports: Option<String>,
}

fn signed_in<'a>(viewer: &'a Viewer, here: &str) -> Result<&'a Principal, PageError> {
    viewer.principal().ok_or_else(|| PageError::SignIn { next: here.to_owned() })
}

pub async fn new_form(State(state): State<AppState>, viewer: Viewer, Query(query): Query<NewQuery>) -> PageResult {
    let principal = signed_in(&viewer, "/activities/new")?;
    let partnership = query
        .partnership
        .or_else(|| principal.binding.partner.as_ref().map(|p| p.to_string()))
        .unwrap_or_default()
        .to_uppercase();
    let values = Values {
        partnership,
        kind: ActivityKind::Meeting.as_str().to_owned(),
        supports: query.supports.into_iter().collect(),
        ..Values::default()
    };
    Context { state: &state, viewer: &viewer }.render(StatusCode::OK, None, 0, values, Vec::new(), None).await
}

pub async fn create(State(state): State<AppState>, viewer: Viewer, form: FormData) -> PageResult {
    let principal = crate::csrf::check(&viewer, &form, "/activities/new")?;
    let values = Values::from_form(&form);
    let context = Context { state: &state, viewer: &viewer };
    let invalid = StatusCode::UNPROCESSABLE_ENTITY;
    let new = match NewActivity::validate(values.input()) {
        Ok(new) => new,
        Err(errors) => {
            let problem = unplaced(&errors.0);
            return context.render(invalid, None, 0, values, errors.0, problem).await;
        }
    };
    match state.store.create_activity(principal, new).await {
        Ok(activity) => Ok(see_other(&format!("/activities/{}?notice=created", activity.id))),
        Err(StoreError::Invalid(errors)) => {
            let problem = unplaced(&errors.0);
            context.render(invalid, None, 0, values, errors.0, problem).await
        }
        Err(StoreError::Forbidden(reason)) | Err(StoreError::Conflict(reason)) => {
            context.render(StatusCode::FORBIDDEN, None, 0, values, Vec::new(), Some(reason)).await
        }
        Err(StoreError::NotFound(what)) => {
            let errors = vec![FieldError::new("partnership", format!("{what} is not a partnership you can see"))];
            context.render(invalid, None, 0, values, errors, None).await
        }
        Err(other) => Err(other.into()),
    }
}

fn activity_id(raw: &str) -> Result<ActivityId, PageError> {
    raw.parse().map_err(|_| PageError::NotFound)
}

pub async fn edit_form(State(state): State<AppState>, viewer: Viewer, Path(raw): Path<String>) -> PageResult {
    let id = activity_id(&raw)?;
    let principal = signed_in(&viewer, &format!("/activities/{id}/edit"))?;
    let activity = state.store.activity(&viewer.scope(), id).await?.ok_or(PageError::NotFound)?;
    may_edit_activity(principal, &activity.partnership).map_err(|r| PageError::Forbidden(r.0))?;
    let editing = Some((id.to_string(), activity.title.to_string()));
    Context { state: &state, viewer: &viewer }
        .render(StatusCode::OK, editing, activity.version, Values::from_activity(&activity), Vec::new(), None)
        .await
}

pub async fn update(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(raw): Path<String>,
    form: FormData,
) -> PageResult {
    let id = activity_id(&raw)?;
    let here = format!("/activities/{id}");
    let principal = crate::csrf::check(&viewer, &form, &format!("{here}/edit"))?;
    let current = state.store.activity(&viewer.scope(), id).await?.ok_or(PageError::NotFound)?;
    may_edit_activity(principal, &current.partnership).map_err(|r| PageError::Forbidden(r.0))?;
    let mut values = Values::from_form(&form);
    values.partnership = current.partnership.to_string();
    let version = form.get("version").and_then(|v| v.parse::<i64>().ok()).unwrap_or(current.version);
    let editing = Some((id.to_string(), current.title.to_string()));
    let context = Context { state: &state, viewer: &viewer };
    let invalid = StatusCode::UNPROCESSABLE_ENTITY;
    let patch = values.patch(&Values::from_activity(&current));
    let changes = match ActivityChanges::validate(patch) {
        Ok(changes) => changes,
        Err(errors) if errors.0.iter().all(|e| e.field == "body") => {
            return Ok(see_other(&format!("{here}?notice=unchanged")));
        }
        Err(errors) => {
            let problem = unplaced(&errors.0);
            return context.render(invalid, editing, version, values, errors.0, problem).await;
        }
    };
    match state.store.update_activity(principal, id, Some(version), changes).await {
        Ok(_) => Ok(see_other(&format!("{here}?notice=saved"))),
        Err(StoreError::Stale { current, .. }) => {
            let problem = format!(
                "Someone else changed this activity while you were editing it (you started from version {version}; \
                 it is now at version {current}). Your changes were NOT saved. The form keeps what you typed: \
                 open the activity in another tab to see the current details, then save again to overwrite them."
            );
            context.render(StatusCode::CONFLICT, editing, current, values, Vec::new(), Some(problem)).await
        }
        Err(StoreError::Invalid(errors)) => {
            let problem = unplaced(&errors.0);
            context.render(invalid, editing, version, values, errors.0, problem).await
        }
        Err(StoreError::Forbidden(reason)) => {
            context.render(StatusCode::FORBIDDEN, editing, version, values, Vec::new(), Some(reason)).await
        }
        Err(other) => Err(other.into()),
    }
}
