//! Nominations: recorded, decided, attended and fed back, each in one write transaction.
//!
//! PostgreSQL runs many writers at once, through one instance or several. Every write here
//! therefore starts by locking the offering row (`offerings::lock`) and only then counts seats
//! and quotas or reads the nomination: writes about one offering run one after the other, so two
//! nominations cannot both take the last seat or the last place in a nation's quota. The
//! offering's lock is also the lock of its nominations (every nomination write takes it first),
//! so a nomination and the one promoted after it are never locked in different orders.

use eprime_domain::menu::{
    Attendance, Decision, Feedback, NewNomination, Nomination, NominationStatus, Offering, OfferingCode, Participant,
    Ratings, SeatLedger, is_participant, nominating_nation, nomination_marking, promotion_after,
};
use eprime_domain::{
    ActivityId, Caller, ElementId, Framework, NominationId, OfferingId, OrgCode, PartnerCode, Principal, ReadScope,
    Role, Text,
};
use eprime_store::{EntityType, NewChangeEntry, NominationFilter, Operation, PageRequest, Participation, StoreError};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor, PgPool, Row};
use time::Date;
use uuid::Uuid;

use crate::changelog::append;
use crate::codec::{backend, db_error, marking, now};
use crate::offerings;
use crate::scope::{bind_scope, visible};

macro_rules! nomination_select {
    () => {
        concat!(
            "SELECT n.id, n.offering, o.code AS offering_code, o.title AS offering_title, o.provider, n.nation,",
            " n.participant, n.status, n.status_reason, n.attendance, n.feedback, n.nominated_by, n.marking,",
            " n.version, n.created_at, n.updated_at,",
            " CASE WHEN n.status = 'waitlisted' THEN (SELECT count(*) FROM nominations w WHERE w.offering = n.offering",
            "   AND w.status = 'waitlisted' AND (w.waitlisted_at, w.id) <= (n.waitlisted_at, n.id)) END AS position,",
            " ARRAY(SELECT org FROM releasability",
            "   WHERE entity_type = 'nomination' AND entity_id = n.id::text) AS releasable",
            " FROM nominations n JOIN offerings o ON o.id = n.offering"
        )
    };
}

pub(crate) async fn fetch<'e>(
    executor: impl PgExecutor<'e>,
    scope: &ReadScope,
    id: NominationId,
) -> Result<Option<Nomination>, StoreError> {
    let sql = concat!(nomination_select!(), " WHERE n.id = $5 AND ", visible!("nomination", "n", "id::text"));
    let row = bind_scope(sqlx::query(sql), scope).bind(id.0).fetch_optional(executor).await.map_err(db_error)?;
    row.as_ref().map(from_row).transpose()
}

pub(crate) async fn get(pool: &PgPool, scope: &ReadScope, id: NominationId) -> Result<Option<Nomination>, StoreError> {
    fetch(pool, scope, id).await
}

pub(crate) async fn list(
    pool: &PgPool,
    scope: &ReadScope,
    offering: OfferingId,
) -> Result<Option<Vec<Nomination>>, StoreError> {
    if offerings::fetch(pool, scope, offering).await?.is_none() {
        return Ok(None);
    }
    let sql = concat!(
        nomination_select!(),
        " WHERE n.offering = $5 AND ",
        visible!("nomination", "n", "id::text"),
        " ORDER BY n.created_at, n.id"
    );
    let rows = bind_scope(sqlx::query(sql), scope).bind(offering.0).fetch_all(pool).await.map_err(db_error)?;
    rows.iter().map(from_row).collect::<Result<Vec<_>, _>>().map(Some)
}

/// `find` with the condition that drives the plan spelled out (a provider's offerings, or a
/// nation's nominations), so the planner uses that index whatever the other parameters are.
macro_rules! find_sql {
    ($driver:literal) => {
        concat!(
            nomination_select!(),
            " WHERE ",
            $driver,
            " AND ",
            visible!("nomination", "n", "id::text"),
            " AND ",
            visible!("offering", "o", "id::text"),
            " AND ($5::text IS NULL OR o.provider = $5) AND ($6::text IS NULL OR n.nation = $6)",
            " AND ($7::text[] IS NULL OR n.status = ANY($7))",
            " AND ($8::date IS NULL OR o.last_day >= $8)",
            // `OverdueRules::feedback_overdue` as SQL; the storage suite compares the two.
            " AND ($9::date IS NULL OR (n.attendance = 'attended' AND n.feedback IS NULL AND o.last_day < $9))",
            " ORDER BY o.sort_key, n.created_at, n.id LIMIT $10"
        )
    };
}

pub(crate) async fn find(
    pool: &PgPool,
    scope: &ReadScope,
    filter: &NominationFilter,
    limit: u32,
) -> Result<Vec<Nomination>, StoreError> {
    let sql = match (&filter.provider, &filter.nation) {
        (Some(_), _) => find_sql!("o.provider = $5"),
        (None, Some(_)) => find_sql!("n.nation = $6"),
        (None, None) => find_sql!("true"),
    };
    let statuses: Option<Vec<String>> =
        (!filter.statuses.is_empty()).then(|| filter.statuses.iter().map(|s| s.as_str().to_owned()).collect());
    let rows = bind_scope(sqlx::query(sql), scope)
        .bind(filter.provider.as_ref().map(|p| p.as_str().to_owned()))
        .bind(filter.nation.as_ref().map(|n| n.as_str().to_owned()))
        .bind(statuses)
        .bind(filter.ends_after)
        .bind(filter.feedback_missing_before)
        .bind(i64::from(limit.clamp(1, PageRequest::MAX_LIMIT)))
        .fetch_all(pool)
        .await
        .map_err(db_error)?;
    rows.iter().map(from_row).collect()
}

pub(crate) async fn of_email(pool: &PgPool, email: &str) -> Result<Vec<Nomination>, StoreError> {
    let sql = concat!(nomination_select!(), " WHERE n.email = $1 ORDER BY o.sort_key DESC");
    let rows = sqlx::query(sql).bind(email.trim().to_ascii_lowercase()).fetch_all(pool).await.map_err(db_error)?;
    rows.iter().map(from_row).collect()
}

async fn framework_of(tx: &mut PgConnection, nation: &PartnerCode) -> Result<Option<Framework>, StoreError> {
    let framework: Option<String> = sqlx::query_scalar("SELECT framework FROM partnerships WHERE partner = $1")
        .bind(nation.as_str().to_owned())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
    framework.map(|f| Framework::parse(&f).map_err(backend)).transpose()
}

pub(crate) async fn nominate(
    pool: &PgPool,
    actor: &Principal,
    new: NewNomination,
    today: Date,
) -> Result<Nomination, StoreError> {
    let scope = Caller::User(actor.clone()).read_scope();
    let nation = nominating_nation(actor, new.nation.as_ref())?;
    let not_found = || StoreError::NotFound(format!("offering {}", new.offering));
    let mut tx = pool.begin().await.map_err(db_error)?;
    // First, before anything is counted: concurrent nominators queue here (see the module docs).
    if !offerings::lock(&mut tx, &scope, new.offering).await? {
        return Err(not_found());
    }
    let offering = offerings::fetch(&mut *tx, &scope, new.offering).await?.ok_or_else(not_found)?;
    let framework = framework_of(&mut tx, &nation).await?;
    let nation_open: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM nominations WHERE offering = $1 AND nation = $2
             AND status IN ('nominated', 'accepted', 'waitlisted')",
    )
    .bind(offering.id.0)
    .bind(nation.as_str().to_owned())
    .fetch_one(&mut *tx)
    .await
    .map_err(db_error)?;
    let ledger = SeatLedger { taken: offering.seats_taken, nation_open: u32::try_from(nation_open).map_err(backend)? };
    ledger.check_nomination(&offering, &nation, framework, &new.participant, today)?;
    let already: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM nominations WHERE offering = $1 AND email = $2
             AND status IN ('nominated', 'accepted', 'waitlisted'))",
    )
    .bind(offering.id.0)
    .bind(new.participant.email.clone())
    .fetch_one(&mut *tx)
    .await
    .map_err(db_error)?;
    if already {
        return Err(StoreError::Conflict(format!(
            "{} is already nominated for {}",
            new.participant.email, offering.code
        )));
    }
    let at = now();
    let nomination = Nomination {
        id: NominationId::new(),
        offering: offering.id,
        offering_code: offering.code.clone(),
        offering_title: offering.title.to_string(),
        provider: offering.provider.clone(),
        marking: nomination_marking(&nation, &offering.provider),
        nation,
        participant: new.participant,
        status: NominationStatus::Nominated,
        status_reason: None,
        waitlist_position: None,
        attendance: None,
        feedback: None,
        nominated_by: actor.username.clone(),
        version: 1,
        created_at: at,
        updated_at: at,
    };
    sqlx::query(
        "INSERT INTO nominations (id, offering, nation, participant, email, status, nominated_by, marking, version,
             created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
    )
    .bind(nomination.id.0)
    .bind(nomination.offering.0)
    .bind(nomination.nation.as_str().to_owned())
    .bind(Json(nomination.participant.clone()))
    .bind(nomination.participant.email.clone())
    .bind(nomination.status.as_str())
    .bind(nomination.nominated_by.clone())
    .bind(nomination.marking.classification.as_str())
    .bind(nomination.version)
    .bind(at)
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    crate::releasability::replace(
        &mut tx,
        "nomination",
        &nomination.id.to_string(),
        nomination.marking.releasable_list(),
    )
    .await?;
    log(&mut tx, Some(actor), Operation::Create, None, &nomination).await?;
    tx.commit().await.map_err(db_error)?;
    Ok(nomination)
}

pub(crate) async fn decide(
    pool: &PgPool,
    actor: &Principal,
    id: NominationId,
    expected_version: Option<i64>,
    decision: Decision,
) -> Result<Nomination, StoreError> {
    let scope = Caller::User(actor.clone()).read_scope();
    let mut tx = pool.begin().await.map_err(db_error)?;
    let current = load_for_write(&mut tx, &scope, id, expected_version).await?;
    let offering = offering_of(&mut tx, &current).await?;
    decision.check(actor, &current, &offering)?;
    if decision == Decision::Accept {
        SeatLedger { taken: offering.seats_taken, nation_open: 0 }.check_seat(&offering)?;
    }
    let reason = match decision.reason() {
        Some(r) => Some(Text::parse(&r).map_err(|e| e.at("reason"))?.to_string()),
        None => None,
    };
    let next = Nomination {
        status: decision.target(),
        status_reason: reason,
        version: current.version + 1,
        updated_at: now(),
        ..current.clone()
    };
    save(&mut tx, &next, current.version).await?;
    recount(&mut tx, offering.id).await?;
    let next = reread(&mut tx, id).await?;
    // Every write first, the change-log appends last (see `changelog::append`); the entries keep
    // the order of the events: the decision, then the promotion it caused.
    let promoted = if promotion_after(current.status, next.status) {
        promote_first_waitlisted(&mut tx, offering.id).await?
    } else {
        None
    };
    log(&mut tx, Some(actor), Operation::Transition, Some(&current), &next).await?;
    if let Some((before, after)) = promoted {
        log(&mut tx, None, Operation::Transition, Some(&before), &after).await?;
    }
    tx.commit().await.map_err(db_error)?;
    Ok(next)
}

/// Gives the freed seat to the first on the waiting list (under the offering's lock, which the
/// caller holds); gives the promoted nomination before and after, for the change log, where it
/// is recorded as the system's doing.
async fn promote_first_waitlisted(
    tx: &mut PgConnection,
    offering: OfferingId,
) -> Result<Option<(Nomination, Nomination)>, StoreError> {
    let first: Option<Uuid> = sqlx::query_scalar(
        "SELECT id FROM nominations WHERE offering = $1 AND status = 'waitlisted'
         ORDER BY waitlisted_at, id LIMIT 1",
    )
    .bind(offering.0)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_error)?;
    let Some(first) = first else { return Ok(None) };
    let id = NominationId(first);
    let current = reread(tx, id).await?;
    let next = Nomination {
        status: NominationStatus::Accepted,
        status_reason: Some("promoted from the waiting list when a seat was freed".to_owned()),
        version: current.version + 1,
        updated_at: now(),
        ..current.clone()
    };
    save(tx, &next, current.version).await?;
    recount(tx, offering).await?;
    let next = reread(tx, id).await?;
    Ok(Some((current, next)))
}

pub(crate) async fn record_attendance(
    pool: &PgPool,
    actor: &Principal,
    id: NominationId,
    attendance: Attendance,
) -> Result<Nomination, StoreError> {
    let scope = Caller::User(actor.clone()).read_scope();
    let mut tx = pool.begin().await.map_err(db_error)?;
    let current = load_for_write(&mut tx, &scope, id, None).await?;
    let offering = offering_of(&mut tx, &current).await?;
    Attendance::check(actor, &current, &offering)?;
    let next =
        Nomination { attendance: Some(attendance), version: current.version + 1, updated_at: now(), ..current.clone() };
    save(&mut tx, &next, current.version).await?;
    log(&mut tx, Some(actor), Operation::Update, Some(&current), &next).await?;
    tx.commit().await.map_err(db_error)?;
    Ok(next)
}

pub(crate) async fn give_feedback(
    pool: &PgPool,
    actor: &Principal,
    id: NominationId,
    ratings: Ratings,
    comments: Text,
) -> Result<Nomination, StoreError> {
    let scope = Caller::User(actor.clone()).read_scope();
    let mut tx = pool.begin().await.map_err(db_error)?;
    let not_found = || StoreError::NotFound(format!("nomination {id}"));
    if !lock(&mut tx, id).await? {
        return Err(not_found());
    }
    // A participant's account sees no programme data; it reaches its own nomination by e-mail.
    let current = match fetch(&mut *tx, &scope, id).await? {
        Some(found) => found,
        None => match fetch(&mut *tx, &ReadScope::system(), id).await? {
            Some(own) if actor.role() == Role::Participant && is_participant(actor, &own) => own,
            _ => return Err(not_found()),
        },
    };
    let offering = offering_of(&mut tx, &current).await?;
    Feedback::check(actor, &current, &offering)?;
    let at = now();
    let next = Nomination {
        feedback: Some(Feedback { ratings, comments, given_by: actor.username.clone(), given_at: at }),
        version: current.version + 1,
        updated_at: at,
        ..current.clone()
    };
    save(&mut tx, &next, current.version).await?;
    log(&mut tx, Some(actor), Operation::Update, Some(&current), &next).await?;
    tx.commit().await.map_err(db_error)?;
    Ok(next)
}

/// Locks the offering of nomination `id` (and so the nomination: see the module docs); `false`
/// if there is no such nomination.
///
/// Not through the caller's scope: whether the caller may see the nomination is decided by the
/// read that follows (the lock is released at the end of a refused write, having changed nothing).
/// A nomination's offering never changes and nominations are never deleted, so the offering read
/// before the lock is still the nomination's after it.
async fn lock(tx: &mut PgConnection, id: NominationId) -> Result<bool, StoreError> {
    let offering: Option<Uuid> = sqlx::query_scalar("SELECT offering FROM nominations WHERE id = $1")
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
    match offering {
        Some(offering) => offerings::lock(tx, &ReadScope::system(), OfferingId(offering)).await,
        None => Ok(false),
    }
}

/// Locks the nomination a write is about (see [`lock`]), then reads it as the actor sees it (a
/// statement of its own, after the lock, so it sees what the previous writer committed) and
/// checks the caller's version.
async fn load_for_write(
    tx: &mut PgConnection,
    scope: &ReadScope,
    id: NominationId,
    expected_version: Option<i64>,
) -> Result<Nomination, StoreError> {
    let not_found = || StoreError::NotFound(format!("nomination {id}"));
    if !lock(tx, id).await? {
        return Err(not_found());
    }
    let current = fetch(&mut *tx, scope, id).await?.ok_or_else(not_found)?;
    match expected_version {
        Some(expected) if expected != current.version => Err(StoreError::Stale { expected, current: current.version }),
        _ => Ok(current),
    }
}

/// The (locked) offering of a nomination, whoever the actor is: the domain checks decide.
async fn offering_of(tx: &mut PgConnection, nomination: &Nomination) -> Result<Offering, StoreError> {
    offerings::fetch(&mut *tx, &ReadScope::system(), nomination.offering)
        .await?
        .ok_or_else(|| backend("a nomination without its offering"))
}

async fn reread(tx: &mut PgConnection, id: NominationId) -> Result<Nomination, StoreError> {
    fetch(&mut *tx, &ReadScope::system(), id).await?.ok_or_else(|| backend("a nomination vanished mid-write"))
}

/// Keeps the offering's counters equal to its nominations (one statement, inside the write).
async fn recount(tx: &mut PgConnection, offering: OfferingId) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE offerings SET
             seats_taken = (SELECT count(*) FROM nominations WHERE offering = $1 AND status = 'accepted'),
             waitlisted = (SELECT count(*) FROM nominations WHERE offering = $1 AND status = 'waitlisted')
         WHERE id = $1",
    )
    .bind(offering.0)
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    Ok(())
}

async fn save(tx: &mut PgConnection, next: &Nomination, previous_version: i64) -> Result<(), StoreError> {
    let result = sqlx::query(
        "UPDATE nominations SET status = $3, status_reason = $4,
             waitlisted_at = CASE WHEN $3 = 'waitlisted' THEN coalesce(waitlisted_at, $8) END,
             attendance = $5, feedback = $6, version = $7, updated_at = $8
         WHERE id = $1 AND version = $2",
    )
    .bind(next.id.0)
    .bind(previous_version)
    .bind(next.status.as_str())
    .bind(next.status_reason.clone())
    .bind(next.attendance.map(Attendance::as_str))
    .bind(next.feedback.clone().map(Json))
    .bind(next.version)
    .bind(next.updated_at)
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    if result.rows_affected() != 1 {
        // The offering's lock is held since `load_for_write`, so this cannot happen; if it ever
        // does, the write must not go through.
        return Err(StoreError::Stale { expected: previous_version, current: previous_version + 1 });
    }
    Ok(())
}

async fn log(
    tx: &mut PgConnection,
    actor: Option<&Principal>,
    operation: Operation,
    before: Option<&Nomination>,
    after: &Nomination,
) -> Result<(), StoreError> {
    append(tx, NewChangeEntry::about(after, actor.map(|a| a.username.as_str()), operation).before(before).after(after))
        .await
        .map(drop)
}

fn from_row(row: &PgRow) -> Result<Nomination, StoreError> {
    let text = |name: &str| row.try_get::<String, _>(name).map_err(backend);
    let participant: Participant = row.try_get::<Json<Participant>, _>("participant").map_err(backend)?.0;
    let attendance = match row.try_get::<Option<String>, _>("attendance").map_err(backend)?.as_deref() {
        Some("attended") => Some(Attendance::Attended),
        Some("absent") => Some(Attendance::Absent),
        _ => None,
    };
    Ok(Nomination {
        id: NominationId(row.try_get("id").map_err(backend)?),
        offering: OfferingId(row.try_get("offering").map_err(backend)?),
        offering_code: OfferingCode::parse(&text("offering_code")?).map_err(backend)?,
        offering_title: text("offering_title")?,
        provider: OrgCode::parse(&text("provider")?).map_err(backend)?,
        nation: PartnerCode::parse(&text("nation")?).map_err(backend)?,
        participant,
        status: NominationStatus::parse(&text("status")?).map_err(backend)?,
        status_reason: row.try_get("status_reason").map_err(backend)?,
        waitlist_position: row
            .try_get::<Option<i64>, _>("position")
            .map_err(backend)?
            .map(|p| u32::try_from(p).unwrap_or(u32::MAX)),
        attendance,
        feedback: row.try_get::<Option<Json<Feedback>>, _>("feedback").map_err(backend)?.map(|f| f.0),
        nominated_by: text("nominated_by")?,
        marking: marking(&text("marking")?, row.try_get("releasable").map_err(backend)?)?,
        version: row.try_get("version").map_err(backend)?,
        created_at: row.try_get("created_at").map_err(backend)?,
        updated_at: row.try_get("updated_at").map_err(backend)?,
    })
}

/// The roll-up columns, over nominations of each activity's own nation to its linked event.
macro_rules! participation_select {
    () => {
        concat!(
            "SELECT count(DISTINCT a.offering) AS events,",
            " coalesce(sum(CASE WHEN n.status IS NOT NULL AND n.status <> 'withdrawn' THEN 1 ELSE 0 END), 0) AS nominated,",
            " coalesce(sum(CASE WHEN n.status = 'accepted' THEN 1 ELSE 0 END), 0) AS accepted,",
            " coalesce(sum(CASE WHEN n.status = 'waitlisted' THEN 1 ELSE 0 END), 0) AS waitlisted,",
            " coalesce(sum(CASE WHEN n.attendance = 'attended' THEN 1 ELSE 0 END), 0) AS attended,",
            " coalesce(sum(CASE WHEN n.feedback IS NOT NULL THEN 1 ELSE 0 END), 0) AS feedback_given,",
            " avg((n.feedback->'ratings'->>'overall')::float8) AS average_rating",
            " FROM activities a LEFT JOIN nominations n ON n.offering = a.offering AND n.nation = a.partnership",
            " WHERE a.offering IS NOT NULL AND "
        )
    };
}

fn participation_from_row(row: &PgRow) -> Result<Participation, StoreError> {
    // count() and sum() of integers are bigint in PostgreSQL.
    let count = |name: &str| -> Result<u32, StoreError> {
        u32::try_from(row.try_get::<i64, _>(name).map_err(backend)?).map_err(backend)
    };
    Ok(Participation {
        events: count("events")?,
        nominated: count("nominated")?,
        accepted: count("accepted")?,
        waitlisted: count("waitlisted")?,
        attended: count("attended")?,
        feedback_given: count("feedback_given")?,
        average_rating: row.try_get("average_rating").map_err(backend)?,
    })
}

pub(crate) async fn activity_participation(
    pool: &PgPool,
    scope: &ReadScope,
    id: ActivityId,
) -> Result<Option<Participation>, StoreError> {
    if crate::activities::fetch(pool, scope, id).await?.is_none() {
        return Ok(None);
    }
    let sql = concat!(
        participation_select!(),
        "a.id = $5 AND ",
        visible!("activity", "a", "id::text", released_to = "partnership")
    );
    let row = bind_scope(sqlx::query(sql), scope).bind(id.0).fetch_one(pool).await.map_err(db_error)?;
    participation_from_row(&row).map(Some)
}

pub(crate) async fn element_participation(
    pool: &PgPool,
    scope: &ReadScope,
    id: ElementId,
) -> Result<Option<Participation>, StoreError> {
    if !crate::changelog::visible_record(pool, scope, EntityType::Element, &id.to_string()).await? {
        return Ok(None);
    }
    let sql = concat!(
        participation_select!(),
        "a.id IN (SELECT activity FROM activity_elements WHERE element = $5) AND ",
        visible!("activity", "a", "id::text", released_to = "partnership")
    );
    let row = bind_scope(sqlx::query(sql), scope).bind(id.0).fetch_one(pool).await.map_err(db_error)?;
    participation_from_row(&row).map(Some)
}
