//! The menu's behaviour on every store: visibility by status and eligibility, the nomination
//! loop, seats and quotas under concurrency, refusals that leave nothing behind, roll-ups.

use eprime_domain::menu::{
    Attendance, Clearance, Contact, Decision, Eligibility, EventType, NewNomination, NewOffering, Nomination,
    NominationStatus, Offering, OfferingCode, OfferingStatus, OverdueRules, Participant, Prerequisites, Ratings,
    Session,
};
use eprime_domain::{Caller, Marking, ReadScope, Role, Text, Title};
use time::macros::date;

use super::{code, fixture, new_activity, org, principal, staff};
use crate::{DynStore, EntityType, NominationFilter, OfferingFilter, PageRequest, StoreError};

pub(super) const TODAY: time::Date = date!(2026 - 03 - 01);

pub(super) fn provider() -> eprime_domain::Principal {
    principal(Role::Provider, None, Some("NDC"))
}

pub(super) fn japan() -> eprime_domain::Principal {
    principal(Role::PartnerOfficer, Some("JPN"), None)
}

pub(super) fn new_offering(code_text: &str, seats: u32, quota: u32, eligibility: Eligibility) -> NewOffering {
    NewOffering {
        code: OfferingCode::parse(code_text).unwrap(),
        title: Title::parse("Cyber Defence Course").unwrap(),
        description: Text::parse("Five days on cyber defence.").unwrap(),
        areas: vec![eprime_domain::AreaCode::parse("CYD").unwrap()],
        event_type: EventType::Course,
        provider: None,
        contact: Contact { name: "Registrar".into(), email: "registrar@ndc.example".into() },
        sessions: vec![Session {
            starts_on: date!(2026 - 05 - 04),
            ends_on: date!(2026 - 05 - 08),
            location: "Rome, ITA".into(),
            language: "en".into(),
        }],
        seats,
        nation_quota: quota,
        eligibility,
        prerequisites: Prerequisites::default(),
        nomination_deadline: date!(2026 - 04 - 01),
        fees: "none".into(),
        requested_releasable_to: vec![],
        status: OfferingStatus::Draft,
    }
}

pub(super) fn jpn_only() -> Eligibility {
    Eligibility::Nations { nations: vec![code("JPN")] }
}

pub(super) fn nominee(n: usize) -> NewNomination {
    NewNomination {
        offering: eprime_domain::OfferingId::new(),
        nation: None,
        participant: Participant {
            name: format!("Participant {n}"),
            rank: "Maj".into(),
            organisation: "JSDF".into(),
            email: format!("p{n}@example.jp"),
            clearance: Clearance::None,
            language_level: 3,
        },
    }
}

/// Creates, submits, approves and publishes an offering of NDC.
pub(super) async fn published(
    store: &DynStore,
    code_text: &str,
    seats: u32,
    quota: u32,
    eligibility: Eligibility,
) -> Offering {
    publish(store, new_offering(code_text, seats, quota, eligibility)).await
}

/// Creates, submits, approves and publishes `new` as NDC.
async fn publish(store: &DynStore, new: NewOffering) -> Offering {
    let offering = store.create_offering(&provider(), new).await.unwrap();
    let offering =
        store.transition_offering(&provider(), offering.id, Some(1), OfferingStatus::Submitted, None).await.unwrap();
    let offering =
        store.transition_offering(&staff(), offering.id, None, OfferingStatus::Approved, None).await.unwrap();
    store.transition_offering(&provider(), offering.id, None, OfferingStatus::Published, None).await.unwrap()
}

async fn nominate(store: &DynStore, offering: &Offering, n: usize) -> Result<Nomination, StoreError> {
    store.nominate(&japan(), NewNomination { offering: offering.id, ..nominee(n) }, TODAY).await
}

pub(super) fn scope_of(p: &eprime_domain::Principal) -> ReadScope {
    Caller::User(p.clone()).read_scope()
}

pub(super) async fn an_offering_is_seen_by_eligible_partners_only_once_published(store: DynStore) {
    fixture(&store).await;
    let korea = principal(Role::PartnerOfficer, Some("KOR"), None);
    let ally = principal(Role::AllyOfficer, None, Some("FRA"));
    let draft = store.create_offering(&provider(), new_offering("CYD-NDC-1", 10, 2, jpn_only())).await.unwrap();
    assert_eq!(draft.marking.banner(), "NATO UNCLASSIFIED Releasable to NDC");
    assert!(store.offering(&scope_of(&provider()), draft.id).await.unwrap().is_some(), "its provider sees a draft");
    assert!(store.offering(&scope_of(&japan()), draft.id).await.unwrap().is_none(), "partners do not");
    assert!(store.offering(&Caller::Anonymous.read_scope(), draft.id).await.unwrap().is_none());
    let live = published(&store, "CYD-NDC-2", 10, 2, jpn_only()).await;
    assert!(store.offering(&scope_of(&japan()), live.id).await.unwrap().is_some(), "eligible partner sees it");
    assert!(store.offering(&scope_of(&korea), live.id).await.unwrap().is_none(), "an ineligible one does not");
    assert!(store.offering(&scope_of(&ally), live.id).await.unwrap().is_none(), "nor an Ally it is not released to");
    let everyone = published(&store, "CYD-NDC-3", 10, 2, Eligibility::AllPartners).await;
    assert!(store.offering(&scope_of(&korea), everyone.id).await.unwrap().is_some(), "open to all partners");
    assert!(store.offering(&Caller::Anonymous.read_scope(), everyone.id).await.unwrap().is_none(), "never public");
    let pag = Eligibility::Frameworks { frameworks: vec![eprime_domain::Framework::PartnersAcrossTheGlobe] };
    let framework = published(&store, "CYD-NDC-4", 10, 2, pag).await;
    assert!(store.offering(&scope_of(&korea), framework.id).await.unwrap().is_some(), "KOR is a PAG partner");
    let listed = store
        .offerings_by_ids(&scope_of(&korea), &[framework.id, draft.id, live.id, everyone.id])
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.id)
        .collect::<Vec<_>>();
    assert_eq!(listed, vec![framework.id, everyone.id], "by ids: visible ones only, in the order asked");
    let versions =
        store.offering_versions(&scope_of(&korea), &[framework.id, draft.id, live.id, everyone.id]).await.unwrap();
    assert_eq!(
        versions,
        vec![(framework.id, framework.version), (everyone.id, everyone.version)],
        "versions: the same visible ones, in the order asked, with their current versions"
    );
    assert!(store.offering_versions(&scope_of(&korea), &[]).await.unwrap().is_empty());
    let page = store.list_offerings(&scope_of(&japan()), &OfferingFilter::default(), &PageRequest::first(2)).await;
    let page = page.unwrap();
    assert_eq!(page.items.len(), 2);
    let rest = store
        .list_offerings(
            &scope_of(&japan()),
            &OfferingFilter::default(),
            &PageRequest { limit: 10, after: page.next_cursor.clone() },
        )
        .await
        .unwrap();
    assert_eq!(page.items.len() + rest.items.len(), 3, "JPN sees the three published offerings, each once");
}

pub(super) async fn the_nomination_loop_keeps_seats_quotas_and_the_waiting_list(store: DynStore) {
    fixture(&store).await;
    let offering = published(&store, "CYD-NDC-10", 1, 3, jpn_only()).await;
    let first = nominate(&store, &offering, 1).await.unwrap();
    let second = nominate(&store, &offering, 2).await.unwrap();
    let duplicate = nominate(&store, &offering, 1).await.unwrap_err();
    assert!(matches!(duplicate, StoreError::Conflict(ref m) if m.contains("already nominated")), "{duplicate}");
    assert_eq!(first.status, NominationStatus::Nominated);
    assert_eq!(first.marking, Marking::releasable_to([org("JPN"), org("NDC")]));
    let korea = principal(Role::PartnerOfficer, Some("KOR"), None);
    assert!(store.nomination(&scope_of(&korea), first.id).await.unwrap().is_none(), "other nations see nothing");

    let accepted = store.decide_nomination(&provider(), first.id, Some(1), Decision::Accept).await.unwrap();
    assert_eq!(accepted.status, NominationStatus::Accepted);
    let full = store.decide_nomination(&provider(), second.id, None, Decision::Accept).await.unwrap_err();
    assert!(matches!(full, StoreError::Conflict(ref m) if m.contains("no seat left")), "{full}");
    let waiting = store.decide_nomination(&provider(), second.id, None, Decision::Waitlist).await.unwrap();
    assert_eq!((waiting.status, waiting.waitlist_position), (NominationStatus::Waitlisted, Some(1)));
    let counted = store.offering(&ReadScope::system(), offering.id).await.unwrap().unwrap();
    assert_eq!((counted.seats_taken, counted.waitlisted, counted.open_seats()), (1, 1, 0));

    // Japan withdraws its accepted participant: the first on the waiting list gets the seat.
    let withdrawn = store
        .decide_nomination(&japan(), first.id, None, Decision::Withdraw { reason: Some("posting".into()) })
        .await
        .unwrap();
    assert_eq!(withdrawn.status, NominationStatus::Withdrawn);
    let promoted = store.nomination(&ReadScope::system(), second.id).await.unwrap().unwrap();
    assert_eq!(promoted.status, NominationStatus::Accepted, "promoted automatically");
    assert_eq!(promoted.waitlist_position, None);
    let history =
        store.history(&ReadScope::system(), EntityType::Nomination, &second.id.to_string()).await.unwrap().unwrap();
    assert_eq!(history.last().unwrap().actor, None, "the promotion is the system's doing");

    // After the event: attendance, feedback, report.
    let closed = store.transition_offering(&provider(), offering.id, None, OfferingStatus::Closed, None).await.unwrap();
    assert!(nominate(&store, &closed, 5).await.is_err(), "closed to nominations");
    let attended = store.record_attendance(&provider(), second.id, Attendance::Attended).await.unwrap();
    assert_eq!(attended.attendance, Some(Attendance::Attended));
    store.transition_offering(&provider(), offering.id, None, OfferingStatus::Held, None).await.unwrap();
    let participant =
        eprime_domain::Principal { username: "p2@example.jp".into(), ..principal(Role::Participant, None, None) };
    let ratings = Ratings { overall: 5, content: 4, organisation: 5, relevance: 4 };
    let with_feedback =
        store.give_feedback(&participant, second.id, ratings, Text::parse("Very useful.").unwrap()).await.unwrap();
    assert_eq!(with_feedback.feedback.as_ref().unwrap().given_by, "p2@example.jp");
    let again = store.give_feedback(&japan(), second.id, ratings, Text::default()).await.unwrap_err();
    assert!(matches!(again, StoreError::Conflict(_)), "feedback once: {again}");
    let stranger =
        eprime_domain::Principal { username: "someone@example.jp".into(), ..principal(Role::Participant, None, None) };
    let hidden = store.give_feedback(&stranger, second.id, ratings, Text::default()).await.unwrap_err();
    assert!(matches!(hidden, StoreError::NotFound(_)), "another participant cannot even see it: {hidden}");
    assert_eq!(store.nominations_of("P2@example.jp").await.unwrap().len(), 1);
    let reported = store
        .file_report(&provider(), offering.id, None, Text::parse("Held as planned.").unwrap(), Text::default())
        .await
        .unwrap();
    assert_eq!(reported.status, OfferingStatus::Reported);
    assert_eq!(reported.report.as_ref().unwrap().attended, 1);
    let nominations = store.list_nominations(&scope_of(&japan()), offering.id).await.unwrap().unwrap();
    assert_eq!(nominations.len(), 2);
}

pub(super) async fn concurrent_nominations_take_exactly_the_quota(store: DynStore) {
    fixture(&store).await;
    let offering = published(&store, "CYD-NDC-20", 100, 5, jpn_only()).await;
    let tasks: Vec<_> = (0..24)
        .map(|n| {
            let store = store.clone();
            let offering = offering.clone();
            tokio::spawn(async move { nominate(&store, &offering, n).await })
        })
        .collect();
    let mut succeeded = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => succeeded += 1,
            Err(StoreError::Conflict(message)) => assert!(message.contains("quota"), "{message}"),
            Err(other) => panic!("unexpected refusal: {other}"),
        }
    }
    assert_eq!(succeeded, 5, "exactly the quota succeeds");
    let all = store.list_nominations(&ReadScope::system(), offering.id).await.unwrap().unwrap();
    assert_eq!(all.len(), 5);
}

pub(super) async fn refused_menu_steps_change_nothing(store: DynStore) {
    fixture(&store).await;
    let korea = principal(Role::PartnerOfficer, Some("KOR"), None);
    let offering = published(&store, "CYD-NDC-30", 5, 1, jpn_only()).await;
    let before = store.last_change_seq().await.unwrap();
    let ineligible = store.nominate(&korea, NewNomination { offering: offering.id, ..nominee(1) }, TODAY).await;
    assert!(matches!(ineligible, Err(StoreError::NotFound(_))), "an ineligible partner cannot see it");
    let officer = japan();
    let late = store.nominate(&officer, NewNomination { offering: offering.id, ..nominee(1) }, date!(2026 - 04 - 02));
    assert!(matches!(late.await, Err(StoreError::Conflict(ref m)) if m.contains("deadline")));
    let wrong_role = principal(Role::AllyOfficer, None, Some("FRA"));
    let refused = store.nominate(&wrong_role, NewNomination { offering: offering.id, ..nominee(1) }, TODAY).await;
    assert!(matches!(refused, Err(StoreError::Forbidden(_))));
    let mut unqualified = NewNomination { offering: offering.id, ..nominee(1) };
    unqualified.participant.language_level = 0;
    unqualified.participant.clearance = Clearance::None;
    let mut strict_offering = new_offering("CYD-NDC-31", 5, 1, jpn_only());
    strict_offering.prerequisites = Prerequisites { clearance: Clearance::NatoSecret, language_level: 2 };
    let strict = store.create_offering(&provider(), strict_offering).await.unwrap();
    for to in [OfferingStatus::Submitted, OfferingStatus::Approved, OfferingStatus::Published] {
        store.transition_offering(&staff(), strict.id, None, to, None).await.unwrap();
    }
    unqualified.offering = strict.id;
    let refused = store.nominate(&japan(), unqualified, TODAY).await.unwrap_err();
    let StoreError::Invalid(errors) = refused else { panic!("prerequisites are field errors: {refused}") };
    let fields: Vec<_> = errors.0.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["clearance", "language_level"]);
    let invalid_step =
        store.transition_offering(&provider(), offering.id, None, OfferingStatus::Reported, None).await.unwrap_err();
    assert!(matches!(invalid_step, StoreError::Conflict(ref m) if m.contains("allowed")), "{invalid_step}");
    let not_nato =
        store.transition_offering(&japan(), offering.id, None, OfferingStatus::Closed, None).await.unwrap_err();
    assert!(matches!(not_nato, StoreError::Forbidden(_)));
    let no_reason =
        store.transition_offering(&staff(), offering.id, None, OfferingStatus::Cancelled, None).await.unwrap_err();
    assert!(matches!(no_reason, StoreError::Invalid(_)));
    let stale =
        store.transition_offering(&staff(), offering.id, Some(1), OfferingStatus::Closed, None).await.unwrap_err();
    assert!(matches!(stale, StoreError::Stale { .. }));
    let after_strict = store.last_change_seq().await.unwrap();
    // Only the second offering's four writes happened in between.
    assert_eq!(store.changes_after(before, 100).await.unwrap().len() as i64, 4);
    let unchanged = store.offering(&ReadScope::system(), offering.id).await.unwrap().unwrap();
    assert_eq!((unchanged.version, unchanged.status), (offering.version, OfferingStatus::Published));
    assert_eq!(store.last_change_seq().await.unwrap(), after_strict);
    // One nomination uses Japan's quota of one; the next is refused and leaves no row.
    nominate(&store, &offering, 1).await.unwrap();
    let over = nominate(&store, &offering, 2).await.unwrap_err();
    assert!(matches!(over, StoreError::Conflict(ref m) if m.contains("quota")));
    assert_eq!(store.list_nominations(&ReadScope::system(), offering.id).await.unwrap().unwrap().len(), 1);
}

pub(super) async fn participation_rolls_up_to_the_activity_and_its_goal(store: DynStore) {
    let (jpn_goal, _) = fixture(&store).await;
    let offering = published(&store, "CYD-NDC-40", 5, 3, jpn_only()).await;
    let mut adopted = new_activity("JPN", "Cyber Defence Course", Marking::releasable_to([org("JPN")]));
    adopted.supports = vec![jpn_goal];
    adopted.offering = Some(offering.id);
    let activity = store.create_activity(&japan(), adopted).await.unwrap();
    assert_eq!(activity.offering, Some(offering.id));
    let a = nominate(&store, &offering, 1).await.unwrap();
    nominate(&store, &offering, 2).await.unwrap();
    store.decide_nomination(&provider(), a.id, None, Decision::Accept).await.unwrap();
    store.transition_offering(&provider(), offering.id, None, OfferingStatus::Closed, None).await.unwrap();
    store.record_attendance(&provider(), a.id, Attendance::Attended).await.unwrap();
    let by_activity = store.activity_participation(&scope_of(&japan()), activity.id).await.unwrap().unwrap();
    assert_eq!((by_activity.events, by_activity.nominated, by_activity.accepted, by_activity.attended), (1, 2, 1, 1));
    let by_goal = store.element_participation(&scope_of(&japan()), jpn_goal).await.unwrap().unwrap();
    assert_eq!(by_goal, by_activity, "the goal has this one linked activity");
    let korea = principal(Role::PartnerOfficer, Some("KOR"), None);
    assert!(store.activity_participation(&scope_of(&korea), activity.id).await.unwrap().is_none());
    // Linking an offering the partner cannot see is refused.
    let hidden = store.create_offering(&provider(), new_offering("CYD-NDC-41", 5, 1, jpn_only())).await.unwrap();
    let mut sneaky = new_activity("JPN", "Hidden", Marking::releasable_to([org("JPN")]));
    sneaky.offering = Some(hidden.id);
    assert!(matches!(store.create_activity(&japan(), sneaky).await, Err(StoreError::Invalid(_))));
}

pub(super) async fn work_lists_find_nominations_within_scope(store: DynStore) {
    fixture(&store).await;
    let korea = principal(Role::PartnerOfficer, Some("KOR"), None);
    let early = published(&store, "CYD-NDC-50", 5, 3, Eligibility::AllPartners).await;
    let mut june = new_offering("CYD-NDC-51", 5, 3, Eligibility::AllPartners);
    june.sessions[0].starts_on = date!(2026 - 06 - 01);
    june.sessions[0].ends_on = date!(2026 - 06 - 05);
    let later = publish(&store, june).await;
    let p1 = nominate(&store, &later, 1).await.unwrap();
    let p2 = nominate(&store, &early, 2).await.unwrap();
    let p3 = nominate(&store, &early, 3).await.unwrap();
    let p4 = store.nominate(&korea, NewNomination { offering: early.id, ..nominee(4) }, TODAY).await.unwrap();
    let ids = |found: Vec<Nomination>| found.into_iter().map(|n| n.id).collect::<Vec<_>>();
    let find = |scope: ReadScope, filter: NominationFilter, limit: u32| {
        let store = store.clone();
        async move { ids(store.find_nominations(&scope, &filter, limit).await.unwrap()) }
    };
    let to_decide = NominationFilter {
        provider: Some(org("NDC")),
        statuses: vec![NominationStatus::Nominated],
        ..NominationFilter::default()
    };
    assert_eq!(
        find(scope_of(&provider()), to_decide.clone(), 50).await,
        [p2.id, p3.id, p4.id, p1.id],
        "the provider's nominations to decide, by the event's first day, then in the order made"
    );
    store.decide_nomination(&provider(), p2.id, None, Decision::Accept).await.unwrap();
    assert_eq!(find(scope_of(&provider()), to_decide.clone(), 50).await, [p3.id, p4.id, p1.id]);
    assert_eq!(find(scope_of(&provider()), to_decide.clone(), 1).await, [p3.id], "at most `limit`");
    let in_progress = NominationFilter {
        nation: Some(code("JPN")),
        statuses: vec![NominationStatus::Nominated, NominationStatus::Accepted, NominationStatus::Waitlisted],
        ..NominationFilter::default()
    };
    assert_eq!(find(scope_of(&japan()), in_progress.clone(), 50).await, [p2.id, p3.id, p1.id]);
    let after_may = NominationFilter { ends_after: Some(date!(2026 - 05 - 20)), ..in_progress.clone() };
    assert_eq!(find(scope_of(&japan()), after_may, 50).await, [p1.id], "only events not over by then");
    // Scope decides: Japan asking for all of NDC's nominations gets its own; Korea asking for
    // Japan's gets nothing; neither does the public.
    let all_of_ndc = NominationFilter { provider: Some(org("NDC")), ..NominationFilter::default() };
    assert_eq!(find(scope_of(&japan()), all_of_ndc.clone(), 50).await, [p2.id, p3.id, p1.id]);
    assert_eq!(find(scope_of(&korea), all_of_ndc, 50).await, [p4.id]);
    assert!(find(scope_of(&korea), in_progress.clone(), 50).await.is_empty());
    assert!(find(Caller::Anonymous.read_scope(), in_progress, 50).await.is_empty());
    let everything = find(ReadScope::system(), NominationFilter::default(), 50).await;
    assert_eq!(everything.len(), 4);

    // Open for nominations: published, deadline (1 April) not passed.
    store.transition_offering(&provider(), later.id, None, OfferingStatus::Closed, None).await.unwrap();
    let open = |on: time::Date| {
        let store = store.clone();
        async move {
            let filter = OfferingFilter { nominations_open_on: Some(on), ..OfferingFilter::default() };
            let page = store.list_offerings(&scope_of(&japan()), &filter, &PageRequest::first(10)).await.unwrap();
            page.items.into_iter().map(|o| o.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(open(date!(2026 - 04 - 01)).await, [early.id], "closed early, so only the other");
    assert!(open(date!(2026 - 04 - 02)).await.is_empty(), "the deadline has passed");
}

pub(super) async fn overdue_lists_match_the_overdue_rules(store: DynStore) {
    fixture(&store).await;
    let rules = OverdueRules::default();
    let nato = staff();
    // Held with one participant who attended and gave no feedback, one absent.
    let held = published(&store, "CYD-NDC-60", 5, 3, jpn_only()).await;
    let attended = nominate(&store, &held, 1).await.unwrap();
    let absent = nominate(&store, &held, 2).await.unwrap();
    // Held, its participant's feedback given.
    let answered = published(&store, "CYD-NDC-61", 5, 3, jpn_only()).await;
    let gave = nominate(&store, &answered, 3).await.unwrap();
    for (offering, accepted) in [(&held, vec![&attended, &absent]), (&answered, vec![&gave])] {
        for n in &accepted {
            store.decide_nomination(&provider(), n.id, None, Decision::Accept).await.unwrap();
        }
        store.transition_offering(&provider(), offering.id, None, OfferingStatus::Closed, None).await.unwrap();
        for n in accepted {
            let attendance = if n.id == absent.id { Attendance::Absent } else { Attendance::Attended };
            store.record_attendance(&provider(), n.id, attendance).await.unwrap();
        }
        store.transition_offering(&provider(), offering.id, None, OfferingStatus::Held, None).await.unwrap();
    }
    let ratings = Ratings { overall: 4, content: 4, organisation: 4, relevance: 4 };
    store.give_feedback(&japan(), gave.id, ratings, Text::default()).await.unwrap();
    // Reported; a draft; cancelled; still published after its dates.
    store.file_report(&provider(), answered.id, None, Text::parse("Done.").unwrap(), Text::default()).await.unwrap();
    store.create_offering(&provider(), new_offering("CYD-NDC-63", 5, 1, jpn_only())).await.unwrap();
    let cancelled = published(&store, "CYD-NDC-64", 5, 1, jpn_only()).await;
    store
        .transition_offering(&nato, cancelled.id, None, OfferingStatus::Cancelled, Some("no instructor".into()))
        .await
        .unwrap();
    published(&store, "CYD-NDC-65", 5, 1, jpn_only()).await;

    let all = store
        .list_offerings(&ReadScope::system(), &OfferingFilter::default(), &PageRequest::first(50))
        .await
        .unwrap()
        .items;
    assert_eq!(all.len(), 5);
    let mut seen_feedback = false;
    let mut seen_report = false;
    // The sessions end on 8 May 2026: around 14 and 30 days after it the answers change.
    for today in [
        date!(2026 - 05 - 08),
        date!(2026 - 05 - 22),
        date!(2026 - 05 - 23),
        date!(2026 - 06 - 07),
        date!(2026 - 06 - 08),
        date!(2027 - 01 - 01),
    ] {
        let mut expected = Vec::new();
        for offering in &all {
            for n in store.list_nominations(&ReadScope::system(), offering.id).await.unwrap().unwrap() {
                if rules.feedback_overdue(&n, offering, today) {
                    expected.push(n.id);
                }
            }
        }
        let filter =
            NominationFilter { feedback_missing_before: Some(rules.feedback_cutoff(today)), ..Default::default() };
        let found: Vec<_> =
            store.find_nominations(&scope_of(&japan()), &filter, 50).await.unwrap().into_iter().map(|n| n.id).collect();
        assert_eq!(found, expected, "feedback overdue on {today}");
        seen_feedback |= !found.is_empty();

        let expected: Vec<_> = all.iter().filter(|o| rules.report_overdue(o, today)).map(|o| o.id).collect();
        let filter = OfferingFilter { report_missing_before: Some(rules.report_cutoff(today)), ..Default::default() };
        let found: Vec<_> = store
            .list_offerings(&scope_of(&provider()), &filter, &PageRequest::first(50))
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|o| o.id)
            .collect();
        assert_eq!(found, expected, "reports overdue on {today}");
        seen_report |= !found.is_empty();
    }
    assert!(seen_feedback && seen_report, "the dates reach both overdue states");
}

/// An event with one session from `starts_on` to `ends_on`, published.
async fn held_from(store: &DynStore, code_text: &str, starts_on: time::Date, ends_on: time::Date) -> Offering {
    let mut new = new_offering(code_text, 10, 2, Eligibility::AllPartners);
    new.sessions[0].starts_on = starts_on;
    new.sessions[0].ends_on = ends_on;
    new.nomination_deadline = starts_on;
    publish(store, new).await
}

/// The first-day and last-day filters, alone, together and across pages: "coming" events start on or
/// after the day, "current" ones end on or after it, and a long course under way is one and not the
/// other (the home page once showed such courses as coming).
pub(super) async fn offerings_are_listed_by_their_first_and_last_days(store: DynStore) {
    fixture(&store).await;
    let today = date!(2026 - 05 - 10);
    let under_way = held_from(&store, "CYD-NDC-80", date!(2026 - 04 - 01), date!(2026 - 06 - 30)).await;
    held_from(&store, "CYD-NDC-81", date!(2026 - 05 - 04), date!(2026 - 05 - 08)).await;
    let starts_today = held_from(&store, "CYD-NDC-82", date!(2026 - 05 - 10), date!(2026 - 05 - 12)).await;
    let coming = held_from(&store, "CYD-NDC-83", date!(2026 - 06 - 01), date!(2026 - 06 - 05)).await;
    let scope = scope_of(&japan());
    let listed = async |filter: &OfferingFilter, page: &PageRequest| {
        let page = store.list_offerings(&scope, filter, page).await.unwrap();
        (page.items.iter().map(|o| o.id).collect::<Vec<_>>(), page.next_cursor)
    };
    let current = OfferingFilter { ends_after: Some(today), ..Default::default() };
    let (ids, _) = listed(&current, &PageRequest::first(10)).await;
    assert_eq!(ids, [under_way.id, starts_today.id, coming.id], "ending on or after the day, by first day");
    let to_come = OfferingFilter { starts_on_or_after: Some(today), ..Default::default() };
    let (ids, _) = listed(&to_come, &PageRequest::first(10)).await;
    assert_eq!(ids, [starts_today.id, coming.id], "starting on or after the day: not the course under way");
    let both = OfferingFilter { starts_on_or_after: Some(today), ..current.clone() };
    let (first, cursor) = listed(&both, &PageRequest::first(1)).await;
    assert_eq!(first, [starts_today.id]);
    let (second, cursor) = listed(&both, &PageRequest { limit: 1, after: cursor }).await;
    assert_eq!((second, cursor), (vec![coming.id], None), "the next page goes on from the cursor");
    // A cursor from before the first day (a page of all events) does not reach back past it.
    let (_, early) = listed(&OfferingFilter::default(), &PageRequest::first(1)).await;
    let (ids, _) = listed(&to_come, &PageRequest { limit: 10, after: early }).await;
    assert_eq!(ids, [starts_today.id, coming.id]);
    let (ids, _) = listed(
        &OfferingFilter { starts_on_or_after: Some(date!(2026 - 06 - 02)), ..Default::default() },
        &PageRequest::first(10),
    )
    .await;
    assert!(ids.is_empty(), "nothing starts after the last first day");
}
