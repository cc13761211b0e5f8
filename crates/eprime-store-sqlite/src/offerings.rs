//! Menu offerings: reads through the visibility rule, writes in one transaction each.
//!
//! An offering's marking is derived (`offering_marking`) from its status, provider and
//! eligibility every time it is written, so publication is exactly what widens who sees it.

use eprime_domain::menu::{NewOffering, Offering, OfferingStatus, Report, offering_marking};
use eprime_domain::{
    Caller, FieldError, Framework, OfferingId, OrgCode, PartnerCode, Principal, ReadScope, Text, Title,
};
use eprime_store::{NewChangeEntry, OfferingFilter, Operation, Page, PageRequest, StoreError};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection, SqliteExecutor};

use crate::SqliteStore;
use crate::changelog::append;
use crate::codec::{backend, date_text, db_error, from_json, instant_text, json, marking, now, parse_instant};
use crate::scope::{bind_scope, visible};

macro_rules! offering_select {
    () => {
        concat!(
            "SELECT o.id, o.code, o.title, o.description, o.areas, o.event_type, o.provider, o.contact, o.sessions,",
            " o.seats, o.nation_quota, o.eligibility, o.prerequisites, o.nomination_deadline, o.fees, o.status,",
            " o.status_reason, o.seats_taken, o.waitlisted, o.report, o.requested_releasable_to, o.marking,",
            " o.version, o.created_at, o.updated_at, o.sort_key,",
            " (SELECT group_concat(org) FROM releasability",
            "   WHERE entity_type = 'offering' AND entity_id = o.id) AS releasable",
            " FROM offerings o"
        )
    };
}

pub(crate) async fn fetch<'e>(
    executor: impl SqliteExecutor<'e>,
    scope: &ReadScope,
    id: OfferingId,
) -> Result<Option<Offering>, StoreError> {
    let sql = concat!(offering_select!(), " WHERE o.id = ?5 AND ", visible!("offering", "o", "id"));
    let row =
        bind_scope(sqlx::query(sql), scope).bind(id.to_string()).fetch_optional(executor).await.map_err(db_error)?;
    row.as_ref().map(from_row).transpose()
}

pub(crate) async fn by_ids(
    store: &SqliteStore,
    scope: &ReadScope,
    ids: &[OfferingId],
) -> Result<Vec<Offering>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // One statement for the whole page of hits: the ids travel as one JSON array.
    let sql = concat!(
        offering_select!(),
        " WHERE o.id IN (SELECT value FROM json_each(?5)) AND ",
        visible!("offering", "o", "id")
    );
    let list: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let rows =
        bind_scope(sqlx::query(sql), scope).bind(json(&list)?).fetch_all(&store.reader).await.map_err(db_error)?;
    let mut found = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    found.sort_by_key(|o| ids.iter().position(|id| *id == o.id));
    Ok(found)
}

pub(crate) async fn versions(
    store: &SqliteStore,
    scope: &ReadScope,
    ids: &[OfferingId],
) -> Result<Vec<(OfferingId, i64)>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = concat!(
        "SELECT o.id, o.version FROM offerings o WHERE o.id IN (SELECT value FROM json_each(?5)) AND ",
        visible!("offering", "o", "id")
    );
    let list: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let rows =
        bind_scope(sqlx::query(sql), scope).bind(json(&list)?).fetch_all(&store.reader).await.map_err(db_error)?;
    let mut found = rows
        .iter()
        .map(|row| {
            let id: String = row.try_get(0).map_err(backend)?;
            Ok((id.parse::<OfferingId>().map_err(backend)?, row.try_get::<i64, _>(1).map_err(backend)?))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    found.sort_by_key(|(id, _)| ids.iter().position(|wanted| wanted == id));
    Ok(found)
}

/// A page of offerings in their list order (`?1`–`?4` the reader's scope; see `list` for the rest).
const LIST: &str = concat!(
    offering_select!(),
    " WHERE ",
    visible!("offering", "o", "id"),
    " AND (?5 IS NULL OR o.provider = ?5) AND (?6 IS NULL OR o.status = ?6)",
    " AND (?7 IS NULL OR EXISTS (SELECT 1 FROM nominations n WHERE n.offering = o.id AND n.nation = ?7",
    "      AND n.status IN ('nominated', 'accepted', 'waitlisted')))",
    " AND (?8 IS NULL OR o.last_day >= ?8)",
    // `OverdueRules::report_overdue` as SQL; the storage suite compares the two.
    " AND (?9 IS NULL OR (o.status IN ('published', 'closed', 'held') AND o.report IS NULL AND o.last_day < ?9))",
    " AND (?10 IS NULL OR (o.status = 'published' AND o.nomination_deadline >= ?10))",
    // The later of the cursor and the first day asked for (`OfferingFilter::sort_key_floor`); every
    // key sorts after '', so this is a plain range on the key's index.
    " AND o.sort_key > coalesce(?11, '') ORDER BY o.sort_key LIMIT ?12"
);

pub(crate) async fn list(
    store: &SqliteStore,
    scope: &ReadScope,
    filter: &OfferingFilter,
    page: &PageRequest,
) -> Result<Page<Offering>, StoreError> {
    let after = filter.sort_key_floor(page.after.as_deref().map(parse_cursor).transpose()?);
    let limit = page.limit.clamp(1, PageRequest::MAX_LIMIT);
    let rows = bind_scope(sqlx::query(LIST), scope)
        .bind(filter.provider.as_ref().map(|p| p.as_str().to_owned()))
        .bind(filter.status.map(OfferingStatus::as_str))
        .bind(filter.nominated_by.as_ref().map(|p| p.as_str().to_owned()))
        .bind(date_text(filter.ends_after))
        .bind(date_text(filter.report_missing_before))
        .bind(date_text(filter.nominations_open_on))
        .bind(after)
        .bind(i64::from(limit) + 1)
        .fetch_all(&store.reader)
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

fn parse_cursor(raw: &str) -> Result<String, StoreError> {
    let valid = raw.split_once('|').is_some_and(|(date, id)| date.len() == 10 && id.parse::<OfferingId>().is_ok());
    if valid {
        Ok(raw.to_owned())
    } else {
        Err(FieldError::new("after", "is not a cursor this server gave out").into())
    }
}

/// Every partnership and its framework, for resolving framework eligibility into nations.
pub(crate) async fn partnerships(tx: &mut SqliteConnection) -> Result<Vec<(PartnerCode, Framework)>, StoreError> {
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
async fn with_marking(tx: &mut SqliteConnection, mut offering: Offering) -> Result<Offering, StoreError> {
    let eligible = offering.eligibility.audiences(&partnerships(tx).await?);
    offering.marking =
        offering_marking(offering.status, &offering.provider, &eligible, &offering.requested_releasable_to);
    Ok(offering)
}

async fn check_references(tx: &mut SqliteConnection, offering: &Offering) -> Result<(), StoreError> {
    let provider: Option<String> = sqlx::query_scalar("SELECT kind FROM organisations WHERE code = ?1")
        .bind(offering.provider.as_str().to_owned())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
    if provider.is_none() {
        return Err(FieldError::new("provider", format!("{} is not a known organisation", offering.provider)).into());
    }
    for (i, area) in offering.areas.iter().enumerate() {
        let known: i64 = sqlx::query_scalar("SELECT count(*) FROM areas WHERE code = ?1")
            .bind(area.as_str().to_owned())
            .fetch_one(&mut *tx)
            .await
            .map_err(db_error)?;
        if known == 0 {
            return Err(FieldError::new(format!("areas[{i}]"), format!("{area} is not an area of cooperation")).into());
        }
    }
    let taken: i64 = sqlx::query_scalar("SELECT count(*) FROM offerings WHERE code = ?1 AND id <> ?2")
        .bind(offering.code.as_str().to_owned())
        .bind(offering.id.to_string())
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
    if taken > 0 {
        return Err(StoreError::Conflict(format!("the menu code {} is already used", offering.code)));
    }
    Ok(())
}

pub(crate) async fn create(store: &SqliteStore, actor: &Principal, new: NewOffering) -> Result<Offering, StoreError> {
    let provider = new.provider_for(actor)?;
    let mut tx = store.writer.begin().await?;
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
    tx.commit().await?;
    Ok(offering)
}

pub(crate) async fn update(
    store: &SqliteStore,
    actor: &Principal,
    id: OfferingId,
    expected_version: Option<i64>,
    new: NewOffering,
) -> Result<Offering, StoreError> {
    let scope = Caller::User(actor.clone()).read_scope();
    let mut tx = store.writer.begin().await?;
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
    tx.commit().await?;
    Ok(next)
}

pub(crate) async fn transition(
    store: &SqliteStore,
    actor: &Principal,
    id: OfferingId,
    expected_version: Option<i64>,
    to: OfferingStatus,
    reason: Option<String>,
) -> Result<Offering, StoreError> {
    let scope = Caller::User(actor.clone()).read_scope();
    let mut tx = store.writer.begin().await?;
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
    tx.commit().await?;
    Ok(next)
}

pub(crate) async fn file_report(
    store: &SqliteStore,
    actor: &Principal,
    id: OfferingId,
    expected_version: Option<i64>,
    summary: Text,
    lessons: Text,
) -> Result<Offering, StoreError> {
    let scope = Caller::User(actor.clone()).read_scope();
    let mut tx = store.writer.begin().await?;
    let current = load_for_write(&mut tx, &scope, id, expected_version).await?;
    Report::check(actor, &current)?;
    let attended: i64 =
        sqlx::query_scalar("SELECT count(*) FROM nominations WHERE offering = ?1 AND attendance = 'attended'")
            .bind(id.to_string())
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
    tx.commit().await?;
    Ok(next)
}

pub(crate) async fn load_for_write(
    tx: &mut SqliteConnection,
    scope: &ReadScope,
    id: OfferingId,
    expected_version: Option<i64>,
) -> Result<Offering, StoreError> {
    let current = fetch(&mut *tx, scope, id).await?.ok_or_else(|| StoreError::NotFound(format!("offering {id}")))?;
    match expected_version {
        Some(expected) if expected != current.version => Err(StoreError::Stale { expected, current: current.version }),
        _ => Ok(current),
    }
}

pub(crate) async fn log(
    tx: &mut SqliteConnection,
    actor: &Principal,
    operation: Operation,
    before: Option<&Offering>,
    after: &Offering,
) -> Result<(), StoreError> {
    append(tx, NewChangeEntry::about(after, Some(actor.username.as_str()), operation).before(before).after(after))
        .await
        .map(drop)
}

async fn insert(tx: &mut SqliteConnection, offering: &Offering) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO offerings (id, code, title, description, areas, event_type, provider, contact, sessions,
             first_day, last_day, seats, nation_quota, eligibility, prerequisites, nomination_deadline, fees, status,
             status_reason, seats_taken, waitlisted, report, requested_releasable_to, marking, version, created_at,
             updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22,
             ?23, ?24, ?25, ?26, ?26)",
    )
    .bind(offering.id.to_string())
    .bind(offering.code.as_str().to_owned())
    .bind(offering.title.as_str().to_owned())
    .bind(offering.description.as_str().to_owned())
    .bind(json(&offering.areas)?)
    .bind(offering.event_type.as_str())
    .bind(offering.provider.as_str().to_owned())
    .bind(json(&offering.contact)?)
    .bind(json(&offering.sessions)?)
    .bind(date_text(offering.first_day()))
    .bind(date_text(offering.last_day()))
    .bind(i64::from(offering.seats))
    .bind(i64::from(offering.nation_quota))
    .bind(json(&offering.eligibility)?)
    .bind(json(&offering.prerequisites)?)
    .bind(date_text(Some(offering.nomination_deadline)))
    .bind(offering.fees.clone())
    .bind(offering.status.as_str())
    .bind(offering.status_reason.clone())
    .bind(i64::from(offering.seats_taken))
    .bind(i64::from(offering.waitlisted))
    .bind(offering.report.as_ref().map(json).transpose()?)
    .bind(json(&offering.requested_releasable_to)?)
    .bind(offering.marking.classification.as_str())
    .bind(offering.version)
    .bind(instant_text(offering.created_at))
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    crate::releasability::replace(tx, "offering", &offering.id.to_string(), offering.marking.releasable_list()).await
}

/// Writes every column a change can touch, guarded by the version read; the counters stay as the
/// nomination writes keep them.
async fn save(tx: &mut SqliteConnection, next: &Offering, previous_version: i64) -> Result<(), StoreError> {
    let result = sqlx::query(
        "UPDATE offerings SET code = ?3, title = ?4, description = ?5, areas = ?6, event_type = ?7, contact = ?8,
             sessions = ?9, first_day = ?10, last_day = ?11, seats = ?12, nation_quota = ?13, eligibility = ?14,
             prerequisites = ?15, nomination_deadline = ?16, fees = ?17, status = ?18, status_reason = ?19,
             report = ?20, requested_releasable_to = ?21, marking = ?22, version = ?23, updated_at = ?24
         WHERE id = ?1 AND version = ?2",
    )
    .bind(next.id.to_string())
    .bind(previous_version)
    .bind(next.code.as_str().to_owned())
    .bind(next.title.as_str().to_owned())
    .bind(next.description.as_str().to_owned())
    .bind(json(&next.areas)?)
    .bind(next.event_type.as_str())
    .bind(json(&next.contact)?)
    .bind(json(&next.sessions)?)
    .bind(date_text(next.first_day()))
    .bind(date_text(next.last_day()))
    .bind(i64::from(next.seats))
    .bind(i64::from(next.nation_quota))
    .bind(json(&next.eligibility)?)
    .bind(json(&next.prerequisites)?)
    .bind(date_text(Some(next.nomination_deadline)))
    .bind(next.fees.clone())
    .bind(next.status.as_str())
    .bind(next.status_reason.clone())
    .bind(next.report.as_ref().map(json).transpose()?)
    .bind(json(&next.requested_releasable_to)?)
    .bind(next.marking.classification.as_str())
    .bind(next.version)
    .bind(instant_text(next.updated_at))
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    if result.rows_affected() != 1 {
        return Err(StoreError::Stale { expected: previous_version, current: previous_version + 1 });
    }
    crate::releasability::replace(tx, "offering", &next.id.to_string(), next.marking.releasable_list()).await
}

pub(crate) fn from_row(row: &SqliteRow) -> Result<Offering, StoreError> {
    let text = |name: &str| row.try_get::<String, _>(name).map_err(backend);
    let count = |name: &str| -> Result<u32, StoreError> {
        u32::try_from(row.try_get::<i64, _>(name).map_err(backend)?).map_err(backend)
    };
    Ok(Offering {
        id: text("id")?.parse().map_err(backend)?,
        code: eprime_domain::menu::OfferingCode::parse(&text("code")?).map_err(backend)?,
        title: Title::parse(&text("title")?).map_err(backend)?,
        description: Text::parse(&text("description")?).map_err(backend)?,
        areas: from_json(&text("areas")?)?,
        event_type: eprime_domain::menu::EventType::parse(&text("event_type")?).map_err(backend)?,
        provider: OrgCode::parse(&text("provider")?).map_err(backend)?,
        contact: from_json(&text("contact")?)?,
        sessions: from_json(&text("sessions")?)?,
        seats: count("seats")?,
        nation_quota: count("nation_quota")?,
        eligibility: from_json(&text("eligibility")?)?,
        prerequisites: from_json(&text("prerequisites")?)?,
        nomination_deadline: crate::codec::parse_date(Some(text("nomination_deadline")?))?
            .ok_or_else(|| backend("offering without a deadline"))?,
        fees: text("fees")?,
        status: OfferingStatus::parse(&text("status")?).map_err(backend)?,
        status_reason: row.try_get("status_reason").map_err(backend)?,
        seats_taken: count("seats_taken")?,
        waitlisted: count("waitlisted")?,
        report: row.try_get::<Option<String>, _>("report").map_err(backend)?.map(|r| from_json(&r)).transpose()?,
        marking: marking(&text("marking")?, row.try_get("releasable").map_err(backend)?)?,
        requested_releasable_to: from_json(&text("requested_releasable_to")?)?,
        version: row.try_get("version").map_err(backend)?,
        created_at: parse_instant(&text("created_at")?)?,
        updated_at: parse_instant(&text("updated_at")?)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page of offerings walks the list order's index from where it starts (the cursor, or the first
    /// day asked for), not from the first offering ever held: the home page's coming events cost the
    /// same however many years of past events the menu keeps.
    #[tokio::test]
    async fn a_page_of_offerings_walks_the_index_from_where_it_starts() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        let sql = format!("EXPLAIN QUERY PLAN {LIST}");
        let mut query = bind_scope(sqlx::query(sqlx::AssertSqlSafe(sql)), &ReadScope::public_only());
        for _ in 5..=10 {
            query = query.bind(None::<String>);
        }
        let rows = query.bind("2026-05-10").bind(9_i64).fetch_all(&store.reader).await.unwrap();
        let plan = crate::query_plan(&rows);
        assert!(plan.contains("USING INDEX offerings_by_sort_key (sort_key>?)"), "planned as: {plan}");
        assert!(!plan.contains("TEMP B-TREE"), "sorts instead of walking in order: {plan}");
    }
}
