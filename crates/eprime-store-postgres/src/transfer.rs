//! The whole database as neutral rows ([`eprime_store::dump`]): export, import into an empty
//! database, row counts and integrity checks, for `eprime db copy` and `eprime db check`.

use std::collections::HashMap;

use eprime_store::dump::{self, ColumnType, Dump, Table, TableRows, Value};
use eprime_store::{Result, StoreError};
use sqlx::postgres::{PgRow, Postgres};
use sqlx::types::Json;
use sqlx::{AssertSqlSafe, PgConnection, QueryBuilder, Row};
use time::{Date, OffsetDateTime};

use crate::PostgresStore;
use crate::codec::db_error;

/// Most bound values in one statement (the protocol allows 65535).
const MAX_BINDS: usize = 30_000;

impl PostgresStore {
    /// Every table's rows, read in one repeatable-read transaction (a consistent snapshot, while
    /// instances keep writing). Refuses a database whose tables or columns are not exactly those
    /// [`dump::TABLES`] knows, rather than leave something behind.
    pub async fn export(&self) -> Result<Dump> {
        let mut tx =
            self.reads.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await.map_err(db_error)?;
        let present = columns(&mut tx).await?;
        let differences = dump::schema_differences(&present);
        if !differences.is_empty() {
            return Err(StoreError::Backend(format!(
                "the database's schema is not the one this version copies: {}",
                differences.join("; ")
            )));
        }
        let mut out = Dump::default();
        for table in dump::TABLES.iter().filter(|t| present.contains_key(t.name)) {
            let names: Vec<&str> = table.column_names().collect();
            let sql = format!("SELECT {} FROM {} ORDER BY {}", names.join(", "), table.name, table.key.join(", "));
            let rows = sqlx::query(AssertSqlSafe(sql)).fetch_all(&mut *tx).await.map_err(db_error)?;
            let mut rows_out = TableRows::new(table);
            for row in &rows {
                rows_out.rows.push(read_row(table, row)?);
            }
            out.tables.push(rows_out);
        }
        tx.commit().await.map_err(db_error)?;
        Ok(out)
    }

    /// Writes `dump` into this database in one transaction, holding every table locked; refuses
    /// (changing nothing) unless every table is empty. Change-log sequence numbers are kept, and
    /// the identity sequence is moved past the highest, so new entries continue after it.
    pub async fn import(&self, dump: &Dump) -> Result<()> {
        let mut tx = self.writes.begin().await.map_err(db_error)?;
        let present = schema(&mut tx).await?;
        let all: Vec<&str> = dump::TABLES.iter().map(|t| t.name).filter(|t| present.contains_key(*t)).collect();
        sqlx::query(AssertSqlSafe(format!("LOCK TABLE {} IN EXCLUSIVE MODE", all.join(", "))))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        let used: Vec<String> = counts(&mut tx)
            .await?
            .iter()
            .filter(|(table, n)| *n > 0 && !dump::table(table).is_some_and(|t| t.state))
            .map(|(table, n)| format!("{table} ({n} rows)"))
            .collect();
        if !used.is_empty() {
            return Err(StoreError::Conflict(format!(
                "the target database is not empty: {}; copy only into an empty database",
                used.join(", ")
            )));
        }
        for rows in &dump.tables {
            if !present.contains_key(rows.table.name) {
                continue; // bookkeeping this backend does not keep
            }
            if rows.table.state {
                // Seeded by the migration: the source's position replaces it.
                let sql = format!("DELETE FROM {}", rows.table.name);
                sqlx::query(AssertSqlSafe(sql)).execute(&mut *tx).await.map_err(db_error)?;
            }
            insert(&mut tx, rows).await?;
        }
        sqlx::query(
            "SELECT setval(pg_get_serial_sequence('change_log', 'seq'), max(seq)) FROM change_log HAVING count(*) > 0",
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        // The planner knows nothing of rows written in bulk until autovacuum gets round to them:
        // until then every table looks empty, and a page of activities at scale M was planned as a
        // scan of all of them (25 ms instead of 3). Statistics are gathered before the copy counts
        // as done.
        sqlx::query(AssertSqlSafe(format!("ANALYZE {}", all.join(", "))))
            .execute(&self.writes)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    /// The number of rows of every table, in [`dump::TABLES`] order.
    pub async fn table_counts(&self) -> Result<Vec<(&'static str, u64)>> {
        let mut conn = self.reads.acquire().await.map_err(db_error)?;
        counts(&mut conn).await
    }

    /// What is wrong with the database: every reference between tables (anti-joins, in case
    /// constraints were ever bypassed), constraints not validated, the change log's append-only
    /// triggers, and its identity sequence. Empty when all is well.
    pub async fn check_integrity(&self) -> Result<Vec<String>> {
        let mut conn = self.reads.acquire().await.map_err(db_error)?;
        let mut problems = Vec::new();
        for check in dump::reference_checks() {
            let broken: i64 =
                sqlx::query_scalar(AssertSqlSafe(check.sql.clone())).fetch_one(&mut *conn).await.map_err(db_error)?;
            if broken > 0 {
                problems.push(format!("{broken} rows break: {}", check.description));
            }
        }
        let unvalidated: Vec<String> = sqlx::query_scalar(
            "SELECT conrelid::regclass::text || ': ' || conname::text FROM pg_constraint
              WHERE NOT convalidated AND connamespace = current_schema()::regnamespace ORDER BY 1",
        )
        .fetch_all(&mut *conn)
        .await
        .map_err(db_error)?;
        problems.extend(unvalidated.into_iter().map(|c| format!("constraint not validated: {c}")));
        let triggers: Vec<(String, bool)> = sqlx::query_as(
            "SELECT tgname::text, tgenabled <> 'D' FROM pg_trigger
              WHERE tgrelid = to_regclass('change_log') AND NOT tgisinternal ORDER BY 1",
        )
        .fetch_all(&mut *conn)
        .await
        .map_err(db_error)?;
        if triggers.len() < 2 {
            problems.push("change_log: its append-only triggers are missing".to_owned());
        }
        for (name, enabled) in triggers {
            if !enabled {
                problems.push(format!("change_log: the append-only trigger {name} is disabled"));
            }
        }
        let sequence: Option<String> = sqlx::query_scalar("SELECT pg_get_serial_sequence('change_log', 'seq')")
            .fetch_one(&mut *conn)
            .await
            .map_err(db_error)?;
        let max: Option<i64> =
            sqlx::query_scalar("SELECT max(seq) FROM change_log").fetch_one(&mut *conn).await.map_err(db_error)?;
        match sequence {
            None => problems.push("change_log: seq has no identity sequence".to_owned()),
            Some(sequence) => {
                // The name comes from the catalog, already quoted as needed.
                let (last, called): (i64, bool) =
                    sqlx::query_as(AssertSqlSafe(format!("SELECT last_value, is_called FROM {sequence}")))
                        .fetch_one(&mut *conn)
                        .await
                        .map_err(db_error)?;
                let next = if called { last + 1 } else { last };
                if let Some(max) = max
                    && next <= max
                {
                    problems.push(format!(
                        "change_log: the next seq would be {next} but entries go up to {max}; new entries would clash"
                    ));
                }
            }
        }
        Ok(problems)
    }
}

/// The tables present, after making sure they are the ones [`dump::TABLES`] describes.
async fn schema(conn: &mut PgConnection) -> Result<HashMap<String, Vec<String>>> {
    let present = columns(conn).await?;
    let differences = dump::schema_differences(&present);
    if !differences.is_empty() {
        return Err(StoreError::Backend(format!(
            "the target's schema is not the one this version copies: {}",
            differences.join("; ")
        )));
    }
    Ok(present)
}

/// The stored (not generated) columns of every table of the current schema.
async fn columns(conn: &mut PgConnection) -> Result<HashMap<String, Vec<String>>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.table_name::text, c.column_name::text
           FROM information_schema.columns c
           JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
          WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' AND c.is_generated = 'NEVER'
          ORDER BY c.table_name, c.ordinal_position",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for (table, column) in rows {
        out.entry(table).or_default().push(column);
    }
    Ok(out)
}

async fn counts(conn: &mut PgConnection) -> Result<Vec<(&'static str, u64)>> {
    let present = columns(&mut *conn).await?;
    let mut out = Vec::new();
    for table in dump::TABLES.iter().filter(|t| present.contains_key(t.name) || !t.state) {
        let sql = format!("SELECT count(*) FROM {}", table.name);
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(&mut *conn).await.map_err(db_error)?;
        out.push((table.name, n.max(0) as u64));
    }
    Ok(out)
}

fn read_row(table: &Table, row: &PgRow) -> Result<Vec<Value>> {
    let mut values = Vec::with_capacity(table.columns.len());
    for (i, column) in table.columns.iter().enumerate() {
        let what = |e: sqlx::Error| StoreError::Backend(format!("{}.{}: {e}", table.name, column.name));
        let value = match column.ty {
            ColumnType::Text => row.try_get::<Option<String>, _>(i).map_err(what)?.map(Value::Text),
            // bigint, or a narrower integer column (a migration may use `integer`).
            ColumnType::Int => match row.try_get::<Option<i64>, _>(i) {
                Ok(n) => n,
                Err(_) => match row.try_get::<Option<i32>, _>(i) {
                    Ok(n) => n.map(i64::from),
                    Err(_) => row.try_get::<Option<i16>, _>(i).map_err(what)?.map(i64::from),
                },
            }
            .map(Value::Int),
            ColumnType::Bool => row.try_get::<Option<bool>, _>(i).map_err(what)?.map(Value::Bool),
            ColumnType::Uuid => {
                row.try_get::<Option<uuid::Uuid>, _>(i).map_err(what)?.map(|id| Value::Uuid(id.to_string()))
            }
            ColumnType::Date => row.try_get::<Option<Date>, _>(i).map_err(what)?.map(Value::Date),
            ColumnType::Instant => row.try_get::<Option<OffsetDateTime>, _>(i).map_err(what)?.map(Value::Instant),
            ColumnType::Json => {
                row.try_get::<Option<Json<serde_json::Value>>, _>(i).map_err(what)?.map(|json| Value::Json(json.0))
            }
        };
        values.push(value.unwrap_or(Value::Null));
    }
    Ok(values)
}

/// A value ready to bind to a column of its type (a typed null for a null).
enum Bind {
    Text(Option<String>),
    Int(Option<i64>),
    Bool(Option<bool>),
    Uuid(Option<uuid::Uuid>),
    Date(Option<Date>),
    Instant(Option<OffsetDateTime>),
    Json(Option<Json<serde_json::Value>>),
}

fn bind_value(table: &Table, index: usize, value: &Value) -> Result<Bind> {
    let column = &table.columns[index];
    let mismatch =
        || StoreError::Backend(format!("{}.{}: {} is not a {:?}", table.name, column.name, value.render(), column.ty));
    Ok(match (column.ty, value) {
        (ColumnType::Text, Value::Null) => Bind::Text(None),
        (ColumnType::Text, Value::Text(text)) => Bind::Text(Some(text.clone())),
        (ColumnType::Int, Value::Null) => Bind::Int(None),
        (ColumnType::Int, Value::Int(n)) => Bind::Int(Some(*n)),
        (ColumnType::Bool, Value::Null) => Bind::Bool(None),
        (ColumnType::Bool, Value::Bool(b)) => Bind::Bool(Some(*b)),
        (ColumnType::Uuid, Value::Null) => Bind::Uuid(None),
        (ColumnType::Uuid, Value::Uuid(id)) => Bind::Uuid(Some(uuid::Uuid::parse_str(id).map_err(|_| mismatch())?)),
        (ColumnType::Date, Value::Null) => Bind::Date(None),
        (ColumnType::Date, Value::Date(date)) => Bind::Date(Some(*date)),
        (ColumnType::Instant, Value::Null) => Bind::Instant(None),
        // timestamptz keeps microseconds; truncate explicitly rather than leave it to the driver.
        (ColumnType::Instant, Value::Instant(at)) => Bind::Instant(Some(dump::to_microseconds(*at))),
        (ColumnType::Json, Value::Null) => Bind::Json(None),
        (ColumnType::Json, Value::Json(json)) => Bind::Json(Some(Json(json.clone()))),
        _ => return Err(mismatch()),
    })
}

async fn insert(conn: &mut PgConnection, rows: &TableRows) -> Result<()> {
    let table = rows.table;
    let names: Vec<&str> = table.column_names().collect();
    let binds: Vec<Vec<Bind>> = rows
        .insertion_order()
        .into_iter()
        .map(|row| row.iter().enumerate().map(|(i, value)| bind_value(table, i, value)).collect())
        .collect::<Result<_>>()?;
    // Identity columns (change_log.seq) refuse given values unless told to keep them.
    let overriding = if table.name == "change_log" { "OVERRIDING SYSTEM VALUE " } else { "" };
    let per_statement = (MAX_BINDS / names.len()).clamp(1, 1000);
    for chunk in binds.chunks(per_statement) {
        let mut query: QueryBuilder<Postgres> =
            QueryBuilder::new(format!("INSERT INTO {} ({}) {overriding}", table.name, names.join(", ")));
        query.push_values(chunk.iter(), |mut tuple, row| {
            for value in row {
                match value {
                    Bind::Text(v) => tuple.push_bind(v.clone()),
                    Bind::Int(v) => tuple.push_bind(*v),
                    Bind::Bool(v) => tuple.push_bind(*v),
                    Bind::Uuid(v) => tuple.push_bind(*v),
                    Bind::Date(v) => tuple.push_bind(*v),
                    Bind::Instant(v) => tuple.push_bind(*v),
                    Bind::Json(v) => tuple.push_bind(v.clone()),
                };
            }
        });
        query.build().execute(&mut *conn).await.map_err(|e| match db_error(e) {
            StoreError::Conflict(message) => StoreError::Conflict(format!("copying {}: {message}", table.name)),
            StoreError::Backend(message) => StoreError::Backend(format!("copying {}: {message}", table.name)),
            other => other,
        })?;
    }
    Ok(())
}
