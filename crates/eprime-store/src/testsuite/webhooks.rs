//! What every store must show of webhooks: managed only within an administrator's scope, logged
//! without their secret, fed from the change log with exactly the changes their organisation may
//! see (once each, whoever queues), claimed by one sender at a time, retried, logged, redelivered.

use std::time::Duration;

use eprime_domain::ids::{DeliveryId, WebhookId};
use eprime_domain::{AccountScope, Marking, OrgKind, Principal, Role};
use time::OffsetDateTime;

use super::{code, fixture, new_activity, org, principal, staff};
use crate::{
    AttemptOutcome, AttemptRecord, AuditFilter, ChangeFilter, DeliveryState, DynStore, EntityType, NewWebhook,
    Operation, PageRequest, StoreError, WebhookChanges,
};

const LEASE: Duration = Duration::from_secs(60);

pub(super) fn new_webhook(organisation: &str, filter: ChangeFilter) -> NewWebhook {
    NewWebhook {
        organisation: org(organisation),
        url: format!("https://{}.example.org/hook", organisation.to_lowercase()),
        description: format!("{organisation} system"),
        filter,
        active: true,
        secret: format!("secret-of-{organisation}-0123456789abcdef"),
    }
}

pub(super) fn jpn_admin() -> Principal {
    principal(Role::PartnerAdmin, Some("JPN"), None)
}

fn kor_admin() -> Principal {
    principal(Role::PartnerAdmin, Some("KOR"), None)
}

fn nato_admin() -> Principal {
    principal(Role::NatoAdmin, None, None)
}

fn jpn_scope() -> AccountScope {
    AccountScope::Partner(code("JPN"))
}

fn kor_scope() -> AccountScope {
    AccountScope::Partner(code("KOR"))
}

pub(super) async fn webhooks_are_managed_within_scope_and_logged_without_secrets(store: DynStore) {
    fixture(&store).await;
    let created = store.create_webhook(&jpn_admin(), new_webhook("JPN", ChangeFilter::default())).await.unwrap();
    assert_eq!(created.organisation_kind, OrgKind::Partner);
    assert_eq!((created.version, created.active), (1, true));
    assert_eq!(created.since_seq, store.last_change_seq().await.unwrap(), "it starts at its own creation");
    let read = store.webhook(&jpn_scope(), created.id).await.unwrap().expect("visible to its own nation");
    assert_eq!(read, created, "reads back as written");

    let refused = store.create_webhook(&jpn_admin(), new_webhook("KOR", ChangeFilter::default())).await;
    assert!(matches!(refused, Err(StoreError::Forbidden(_))), "another nation's: {refused:?}");
    let refused = store.create_webhook(&staff(), new_webhook("JPN", ChangeFilter::default())).await;
    assert!(matches!(refused, Err(StoreError::Forbidden(_))), "not an administrator: {refused:?}");
    let unknown = store.create_webhook(&nato_admin(), new_webhook("XYZ", ChangeFilter::default())).await;
    assert!(matches!(unknown, Err(StoreError::Invalid(_))), "unknown organisation: {unknown:?}");
    let fra = store.create_webhook(&nato_admin(), new_webhook("FRA", ChangeFilter::default())).await.unwrap();
    assert_eq!(fra.organisation_kind, OrgKind::Ally);

    let ids = |list: Vec<crate::Webhook>| list.into_iter().map(|w| w.id).collect::<Vec<_>>();
    assert_eq!(ids(store.list_webhooks(&jpn_scope()).await.unwrap()), [created.id]);
    assert!(store.list_webhooks(&kor_scope()).await.unwrap().is_empty());
    assert_eq!(store.list_webhooks(&AccountScope::All).await.unwrap().len(), 2);
    assert_eq!(store.webhook(&kor_scope(), created.id).await.unwrap(), None, "hidden looks absent");

    let pause = || WebhookChanges { active: Some(false), ..Default::default() };
    let hidden = store.update_webhook(&kor_admin(), created.id, None, pause()).await;
    assert!(matches!(hidden, Err(StoreError::NotFound(_))), "another nation's webhook: {hidden:?}");
    let paused = store.update_webhook(&jpn_admin(), created.id, Some(1), pause()).await.unwrap();
    assert_eq!((paused.version, paused.active), (2, false));
    let stale = store.update_webhook(&jpn_admin(), created.id, Some(1), pause()).await;
    assert!(matches!(stale, Err(StoreError::Stale { expected: 1, current: 2 })), "{stale:?}");
    let rotated = WebhookChanges { secret: Some("a-new-secret-fedcba9876543210".into()), ..Default::default() };
    let rotated = store.update_webhook(&jpn_admin(), created.id, None, rotated).await.unwrap();
    assert_eq!(rotated.secret, "a-new-secret-fedcba9876543210");
    assert_eq!(store.webhook(&jpn_scope(), created.id).await.unwrap().unwrap().secret, rotated.secret);

    let missing = store.delete_webhook(&kor_admin(), created.id).await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))), "{missing:?}");
    store.delete_webhook(&jpn_admin(), created.id).await.unwrap();
    assert_eq!(store.webhook(&AccountScope::All, created.id).await.unwrap(), None);

    let filter = AuditFilter { entity: Some(EntityType::Webhook), ..Default::default() };
    let logged = store.audit(&eprime_domain::AuditScope::All, &filter, &PageRequest::first(50)).await.unwrap();
    let operations: Vec<Operation> = logged.items.iter().rev().map(|e| e.operation).collect();
    assert_eq!(
        operations,
        [Operation::Create, Operation::Create, Operation::Update, Operation::RotateSecret, Operation::Delete]
    );
    for entry in &logged.items {
        let text = serde_json::to_string(entry).unwrap();
        assert!(!text.contains("secret-of-") && !text.contains("a-new-secret"), "a secret in the log: {text}");
    }
    assert!(
        store
            .history(&eprime_domain::ReadScope::system(), EntityType::Webhook, &created.id.to_string())
            .await
            .unwrap()
            .is_none(),
        "webhooks have no record history page"
    );
    let after = store.last_change_seq().await.unwrap();
    let stream = store.changes_after(0, 10_000).await.unwrap();
    assert!(
        stream.iter().filter(|e| e.entity == EntityType::Webhook).all(|e| e.marking().is_none()),
        "never passed on"
    );
    assert!(stream.last().is_some_and(|e| e.seq == after));
}

pub(super) async fn deliveries_carry_what_the_organisation_may_see_and_are_retried_and_redelivered(store: DynStore) {
    fixture(&store).await;
    let jpn = store.create_webhook(&jpn_admin(), new_webhook("JPN", ChangeFilter::default())).await.unwrap();
    let korea_only = ChangeFilter { partnership: Some(code("KOR")), entities: Some(vec![EntityType::Activity]) };
    let nato = store.create_webhook(&nato_admin(), new_webhook("NATO", korea_only)).await.unwrap();
    let fra = store.create_webhook(&nato_admin(), new_webhook("FRA", ChangeFilter::default())).await.unwrap();
    // The webhooks' own creation is never delivered.
    let first = store.enqueue_deliveries(100).await.unwrap();
    assert_eq!(first.deliveries, 0, "{first:?}");
    assert_eq!(first.position, store.last_change_seq().await.unwrap());

    let writer = staff();
    let japan = store.create_activity(&writer, new_activity("JPN", "Japan only", Marking::releasable_to([org("JPN")])));
    let japan = japan.await.unwrap();
    let korea = store.create_activity(&writer, new_activity("KOR", "Korea only", Marking::releasable_to([org("KOR")])));
    let korea = korea.await.unwrap();
    let public = store.create_activity(&writer, new_activity("JPN", "Public", Marking::public())).await.unwrap();
    // Two instances queueing at once queue each change once.
    let (a, b) = tokio::join!(store.enqueue_deliveries(2), store.enqueue_deliveries(2));
    let (a, b) = (a.unwrap(), b.unwrap());
    let rest = store.enqueue_deliveries(100).await.unwrap();
    assert_eq!(a.entries + b.entries + rest.entries, 3, "{a:?} {b:?} {rest:?}");
    // JPN: its own and the public one; NATO (KOR activities only): Korea's; FRA: the public one.
    assert_eq!(a.deliveries + b.deliveries + rest.deliveries, 4, "{a:?} {b:?} {rest:?}");
    let again = store.enqueue_deliveries(100).await.unwrap();
    assert_eq!((again.entries, again.deliveries), (0, 0));
    assert_eq!(again.position, store.last_change_seq().await.unwrap());

    let now = OffsetDateTime::now_utc() + time::Duration::seconds(1);
    // Two senders claiming at once never get the same delivery.
    let (x, y) = tokio::join!(store.claim_due_deliveries(now, LEASE, 3), store.claim_due_deliveries(now, LEASE, 3));
    let mut claimed: Vec<_> = x.unwrap().into_iter().chain(y.unwrap()).collect();
    claimed.sort_by_key(|c| c.entry.seq);
    let mut ids: Vec<DeliveryId> = claimed.iter().map(|c| c.id).collect();
    ids.dedup();
    assert_eq!(ids.len(), 4, "each delivery claimed once: {claimed:?}");
    assert!(store.claim_due_deliveries(now, LEASE, 10).await.unwrap().is_empty(), "leased");
    let to = |hook: WebhookId| -> Vec<String> {
        claimed.iter().filter(|c| c.webhook == hook).map(|c| c.entry.entity_id.clone()).collect()
    };
    assert_eq!(to(jpn.id), [japan.id.to_string(), public.id.to_string()]);
    assert_eq!(to(nato.id), [korea.id.to_string()]);
    assert_eq!(to(fra.id), [public.id.to_string()]);
    let mine = claimed.iter().find(|c| c.webhook == jpn.id && c.entry.entity_id == japan.id.to_string()).unwrap();
    assert_eq!((mine.attempts, mine.round_attempts, mine.url.as_str()), (0, 0, "https://jpn.example.org/hook"));
    assert_eq!(mine.secret, jpn.secret);

    // The first attempt fails and is retried a second later; the second succeeds.
    let failed = AttemptRecord {
        delivery: mine.id,
        number: 1,
        at: now,
        status: Some(500),
        error: Some("HTTP 500".into()),
        duration_ms: 12,
        outcome: AttemptOutcome::RetryAt(now + time::Duration::seconds(1)),
    };
    assert!(store.record_attempt(failed.clone()).await.unwrap());
    assert!(!store.record_attempt(failed).await.unwrap(), "an attempt is recorded once");
    assert!(store.claim_due_deliveries(now, LEASE, 10).await.unwrap().is_empty(), "not due yet");
    let later = now + time::Duration::seconds(2);
    let retry = store.claim_due_deliveries(later, LEASE, 10).await.unwrap();
    assert_eq!(retry.iter().map(|c| (c.id, c.attempts, c.round_attempts)).collect::<Vec<_>>(), [(mine.id, 1, 1)]);
    let delivered = AttemptRecord {
        delivery: mine.id,
        number: 2,
        at: later,
        status: Some(204),
        error: None,
        duration_ms: 7,
        outcome: AttemptOutcome::Delivered,
    };
    assert!(store.record_attempt(delivered).await.unwrap());
    let fra_delivery = claimed.iter().find(|c| c.webhook == fra.id).unwrap().id;
    let gave_up = AttemptRecord {
        delivery: fra_delivery,
        number: 1,
        at: later,
        status: None,
        error: Some("connection refused".into()),
        duration_ms: 1,
        outcome: AttemptOutcome::Failed,
    };
    assert!(store.record_attempt(gave_up).await.unwrap());

    // The delivery log: newest first, in pages, with every attempt; another nation sees nothing.
    let log = store.list_deliveries(&jpn_scope(), jpn.id, &PageRequest::first(1)).await.unwrap().unwrap();
    assert_eq!(log.items.len(), 1);
    assert_eq!(log.items[0].entity_id, public.id.to_string(), "newest first");
    assert_eq!(log.items[0].state, DeliveryState::Pending);
    assert!(log.items[0].next_attempt_at.is_some());
    let next = PageRequest { limit: 1, after: log.next_cursor.clone() };
    let second = store.list_deliveries(&jpn_scope(), jpn.id, &next).await.unwrap().unwrap();
    assert!(second.next_cursor.is_none());
    let entry = &second.items[0];
    assert_eq!(
        (entry.id, entry.state, entry.attempts, entry.round_attempts),
        (mine.id, DeliveryState::Delivered, 2, 2)
    );
    assert_eq!((entry.entity, entry.operation, entry.seq), (EntityType::Activity, Operation::Create, mine.entry.seq));
    assert!(entry.delivered_at.is_some() && entry.next_attempt_at.is_none());
    let statuses: Vec<_> = entry.attempt_log.iter().map(|a| (a.number, a.status, a.error.clone())).collect();
    assert_eq!(statuses, [(1, Some(500), Some("HTTP 500".to_owned())), (2, Some(204), None)]);
    assert_eq!(store.list_deliveries(&kor_scope(), jpn.id, &PageRequest::first(10)).await.unwrap(), None);
    let bad = PageRequest { limit: 5, after: Some("not-a-cursor".into()) };
    assert!(matches!(store.list_deliveries(&jpn_scope(), jpn.id, &bad).await, Err(StoreError::Invalid(_))));
    let fra_log = store.list_deliveries(&AccountScope::All, fra.id, &PageRequest::first(10)).await.unwrap().unwrap();
    assert_eq!(fra_log.items[0].state, DeliveryState::Failed);

    // Redelivery: a new round for a delivered one, within the manager's scope only.
    let hidden = store.redeliver(&kor_admin(), jpn.id, mine.id, later).await;
    assert!(matches!(hidden, Err(StoreError::NotFound(_))), "{hidden:?}");
    let wrong_hook = store.redeliver(&nato_admin(), nato.id, mine.id, later).await;
    assert!(matches!(wrong_hook, Err(StoreError::NotFound(_))), "{wrong_hook:?}");
    let again = store.redeliver(&jpn_admin(), jpn.id, mine.id, later).await.unwrap();
    assert_eq!((again.state, again.attempts, again.round_attempts), (DeliveryState::Pending, 2, 0));
    let resent = store.claim_due_deliveries(later, LEASE, 10).await.unwrap();
    assert_eq!(resent.iter().map(|c| (c.id, c.attempts, c.round_attempts)).collect::<Vec<_>>(), [(mine.id, 2, 0)]);

    // A paused webhook is sent nothing, and queues nothing meanwhile.
    let pause = WebhookChanges { active: Some(false), ..Default::default() };
    store.update_webhook(&jpn_admin(), jpn.id, None, pause).await.unwrap();
    let much_later = later + time::Duration::minutes(5);
    assert!(store.claim_due_deliveries(much_later, LEASE, 10).await.unwrap().iter().all(|c| c.webhook != jpn.id));
    store.create_activity(&writer, new_activity("JPN", "While paused", Marking::public())).await.unwrap();
    let queued = store.enqueue_deliveries(100).await.unwrap();
    assert_eq!(queued.deliveries, 1, "only FRA's: {queued:?}");
    // Deleting a webhook deletes its deliveries.
    store.delete_webhook(&jpn_admin(), jpn.id).await.unwrap();
    assert_eq!(store.list_deliveries(&AccountScope::All, jpn.id, &PageRequest::first(10)).await.unwrap(), None);
}
