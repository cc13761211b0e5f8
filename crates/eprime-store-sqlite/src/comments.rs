//! Discussions: comments on activities, documents and programme elements.

use eprime_domain::access::{comment_marking, may_comment};
use eprime_domain::comment::{check_body, mentions};
use eprime_domain::{Caller, Comment, CommentId, PartnerCode, Principal, ReadScope, SubjectKind};
use eprime_store::plan::{deleted_comment, edited_comment};
use eprime_store::{EntityType, NewComment, Operation, StoreError};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use crate::SqliteStore;
use crate::changelog::{Entry, append};
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

/// The partnership of a record that can be discussed, if `scope` may see it.
async fn subject_partnership(
    tx: &mut SqliteConnection,
    scope: &ReadScope,
    subject: SubjectKind,
    id: &str,
) -> Result<Option<PartnerCode>, StoreError> {
    let sql = match subject {
        SubjectKind::Activity => {
            concat!(
                "SELECT a.partnership FROM activities a WHERE a.id = ?5 AND ",
                visible!("activity", "a", "id", released_to = "partnership")
            )
        }
        SubjectKind::Document => {
            concat!("SELECT d.partnership FROM documents d WHERE d.id = ?5 AND ", visible!("document", "d", "id"))
        }
        SubjectKind::Element => concat!(
            "SELECT d.partnership FROM elements e JOIN documents d ON d.id = e.document WHERE e.id = ?5 AND ",
            visible!("document", "d", "id")
        ),
    };
    let row =
        bind_scope(sqlx::query(sql), scope).bind(id.to_owned()).fetch_optional(&mut *tx).await.map_err(db_error)?;
    row.map(|r| PartnerCode::parse(&r.try_get::<String, _>(0).map_err(backend)?).map_err(backend)).transpose()
}

pub(crate) async fn create(store: &SqliteStore, actor: &Principal, new: NewComment) -> Result<Comment, StoreError> {
    let scope = Caller::User(actor.clone()).read_scope();
    let mut tx = store.writer.begin().await.map_err(db_error)?;
    let partnership = subject_partnership(&mut tx, &scope, new.subject, &new.subject_id)
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
        marking: comment_marking(&partnership, actor, new.marking),
        partnership,
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
    .bind(comment.partnership.as_str().to_owned())
    .bind(comment.author.clone())
    .bind(comment.body.clone())
    .bind(json(&comment.mentions)?)
    .bind(comment.marking.classification.as_str())
    .bind(instant_text(at))
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    crate::releasability::replace(&mut tx, "comment", &id, comment.marking.releasable_list()).await?;
    log(&mut tx, actor, &comment, Operation::Create, None).await?;
    tx.commit().await.map_err(db_error)?;
    Ok(comment)
}

async fn log(
    tx: &mut SqliteConnection,
    actor: &Principal,
    comment: &Comment,
    operation: Operation,
    before: Option<&Comment>,
) -> Result<(), StoreError> {
    let entry = Entry {
        actor: Some(actor.username.as_str()),
        entity: EntityType::Comment,
        entity_id: &comment.id.to_string(),
        partner: Some(comment.partnership.as_str()),
        operation,
        before,
        after: Some(comment),
    };
    append(tx, entry).await.map(|_| ())
}

pub(crate) async fn list(
    store: &SqliteStore,
    scope: &ReadScope,
    subject: SubjectKind,
    subject_id: &str,
) -> Result<Option<Vec<Comment>>, StoreError> {
    let mut conn = store.reader.acquire().await.map_err(db_error)?;
    if subject_partnership(&mut conn, scope, subject, subject_id).await?.is_none() {
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
    let mut tx = store.writer.begin().await.map_err(db_error)?;
    let before = fetch(&mut *tx, &scope, id).await?.ok_or_else(|| StoreError::NotFound(format!("comment {id}")))?;
    let after = edited_comment(&before, actor, expected_version, &body, now())?;
    save(&mut tx, &after).await?;
    log(&mut tx, actor, &after, Operation::Update, Some(&before)).await?;
    tx.commit().await.map_err(db_error)?;
    Ok(after)
}

pub(crate) async fn delete(store: &SqliteStore, actor: &Principal, id: CommentId) -> Result<Comment, StoreError> {
    let scope = Caller::User(actor.clone()).read_scope();
    let mut tx = store.writer.begin().await.map_err(db_error)?;
    let before = fetch(&mut *tx, &scope, id).await?.ok_or_else(|| StoreError::NotFound(format!("comment {id}")))?;
    let Some(after) = deleted_comment(&before, actor, now())? else { return Ok(before) };
    save(&mut tx, &after).await?;
    log(&mut tx, actor, &after, Operation::Delete, Some(&before)).await?;
    tx.commit().await.map_err(db_error)?;
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
        partnership: PartnerCode::parse(&text("partnership")?).map_err(backend)?,
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
