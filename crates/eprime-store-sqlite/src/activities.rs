//! Cooperation activities: reads through the visibility rule, writes in one transaction each.

use std::sync::LazyLock;

use eprime_domain::access::{may_edit_activity, may_transition_activity};
use eprime_domain::{
    Activity, ActivityChanges, ActivityId, ActivityKind, ActivityStatus, AreaCode, Caller, ElementId, FieldError,
    NewActivity, OrgCode, PartnerCode, Principal, ReadScope, SourceRef, Text, Title, ValidationErrors,
};
use eprime_store::references::NewReferences;
use eprime_store::{
    ActivityFilter, ActivityOrder, ActivityTally, NewChangeEntry, Operation, Page, PageRequest, StoreError,
    status_index,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Row, SqliteConnection, SqliteExecutor};

use crate::SqliteStore;
use crate::changelog::{self, append};
use crate::codec::{
    backend, date_text, db_error, from_json, instant_text, json, marking, now, parse_date, parse_instant, split_codes,
};
use crate::group_commit::WriteTx;
use crate::scope::{SqliteQuery, bind_scope, visible};

/// The list order of an activity (newest start first, undated last): `YYYY-MM-DD|<id>`, or
/// `0000-00-00|<id>` for an undated one, so a cursor is one comparison. The indexes that list
/// activities are on this expression (migration 0012), and queries must name it exactly so, not as a
/// column: SQLite matches an indexed expression by its form, and a generated column would stop it
/// reading a page from the index alone.
macro_rules! sort_key {
    () => {
        "(coalesce(a.starts_on, '0000-00-00') || '|' || a.id)"
    };
}

/// The columns every activity read selects, lists included: child lists come as comma-joined
/// subqueries so a page of activities is one statement, however long the page.
macro_rules! activity_select {
    () => {
        concat!(
            "SELECT a.id, a.partnership, a.title, a.description, a.kind, a.starts_on, a.ends_on, a.location,",
            " a.lead, a.status, a.status_reason, a.outcome, a.source, a.marking, a.version, a.created_at,",
            " a.updated_at, ",
            sort_key!(),
            " AS sort_key, a.offering,",
            " (SELECT group_concat(org) FROM activity_participants WHERE activity = a.id) AS participants,",
            " (SELECT group_concat(element) FROM activity_elements WHERE activity = a.id) AS supports,",
            " (SELECT group_concat(area) FROM activity_areas WHERE activity = a.id) AS areas,",
            " (SELECT group_concat(org) FROM releasability",
            "   WHERE entity_type = 'activity' AND entity_id = a.id) AS releasable",
            " FROM activities a"
        )
    };
}

/// The conditions of an activity filter, written for exactly the filters that are present (one
/// `AND a.col = ?N` each), so SQLite plans each combination with the index that serves it (the
/// element and document filters as `a.id IN (…)`, which can drive the search from the goal's side). A
/// catch-all `(?N IS NULL OR a.col = ?N)` would be planned once for every value, and scan.
struct Conditions {
    sql: String,
    values: Vec<String>,
}

impl Conditions {
    /// Conditions numbered from `?{first}`, after the scope's `?1`..`?4`.
    fn of(filter: &ActivityFilter, first: usize) -> Self {
        let mut c = Self { sql: String::new(), values: Vec::new() };
        let mut next = first;
        let mut add = |c: &mut Self, template: &str, value: String| {
            c.sql.push_str(" AND ");
            c.sql.push_str(&template.replace("?N", &format!("?{next}")));
            c.values.push(value);
            next += 1;
        };
        if let Some(partnership) = &filter.partnership {
            add(&mut c, "a.partnership = ?N", partnership.as_str().to_owned());
        }
        if let Some(status) = filter.status {
            add(&mut c, "a.status = ?N", status.as_str().to_owned());
        }
        if let Some(kind) = filter.kind {
            add(&mut c, "a.kind = ?N", kind.as_str().to_owned());
        }
        if let Some(from) = date_text(filter.from) {
            add(&mut c, "(a.ends_on IS NULL OR a.ends_on >= ?N)", from);
        }
        if let Some(to) = date_text(filter.to) {
            add(&mut c, "(a.starts_on IS NULL OR a.starts_on <= ?N)", to);
        }
        if let Some(element) = filter.element {
            add(
                &mut c,
                "a.id IN (SELECT ae.activity FROM activity_elements ae WHERE ae.element = ?N)",
                element.to_string(),
            );
        }
        if let Some(document) = filter.document {
            add(
                &mut c,
                "a.id IN (SELECT ae.activity FROM activity_elements ae JOIN elements e ON e.id = ae.element \
                 WHERE e.document = ?N)",
                document.to_string(),
            );
        }
        // The sort key starts with the start date, so this is a range of the index that lists.
        if let Some(from) = date_text(filter.starts_from) {
            add(&mut c, concat!(sort_key!(), " >= ?N"), from);
        }
        if let Some(before) = date_text(filter.ends_before) {
            add(&mut c, "a.ends_on < ?N", before);
        }
        if let Some(text) = filter.text.as_deref() {
            add(
                &mut c,
                "(a.title LIKE ?N ESCAPE '\\' OR a.description LIKE ?N ESCAPE '\\' \
                 OR coalesce(a.location, '') LIKE ?N ESCAPE '\\')",
                like_pattern(text),
            );
        }
        c
    }

    /// The number of the next free parameter.
    fn next_param(&self, first: usize) -> usize {
        first + self.values.len()
    }

    fn bind(&self, mut query: SqliteQuery) -> SqliteQuery {
        for value in &self.values {
            query = query.bind(value.clone());
        }
        query
    }
}

/// `%phrase%` with LIKE's own wildcards escaped, so a search for "100%" finds "100%".
fn like_pattern(phrase: &str) -> String {
    let escaped = phrase.trim().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

/// One activity by id, if `scope` may see it (the scope's four parameters, then the id as `?5`).
const BY_ID: &str =
    concat!(activity_select!(), " WHERE a.id = ?5 AND ", visible!("activity", "a", "id", released_to = "partnership"));

pub(crate) async fn fetch<'e>(
    executor: impl SqliteExecutor<'e>,
    scope: &ReadScope,
    id: ActivityId,
) -> Result<Option<Activity>, StoreError> {
    let row =
        bind_scope(sqlx::query(BY_ID), scope).bind(id.to_string()).fetch_optional(executor).await.map_err(db_error)?;
    row.as_ref().map(from_row).transpose()
}

/// The version of one activity, if `scope` may see it: the row by its primary key and the visibility
/// rule, no child lists.
pub(crate) async fn version<'e>(
    executor: impl SqliteExecutor<'e>,
    scope: &ReadScope,
    id: ActivityId,
) -> Result<Option<i64>, StoreError> {
    const VERSION_BY_ID: &str = concat!(
        "SELECT a.version FROM activities a WHERE a.id = ?5 AND ",
        visible!("activity", "a", "id", released_to = "partnership")
    );
    let row = bind_scope(sqlx::query(VERSION_BY_ID), scope)
        .bind(id.to_string())
        .fetch_optional(executor)
        .await
        .map_err(db_error)?;
    row.map(|row| row.try_get(0).map_err(backend)).transpose()
}

/// One page of the activities matching `filter`, selecting `columns` (the whole record, or less): the
/// rows of the page and the cursor of the next one.
async fn page_rows(
    store: &SqliteStore,
    scope: &ReadScope,
    filter: &ActivityFilter,
    page: &PageRequest,
    columns: &str,
) -> Result<(Vec<SqliteRow>, Option<String>), StoreError> {
    let after = page.after.as_deref().map(parse_cursor).transpose()?;
    let (sql, conditions) = page_statement(columns, filter, after.is_some())?;
    let limit = page.limit.clamp(1, PageRequest::MAX_LIMIT);
    let mut query = conditions.bind(bind_scope(sqlx::query(AssertSqlSafe(sql)), scope));
    if let Some(after) = after {
        query = query.bind(after);
    }
    let query = query.bind(i64::from(limit) + 1);
    let mut rows = query.fetch_all(&store.reader).await.map_err(db_error)?;
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
    store: &SqliteStore,
    scope: &ReadScope,
    filter: &ActivityFilter,
    page: &PageRequest,
) -> Result<Page<Activity>, StoreError> {
    let (rows, next_cursor) = page_rows(store, scope, filter, page, activity_select!()).await?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page { items, next_cursor })
}

/// The statement of one page: `columns`, the visibility rule and `filter`'s conditions (`?1`..), then
/// the cursor when there is one, the order and the limit. The conditions are returned for binding.
fn page_statement(columns: &str, filter: &ActivityFilter, after: bool) -> Result<(String, Conditions), StoreError> {
    let conditions = Conditions::of(filter, 5);
    let mut next = conditions.next_param(5);
    let mut sql =
        format!("{columns} WHERE {}{}", visible!("activity", "a", "id", released_to = "partnership"), conditions.sql);
    let (after_sort_key, order) = match filter.order {
        ActivityOrder::NewestFirst => (concat!(sort_key!(), " <"), concat!(sort_key!(), " DESC")),
        ActivityOrder::SoonestFirst => (concat!(sort_key!(), " >"), concat!(sort_key!(), " ASC")),
        ActivityOrder::RecentlyChanged if after => {
            return Err(FieldError::new("after", "a list of recent changes has one page").into());
        }
        ActivityOrder::RecentlyChanged => ("", "a.updated_at DESC, a.id DESC"),
    };
    if after {
        sql.push_str(&format!(" AND {after_sort_key} ?{next}"));
        next += 1;
    }
    sql.push_str(&format!(" ORDER BY {order} LIMIT ?{next}"));
    Ok((sql, conditions))
}

/// What `list_versions` selects. These columns, and those of every filter but the phrase, the goal and
/// the document, are in the partnership index, so a page of a partnership is read from that index
/// alone (a test below checks the plan).
const VERSION_COLUMNS: &str = concat!("SELECT a.id, a.version, ", sort_key!(), " AS sort_key FROM activities a");

/// The page `list` gives, as (id, version) pairs: an index walk and no child lists.
pub(crate) async fn list_versions(
    store: &SqliteStore,
    scope: &ReadScope,
    filter: &ActivityFilter,
    page: &PageRequest,
) -> Result<Page<(ActivityId, i64)>, StoreError> {
    let (rows, next_cursor) = page_rows(store, scope, filter, page, VERSION_COLUMNS).await?;
    let items = rows.iter().map(id_and_version).collect::<Result<Vec<_>, _>>()?;
    Ok(Page { items, next_cursor })
}

/// The visible activities among `ids`, in the order of `ids`: one statement for the whole list.
pub(crate) async fn by_ids(
    store: &SqliteStore,
    scope: &ReadScope,
    ids: &[ActivityId],
) -> Result<Vec<Activity>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = concat!(
        activity_select!(),
        " WHERE a.id IN (SELECT value FROM json_each(?5)) AND ",
        visible!("activity", "a", "id", released_to = "partnership")
    );
    let list: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let rows =
        bind_scope(sqlx::query(sql), scope).bind(json(&list)?).fetch_all(&store.reader).await.map_err(db_error)?;
    let mut found = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    found.sort_by_key(|a| ids.iter().position(|id| *id == a.id));
    Ok(found)
}

fn id_and_version(row: &SqliteRow) -> Result<(ActivityId, i64), StoreError> {
    let id: String = row.try_get("id").map_err(backend)?;
    Ok((id.parse().map_err(backend)?, row.try_get("version").map_err(backend)?))
}

pub(crate) async fn count(store: &SqliteStore, scope: &ReadScope, filter: &ActivityFilter) -> Result<u64, StoreError> {
    let conditions = Conditions::of(filter, 5);
    let sql = format!(
        "SELECT count(*) FROM activities a WHERE {}{}",
        visible!("activity", "a", "id", released_to = "partnership"),
        conditions.sql
    );
    let query = conditions.bind(bind_scope(sqlx::query(AssertSqlSafe(sql)), scope));
    let row = query.fetch_one(&store.reader).await.map_err(db_error)?;
    Ok(u64::try_from(row.try_get::<i64, _>(0).map_err(backend)?).unwrap_or_default())
}

/// Counts along the axes of [`ActivityTally`]: three grouped statements over the same conditions,
/// whatever the number of activities.
pub(crate) async fn tally(
    store: &SqliteStore,
    scope: &ReadScope,
    filter: &ActivityFilter,
) -> Result<ActivityTally, StoreError> {
    let mut connection = store.reader.acquire().await.map_err(db_error)?;
    tally_on(&mut connection, scope, filter).await
}

/// One partnership's tally and stamp from one read transaction (one WAL snapshot).
pub(crate) async fn partnership_tally(
    store: &SqliteStore,
    scope: &ReadScope,
    partner: &PartnerCode,
) -> Result<(i64, ActivityTally), StoreError> {
    let mut snapshot = store.reader.begin().await.map_err(db_error)?;
    let stamp = crate::changelog::partnership_stamp(&mut *snapshot, partner.as_str()).await?;
    let filter = ActivityFilter { partnership: Some(partner.clone()), ..Default::default() };
    let tally = tally_on(&mut snapshot, scope, &filter).await?;
    snapshot.commit().await.map_err(db_error)?;
    Ok((stamp, tally))
}

async fn tally_on(
    connection: &mut SqliteConnection,
    scope: &ReadScope,
    filter: &ActivityFilter,
) -> Result<ActivityTally, StoreError> {
    let conditions = Conditions::of(filter, 5);
    let statement = |select: &str, join: &str, group: &str| {
        let sql = format!(
            "SELECT {select} FROM activities a{join} WHERE {}{} GROUP BY {group}",
            visible!("activity", "a", "id", released_to = "partnership"),
            conditions.sql
        );
        conditions.bind(bind_scope(sqlx::query(AssertSqlSafe(sql)), scope))
    };
    let mut tally = ActivityTally::default();
    let by_year = statement("a.status, CAST(substr(a.starts_on, 1, 4) AS INTEGER), count(*)", "", "1, 2")
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

fn status_of(row: &SqliteRow) -> Result<ActivityStatus, StoreError> {
    let raw: String = row.try_get(0).map_err(backend)?;
    ActivityStatus::parse(&raw).map_err(backend)
}

fn element_of(row: &SqliteRow) -> Result<ElementId, StoreError> {
    let raw: String = row.try_get(1).map_err(backend)?;
    raw.parse().map_err(backend)
}

fn count_of(row: &SqliteRow, column: usize) -> Result<u64, StoreError> {
    Ok(u64::try_from(row.try_get::<i64, _>(column).map_err(backend)?).unwrap_or_default())
}

/// A cursor is the sort key of the last item seen: `YYYY-MM-DD|<uuid>` (or `0000-00-00|…` for undated).
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

pub(crate) async fn create(store: &SqliteStore, actor: &Principal, new: NewActivity) -> Result<Activity, StoreError> {
    may_edit_activity(actor, &new.partnership)?;
    let actor = actor.clone();
    store.writes.write(move |tx| Box::pin(async move { create_in(tx, &actor, new).await })).await
}

async fn create_in(tx: &mut WriteTx, actor: &Principal, new: NewActivity) -> Result<Activity, StoreError> {
    let tx = tx.connection().await?;
    let scope = Caller::User(actor.clone()).read_scope();
    crate::partnerships::ensure_visible(&mut *tx, &scope, &new.partnership).await?;
    let activity = new.into_activity(ActivityId::new(), now());
    check_references(&mut *tx, &scope, None, &activity).await?;
    if let Some(offering) = activity.offering
        && crate::offerings::fetch(&mut *tx, &scope, offering).await?.is_none()
    {
        return Err(FieldError::new("offering", format!("no menu offering {offering} is visible to you")).into());
    }
    sqlx::query(
        "INSERT INTO activities (id, partnership, title, description, kind, starts_on, ends_on, location, lead,
             status, status_reason, outcome, source, marking, version, created_at, updated_at, offering)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?16, ?17)",
    )
    .bind(activity.id.to_string())
    .bind(activity.partnership.as_str().to_owned())
    .bind(activity.title.as_str().to_owned())
    .bind(activity.description.as_str().to_owned())
    .bind(activity.kind.as_str())
    .bind(date_text(activity.starts_on))
    .bind(date_text(activity.ends_on))
    .bind(activity.location.clone())
    .bind(activity.lead.as_ref().map(|l| l.as_str().to_owned()))
    .bind(activity.status.as_str())
    .bind(activity.status_reason.clone())
    .bind(activity.outcome.as_str().to_owned())
    .bind(activity.source.as_ref().map(json).transpose()?)
    .bind(activity.marking.classification.as_str())
    .bind(activity.version)
    .bind(instant_text(activity.created_at))
    .bind(activity.offering.map(|o| o.to_string()))
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    write_children(&mut *tx, &activity, None).await?;
    append(
        &mut *tx,
        NewChangeEntry::about(&activity, Some(actor.username.as_str()), Operation::Create).after(&activity),
    )
    .await?;
    Ok(activity)
}

pub(crate) async fn update(
    store: &SqliteStore,
    actor: &Principal,
    id: ActivityId,
    expected_version: Option<i64>,
    changes: ActivityChanges,
) -> Result<Activity, StoreError> {
    let actor = actor.clone();
    store
        .writes
        .write(move |tx| Box::pin(async move { update_in(tx, &actor, id, expected_version, changes).await }))
        .await
}

async fn update_in(
    tx: &mut WriteTx,
    actor: &Principal,
    id: ActivityId,
    expected_version: Option<i64>,
    changes: ActivityChanges,
) -> Result<Activity, StoreError> {
    let scope = Caller::User(actor.clone()).read_scope();
    let current = load_for_write(&mut *tx, &scope, id, expected_version).await?;
    let tx = tx.connection().await?;
    may_edit_activity(actor, &current.partnership)?;
    let mut next = changes.apply_to(&current)?;
    check_references(&mut *tx, &scope, Some(&current), &next).await?;
    next.version = current.version + 1;
    next.updated_at = now();
    write_children(&mut *tx, &next, Some(&current)).await?;
    save_and_record(&mut *tx, actor, &current, &next, Operation::Update).await?;
    Ok(next)
}

pub(crate) async fn transition(
    store: &SqliteStore,
    actor: &Principal,
    id: ActivityId,
    expected_version: Option<i64>,
    to: ActivityStatus,
    reason: Option<String>,
) -> Result<Activity, StoreError> {
    let actor = actor.clone();
    store
        .writes
        .write(move |tx| Box::pin(async move { transition_in(tx, &actor, id, expected_version, to, reason).await }))
        .await
}

async fn transition_in(
    tx: &mut WriteTx,
    actor: &Principal,
    id: ActivityId,
    expected_version: Option<i64>,
    to: ActivityStatus,
    reason: Option<String>,
) -> Result<Activity, StoreError> {
    let scope = Caller::User(actor.clone()).read_scope();
    let current = load_for_write(&mut *tx, &scope, id, expected_version).await?;
    let tx = tx.connection().await?;
    may_transition_activity(actor, &current.partnership, to)?;
    let status = current.status.transition(to, reason.as_deref())?;
    let reason = match reason.filter(|_| status.needs_reason()) {
        Some(r) => Some(Text::parse(&r).map_err(|e| e.at("reason"))?.to_string()),
        None => None,
    };
    let mut next = current.clone();
    next.status = status;
    next.status_reason = reason;
    next.version = current.version + 1;
    next.updated_at = now();
    save_and_record(&mut *tx, actor, &current, &next, Operation::Transition).await?;
    Ok(next)
}

/// Reads the activity a write is about, as the actor sees it, and checks the caller's version. The
/// write's first statement: its savepoint is opened in the same round trip.
async fn load_for_write(
    tx: &mut WriteTx,
    scope: &ReadScope,
    id: ActivityId,
    expected_version: Option<i64>,
) -> Result<Activity, StoreError> {
    let row = tx
        .first(BY_ID, async |sql, connection| {
            bind_scope(sqlx::query(AssertSqlSafe(sql)), scope).bind(id.to_string()).fetch_optional(connection).await
        })
        .await?;
    let current =
        row.as_ref().map(from_row).transpose()?.ok_or_else(|| StoreError::NotFound(format!("activity {id}")))?;
    match expected_version {
        Some(expected) if expected != current.version => Err(StoreError::Stale { expected, current: current.version }),
        _ => Ok(current),
    }
}

/// Writes `next` over `current` (its previous version) and records the change, in one round trip to
/// the connection (`changelog::change_one_and_append`).
async fn save_and_record(
    tx: &mut SqliteConnection,
    actor: &Principal,
    current: &Activity,
    next: &Activity,
    operation: Operation,
) -> Result<(), StoreError> {
    static SAVE_AND_RECORD: LazyLock<String> = LazyLock::new(|| {
        changelog::after_changing_one(
            "UPDATE activities SET title = ?3, description = ?4, kind = ?5, starts_on = ?6, ends_on = ?7,
                 location = ?8, lead = ?9, status = ?10, status_reason = ?11, outcome = ?12, marking = ?13,
                 version = ?14, updated_at = ?15
             WHERE id = ?1 AND version = ?2",
            15,
        )
    });
    let entry = NewChangeEntry::about(next, Some(actor.username.as_str()), operation).before(Some(current)).after(next);
    let bind_update = |query: changelog::SqliteScalar<'static>| {
        query
            .bind(next.id.to_string())
            .bind(current.version)
            .bind(next.title.as_str().to_owned())
            .bind(next.description.as_str().to_owned())
            .bind(next.kind.as_str())
            .bind(date_text(next.starts_on))
            .bind(date_text(next.ends_on))
            .bind(next.location.clone())
            .bind(next.lead.as_ref().map(|l| l.as_str().to_owned()))
            .bind(next.status.as_str())
            .bind(next.status_reason.clone())
            .bind(next.outcome.as_str().to_owned())
            .bind(next.marking.classification.as_str())
            .bind(next.version)
            .bind(instant_text(next.updated_at))
    };
    match changelog::change_one_and_append(&mut *tx, &SAVE_AND_RECORD, bind_update, entry).await? {
        Some(_seq) => Ok(()),
        // Writes are serialised, so this means the row changed between our read and write.
        None => Err(StoreError::Stale { expected: current.version, current: current.version + 1 }),
    }
}

/// Writes the child lists that changed (all of them for a new activity).
async fn write_children(
    tx: &mut SqliteConnection,
    next: &Activity,
    previous: Option<&Activity>,
) -> Result<(), StoreError> {
    let id = next.id.to_string();
    if previous.is_none_or(|p| p.participants != next.participants) {
        sqlx::query("DELETE FROM activity_participants WHERE activity = ?1")
            .bind(id.clone())
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        for org in &next.participants {
            sqlx::query("INSERT INTO activity_participants (activity, org) VALUES (?1, ?2)")
                .bind(id.clone())
                .bind(org.as_str().to_owned())
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
    }
    if previous.is_none_or(|p| p.supports != next.supports) {
        sqlx::query("DELETE FROM activity_elements WHERE activity = ?1")
            .bind(id.clone())
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        for element in &next.supports {
            sqlx::query("INSERT INTO activity_elements (activity, element) VALUES (?1, ?2)")
                .bind(id.clone())
                .bind(element.to_string())
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
    }
    if previous.is_none_or(|p| p.areas != next.areas) {
        sqlx::query("DELETE FROM activity_areas WHERE activity = ?1")
            .bind(id.clone())
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        for area in &next.areas {
            sqlx::query("INSERT INTO activity_areas (activity, area) VALUES (?1, ?2)")
                .bind(id.clone())
                .bind(area.as_str().to_owned())
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
    }
    if previous.is_none_or(|p| p.marking != next.marking) {
        crate::releasability::replace(tx, "activity", &id, next.marking.releasable_list()).await?;
    }
    Ok(())
}

/// Every code and id the write adds (`NewReferences`) must exist, and added elements must belong to
/// a visible document of the activity's own partnership. All problems are reported together.
async fn check_references(
    tx: &mut SqliteConnection,
    scope: &ReadScope,
    previous: Option<&Activity>,
    activity: &Activity,
) -> Result<(), StoreError> {
    let mut errors = ValidationErrors::default();
    let added = NewReferences::of(previous, activity);
    for (field, org) in added.orgs {
        if !exists(tx, "SELECT count(*) FROM organisations WHERE code = ?1", org.as_str()).await? {
            errors.push(FieldError::new(field, format!("there is no organisation {org}")));
        }
    }
    for (field, area) in added.areas {
        if !exists(tx, "SELECT count(*) FROM areas WHERE code = ?1", area.as_str()).await? {
            errors.push(FieldError::new(field, format!("there is no area of cooperation {area}")));
        }
    }
    let sql = concat!(
        "SELECT count(*) FROM elements e JOIN documents d ON d.id = e.document",
        " WHERE e.id = ?5 AND d.partnership = ?6 AND ",
        visible!("document", "d", "id")
    );
    for (field, element) in added.elements {
        let row = bind_scope(sqlx::query(sql), scope)
            .bind(element.to_string())
            .bind(activity.partnership.as_str().to_owned())
            .fetch_one(&mut *tx)
            .await
            .map_err(db_error)?;
        if row.try_get::<i64, _>(0).map_err(backend)? == 0 {
            errors.push(FieldError::new(
                field,
                format!("{element} is not a goal, area or objective of a {} document", activity.partnership),
            ));
        }
    }
    if let Some(document) = added.document {
        let sql = concat!("SELECT count(*) FROM documents d WHERE d.id = ?5 AND ", visible!("document", "d", "id"));
        let row = bind_scope(sqlx::query(sql), scope)
            .bind(document.to_string())
            .fetch_one(&mut *tx)
            .await
            .map_err(db_error)?;
        if row.try_get::<i64, _>(0).map_err(backend)? == 0 {
            errors.push(FieldError::new("source.document", format!("there is no document {document}")));
        }
    }
    errors.into_result().map_err(StoreError::from)
}

async fn exists(tx: &mut SqliteConnection, sql: &'static str, key: &str) -> Result<bool, StoreError> {
    let row = sqlx::query(sql).bind(key.to_owned()).fetch_one(&mut *tx).await.map_err(db_error)?;
    Ok(row.try_get::<i64, _>(0).map_err(backend)? > 0)
}

fn from_row(row: &SqliteRow) -> Result<Activity, StoreError> {
    let text = |name: &str| row.try_get::<String, _>(name).map_err(backend);
    let optional = |name: &str| row.try_get::<Option<String>, _>(name).map_err(backend);
    let mut participants = split_codes(optional("participants")?, OrgCode::parse)?;
    participants.sort();
    let mut supports = split_codes(optional("supports")?, |s| s.parse::<ElementId>())?;
    supports.sort();
    let mut areas = split_codes(optional("areas")?, AreaCode::parse)?;
    areas.sort();
    Ok(Activity {
        id: text("id")?.parse().map_err(backend)?,
        partnership: PartnerCode::parse(&text("partnership")?).map_err(backend)?,
        title: Title::parse(&text("title")?).map_err(backend)?,
        description: Text::parse(&text("description")?).map_err(backend)?,
        kind: ActivityKind::parse(&text("kind")?).map_err(backend)?,
        starts_on: parse_date(optional("starts_on")?)?,
        ends_on: parse_date(optional("ends_on")?)?,
        location: optional("location")?,
        lead: optional("lead")?.map(|l| OrgCode::parse(&l)).transpose().map_err(backend)?,
        participants,
        supports,
        areas,
        status: ActivityStatus::parse(&text("status")?).map_err(backend)?,
        status_reason: optional("status_reason")?,
        outcome: Text::parse(&text("outcome")?).map_err(backend)?,
        source: optional("source")?.map(|s| from_json::<SourceRef>(&s)).transpose()?,
        offering: optional("offering")?.map(|o| o.parse()).transpose().map_err(backend)?,
        marking: marking(&text("marking")?, optional("releasable")?)?,
        version: row.try_get("version").map_err(backend)?,
        created_at: parse_instant(&text("created_at")?)?,
        updated_at: parse_instant(&text("updated_at")?)?,
    })
}

#[cfg(test)]
mod tests {
    use eprime_domain::{ActivityKind, ActivityStatus, PartnerCode, ReadScope};
    use eprime_store::{ActivityFilter, ActivityOrder};
    use time::macros::date;

    use super::{VERSION_COLUMNS, page_statement};
    use crate::SqliteStore;
    use crate::scope::bind_scope;

    /// SQLite's plan for a page of versions under `filter`, as `EXPLAIN QUERY PLAN` words it.
    async fn plan(store: &SqliteStore, filter: &ActivityFilter, after: bool) -> String {
        let (sql, conditions) = page_statement(VERSION_COLUMNS, filter, after).unwrap();
        let scope = ReadScope::public_only();
        let mut query =
            conditions.bind(bind_scope(sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}"))), &scope));
        if after {
            query = query.bind("2024-01-01|00000000-0000-0000-0000-000000000000");
        }
        let rows = query.bind(51_i64).fetch_all(&store.reader).await.unwrap();
        crate::query_plan(&rows)
    }

    /// Under a stream of writes every read starts with an empty page cache, so a page of a
    /// partnership's activities must not visit a table row per activity: every column its walk reads
    /// is in `activities_by_partnership` (migration 0012). This fails if a query names a generated
    /// column, or selects or filters on a column the index lacks.
    #[tokio::test]
    async fn a_page_of_a_partnership_is_read_from_its_index_alone() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        let partnership = Some(PartnerCode::parse("JPN").unwrap());
        let filters = [
            ActivityFilter { partnership: partnership.clone(), ..Default::default() },
            ActivityFilter {
                partnership: partnership.clone(),
                status: Some(ActivityStatus::Completed),
                ..Default::default()
            },
            ActivityFilter {
                partnership: partnership.clone(),
                kind: Some(ActivityKind::Exercise),
                from: Some(date!(2020 - 01 - 01)),
                to: Some(date!(2026 - 12 - 31)),
                ..Default::default()
            },
            ActivityFilter {
                partnership: partnership.clone(),
                starts_from: Some(date!(2021 - 01 - 01)),
                ends_before: Some(date!(2027 - 01 - 01)),
                order: ActivityOrder::SoonestFirst,
                ..Default::default()
            },
        ];
        for filter in &filters {
            for after in [false, true] {
                let plan = plan(&store, filter, after).await;
                assert!(
                    plan.contains("USING COVERING INDEX activities_by_partnership"),
                    "{filter:?} (cursor: {after}) is planned as: {plan}"
                );
                assert!(!plan.contains("TEMP B-TREE"), "{filter:?} sorts instead of walking in order: {plan}");
            }
        }
    }
}
