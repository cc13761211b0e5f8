//! Menu offerings: reads through the visibility rule, writes in one transaction each, holding a
//! row lock on the offering being changed.
//!
//! An offering's marking is derived (`offering_marking`) from its status, provider and
//! eligibility every time it is written, so publication is exactly what widens who sees it.

use eprime_domain::menu::{EventType, NewOffering, Offering, OfferingCode, OfferingStatus, Report, offering_marking};
use eprime_domain::{
    Caller, FieldError, Framework, OfferingId, OrgCode, PartnerCode, Principal, ReadScope, Text, Title,
};
use eprime_store::{NewChangeEntry, OfferingFilter, Operation, Page, PageRequest, StoreError};
use serde::de::DeserializeOwned;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor, PgPool, Row};
use uuid::Uuid;

use crate::changelog::append;
use crate::codec::{backend, db_error, marking, now};
use crate::scope::{bind_scope, visible};

macro_rules! offering_select {
    () => {
        concat!(
            "SELECT o.id, o.code, o.title, o.description, o.areas, o.event_type, o.provider, o.contact, o.sessions,",
            " o.seats, o.nation_quota, o.eligibility, o.prerequisites, o.nomination_deadline, o.fees, o.status,",
            " o.status_reason, o.seats_taken, o.waitlisted, o.report, o.requested_releasable_to, o.marking,",
            " o.version, o.created_at, o.updated_at, o.sort_key,",
            " ARRAY(SELECT org FROM releasability",
            "   WHERE entity_type = 'offering' AND entity_id = o.id::text) AS releasable",
            " FROM offerings o"
        )
    };
}

pub(crate) async fn fetch<'e>(
    executor: impl PgExecutor<'e>,
    scope: &ReadScope,
    id: OfferingId,
) -> Result<Option<Offering>, StoreError> {
    let sql = concat!(offering_select!(), " WHERE o.id = $5 AND ", visible!("offering", "o", "id::text"));
    let row = bind_scope(sqlx::query(sql), scope).bind(id.0).fetch_optional(executor).await.map_err(db_error)?;
    row.as_ref().map(from_row).transpose()
}

pub(crate) async fn by_ids(pool: &PgPool, scope: &ReadScope, ids: &[OfferingId]) -> Result<Vec<Offering>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // One statement for the whole page of hits: the ids travel as one array.
    let sql = concat!(offering_select!(), " WHERE o.id = ANY($5::uuid[]) AND ", visible!("offering", "o", "id::text"));
    let list: Vec<Uuid> = ids.iter().map(|id| id.0).collect();
    let rows = bind_scope(sqlx::query(sql), scope).bind(list).fetch_all(pool).await.map_err(db_error)?;
    let mut found = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    found.sort_by_key(|o| ids.iter().position(|id| *id == o.id));
    Ok(found)
}

pub(crate) async fn versions(
    pool: &PgPool,
    scope: &ReadScope,
    ids: &[OfferingId],
) -> Result<Vec<(OfferingId, i64)>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = concat!(
        "SELECT o.id, o.version FROM offerings o WHERE o.id = ANY($5::uuid[]) AND ",
        visible!("offering", "o", "id::text")
    );
    let list: Vec<Uuid> = ids.iter().map(|id| id.0).collect();
    let rows = bind_scope(sqlx::query(sql), scope).bind(list).fetch_all(pool).await.map_err(db_error)?;
    let mut found = rows
        .iter()
        .map(|row| {
            let id: Uuid = row.try_get(0).map_err(backend)?;
            Ok((OfferingId(id), row.try_get::<i64, _>(1).map_err(backend)?))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    found.sort_by_key(|(id, _)| ids.iter().position(|wanted| wanted == id));
    Ok(found)
}

pub(crate) async fn list(
    pool: &PgPool,
    scope: &ReadScope,
    filter: &OfferingFilter,
    page: &PageRequest,
) -> Result<Page<Offering>, StoreError> {
    let after = filter.sort_key_floor(page.after.as_deref().map(parse_cursor).transpose()?);
    let sql = concat!(
        offering_select!(),
        " WHERE ",
        visible!("offering", "o", "id::text"),
        " AND ($5::text IS NULL OR o.provider = $5) AND ($6::text IS NULL OR o.status = $6)",
        " AND ($7::text IS NULL OR EXISTS (SELECT 1 FROM nominations n WHERE n.offering = o.id AND n.nation = $7",
        "      AND n.status IN ('nominated', 'accepted', 'waitlisted')))",
        " AND ($8::date IS NULL OR o.last_day >= $8)",
        // `OverdueRules::report_overdue` as SQL; the storage suite compares the two.
        " AND ($9::date IS NULL OR (o.status IN ('published', 'closed', 'held') AND o.report IS NULL AND o.last_day < $9))",
        " AND ($10::date IS NULL OR (o.status = 'published' AND o.nomination_deadline >= $10))",
        // The later of the cursor and the first day asked for (`OfferingFilter::sort_key_floor`); every
        // key sorts after '', so this is a plain range on the key's index.
        " AND o.sort_key > coalesce($11::text, '') ORDER BY o.sort_key LIMIT $12"
    );
    let limit = page.limit.clamp(1, PageRequest::MAX_LIMIT);
    let rows = bind_scope(sqlx::query(sql), scope)
        .bind(filter.provider.as_ref().map(|p| p.as_str().to_owned()))
        .bind(filter.status.map(OfferingStatus::as_str))
        .bind(filter.nominated_by.as_ref().map(|p| p.as_str().to_owned()))
        .bind(filter.ends_after)
        .bind(filter.report_missing_before)
        .bind(filter.nominations_open_on)
        .bind(after)
        .bind(i64::from(limit) + 1)
        .fetch_all(pool)
        .await
        .map_err(db_error)?;
    let has_more = rows.len() > limit as usize;
    let mut next_cursor = None;
    let mut items = Vec::with_capacity(rows.len().min(limit as usize));
    for row in rows.iter().take(limit as usize) {
        items.push(from_row(row)?);
        if has_more {
            next_cursor = Some(row.try_get::<String, _>("sort_key").map_err(backend)?);
        }
    }
    Ok(Page { items, next_cursor })
}

/// A cursor is the sort key of the last item seen, `YYYY-MM-DD|<uuid>`, the same as SQLite's.
fn parse_cursor(raw: &str) -> Result<String, StoreError> {
    let valid = raw.split_once('|').is_some_and(|(date, id)| date.len() == 10 && id.parse::<OfferingId>().is_ok());
    if valid {
        Ok(raw.to_owned())
    } else {
        Err(FieldError::new("after", "is not a cursor this server gave out").into())
    }
}

/// Every partnership and its framework, for resolving framework eligibility into nations.
pub(crate) async fn partnerships(tx: &mut PgConnection) -> Result<Vec<(PartnerCode, Framework)>, StoreError> {
    let rows =
        sqlx::query("SELECT partner, framework FROM partnerships").fetch_all(&mut *tx).await.map_err(db_error)?;
    rows.iter()
        .map(|row| {
            let partner: String = row.try_get("partner").map_err(backend)?;
            let framework: String = row.try_get("framework").map_err(backend)?;
            Ok((PartnerCode::parse(&partner).map_err(backend)?, Framework::parse(&framework).map_err(backend)?))
        })
        .collect()
}

/// The offering with its marking derived for its present status.
async fn with_marking(tx: &mut PgConnection, mut offering: Offering) -> Result<Offering, StoreError> {
    let eligible = offering.eligibility.audiences(&partnerships(tx).await?);
    offering.marking =
        offering_marking(offering.status, &offering.provider, &eligible, &offering.requested_releasable_to);
    Ok(offering)
}

async fn check_references(tx: &mut PgConnection, offering: &Offering) -> Result<(), StoreError> {
    let provider: Option<String> = sqlx::query_scalar("SELECT kind FROM organisations WHERE code = $1")
        .bind(offering.provider.as_str().to_owned())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
    if provider.is_none() {
        return Err(FieldError::new("provider", format!("{} is not a known organisation", offering.provider)).into());
    }
    for (i, area) in offering.areas.iter().enumerate() {
        let known: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM areas WHERE code = $1)")
            .bind(area.as_str().to_owned())
            .fetch_one(&mut *tx)
            .await
            .map_err(db_error)?;
        if !known {
            return Err(FieldError::new(format!("areas[{i}]"), format!("{area} is not an area of cooperation")).into());
        }
    }
    // Checked for its message; the UNIQUE constraint still decides between two concurrent writers.
    let taken: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM offerings WHERE code = $1 AND id <> $2)")
        .bind(offering.code.as_str().to_owned())
        .bind(offering.id.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
    if taken {
        return Err(StoreError::Conflict(format!("the menu code {} is already used", offering.code)));
    }
    Ok(())
}

pub(crate) async fn create(pool: &PgPool, actor: &Principal, new: NewOffering) -> Result<Offering, StoreError> {
    let provider = new.provider_for(actor)?;
    let mut tx = pool.begin().await.map_err(db_error)?;
    let at = now();
    let offering = Offering {
        id: OfferingId::new(),
        code: new.code,
        title: new.title,
        description: new.description,
        areas: new.areas,
        event_type: new.event_type,
        provider,
        contact: new.contact,
        sessions: new.sessions,
        seats: new.seats,
        nation_quota: new.nation_quota,
        eligibility: new.eligibility,
        prerequisites: new.prerequisites,
        nomination_deadline: new.nomination_deadline,
        fees: new.fees,
        status: new.status,
        status_reason: None,
        seats_taken: 0,
        waitlisted: 0,
        report: None,
        marking: eprime_domain::Marking::default(),
        requested_releasable_to: new.requested_releasable_to,
        version: 1,
        created_at: at,
        updated_at: at,
    };
    let offering = with_marking(&mut tx, offering).await?;
    check_references(&mut tx, &offering).await?;
    insert(&mut tx, &offering).await?;
    log(&mut tx, actor, Operation::Create, None, &offering).await?;
    tx.commit().await.map_err(db_error)?;
    Ok(offering)
}

pub(crate) async fn update(
    pool: &PgPool,
    actor: &Principal,
    id: OfferingId,
    expected_version: Option<i64>,
    new: NewOffering,
) -> Result<Offering, StoreError> {
    let scope = Caller::User(actor.clone()).read_scope();
    let mut tx = pool.begin().await.map_err(db_error)?;
    let current = load_for_write(&mut tx, &scope, id, expected_version).await?;
    // Only the provider (or NATO staff) edits, and only a draft: what was approved stays approved.
    current.status.transition(OfferingStatus::Submitted, actor, &current.provider, None).map_err(|refusal| {
        match refusal {
            eprime_domain::menu::MenuRefusal::Conflict(_) => StoreError::Conflict(format!(
                "only a draft can be edited; {} is `{}` (NATO staff can return it for revision)",
                current.code,
                current.status.as_str()
            )),
            other => other.into(),
        }
    })?;
    if let Some(requested) = &new.provider
        && *requested != current.provider
    {
        return Err(FieldError::new("provider", "an offering's provider does not change").into());
    }
    let next = Offering {
        code: new.code,
        title: new.title,
        description: new.description,
        areas: new.areas,
        event_type: new.event_type,
        contact: new.contact,
        sessions: new.sessions,
        seats: new.seats,
        nation_quota: new.nation_quota,
        eligibility: new.eligibility,
        prerequisites: new.prerequisites,
        nomination_deadline: new.nomination_deadline,
        fees: new.fees,
        requested_releasable_to: new.requested_releasable_to,
        version: current.version + 1,
        updated_at: now(),
        ..current.clone()
    };
    let next = with_marking(&mut tx, next).await?;
    check_references(&mut tx, &next).await?;
    save(&mut tx, &next, current.version).await?;
    log(&mut tx, actor, Operation::Update, Some(&current), &next).await?;
    tx.commit().await.map_err(db_error)?;
    Ok(next)
}

pub(crate) async fn transition(
    pool: &PgPool,
    actor: &Principal,
    id: OfferingId,
    expected_version: Option<i64>,
    to: OfferingStatus,
    reason: Option<String>,
) -> Result<Offering, StoreError> {
    let scope = Caller::User(actor.clone()).read_scope();
    let mut tx = pool.begin().await.map_err(db_error)?;
    let current = load_for_write(&mut tx, &scope, id, expected_version).await?;
    let status = current.status.transition(to, actor, &current.provider, reason.as_deref())?;
    let reason = match reason.filter(|_| current.status.needs_reason(status)) {
        Some(r) => Some(Text::parse(&r).map_err(|e| e.at("reason"))?.to_string()),
        None => None,
    };
    let next =
        Offering { status, status_reason: reason, version: current.version + 1, updated_at: now(), ..current.clone() };
    let next = with_marking(&mut tx, next).await?;
    save(&mut tx, &next, current.version).await?;
    log(&mut tx, actor, Operation::Transition, Some(&current), &next).await?;
    tx.commit().await.map_err(db_error)?;
    Ok(next)
}

pub(crate) async fn file_report(
    pool: &PgPool,
    actor: &Principal,
    id: OfferingId,
    expected_version: Option<i64>,
    summary: Text,
    lessons: Text,
) -> Result<Offering, StoreError> {
    let scope = Caller::User(actor.clone()).read_scope();
    let mut tx = pool.begin().await.map_err(db_error)?;
    // Attendance writes take this offering's lock too, so the count below is final for this report.
    let current = load_for_write(&mut tx, &scope, id, expected_version).await?;
    Report::check(actor, &current)?;
    let attended: i64 =
        sqlx::query_scalar("SELECT count(*) FROM nominations WHERE offering = $1 AND attendance = 'attended'")
            .bind(id.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_error)?;
    let at = now();
    let next = Offering {
        status: OfferingStatus::Reported,
        report: Some(Report {
            summary,
            lessons,
            attended: u32::try_from(attended).unwrap_or(u32::MAX),
            filed_by: actor.username.clone(),
            filed_at: at,
        }),
        version: current.version + 1,
        updated_at: at,
        ..current.clone()
    };
    let next = with_marking(&mut tx, next).await?;
    save(&mut tx, &next, current.version).await?;
    log(&mut tx, actor, Operation::Update, Some(&current), &next).await?;
    tx.commit().await.map_err(db_error)?;
    Ok(next)
}

/// Locks offering `id` for the rest of the transaction, if `scope` may see it; `false` if not.
///
/// Every write that reads an offering's state or counts its nominations takes this lock first
/// (the offering's own writes here, and every nomination write in `nominations.rs`), so they
/// serialise per offering across all server instances: two nominations cannot both take the
/// last seat or the last place in a nation's quota. `FOR NO KEY UPDATE`, as everywhere in this
/// crate: it conflicts with itself, which is all the serialising needs, while the `KEY SHARE`
/// locks of foreign-key checks (an activity adopting this offering, or the nomination insert
/// itself) are not blocked. The lock is taken before the offering is read, in its own statement:
/// see `activities::load_for_write` for why that makes the read see the previous holder's commit.
pub(crate) async fn lock(tx: &mut PgConnection, scope: &ReadScope, id: OfferingId) -> Result<bool, StoreError> {
    let sql = concat!(
        "SELECT o.id FROM offerings o WHERE o.id = $5 AND ",
        visible!("offering", "o", "id::text"),
        " FOR NO KEY UPDATE OF o"
    );
    let row = bind_scope(sqlx::query(sql), scope).bind(id.0).fetch_optional(&mut *tx).await.map_err(db_error)?;
    Ok(row.is_some())
}

/// Locks the offering a write is about (see [`lock`]), reads it as the actor sees it, and checks
/// the caller's version.
async fn load_for_write(
    tx: &mut PgConnection,
    scope: &ReadScope,
    id: OfferingId,
    expected_version: Option<i64>,
) -> Result<Offering, StoreError> {
    let not_found = || StoreError::NotFound(format!("offering {id}"));
    if !lock(tx, scope, id).await? {
        return Err(not_found());
    }
    let current = fetch(&mut *tx, scope, id).await?.ok_or_else(not_found)?;
    match expected_version {
        Some(expected) if expected != current.version => Err(StoreError::Stale { expected, current: current.version }),
        _ => Ok(current),
    }
}

async fn log(
    tx: &mut PgConnection,
    actor: &Principal,
    operation: Operation,
    before: Option<&Offering>,
    after: &Offering,
) -> Result<(), StoreError> {
    append(tx, NewChangeEntry::about(after, Some(actor.username.as_str()), operation).before(before).after(after))
        .await
        .map(drop)
}

/// A count as the `integer` column holds it (the domain keeps counts as `u32`).
fn int(n: u32) -> Result<i32, StoreError> {
    i32::try_from(n).map_err(backend)
}

async fn insert(tx: &mut PgConnection, offering: &Offering) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO offerings (id, code, title, description, areas, event_type, provider, contact, sessions,
             first_day, last_day, seats, nation_quota, eligibility, prerequisites, nomination_deadline, fees, status,
             status_reason, seats_taken, waitlisted, report, requested_releasable_to, marking, version, created_at,
             updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22,
             $23, $24, $25, $26, $26)",
    )
    .bind(offering.id.0)
    .bind(offering.code.as_str().to_owned())
    .bind(offering.title.as_str().to_owned())
    .bind(offering.description.as_str().to_owned())
    .bind(Json(offering.areas.clone()))
    .bind(offering.event_type.as_str())
    .bind(offering.provider.as_str().to_owned())
    .bind(Json(offering.contact.clone()))
    .bind(Json(offering.sessions.clone()))
    .bind(offering.first_day())
    .bind(offering.last_day())
    .bind(int(offering.seats)?)
    .bind(int(offering.nation_quota)?)
    .bind(Json(offering.eligibility.clone()))
    .bind(Json(offering.prerequisites.clone()))
    .bind(offering.nomination_deadline)
    .bind(offering.fees.clone())
    .bind(offering.status.as_str())
    .bind(offering.status_reason.clone())
    .bind(int(offering.seats_taken)?)
    .bind(int(offering.waitlisted)?)
    .bind(offering.report.clone().map(Json))
    .bind(Json(offering.requested_releasable_to.clone()))
    .bind(offering.marking.classification.as_str())
    .bind(offering.version)
    .bind(offering.created_at)
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    crate::releasability::replace(tx, "offering", &offering.id.to_string(), offering.marking.releasable_list()).await
}

/// Writes every column a change can touch, guarded by the version read; the counters stay as the
/// nomination writes keep them.
async fn save(tx: &mut PgConnection, next: &Offering, previous_version: i64) -> Result<(), StoreError> {
    let result = sqlx::query(
        "UPDATE offerings SET code = $3, title = $4, description = $5, areas = $6, event_type = $7, contact = $8,
             sessions = $9, first_day = $10, last_day = $11, seats = $12, nation_quota = $13, eligibility = $14,
             prerequisites = $15, nomination_deadline = $16, fees = $17, status = $18, status_reason = $19,
             report = $20, requested_releasable_to = $21, marking = $22, version = $23, updated_at = $24
         WHERE id = $1 AND version = $2",
    )
    .bind(next.id.0)
    .bind(previous_version)
    .bind(next.code.as_str().to_owned())
    .bind(next.title.as_str().to_owned())
    .bind(next.description.as_str().to_owned())
    .bind(Json(next.areas.clone()))
    .bind(next.event_type.as_str())
    .bind(Json(next.contact.clone()))
    .bind(Json(next.sessions.clone()))
    .bind(next.first_day())
    .bind(next.last_day())
    .bind(int(next.seats)?)
    .bind(int(next.nation_quota)?)
    .bind(Json(next.eligibility.clone()))
    .bind(Json(next.prerequisites.clone()))
    .bind(next.nomination_deadline)
    .bind(next.fees.clone())
    .bind(next.status.as_str())
    .bind(next.status_reason.clone())
    .bind(next.report.clone().map(Json))
    .bind(Json(next.requested_releasable_to.clone()))
    .bind(next.marking.classification.as_str())
    .bind(next.version)
    .bind(next.updated_at)
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    if result.rows_affected() != 1 {
        // The row is locked since `load_for_write`, so this cannot happen; if it ever does, the
        // write must not go through.
        return Err(StoreError::Stale { expected: previous_version, current: previous_version + 1 });
    }
    crate::releasability::replace(tx, "offering", &next.id.to_string(), next.marking.releasable_list()).await
}

fn from_row(row: &PgRow) -> Result<Offering, StoreError> {
    let text = |name: &str| row.try_get::<String, _>(name).map_err(backend);
    let count = |name: &str| -> Result<u32, StoreError> {
        u32::try_from(row.try_get::<i32, _>(name).map_err(backend)?).map_err(backend)
    };
    fn json<T: DeserializeOwned>(row: &PgRow, name: &str) -> Result<T, StoreError> {
        row.try_get::<Json<T>, _>(name).map(|j| j.0).map_err(backend)
    }
    Ok(Offering {
        id: OfferingId(row.try_get("id").map_err(backend)?),
        code: OfferingCode::parse(&text("code")?).map_err(backend)?,
        title: Title::parse(&text("title")?).map_err(backend)?,
        description: Text::parse(&text("description")?).map_err(backend)?,
        areas: json(row, "areas")?,
        event_type: EventType::parse(&text("event_type")?).map_err(backend)?,
        provider: OrgCode::parse(&text("provider")?).map_err(backend)?,
        contact: json(row, "contact")?,
        sessions: json(row, "sessions")?,
        seats: count("seats")?,
        nation_quota: count("nation_quota")?,
        eligibility: json(row, "eligibility")?,
        prerequisites: json(row, "prerequisites")?,
        nomination_deadline: row.try_get("nomination_deadline").map_err(backend)?,
        fees: text("fees")?,
        status: OfferingStatus::parse(&text("status")?).map_err(backend)?,
        status_reason: row.try_get("status_reason").map_err(backend)?,
        seats_taken: count("seats_taken")?,
        waitlisted: count("waitlisted")?,
        report: row.try_get::<Option<Json<Report>>, _>("report").map_err(backend)?.map(|r| r.0),
        marking: marking(&text("marking")?, row.try_get("releasable").map_err(backend)?)?,
        requested_releasable_to: json(row, "requested_releasable_to")?,
        version: row.try_get("version").map_err(backend)?,
        created_at: row.try_get("created_at").map_err(backend)?,
        updated_at: row.try_get("updated_at").map_err(backend)?,
    })
}
