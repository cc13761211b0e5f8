//! Cooperation activities: reads through the visibility rule, writes in one transaction each,
//! holding a row lock on the activity being changed; an update or a transition of the activity's own
//! columns is first tried as one statement, versioned, outside a transaction (`in_one_statement`).

use std::sync::LazyLock;

use eprime_domain::access::{may_edit_activity, may_transition_activity};
use eprime_domain::{
    Activity, ActivityChanges, ActivityId, ActivityKind, ActivityStatus, AreaCode, Caller, ElementId, FieldError,
    NewActivity, OfferingId, OrgCode, PartnerCode, Principal, ReadScope, SourceRef, Text, Title, ValidationErrors,
};
use eprime_store::references::NewReferences;
use eprime_store::{
    ActivityFilter, ActivityOrder, ActivityTally, NewChangeEntry, Operation, Page, PageRequest, StoreError,
    status_index,
};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{AssertSqlSafe, PgConnection, PgExecutor, PgPool, Row};
use uuid::Uuid;

use crate::changelog::{self, append};
use crate::codec::{backend, db_error, marking, now, parse_codes};
use crate::scope::{PgQuery, bind_scope, visible};

/// The columns every activity read selects, lists included: child lists come back as arrays from
/// correlated subqueries, so a page of activities is one statement, however long the page.
macro_rules! activity_select {
    () => {
        concat!(
            "SELECT a.id, a.partnership, a.title, a.description, a.kind, a.starts_on, a.ends_on, a.location,",
            " a.lead, a.status, a.status_reason, a.outcome, a.source, a.marking, a.version, a.created_at,",
            " a.updated_at, a.sort_key, a.offering,",
            " ARRAY(SELECT org FROM activity_participants WHERE activity = a.id) AS participants,",
            " ARRAY(SELECT element FROM activity_elements WHERE activity = a.id) AS supports,",
            " ARRAY(SELECT area FROM activity_areas WHERE activity = a.id) AS areas,",
            " ARRAY(SELECT org FROM releasability",
            "   WHERE entity_type = 'activity' AND entity_id = a.id::text) AS releasable",
            " FROM activities a"
        )
    };
}

/// One value a filter condition binds.
enum Value {
    Text(String),
    Date(time::Date),
    Uuid(Uuid),
}

/// The conditions of an activity filter, written for exactly the filters that are present (one
/// `AND a.col = $N` each), so a prepared statement's generic plan still uses the index that
/// serves it. A catch-all `($N IS NULL OR a.col = $N)` makes the generic plan scan. The text
/// search is one phrase, case-insensitive, with the pattern's wildcards escaped (`E'\\'` whatever
/// `standard_conforming_strings` says).
struct Conditions {
    sql: String,
    values: Vec<Value>,
}

impl Conditions {
    /// Conditions numbered from `${first}`, after the scope's `$1`..`$4`.
    fn of(filter: &ActivityFilter, first: usize) -> Self {
        let mut c = Self { sql: String::new(), values: Vec::new() };
        let mut next = first;
        let mut add = |c: &mut Self, template: &str, value: Value| {
            c.sql.push_str(" AND ");
            c.sql.push_str(&template.replace("$N", &format!("${next}")));
            c.values.push(value);
            next += 1;
        };
        if let Some(partnership) = &filter.partnership {
            add(&mut c, "a.partnership = $N", Value::Text(partnership.as_str().to_owned()));
        }
        if let Some(status) = filter.status {
            add(&mut c, "a.status = $N", Value::Text(status.as_str().to_owned()));
        }
        if let Some(kind) = filter.kind {
            add(&mut c, "a.kind = $N", Value::Text(kind.as_str().to_owned()));
        }
        if let Some(from) = filter.from {
            add(&mut c, "(a.ends_on IS NULL OR a.ends_on >= $N)", Value::Date(from));
        }
        if let Some(to) = filter.to {
            add(&mut c, "(a.starts_on IS NULL OR a.starts_on <= $N)", Value::Date(to));
        }
        if let Some(element) = filter.element {
            add(
                &mut c,
                "a.id IN (SELECT ae.activity FROM activity_elements ae WHERE ae.element = $N)",
                Value::Uuid(element.0),
            );
        }
        if let Some(document) = filter.document {
            add(
                &mut c,
                "a.id IN (SELECT ae.activity FROM activity_elements ae JOIN elements e ON e.id = ae.element \
                 WHERE e.document = $N)",
                Value::Uuid(document.0),
            );
        }
        // The sort key starts with the start date, so this is a range of the index that lists.
        if let Some(from) = filter.starts_from {
            add(&mut c, "a.sort_key >= $N", Value::Text(from.to_string()));
        }
        if let Some(before) = filter.ends_before {
            add(&mut c, "a.ends_on < $N", Value::Date(before));
        }
        if let Some(text) = filter.text.as_deref() {
            add(
                &mut c,
                "(a.title ILIKE $N ESCAPE E'\\\\' OR a.description ILIKE $N ESCAPE E'\\\\' \
                 OR coalesce(a.location, '') ILIKE $N ESCAPE E'\\\\')",
                Value::Text(like_pattern(text)),
            );
        }
        c
    }

    /// The number of the next free parameter.
    fn next_param(&self, first: usize) -> usize {
        first + self.values.len()
    }

    fn bind(&self, mut query: PgQuery) -> PgQuery {
        for value in &self.values {
            query = match value {
                Value::Text(text) => query.bind(text.clone()),
                Value::Date(date) => query.bind(*date),
                Value::Uuid(id) => query.bind(*id),
            };
        }
        query
    }
}

/// `%phrase%` with LIKE's own wildcards escaped, so a search for "100%" finds "100%".
fn like_pattern(phrase: &str) -> String {
    let escaped = phrase.trim().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

pub(crate) async fn fetch<'e>(
    executor: impl PgExecutor<'e>,
    scope: &ReadScope,
    id: ActivityId,
) -> Result<Option<Activity>, StoreError> {
    let sql = concat!(
        activity_select!(),
        " WHERE a.id = $5 AND ",
        visible!("activity", "a", "id::text", released_to = "partnership")
    );
    let row = bind_scope(sqlx::query(sql), scope).bind(id.0).fetch_optional(executor).await.map_err(db_error)?;
    row.as_ref().map(from_row).transpose()
}

/// The version of one activity, if `scope` may see it: the row by its primary key and the visibility
/// rule, no child lists.
pub(crate) async fn version<'e>(
    executor: impl PgExecutor<'e>,
    scope: &ReadScope,
    id: ActivityId,
) -> Result<Option<i64>, StoreError> {
    const VERSION_BY_ID: &str = concat!(
        "SELECT a.version FROM activities a WHERE a.id = $5 AND ",
        visible!("activity", "a", "id::text", released_to = "partnership")
    );
    let row =
        bind_scope(sqlx::query(VERSION_BY_ID), scope).bind(id.0).fetch_optional(executor).await.map_err(db_error)?;
    row.map(|row| row.try_get(0).map_err(backend)).transpose()
}

/// One page of the activities matching `filter`, selecting `columns` (the whole record, or less): the
/// rows of the page and the cursor of the next one.
async fn page_rows(
    pool: &PgPool,
    scope: &ReadScope,
    filter: &ActivityFilter,
    page: &PageRequest,
    columns: &str,
) -> Result<(Vec<PgRow>, Option<String>), StoreError> {
    let after = page.after.as_deref().map(parse_cursor).transpose()?;
    let conditions = Conditions::of(filter, 5);
    let mut next = conditions.next_param(5);
    let mut sql = format!(
        "{columns} WHERE {}{}",
        visible!("activity", "a", "id::text", released_to = "partnership", paged),
        conditions.sql
    );
    let (after_sort_key, order) = match filter.order {
        ActivityOrder::NewestFirst => ("a.sort_key <", "a.sort_key DESC"),
        ActivityOrder::SoonestFirst => ("a.sort_key >", "a.sort_key ASC"),
        ActivityOrder::RecentlyChanged if after.is_some() => {
            return Err(FieldError::new("after", "a list of recent changes has one page").into());
        }
        ActivityOrder::RecentlyChanged => ("", "a.updated_at DESC, a.id DESC"),
    };
    if after.is_some() {
        sql.push_str(&format!(" AND {after_sort_key} ${next}"));
        next += 1;
    }
    sql.push_str(&format!(" ORDER BY {order} LIMIT ${next}"));
    let limit = page.limit.clamp(1, PageRequest::MAX_LIMIT);
    let mut query = conditions.bind(bind_scope(sqlx::query(AssertSqlSafe(sql)), scope));
    if let Some(after) = after {
        query = query.bind(after);
    }
    let query = query.bind(i64::from(limit) + 1);
    let mut rows = query.fetch_all(pool).await.map_err(db_error)?;
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = match rows.last() {
        Some(last) if has_more && filter.order != ActivityOrder::RecentlyChanged => {
            Some(last.try_get::<String, _>("sort_key").map_err(backend)?)
        }
        _ => None,
    };
    Ok((rows, next_cursor))
}

pub(crate) async fn list(
    pool: &PgPool,
    scope: &ReadScope,
    filter: &ActivityFilter,
    page: &PageRequest,
) -> Result<Page<Activity>, StoreError> {
    let (rows, next_cursor) = page_rows(pool, scope, filter, page, activity_select!()).await?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page { items, next_cursor })
}

/// The page `list` gives, as (id, version) pairs: an index walk and no child lists.
pub(crate) async fn list_versions(
    pool: &PgPool,
    scope: &ReadScope,
    filter: &ActivityFilter,
    page: &PageRequest,
) -> Result<Page<(ActivityId, i64)>, StoreError> {
    let columns = "SELECT a.id, a.version, a.sort_key FROM activities a";
    let (rows, next_cursor) = page_rows(pool, scope, filter, page, columns).await?;
    let items = rows.iter().map(id_and_version).collect::<Result<Vec<_>, _>>()?;
    Ok(Page { items, next_cursor })
}

/// The visible activities among `ids`, in the order of `ids`: one statement for the whole list.
pub(crate) async fn by_ids(pool: &PgPool, scope: &ReadScope, ids: &[ActivityId]) -> Result<Vec<Activity>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = concat!(
        activity_select!(),
        " WHERE a.id = ANY($5::uuid[]) AND ",
        visible!("activity", "a", "id::text", released_to = "partnership", paged)
    );
    let list: Vec<Uuid> = ids.iter().map(|id| id.0).collect();
    let rows = bind_scope(sqlx::query(sql), scope).bind(list).fetch_all(pool).await.map_err(db_error)?;
    let mut found = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    found.sort_by_key(|a| ids.iter().position(|id| *id == a.id));
    Ok(found)
}

fn id_and_version(row: &PgRow) -> Result<(ActivityId, i64), StoreError> {
    Ok((ActivityId(row.try_get::<Uuid, _>("id").map_err(backend)?), row.try_get("version").map_err(backend)?))
}

pub(crate) async fn count(pool: &PgPool, scope: &ReadScope, filter: &ActivityFilter) -> Result<u64, StoreError> {
    let conditions = Conditions::of(filter, 5);
    let sql = format!(
        "SELECT count(*) FROM activities a WHERE {}{}",
        visible!("activity", "a", "id::text", released_to = "partnership"),
        conditions.sql
    );
    let row =
        conditions.bind(bind_scope(sqlx::query(AssertSqlSafe(sql)), scope)).fetch_one(pool).await.map_err(db_error)?;
    Ok(u64::try_from(row.try_get::<i64, _>(0).map_err(backend)?).unwrap_or_default())
}

/// Counts along the axes of [`ActivityTally`]: three grouped statements over the same conditions,
/// whatever the number of activities.
pub(crate) async fn tally(
    pool: &PgPool,
    scope: &ReadScope,
    filter: &ActivityFilter,
) -> Result<ActivityTally, StoreError> {
    let mut connection = pool.acquire().await.map_err(db_error)?;
    tally_on(&mut connection, scope, filter).await
}

/// One partnership's tally and stamp from one snapshot (a repeatable-read transaction).
pub(crate) async fn partnership_tally(
    pool: &PgPool,
    scope: &ReadScope,
    partner: &PartnerCode,
) -> Result<(i64, ActivityTally), StoreError> {
    let mut snapshot = pool.begin().await.map_err(db_error)?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *snapshot)
        .await
        .map_err(db_error)?;
    let stamp = crate::changelog::partnership_stamp(&mut *snapshot, partner.as_str()).await?;
    let filter = ActivityFilter { partnership: Some(partner.clone()), ..Default::default() };
    let tally = tally_on(&mut snapshot, scope, &filter).await?;
    snapshot.commit().await.map_err(db_error)?;
    Ok((stamp, tally))
}

async fn tally_on(
    connection: &mut PgConnection,
    scope: &ReadScope,
    filter: &ActivityFilter,
) -> Result<ActivityTally, StoreError> {
    let conditions = Conditions::of(filter, 5);
    let statement = |select: &str, join: &str, group: &str| {
        let sql = format!(
            "SELECT {select} FROM activities a{join} WHERE {}{} GROUP BY {group}",
            visible!("activity", "a", "id::text", released_to = "partnership"),
            conditions.sql
        );
        conditions.bind(bind_scope(sqlx::query(AssertSqlSafe(sql)), scope))
    };
    let mut tally = ActivityTally::default();
    let by_year = statement("a.status, EXTRACT(YEAR FROM a.starts_on)::int4, count(*)", "", "1, 2")
        .fetch_all(&mut *connection)
        .await
        .map_err(db_error)?;
    for row in &by_year {
        let status = status_of(row)?;
        let n = count_of(row, 2)?;
        tally.by_status[status_index(status)] += n;
        if let Some(year) = row.try_get::<Option<i32>, _>(1).map_err(backend)? {
            ActivityTally::add(&mut tally.by_year, year, status, n);
        }
    }
    let supports = " JOIN activity_elements ae ON ae.activity = a.id";
    let by_element = statement("a.status, ae.element, count(*)", supports, "1, 2")
        .fetch_all(&mut *connection)
        .await
        .map_err(db_error)?;
    for row in &by_element {
        ActivityTally::add(&mut tally.by_element, element_of(row)?, status_of(row)?, count_of(row, 2)?);
    }
    let branches = format!("{supports} JOIN elements e ON e.id = ae.element");
    let by_branch = statement("a.status, coalesce(e.parent, e.id), count(DISTINCT a.id)", &branches, "1, 2")
        .fetch_all(&mut *connection)
        .await
        .map_err(db_error)?;
    for row in &by_branch {
        ActivityTally::add(&mut tally.by_branch, element_of(row)?, status_of(row)?, count_of(row, 2)?);
    }
    Ok(tally)
}

fn status_of(row: &PgRow) -> Result<ActivityStatus, StoreError> {
    let raw: String = row.try_get(0).map_err(backend)?;
    ActivityStatus::parse(&raw).map_err(backend)
}

fn element_of(row: &PgRow) -> Result<ElementId, StoreError> {
    Ok(ElementId(row.try_get::<Uuid, _>(1).map_err(backend)?))
}

fn count_of(row: &PgRow, column: usize) -> Result<u64, StoreError> {
    Ok(u64::try_from(row.try_get::<i64, _>(column).map_err(backend)?).unwrap_or_default())
}

/// A cursor is the sort key of the last item seen: `YYYY-MM-DD|<uuid>` (or `0000-00-00|…` for
/// undated), the same as the SQLite store's.
fn parse_cursor(raw: &str) -> Result<String, StoreError> {
    let valid = raw.split_once('|').is_some_and(|(date, id)| {
        date.len() == 10 && date.bytes().all(|b| b.is_ascii_digit() || b == b'-') && id.parse::<ActivityId>().is_ok()
    });
    if valid {
        Ok(raw.to_owned())
    } else {
        Err(FieldError::new("after", "is not a cursor this server gave out").into())
    }
}

pub(crate) async fn create(pool: &PgPool, actor: &Principal, new: NewActivity) -> Result<Activity, StoreError> {
    may_edit_activity(actor, &new.partnership)?;
    let scope = Caller::User(actor.clone()).read_scope();
    let mut tx = pool.begin().await.map_err(db_error)?;
    crate::partnerships::ensure_visible(&mut tx, &scope, &new.partnership).await?;
    let activity = new.into_activity(ActivityId::new(), now());
    check_references(&mut tx, &scope, None, &activity).await?;
    if let Some(offering) = activity.offering
        && crate::offerings::fetch(&mut *tx, &scope, offering).await?.is_none()
    {
        return Err(FieldError::new("offering", format!("no menu offering {offering} is visible to you")).into());
    }
    sqlx::query(
        "INSERT INTO activities (id, partnership, title, description, kind, starts_on, ends_on, location, lead,
             status, status_reason, outcome, source, marking, version, created_at, updated_at, offering)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16, $17)",
    )
    .bind(activity.id.0)
    .bind(activity.partnership.as_str().to_owned())
    .bind(activity.title.as_str().to_owned())
    .bind(activity.description.as_str().to_owned())
    .bind(activity.kind.as_str())
    .bind(activity.starts_on)
    .bind(activity.ends_on)
    .bind(activity.location.clone())
    .bind(activity.lead.as_ref().map(|l| l.as_str().to_owned()))
    .bind(activity.status.as_str())
    .bind(activity.status_reason.clone())
    .bind(activity.outcome.as_str().to_owned())
    .bind(activity.source.clone().map(Json))
    .bind(activity.marking.classification.as_str())
    .bind(activity.version)
    .bind(activity.created_at)
    .bind(activity.offering.map(|o| o.0))
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    write_children(&mut tx, &activity, None).await?;
    append(
        &mut tx,
        NewChangeEntry::about(&activity, Some(actor.username.as_str()), Operation::Create).after(&activity),
    )
    .await?;
    tx.commit().await.map_err(db_error)?;
    Ok(activity)
}

pub(crate) async fn update(
    pool: &PgPool,
    actor: &Principal,
    id: ActivityId,
    expected_version: Option<i64>,
    changes: ActivityChanges,
) -> Result<Activity, StoreError> {
    let scope = Caller::User(actor.clone()).read_scope();
    let edit = |current: &Activity| {
        may_edit_activity(actor, &current.partnership)?;
        Ok(changes.clone().apply_to(current)?)
    };
    if let Some(updated) = in_one_statement(pool, actor, &scope, id, expected_version, Operation::Update, edit).await? {
        return Ok(updated);
    }
    let mut tx = pool.begin().await.map_err(db_error)?;
    let current = load_for_write(&mut tx, &scope, id, expected_version).await?;
    let mut next = edit(&current)?;
    check_references(&mut tx, &scope, Some(&current), &next).await?;
    next.version = current.version + 1;
    next.updated_at = now();
    save(&mut tx, &next, current.version).await?;
    write_children(&mut tx, &next, Some(&current)).await?;
    append(
        &mut tx,
        NewChangeEntry::about(&next, Some(actor.username.as_str()), Operation::Update)
            .before(Some(&current))
            .after(&next),
    )
    .await?;
    tx.commit().await.map_err(db_error)?;
    Ok(next)
}

/// The commonest writes, an update or a transition that changes only the activity's own columns and
/// adds no reference, as one statement outside a transaction (`changelog::change_one_and_append`), so
/// the change log's append lock is not held across a round trip to the server. `change` checks the
/// actor's right and makes the new record from the current one. `None` when the write is not of that
/// kind, or the activity changed between the read and the write: the caller's transaction then makes
/// it (or refuses it) under the row's lock.
async fn in_one_statement(
    pool: &PgPool,
    actor: &Principal,
    scope: &ReadScope,
    id: ActivityId,
    expected_version: Option<i64>,
    operation: Operation,
    change: impl FnOnce(&Activity) -> Result<Activity, StoreError>,
) -> Result<Option<Activity>, StoreError> {
    let Some(current) = fetch(pool, scope, id).await? else { return Ok(None) };
    if let Some(expected) = expected_version.filter(|expected| *expected != current.version) {
        return Err(StoreError::Stale { expected, current: current.version });
    }
    let mut next = change(&current)?;
    if !children_unchanged(&current, &next) || !NewReferences::of(Some(&current), &next).is_empty() {
        return Ok(None);
    }
    next.version = current.version + 1;
    next.updated_at = now();
    static SAVE_AND_RECORD: LazyLock<String> = LazyLock::new(|| changelog::after_changing_one(SAVE, 15));
    let entry =
        NewChangeEntry::about(&next, Some(actor.username.as_str()), operation).before(Some(&current)).after(&next);
    let recorded = changelog::change_one_and_append(
        pool,
        &SAVE_AND_RECORD,
        |query| bind_save(query, &next, current.version),
        entry,
    )
    .await?;
    Ok(recorded.map(|_seq| next))
}

pub(crate) async fn transition(
    pool: &PgPool,
    actor: &Principal,
    id: ActivityId,
    expected_version: Option<i64>,
    to: ActivityStatus,
    reason: Option<String>,
) -> Result<Activity, StoreError> {
    let scope = Caller::User(actor.clone()).read_scope();
    let move_on = |current: &Activity| {
        may_transition_activity(actor, &current.partnership, to)?;
        let status = current.status.transition(to, reason.as_deref())?;
        let reason = match reason.as_deref().filter(|_| status.needs_reason()) {
            Some(r) => Some(Text::parse(r).map_err(|e| e.at("reason"))?.to_string()),
            None => None,
        };
        let mut next = current.clone();
        next.status = status;
        next.status_reason = reason;
        Ok::<_, StoreError>(next)
    };
    let operation = Operation::Transition;
    if let Some(moved) = in_one_statement(pool, actor, &scope, id, expected_version, operation, move_on).await? {
        return Ok(moved);
    }
    let mut tx = pool.begin().await.map_err(db_error)?;
    let current = load_for_write(&mut tx, &scope, id, expected_version).await?;
    let mut next = move_on(&current)?;
    next.version = current.version + 1;
    next.updated_at = now();
    save(&mut tx, &next, current.version).await?;
    append(
        &mut tx,
        NewChangeEntry::about(&next, Some(actor.username.as_str()), Operation::Transition)
            .before(Some(&current))
            .after(&next),
    )
    .await?;
    tx.commit().await.map_err(db_error)?;
    Ok(next)
}

/// Locks the activity a write is about (if the actor can see it), reads it as the actor sees it,
/// and checks the caller's version.
///
/// The lock comes first and the read second, in its own statement: under READ COMMITTED a
/// statement that waited for a lock still sees its own (older) snapshot in subqueries, while the
/// next statement sees everything committed before the lock was granted. So a writer that queued
/// behind another reads the version that other writer committed, and a stale `expected_version`
/// is refused however many writers race. `FOR NO KEY UPDATE` because keys never change: foreign-key
/// checks of other writers (which take KEY SHARE) are not blocked.
async fn load_for_write(
    tx: &mut PgConnection,
    scope: &ReadScope,
    id: ActivityId,
    expected_version: Option<i64>,
) -> Result<Activity, StoreError> {
    let sql = concat!(
        "SELECT a.version FROM activities a WHERE a.id = $5 AND ",
        visible!("activity", "a", "id::text", released_to = "partnership"),
        " FOR NO KEY UPDATE OF a"
    );
    let not_found = || StoreError::NotFound(format!("activity {id}"));
    bind_scope(sqlx::query(sql), scope)
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?
        .ok_or_else(not_found)?;
    let current = fetch(&mut *tx, scope, id).await?.ok_or_else(not_found)?;
    match expected_version {
        Some(expected) if expected != current.version => Err(StoreError::Stale { expected, current: current.version }),
        _ => Ok(current),
    }
}

/// Writes an activity's own columns over `previous_version`: `$1` the id, `$2` the previous version,
/// then the columns (`bind_save`).
const SAVE: &str = "UPDATE activities SET title = $3, description = $4, kind = $5, starts_on = $6, ends_on = $7,
         location = $8, lead = $9, status = $10, status_reason = $11, outcome = $12, marking = $13, version = $14,
         updated_at = $15
     WHERE id = $1 AND version = $2";

fn bind_save<'q>(query: changelog::PgScalar<'q>, next: &Activity, previous_version: i64) -> changelog::PgScalar<'q> {
    query
        .bind(next.id.0)
        .bind(previous_version)
        .bind(next.title.as_str().to_owned())
        .bind(next.description.as_str().to_owned())
        .bind(next.kind.as_str())
        .bind(next.starts_on)
        .bind(next.ends_on)
        .bind(next.location.clone())
        .bind(next.lead.as_ref().map(|l| l.as_str().to_owned()))
        .bind(next.status.as_str())
        .bind(next.status_reason.clone())
        .bind(next.outcome.as_str().to_owned())
        .bind(next.marking.classification.as_str())
        .bind(next.version)
        .bind(next.updated_at)
}

async fn save(tx: &mut PgConnection, next: &Activity, previous_version: i64) -> Result<(), StoreError> {
    static SAVE_RETURNING: LazyLock<String> = LazyLock::new(|| format!("{SAVE} RETURNING version"));
    let query = bind_save(sqlx::query_scalar(AssertSqlSafe(SAVE_RETURNING.as_str())), next, previous_version);
    if query.fetch_optional(&mut *tx).await.map_err(db_error)?.is_none() {
        // The row is locked since `load_for_write`, so this cannot happen; if it ever does, the
        // write must not go through.
        return Err(StoreError::Stale { expected: previous_version, current: previous_version + 1 });
    }
    Ok(())
}

/// Writes the child lists that changed (all of them for a new activity), one statement per list.
async fn write_children(tx: &mut PgConnection, next: &Activity, previous: Option<&Activity>) -> Result<(), StoreError> {
    let id = next.id.0;
    if previous.is_none_or(|p| p.participants != next.participants) {
        let orgs: Vec<String> = next.participants.iter().map(|o| o.as_str().to_owned()).collect();
        replace_list(
            tx,
            "DELETE FROM activity_participants WHERE activity = $1",
            sqlx::query("INSERT INTO activity_participants (activity, org) SELECT $1, unnest($2::text[])")
                .bind(id)
                .bind(orgs),
            id,
        )
        .await?;
    }
    if previous.is_none_or(|p| p.supports != next.supports) {
        let elements: Vec<Uuid> = next.supports.iter().map(|e| e.0).collect();
        replace_list(
            tx,
            "DELETE FROM activity_elements WHERE activity = $1",
            sqlx::query("INSERT INTO activity_elements (activity, element) SELECT $1, unnest($2::uuid[])")
                .bind(id)
                .bind(elements),
            id,
        )
        .await?;
    }
    if previous.is_none_or(|p| p.areas != next.areas) {
        let areas: Vec<String> = next.areas.iter().map(|a| a.as_str().to_owned()).collect();
        replace_list(
            tx,
            "DELETE FROM activity_areas WHERE activity = $1",
            sqlx::query("INSERT INTO activity_areas (activity, area) SELECT $1, unnest($2::text[])")
                .bind(id)
                .bind(areas),
            id,
        )
        .await?;
    }
    if previous.is_none_or(|p| p.marking != next.marking) {
        crate::releasability::replace(tx, "activity", &next.id.to_string(), next.marking.releasable_list()).await?;
    }
    Ok(())
}

/// Whether `write_children` would write nothing for this update.
fn children_unchanged(previous: &Activity, next: &Activity) -> bool {
    previous.participants == next.participants
        && previous.supports == next.supports
        && previous.areas == next.areas
        && previous.marking == next.marking
}

/// Empties one child list of an activity and inserts its new rows (an `unnest` insert, which
/// inserts nothing for an empty array).
async fn replace_list(
    tx: &mut PgConnection,
    delete: &'static str,
    insert: PgQuery,
    activity: Uuid,
) -> Result<(), StoreError> {
    sqlx::query(delete).bind(activity).execute(&mut *tx).await.map_err(db_error)?;
    insert.execute(&mut *tx).await.map_err(db_error)?;
    Ok(())
}

/// Every code and id the write adds (`NewReferences`) must exist, and added elements must belong to
/// a visible document of the activity's own partnership. All problems are reported together.
async fn check_references(
    tx: &mut PgConnection,
    scope: &ReadScope,
    previous: Option<&Activity>,
    activity: &Activity,
) -> Result<(), StoreError> {
    let mut errors = ValidationErrors::default();
    let added = NewReferences::of(previous, activity);
    for (field, org) in added.orgs {
        if !exists(tx, "SELECT EXISTS (SELECT 1 FROM organisations WHERE code = $1)", org.as_str()).await? {
            errors.push(FieldError::new(field, format!("there is no organisation {org}")));
        }
    }
    for (field, area) in added.areas {
        if !exists(tx, "SELECT EXISTS (SELECT 1 FROM areas WHERE code = $1)", area.as_str()).await? {
            errors.push(FieldError::new(field, format!("there is no area of cooperation {area}")));
        }
    }
    let sql = concat!(
        "SELECT EXISTS (SELECT 1 FROM elements e JOIN documents d ON d.id = e.document",
        " WHERE e.id = $5 AND d.partnership = $6 AND ",
        visible!("document", "d", "id::text"),
        ")"
    );
    for (field, element) in added.elements {
        let row = bind_scope(sqlx::query(sql), scope)
            .bind(element.0)
            .bind(activity.partnership.as_str().to_owned())
            .fetch_one(&mut *tx)
            .await
            .map_err(db_error)?;
        if !row.try_get::<bool, _>(0).map_err(backend)? {
            errors.push(FieldError::new(
                field,
                format!("{element} is not a goal, area or objective of a {} document", activity.partnership),
            ));
        }
    }
    if let Some(document) = added.document {
        let sql = concat!(
            "SELECT EXISTS (SELECT 1 FROM documents d WHERE d.id = $5 AND ",
            visible!("document", "d", "id::text"),
            ")"
        );
        let row = bind_scope(sqlx::query(sql), scope).bind(document.0).fetch_one(&mut *tx).await.map_err(db_error)?;
        if !row.try_get::<bool, _>(0).map_err(backend)? {
            errors.push(FieldError::new("source.document", format!("there is no document {document}")));
        }
    }
    errors.into_result().map_err(StoreError::from)
}

async fn exists(tx: &mut PgConnection, sql: &'static str, key: &str) -> Result<bool, StoreError> {
    let row = sqlx::query(sql).bind(key.to_owned()).fetch_one(&mut *tx).await.map_err(db_error)?;
    row.try_get::<bool, _>(0).map_err(backend)
}

fn from_row(row: &PgRow) -> Result<Activity, StoreError> {
    let text = |name: &str| row.try_get::<String, _>(name).map_err(backend);
    let optional = |name: &str| row.try_get::<Option<String>, _>(name).map_err(backend);
    let list = |name: &str| row.try_get::<Vec<String>, _>(name).map_err(backend);
    let mut supports: Vec<ElementId> =
        row.try_get::<Vec<Uuid>, _>("supports").map_err(backend)?.into_iter().map(ElementId).collect();
    supports.sort();
    Ok(Activity {
        id: ActivityId(row.try_get("id").map_err(backend)?),
        partnership: PartnerCode::parse(&text("partnership")?).map_err(backend)?,
        title: Title::parse(&text("title")?).map_err(backend)?,
        description: Text::parse(&text("description")?).map_err(backend)?,
        kind: ActivityKind::parse(&text("kind")?).map_err(backend)?,
        starts_on: row.try_get("starts_on").map_err(backend)?,
        ends_on: row.try_get("ends_on").map_err(backend)?,
        location: optional("location")?,
        lead: optional("lead")?.map(|l| OrgCode::parse(&l)).transpose().map_err(backend)?,
        participants: parse_codes(list("participants")?, OrgCode::parse)?,
        supports,
        areas: parse_codes(list("areas")?, AreaCode::parse)?,
        status: ActivityStatus::parse(&text("status")?).map_err(backend)?,
        status_reason: optional("status_reason")?,
        outcome: Text::parse(&text("outcome")?).map_err(backend)?,
        source: row.try_get::<Option<Json<SourceRef>>, _>("source").map_err(backend)?.map(|s| s.0),
        offering: row.try_get::<Option<Uuid>, _>("offering").map_err(backend)?.map(OfferingId),
        marking: marking(&text("marking")?, list("releasable")?)?,
        version: row.try_get("version").map_err(backend)?,
        created_at: row.try_get("created_at").map_err(backend)?,
        updated_at: row.try_get("updated_at").map_err(backend)?,
    })
}
