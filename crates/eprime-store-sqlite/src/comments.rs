//! Discussions: comments on activities, documents, programme elements and menu events.

use eprime_domain::access::{comment_marking, may_comment};
use eprime_domain::comment::{check_body, mentions};
use eprime_domain::{Caller, Comment, CommentId, Marking, OrgCode, PartnerCode, Principal, ReadScope, SubjectKind};
use eprime_store::plan::{deleted_comment, edited_comment};
use eprime_store::{CommentLog, NewChangeEntry, NewComment, Operation, StoreError};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use crate::SqliteStore;
use crate::changelog::append;
use crate::codec::{backend, db_error, from_json, instant_text, json, marking, now, parse_instant};
use crate::scope::{bind_scope, visible};

/// The condition that comment `$alias`'s subject is visible (scope in ?1..?4).
macro_rules! subject_visible {
    ($alias:literal) => {
        concat!(
            "((",
            $alias,
            ".subject = 'activity' AND EXISTS (SELECT 1 FROM activities a WHERE a.id = ",
            $alias,
            ".subject_id AND ",
            visible!("activity", "a", "id", released_to = "partnership"),
            ")) OR (",
            $alias,
            ".subject = 'document' AND EXISTS (SELECT 1 FROM documents d WHERE d.id = ",
            $alias,
            ".subject_id AND ",
            visible!("document", "d", "id"),
            ")) OR (",
            $alias,
            ".subject = 'element' AND EXISTS (SELECT 1 FROM elements e JOIN documents d ON d.id = e.document",
            " WHERE e.id = ",
            $alias,
            ".subject_id AND ",
            visible!("document", "d", "id"),
            ")) OR (",
            $alias,
            ".subject = 'offering' AND EXISTS (SELECT 1 FROM offerings o WHERE o.id = ",
            $alias,
            ".subject_id AND ",
            visible!("offering", "o", "id"),
            ")))"
        )
    };
}
pub(crate) use subject_visible;

macro_rules! comment_select {
    () => {
        concat!(
            "SELECT c.id, c.subject, c.subject_id, c.partnership, c.author, c.body, c.mentions, c.marking, c.version,",
            " c.created_at, c.updated_at, c.deleted_at,",
            " (SELECT group_concat(org) FROM releasability WHERE entity_type = 'comment' AND entity_id = c.id) AS releasable",
            " FROM comments c WHERE ",
            visible!("comment", "c", "id"),
            " AND ",
            subject_visible!("c")
        )
    };
}

/// A record that can be discussed, as a comment on it needs it.
struct Subject {
    /// The partnership of a programme record; `None` for a menu event.
    partnership: Option<PartnerCode>,
    /// Whom the discussion belongs to besides NATO: the partner, or the event's provider.
    owner: OrgCode,
    /// The record's marking now.
    marking: Marking,
}

/// The record a comment is about, if `scope` may see it.
async fn subject(
    conn: &mut SqliteConnection,
    scope: &ReadScope,
    kind: SubjectKind,
    id: &str,
) -> Result<Option<Subject>, StoreError> {
    let sql = match kind {
        SubjectKind::Activity => concat!(
            "SELECT a.partnership, a.partnership AS owner, a.marking,",
            " (SELECT group_concat(org) FROM releasability WHERE entity_type = 'activity' AND entity_id = a.id)",
            " FROM activities a WHERE a.id = ?5 AND ",
            visible!("activity", "a", "id", released_to = "partnership")
        ),
        SubjectKind::Document => concat!(
            "SELECT d.partnership, d.partnership AS owner, d.marking,",
            " (SELECT group_concat(org) FROM releasability WHERE entity_type = 'document' AND entity_id = d.id)",
            " FROM documents d WHERE d.id = ?5 AND ",
            visible!("document", "d", "id")
        ),
        SubjectKind::Element => concat!(
            "SELECT d.partnership, d.partnership AS owner, d.marking,",
            " (SELECT group_concat(org) FROM releasability WHERE entity_type = 'document' AND entity_id = d.id)",
            " FROM elements e JOIN documents d ON d.id = e.document WHERE e.id = ?5 AND ",
            visible!("document", "d", "id")
        ),
        SubjectKind::Offering => concat!(
            "SELECT NULL, o.provider AS owner, o.marking,",
            " (SELECT group_concat(org) FROM releasability WHERE entity_type = 'offering' AND entity_id = o.id)",
            " FROM offerings o WHERE o.id = ?5 AND ",
            visible!("offering", "o", "id")
        ),
    };
    let row =
        bind_scope(sqlx::query(sql), scope).bind(id.to_owned()).fetch_optional(&mut *conn).await.map_err(db_error)?;
    let Some(row) = row else { return Ok(None) };
    let partnership = row
        .try_get::<Option<String>, _>(0)
        .map_err(backend)?
        .map(|p| PartnerCode::parse(&p).map_err(backend))
        .transpose()?;
    Ok(Some(Subject {
        partnership,
        owner: OrgCode::parse(&row.try_get::<String, _>(1).map_err(backend)?).map_err(backend)?,
        marking: marking(&row.try_get::<String, _>(2).map_err(backend)?, row.try_get(3).map_err(backend)?)?,
    }))
}

/// The marking of a comment's subject as it is now (for the change log).
async fn subject_marking(conn: &mut SqliteConnection, comment: &Comment) -> Result<Marking, StoreError> {
    let found = subject(conn, &ReadScope::system(), comment.subject, &comment.subject_id).await?;
    found.map(|s| s.marking).ok_or_else(|| backend(format!("the subject of comment {} is gone", comment.id)))
}

pub(crate) async fn create(store: &SqliteStore, actor: &Principal, new: NewComment) -> Result<Comment, StoreError> {
    let scope = Caller::User(actor.clone()).read_scope();
    let mut tx = store.writer.begin().await?;
    let subject = subject(&mut tx, &scope, new.subject, &new.subject_id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("{} {}", new.subject.as_str(), new.subject_id)))?;
    may_comment(actor)?;
    let body = check_body(&new.body)?;
    let at = now();
    let comment = Comment {
        id: CommentId::new(),
        subject: new.subject,
        subject_id: new.subject_id,
        mentions: mentions(&body),
        body,
        marking: comment_marking(&subject.owner, actor, new.marking),
        partnership: subject.partnership,
        author: actor.username.clone(),
        version: 1,
        created_at: at,
        updated_at: at,
        deleted_at: None,
    };
    let id = comment.id.to_string();
    sqlx::query(
        "INSERT INTO comments (id, subject, subject_id, partnership, author, body, mentions, marking, version,
             created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, ?9, ?9)",
    )
    .bind(id.clone())
    .bind(comment.subject.as_str())
    .bind(comment.subject_id.clone())
    .bind(comment.partnership.as_ref().map(|p| p.as_str().to_owned()))
    .bind(comment.author.clone())
    .bind(comment.body.clone())
    .bind(json(&comment.mentions)?)
    .bind(comment.marking.classification.as_str())
    .bind(instant_text(at))
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    crate::releasability::replace(&mut tx, "comment", &id, comment.marking.releasable_list()).await?;
    log(&mut tx, actor, &comment, Operation::Create, None, &subject.marking).await?;
    tx.commit().await?;
    Ok(comment)
}

async fn log(
    tx: &mut SqliteConnection,
    actor: &Principal,
    comment: &Comment,
    operation: Operation,
    before: Option<&Comment>,
    subject_marking: &Marking,
) -> Result<(), StoreError> {
    let before = before.map(|comment| CommentLog { comment, subject_marking });
    let after = CommentLog { comment, subject_marking };
    let entry =
        NewChangeEntry::about(comment, Some(actor.username.as_str()), operation).before(before.as_ref()).after(&after);
    append(tx, entry).await.map(|_| ())
}

pub(crate) async fn list(
    store: &SqliteStore,
    scope: &ReadScope,
    subject: SubjectKind,
    subject_id: &str,
) -> Result<Option<Vec<Comment>>, StoreError> {
    let mut conn = store.reader.acquire().await.map_err(db_error)?;
    if self::subject(&mut conn, scope, subject, subject_id).await?.is_none() {
        return Ok(None);
    }
    let sql = concat!(comment_select!(), " AND c.subject = ?5 AND c.subject_id = ?6 ORDER BY c.created_at, c.id");
    let rows = bind_scope(sqlx::query(sql), scope)
        .bind(subject.as_str())
        .bind(subject_id.to_owned())
        .fetch_all(&mut *conn)
        .await
        .map_err(db_error)?;
    rows.iter().map(from_row).collect::<Result<Vec<_>, _>>().map(Some)
}

pub(crate) async fn fetch<'e>(
    executor: impl sqlx::SqliteExecutor<'e>,
    scope: &ReadScope,
    id: CommentId,
) -> Result<Option<Comment>, StoreError> {
    let sql = concat!(comment_select!(), " AND c.id = ?5");
    let row =
        bind_scope(sqlx::query(sql), scope).bind(id.to_string()).fetch_optional(executor).await.map_err(db_error)?;
    row.as_ref().map(from_row).transpose()
}

pub(crate) async fn edit(
    store: &SqliteStore,
    actor: &Principal,
    id: CommentId,
    expected_version: Option<i64>,
    body: String,
) -> Result<Comment, StoreError> {
    let scope = Caller::User(actor.clone()).read_scope();
    let mut tx = store.writer.begin().await?;
    let before = fetch(&mut *tx, &scope, id).await?.ok_or_else(|| StoreError::NotFound(format!("comment {id}")))?;
    let after = edited_comment(&before, actor, expected_version, &body, now())?;
    save(&mut tx, &after).await?;
    let subject_marking = subject_marking(&mut tx, &after).await?;
    log(&mut tx, actor, &after, Operation::Update, Some(&before), &subject_marking).await?;
    tx.commit().await?;
    Ok(after)
}

pub(crate) async fn delete(store: &SqliteStore, actor: &Principal, id: CommentId) -> Result<Comment, StoreError> {
    let scope = Caller::User(actor.clone()).read_scope();
    let mut tx = store.writer.begin().await?;
    let before = fetch(&mut *tx, &scope, id).await?.ok_or_else(|| StoreError::NotFound(format!("comment {id}")))?;
    let Some(after) = deleted_comment(&before, actor, now())? else { return Ok(before) };
    save(&mut tx, &after).await?;
    let subject_marking = subject_marking(&mut tx, &after).await?;
    log(&mut tx, actor, &after, Operation::Delete, Some(&before), &subject_marking).await?;
    tx.commit().await?;
    Ok(after)
}

async fn save(tx: &mut SqliteConnection, comment: &Comment) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE comments SET body = ?2, mentions = ?3, version = ?4, updated_at = ?5, deleted_at = ?6 WHERE id = ?1",
    )
    .bind(comment.id.to_string())
    .bind(comment.body.clone())
    .bind(json(&comment.mentions)?)
    .bind(comment.version)
    .bind(instant_text(comment.updated_at))
    .bind(comment.deleted_at.map(instant_text))
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    Ok(())
}

fn from_row(row: &SqliteRow) -> Result<Comment, StoreError> {
    let text = |name: &str| row.try_get::<String, _>(name).map_err(backend);
    Ok(Comment {
        id: text("id")?.parse().map_err(backend)?,
        subject: SubjectKind::parse(&text("subject")?).map_err(backend)?,
        subject_id: text("subject_id")?,
        partnership: row
            .try_get::<Option<String>, _>("partnership")
            .map_err(backend)?
            .map(|p| PartnerCode::parse(&p).map_err(backend))
            .transpose()?,
        author: text("author")?,
        body: text("body")?,
        mentions: from_json(&text("mentions")?)?,
        marking: marking(&text("marking")?, row.try_get("releasable").map_err(backend)?)?,
        version: row.try_get("version").map_err(backend)?,
        created_at: parse_instant(&text("created_at")?)?,
        updated_at: parse_instant(&text("updated_at")?)?,
        deleted_at: row
            .try_get::<Option<String>, _>("deleted_at")
            .map_err(backend)?
            .map(|d| parse_instant(&d))
            .transpose()?,
    })
}
