//! The whole database as neutral rows ([`eprime_store::dump`]): export, import into an empty
//! database, row counts and integrity checks, for `eprime db copy` and `eprime db check`.

use std::collections::HashMap;

use eprime_store::dump::{self, ColumnType, Dump, Table, TableRows, Value};
use eprime_store::{Result, StoreError};
use sqlx::sqlite::{Sqlite, SqliteRow};
use sqlx::{AssertSqlSafe, QueryBuilder, Row, SqliteConnection};

use crate::SqliteStore;
use crate::codec::{backend, db_error, instant_text, parse_instant};

/// Most bound values in one statement (SQLite allows 32766).
const MAX_BINDS: usize = 30_000;

impl SqliteStore {
    /// Every table's rows, read in one transaction (a consistent snapshot). Refuses a database
    /// whose tables or columns are not exactly those [`dump::TABLES`] knows, rather than leave
    /// something behind.
    pub async fn export(&self) -> Result<Dump> {
        let mut tx = self.reader.begin().await.map_err(db_error)?;
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
            let order = table.key.join(", ");
            let sql = format!("SELECT {} FROM {} ORDER BY {order}", names.join(", "), table.name);
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

    /// Writes `dump` into this database in one transaction; refuses (changing nothing) unless
    /// every table is empty. Change-log sequence numbers are kept, and new entries continue
    /// after the highest.
    pub async fn import(&self, dump: &Dump) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        let present = schema(&mut tx).await?;
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
        tx.commit().await?;
        Ok(())
    }

    /// The number of rows of every table, in [`dump::TABLES`] order.
    pub async fn table_counts(&self) -> Result<Vec<(&'static str, u64)>> {
        let mut conn = self.reader.acquire().await.map_err(db_error)?;
        counts(&mut conn).await
    }

    /// What is wrong with the database: SQLite's own `integrity_check` and `foreign_key_check`,
    /// every reference between tables, and the change-log sequence. Empty when all is well.
    pub async fn check_integrity(&self) -> Result<Vec<String>> {
        let mut conn = self.reader.acquire().await.map_err(db_error)?;
        let mut problems = Vec::new();
        let rows = sqlx::query("PRAGMA integrity_check").fetch_all(&mut *conn).await.map_err(db_error)?;
        for row in rows {
            let message: String = row.try_get(0).map_err(backend)?;
            if message != "ok" {
                problems.push(format!("integrity_check: {message}"));
            }
        }
        let rows = sqlx::query("PRAGMA foreign_key_check").fetch_all(&mut *conn).await.map_err(db_error)?;
        for row in rows {
            let table: String = row.try_get(0).map_err(backend)?;
            let parent: String = row.try_get(2).map_err(backend)?;
            problems.push(format!("foreign_key_check: a row of {table} refers to a missing row of {parent}"));
        }
        for check in dump::reference_checks() {
            let broken: i64 =
                sqlx::query_scalar(AssertSqlSafe(check.sql.clone())).fetch_one(&mut *conn).await.map_err(db_error)?;
            if broken > 0 {
                problems.push(format!("{broken} rows break: {}", check.description));
            }
        }
        // AUTOINCREMENT: the next seq is above both the highest seq and sqlite_sequence's record.
        let (max, recorded): (Option<i64>, Option<i64>) = sqlx::query_as(
            "SELECT (SELECT max(seq) FROM change_log), (SELECT seq FROM sqlite_sequence WHERE name = 'change_log')",
        )
        .fetch_one(&mut *conn)
        .await
        .map_err(db_error)?;
        if let Some(max) = max
            && recorded.unwrap_or(0) < max
        {
            problems.push(format!(
                "change_log: the sequence is at {} but entries go up to {max}; new entries would reuse numbers",
                recorded.unwrap_or(0)
            ));
        }
        Ok(problems)
    }
}

/// The tables present, after making sure they are the ones [`dump::TABLES`] describes.
async fn schema(conn: &mut SqliteConnection) -> Result<HashMap<String, Vec<String>>> {
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

/// The stored (not generated) columns of every table.
async fn columns(conn: &mut SqliteConnection) -> Result<HashMap<String, Vec<String>>> {
    let tables: Vec<String> = sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
        .fetch_all(&mut *conn)
        .await
        .map_err(db_error)?;
    let mut out = HashMap::new();
    for table in tables {
        // table_info leaves generated columns out.
        let names: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
            .bind(&table)
            .fetch_all(&mut *conn)
            .await
            .map_err(db_error)?;
        out.insert(table, names);
    }
    Ok(out)
}

async fn counts(conn: &mut SqliteConnection) -> Result<Vec<(&'static str, u64)>> {
    let present = columns(&mut *conn).await?;
    let mut out = Vec::new();
    for table in dump::TABLES.iter().filter(|t| present.contains_key(t.name) || !t.state) {
        let sql = format!("SELECT count(*) FROM {}", table.name);
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(&mut *conn).await.map_err(db_error)?;
        out.push((table.name, n.max(0) as u64));
    }
    Ok(out)
}

fn read_row(table: &Table, row: &SqliteRow) -> Result<Vec<Value>> {
    let mut values = Vec::with_capacity(table.columns.len());
    for (i, column) in table.columns.iter().enumerate() {
        let what = |e: &dyn std::fmt::Display| StoreError::Backend(format!("{}.{}: {e}", table.name, column.name));
        let value = match column.ty {
            ColumnType::Int | ColumnType::Bool => match row.try_get::<Option<i64>, _>(i).map_err(|e| what(&e))? {
                None => Value::Null,
                Some(n) if column.ty == ColumnType::Bool => Value::Bool(n != 0),
                Some(n) => Value::Int(n),
            },
            _ => match row.try_get::<Option<String>, _>(i).map_err(|e| what(&e))? {
                None => Value::Null,
                Some(text) => match column.ty {
                    ColumnType::Text => Value::Text(text),
                    ColumnType::Uuid => Value::Uuid(text),
                    ColumnType::Date => Value::Date(
                        time::Date::parse(&text, time::macros::format_description!("[year]-[month]-[day]"))
                            .map_err(|e| what(&e))?,
                    ),
                    ColumnType::Instant => Value::Instant(parse_instant(&text).map_err(|e| what(&e))?),
                    ColumnType::Json => Value::Json(serde_json::from_str(&text).map_err(|e| what(&e))?),
                    ColumnType::Int | ColumnType::Bool => unreachable!("read as integers above"),
                },
            },
        };
        values.push(value);
    }
    Ok(values)
}

async fn insert(conn: &mut SqliteConnection, rows: &TableRows) -> Result<()> {
    let table = rows.table;
    let names: Vec<&str> = table.column_names().collect();
    let per_statement = (MAX_BINDS / names.len()).clamp(1, 500);
    let ordered = rows.insertion_order();
    for chunk in ordered.chunks(per_statement) {
        let mut query: QueryBuilder<Sqlite> =
            QueryBuilder::new(format!("INSERT INTO {} ({}) ", table.name, names.join(", ")));
        query.push_values(chunk.iter(), |mut tuple, row| {
            for value in row.iter() {
                match value {
                    Value::Null => tuple.push_bind(None::<String>),
                    Value::Text(text) | Value::Uuid(text) => tuple.push_bind(text.clone()),
                    Value::Int(n) => tuple.push_bind(*n),
                    Value::Bool(b) => tuple.push_bind(i64::from(*b)),
                    Value::Date(date) => tuple.push_bind(eprime_domain::dates::format_date(*date)),
                    Value::Instant(at) => tuple.push_bind(instant_text(*at)),
                    Value::Json(json) => tuple.push_bind(json.to_string()),
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
