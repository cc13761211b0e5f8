//! [`MenuStore`] on SQLite: the trait's methods, each handed to the module that does the work.

use async_trait::async_trait;
use eprime_domain::menu::{
    Attendance, Decision, NewNomination, NewOffering, Nomination, Offering, OfferingStatus, OverdueRules, Ratings,
};
use eprime_domain::{ActivityId, ElementId, NominationId, OfferingId, Principal, ReadScope, Text, TokenId, UserId};
use eprime_store::{
    CalendarFeed, MenuStore, NominationFilter, OfferingFilter, Page, PageRequest, Participation, Result,
};
use time::Date;

use crate::{SqliteStore, calendar_feeds, nominations, offerings, overdue};

#[async_trait]
impl MenuStore for SqliteStore {
    async fn create_offering(&self, actor: &Principal, new: NewOffering) -> Result<Offering> {
        offerings::create(self, actor, new).await
    }

    async fn update_offering(
        &self,
        actor: &Principal,
        id: OfferingId,
        expected_version: Option<i64>,
        new: NewOffering,
    ) -> Result<Offering> {
        offerings::update(self, actor, id, expected_version, new).await
    }

    async fn offering(&self, scope: &ReadScope, id: OfferingId) -> Result<Option<Offering>> {
        offerings::fetch(&self.reader, scope, id).await
    }

    async fn offering_versions(&self, scope: &ReadScope, ids: &[OfferingId]) -> Result<Vec<(OfferingId, i64)>> {
        offerings::versions(self, scope, ids).await
    }

    async fn offerings_by_ids(&self, scope: &ReadScope, ids: &[OfferingId]) -> Result<Vec<Offering>> {
        offerings::by_ids(self, scope, ids).await
    }

    async fn list_offerings(
        &self,
        scope: &ReadScope,
        filter: &OfferingFilter,
        page: &PageRequest,
    ) -> Result<Page<Offering>> {
        offerings::list(self, scope, filter, page).await
    }

    async fn transition_offering(
        &self,
        actor: &Principal,
        id: OfferingId,
        expected_version: Option<i64>,
        to: OfferingStatus,
        reason: Option<String>,
    ) -> Result<Offering> {
        offerings::transition(self, actor, id, expected_version, to, reason).await
    }

    async fn file_report(
        &self,
        actor: &Principal,
        id: OfferingId,
        expected_version: Option<i64>,
        summary: Text,
        lessons: Text,
    ) -> Result<Offering> {
        offerings::file_report(self, actor, id, expected_version, summary, lessons).await
    }

    async fn nominate(&self, actor: &Principal, new: NewNomination, today: Date) -> Result<Nomination> {
        nominations::nominate(self, actor, new, today).await
    }

    async fn list_nominations(&self, scope: &ReadScope, offering: OfferingId) -> Result<Option<Vec<Nomination>>> {
        nominations::list(self, scope, offering).await
    }

    async fn nomination(&self, scope: &ReadScope, id: NominationId) -> Result<Option<Nomination>> {
        nominations::get(self, scope, id).await
    }

    async fn find_nominations(
        &self,
        scope: &ReadScope,
        filter: &NominationFilter,
        limit: u32,
    ) -> Result<Vec<Nomination>> {
        nominations::find(self, scope, filter, limit).await
    }

    async fn nominations_of(&self, email: &str) -> Result<Vec<Nomination>> {
        nominations::of_email(self, email).await
    }

    async fn decide_nomination(
        &self,
        actor: &Principal,
        id: NominationId,
        expected_version: Option<i64>,
        decision: Decision,
    ) -> Result<Nomination> {
        nominations::decide(self, actor, id, expected_version, decision).await
    }

    async fn record_overdue(&self, rules: &OverdueRules, today: Date, limit: u32) -> Result<usize> {
        overdue::record(self, rules, today, limit).await
    }

    async fn record_attendance(
        &self,
        actor: &Principal,
        id: NominationId,
        attendance: Attendance,
    ) -> Result<Nomination> {
        nominations::record_attendance(self, actor, id, attendance).await
    }

    async fn give_feedback(
        &self,
        actor: &Principal,
        id: NominationId,
        ratings: Ratings,
        comments: Text,
    ) -> Result<Nomination> {
        nominations::give_feedback(self, actor, id, ratings, comments).await
    }

    async fn activity_participation(&self, scope: &ReadScope, id: ActivityId) -> Result<Option<Participation>> {
        nominations::activity_participation(self, scope, id).await
    }

    async fn element_participation(&self, scope: &ReadScope, id: ElementId) -> Result<Option<Participation>> {
        nominations::element_participation(self, scope, id).await
    }

    async fn create_calendar_feed(&self, user_id: UserId, name: &str, token_hash: &str) -> Result<CalendarFeed> {
        calendar_feeds::create(self, user_id, name, token_hash).await
    }

    async fn list_calendar_feeds(&self, user_id: UserId) -> Result<Vec<CalendarFeed>> {
        calendar_feeds::list(self, user_id).await
    }

    async fn revoke_calendar_feed(&self, user_id: UserId, id: TokenId) -> Result<bool> {
        calendar_feeds::revoke(self, user_id, id).await
    }

    async fn calendar_feed_principal(&self, token_hash: &str) -> Result<Option<Principal>> {
        calendar_feeds::principal(self, token_hash).await
    }
}
