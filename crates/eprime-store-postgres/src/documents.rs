//! Partnership documents and their programme elements.

use eprime_domain::access::may_edit_programme;
use eprime_domain::document::{approved_by_both, entry_into_force};
use eprime_domain::{
    Approval, Approver, Caller, Document, DocumentId, DocumentKind, DocumentStatus, Edition, Element, ElementId,
    ElementKind, NewDocument, PartnerCode, Principal, ReadScope, Signatory, Text, Title,
};
use eprime_store::{DocumentDetail, DocumentFilter, NewChangeEntry, Operation, StoreError};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor, PgPool, Row};

use crate::changelog::append;
use crate::codec::{backend, db_error, is_unique_violation, marking, now};
use crate::scope::{bind_scope, visible};

macro_rules! document_select {
    () => {
        concat!(
            "SELECT d.id, d.partnership, d.kind, d.title, d.edition, d.status, d.signed_on, d.signed_at,",
            " d.published_on, d.period_from, d.period_to, d.entered_into_force_on, d.signatories, d.approvals,",
            " d.supersedes, d.source, d.notes, d.content_hash, d.marking, d.version, d.updated_at,",
            " ARRAY(SELECT org FROM releasability",
            "   WHERE entity_type = 'document' AND entity_id = d.id::text) AS releasable",
            " FROM documents d WHERE ",
            visible!("document", "d", "id::text")
        )
    };
}

pub(crate) async fn create(pool: &PgPool, actor: &Principal, new: NewDocument) -> Result<DocumentDetail, StoreError> {
    may_edit_programme(actor)?;
    new.check()?;
    let scope = Caller::User(actor.clone()).read_scope();
    let mut tx = pool.begin().await.map_err(db_error)?;
    crate::partnerships::ensure_visible(&mut tx, &scope, &new.partnership).await?;
    let at = now();
    let mut document = Document {
        id: DocumentId::new(),
        partnership: new.partnership,
        kind: new.kind,
        title: new.title,
        edition: new.edition,
        status: new.status,
        signed_on: new.signed_on,
        signed_at: new.signed_at,
        published_on: new.published_on,
        period_from: new.period_from,
        period_to: new.period_to,
        entered_into_force_on: None,
        signatories: new.signatories,
        approvals: new.approvals,
        supersedes: new.supersedes,
        source: new.source,
        notes: new.notes,
        content_hash: new.content_hash,
        marking: new.marking,
        version: 1,
        updated_at: at,
    };
    if document.kind.is_programme() {
        document.entered_into_force_on = entry_into_force(&document.approvals);
    }
    // The superseded document is changed now but logged at the end, with the new one: appends
    // come last (see `changelog::append`).
    let superseded = match document.supersedes {
        Some(old) => Some(supersede(&mut tx, &scope, old, &document.partnership).await?),
        None => None,
    };
    let id = document.id.to_string();
    sqlx::query(
        "INSERT INTO documents (id, partnership, kind, title, edition, status, signed_on, signed_at, published_on,
             period_from, period_to, entered_into_force_on, signatories, approvals, supersedes, source, notes,
             content_hash, marking, version, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, 1, $20, $20)",
    )
    .bind(document.id.0)
    .bind(document.partnership.as_str().to_owned())
    .bind(document.kind.as_str())
    .bind(document.title.as_str().to_owned())
    .bind(document.edition.as_str())
    .bind(document.status.as_str())
    .bind(document.signed_on)
    .bind(document.signed_at.clone())
    .bind(document.published_on)
    .bind(document.period_from)
    .bind(document.period_to)
    .bind(document.entered_into_force_on)
    .bind(Json(document.signatories.clone()))
    .bind(Json(document.approvals.clone()))
    .bind(document.supersedes.map(|s| s.0))
    .bind(document.source.clone())
    .bind(document.notes.as_str().to_owned())
    .bind(document.content_hash.clone())
    .bind(document.marking.classification.as_str())
    .bind(at)
    .execute(&mut *tx)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::Conflict("this partnership already has a document with the same text".into())
        } else {
            db_error(e)
        }
    })?;
    crate::releasability::replace(&mut tx, "document", &id, document.marking.releasable_list()).await?;
    let mut elements: Vec<Element> = Vec::with_capacity(new.elements.len());
    for (position, element) in new.elements.into_iter().enumerate() {
        let stored = Element {
            id: ElementId::new(),
            document: document.id,
            kind: element.kind,
            code: element.code,
            title: element.title,
            text: element.text,
            parent: element.parent.and_then(|p| elements.get(p)).map(|p| p.id),
            position: i64::try_from(position).map_err(backend)?,
            source_line: element.source_line,
        };
        sqlx::query(
            "INSERT INTO elements (id, document, kind, code, title, text, parent, position, source_line)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(stored.id.0)
        .bind(document.id.0)
        .bind(stored.kind.as_str())
        .bind(stored.code.clone())
        .bind(stored.title.as_str().to_owned())
        .bind(stored.text.as_str().to_owned())
        .bind(stored.parent.map(|p| p.0))
        .bind(stored.position)
        .bind(stored.source_line.map(i64::from))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        elements.push(stored);
    }
    if let Some((before, after)) = &superseded {
        append(
            &mut tx,
            NewChangeEntry::about(before, Some(actor.username.as_str()), Operation::Update)
                .before(Some(before))
                .after(after),
        )
        .await?;
    }
    let detail = DocumentDetail { document, elements };
    let logged = serde_json::json!({ "document": &detail.document, "elements": &detail.elements });
    append(
        &mut tx,
        NewChangeEntry::about(&detail.document, Some(actor.username.as_str()), Operation::Create).after(&logged),
    )
    .await?;
    tx.commit().await.map_err(db_error)?;
    Ok(detail)
}

/// Marks the document a new version replaces as superseded, in the new version's transaction,
/// and gives back its states before and after for the change log.
async fn supersede(
    tx: &mut PgConnection,
    scope: &ReadScope,
    old: DocumentId,
    partnership: &PartnerCode,
) -> Result<(Document, Document), StoreError> {
    let before = lock_and_fetch(tx, scope, old).await?;
    if &before.partnership != partnership {
        return Err(
            eprime_domain::FieldError::new("supersedes", "a document supersedes one of its own partnership").into()
        );
    }
    let mut after = before.clone();
    after.status = DocumentStatus::Superseded;
    after.version += 1;
    after.updated_at = now();
    sqlx::query("UPDATE documents SET status = $2, version = $3, updated_at = $4 WHERE id = $1")
        .bind(old.0)
        .bind(after.status.as_str())
        .bind(after.version)
        .bind(after.updated_at)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    Ok((before, after))
}

/// Locks a document the actor can see for the rest of the transaction and reads it afresh (lock
/// first, read second: see `activities::load_for_write`); `NotFound` when it is not visible.
async fn lock_and_fetch(tx: &mut PgConnection, scope: &ReadScope, id: DocumentId) -> Result<Document, StoreError> {
    let sql = concat!(
        "SELECT d.version FROM documents d WHERE d.id = $5 AND ",
        visible!("document", "d", "id::text"),
        " FOR NO KEY UPDATE OF d"
    );
    let not_found = || StoreError::NotFound(format!("document {id}"));
    bind_scope(sqlx::query(sql), scope)
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?
        .ok_or_else(not_found)?;
    fetch(&mut *tx, scope, id).await?.ok_or_else(not_found)
}

pub(crate) async fn list(
    pool: &PgPool,
    scope: &ReadScope,
    filter: &DocumentFilter,
) -> Result<Vec<Document>, StoreError> {
    // SQLite sorts NULLs first and text bytewise; say so, so both stores list in the same order.
    let sql = concat!(
        document_select!(),
        " AND ($5::text IS NULL OR d.partnership = $5) AND ($6::text IS NULL OR d.kind = $6)",
        " ORDER BY d.partnership COLLATE \"C\", coalesce(d.signed_on, d.published_on, d.period_from) NULLS FIRST, d.id"
    );
    let rows = bind_scope(sqlx::query(sql), scope)
        .bind(filter.partnership.as_ref().map(|p| p.as_str().to_owned()))
        .bind(filter.kind.map(DocumentKind::as_str))
        .fetch_all(pool)
        .await
        .map_err(db_error)?;
    rows.iter().map(from_row).collect()
}

pub(crate) async fn fetch<'e>(
    executor: impl PgExecutor<'e>,
    scope: &ReadScope,
    id: DocumentId,
) -> Result<Option<Document>, StoreError> {
    let sql = concat!(document_select!(), " AND d.id = $5");
    let row = bind_scope(sqlx::query(sql), scope).bind(id.0).fetch_optional(executor).await.map_err(db_error)?;
    row.as_ref().map(from_row).transpose()
}

pub(crate) async fn detail(
    pool: &PgPool,
    scope: &ReadScope,
    id: DocumentId,
) -> Result<Option<DocumentDetail>, StoreError> {
    let Some(document) = fetch(pool, scope, id).await? else {
        return Ok(None);
    };
    let rows = sqlx::query(
        "SELECT id, document, kind, code, title, text, parent, position, source_line
         FROM elements WHERE document = $1 ORDER BY position",
    )
    .bind(id.0)
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    let elements = rows.iter().map(element_from_row).collect::<Result<_, _>>()?;
    Ok(Some(DocumentDetail { document, elements }))
}

pub(crate) async fn by_hash(
    pool: &PgPool,
    scope: &ReadScope,
    partner: &PartnerCode,
    hash: &str,
) -> Result<Option<Document>, StoreError> {
    let sql = concat!(document_select!(), " AND d.partnership = $5 AND d.content_hash = $6");
    let row = bind_scope(sqlx::query(sql), scope)
        .bind(partner.as_str().to_owned())
        .bind(hash.to_owned())
        .fetch_optional(pool)
        .await
        .map_err(db_error)?;
    row.as_ref().map(from_row).transpose()
}

pub(crate) async fn element(pool: &PgPool, scope: &ReadScope, id: ElementId) -> Result<Option<Element>, StoreError> {
    let sql = concat!(
        "SELECT e.id, e.document, e.kind, e.code, e.title, e.text, e.parent, e.position, e.source_line",
        " FROM elements e JOIN documents d ON d.id = e.document WHERE e.id = $5 AND ",
        visible!("document", "d", "id::text")
    );
    let row = bind_scope(sqlx::query(sql), scope).bind(id.0).fetch_optional(pool).await.map_err(db_error)?;
    row.as_ref().map(element_from_row).transpose()
}

pub(crate) async fn approve(
    pool: &PgPool,
    actor: &Principal,
    id: DocumentId,
    expected_version: Option<i64>,
    approval: Approval,
) -> Result<Document, StoreError> {
    let scope = Caller::User(actor.clone()).read_scope();
    let mut tx = pool.begin().await.map_err(db_error)?;
    let before = lock_and_fetch(&mut tx, &scope, id).await?;
    may_edit_programme(actor)?;
    if let Some(expected) = expected_version.filter(|v| *v != before.version) {
        return Err(StoreError::Stale { expected, current: before.version });
    }
    if !before.kind.is_programme() {
        return Err(StoreError::Conflict(format!("a {} is not approved; only programmes are", before.kind.as_str())));
    }
    if before.status != DocumentStatus::Agreed {
        return Err(StoreError::Conflict(format!(
            "only an agreed programme is approved; this one is `{}`",
            before.status.as_str()
        )));
    }
    if before.approvals.iter().any(|a| a.by == approval.by) {
        let who = if approval.by == Approver::Nac { "the North Atlantic Council" } else { "the partner" };
        return Err(StoreError::Conflict(format!("{who} has already approved this programme")));
    }
    let mut after = before.clone();
    after.approvals.push(approval);
    after.entered_into_force_on = entry_into_force(&after.approvals);
    if approved_by_both(&after.approvals) {
        after.status = DocumentStatus::InForce;
    }
    after.version += 1;
    after.updated_at = now();
    sqlx::query(
        "UPDATE documents SET approvals = $2, entered_into_force_on = $3, status = $4, version = $5, updated_at = $6
         WHERE id = $1",
    )
    .bind(id.0)
    .bind(Json(after.approvals.clone()))
    .bind(after.entered_into_force_on)
    .bind(after.status.as_str())
    .bind(after.version)
    .bind(after.updated_at)
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    append(
        &mut tx,
        NewChangeEntry::about(&after, Some(actor.username.as_str()), Operation::Approve)
            .before(Some(&before))
            .after(&after),
    )
    .await?;
    tx.commit().await.map_err(db_error)?;
    Ok(after)
}

fn from_row(row: &PgRow) -> Result<Document, StoreError> {
    let text = |name: &str| row.try_get::<String, _>(name).map_err(backend);
    let optional = |name: &str| row.try_get::<Option<String>, _>(name).map_err(backend);
    let date = |name: &str| row.try_get::<Option<time::Date>, _>(name).map_err(backend);
    Ok(Document {
        id: DocumentId(row.try_get("id").map_err(backend)?),
        partnership: PartnerCode::parse(&text("partnership")?).map_err(backend)?,
        kind: DocumentKind::parse(&text("kind")?).map_err(backend)?,
        title: Title::parse(&text("title")?).map_err(backend)?,
        edition: Edition::parse(&text("edition")?).map_err(backend)?,
        status: DocumentStatus::parse(&text("status")?).map_err(backend)?,
        signed_on: date("signed_on")?,
        signed_at: optional("signed_at")?,
        published_on: date("published_on")?,
        period_from: date("period_from")?,
        period_to: date("period_to")?,
        entered_into_force_on: date("entered_into_force_on")?,
        signatories: row.try_get::<Json<Vec<Signatory>>, _>("signatories").map_err(backend)?.0,
        approvals: row.try_get::<Json<Vec<Approval>>, _>("approvals").map_err(backend)?.0,
        supersedes: row.try_get::<Option<uuid::Uuid>, _>("supersedes").map_err(backend)?.map(DocumentId),
        source: optional("source")?,
        notes: Text::parse(&text("notes")?).map_err(backend)?,
        content_hash: optional("content_hash")?,
        marking: marking(&text("marking")?, row.try_get("releasable").map_err(backend)?)?,
        version: row.try_get("version").map_err(backend)?,
        updated_at: row.try_get("updated_at").map_err(backend)?,
    })
}

fn element_from_row(row: &PgRow) -> Result<Element, StoreError> {
    let text = |name: &str| row.try_get::<String, _>(name).map_err(backend);
    Ok(Element {
        id: ElementId(row.try_get("id").map_err(backend)?),
        document: DocumentId(row.try_get("document").map_err(backend)?),
        kind: ElementKind::parse(&text("kind")?).map_err(backend)?,
        code: text("code")?,
        title: Title::parse(&text("title")?).map_err(backend)?,
        text: Text::parse(&text("text")?).map_err(backend)?,
        parent: row.try_get::<Option<uuid::Uuid>, _>("parent").map_err(backend)?.map(ElementId),
        position: row.try_get("position").map_err(backend)?,
        source_line: row
            .try_get::<Option<i64>, _>("source_line")
            .map_err(backend)?
            .map(u32::try_from)
            .transpose()
            .map_err(backend)?,
    })
}
