//! The menu in the real-time exchange, on every store: discussions of menu events and who reads
//! them, watches on events, overdue feedback and reports announced once to those who owe them,
//! and participants told about their own nominations and nobody else's.

use eprime_domain::menu::{Attendance, Decision, Eligibility, NewNomination, OfferingStatus, OverdueRules, Ratings};
use eprime_domain::{Caller, Marking, Principal, ReadScope, Role, RoleBinding, SubjectKind, Text};
use time::macros::date;

use super::menu::{TODAY, new_offering, nominee, provider, published, scope_of};
use super::{code, fixture, org, principal, staff};
use crate::{
    DynStore, EntityType, NewComment, NewUser, Notification, NotificationReason, Operation, PageRequest, StoreError,
};

/// Stored accounts (the notifier tells accounts, not principals made up for a call).
async fn account(store: &DynStore, username: &str, role: Role, partner: Option<&str>, org: Option<&str>) -> Principal {
    let binding =
        RoleBinding::new(role, partner.map(code), org.map(|o| eprime_domain::OrgCode::parse(o).unwrap())).unwrap();
    let new = NewUser { username: username.into(), display_name: username.into(), binding, password_hash: "x".into() };
    store.create_user(None, new).await.unwrap().principal()
}

async fn inbox(store: &DynStore, user: &Principal) -> Vec<Notification> {
    store.list_notifications(user, false, &PageRequest::first(100)).await.unwrap().items
}

async fn catch_up(store: &DynStore) {
    while store.generate_notifications(100).await.unwrap() > 0 {}
}

fn comment_on(offering: eprime_domain::OfferingId, body: &str, marking: Option<Marking>) -> NewComment {
    NewComment { subject: SubjectKind::Offering, subject_id: offering.to_string(), body: body.into(), marking }
}

pub(super) async fn a_menu_event_is_discussed_by_those_who_see_it_each_side_apart(store: DynStore) {
    fixture(&store).await;
    let japan = account(&store, "jpn.desk", Role::PartnerOfficer, Some("JPN"), None).await;
    let korea = account(&store, "kor.desk", Role::PartnerOfficer, Some("KOR"), None).await;
    let ally = principal(Role::AllyOfficer, None, Some("FRA"));
    let ndc = provider();
    catch_up(&store).await;
    let event = published(&store, "CYD-NDC-50", 10, 2, Eligibility::AllPartners).await;
    let id = event.id.to_string();

    // A partner's comment: NATO, the provider and that partner — not the other partners.
    let asked = store.create_comment(&japan, comment_on(event.id, "Is there a reading list? @kor.desk", None)).await;
    let asked = asked.unwrap();
    assert_eq!(asked.partnership, None, "a menu event belongs to no partnership");
    assert_eq!(asked.marking, Marking::releasable_to([org("JPN"), org("NDC")]));
    let thread = |scope: ReadScope| {
        let store = store.clone();
        let id = id.clone();
        async move { store.list_comments(&scope, SubjectKind::Offering, &id).await.unwrap() }
    };
    assert_eq!(thread(scope_of(&japan)).await.unwrap().len(), 1);
    assert_eq!(thread(scope_of(&provider())).await.unwrap().len(), 1, "the provider reads it");
    assert_eq!(thread(ReadScope::system()).await.unwrap().len(), 1);
    assert_eq!(thread(scope_of(&korea)).await, Some(vec![]), "Korea sees the event, not Japan's comment");
    assert!(store.comment(&scope_of(&korea), asked.id).await.unwrap().is_none());
    assert_eq!(thread(scope_of(&ally)).await, None, "an Ally it is not released to sees no event at all");
    assert_eq!(thread(Caller::Anonymous.read_scope()).await, None);
    let hidden = store.create_comment(&ally, comment_on(event.id, "Hello?", None)).await.unwrap_err();
    assert!(matches!(hidden, StoreError::NotFound(_)), "{hidden}");

    // The provider answers every partner the event is open to.
    let answer = Some(Marking::releasable_to([eprime_domain::OrgCode::partners()]));
    let answered = store.create_comment(&ndc, comment_on(event.id, "Yes: see the course page.", answer));
    let answered = answered.await.unwrap();
    assert_eq!(thread(scope_of(&korea)).await.unwrap().len(), 1, "released to the partners, Korea reads it");

    // Edited by its author only, deleted by its author or NATO staff, every version kept.
    let edit = store.edit_comment(&korea, asked.id, None, "Hijack".into()).await.unwrap_err();
    assert!(matches!(edit, StoreError::NotFound(_)), "Korea cannot see it, so cannot touch it: {edit}");
    let edited = store.edit_comment(&japan, asked.id, Some(1), "Is there a reading list?".into()).await.unwrap();
    assert!(edited.mentions.is_empty());
    store.delete_comment(&staff(), answered.id).await.unwrap();
    let history = store.history(&scope_of(&japan), EntityType::Comment, &asked.id.to_string()).await.unwrap();
    assert_eq!(history.unwrap().len(), 2);
    assert!(store.history(&scope_of(&korea), EntityType::Comment, &asked.id.to_string()).await.unwrap().is_none());

    // A draft is discussed by NATO and its provider only, whatever the comment is released to,
    // in reads and in every change passed on (stream, webhooks, notifications).
    let draft = store.create_offering(&ndc, new_offering("CYD-NDC-51", 10, 2, Eligibility::AllPartners));
    let draft = draft.await.unwrap();
    let before = store.last_change_seq().await.unwrap();
    let early = Some(Marking::releasable_to([eprime_domain::OrgCode::partners()]));
    let early = store.create_comment(&ndc, comment_on(draft.id, "Dates to be confirmed @jpn.desk", early));
    let early = early.await.unwrap();
    let refused = store.create_comment(&japan, comment_on(draft.id, "Can we come?", None)).await.unwrap_err();
    assert!(matches!(refused, StoreError::NotFound(_)), "{refused}");
    let draft_thread = store.list_comments(&scope_of(&japan), SubjectKind::Offering, &draft.id.to_string()).await;
    assert_eq!(draft_thread.unwrap(), None);
    assert!(store.comment(&scope_of(&japan), early.id).await.unwrap().is_none());
    let logged = store.changes_after(before, 10).await.unwrap();
    let visibility = logged.iter().find(|e| e.entity_id == early.id.to_string()).unwrap().visibility().unwrap();
    assert!(!visibility.admits(&scope_of(&japan)), "the change is passed on only with the event");
    assert!(visibility.admits(&scope_of(&provider())));

    // Watching an event: its discussion reaches the inbox, only where the comment may be read.
    let watch = store.watch(&korea, EntityType::Offering, &draft.id.to_string()).await.unwrap_err();
    assert!(matches!(watch, StoreError::NotFound(_)), "no watching a draft one cannot see");
    catch_up(&store).await; // the notifier reads watches as it goes: earlier changes are not news
    store.watch(&korea, EntityType::Offering, &id).await.unwrap();
    store.create_comment(&japan, comment_on(event.id, "Japan only", None)).await.unwrap();
    let to_partners = Some(Marking::releasable_to([eprime_domain::OrgCode::partners()]));
    store.create_comment(&ndc, comment_on(event.id, "Room changed", to_partners)).await.unwrap();
    catch_up(&store).await;
    let korean = inbox(&store, &korea).await;
    let summaries: Vec<&str> = korean.iter().map(|n| n.summary.as_str()).collect();
    assert_eq!(korean.len(), 1, "Korea is told of the comment it may read, no other: {summaries:?}");
    assert_eq!((korean[0].reason, korean[0].entity), (NotificationReason::Watched, EntityType::Offering));
    assert_eq!(korean[0].entity_id, id);
    assert!(korean[0].summary.contains("Room changed"), "{}", korean[0].summary);
    let japanese = inbox(&store, &japan).await;
    assert!(japanese.is_empty(), "a mention in a draft Japan may not see tells Japan nothing: {japanese:?}");
    assert!(store.unwatch(&korea, EntityType::Offering, &id).await.unwrap());
}

pub(super) async fn overdue_feedback_and_reports_are_announced_once_to_those_who_owe_them(store: DynStore) {
    fixture(&store).await;
    let officer = account(&store, "jpn.desk", Role::PartnerOfficer, Some("JPN"), None).await;
    let ndc = account(&store, "ndc.desk", Role::Provider, None, Some("NDC")).await;
    let attended = account(&store, "p1@example.jp", Role::Participant, None, None).await;
    let absent = account(&store, "p2@example.jp", Role::Participant, None, None).await;
    let event = published(&store, "CYD-NDC-60", 10, 3, Eligibility::Nations { nations: vec![code("JPN")] }).await;
    let mut nominations = Vec::new();
    for n in [1, 2] {
        let new = NewNomination { offering: event.id, ..nominee(n) };
        nominations.push(store.nominate(&officer, new, TODAY).await.unwrap());
    }
    for nomination in &nominations {
        store.decide_nomination(&ndc, nomination.id, None, Decision::Accept).await.unwrap();
    }
    store.transition_offering(&ndc, event.id, None, OfferingStatus::Closed, None).await.unwrap();
    store.record_attendance(&ndc, nominations[0].id, Attendance::Attended).await.unwrap();
    store.record_attendance(&ndc, nominations[1].id, Attendance::Absent).await.unwrap();
    store.transition_offering(&ndc, event.id, None, OfferingStatus::Held, None).await.unwrap();
    catch_up(&store).await;

    // Participants hear of their own nominations (the provider accepted them), each of its own only.
    for (participant, nomination) in [(&attended, &nominations[0]), (&absent, &nominations[1])] {
        let heard = inbox(&store, participant).await;
        assert!(!heard.is_empty(), "{} is told about its nomination", participant.username);
        assert!(
            heard.iter().all(|n| n.entity == EntityType::Nomination && n.entity_id == nomination.id.to_string()),
            "{} is told about its own nomination and nothing else: {heard:?}",
            participant.username
        );
        assert!(heard.iter().any(|n| n.summary.contains("accepted")), "{heard:?}");
        // …without reading anything more than before.
        assert!(store.nomination(&scope_of(participant), nomination.id).await.unwrap().is_none());
    }

    // The event's last day is 8 May; feedback is due 14 days later, the report 30.
    let rules = OverdueRules::default();
    let before = store.last_change_seq().await.unwrap();
    assert_eq!(store.record_overdue(&rules, date!(2026 - 05 - 22), 100).await.unwrap(), 0, "not yet overdue");
    // Two sweeps at once (two instances): one announcement.
    let (a, b) = tokio::join!(
        store.record_overdue(&rules, date!(2026 - 05 - 23), 100),
        store.record_overdue(&rules, date!(2026 - 05 - 23), 100)
    );
    assert_eq!(a.unwrap() + b.unwrap(), 1, "the attended participant's feedback, once");
    assert_eq!(store.record_overdue(&rules, date!(2026 - 05 - 24), 100).await.unwrap(), 0, "never twice");
    let logged = store.changes_after(before, 10).await.unwrap();
    assert_eq!(logged.len(), 1);
    assert_eq!((logged[0].entity, logged[0].operation), (EntityType::Nomination, Operation::Overdue));
    assert_eq!(
        (logged[0].entity_id.as_str(), logged[0].actor.as_deref()),
        (nominations[0].id.to_string().as_str(), None)
    );
    assert_eq!(store.record_overdue(&rules, date!(2026 - 06 - 08), 100).await.unwrap(), 1, "then the report");
    assert_eq!(store.record_overdue(&rules, date!(2026 - 06 - 09), 100).await.unwrap(), 0);
    catch_up(&store).await;

    let reasons = |items: &[Notification]| -> Vec<NotificationReason> {
        items
            .iter()
            .map(|n| n.reason)
            .filter(|r| matches!(r, NotificationReason::OverdueFeedback | NotificationReason::OverdueReport))
            .collect()
    };
    let heard = inbox(&store, &attended).await;
    assert_eq!(reasons(&heard), [NotificationReason::OverdueFeedback], "the participant owes feedback");
    assert!(heard[0].summary.contains("overdue"), "{}", heard[0].summary);
    assert_eq!(reasons(&inbox(&store, &officer).await), [NotificationReason::OverdueFeedback], "and its officer");
    assert!(reasons(&inbox(&store, &absent).await).is_empty(), "who did not attend owes nothing");
    assert_eq!(
        reasons(&inbox(&store, &ndc).await),
        [NotificationReason::OverdueReport],
        "the provider owes the report"
    );

    // Once given and filed, nothing more is overdue.
    let ratings = Ratings { overall: 4, content: 4, organisation: 4, relevance: 4 };
    store.give_feedback(&attended, nominations[0].id, ratings, Text::default()).await.unwrap();
    store.file_report(&ndc, event.id, None, Text::parse("Held.").unwrap(), Text::default()).await.unwrap();
    assert_eq!(store.record_overdue(&rules, date!(2027 - 01 - 01), 100).await.unwrap(), 0);
}
