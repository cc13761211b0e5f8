//! The behaviour every [`Store`] implementation must show. Each implementation's tests call
//! [`run_all`] with a function that makes a fresh, empty store; every case gets its own.

use std::future::Future;

use eprime_domain::{
    ActivityChanges, ActivityKind, ActivityStatus, Approval, Approver, Area, AreaCode, Caller, DocumentKind,
    DocumentStatus, Edition, ElementKind, Framework, Marking, NewActivity, NewDocument, NewElement, OrgCode, OrgKind,
    Organisation, PartnerCode, Principal, ReadScope, Role, RoleBinding, Text, Title, TransitionError, UserId,
};
use time::macros::date;

use crate::{ActivityFilter, DynStore, EntityType, NewPartnership, NewUser, PageRequest, SessionRecord, StoreError};

/// The menu in the real-time exchange: discussions, watches, overdue notices (`testsuite/exchange.rs`).
mod exchange;
/// Every logged write wakes the change log's followers (`testsuite/followers.rs`).
mod followers;
/// The menu: offerings, nominations, seats and quotas (`testsuite/menu.rs`).
mod menu;
/// Webhooks and their deliveries (`testsuite/webhooks.rs`).
mod webhooks;

/// Runs every case, each on a store of its own.
pub async fn run_all<F, Fut>(make: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = DynStore>,
{
    activities_round_trip_with_versions(make().await).await;
    a_stale_write_changes_nothing(make().await).await;
    a_failed_write_leaves_no_trace(make().await).await;
    transitions_follow_the_lifecycle(make().await).await;
    reads_apply_the_visibility_rule(make().await).await;
    filters_counts_and_tallies_agree_with_the_rule(make().await).await;
    writes_check_permission_after_visibility(make().await).await;
    pages_cover_every_item_once(make().await).await;
    sessions_end_when_revoked_expired_or_disabled(make().await).await;
    programmes_enter_into_force_on_both_approvals(make().await).await;
    tokens_are_listed_and_revoked_by_their_owner(make().await).await;
    the_audit_log_holds_changes_and_security_events_within_scope(make().await).await;
    the_change_log_is_followed_in_order(make().await).await;
    followers::every_logged_write_wakes_the_followers_of_the_change_log(make().await).await;
    discussions_follow_the_visibility_of_their_subject(make().await).await;
    watchers_and_mentioned_users_are_notified_once(make().await).await;
    notifiers_running_at_once_notify_once(make().await).await;
    watched_records_are_listed_only_while_visible(make().await).await;
    webhooks::webhooks_are_managed_within_scope_and_logged_without_secrets(make().await).await;
    webhooks::deliveries_carry_what_the_organisation_may_see_and_are_retried_and_redelivered(make().await).await;
    menu::an_offering_is_seen_by_eligible_partners_only_once_published(make().await).await;
    menu::the_nomination_loop_keeps_seats_quotas_and_the_waiting_list(make().await).await;
    menu::concurrent_nominations_take_exactly_the_quota(make().await).await;
    menu::refused_menu_steps_change_nothing(make().await).await;
    menu::participation_rolls_up_to_the_activity_and_its_goal(make().await).await;
    menu::work_lists_find_nominations_within_scope(make().await).await;
    menu::overdue_lists_match_the_overdue_rules(make().await).await;
    menu::offerings_are_listed_by_their_first_and_last_days(make().await).await;
    exchange::a_menu_event_is_discussed_by_those_who_see_it_each_side_apart(make().await).await;
    exchange::overdue_feedback_and_reports_are_announced_once_to_those_who_owe_them(make().await).await;
}

fn principal(role: Role, partner: Option<&str>, org: Option<&str>) -> Principal {
    Principal {
        user_id: UserId::new(),
        username: format!("{}-{}", role.as_str(), partner.or(org).unwrap_or("nato")),
        binding: RoleBinding::new(
            role,
            partner.map(|p| PartnerCode::parse(p).unwrap()),
            org.map(|o| OrgCode::parse(o).unwrap()),
        )
        .unwrap(),
    }
}

fn staff() -> Principal {
    principal(Role::NatoStaff, None, None)
}

fn code(c: &str) -> PartnerCode {
    PartnerCode::parse(c).unwrap()
}

fn org(c: &str) -> OrgCode {
    OrgCode::parse(c).unwrap()
}

/// Organisations, an area, the JPN and KOR partnerships, and one programme each with a goal.
async fn fixture(store: &DynStore) -> (eprime_domain::ElementId, eprime_domain::ElementId) {
    let actor = staff();
    for (c, kind) in [
        ("NATO", OrgKind::NatoBody),
        ("JPN", OrgKind::Partner),
        ("KOR", OrgKind::Partner),
        ("FRA", OrgKind::Ally),
        ("NDC", OrgKind::Provider),
    ] {
        let organisation = Organisation { code: org(c), name: Title::parse(c).unwrap(), kind, country: None };
        store.upsert_organisation(&actor, &organisation).await.unwrap();
    }
    store
        .upsert_area(
            &actor,
            &Area { code: AreaCode::parse("CYD").unwrap(), title: Title::parse("Cyber defence").unwrap() },
        )
        .await
        .unwrap();
    let mut goals = Vec::new();
    for partner in ["JPN", "KOR"] {
        store
            .create_partnership(
                &actor,
                NewPartnership {
                    partner: code(partner),
                    name: Title::parse(partner).unwrap(),
                    framework: Framework::PartnersAcrossTheGlobe,
                    since: "1990s".into(),
                    summary: Text::default(),
                    marking: Marking::releasable_to([org("ALLIES")]),
                },
            )
            .await
            .unwrap();
        let elements = vec![
            NewElement {
                kind: ElementKind::PriorityIssue,
                code: "a".into(),
                title: Title::parse("Emerging").unwrap(),
                text: Text::default(),
                parent: None,
                source_line: Some(1),
            },
            NewElement {
                kind: ElementKind::PartnershipGoal,
                code: "a.1".into(),
                title: Title::parse("Cyber defence").unwrap(),
                text: Text::default(),
                parent: Some(0),
                source_line: Some(2),
            },
        ];
        let detail = store.create_document(&actor, new_itpp(partner, elements)).await.unwrap();
        goals.push(detail.elements[1].id);
    }
    (goals[0], goals[1])
}

/// A partner's agreed ITPP for 2023–2026, released to the partner, with `elements`.
fn new_itpp(partner: &str, elements: Vec<NewElement>) -> NewDocument {
    NewDocument {
        partnership: code(partner),
        kind: DocumentKind::Itpp,
        title: Title::parse(&format!("{partner} ITPP")).unwrap(),
        edition: Edition::Restricted,
        status: DocumentStatus::Agreed,
        signed_on: None,
        signed_at: None,
        published_on: None,
        period_from: Some(date!(2023 - 01 - 01)),
        period_to: Some(date!(2026 - 12 - 31)),
        signatories: vec![],
        approvals: vec![],
        supersedes: None,
        source: None,
        notes: Text::default(),
        content_hash: Some(format!("hash-{partner}")),
        marking: Marking::releasable_to([org(partner)]),
        elements,
    }
}

fn new_activity(partner: &str, title: &str, marking: Marking) -> NewActivity {
    NewActivity {
        partnership: code(partner),
        title: Title::parse(title).unwrap(),
        kind: ActivityKind::Meeting,
        description: Text::default(),
        starts_on: Some(date!(2026 - 12 - 01)),
        ends_on: Some(date!(2026 - 12 - 02)),
        location: None,
        lead: None,
        participants: vec![],
        supports: vec![],
        areas: vec![],
        outcome: Text::default(),
        source: None,
        offering: None,
        marking,
        status: ActivityStatus::Proposed,
        status_reason: None,
    }
}

async fn activities_round_trip_with_versions(store: DynStore) {
    let (jpn_goal, _) = fixture(&store).await;
    let officer = principal(Role::PartnerOfficer, Some("JPN"), None);
    let mut new = new_activity("JPN", "Staff talks", Marking::releasable_to([org("JPN")]));
    new.supports = vec![jpn_goal];
    new.participants = vec![org("FRA"), org("JPN")];
    new.areas = vec![AreaCode::parse("CYD").unwrap()];
    let created = store.create_activity(&officer, new).await.unwrap();
    assert_eq!(created.version, 1);
    let read = store.activity(&ReadScope::system(), created.id).await.unwrap().expect("created activity is readable");
    assert_eq!(read, created, "what is read back equals what was created");
    let changes = ActivityChanges { title: Some(Title::parse("Staff talks, round 2").unwrap()), ..Default::default() };
    let updated = store.update_activity(&officer, created.id, Some(1), changes).await.unwrap();
    assert_eq!(updated.version, 2);
    assert_eq!(updated.supports, vec![jpn_goal], "untouched lists survive an update");
    let read = store.activity(&ReadScope::system(), created.id).await.unwrap().unwrap();
    assert_eq!(read, updated, "a write returns the record as it is read back (the server keeps it as read)");
    // Every field at once, lists in an order of their own: still exactly what is read back.
    let everything = ActivityChanges {
        title: Some(Title::parse("Staff talks, round 3").unwrap()),
        kind: Some(ActivityKind::Exercise),
        description: Some(Text::parse("Table-top").unwrap()),
        starts_on: Some(Some(date!(2027 - 01 - 10))),
        ends_on: Some(None),
        location: Some(Some("Tokyo".into())),
        lead: Some(Some(org("JPN"))),
        participants: Some(vec![org("NDC"), org("JPN"), org("FRA")]),
        supports: Some(vec![]),
        areas: Some(vec![AreaCode::parse("CYD").unwrap()]),
        outcome: Some(Text::parse("Agreed next steps").unwrap()),
        marking: Some(Marking::releasable_to([org("JPN"), org("FRA")])),
    };
    let updated = store.update_activity(&officer, created.id, Some(2), everything).await.unwrap();
    let read = store.activity(&ReadScope::system(), created.id).await.unwrap().unwrap();
    assert_eq!(read, updated, "every field written is read back as the write returned it");
    let moved = store.transition_activity(&staff(), created.id, Some(3), ActivityStatus::Approved, None).await.unwrap();
    let read = store.activity(&ReadScope::system(), created.id).await.unwrap().unwrap();
    assert_eq!(read, moved, "a transition returns the record as it is read back");
    let history =
        store.history(&ReadScope::system(), EntityType::Activity, &created.id.to_string()).await.unwrap().unwrap();
    assert_eq!(history.len(), 4, "one change-log entry per write");
    assert!(history[0].seq < history[1].seq, "the sequence increases");
    assert_eq!(history[1].actor.as_deref(), Some(officer.username.as_str()));
}

async fn a_stale_write_changes_nothing(store: DynStore) {
    fixture(&store).await;
    let created = store.create_activity(&staff(), new_activity("JPN", "Talks", Marking::public())).await.unwrap();
    let first = ActivityChanges { title: Some(Title::parse("First").unwrap()), ..Default::default() };
    store.update_activity(&staff(), created.id, Some(1), first).await.unwrap();
    let second = ActivityChanges { title: Some(Title::parse("Second").unwrap()), ..Default::default() };
    let error = store.update_activity(&staff(), created.id, Some(1), second).await.unwrap_err();
    assert!(matches!(error, StoreError::Stale { expected: 1, current: 2 }), "{error:?}");
    let now = store.activity(&ReadScope::system(), created.id).await.unwrap().unwrap();
    assert_eq!(now.title.as_str(), "First");
    assert_eq!(now.version, 2);
}

async fn a_failed_write_leaves_no_trace(store: DynStore) {
    fixture(&store).await;
    let mut bad = new_activity("JPN", "Talks", Marking::public());
    bad.participants = vec![org("ZZZ")];
    let error = store.create_activity(&staff(), bad).await.unwrap_err();
    assert!(matches!(&error, StoreError::Invalid(e) if e.0[0].field == "participants[0]"), "{error:?}");
    let count = store.count_activities(&ReadScope::system(), &ActivityFilter::default()).await.unwrap();
    assert_eq!(count, 0, "nothing half-written");
    let unknown = store.create_activity(&staff(), new_activity("AUS", "Talks", Marking::public())).await.unwrap_err();
    assert!(matches!(unknown, StoreError::Invalid(_)), "an unknown partnership is refused");
    // An update checks the references it adds, named by their place in the new list.
    let mut good = new_activity("JPN", "Talks", Marking::public());
    good.participants = vec![org("JPN")];
    let created = store.create_activity(&staff(), good).await.unwrap();
    let adding = ActivityChanges { participants: Some(vec![org("JPN"), org("ZZZ")]), ..Default::default() };
    let error = store.update_activity(&staff(), created.id, Some(1), adding).await.unwrap_err();
    assert!(matches!(&error, StoreError::Invalid(e) if e.0[0].field == "participants[1]"), "{error:?}");
    let now = store.activity(&ReadScope::system(), created.id).await.unwrap().unwrap();
    assert_eq!((now.version, now.participants), (1, vec![org("JPN")]), "the refused update changed nothing");
}

async fn transitions_follow_the_lifecycle(store: DynStore) {
    fixture(&store).await;
    let officer = principal(Role::PartnerOfficer, Some("JPN"), None);
    let created =
        store.create_activity(&officer, new_activity("JPN", "Exercise", Marking::releasable_to([]))).await.unwrap();
    let refused =
        store.transition_activity(&officer, created.id, None, ActivityStatus::Approved, None).await.unwrap_err();
    assert!(matches!(refused, StoreError::Forbidden(_)), "only NATO approves: {refused:?}");
    let approved =
        store.transition_activity(&staff(), created.id, Some(1), ActivityStatus::Approved, None).await.unwrap();
    assert_eq!(approved.status, ActivityStatus::Approved);
    let invalid =
        store.transition_activity(&staff(), created.id, None, ActivityStatus::Completed, None).await.unwrap_err();
    match invalid {
        StoreError::Transition(TransitionError::NotAllowed { allowed, .. }) => {
            assert_eq!(allowed, vec![ActivityStatus::Scheduled, ActivityStatus::Postponed, ActivityStatus::Cancelled])
        }
        other => panic!("expected a refused transition, got {other:?}"),
    }
    let no_reason =
        store.transition_activity(&officer, created.id, None, ActivityStatus::Cancelled, None).await.unwrap_err();
    assert!(matches!(no_reason, StoreError::Transition(TransitionError::ReasonRequired { .. })));
    let cancelled = store
        .transition_activity(&officer, created.id, None, ActivityStatus::Cancelled, Some("typhoon".into()))
        .await
        .unwrap();
    assert_eq!(cancelled.status_reason.as_deref(), Some("typhoon"));
    assert_eq!(cancelled.version, 3, "refused transitions did not bump the version");
}

/// Deterministic pseudo-random markings over many activities; every scope's reads (lists,
/// counts, single reads, histories) must agree exactly with `ReadScope::can_read`.
async fn reads_apply_the_visibility_rule(store: DynStore) {
    fixture(&store).await;
    let audiences = ["JPN", "KOR", "FRA", "NDC", "ALLIES"];
    let mut seed: u64 = 0x2013_0415;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut created = Vec::new();
    for i in 0..60 {
        let partner = if next() % 2 == 0 { "JPN" } else { "KOR" };
        let marking = if next() % 5 == 0 {
            Marking::public()
        } else {
            Marking::releasable_to(audiences.iter().filter(|_| next() % 3 == 0).map(|a| org(a)))
        };
        let mut new = new_activity(partner, &format!("Activity {i}"), Marking::public());
        new.marking = marking;
        created.push(store.create_activity(&staff(), new).await.unwrap());
    }
    let callers = [
        Caller::Anonymous,
        Caller::User(principal(Role::PartnerOfficer, Some("JPN"), None)),
        Caller::User(principal(Role::PartnerOfficer, Some("KOR"), None)),
        Caller::User(principal(Role::AllyOfficer, None, Some("FRA"))),
        Caller::User(principal(Role::Provider, None, Some("NDC"))),
        Caller::User(principal(Role::Auditor, None, None)),
    ];
    for caller in callers {
        let scope = caller.read_scope();
        let mut expected: Vec<_> = created.iter().filter(|a| scope.can_read(&a.marking)).map(|a| a.id).collect();
        expected.sort();
        let page = store.list_activities(&scope, &ActivityFilter::default(), &PageRequest::first(200)).await.unwrap();
        let mut listed: Vec<_> = page.items.iter().map(|a| a.id).collect();
        listed.sort();
        assert_eq!(listed, expected, "list for {caller:?}");
        let counted = store.count_activities(&scope, &ActivityFilter::default()).await.unwrap();
        assert_eq!(counted as usize, expected.len(), "count for {caller:?}");
        for activity in &created {
            let visible = scope.can_read(&activity.marking);
            assert_eq!(store.activity(&scope, activity.id).await.unwrap().is_some(), visible, "read for {caller:?}");
            let history = store.history(&scope, EntityType::Activity, &activity.id.to_string()).await.unwrap();
            assert_eq!(history.is_some(), visible, "history for {caller:?}");
        }
        let partnerships: Vec<_> =
            store.list_partnerships(&scope).await.unwrap().into_iter().map(|p| p.partner.to_string()).collect();
        let expected_partnerships: Vec<&str> = match &caller {
            Caller::Anonymous => vec![],
            Caller::User(p) if p.binding.role == Role::PartnerOfficer => {
                vec![p.binding.partner.as_ref().unwrap().as_str()]
            }
            Caller::User(p) if p.binding.role == Role::Provider => vec![],
            _ => vec!["JPN", "KOR"],
        };
        assert_eq!(partnerships, expected_partnerships, "partnerships for {caller:?}");
    }
}

/// Random activities (partnership, status, kind, dates, supported elements, marking); for every
/// scope and a set of filter combinations, the paged list, the count and the tally must all agree
/// with the filter and `ReadScope::can_read` evaluated here in Rust.
async fn filters_counts_and_tallies_agree_with_the_rule(store: DynStore) {
    fixture(&store).await;
    let mut elements = Vec::new();
    let mut documents = Vec::new();
    for partner in ["JPN", "KOR"] {
        let filter = crate::DocumentFilter { partnership: Some(code(partner)), kind: None };
        let document = store.list_documents(&ReadScope::system(), &filter).await.unwrap().remove(0);
        let detail = store.document(&ReadScope::system(), document.id).await.unwrap().unwrap();
        documents.push(detail.document.id);
        elements.push(detail.elements);
    }
    let audiences = ["JPN", "KOR", "FRA", "NDC", "ALLIES"];
    let mut seed: u64 = 0x2014_0506;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut created = Vec::new();
    for i in 0..80 {
        let side = (next() % 2) as usize;
        let partner = ["JPN", "KOR"][side];
        let mut new = new_activity(partner, &format!("Activity {i}"), Marking::public());
        if next() % 3 == 0 {
            new.title = Title::parse(&format!("Cyber talks {i}")).unwrap();
        }
        new.marking = if next() % 5 == 0 {
            Marking::public()
        } else {
            Marking::releasable_to(audiences.iter().filter(|_| next() % 3 == 0).map(|a| org(a)))
        };
        new.status = ActivityStatus::ALL[(next() % 7) as usize];
        new.kind = [ActivityKind::Meeting, ActivityKind::Exercise, ActivityKind::Course][(next() % 3) as usize];
        new.starts_on = (next() % 6 != 0).then(|| date!(2019 - 01 - 01) + time::Duration::days((next() % 2500) as i64));
        new.ends_on = new.starts_on.filter(|_| next() % 4 != 0).map(|d| d + time::Duration::days((next() % 30) as i64));
        new.supports = elements[side].iter().filter(|_| next() % 2 == 0).map(|e| e.id).collect();
        created.push(store.create_activity(&staff(), new).await.unwrap());
    }
    let parent_of = |id: eprime_domain::ElementId| {
        elements.iter().flatten().find(|e| e.id == id).map(|e| e.parent.unwrap_or(e.id)).unwrap()
    };
    let in_document = |id: eprime_domain::ElementId, document| {
        elements.iter().flatten().any(|e| e.id == id && e.document == document)
    };
    let filters = [
        ActivityFilter::default(),
        ActivityFilter { partnership: Some(code("JPN")), ..Default::default() },
        ActivityFilter {
            partnership: Some(code("KOR")),
            status: Some(ActivityStatus::Completed),
            ..Default::default()
        },
        ActivityFilter { status: Some(ActivityStatus::Scheduled), ..Default::default() },
        ActivityFilter { kind: Some(ActivityKind::Exercise), from: Some(date!(2021 - 01 - 01)), ..Default::default() },
        ActivityFilter { to: Some(date!(2020 - 06 - 30)), ..Default::default() },
        ActivityFilter { element: Some(elements[0][1].id), ..Default::default() },
        ActivityFilter { document: Some(documents[1]), ..Default::default() },
        ActivityFilter { partnership: Some(code("JPN")), text: Some("cyber".into()), ..Default::default() },
        ActivityFilter { starts_from: Some(date!(2022 - 03 - 01)), ..Default::default() },
        ActivityFilter {
            partnership: Some(code("KOR")),
            ends_before: Some(date!(2023 - 01 - 01)),
            ..Default::default()
        },
    ];
    let matches = |a: &eprime_domain::Activity, f: &ActivityFilter| {
        f.partnership.as_ref().is_none_or(|p| &a.partnership == p)
            && f.status.is_none_or(|s| a.status == s)
            && f.kind.is_none_or(|k| a.kind == k)
            && f.from.is_none_or(|from| a.ends_on.is_none_or(|end| end >= from))
            && f.to.is_none_or(|to| a.starts_on.is_none_or(|start| start <= to))
            && f.element.is_none_or(|e| a.supports.contains(&e))
            && f.document.is_none_or(|d| a.supports.iter().any(|e| in_document(*e, d)))
            && f.text.as_deref().is_none_or(|t| a.title.as_str().to_lowercase().contains(t))
            && f.starts_from.is_none_or(|from| a.starts_on.is_some_and(|start| start >= from))
            && f.ends_before.is_none_or(|before| a.ends_on.is_some_and(|end| end < before))
    };
    let all_pages = |filter: ActivityFilter, scope: ReadScope| {
        let store = store.clone();
        async move {
            let mut listed = Vec::new();
            let mut page = PageRequest::first(7);
            loop {
                let result = store.list_activities(&scope, &filter, &page).await.unwrap();
                listed.extend(result.items);
                match result.next_cursor {
                    Some(cursor) => page.after = Some(cursor),
                    None => return listed,
                }
            }
        }
    };
    let callers = [
        Caller::Anonymous,
        Caller::User(principal(Role::PartnerOfficer, Some("JPN"), None)),
        Caller::User(principal(Role::PartnerOfficer, Some("KOR"), None)),
        Caller::User(principal(Role::AllyOfficer, None, Some("FRA"))),
        Caller::User(principal(Role::Provider, None, Some("NDC"))),
        Caller::User(principal(Role::NatoStaff, None, None)),
    ];
    for caller in &callers {
        let scope = caller.read_scope();
        for filter in &filters {
            let wanted: Vec<_> = created.iter().filter(|a| scope.can_read(&a.marking) && matches(a, filter)).collect();
            let mut expected_ids: Vec<_> = wanted.iter().map(|a| a.id).collect();
            expected_ids.sort();
            let newest_first = all_pages(filter.clone(), scope.clone()).await;
            let mut listed: Vec<_> = newest_first.iter().map(|a| a.id).collect();
            listed.sort();
            assert_eq!(listed, expected_ids, "list of {filter:?} for {caller:?}");
            let mut versions = Vec::new();
            let mut page = PageRequest::first(7);
            loop {
                let result = store.list_activity_versions(&scope, filter, &page).await.unwrap();
                versions.extend(result.items);
                match result.next_cursor {
                    Some(cursor) => page.after = Some(cursor),
                    None => break,
                }
            }
            let listed_versions: Vec<_> = newest_first.iter().map(|a| (a.id, a.version)).collect();
            assert_eq!(versions, listed_versions, "versions page by page, as the list");
            let soonest = ActivityFilter { order: crate::ActivityOrder::SoonestFirst, ..filter.clone() };
            let soonest_first: Vec<_> = all_pages(soonest, scope.clone()).await.iter().map(|a| a.id).collect();
            let reversed: Vec<_> = newest_first.iter().rev().map(|a| a.id).collect();
            assert_eq!(soonest_first, reversed, "soonest first is newest first reversed, page by page");
            let recent = ActivityFilter { order: crate::ActivityOrder::RecentlyChanged, ..filter.clone() };
            let page = store.list_activities(&scope, &recent, &PageRequest::first(5)).await.unwrap();
            let mut by_change = newest_first.clone();
            by_change.sort_by_key(|a| std::cmp::Reverse((a.updated_at, a.id)));
            let expected_recent: Vec<_> = by_change.iter().take(5).map(|a| a.id).collect();
            assert_eq!(page.items.iter().map(|a| a.id).collect::<Vec<_>>(), expected_recent, "recent changes");
            assert!(page.next_cursor.is_none(), "recent changes have one page");
            let counted = store.count_activities(&scope, filter).await.unwrap();
            assert_eq!(counted as usize, wanted.len(), "count of {filter:?} for {caller:?}");
            let mut expected = crate::ActivityTally::default();
            for a in &wanted {
                expected.by_status[crate::status_index(a.status)] += 1;
                if let Some(start) = a.starts_on {
                    crate::ActivityTally::add(&mut expected.by_year, start.year(), a.status, 1);
                }
                for e in &a.supports {
                    crate::ActivityTally::add(&mut expected.by_element, *e, a.status, 1);
                }
                let branches: std::collections::BTreeSet<_> = a.supports.iter().map(|e| parent_of(*e)).collect();
                for branch in branches {
                    crate::ActivityTally::add(&mut expected.by_branch, branch, a.status, 1);
                }
            }
            let tally = store.tally_activities(&scope, filter).await.unwrap();
            assert_eq!(tally, expected, "tally of {filter:?} for {caller:?}");
            assert_eq!(tally.total(), counted);
        }
    }
    // By ids: the visible ones among those asked, in the order asked.
    let asked: Vec<_> = created.iter().rev().map(|a| a.id).collect();
    for caller in &callers {
        let scope = caller.read_scope();
        let found: Vec<_> = store.activities_by_ids(&scope, &asked).await.unwrap().iter().map(|a| a.id).collect();
        let expected: Vec<_> = created.iter().rev().filter(|a| scope.can_read(&a.marking)).map(|a| a.id).collect();
        assert_eq!(found, expected, "by ids for {caller:?}");
        // One by id: its version exactly when the scope may see it.
        for activity in &created {
            let version = store.activity_version(&scope, activity.id).await.unwrap();
            let visible = scope.can_read(&activity.marking).then_some(activity.version);
            assert_eq!(version, visible, "version of {} for {caller:?}", activity.title);
        }
        let unknown = eprime_domain::ActivityId::new();
        assert_eq!(store.activity_version(&scope, unknown).await.unwrap(), None, "no such activity");
    }
    // The stamp moves with every write that can change a partnership's counts, and only then.
    let stamp = store.partnership_stamp(&code("JPN")).await.unwrap();
    assert!(stamp > 0, "JPN has changes");
    store.create_activity(&staff(), new_activity("KOR", "Elsewhere", Marking::public())).await.unwrap();
    assert_eq!(store.partnership_stamp(&code("JPN")).await.unwrap(), stamp, "a KOR write leaves JPN's stamp");
    let japanese = created.iter().find(|a| a.partnership.as_str() == "JPN").unwrap();
    let retitled = ActivityChanges { title: Some(Title::parse("Retitled").unwrap()), ..Default::default() };
    store.update_activity(&staff(), japanese.id, None, retitled).await.unwrap();
    let moved = store.partnership_stamp(&code("JPN")).await.unwrap();
    assert!(moved > stamp, "a JPN write moves JPN's stamp");
    assert_eq!(store.partnership_stamp(&code("AUS")).await.unwrap(), 0, "no changes, stamp 0");

    // Following the log's activity changes from nothing gives, for every scope, the tally counted anew.
    let changes = store.partnership_changes(&code("JPN"), 0, 10_000).await.unwrap();
    assert_eq!(changes.last().map(|c| c.seq), Some(moved), "the changes end at the stamp");
    assert!(changes.iter().all(|c| c.partner.as_deref() == Some("JPN")), "only JPN's changes");
    let branch_of: std::collections::HashMap<_, _> =
        elements.iter().flatten().map(|e| (e.id, e.parent.unwrap_or(e.id))).collect();
    for caller in &callers {
        let scope = caller.read_scope();
        let mut followed = crate::ActivityTally::default();
        for change in changes.iter().filter(|c| c.entity == EntityType::Activity) {
            followed.follow(change, &scope, &branch_of).unwrap();
        }
        let filter = ActivityFilter { partnership: Some(code("JPN")), ..Default::default() };
        let counted = store.tally_activities(&scope, &filter).await.unwrap();
        assert_eq!(followed, counted, "followed for {caller:?}");
        // The snapshot form: the same counts, with the stamp they are at.
        let (at, snapshot) = store.partnership_tally(&scope, &code("JPN")).await.unwrap();
        assert_eq!((at, snapshot), (moved, counted), "partnership tally for {caller:?}");
    }
    let (none, empty) = store.partnership_tally(&ReadScope::system(), &code("AUS")).await.unwrap();
    assert_eq!((none, empty.total()), (0, 0), "a partnership without changes: stamp 0, nothing counted");
    let later = store.partnership_changes(&code("JPN"), stamp, 10_000).await.unwrap();
    assert_eq!(later.iter().map(|c| c.seq).collect::<Vec<_>>(), vec![moved], "after a stamp, only what followed");
}

async fn writes_check_permission_after_visibility(store: DynStore) {
    fixture(&store).await;
    let korea_only =
        store.create_activity(&staff(), new_activity("KOR", "Korean talks", Marking::releasable_to([]))).await.unwrap();
    let public_korean =
        store.create_activity(&staff(), new_activity("KOR", "Open day", Marking::public())).await.unwrap();
    let japan = principal(Role::PartnerOfficer, Some("JPN"), None);
    let change = || ActivityChanges { title: Some(Title::parse("Hijacked").unwrap()), ..Default::default() };
    let hidden = store.update_activity(&japan, korea_only.id, None, change()).await.unwrap_err();
    assert!(matches!(hidden, StoreError::NotFound(_)), "an invisible record looks absent: {hidden:?}");
    let visible = store.update_activity(&japan, public_korean.id, None, change()).await.unwrap_err();
    assert!(matches!(visible, StoreError::Forbidden(_)), "a visible one is refused with a reason: {visible:?}");
    let create = store.create_activity(&japan, new_activity("KOR", "Sneaky", Marking::public())).await.unwrap_err();
    assert!(matches!(create, StoreError::Forbidden(_)));
    let ally = principal(Role::AllyOfficer, None, Some("FRA"));
    assert!(matches!(
        store.create_activity(&ally, new_activity("JPN", "X", Marking::public())).await,
        Err(StoreError::Forbidden(_))
    ));
}

async fn pages_cover_every_item_once(store: DynStore) {
    fixture(&store).await;
    for i in 0..23 {
        let mut new = new_activity("JPN", &format!("Activity {i}"), Marking::public());
        new.starts_on = if i % 4 == 0 { None } else { Some(date!(2020 - 01 - 01) + time::Duration::days(i % 7)) };
        new.ends_on = None;
        store.create_activity(&staff(), new).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut page = PageRequest::first(5);
    loop {
        let result = store.list_activities(&ReadScope::system(), &ActivityFilter::default(), &page).await.unwrap();
        assert!(result.items.len() <= 5);
        seen.extend(result.items.iter().map(|a| a.id));
        match result.next_cursor {
            Some(cursor) => page.after = Some(cursor),
            None => break,
        }
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(seen.len(), 23, "every item once");
    assert_eq!(unique.len(), 23, "no item twice");
    let bad = PageRequest { limit: 5, after: Some("not-a-cursor".into()) };
    assert!(matches!(
        store.list_activities(&ReadScope::system(), &ActivityFilter::default(), &bad).await,
        Err(StoreError::Invalid(_))
    ));
}

async fn sessions_end_when_revoked_expired_or_disabled(store: DynStore) {
    let binding = RoleBinding::new(Role::NatoStaff, None, None).unwrap();
    let user = store
        .create_user(
            None,
            NewUser { username: "desk".into(), display_name: "Desk".into(), binding, password_hash: "x".into() },
        )
        .await
        .unwrap();
    let duplicate = store
        .create_user(
            None,
            NewUser {
                username: "desk".into(),
                display_name: "Again".into(),
                binding: RoleBinding::new(Role::Auditor, None, None).unwrap(),
                password_hash: "y".into(),
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(duplicate, StoreError::Conflict(_)));
    let now = time::OffsetDateTime::now_utc();
    let session = |hash: &str, expires_at| SessionRecord {
        id: eprime_domain::TokenId::new(),
        kind: crate::TokenKind::Session,
        token_hash: hash.into(),
        user_id: user.id,
        name: "test".into(),
        created_at: now,
        expires_at,
    };
    store.create_session(session("live", now + time::Duration::hours(1))).await.unwrap();
    store.create_session(session("old", now - time::Duration::seconds(1))).await.unwrap();
    assert_eq!(store.session_principal("live").await.unwrap().unwrap().username, "desk");
    assert!(store.session_principal("old").await.unwrap().is_none(), "expired");
    assert!(store.session_principal("unknown").await.unwrap().is_none());
    // Each write that may end sessions moves the generation a session cache checks, and only those.
    let generation = store.accounts_generation();
    let named = SessionRecord { name: "other".into(), ..session("other", now + time::Duration::hours(1)) };
    store.create_session(named).await.unwrap();
    assert!(store.session_principal("other").await.unwrap().is_some());
    assert_eq!(store.accounts_generation(), generation, "a new session or a look-up ends none");
    assert!(store.revoke_session("live").await.unwrap());
    assert!(store.session_principal("live").await.unwrap().is_none(), "revoked");
    let generation = moved(&store, generation, "a sign-out");
    let tokens = store.list_tokens(user.id).await.unwrap();
    let other = tokens.iter().find(|t| t.name == "other").map(|t| t.id).unwrap();
    assert!(store.revoke_token(user.id, other).await.unwrap(), "a live session");
    assert!(store.session_principal("other").await.unwrap().is_none(), "its token revoked");
    let generation = moved(&store, generation, "a revoked token");
    store.set_user_password(None, "desk", "z".into()).await.unwrap();
    let generation = moved(&store, generation, "a new password");
    store.create_session(session("again", now + time::Duration::hours(1))).await.unwrap();
    store.set_user_disabled(None, "desk", true).await.unwrap();
    assert!(store.session_principal("again").await.unwrap().is_none(), "disabled accounts have no sessions");
    moved(&store, generation, "a disabled account");
}

/// The store's `accounts_generation` now, asserting it moved past `before`.
fn moved(store: &DynStore, before: u64, after: &str) -> u64 {
    let now = store.accounts_generation();
    assert!(now > before, "the accounts generation moves after {after}");
    now
}

async fn programmes_enter_into_force_on_both_approvals(store: DynStore) {
    fixture(&store).await;
    let documents = store.list_documents(&ReadScope::system(), &Default::default()).await.unwrap();
    let jpn = documents.iter().find(|d| d.partnership.as_str() == "JPN").unwrap();
    let nac = Approval { by: Approver::Nac, on: Some(date!(2023 - 07 - 01)) };
    let after_nac = store.approve_document(&staff(), jpn.id, Some(jpn.version), nac.clone()).await.unwrap();
    assert_eq!(after_nac.status, DocumentStatus::Agreed, "one approval is not enough");
    let twice = store.approve_document(&staff(), jpn.id, None, nac).await.unwrap_err();
    assert!(matches!(twice, StoreError::Conflict(_)));
    let partner = Approval { by: Approver::Partner, on: Some(date!(2023 - 07 - 12)) };
    let in_force = store.approve_document(&staff(), jpn.id, None, partner).await.unwrap();
    assert_eq!(in_force.status, DocumentStatus::InForce);
    assert_eq!(in_force.entered_into_force_on, Some(date!(2023 - 07 - 12)));
    let officer = principal(Role::PartnerOfficer, Some("JPN"), None);
    let kor = documents.iter().find(|d| d.partnership.as_str() == "KOR").unwrap();
    let hidden =
        store.approve_document(&officer, kor.id, None, Approval { by: Approver::Nac, on: None }).await.unwrap_err();
    assert!(matches!(hidden, StoreError::NotFound(_)));
}

async fn tokens_are_listed_and_revoked_by_their_owner(store: DynStore) {
    let new_user = |name: &str| NewUser {
        username: name.into(),
        display_name: name.into(),
        binding: RoleBinding::new(Role::NatoStaff, None, None).unwrap(),
        password_hash: "x".into(),
    };
    let owner = store.create_user(None, new_user("owner")).await.unwrap();
    let other = store.create_user(None, new_user("other")).await.unwrap();
    let now = time::OffsetDateTime::now_utc();
    let token = SessionRecord {
        id: eprime_domain::TokenId::new(),
        kind: crate::TokenKind::Api,
        token_hash: "api-hash".into(),
        user_id: owner.id,
        name: "partner sync".into(),
        created_at: now,
        expires_at: now + time::Duration::days(30),
    };
    let id = token.id;
    store.create_session(token).await.unwrap();
    let listed = store.list_tokens(owner.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].name.as_str(), listed[0].kind), ("partner sync", crate::TokenKind::Api));
    assert!(!store.revoke_token(other.id, id).await.unwrap(), "only its owner revokes a token");
    assert!(store.session_principal("api-hash").await.unwrap().is_some());
    assert!(store.revoke_token(owner.id, id).await.unwrap());
    assert!(store.session_principal("api-hash").await.unwrap().is_none());
    assert!(store.list_tokens(owner.id).await.unwrap()[0].revoked_at.is_some());
}

async fn the_audit_log_holds_changes_and_security_events_within_scope(store: DynStore) {
    use crate::{AuditFilter, Operation, SecurityEvent};
    use eprime_domain::AuditScope;
    fixture(&store).await;
    let officer = RoleBinding::new(Role::PartnerOfficer, Some(code("JPN")), None).unwrap();
    store
        .create_user(
            None,
            NewUser {
                username: "jpn.desk".into(),
                display_name: "J".into(),
                binding: officer,
                password_hash: "x".into(),
            },
        )
        .await
        .unwrap();
    let korean = RoleBinding::new(Role::PartnerOfficer, Some(code("KOR")), None).unwrap();
    store
        .create_user(
            None,
            NewUser {
                username: "kor.desk".into(),
                display_name: "K".into(),
                binding: korean,
                password_hash: "x".into(),
            },
        )
        .await
        .unwrap();
    for (user, partner, operation) in
        [("jpn.desk", "JPN", Operation::SignIn), ("kor.desk", "KOR", Operation::SignInFailed)]
    {
        let event = SecurityEvent {
            operation,
            username: user.into(),
            partner: Some(code(partner)),
            actor: None,
            details: serde_json::json!({"address": "127.0.0.1"}),
        };
        store.record_security_event(event).await.unwrap();
    }
    let all = store.audit(&AuditScope::All, &AuditFilter::default(), &PageRequest::first(200)).await.unwrap();
    assert!(all.items.windows(2).all(|w| w[0].seq > w[1].seq), "newest first");
    assert!(all.items.iter().any(|e| e.entity == EntityType::Activity || e.entity == EntityType::Document));
    assert_eq!(all.items[0].operation, Operation::SignInFailed);
    let japan = store
        .audit(&AuditScope::Accounts(code("JPN")), &AuditFilter::default(), &PageRequest::first(200))
        .await
        .unwrap();
    let seen: Vec<(&str, Operation)> = japan.items.iter().map(|e| (e.entity_id.as_str(), e.operation)).collect();
    assert_eq!(seen, [("jpn.desk", Operation::SignIn), ("jpn.desk", Operation::Create)], "only Japan's account events");
    let filtered = AuditFilter { entity: Some(EntityType::Account), ..Default::default() };
    let accounts = store.audit(&AuditScope::All, &filtered, &PageRequest::first(1)).await.unwrap();
    assert_eq!(accounts.items.len(), 1);
    let next = PageRequest { limit: 1, after: accounts.next_cursor.clone() };
    let second = store.audit(&AuditScope::All, &filtered, &next).await.unwrap();
    assert_eq!(second.items[0].entity_id, "jpn.desk");
    assert!(second.next_cursor.is_none());

    // Each filter alone and together, across pages: the same entries as filtering the whole log.
    let everything = store.audit(&AuditScope::All, &AuditFilter::default(), &PageRequest::first(200)).await.unwrap();
    let staff_name = staff().username;
    let now = time::OffsetDateTime::now_utc();
    let hour = time::Duration::hours(1);
    for filter in [
        AuditFilter { actor: Some(staff_name.clone()), ..Default::default() },
        AuditFilter { actor: Some(staff_name.clone()), entity: Some(EntityType::Document), ..Default::default() },
        AuditFilter { entity: Some(EntityType::Partnership), ..Default::default() },
        AuditFilter { from: Some(now - hour), to: Some(now + hour), ..Default::default() },
        AuditFilter { from: Some(now + hour), ..Default::default() },
        AuditFilter { to: Some(now - hour), ..Default::default() },
    ] {
        let expected: Vec<i64> = everything
            .items
            .iter()
            .filter(|e| filter.actor.as_ref().is_none_or(|a| e.actor.as_ref() == Some(a)))
            .filter(|e| filter.entity.is_none_or(|kind| e.entity == kind))
            .filter(|e| filter.from.is_none_or(|from| e.at >= from) && filter.to.is_none_or(|to| e.at < to))
            .map(|e| e.seq)
            .collect();
        let mut read = Vec::new();
        let mut page = PageRequest::first(2);
        loop {
            let got = store.audit(&AuditScope::All, &filter, &page).await.unwrap();
            read.extend(got.items.iter().map(|e| e.seq));
            match got.next_cursor {
                Some(after) => page = PageRequest { limit: 2, after: Some(after) },
                None => break,
            }
        }
        assert_eq!(read, expected, "{filter:?}");
    }
}

async fn the_change_log_is_followed_in_order(store: DynStore) {
    fixture(&store).await;
    let start = store.last_change_seq().await.unwrap();
    assert!(start > 0, "the fixture's writes are in the log");
    let waiter = {
        let store = store.clone();
        tokio::spawn(async move { store.wait_for_changes(start, std::time::Duration::from_secs(30)).await })
    };
    tokio::task::yield_now().await;
    let first = store.create_activity(&staff(), new_activity("JPN", "First", Marking::public())).await.unwrap();
    let second = store.create_activity(&staff(), new_activity("KOR", "Second", Marking::public())).await.unwrap();
    // Woken by the commit, not by the 30-second timeout (a test that hangs here has lost the signal).
    tokio::time::timeout(std::time::Duration::from_secs(10), waiter).await.expect("woken by the commit").unwrap();
    let entries = store.changes_after(start, 100).await.unwrap();
    let ids: Vec<&str> = entries.iter().map(|e| e.entity_id.as_str()).collect();
    assert_eq!(ids, [first.id.to_string(), second.id.to_string()]);
    assert_eq!(entries[1].partner.as_deref(), Some("KOR"));
    assert!(entries[0].seq < entries[1].seq);
    assert_eq!(store.last_change_seq().await.unwrap(), entries[1].seq);
    assert_eq!(store.changes_after(start, 1).await.unwrap().len(), 1, "the limit holds");
    assert!(store.changes_after(entries[1].seq, 100).await.unwrap().is_empty());
    // Nothing new after the last entry: the wait lasts its timeout (short here).
    store.wait_for_changes(entries[1].seq, std::time::Duration::from_millis(50)).await;

    // A follower of some kinds of record gets exactly the log's entries of those kinds, and moves
    // past the others.
    let end = entries[1].seq;
    let whole = store.changes_after(0, 10_000).await.unwrap();
    assert!(whole.iter().any(|e| e.entity != EntityType::Activity), "the fixture logs more than activities");
    for kinds in
        [&[EntityType::Activity][..], &[EntityType::Partnership, EntityType::Organisation], &[EntityType::Offering]]
    {
        let read = store.changes_of(kinds, 0, 10_000).await.unwrap();
        let expected: Vec<i64> = whole.iter().filter(|e| kinds.contains(&e.entity)).map(|e| e.seq).collect();
        assert_eq!(read.entries.iter().map(|e| e.seq).collect::<Vec<_>>(), expected, "{kinds:?}");
        assert_eq!(read.reached, end, "{kinds:?}: read to the log's end");
    }
    let none = store.changes_of(&[EntityType::Offering], start, 100).await.unwrap();
    assert!(none.entries.is_empty());
    assert_eq!(none.reached, end, "moved past the activities without reading them");
    let nothing_asked = store.changes_of(&[], 0, 100).await.unwrap();
    assert!(nothing_asked.entries.is_empty());
    assert_eq!(nothing_asked.reached, end);
    let cut = store.changes_of(&[EntityType::Activity], start, 1).await.unwrap();
    assert_eq!(cut.entries.len(), 1, "the limit holds");
    assert_eq!(cut.reached, entries[0].seq, "a read cut short by its limit reaches its last entry only");
    let beyond = store.changes_of(&[EntityType::Activity], end, 100).await.unwrap();
    assert!(beyond.entries.is_empty());
    assert_eq!(beyond.reached, end, "never behind where it started");
}

async fn discussions_follow_the_visibility_of_their_subject(store: DynStore) {
    use crate::NewComment;
    use eprime_domain::SubjectKind;
    fixture(&store).await;
    let japan_only =
        store.create_activity(&staff(), new_activity("JPN", "Talks", Marking::releasable_to([]))).await.unwrap();
    let officer = principal(Role::PartnerOfficer, Some("JPN"), None);
    let korean = principal(Role::PartnerOfficer, Some("KOR"), None);
    let post = |body: &str| NewComment {
        subject: SubjectKind::Activity,
        subject_id: japan_only.id.to_string(),
        body: body.into(),
        marking: None,
    };
    let comment = store.create_comment(&officer, post("Agreed, see @nato.staff")).await.unwrap();
    assert_eq!(comment.mentions, ["nato.staff"]);
    assert_eq!(comment.marking.releasable_list(), [org("JPN")]);
    let hidden = store.create_comment(&korean, post("Let me in")).await.unwrap_err();
    assert!(matches!(hidden, StoreError::NotFound(_)), "an invisible subject cannot be discussed: {hidden:?}");
    let korea_scope = Caller::User(korean.clone()).read_scope();
    let subject = japan_only.id.to_string();
    assert!(store.list_comments(&korea_scope, SubjectKind::Activity, &subject).await.unwrap().is_none());
    assert!(store.comment(&korea_scope, comment.id).await.unwrap().is_none());
    let japan_scope = Caller::User(officer.clone()).read_scope();
    assert_eq!(store.list_comments(&japan_scope, SubjectKind::Activity, &subject).await.unwrap().unwrap().len(), 1);
    // Edits by the author only, with versions; deletion by the author or NATO staff; history kept.
    assert!(matches!(
        store.edit_comment(&staff(), comment.id, None, "Hijack".into()).await,
        Err(StoreError::Forbidden(_))
    ));
    let edited = store.edit_comment(&officer, comment.id, Some(1), "Agreed.".into()).await.unwrap();
    assert!(edited.mentions.is_empty());
    assert!(matches!(
        store.edit_comment(&officer, comment.id, Some(1), "Again".into()).await,
        Err(StoreError::Stale { .. })
    ));
    let deleted = store.delete_comment(&staff(), comment.id).await.unwrap();
    assert!(deleted.body.is_empty() && deleted.deleted_at.is_some());
    let history = store.history(&japan_scope, EntityType::Comment, &comment.id.to_string()).await.unwrap().unwrap();
    let operations: Vec<_> = history.iter().map(|e| e.operation).collect();
    assert_eq!(operations, [crate::Operation::Create, crate::Operation::Update, crate::Operation::Delete]);
    let auditor = principal(Role::Auditor, None, None);
    assert!(matches!(store.create_comment(&auditor, post("Noted")).await, Err(StoreError::Forbidden(_))));
}

async fn watchers_and_mentioned_users_are_notified_once(store: DynStore) {
    use crate::{NewComment, NotificationReason};
    use eprime_domain::SubjectKind;
    fixture(&store).await;
    let mut users = Vec::new();
    for (name, role, partner) in [
        ("desk", Role::NatoStaff, None),
        ("jpn.desk", Role::PartnerOfficer, Some("JPN")),
        ("kor.desk", Role::PartnerOfficer, Some("KOR")),
    ] {
        let binding = RoleBinding::new(role, partner.map(code), None).unwrap();
        let new = NewUser { username: name.into(), display_name: name.into(), binding, password_hash: "x".into() };
        users.push(store.create_user(None, new).await.unwrap().principal());
    }
    let (desk, japan, korea) = (&users[0], &users[1], &users[2]);
    // Catch up with the fixture's changes first.
    while store.generate_notifications(100).await.unwrap() > 0 {}
    let activity =
        store.create_activity(japan, new_activity("JPN", "Exercise", Marking::releasable_to([]))).await.unwrap();
    let id = activity.id.to_string();
    store.watch(japan, EntityType::Activity, &id).await.unwrap();
    store.watch(japan, EntityType::Activity, &id).await.unwrap(); // twice is fine
    assert!(
        matches!(store.watch(korea, EntityType::Activity, &id).await, Err(StoreError::NotFound(_))),
        "no watching what one cannot see"
    );
    assert!(matches!(store.watch(japan, EntityType::User, "desk").await, Err(StoreError::Invalid(_))));
    let comment = NewComment {
        subject: SubjectKind::Activity,
        subject_id: id.clone(),
        body: "@jpn.desk @kor.desk please confirm".into(),
        marking: None,
    };
    store.create_comment(desk, comment).await.unwrap();
    store.transition_activity(desk, activity.id, None, ActivityStatus::Approved, None).await.unwrap();
    while store.generate_notifications(2).await.unwrap() > 0 {}
    let inbox = |p: &Principal| {
        let store = store.clone();
        let reader = p.clone();
        async move { store.list_notifications(&reader, false, &PageRequest::first(50)).await.unwrap().items }
    };
    let desk_inbox = inbox(desk).await;
    assert_eq!(desk_inbox.len(), 1, "NATO staff are asked to approve the new activity: {desk_inbox:?}");
    assert_eq!(desk_inbox[0].reason, NotificationReason::Approval);
    let japan_inbox = inbox(japan).await;
    let reasons: Vec<_> = japan_inbox.iter().map(|n| n.reason).collect();
    assert_eq!(reasons, [NotificationReason::Watched, NotificationReason::Mention], "newest first, one per change");
    assert!(japan_inbox[0].summary.contains("approved"), "{}", japan_inbox[0].summary);
    // A page at a time: the same notifications, in the same order.
    let page = store.list_notifications(japan, false, &PageRequest::first(1)).await.unwrap();
    assert_eq!(page.items, japan_inbox[..1]);
    let next = PageRequest { limit: 1, after: page.next_cursor };
    let page = store.list_notifications(japan, false, &next).await.unwrap();
    assert_eq!((page.items.as_slice(), page.next_cursor), (&japan_inbox[1..], None));
    assert!(inbox(korea).await.is_empty(), "a mention does not reveal what Korea may not see");
    assert_eq!(store.unread_notifications(japan).await.unwrap(), 2);
    let first = [japan_inbox[0].id];
    assert_eq!(store.mark_notifications_read(japan.user_id, Some(&first)).await.unwrap(), 1);
    assert_eq!(store.mark_notifications_read(desk.user_id, Some(&first)).await.unwrap(), 0, "only one's own");
    assert_eq!(store.mark_notifications_read(japan.user_id, None).await.unwrap(), 1);
    assert!(store.list_notifications(japan, true, &PageRequest::first(50)).await.unwrap().items.is_empty());
    assert!(store.unwatch(japan, EntityType::Activity, &id).await.unwrap());
    assert!(store.list_watches(japan.user_id).await.unwrap().is_empty());

    // One pass over changes to several watched records tells each record's own watchers, and only them.
    let korean = store.create_activity(desk, new_activity("KOR", "Talks", Marking::public())).await.unwrap();
    store.watch(korea, EntityType::Activity, &korean.id.to_string()).await.unwrap();
    store.watch(japan, EntityType::Activity, &id).await.unwrap();
    while store.generate_notifications(100).await.unwrap() > 0 {}
    let (korea_before, japan_before) = (inbox(korea).await.len(), inbox(japan).await.len());
    for (record, title) in [(korean.id, "Talks, moved"), (activity.id, "Exercise, moved")] {
        let retitled = ActivityChanges { title: Some(Title::parse(title).unwrap()), ..Default::default() };
        store.update_activity(desk, record, None, retitled).await.unwrap();
    }
    assert_eq!(store.generate_notifications(100).await.unwrap(), 2, "both changes in one pass");
    let (korea_after, japan_after) = (inbox(korea).await, inbox(japan).await);
    assert_eq!((korea_after.len(), japan_after.len()), (korea_before + 1, japan_before + 1));
    assert_eq!(korea_after[0].entity_id, korean.id.to_string(), "Korea hears of the record it watches");
    assert_eq!(japan_after[0].entity_id, id, "and Japan of its own");
}

/// Several notifier passes at once (several instances, or a pass still running when the next
/// begins) tell each watcher of each change exactly once.
async fn notifiers_running_at_once_notify_once(store: DynStore) {
    fixture(&store).await;
    let desk = principal(Role::NatoStaff, None, None);
    let binding = RoleBinding::new(Role::PartnerOfficer, Some(code("JPN")), None).unwrap();
    let new =
        NewUser { username: "jpn.watcher".into(), display_name: "Watcher".into(), binding, password_hash: "x".into() };
    let japan = store.create_user(None, new).await.unwrap().principal();
    let activity =
        store.create_activity(&japan, new_activity("JPN", "Exercise", Marking::releasable_to([]))).await.unwrap();
    store.watch(&japan, EntityType::Activity, &activity.id.to_string()).await.unwrap();
    while store.generate_notifications(100).await.unwrap() > 0 {}
    let before = store.unread_notifications(&japan).await.unwrap();
    for n in 0..12 {
        let changes = ActivityChanges { location: Some(Some(format!("Room {n}"))), ..Default::default() };
        store.update_activity(&desk, activity.id, None, changes).await.unwrap();
    }
    let mut recorded = 0;
    loop {
        let passes = tokio::join!(
            store.generate_notifications(5),
            store.generate_notifications(5),
            store.generate_notifications(5),
            store.generate_notifications(5),
        );
        let done = [passes.0, passes.1, passes.2, passes.3].into_iter().map(Result::unwrap).sum::<usize>();
        if done == 0 {
            break;
        }
        recorded += done;
    }
    // Passes that planned the same changes do not both record them: the position moves once.
    assert_eq!(recorded, 12, "each change is recorded by one pass");
    assert_eq!(store.unread_notifications(&japan).await.unwrap(), before + 12, "one notification per change");
}

async fn watched_records_are_listed_only_while_visible(store: DynStore) {
    let (jpn_goal, _) = fixture(&store).await;
    let mut users = Vec::new();
    for (name, role, partner, organisation) in [
        ("jpn.watcher", Role::PartnerOfficer, Some("JPN"), None),
        ("fra.watcher", Role::AllyOfficer, None, Some("FRA")),
    ] {
        let binding = RoleBinding::new(role, partner.map(code), organisation.map(org)).unwrap();
        let new = NewUser { username: name.into(), display_name: name.into(), binding, password_hash: "x".into() };
        users.push(store.create_user(None, new).await.unwrap().principal());
    }
    let (japan, ally) = (&users[0], &users[1]);
    let shared = store
        .create_activity(
            japan,
            new_activity("JPN", "Shared talks", Marking::releasable_to([org("JPN"), org("ALLIES")])),
        )
        .await
        .unwrap();
    let id = shared.id.to_string();
    let document = store.element(&ReadScope::system(), jpn_goal).await.unwrap().unwrap().document;
    store.watch(japan, EntityType::Activity, &id).await.unwrap();
    store.watch(japan, EntityType::Element, &jpn_goal.to_string()).await.unwrap();
    store.watch(japan, EntityType::Document, &document.to_string()).await.unwrap();
    store.watch(japan, EntityType::Partnership, "JPN").await.unwrap();
    store.watch(ally, EntityType::Activity, &id).await.unwrap();
    store.watch(ally, EntityType::Partnership, "JPN").await.unwrap();

    let listed = store.watched_records(japan).await.unwrap();
    let mut kinds: Vec<_> = listed.iter().map(|w| (w.entity, w.title.clone())).collect();
    kinds.sort_by_key(|(e, _)| e.as_str());
    assert_eq!(
        kinds,
        [
            (EntityType::Activity, "Shared talks".to_owned()),
            (EntityType::Document, "JPN ITPP".to_owned()),
            (EntityType::Element, "a.1 Cyber defence".to_owned()),
            (EntityType::Partnership, "JPN".to_owned()),
        ],
        "every kind, with its title (a goal's code first)"
    );
    assert!(listed.iter().all(|w| w.partnership == Some(code("JPN"))));
    assert!(listed.windows(2).all(|p| p[0].created_at >= p[1].created_at), "newest first");
    assert!(store.is_watching(japan.user_id, EntityType::Activity, &id).await.unwrap());
    assert!(!store.is_watching(japan.user_id, EntityType::Activity, "another").await.unwrap());
    assert_eq!(store.watched_records(ally).await.unwrap().len(), 2, "the Ally sees both while released to it");

    // A change while released: the Ally's inbox has it, with the title in its summary.
    while store.generate_notifications(100).await.unwrap() > 0 {}
    let renamed = ActivityChanges { title: Some(Title::parse("Shared talks, renamed").unwrap()), ..Default::default() };
    store.update_activity(japan, shared.id, None, renamed).await.unwrap();
    while store.generate_notifications(100).await.unwrap() > 0 {}
    let inbox = store.list_notifications(ally, false, &PageRequest::first(50)).await.unwrap().items;
    assert!(inbox.iter().any(|n| n.entity_id == id && n.summary.contains("renamed")), "{inbox:?}");
    assert_eq!(store.unread_notifications(ally).await.unwrap(), inbox.len() as u64);

    // Japan stops releasing the activity to the Allies: the Ally's list no longer shows it,
    // though the watch itself stays (and would count again if it were released again).
    let changes = ActivityChanges { marking: Some(Marking::releasable_to([org("JPN")])), ..Default::default() };
    store.update_activity(japan, shared.id, None, changes).await.unwrap();
    while store.generate_notifications(100).await.unwrap() > 0 {}
    // Nor does its inbox: the earlier notifications, summaries and all, are read with today's release.
    let after = store.list_notifications(ally, false, &PageRequest::first(50)).await.unwrap().items;
    assert!(!after.is_empty() && after.iter().all(|n| n.entity_id != id), "{after:?}");
    let unread = store.list_notifications(ally, true, &PageRequest::first(50)).await.unwrap().items;
    assert_eq!(store.unread_notifications(ally).await.unwrap(), unread.len() as u64, "the count agrees with the list");
    let ally_list = store.watched_records(ally).await.unwrap();
    assert_eq!(ally_list.len(), 1, "{ally_list:?}");
    assert_eq!(ally_list[0].entity, EntityType::Partnership);
    assert!(!ally_list.iter().any(|w| w.title.contains("Shared talks")), "a hidden record is not listed");
    assert!(store.is_watching(ally.user_id, EntityType::Activity, &id).await.unwrap());
    assert_eq!(store.watched_records(japan).await.unwrap().len(), 4, "Japan still sees its own");
}
