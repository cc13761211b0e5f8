//! A programme's structure with the activities under it: strategic objectives, priority issues
//! with their goals, priority areas — each with how many visible activities support it, by status.

use std::collections::HashSet;

use eprime_domain::{Activity, ActivityStatus, Document, ElementId, ElementKind, ReadScope};
use eprime_store::{ActivityFilter, DocumentDetail, PageRequest, Store, StoreError};

/// At most this many activities are read for one page's counts and charts.
const MAX_ACTIVITIES: usize = 5_000;

/// Every activity matching `filter` that `scope` may see, following the cursor.
pub async fn activities(
    store: &dyn Store,
    scope: &ReadScope,
    filter: &ActivityFilter,
) -> Result<Vec<Activity>, StoreError> {
    let mut items = Vec::new();
    let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
    loop {
        let result = store.list_activities(scope, filter, &page).await?;
        items.extend(result.items);
        match result.next_cursor {
            Some(cursor) if items.len() < MAX_ACTIVITIES => page.after = Some(cursor),
            _ => return Ok(items),
        }
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
    pub fn build(detail: &DocumentDetail, activities: &[Activity]) -> Self {
        let node = |ids: &[ElementId], e: &eprime_domain::Element| {
            let supporting: Vec<&Activity> =
                activities.iter().filter(|a| a.supports.iter().any(|s| ids.contains(s))).collect();
            let mut by_status = [0; 7];
            for activity in &supporting {
                by_status[status_index(activity.status)] += 1;
            }
            let distinct: HashSet<_> = supporting.iter().map(|a| a.id).collect();
            Node {
                id: e.id.to_string(),
                code: e.code.clone(),
                title: e.title.to_string(),
                count: distinct.len(),
                by_status,
            }
        };
        let of = |kind| detail.elements_of(kind).map(|e| node(&[e.id], e)).collect::<Vec<_>>();
        let issues = detail
            .elements_of(ElementKind::PriorityIssue)
            .map(|issue| {
                let goals: Vec<_> =
                    detail.elements_of(ElementKind::PartnershipGoal).filter(|g| g.parent == Some(issue.id)).collect();
                let mut ids: Vec<ElementId> = goals.iter().map(|g| g.id).collect();
                ids.push(issue.id);
                IssueNode { issue: node(&ids, issue), goals: goals.into_iter().map(|g| node(&[g.id], g)).collect() }
            })
            .collect();
        let loose_goals = detail
            .elements_of(ElementKind::PartnershipGoal)
            .filter(|g| g.parent.is_none())
            .map(|g| node(&[g.id], g))
            .collect();
        Self {
            objectives: of(ElementKind::StrategicObjective),
            issues,
            loose_goals,
            areas: of(ElementKind::PriorityArea),
        }
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

pub fn status_index(status: ActivityStatus) -> usize {
    ActivityStatus::ALL.iter().position(|s| *s == status).unwrap_or(0)
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
