//! A whole database as plain rows, the same on every backend: what `eprime db copy` moves from
//! one store to another and `eprime db check` inspects.
//!
//! [`TABLES`] lists every table e-PRIME keeps, in dependency order (a table only refers to
//! tables before it, or to itself), with each column's neutral [`ColumnType`]. Each store crate
//! reads its tables into [`TableRows`] and writes them back, converting between its own column
//! types (SQLite text, PostgreSQL `uuid`/`date`/`timestamptz`/`jsonb`) and [`Value`]. The
//! [`TableRows::checksum`] of a table is a SHA-256 over its rows in primary-key order, each
//! rendered in one backend-neutral text form, so a table copied between backends has the same
//! checksum on both sides.
//!
//! A migration that adds a table or a column must add it here too: the stores refuse to export a
//! table whose columns are not the ones listed (rather than silently leave a column behind), and
//! the store crates' tests compare this list with their migrated schema.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::fmt::Write;

use sha2::{Digest, Sha256};
use time::{Date, OffsetDateTime, UtcOffset};

/// The neutral type of a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    Text,
    Int,
    Bool,
    /// A UUID, as lowercase hyphenated text.
    Uuid,
    Date,
    /// An instant; PostgreSQL keeps microseconds, so checksums render microseconds.
    Instant,
    Json,
}

#[derive(Clone, Copy, Debug)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColumnType,
    pub nullable: bool,
}

/// `column` refers to `table`.`key` (or is null).
#[derive(Clone, Copy, Debug)]
pub struct ForeignKey {
    pub column: &'static str,
    pub table: &'static str,
    pub key: &'static str,
}

#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    /// Every stored column except generated ones, in schema order.
    pub columns: &'static [Column],
    /// The primary key's columns.
    pub key: &'static [&'static str],
    pub references: &'static [ForeignKey],
    /// Generated columns: neither copied nor compared (each database computes them).
    pub generated: &'static [&'static str],
    /// Bookkeeping a migration seeds (a change-log follower's position): a copy's target need not
    /// have it empty (its rows are replaced by the source's), and a backend may not keep it at all
    /// (then it is skipped).
    pub state: bool,
}

impl Table {
    pub fn column_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.columns.iter().map(|c| c.name)
    }

    fn index(&self, column: &str) -> usize {
        self.columns.iter().position(|c| c.name == column).unwrap_or_else(|| panic!("{}.{column}", self.name))
    }

    /// A foreign key of this table to itself (a document superseding another, a nested element).
    fn self_reference(&self) -> Option<&ForeignKey> {
        self.references.iter().find(|r| r.table == self.name)
    }
}

const fn col(name: &'static str, ty: ColumnType) -> Column {
    Column { name, ty, nullable: false }
}

const fn opt(name: &'static str, ty: ColumnType) -> Column {
    Column { name, ty, nullable: true }
}

const fn fk(column: &'static str, table: &'static str, key: &'static str) -> ForeignKey {
    ForeignKey { column, table, key }
}

use ColumnType::{Bool, Date as DateCol, Instant, Int, Json, Text, Uuid};

/// Every table, in dependency order: copying them in this order never refers forward.
pub static TABLES: &[Table] = &[
    Table {
        name: "organisations",
        columns: &[col("code", Text), col("name", Text), col("kind", Text), opt("country", Text)],
        key: &["code"],
        references: &[],
        generated: &[],
        state: false,
    },
    Table {
        name: "areas",
        columns: &[col("code", Text), col("title", Text)],
        key: &["code"],
        references: &[],
        generated: &[],
        state: false,
    },
    Table {
        name: "partnerships",
        columns: &[
            col("partner", Text),
            col("name", Text),
            col("framework", Text),
            col("since", Text),
            col("summary", Text),
            col("marking", Text),
            col("version", Int),
            col("created_at", Instant),
            col("updated_at", Instant),
        ],
        key: &["partner"],
        references: &[],
        generated: &[],
        state: false,
    },
    Table {
        name: "documents",
        columns: &[
            col("id", Uuid),
            col("partnership", Text),
            col("kind", Text),
            col("title", Text),
            col("edition", Text),
            col("status", Text),
            opt("signed_on", DateCol),
            opt("signed_at", Text),
            opt("published_on", DateCol),
            opt("period_from", DateCol),
            opt("period_to", DateCol),
            opt("entered_into_force_on", DateCol),
            col("signatories", Json),
            col("approvals", Json),
            opt("supersedes", Uuid),
            opt("source", Text),
            col("notes", Text),
            opt("content_hash", Text),
            col("marking", Text),
            col("version", Int),
            col("created_at", Instant),
            col("updated_at", Instant),
        ],
        key: &["id"],
        references: &[fk("partnership", "partnerships", "partner"), fk("supersedes", "documents", "id")],
        generated: &[],
        state: false,
    },
    Table {
        name: "elements",
        columns: &[
            col("id", Uuid),
            col("document", Uuid),
            col("kind", Text),
            col("code", Text),
            col("title", Text),
            col("text", Text),
            opt("parent", Uuid),
            col("position", Int),
            opt("source_line", Int),
        ],
        key: &["id"],
        references: &[fk("document", "documents", "id"), fk("parent", "elements", "id")],
        generated: &[],
        state: false,
    },
    // The menu (migration 0006); before activities, which may link to an offering.
    Table {
        name: "offerings",
        columns: &[
            col("id", Uuid),
            col("code", Text),
            col("title", Text),
            col("description", Text),
            col("areas", Json),
            col("event_type", Text),
            col("provider", Text),
            col("contact", Json),
            col("sessions", Json),
            col("first_day", DateCol),
            col("last_day", DateCol),
            col("seats", Int),
            col("nation_quota", Int),
            col("eligibility", Json),
            col("prerequisites", Json),
            col("nomination_deadline", DateCol),
            col("fees", Text),
            col("status", Text),
            opt("status_reason", Text),
            col("seats_taken", Int),
            col("waitlisted", Int),
            opt("report", Json),
            col("requested_releasable_to", Json),
            col("marking", Text),
            col("version", Int),
            col("created_at", Instant),
            col("updated_at", Instant),
        ],
        key: &["id"],
        references: &[fk("provider", "organisations", "code")],
        generated: &["sort_key"],
        state: false,
    },
    Table {
        name: "nominations",
        columns: &[
            col("id", Uuid),
            col("offering", Uuid),
            col("nation", Text),
            col("participant", Json),
            col("email", Text),
            col("status", Text),
            opt("status_reason", Text),
            opt("waitlisted_at", Instant),
            opt("attendance", Text),
            opt("feedback", Json),
            col("nominated_by", Text),
            col("marking", Text),
            col("version", Int),
            col("created_at", Instant),
            col("updated_at", Instant),
        ],
        key: &["id"],
        references: &[fk("offering", "offerings", "id")],
        generated: &[],
        state: false,
    },
    Table {
        name: "activities",
        columns: &[
            col("id", Uuid),
            col("partnership", Text),
            col("title", Text),
            col("description", Text),
            col("kind", Text),
            opt("starts_on", DateCol),
            opt("ends_on", DateCol),
            opt("location", Text),
            opt("lead", Text),
            col("status", Text),
            opt("status_reason", Text),
            col("outcome", Text),
            opt("source", Json),
            col("marking", Text),
            col("version", Int),
            col("created_at", Instant),
            col("updated_at", Instant),
            opt("offering", Uuid),
        ],
        key: &["id"],
        references: &[
            fk("partnership", "partnerships", "partner"),
            fk("lead", "organisations", "code"),
            fk("offering", "offerings", "id"),
        ],
        generated: &["sort_key"],
        state: false,
    },
    Table {
        name: "activity_participants",
        columns: &[col("activity", Uuid), col("org", Text)],
        key: &["activity", "org"],
        references: &[fk("activity", "activities", "id"), fk("org", "organisations", "code")],
        generated: &[],
        state: false,
    },
    Table {
        name: "activity_elements",
        columns: &[col("activity", Uuid), col("element", Uuid)],
        key: &["activity", "element"],
        references: &[fk("activity", "activities", "id"), fk("element", "elements", "id")],
        generated: &[],
        state: false,
    },
    Table {
        name: "activity_areas",
        columns: &[col("activity", Uuid), col("area", Text)],
        key: &["activity", "area"],
        references: &[fk("activity", "activities", "id"), fk("area", "areas", "code")],
        generated: &[],
        state: false,
    },
    Table {
        name: "releasability",
        columns: &[col("entity_type", Text), col("entity_id", Text), col("org", Text)],
        key: &["entity_type", "entity_id", "org"],
        references: &[],
        generated: &[],
        state: false,
    },
    Table {
        name: "users",
        columns: &[
            col("id", Uuid),
            col("username", Text),
            col("display_name", Text),
            col("role", Text),
            opt("partner", Text),
            opt("organisation", Text),
            col("disabled", Bool),
            col("password_hash", Text),
            col("version", Int),
            col("created_at", Instant),
            col("updated_at", Instant),
        ],
        key: &["id"],
        references: &[],
        generated: &[],
        state: false,
    },
    Table {
        name: "sessions",
        columns: &[
            col("token_hash", Text),
            col("user_id", Uuid),
            col("name", Text),
            col("created_at", Instant),
            col("expires_at", Instant),
            opt("revoked_at", Instant),
            opt("id", Uuid),
            col("kind", Text),
        ],
        key: &["token_hash"],
        references: &[fk("user_id", "users", "id")],
        generated: &[],
        state: false,
    },
    Table {
        name: "change_log",
        columns: &[
            col("seq", Int),
            col("at", Instant),
            opt("actor", Text),
            col("entity", Text),
            col("entity_id", Text),
            col("operation", Text),
            opt("before", Json),
            opt("after", Json),
            opt("partner", Text),
        ],
        key: &["seq"],
        references: &[],
        generated: &[],
        state: false,
    },
    // Discussions and notifications (migration 0003).
    Table {
        name: "comments",
        columns: &[
            col("id", Uuid),
            col("subject", Text),
            col("subject_id", Text),
            opt("partnership", Text),
            col("author", Text),
            col("body", Text),
            col("mentions", Json),
            col("marking", Text),
            col("version", Int),
            col("created_at", Instant),
            col("updated_at", Instant),
            opt("deleted_at", Instant),
        ],
        key: &["id"],
        references: &[fk("partnership", "partnerships", "partner")],
        generated: &[],
        state: false,
    },
    Table {
        name: "watches",
        columns: &[col("user_id", Uuid), col("entity", Text), col("entity_id", Text), col("created_at", Instant)],
        key: &["user_id", "entity", "entity_id"],
        references: &[fk("user_id", "users", "id")],
        generated: &[],
        state: false,
    },
    Table {
        name: "notifications",
        columns: &[
            col("id", Uuid),
            col("user_id", Uuid),
            col("seq", Int),
            col("reason", Text),
            col("entity", Text),
            col("entity_id", Text),
            opt("partnership", Text),
            col("summary", Text),
            col("created_at", Instant),
            opt("read_at", Instant),
        ],
        key: &["id"],
        references: &[fk("user_id", "users", "id")],
        generated: &[],
        state: false,
    },
    Table {
        name: "notifier",
        columns: &[col("id", Int), col("last_seq", Int)],
        key: &["id"],
        references: &[],
        generated: &[],
        state: true,
    },
    // Webhooks (migration 0004): the followers' cursors, the endpoints, their deliveries and attempts.
    Table {
        name: "followers",
        columns: &[col("name", Text), col("position", Int)],
        key: &["name"],
        references: &[],
        generated: &[],
        state: true,
    },
    Table {
        name: "webhooks",
        columns: &[
            col("id", Uuid),
            col("organisation", Text),
            col("organisation_kind", Text),
            col("url", Text),
            col("description", Text),
            opt("partnership", Text),
            opt("entities", Text),
            col("active", Bool),
            col("secret", Text),
            col("since_seq", Int),
            col("version", Int),
            opt("created_by", Text),
            col("created_at", Instant),
            col("updated_at", Instant),
        ],
        key: &["id"],
        references: &[fk("organisation", "organisations", "code")],
        generated: &[],
        state: false,
    },
    Table {
        name: "webhook_deliveries",
        columns: &[
            col("id", Uuid),
            col("webhook", Uuid),
            col("seq", Int),
            col("state", Text),
            col("attempts", Int),
            col("round_attempts", Int),
            col("next_attempt_ms", Int),
            opt("delivered_at", Instant),
            col("created_at", Instant),
        ],
        key: &["id"],
        references: &[fk("webhook", "webhooks", "id")],
        generated: &[],
        state: false,
    },
    Table {
        name: "webhook_attempts",
        columns: &[
            col("delivery", Uuid),
            col("number", Int),
            col("at", Instant),
            opt("status", Int),
            opt("error", Text),
            col("duration_ms", Int),
        ],
        key: &["delivery", "number"],
        references: &[fk("delivery", "webhook_deliveries", "id")],
        generated: &[],
        state: false,
    },
    // Calendar feeds (migration 0007).
    Table {
        name: "calendar_feeds",
        columns: &[
            col("id", Uuid),
            col("user_id", Uuid),
            col("name", Text),
            col("token_hash", Text),
            col("created_at", Instant),
            opt("revoked_at", Instant),
        ],
        key: &["id"],
        references: &[fk("user_id", "users", "id")],
        generated: &[],
        state: false,
    },
    // Overdue feedback and reports already announced (migration 0008): each once.
    Table {
        name: "overdue_notices",
        columns: &[col("kind", Text), col("record_id", Uuid), col("noticed_at", Instant)],
        key: &["kind", "record_id"],
        references: &[],
        generated: &[],
        state: false,
    },
    // E-mail digests (migration 0005).
    Table {
        name: "digest_subscriptions",
        columns: &[col("user_id", Uuid), col("email", Text), col("created_at", Instant), opt("last_sent_at", Instant)],
        key: &["user_id"],
        references: &[fk("user_id", "users", "id")],
        generated: &[],
        state: false,
    },
];

/// The records `releasability` rows belong to, by `entity_type`.
pub const RELEASABLE: &[(&str, &str, &str)] = &[
    ("partnership", "partnerships", "partner"),
    ("document", "documents", "id"),
    ("activity", "activities", "id"),
    ("comment", "comments", "id"),
    ("offering", "offerings", "id"),
    ("nomination", "nominations", "id"),
];

/// The table named `name`.
pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
}

/// Tables of the database engine or migration tool, never copied.
pub fn is_internal_table(name: &str) -> bool {
    name.starts_with("_sqlx") || name.starts_with("sqlite_")
}

/// What differs between the tables and columns a database holds (`actual`: table → stored,
/// non-generated columns) and [`TABLES`]; empty when they match.
pub fn schema_differences(actual: &HashMap<String, Vec<String>>) -> Vec<String> {
    let mut problems = Vec::new();
    for table in TABLES {
        let Some(columns) = actual.get(table.name) else {
            if !table.state {
                problems.push(format!("table {} is missing", table.name));
            }
            continue;
        };
        let have: HashSet<&str> = columns.iter().map(String::as_str).collect();
        let want: HashSet<&str> = table.column_names().collect();
        let mut extra: Vec<&&str> = have.difference(&want).collect();
        extra.sort();
        for column in extra {
            problems.push(format!("column {}.{column} is not known to this version's copy", table.name));
        }
        let mut missing: Vec<&&str> = want.difference(&have).collect();
        missing.sort();
        for column in missing {
            problems.push(format!("column {}.{column} is missing", table.name));
        }
    }
    let mut unknown: Vec<&String> =
        actual.keys().filter(|name| !is_internal_table(name) && table(name).is_none()).collect();
    unknown.sort();
    for name in unknown {
        problems.push(format!("table {name} is not known to this version's copy"));
    }
    problems
}

/// One stored value, in a form independent of the database it came from.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Text(String),
    Int(i64),
    Bool(bool),
    /// Lowercase hyphenated text.
    Uuid(String),
    Date(Date),
    Instant(OffsetDateTime),
    Json(serde_json::Value),
}

impl Value {
    /// The one text form checksums are computed over: the same value from any backend renders
    /// the same. Text is JSON-quoted (so no separator can be forged), instants are UTC to the
    /// microsecond, JSON has its object keys sorted.
    pub fn render(&self) -> String {
        match self {
            Value::Null => "null".to_owned(),
            Value::Text(text) => serde_json::Value::from(text.as_str()).to_string(),
            Value::Int(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Uuid(id) => format!("uuid:{id}"),
            Value::Date(date) => format!("date:{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day()),
            Value::Instant(at) => format!("instant:{}", render_instant(*at)),
            Value::Json(json) => format!("json:{}", canonical_json(json)),
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ`, truncated to the microsecond (PostgreSQL's precision).
pub fn render_instant(at: OffsetDateTime) -> String {
    let at = at.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.microsecond()
    )
}

/// `at` without its digits below the microsecond.
pub fn to_microseconds(at: OffsetDateTime) -> OffsetDateTime {
    at.replace_nanosecond(at.nanosecond() / 1_000 * 1_000).unwrap_or(at)
}

/// JSON with every object's keys in byte order, whatever order the database kept them in
/// (`jsonb` reorders them; SQLite keeps the text as written).
pub fn canonical_json(value: &serde_json::Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &serde_json::Value, out: &mut String) {
    match value {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<(&String, &serde_json::Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::from(key.as_str()).to_string());
                out.push(':');
                write_canonical(value, out);
            }
            out.push('}');
        }
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Orders key values the same on every backend: numbers as numbers, everything else by its
/// rendered bytes (not by a database collation).
fn compare_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Int(a), Value::Int(b)) => a.cmp(b),
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        _ => a.render().cmp(&b.render()),
    }
}

/// The rows of one table, each with one value per column of [`Table::columns`].
#[derive(Clone, Debug)]
pub struct TableRows {
    pub table: &'static Table,
    pub rows: Vec<Vec<Value>>,
}

impl TableRows {
    pub fn new(table: &'static Table) -> Self {
        Self { table, rows: Vec::new() }
    }

    /// Sorts the rows by primary key, in the backend-neutral order.
    pub fn sort(&mut self) {
        let order = self.key_order();
        let mut rows: Vec<Option<Vec<Value>>> = std::mem::take(&mut self.rows).into_iter().map(Some).collect();
        self.rows = order.into_iter().filter_map(|i| rows[i].take()).collect();
    }

    /// The indices of the rows in primary-key order.
    fn key_order(&self) -> Vec<usize> {
        let key: Vec<usize> = self.table.key.iter().map(|k| self.table.index(k)).collect();
        let mut order: Vec<usize> = (0..self.rows.len()).collect();
        order.sort_by(|&a, &b| {
            let (a, b) = (&self.rows[a], &self.rows[b]);
            key.iter().map(|&i| compare_values(&a[i], &b[i])).find(|o| o.is_ne()).unwrap_or(Ordering::Equal)
        });
        order
    }

    /// SHA-256 (hex) over the table's name, its columns and its rows in primary-key order, each
    /// row one line of `column=value` pairs in [`Value::render`] form.
    pub fn checksum(&self) -> String {
        let mut hash = Sha256::new();
        hash.update(format!("{}\n", self.table.name));
        let names: Vec<&str> = self.table.column_names().collect();
        hash.update(format!("{}\n", names.join("\t")));
        let mut line = String::new();
        for row in self.key_order().into_iter().map(|i| &self.rows[i]) {
            line.clear();
            for (i, (name, value)) in names.iter().zip(row).enumerate() {
                if i > 0 {
                    line.push('\t');
                }
                let _ = write!(line, "{name}={}", value.render());
            }
            line.push('\n');
            hash.update(line.as_bytes());
        }
        hex::encode(hash.finalize())
    }

    /// The rows in an order that inserts every row after the row of the same table it refers
    /// to (a superseded document before the document superseding it, a parent element before
    /// its children); otherwise in primary-key order.
    pub fn insertion_order(&self) -> Vec<&[Value]> {
        let mut sorted: Vec<&[Value]> = self.key_order().into_iter().map(|i| self.rows[i].as_slice()).collect();
        let Some(reference) = self.table.self_reference() else {
            return sorted;
        };
        let column = self.table.index(reference.column);
        let key = self.table.index(reference.key);
        let present: HashSet<String> = sorted.iter().map(|row| row[key].render()).collect();
        let mut placed: HashSet<String> = HashSet::new();
        let mut out = Vec::with_capacity(sorted.len());
        while !sorted.is_empty() {
            let before = sorted.len();
            sorted.retain(|row| {
                let parent = &row[column];
                let ready = matches!(parent, Value::Null)
                    || !present.contains(&parent.render())
                    || placed.contains(&parent.render());
                if ready {
                    placed.insert(row[key].render());
                    out.push(*row);
                }
                !ready
            });
            if sorted.len() == before {
                // A cycle: insert the rest as they are and let the database say what is wrong.
                out.append(&mut sorted);
            }
        }
        out
    }
}

/// Every table of a database, in [`TABLES`] order.
#[derive(Clone, Debug, Default)]
pub struct Dump {
    pub tables: Vec<TableRows>,
}

impl Dump {
    /// Each table's row count and checksum, in [`TABLES`] order.
    pub fn summary(&self) -> Vec<TableSummary> {
        self.tables
            .iter()
            .map(|t| TableSummary { table: t.table.name, rows: t.rows.len() as u64, checksum: t.checksum() })
            .collect()
    }

    /// How many instants have digits below the microsecond (which PostgreSQL does not keep).
    pub fn sub_microsecond_instants(&self) -> usize {
        self.tables
            .iter()
            .flat_map(|t| t.rows.iter().flatten())
            .filter(|v| matches!(v, Value::Instant(at) if at.nanosecond() % 1_000 != 0))
            .count()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableSummary {
    pub table: &'static str,
    pub rows: u64,
    pub checksum: String,
}

/// One integrity check that both backends run as the same SQL: what it checks, and a query
/// counting the rows that break it.
#[derive(Clone, Debug)]
pub struct IntegrityQuery {
    pub description: String,
    pub sql: String,
}

/// Anti-joins for every reference between tables (declared foreign keys, and releasability rows
/// pointing at their records): each query counts the rows whose reference leads nowhere.
pub fn reference_checks() -> Vec<IntegrityQuery> {
    let mut checks = Vec::new();
    for table in TABLES.iter().filter(|t| !t.state) {
        for r in table.references {
            checks.push(IntegrityQuery {
                description: format!("{}.{} refers to an existing {}.{}", table.name, r.column, r.table, r.key),
                sql: format!(
                    "SELECT count(*) FROM {child} c WHERE c.{column} IS NOT NULL \
                     AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.{key} = c.{column})",
                    child = table.name,
                    column = r.column,
                    parent = r.table,
                    key = r.key
                ),
            });
        }
    }
    for (entity_type, parent, key) in RELEASABLE {
        checks.push(IntegrityQuery {
            description: format!("releasability of each {entity_type} refers to an existing {parent}.{key}"),
            sql: format!(
                "SELECT count(*) FROM releasability c WHERE c.entity_type = '{entity_type}' \
                 AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE CAST(p.{key} AS TEXT) = c.entity_id)"
            ),
        });
    }
    let known: Vec<String> = RELEASABLE.iter().map(|(t, _, _)| format!("'{t}'")).collect();
    checks.push(IntegrityQuery {
        description: format!("releasability rows are about one of {}", known.join(", ")),
        sql: format!("SELECT count(*) FROM releasability WHERE entity_type NOT IN ({})", known.join(", ")),
    });
    checks
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn tables_refer_only_backwards_or_to_themselves() {
        for (i, t) in TABLES.iter().enumerate() {
            for r in t.references {
                let target = TABLES.iter().position(|t| t.name == r.table).expect("known table");
                assert!(target <= i, "{} refers forward to {}", t.name, r.table);
                assert!(table(r.table).unwrap().column_names().any(|c| c == r.key));
                assert!(t.column_names().any(|c| c == r.column));
            }
            for key in t.key {
                assert!(t.column_names().any(|c| c == *key), "{}.{key}", t.name);
            }
        }
    }

    #[test]
    fn rendering_does_not_depend_on_the_backend() {
        let a: serde_json::Value = serde_json::from_str(r#"{"b":1,"a":[{"y":true,"x":null}]}"#).unwrap();
        let b: serde_json::Value = serde_json::from_str(r#"{"a":[{"x":null,"y":true}],"b":1}"#).unwrap();
        assert_eq!(Value::Json(a).render(), Value::Json(b).render());
        assert_eq!(
            Value::Instant(datetime!(2026-01-02 03:04:05.123456789 +02:00)).render(),
            "instant:2026-01-02T01:04:05.123456Z"
        );
        assert_eq!(Value::Date(date!(2026 - 01 - 02)).render(), "date:2026-01-02");
        assert_eq!(Value::Text("a\tb\"".into()).render(), r#""a\tb\"""#);
        assert_ne!(Value::Text("null".into()).render(), Value::Null.render());
    }

    #[test]
    fn keys_sort_numbers_as_numbers_and_checksums_ignore_row_order() {
        let log = table("change_log").unwrap();
        let row = |seq: i64| {
            let mut row = vec![Value::Int(seq)];
            row.extend(std::iter::repeat_n(Value::Null, log.columns.len() - 1));
            row
        };
        let mut rows = TableRows { table: log, rows: vec![row(10), row(9), row(100)] };
        let checksum = rows.checksum();
        rows.sort();
        let seqs: Vec<&Value> = rows.rows.iter().map(|r| &r[0]).collect();
        assert_eq!(seqs, [&Value::Int(9), &Value::Int(10), &Value::Int(100)]);
        assert_eq!(rows.checksum(), checksum);
        rows.rows.pop();
        assert_ne!(rows.checksum(), checksum);
    }

    #[test]
    fn parents_are_inserted_before_their_children() {
        let elements = table("elements").unwrap();
        let element = |id: &str, parent: Option<&str>| {
            let mut row: Vec<Value> = elements.columns.iter().map(|_| Value::Null).collect();
            row[0] = Value::Uuid(id.into());
            row[6] = parent.map_or(Value::Null, |p| Value::Uuid(p.into()));
            row
        };
        let rows = TableRows {
            table: elements,
            rows: vec![element("a", Some("c")), element("b", None), element("c", Some("b")), element("d", Some("x"))],
        };
        let order: Vec<String> = rows.insertion_order().iter().map(|r| r[0].render()).collect();
        assert_eq!(order, ["uuid:b", "uuid:c", "uuid:d", "uuid:a"]);
    }

    #[test]
    fn a_schema_that_differs_is_described() {
        let mut actual: HashMap<String, Vec<String>> =
            TABLES.iter().map(|t| (t.name.to_owned(), t.column_names().map(str::to_owned).collect())).collect();
        actual.insert("_sqlx_migrations".into(), vec!["version".into()]);
        assert!(schema_differences(&actual).is_empty());
        actual.get_mut("users").unwrap().push("shoe_size".into());
        actual.insert("menus".into(), vec![]);
        actual.remove("areas");
        assert_eq!(
            schema_differences(&actual),
            [
                "table areas is missing",
                "column users.shoe_size is not known to this version's copy",
                "table menus is not known to this version's copy"
            ]
        );
    }
}
