//! Nominations: recorded, decided, attended and fed back, each in one write transaction.
//!
//! SQLite has one writer connection, so everything between reading the counts and writing the
//! nomination runs alone: the seat and quota checks cannot race.

use eprime_domain::menu::{
    Attendance, Decision, Feedback, NewNomination, Nomination, NominationStatus, Participant, Ratings, SeatLedger,
    is_participant, nominating_nation, nomination_marking, promotion_after,
};
use eprime_domain::{
    ActivityId, Caller, ElementId, Framework, NominationId, OfferingId, OrgCode, PartnerCode, Principal, ReadScope,
    Role, Text,
};
use eprime_store::{EntityType, NewChangeEntry, NominationFilter, Operation, PageRequest, Participation, StoreError};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection, SqliteExecutor};
use time::Date;

use crate::SqliteStore;
use crate::changelog::append;
use crate::codec::{backend, date_text, db_error, from_json, instant_text, json, marking, now, parse_instant};
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
            " (SELECT group_concat(org) FROM releasability",
            "   WHERE entity_type = 'nomination' AND entity_id = n.id) AS releasable",
            " FROM nominations n JOIN offerings o ON o.id = n.offering"
        )
    };
}

pub(crate) async fn fetch<'e>(
    executor: impl SqliteExecutor<'e>,
    scope: &ReadScope,
    id: NominationId,
) -> Result<Option<Nomination>, StoreError> {
    let sql = concat!(nomination_select!(), " WHERE n.id = ?5 AND ", visible!("nomination", "n", "id"));
    let row =
        bind_scope(sqlx::query(sql), scope).bind(id.to_string()).fetch_optional(executor).await.map_err(db_error)?;
    row.as_ref().map(from_row).transpose()
}

pub(crate) async fn get(
    store: &SqliteStore,
    scope: &ReadScope,
    id: NominationId,
) -> Result<Option<Nomination>, StoreError> {
    fetch(&store.reader, scope, id).await
}

pub(crate) async fn list(
    store: &SqliteStore,
    scope: &ReadScope,
    offering: OfferingId,
) -> Result<Option<Vec<Nomination>>, StoreError> {
    if offerings::fetch(&store.reader, scope, offering).await?.is_none() {
        return Ok(None);
    }
    let sql = concat!(
        nomination_select!(),
        " WHERE n.offering = ?5 AND ",
        visible!("nomination", "n", "id"),
        " ORDER BY n.created_at, n.id"
    );
    let rows = bind_scope(sqlx::query(sql), scope)
        .bind(offering.to_string())
        .fetch_all(&store.reader)
        .await
        .map_err(db_error)?;
    rows.iter().map(from_row).collect::<Result<Vec<_>, _>>().map(Some)
}

/// `find` with the condition that drives the plan spelled out, so SQLite can use its index
/// (`?5 IS NULL OR …` alone would not): a provider's offerings (`offerings_by_provider`), or a
/// nation's nominations (`nominations_by_nation`).
macro_rules! find_sql {
    ($driver:literal) => {
        concat!(
            nomination_select!(),
            " WHERE ",
            $driver,
            " AND ",
            visible!("nomination", "n", "id"),
            " AND ",
            visible!("offering", "o", "id"),
            " AND (?5 IS NULL OR o.provider = ?5) AND (?6 IS NULL OR n.nation = ?6)",
            " AND (?7 IS NULL OR n.status IN (SELECT value FROM json_each(?7)))",
            " AND (?8 IS NULL OR o.last_day >= ?8)",
            // `OverdueRules::feedback_overdue` as SQL; the storage suite compares the two.
            " AND (?9 IS NULL OR (n.attendance = 'attended' AND n.feedback IS NULL AND o.last_day < ?9))",
            " ORDER BY o.sort_key, n.created_at, n.id LIMIT ?10"
        )
    };
}

pub(crate) async fn find(
    store: &SqliteStore,
    scope: &ReadScope,
    filter: &NominationFilter,
    limit: u32,
) -> Result<Vec<Nomination>, StoreError> {
    let sql = match (&filter.provider, &filter.nation) {
        (Some(_), _) => find_sql!("o.provider = ?5"),
        (None, Some(_)) => find_sql!("n.nation = ?6"),
        (None, None) => find_sql!("1 = 1"),
    };
    let statuses = if filter.statuses.is_empty() {
        None
    } else {
        Some(json(&filter.statuses.iter().map(|s| s.as_str()).collect::<Vec<_>>())?)
    };
    let rows = bind_scope(sqlx::query(sql), scope)
        .bind(filter.provider.as_ref().map(|p| p.as_str().to_owned()))
        .bind(filter.nation.as_ref().map(|n| n.as_str().to_owned()))
        .bind(statuses)
        .bind(date_text(filter.ends_after))
        .bind(date_text(filter.feedback_missing_before))
        .bind(i64::from(limit.clamp(1, PageRequest::MAX_LIMIT)))
        .fetch_all(&store.reader)
        .await
        .map_err(db_error)?;
    rows.iter().map(from_row).collect()
}

pub(crate) async fn of_email(store: &SqliteStore, email: &str) -> Result<Vec<Nomination>, StoreError> {
    let sql = concat!(nomination_select!(), " WHERE n.email = ?1 ORDER BY o.sort_key DESC");
    let rows =
        sqlx::query(sql).bind(email.trim().to_ascii_lowercase()).fetch_all(&store.reader).await.map_err(db_error)?;
    rows.iter().map(from_row).collect()
}

async fn framework_of(tx: &mut SqliteConnection, nation: &PartnerCode) -> Result<Option<Framework>, StoreError> {
    let framework: Option<String> = sqlx::query_scalar("SELECT framework FROM partnerships WHERE partner = ?1")
        .bind(nation.as_str().to_owned())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
    framework.map(|f| Framework::parse(&f).map_err(backend)).transpose()
}

pub(crate) async fn nominate(
    store: &SqliteStore,
    actor: &Principal,
    new: NewNomination,
    today: Date,
) -> Result<Nomination, StoreError> {
    let scope = Caller::User(actor.clone()).read_scope();
    let nation = nominating_nation(actor, new.nation.as_ref())?;
    let mut tx = store.writer.begin().await?;
    let offering = offerings::fetch(&mut *tx, &scope, new.offering)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("offering {}", new.offering)))?;
    let framework = framework_of(&mut tx, &nation).await?;
    let nation_open: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM nominations WHERE offering = ?1 AND nation = ?2
             AND status IN ('nominated', 'accepted', 'waitlisted')",
    )
    .bind(offering.id.to_string())
    .bind(nation.as_str().to_owned())
    .fetch_one(&mut *tx)
    .await
    .map_err(db_error)?;
    let ledger = SeatLedger { taken: offering.seats_taken, nation_open: u32::try_from(nation_open).map_err(backend)? };
    ledger.check_nomination(&offering, &nation, framework, &new.participant, today)?;
    let already: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM nominations WHERE offering = ?1 AND email = ?2
             AND status IN ('nominated', 'accepted', 'waitlisted')",
    )
    .bind(offering.id.to_string())
    .bind(new.participant.email.clone())
    .fetch_one(&mut *tx)
    .await
    .map_err(db_error)?;
    if already > 0 {
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
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
    )
    .bind(nomination.id.to_string())
    .bind(nomination.offering.to_string())
    .bind(nomination.nation.as_str().to_owned())
    .bind(json(&nomination.participant)?)
    .bind(nomination.participant.email.clone())
    .bind(nomination.status.as_str())
    .bind(nomination.nominated_by.clone())
    .bind(nomination.marking.classification.as_str())
    .bind(nomination.version)
    .bind(instant_text(at))
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
    tx.commit().await?;
    Ok(nomination)
}

pub(crate) async fn decide(
    store: &SqliteStore,
    actor: &Principal,
    id: NominationId,
    expected_version: Option<i64>,
    decision: Decision,
) -> Result<Nomination, StoreError> {
    let scope = Caller::User(actor.clone()).read_scope();
    let mut tx = store.writer.begin().await?;
    let current = load_for_write(&mut tx, &scope, id, expected_version).await?;
    let offering = offerings::fetch(&mut *tx, &ReadScope::system(), current.offering)
        .await?
        .ok_or_else(|| backend("a nomination without its offering"))?;
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
    log(&mut tx, Some(actor), Operation::Transition, Some(&current), &next).await?;
    if promotion_after(current.status, next.status) {
        promote_first_waitlisted(&mut tx, offering.id).await?;
    }
    tx.commit().await?;
    Ok(next)
}

/// Gives the freed seat to the first on the waiting list, recorded as the system's doing.
async fn promote_first_waitlisted(tx: &mut SqliteConnection, offering: OfferingId) -> Result<(), StoreError> {
    let first: Option<String> = sqlx::query_scalar(
        "SELECT id FROM nominations WHERE offering = ?1 AND status = 'waitlisted'
         ORDER BY waitlisted_at, id LIMIT 1",
    )
    .bind(offering.to_string())
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_error)?;
    let Some(first) = first else { return Ok(()) };
    let id: NominationId = first.parse().map_err(backend)?;
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
    log(tx, None, Operation::Transition, Some(&current), &next).await
}

pub(crate) async fn record_attendance(
    store: &SqliteStore,
    actor: &Principal,
    id: NominationId,
    attendance: Attendance,
) -> Result<Nomination, StoreError> {
    let scope = Caller::User(actor.clone()).read_scope();
    let mut tx = store.writer.begin().await?;
    let current = load_for_write(&mut tx, &scope, id, None).await?;
    let offering = offerings::fetch(&mut *tx, &ReadScope::system(), current.offering)
        .await?
        .ok_or_else(|| backend("a nomination without its offering"))?;
    Attendance::check(actor, &current, &offering)?;
    let next =
        Nomination { attendance: Some(attendance), version: current.version + 1, updated_at: now(), ..current.clone() };
    save(&mut tx, &next, current.version).await?;
    log(&mut tx, Some(actor), Operation::Update, Some(&current), &next).await?;
    tx.commit().await?;
    Ok(next)
}

pub(crate) async fn give_feedback(
    store: &SqliteStore,
    actor: &Principal,
    id: NominationId,
    ratings: Ratings,
    comments: Text,
) -> Result<Nomination, StoreError> {
    let scope = Caller::User(actor.clone()).read_scope();
    let mut tx = store.writer.begin().await?;
    // A participant's account sees no programme data; it reaches its own nomination by e-mail.
    let current = match fetch(&mut *tx, &scope, id).await? {
        Some(found) => found,
        None => match fetch(&mut *tx, &ReadScope::system(), id).await? {
            Some(own) if actor.role() == Role::Participant && is_participant(actor, &own) => own,
            _ => return Err(StoreError::NotFound(format!("nomination {id}"))),
        },
    };
    let offering = offerings::fetch(&mut *tx, &ReadScope::system(), current.offering)
        .await?
        .ok_or_else(|| backend("a nomination without its offering"))?;
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
    tx.commit().await?;
    Ok(next)
}

async fn load_for_write(
    tx: &mut SqliteConnection,
    scope: &ReadScope,
    id: NominationId,
    expected_version: Option<i64>,
) -> Result<Nomination, StoreError> {
    let current = fetch(&mut *tx, scope, id).await?.ok_or_else(|| StoreError::NotFound(format!("nomination {id}")))?;
    match expected_version {
        Some(expected) if expected != current.version => Err(StoreError::Stale { expected, current: current.version }),
        _ => Ok(current),
    }
}

async fn reread(tx: &mut SqliteConnection, id: NominationId) -> Result<Nomination, StoreError> {
    fetch(&mut *tx, &ReadScope::system(), id).await?.ok_or_else(|| backend("a nomination vanished mid-write"))
}

/// Keeps the offering's counters equal to its nominations (one statement, inside the write).
async fn recount(tx: &mut SqliteConnection, offering: OfferingId) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE offerings SET
             seats_taken = (SELECT count(*) FROM nominations WHERE offering = ?1 AND status = 'accepted'),
             waitlisted = (SELECT count(*) FROM nominations WHERE offering = ?1 AND status = 'waitlisted')
         WHERE id = ?1",
    )
    .bind(offering.to_string())
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    Ok(())
}

async fn save(tx: &mut SqliteConnection, next: &Nomination, previous_version: i64) -> Result<(), StoreError> {
    let result = sqlx::query(
        "UPDATE nominations SET status = ?3, status_reason = ?4,
             waitlisted_at = CASE WHEN ?3 = 'waitlisted' THEN coalesce(waitlisted_at, ?8) END,
             attendance = ?5, feedback = ?6, version = ?7, updated_at = ?8
         WHERE id = ?1 AND version = ?2",
    )
    .bind(next.id.to_string())
    .bind(previous_version)
    .bind(next.status.as_str())
    .bind(next.status_reason.clone())
    .bind(next.attendance.map(Attendance::as_str))
    .bind(next.feedback.as_ref().map(json).transpose()?)
    .bind(next.version)
    .bind(instant_text(next.updated_at))
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    if result.rows_affected() != 1 {
        return Err(StoreError::Stale { expected: previous_version, current: previous_version + 1 });
    }
    Ok(())
}

async fn log(
    tx: &mut SqliteConnection,
    actor: Option<&Principal>,
    operation: Operation,
    before: Option<&Nomination>,
    after: &Nomination,
) -> Result<(), StoreError> {
    append(tx, NewChangeEntry::about(after, actor.map(|a| a.username.as_str()), operation).before(before).after(after))
        .await
        .map(drop)
}

fn from_row(row: &SqliteRow) -> Result<Nomination, StoreError> {
    let text = |name: &str| row.try_get::<String, _>(name).map_err(backend);
    let participant: Participant = from_json(&text("participant")?)?;
    let attendance = match row.try_get::<Option<String>, _>("attendance").map_err(backend)?.as_deref() {
        Some("attended") => Some(Attendance::Attended),
        Some("absent") => Some(Attendance::Absent),
        _ => None,
    };
    Ok(Nomination {
        id: text("id")?.parse().map_err(backend)?,
        offering: text("offering")?.parse().map_err(backend)?,
        offering_code: eprime_domain::menu::OfferingCode::parse(&text("offering_code")?).map_err(backend)?,
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
        feedback: row.try_get::<Option<String>, _>("feedback").map_err(backend)?.map(|f| from_json(&f)).transpose()?,
        nominated_by: text("nominated_by")?,
        marking: marking(&text("marking")?, row.try_get("releasable").map_err(backend)?)?,
        version: row.try_get("version").map_err(backend)?,
        created_at: parse_instant(&text("created_at")?)?,
        updated_at: parse_instant(&text("updated_at")?)?,
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
            " avg(json_extract(n.feedback, '$.ratings.overall')) AS average_rating",
            " FROM activities a LEFT JOIN nominations n ON n.offering = a.offering AND n.nation = a.partnership",
            " WHERE a.offering IS NOT NULL AND "
        )
    };
}

fn participation_from_row(row: &SqliteRow) -> Result<Participation, StoreError> {
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
    store: &SqliteStore,
    scope: &ReadScope,
    id: ActivityId,
) -> Result<Option<Participation>, StoreError> {
    if crate::activities::fetch(&store.reader, scope, id).await?.is_none() {
        return Ok(None);
    }
    let sql = concat!(
        participation_select!(),
        "a.id = ?5 AND ",
        visible!("activity", "a", "id", released_to = "partnership")
    );
    let row =
        bind_scope(sqlx::query(sql), scope).bind(id.to_string()).fetch_one(&store.reader).await.map_err(db_error)?;
    participation_from_row(&row).map(Some)
}

pub(crate) async fn element_participation(
    store: &SqliteStore,
    scope: &ReadScope,
    id: ElementId,
) -> Result<Option<Participation>, StoreError> {
    if !crate::changelog::visible_record(&store.reader, scope, EntityType::Element, &id.to_string()).await? {
        return Ok(None);
    }
    let sql = concat!(
        participation_select!(),
        "a.id IN (SELECT activity FROM activity_elements WHERE element = ?5) AND ",
        visible!("activity", "a", "id", released_to = "partnership")
    );
    let row =
        bind_scope(sqlx::query(sql), scope).bind(id.to_string()).fetch_one(&store.reader).await.map_err(db_error)?;
    participation_from_row(&row).map(Some)
}
