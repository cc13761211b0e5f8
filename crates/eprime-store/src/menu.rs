//! The menu part of the storage interface: offerings, nominations, attendance, feedback and
//! reports. Same two rules as the rest of [`crate::Store`]: every read takes a scope, every
//! write an actor, one transaction and a change-log entry.
//!
//! Seats and quotas are counted inside the nomination's write transaction, after the offering
//! row is locked (PostgreSQL) or the write lock is held (SQLite), so concurrent nominations —
//! through one instance or several — cannot overbook.

use async_trait::async_trait;
use eprime_domain::menu::{
    Attendance, Decision, NewNomination, NewOffering, Nomination, NominationStatus, Offering, OfferingStatus,
    OverdueRules, Ratings,
};
use eprime_domain::{
    ActivityId, ElementId, NominationId, OfferingId, PartnerCode, Principal, ReadScope, Text, TokenId, UserId,
};
use serde::Serialize;
use time::Date;

use crate::{Page, PageRequest, Result};

/// Which offerings to list (the menu's search goes through the search index; this is for the
/// index's own rebuild, providers' work lists and calendars).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OfferingFilter {
    pub provider: Option<eprime_domain::OrgCode>,
    pub status: Option<OfferingStatus>,
    /// Offerings for which this nation has open nominations.
    pub nominated_by: Option<PartnerCode>,
    /// Offerings whose last session ends on or after this day (under way or to come).
    pub ends_after: Option<Date>,
    /// Offerings whose first session starts on or after this day (to come).
    pub starts_on_or_after: Option<Date>,
    /// Offerings whose after-action report is overdue: still in one of
    /// `OverdueRules::REPORT_PENDING`, no report, and a last day before this day (give
    /// `OverdueRules::report_cutoff(today)`).
    pub report_missing_before: Option<Date>,
    /// Offerings open for nominations on this day: published, with a nomination deadline on or
    /// after it.
    pub nominations_open_on: Option<Date>,
}

impl OfferingFilter {
    /// The sort key (`first day|id`, the offerings' list order) a listing reads after: the page's
    /// cursor or, when the first day is filtered, the bare day if that sorts later. A key `day|…`
    /// sorts after `day` itself and before every later day's keys, so reading after `day` reads the
    /// offerings starting on or after it, from there along the index rather than from the first.
    pub fn sort_key_floor(&self, cursor: Option<String>) -> Option<String> {
        let day = self.starts_on_or_after.map(|d| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()));
        cursor.into_iter().chain(day).max()
    }
}

/// Which nominations to find across offerings: the work lists of the home page (nominations a
/// provider must decide on, a nation's nominations in progress, overdue feedback). Every
/// condition given must hold; the reader's scope decides which nominations, and offerings, it
/// may see. Results come by the event's first day, then the order of nomination.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NominationFilter {
    /// Nominations to offerings of this provider.
    pub provider: Option<eprime_domain::OrgCode>,
    /// Nominations by this nation.
    pub nation: Option<PartnerCode>,
    /// Nominations in one of these statuses; any status when empty.
    pub statuses: Vec<NominationStatus>,
    /// Nominations to events whose last day is on or after this day.
    pub ends_after: Option<Date>,
    /// Nominations whose feedback is overdue: the participant attended, gave no feedback, and
    /// the event's last day is before this day (give `OverdueRules::feedback_cutoff(today)`).
    pub feedback_missing_before: Option<Date>,
}

/// A calendar feed: a secret URL a calendar application polls for a user's menu events and
/// deadlines. Its token reads that one feed and nothing else, and is revoked by its owner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct CalendarFeed {
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = Uuid))]
    pub id: TokenId,
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = DateTime))]
    pub created_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, format = DateTime))]
    pub revoked_at: Option<time::OffsetDateTime>,
}

/// Nominations, attendance and feedback rolled up to a cooperation activity or a goal.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Participation {
    /// Menu events linked (one for an activity; all those of its activities for a goal).
    pub events: u32,
    pub nominated: u32,
    pub accepted: u32,
    pub waitlisted: u32,
    pub attended: u32,
    pub feedback_given: u32,
    /// Mean overall rating of the feedback given, 1–5.
    pub average_rating: Option<f64>,
}

#[async_trait]
pub trait MenuStore: Send + Sync + 'static {
    /// Stores a new offering (a provider's own, or one NATO staff enter for a provider).
    async fn create_offering(&self, actor: &Principal, new: NewOffering) -> Result<Offering>;
    /// Replaces a draft's content (its provider and status stay).
    async fn update_offering(
        &self,
        actor: &Principal,
        id: OfferingId,
        expected_version: Option<i64>,
        new: NewOffering,
    ) -> Result<Offering>;
    async fn offering(&self, scope: &ReadScope, id: OfferingId) -> Result<Option<Offering>>;
    /// The visible offerings among `ids`, in the order of `ids` (search hits keep their rank).
    async fn offerings_by_ids(&self, scope: &ReadScope, ids: &[OfferingId]) -> Result<Vec<Offering>>;
    /// The current version of each visible offering among `ids`, in the order of `ids`: what a reader
    /// that keeps offerings by (id, version) needs to know which it may show and whether what it keeps
    /// is current, without reading the records.
    async fn offering_versions(&self, scope: &ReadScope, ids: &[OfferingId]) -> Result<Vec<(OfferingId, i64)>>;
    /// Offerings by first day, then id; the cursor is opaque.
    async fn list_offerings(
        &self,
        scope: &ReadScope,
        filter: &OfferingFilter,
        page: &PageRequest,
    ) -> Result<Page<Offering>>;
    async fn transition_offering(
        &self,
        actor: &Principal,
        id: OfferingId,
        expected_version: Option<i64>,
        to: OfferingStatus,
        reason: Option<String>,
    ) -> Result<Offering>;
    /// Files the after-action report of a held event; it becomes `reported`.
    async fn file_report(
        &self,
        actor: &Principal,
        id: OfferingId,
        expected_version: Option<i64>,
        summary: Text,
        lessons: Text,
    ) -> Result<Offering>;

    /// Records a nomination if the offering is open, the nation eligible and within its quota, and
    /// the participant meets the prerequisites; `today` decides the deadline.
    async fn nominate(&self, actor: &Principal, new: NewNomination, today: Date) -> Result<Nomination>;
    /// The nominations of an offering that `scope` may see (a nation sees its own, the provider
    /// all); `None` when the offering is not visible.
    async fn list_nominations(&self, scope: &ReadScope, offering: OfferingId) -> Result<Option<Vec<Nomination>>>;
    async fn nomination(&self, scope: &ReadScope, id: NominationId) -> Result<Option<Nomination>>;
    /// Up to `limit` (at most [`PageRequest::MAX_LIMIT`]) nominations matching `filter` whose
    /// nomination and offering `scope` may both see, by the event's first day. One statement,
    /// driven by the filter's indexed columns, however many nominations there are.
    async fn find_nominations(
        &self,
        scope: &ReadScope,
        filter: &NominationFilter,
        limit: u32,
    ) -> Result<Vec<Nomination>>;
    /// A participant's own nominations, found by the e-mail their account is named by.
    async fn nominations_of(&self, email: &str) -> Result<Vec<Nomination>>;
    /// Accepts, waitlists, rejects or withdraws; a freed seat goes to the first on the waiting list
    /// in the same transaction.
    async fn decide_nomination(
        &self,
        actor: &Principal,
        id: NominationId,
        expected_version: Option<i64>,
        decision: Decision,
    ) -> Result<Nomination>;
    async fn record_attendance(
        &self,
        actor: &Principal,
        id: NominationId,
        attendance: Attendance,
    ) -> Result<Nomination>;
    async fn give_feedback(
        &self,
        actor: &Principal,
        id: NominationId,
        ratings: Ratings,
        comments: Text,
    ) -> Result<Nomination>;

    /// Records, once per item, what has become overdue by `today` under `rules` and was not yet
    /// recorded: each attended participant's missing feedback (a change `overdue` of the
    /// nomination) and each missing after-action report (a change `overdue` of the offering),
    /// logged by the system so the notifier tells those who owe it. At most `limit` items per
    /// call, each in its own transaction; an item is never recorded twice, across restarts and
    /// several instances. Whether an item is overdue is the domain's rule
    /// ([`OverdueRules`]); the store only narrows the candidates. Returns how many were recorded.
    async fn record_overdue(&self, rules: &OverdueRules, today: Date, limit: u32) -> Result<usize>;

    /// Nominations of the activity's nation to the menu event it is linked to; `None` when the
    /// activity is not visible.
    async fn activity_participation(&self, scope: &ReadScope, id: ActivityId) -> Result<Option<Participation>>;
    /// The same, summed over the activities that support a goal (or other element).
    async fn element_participation(&self, scope: &ReadScope, id: ElementId) -> Result<Option<Participation>>;

    /// Records a calendar feed of `user_id` whose secret token hashes to `token_hash`.
    async fn create_calendar_feed(&self, user_id: UserId, name: &str, token_hash: &str) -> Result<CalendarFeed>;
    /// A user's calendar feeds, newest first, revoked ones included.
    async fn list_calendar_feeds(&self, user_id: UserId) -> Result<Vec<CalendarFeed>>;
    /// Revokes one of a user's feeds; false when it has no such live feed.
    async fn revoke_calendar_feed(&self, user_id: UserId, id: TokenId) -> Result<bool>;
    /// The owner of a live feed token (an enabled account), as whom the feed is read.
    async fn calendar_feed_principal(&self, token_hash: &str) -> Result<Option<Principal>>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn a_listing_reads_from_the_later_of_its_cursor_and_its_first_day() {
        let from = |day| OfferingFilter { starts_on_or_after: day, ..Default::default() };
        let key = |s: &str| Some(s.to_owned());
        let id = "0196a1b2-0000-7000-8000-000000000000";
        assert_eq!(from(None).sort_key_floor(None), None, "from the first offering");
        assert_eq!(from(None).sort_key_floor(key(&format!("2026-05-04|{id}"))), key(&format!("2026-05-04|{id}")));
        assert_eq!(from(Some(date!(2026 - 05 - 10))).sort_key_floor(None), key("2026-05-10"));
        assert_eq!(
            from(Some(date!(2026 - 05 - 10))).sort_key_floor(key(&format!("2026-05-04|{id}"))),
            key("2026-05-10"),
            "a cursor before the first day does not reach back past it"
        );
        assert_eq!(
            from(Some(date!(2026 - 05 - 10))).sort_key_floor(key(&format!("2026-05-10|{id}"))),
            key(&format!("2026-05-10|{id}")),
            "a cursor on or after it goes on from the cursor"
        );
        // The bare day sorts between the day before's keys and its own.
        assert!(
            format!("2026-05-09|{id}").as_str() < "2026-05-10" && "2026-05-10" < format!("2026-05-10|{id}").as_str()
        );
        assert_eq!(from(Some(date!(0987 - 01 - 02))).sort_key_floor(None), key("0987-01-02"), "years in four digits");
    }
}
