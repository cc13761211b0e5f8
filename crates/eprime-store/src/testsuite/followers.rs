//! What every store must show its change log's followers (the notifier, the menu index, webhooks, the
//! live stream): each write that logs a change wakes them when it commits, whichever kind of record it
//! is about, so what it logged is notified, indexed and streamed at once rather than at a follower's
//! timeout.

use std::future::Future;
use std::time::Duration;

use eprime_domain::menu::{Attendance, Decision, Eligibility, NewNomination, OfferingStatus, OverdueRules, Ratings};
use eprime_domain::{
    ActivityChanges, ActivityStatus, Approval, Approver, Area, AreaCode, Framework, Marking, OrgKind, Organisation,
    Principal, Role, RoleBinding, SubjectKind, Text, Title,
};
use time::macros::date;

use super::menu::{TODAY, japan, new_offering, nominee, provider};
use super::webhooks::{jpn_admin, new_webhook};
use super::{code, fixture, new_activity, new_itpp, org, principal, staff};
use crate::{ChangeFilter, DynStore, NewComment, NewPartnership, NewUser, Operation, SecurityEvent, WebhookChanges};

/// A follower's own timeout while it waits: far longer than any commit takes, so a follower that
/// wakes within [`WOKEN_WITHIN`] was woken by the commit.
const FOLLOWER_TIMEOUT: Duration = Duration::from_secs(30);
const WOKEN_WITHIN: Duration = Duration::from_secs(10);

/// Runs `write` while a follower waits for the log to move past its newest entry, and checks that the
/// write logged a change and that its commit woke the follower. Returns what the write returned.
async fn woken_by<T>(store: &DynStore, what: &str, write: impl Future<Output = T>) -> T {
    let start = store.last_change_seq().await.unwrap();
    let follower = {
        let store = store.clone();
        tokio::spawn(async move { store.wait_for_changes(start, FOLLOWER_TIMEOUT).await })
    };
    // The follower looks at the log before it waits, and would find an entry committed before it
    // looked without being woken: let it settle into waiting first.
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(!follower.is_finished(), "{what}: the follower waits before the write");
    let done = write.await;
    tokio::time::timeout(WOKEN_WITHIN, follower)
        .await
        .unwrap_or_else(|_| panic!("{what}: the follower was not woken by the commit"))
        .unwrap();
    assert!(store.last_change_seq().await.unwrap() > start, "{what}: logged a change");
    done
}

pub(super) async fn every_logged_write_wakes_the_followers_of_the_change_log(store: DynStore) {
    let (jpn_goal, _) = fixture(&store).await;
    let s = &store;
    let actor = staff();

    // The partnerships and their programmes.
    let italy =
        Organisation { code: org("ITA"), name: Title::parse("Italy").unwrap(), kind: OrgKind::Ally, country: None };
    woken_by(s, "an organisation", s.upsert_organisation(&actor, &italy)).await.unwrap();
    let area = Area { code: AreaCode::parse("MAR").unwrap(), title: Title::parse("Maritime security").unwrap() };
    woken_by(s, "an area", s.upsert_area(&actor, &area)).await.unwrap();
    let australia = NewPartnership {
        partner: code("AUS"),
        name: Title::parse("Australia").unwrap(),
        framework: Framework::PartnersAcrossTheGlobe,
        since: "2005".into(),
        summary: Text::default(),
        marking: Marking::releasable_to([org("ALLIES")]),
    };
    woken_by(s, "a partnership", s.create_partnership(&actor, australia)).await.unwrap();
    let programme = new_itpp("AUS", vec![]);
    let programme = woken_by(s, "a document", s.create_document(&actor, programme)).await.unwrap();
    let approval = Approval { by: Approver::Nac, on: Some(date!(2023 - 07 - 01)) };
    woken_by(s, "a document's approval", s.approve_document(&actor, programme.document.id, None, approval))
        .await
        .unwrap();

    // Activities (on SQLite, through the group commit).
    let activity =
        woken_by(s, "an activity", s.create_activity(&actor, new_activity("JPN", "Talks", Marking::public())))
            .await
            .unwrap();
    let changes = ActivityChanges { supports: Some(vec![jpn_goal]), ..Default::default() };
    woken_by(s, "an activity's update", s.update_activity(&actor, activity.id, Some(1), changes)).await.unwrap();
    let approved = s.transition_activity(&actor, activity.id, None, ActivityStatus::Approved, None);
    woken_by(s, "an activity's transition", approved).await.unwrap();

    // Accounts and their security events.
    let binding = RoleBinding::new(Role::PartnerOfficer, Some(code("JPN")), None).unwrap();
    let user = NewUser { username: "jpn.desk".into(), display_name: "Desk".into(), binding, password_hash: "x".into() };
    woken_by(s, "an account", s.create_user(Some(&actor), user)).await.unwrap();
    woken_by(s, "a new password", s.set_user_password(Some(&actor), "jpn.desk", "y".into())).await.unwrap();
    woken_by(s, "a disabled account", s.set_user_disabled(Some(&actor), "jpn.desk", true)).await.unwrap();
    let sign_in = SecurityEvent {
        operation: Operation::SignIn,
        username: "nato.staff".into(),
        partner: None,
        actor: None,
        details: serde_json::json!({"address": "127.0.0.1"}),
    };
    woken_by(s, "a security event", s.record_security_event(sign_in)).await.unwrap();

    // Discussions.
    let post = NewComment {
        subject: SubjectKind::Activity,
        subject_id: activity.id.to_string(),
        body: "Agreed.".into(),
        marking: None,
    };
    let comment = woken_by(s, "a comment", s.create_comment(&actor, post)).await.unwrap();
    woken_by(s, "a comment's edit", s.edit_comment(&actor, comment.id, None, "Agreed, with changes.".into()))
        .await
        .unwrap();
    woken_by(s, "a comment's deletion", s.delete_comment(&actor, comment.id)).await.unwrap();

    // Webhooks.
    let admin = jpn_admin();
    let hook =
        woken_by(s, "a webhook", s.create_webhook(&admin, new_webhook("JPN", ChangeFilter::default()))).await.unwrap();
    let pause = WebhookChanges { active: Some(false), ..Default::default() };
    woken_by(s, "a webhook's update", s.update_webhook(&admin, hook.id, None, pause)).await.unwrap();
    woken_by(s, "a webhook's deletion", s.delete_webhook(&admin, hook.id)).await.unwrap();

    // The menu, from an offering's draft to its report.
    let draft = new_offering("CYD-NDC-70", 10, 2, Eligibility::AllPartners);
    let offering = woken_by(s, "an offering", s.create_offering(&provider(), draft.clone())).await.unwrap();
    let renamed = eprime_domain::menu::NewOffering { fees: "EUR 100".into(), ..draft };
    woken_by(s, "an offering's update", s.update_offering(&provider(), offering.id, None, renamed)).await.unwrap();
    for (who, to) in [
        (provider(), OfferingStatus::Submitted),
        (staff(), OfferingStatus::Approved),
        (provider(), OfferingStatus::Published),
    ] {
        let step = s.transition_offering(&who, offering.id, None, to, None);
        woken_by(s, &format!("an offering {to:?}"), step).await.unwrap();
    }
    let new = NewNomination { offering: offering.id, ..nominee(1) };
    let nomination = woken_by(s, "a nomination", s.nominate(&japan(), new, TODAY)).await.unwrap();
    woken_by(s, "a nomination's decision", s.decide_nomination(&provider(), nomination.id, None, Decision::Accept))
        .await
        .unwrap();
    s.transition_offering(&provider(), offering.id, None, OfferingStatus::Closed, None).await.unwrap();
    woken_by(s, "attendance", s.record_attendance(&provider(), nomination.id, Attendance::Attended)).await.unwrap();
    s.transition_offering(&provider(), offering.id, None, OfferingStatus::Held, None).await.unwrap();
    // The event ended on 8 May; its feedback was due 14 days later.
    let overdue =
        woken_by(s, "an overdue notice", s.record_overdue(&OverdueRules::default(), date!(2026 - 05 - 23), 10))
            .await
            .unwrap();
    assert_eq!(overdue, 1, "the attended participant's feedback");
    let participant = Principal { username: "p1@example.jp".into(), ..principal(Role::Participant, None, None) };
    let ratings = Ratings { overall: 5, content: 4, organisation: 5, relevance: 4 };
    woken_by(s, "feedback", s.give_feedback(&participant, nomination.id, ratings, Text::default())).await.unwrap();
    let ndc = provider();
    let report = s.file_report(&ndc, offering.id, None, Text::parse("Held.").unwrap(), Text::default());
    woken_by(s, "a report", report).await.unwrap();
}
