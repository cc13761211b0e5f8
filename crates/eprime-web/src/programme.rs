//! A programme's structure with the activities under it: strategic objectives, priority issues
//! with their goals, priority areas — each with how many visible activities support it, by status.

use eprime_domain::{Document, ElementKind, ReadScope};
use eprime_server::AppState;
use eprime_store::{ActivityFilter, ActivityTally, DocumentDetail, PageRequest, StatusCounts, StoreError};

use crate::page::PageError;
use crate::views::ActivityRow;

/// Activities shown on a page at a time; older ones are a link away.
pub const LISTING_PAGE: u32 = 50;

/// `?after=`: the position of a later page of a page's activities.
#[derive(serde::Deserialize)]
pub struct ListPosition {
    pub after: Option<String>,
}

/// One page of the activities matching a filter, newest first: what a programme page lists.
pub struct ActivityListing {
    pub rows: Vec<ActivityRow>,
    /// How many activities match in all (the rows are the first of them, or a later page).
    pub total: u64,
    /// The link to the next page, if there is one.
    pub more: Option<String>,
}

impl ActivityListing {
    /// The page after `after` (a cursor from an earlier page's link), linking on from `base` (a
    /// path that can take `?after=`). A cursor this server did not give out is a bad request.
    pub async fn load(
        state: &AppState,
        scope: &ReadScope,
        filter: &ActivityFilter,
        after: Option<String>,
        total: u64,
        base: &str,
    ) -> Result<Self, PageError> {
        let page = PageRequest { limit: LISTING_PAGE, after };
        let result =
            state.activity_views.page(state.store.as_ref(), scope, filter, &page).await.map_err(
                |error| match error {
                    StoreError::Invalid(_) => {
                        PageError::BadRequest("That list position is not one this server gave out.".into())
                    }
                    other => other.into(),
                },
            )?;
        let more = result.next_cursor.map(|cursor| {
            let encoded: String = form_urlencoded::byte_serialize(cursor.as_bytes()).collect();
            format!("{base}?after={encoded}#activities")
        });
        Ok(Self { rows: result.items.iter().map(|kept| ActivityRow::from(&kept.record)).collect(), total, more })
    }
}

/// One element of the tree.
pub struct Node {
    pub id: String,
    pub code: String,
    pub title: String,
    /// Visible activities supporting it (for an issue: it or any of its goals).
    pub count: usize,
    /// The same, per status in `ActivityStatus::ALL` order.
    pub by_status: [usize; 7],
}

impl Node {
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

pub struct IssueNode {
    pub issue: Node,
    pub goals: Vec<Node>,
}

pub struct Tree {
    pub objectives: Vec<Node>,
    pub issues: Vec<IssueNode>,
    /// Goals not under any priority issue.
    pub loose_goals: Vec<Node>,
    pub areas: Vec<Node>,
}

impl Tree {
    /// The tree of `detail` with the counts of `tally` (the visible activities under the document,
    /// counted by the store): a goal, area or objective by the activities supporting it, a priority
    /// issue by those supporting it or any of its goals, each once.
    pub fn build(detail: &DocumentDetail, tally: &ActivityTally) -> Self {
        let node = |counts: Option<&StatusCounts>, e: &eprime_domain::Element| {
            let by_status = counts.map_or([0; 7], |c| c.map(|n| usize::try_from(n).unwrap_or(usize::MAX)));
            Node {
                id: e.id.to_string(),
                code: e.code.clone(),
                title: e.title.to_string(),
                count: by_status.iter().sum(),
                by_status,
            }
        };
        let own = |e: &eprime_domain::Element| node(tally.by_element.get(&e.id), e);
        let of = |kind| detail.elements_of(kind).map(own).collect::<Vec<_>>();
        let issues = detail
            .elements_of(ElementKind::PriorityIssue)
            .map(|issue| IssueNode {
                issue: node(tally.by_branch.get(&issue.id), issue),
                goals: detail
                    .elements_of(ElementKind::PartnershipGoal)
                    .filter(|g| g.parent == Some(issue.id))
                    .map(own)
                    .collect(),
            })
            .collect();
        let loose_goals =
            detail.elements_of(ElementKind::PartnershipGoal).filter(|g| g.parent.is_none()).map(own).collect();
        Self {
            objectives: of(ElementKind::StrategicObjective),
            issues,
            loose_goals,
            areas: of(ElementKind::PriorityArea),
        }
    }

    pub fn empty() -> Self {
        Self { objectives: vec![], issues: vec![], loose_goals: vec![], areas: vec![] }
    }

    /// The themes activities are counted against: goals if any, else priority areas, else objectives.
    pub fn themes(&self) -> Vec<&Node> {
        let goals: Vec<&Node> = self.issues.iter().flat_map(|i| i.goals.iter()).chain(&self.loose_goals).collect();
        if !goals.is_empty() {
            goals
        } else if !self.areas.is_empty() {
            self.areas.iter().collect()
        } else {
            self.objectives.iter().collect()
        }
    }

    /// Themes no visible activity supports yet.
    pub fn uncovered(&self) -> usize {
        self.themes().iter().filter(|n| n.is_empty()).count()
    }
}

/// Whether a document is a programme cycle (IPCP, ITPP, IPAP, ANP): not a declaration, not a source.
pub fn is_cycle(kind: eprime_domain::DocumentKind) -> bool {
    kind.is_programme() && kind != eprime_domain::DocumentKind::Other
}

/// The programme a partnership works under now: the latest programme document that is not
/// superseded (else the latest programme at all).
pub fn current_programme(documents: &[Document]) -> Option<&Document> {
    let programmes = || documents.iter().filter(|d| is_cycle(d.kind));
    let key = |d: &&Document| d.period_from.or(d.signed_on).or(d.published_on);
    programmes()
        .filter(|d| d.status != eprime_domain::DocumentStatus::Superseded)
        .max_by_key(key)
        .or_else(|| programmes().max_by_key(key))
}

/// Documents in time order: declaration, then programmes by date.
pub fn in_time_order(documents: &mut [Document]) {
    documents.sort_by_key(|d| (d.signed_on.or(d.published_on).or(d.period_from), d.kind.as_str().to_owned()));
}
