//! Partnership documents and their programme elements.

use eprime_domain::access::may_edit_programme;
use eprime_domain::document::{approved_by_both, entry_into_force};
use eprime_domain::{
    Approval, Approver, Caller, Document, DocumentId, DocumentKind, DocumentStatus, Edition, Element, ElementId,
    ElementKind, NewDocument, PartnerCode, Principal, ReadScope, Text, Title,
};
use eprime_store::{DocumentDetail, DocumentFilter, NewChangeEntry, Operation, StoreError};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection, SqliteExecutor};

use crate::SqliteStore;
use crate::changelog::append;
use crate::codec::{
    backend, date_text, db_error, from_json, instant_text, json, marking, now, parse_date, parse_instant,
};
use crate::scope::{bind_scope, visible};

macro_rules! document_select {
    () => {
        concat!(
            "SELECT d.id, d.partnership, d.kind, d.title, d.edition, d.status, d.signed_on, d.signed_at,",
            " d.published_on, d.period_from, d.period_to, d.entered_into_force_on, d.signatories, d.approvals,",
            " d.supersedes, d.source, d.notes, d.content_hash, d.marking, d.version, d.updated_at,",
            " (SELECT group_concat(org) FROM releasability",
            "   WHERE entity_type = 'document' AND entity_id = d.id) AS releasable",
            " FROM documents d WHERE ",
            visible!("document", "d", "id")
        )
    };
}

pub(crate) async fn create(
    store: &SqliteStore,
    actor: &Principal,
    new: NewDocument,
) -> Result<DocumentDetail, StoreError> {
    may_edit_programme(actor)?;
    new.check()?;
    let scope = Caller::User(actor.clone()).read_scope();
    let mut tx = store.writer.begin().await?;
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
    if let Some(old) = document.supersedes {
        supersede(&mut tx, actor, &scope, old, &document.partnership).await?;
    }
    let id = document.id.to_string();
    sqlx::query(
        "INSERT INTO documents (id, partnership, kind, title, edition, status, signed_on, signed_at, published_on,
             period_from, period_to, entered_into_force_on, signatories, approvals, supersedes, source, notes,
             content_hash, marking, version, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, 1, ?20, ?20)",
    )
    .bind(id.clone())
    .bind(document.partnership.as_str().to_owned())
    .bind(document.kind.as_str())
    .bind(document.title.as_str().to_owned())
    .bind(document.edition.as_str())
    .bind(document.status.as_str())
    .bind(date_text(document.signed_on))
    .bind(document.signed_at.clone())
    .bind(date_text(document.published_on))
    .bind(date_text(document.period_from))
    .bind(date_text(document.period_to))
    .bind(date_text(document.entered_into_force_on))
    .bind(json(&document.signatories)?)
    .bind(json(&document.approvals)?)
    .bind(document.supersedes.map(|s| s.to_string()))
    .bind(document.source.clone())
    .bind(document.notes.as_str().to_owned())
    .bind(document.content_hash.clone())
    .bind(document.marking.classification.as_str())
    .bind(instant_text(at))
    .execute(&mut *tx)
    .await
    .map_err(|e| match db_error(e) {
        StoreError::Conflict(_) => {
            StoreError::Conflict("this partnership already has a document with the same text".into())
        }
        other => other,
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
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .bind(stored.id.to_string())
        .bind(id.clone())
        .bind(stored.kind.as_str())
        .bind(stored.code.clone())
        .bind(stored.title.as_str().to_owned())
        .bind(stored.text.as_str().to_owned())
        .bind(stored.parent.map(|p| p.to_string()))
        .bind(stored.position)
        .bind(stored.source_line.map(i64::from))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        elements.push(stored);
    }
    let detail = DocumentDetail { document, elements };
    let logged = serde_json::json!({ "document": &detail.document, "elements": &detail.elements });
    append(
        &mut tx,
        NewChangeEntry::about(&detail.document, Some(actor.username.as_str()), Operation::Create).after(&logged),
    )
    .await?;
    tx.commit().await?;
    Ok(detail)
}

/// Marks the document a new version replaces as superseded, in the new version's transaction.
async fn supersede(
    tx: &mut SqliteConnection,
    actor: &Principal,
    scope: &ReadScope,
    old: DocumentId,
    partnership: &PartnerCode,
) -> Result<(), StoreError> {
    let before = fetch(&mut *tx, scope, old).await?.ok_or_else(|| StoreError::NotFound(format!("document {old}")))?;
    if &before.partnership != partnership {
        return Err(
            eprime_domain::FieldError::new("supersedes", "a document supersedes one of its own partnership").into()
        );
    }
    let mut after = before.clone();
    after.status = DocumentStatus::Superseded;
    after.version += 1;
    after.updated_at = now();
    sqlx::query("UPDATE documents SET status = ?2, version = ?3, updated_at = ?4 WHERE id = ?1")
        .bind(old.to_string())
        .bind(after.status.as_str())
        .bind(after.version)
        .bind(instant_text(after.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    append(
        tx,
        NewChangeEntry::about(&before, Some(actor.username.as_str()), Operation::Update)
            .before(Some(&before))
            .after(&after),
    )
    .await?;
    Ok(())
}

pub(crate) async fn list(
    store: &SqliteStore,
    scope: &ReadScope,
    filter: &DocumentFilter,
) -> Result<Vec<Document>, StoreError> {
    let sql = concat!(
        document_select!(),
        " AND (?5 IS NULL OR d.partnership = ?5) AND (?6 IS NULL OR d.kind = ?6)",
        " ORDER BY d.partnership, coalesce(d.signed_on, d.published_on, d.period_from), d.id"
    );
    let rows = bind_scope(sqlx::query(sql), scope)
        .bind(filter.partnership.as_ref().map(|p| p.as_str().to_owned()))
        .bind(filter.kind.map(DocumentKind::as_str))
        .fetch_all(&store.reader)
        .await
        .map_err(db_error)?;
    rows.iter().map(from_row).collect()
}

pub(crate) async fn fetch<'e>(
    executor: impl SqliteExecutor<'e>,
    scope: &ReadScope,
    id: DocumentId,
) -> Result<Option<Document>, StoreError> {
    let sql = concat!(document_select!(), " AND d.id = ?5");
    let row =
        bind_scope(sqlx::query(sql), scope).bind(id.to_string()).fetch_optional(executor).await.map_err(db_error)?;
    row.as_ref().map(from_row).transpose()
}

pub(crate) async fn detail(
    store: &SqliteStore,
    scope: &ReadScope,
    id: DocumentId,
) -> Result<Option<DocumentDetail>, StoreError> {
    let Some(document) = fetch(&store.reader, scope, id).await? else {
        return Ok(None);
    };
    let rows = sqlx::query(
        "SELECT id, document, kind, code, title, text, parent, position, source_line
         FROM elements WHERE document = ?1 ORDER BY position",
    )
    .bind(id.to_string())
    .fetch_all(&store.reader)
    .await
    .map_err(db_error)?;
    let elements = rows.iter().map(element_from_row).collect::<Result<_, _>>()?;
    Ok(Some(DocumentDetail { document, elements }))
}

pub(crate) async fn by_hash(
    store: &SqliteStore,
    scope: &ReadScope,
    partner: &PartnerCode,
    hash: &str,
) -> Result<Option<Document>, StoreError> {
    let sql = concat!(document_select!(), " AND d.partnership = ?5 AND d.content_hash = ?6");
    let row = bind_scope(sqlx::query(sql), scope)
        .bind(partner.as_str().to_owned())
        .bind(hash.to_owned())
        .fetch_optional(&store.reader)
        .await
        .map_err(db_error)?;
    row.as_ref().map(from_row).transpose()
}

pub(crate) async fn element(
    store: &SqliteStore,
    scope: &ReadScope,
    id: ElementId,
) -> Result<Option<Element>, StoreError> {
    let sql = concat!(
        "SELECT e.id, e.document, e.kind, e.code, e.title, e.text, e.parent, e.position, e.source_line",
        " FROM elements e JOIN documents d ON d.id = e.document WHERE e.id = ?5 AND ",
        visible!("document", "d", "id")
    );
    let row = bind_scope(sqlx::query(sql), scope)
        .bind(id.to_string())
        .fetch_optional(&store.reader)
        .await
        .map_err(db_error)?;
    row.as_ref().map(element_from_row).transpose()
}

pub(crate) async fn approve(
    store: &SqliteStore,
    actor: &Principal,
    id: DocumentId,
    expected_version: Option<i64>,
    approval: Approval,
) -> Result<Document, StoreError> {
    let scope = Caller::User(actor.clone()).read_scope();
    let mut tx = store.writer.begin().await?;
    let before = fetch(&mut *tx, &scope, id).await?.ok_or_else(|| StoreError::NotFound(format!("document {id}")))?;
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
        "UPDATE documents SET approvals = ?2, entered_into_force_on = ?3, status = ?4, version = ?5, updated_at = ?6
         WHERE id = ?1",
    )
    .bind(id.to_string())
    .bind(json(&after.approvals)?)
    .bind(date_text(after.entered_into_force_on))
    .bind(after.status.as_str())
    .bind(after.version)
    .bind(instant_text(after.updated_at))
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
    tx.commit().await?;
    Ok(after)
}

fn from_row(row: &SqliteRow) -> Result<Document, StoreError> {
    let text = |name: &str| row.try_get::<String, _>(name).map_err(backend);
    let optional = |name: &str| row.try_get::<Option<String>, _>(name).map_err(backend);
    Ok(Document {
        id: text("id")?.parse().map_err(backend)?,
        partnership: PartnerCode::parse(&text("partnership")?).map_err(backend)?,
        kind: DocumentKind::parse(&text("kind")?).map_err(backend)?,
        title: Title::parse(&text("title")?).map_err(backend)?,
        edition: Edition::parse(&text("edition")?).map_err(backend)?,
        status: DocumentStatus::parse(&text("status")?).map_err(backend)?,
        signed_on: parse_date(optional("signed_on")?)?,
        signed_at: optional("signed_at")?,
        published_on: parse_date(optional("published_on")?)?,
        period_from: parse_date(optional("period_from")?)?,
        period_to: parse_date(optional("period_to")?)?,
        entered_into_force_on: parse_date(optional("entered_into_force_on")?)?,
        signatories: from_json(&text("signatories")?)?,
        approvals: from_json(&text("approvals")?)?,
        supersedes: optional("supersedes")?.map(|s| s.parse()).transpose().map_err(backend)?,
        source: optional("source")?,
        notes: Text::parse(&text("notes")?).map_err(backend)?,
        content_hash: optional("content_hash")?,
        marking: marking(&text("marking")?, optional("releasable")?)?,
        version: row.try_get("version").map_err(backend)?,
        updated_at: parse_instant(&text("updated_at")?)?,
    })
}

fn element_from_row(row: &SqliteRow) -> Result<Element, StoreError> {
    let text = |name: &str| row.try_get::<String, _>(name).map_err(backend);
    Ok(Element {
        id: text("id")?.parse().map_err(backend)?,
        document: text("document")?.parse().map_err(backend)?,
        kind: ElementKind::parse(&text("kind")?).map_err(backend)?,
        code: text("code")?,
        title: Title::parse(&text("title")?).map_err(backend)?,
        text: Text::parse(&text("text")?).map_err(backend)?,
        parent: row
            .try_get::<Option<String>, _>("parent")
            .map_err(backend)?
            .map(|p| p.parse())
            .transpose()
            .map_err(backend)?,
        position: row.try_get("position").map_err(backend)?,
        source_line: row
            .try_get::<Option<i64>, _>("source_line")
            .map_err(backend)?
            .map(u32::try_from)
            .transpose()
            .map_err(backend)?,
    })
}
