//! `/goals/{id}`: a partnership goal (or priority area, issue, objective) with the activities
//! supporting it.

use askama::Template;
use axum::extract::{Path, Query, State};
use eprime_domain::access::may_edit_activity;
use eprime_domain::{ElementId, ElementKind};
use eprime_server::AppState;
use eprime_store::{ActivityFilter, EntityType};

use crate::page::{PageError, PageResult, render};
use crate::pages::inbox::{WatchButton, watch_button};
use crate::programme::{ActivityListing, ListPosition};
use crate::session::Viewer;
use crate::views::Chrome;

#[derive(Template)]
#[template(path = "goal.html")]
struct GoalPage {
    chrome: Chrome,
    id: String,
    kind: &'static str,
    code: String,
    title: String,
    text: String,
    partnership: String,
    document_id: String,
    document_title: String,
    parent: Option<(String, String)>,
    listing: ActivityListing,
    may_create: bool,
    watch: Option<WatchButton>,
}

fn kind_label(kind: ElementKind) -> &'static str {
    match kind {
        ElementKind::StrategicObjective => "Strategic objective",
        ElementKind::PriorityIssue => "Priority issue",
        ElementKind::PartnershipGoal => "Partnership goal",
        ElementKind::PriorityArea => "Priority area",
    }
}

pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(raw): Path<String>,
    Query(position): Query<ListPosition>,
) -> PageResult {
    let id: ElementId = raw.parse().map_err(|_| PageError::NotFound)?;
    let scope = viewer.scope();
    let store = state.store.as_ref();
    let element = store.element(&scope, id).await?.ok_or(PageError::NotFound)?;
    let document = store.document(&scope, element.document).await?.ok_or(PageError::NotFound)?.document;
    let parent = match element.parent {
        Some(pid) => store.element(&scope, pid).await?.map(|p| (p.code.clone(), p.title.to_string())),
        None => None,
    };
    let filter = ActivityFilter { element: Some(id), ..Default::default() };
    let total = store.count_activities(&scope, &filter).await?;
    let listing =
        ActivityListing::load(&state, &scope, &filter, position.after, total, &format!("/goals/{id}")).await?;
    let may_create = viewer.principal().is_some_and(|v| may_edit_activity(v, &document.partnership).is_ok());
    let watch = watch_button(&state, &viewer, EntityType::Element, &id.to_string(), format!("/goals/{id}")).await?;
    Ok(render(&GoalPage {
        chrome: Chrome::new(&viewer, "partnership"),
        id: id.to_string(),
        kind: kind_label(element.kind),
        code: element.code.clone(),
        title: element.title.to_string(),
        text: element.text.to_string(),
        partnership: document.partnership.to_string(),
        document_id: document.id.to_string(),
        document_title: document.title.to_string(),
        parent,
        listing,
        may_create,
        watch,
    }))
}
