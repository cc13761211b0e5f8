//! Partnerships and the public reference data (organisations, areas of cooperation).

use eprime_domain::access::may_edit_programme;
use eprime_domain::{
    Area, AreaCode, Framework, Marking, OrgCode, OrgKind, Organisation, PartnerCode, Partnership, Principal, ReadScope,
    Text, Title,
};
use eprime_domain::{FieldError, ValidationErrors};
use eprime_store::{NewChangeEntry, NewPartnership, Operation, StoreError};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::SqliteStore;
use crate::changelog::append;
use crate::codec::{backend, db_error, instant_text, marking, now, parse_instant};
use crate::scope::{bind_scope, visible};

macro_rules! partnership_select {
    () => {
        concat!(
            "SELECT p.partner, p.name, p.framework, p.since, p.summary, p.marking, p.version, p.updated_at,",
            " (SELECT group_concat(org) FROM releasability",
            "   WHERE entity_type = 'partnership' AND entity_id = p.partner) AS releasable",
            " FROM partnerships p WHERE ",
            visible!("partnership", "p", "partner")
        )
    };
}

pub(crate) async fn create(
    store: &SqliteStore,
    actor: &Principal,
    new: NewPartnership,
) -> Result<Partnership, StoreError> {
    may_edit_programme(actor)?;
    // A partnership is always known to its own partner.
    let marking = if new.marking.is_public() {
        new.marking
    } else {
        let mut orgs = new.marking.releasable_list().to_vec();
        orgs.push(new.partner.as_org());
        Marking::releasable_to(orgs)
    };
    let at = now();
    let partnership = Partnership {
        partner: new.partner,
        name: new.name,
        framework: new.framework,
        since: new.since,
        summary: new.summary,
        marking,
        version: 1,
        updated_at: at,
    };
    let code = partnership.partner.as_str().to_owned();
    let mut tx = store.writer.begin().await?;
    sqlx::query(
        "INSERT INTO partnerships (partner, name, framework, since, summary, marking, version, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?7)",
    )
    .bind(code.clone())
    .bind(partnership.name.as_str().to_owned())
    .bind(partnership.framework.as_str())
    .bind(partnership.since.clone())
    .bind(partnership.summary.as_str().to_owned())
    .bind(partnership.marking.classification.as_str())
    .bind(instant_text(at))
    .execute(&mut *tx)
    .await
    .map_err(|e| match crate::codec::db_error(e) {
        StoreError::Conflict(_) => StoreError::Conflict(format!("partnership {code} already exists")),
        other => other,
    })?;
    crate::releasability::replace(&mut tx, "partnership", &code, partnership.marking.releasable_list()).await?;
    append(
        &mut tx,
        NewChangeEntry::about(&partnership, Some(actor.username.as_str()), Operation::Create).after(&partnership),
    )
    .await?;
    tx.commit().await?;
    Ok(partnership)
}

pub(crate) async fn list(store: &SqliteStore, scope: &ReadScope) -> Result<Vec<Partnership>, StoreError> {
    let sql = concat!(partnership_select!(), " ORDER BY p.partner");
    let rows = bind_scope(sqlx::query(sql), scope).fetch_all(&store.reader).await.map_err(db_error)?;
    rows.iter().map(from_row).collect()
}

pub(crate) async fn get(
    store: &SqliteStore,
    scope: &ReadScope,
    partner: &PartnerCode,
) -> Result<Option<Partnership>, StoreError> {
    let sql = concat!(partnership_select!(), " AND p.partner = ?5");
    let row = bind_scope(sqlx::query(sql), scope)
        .bind(partner.as_str().to_owned())
        .fetch_optional(&store.reader)
        .await
        .map_err(db_error)?;
    row.as_ref().map(from_row).transpose()
}

fn from_row(row: &SqliteRow) -> Result<Partnership, StoreError> {
    let text = |name: &str| row.try_get::<String, _>(name).map_err(backend);
    Ok(Partnership {
        partner: PartnerCode::parse(&text("partner")?).map_err(backend)?,
        name: Title::parse(&text("name")?).map_err(backend)?,
        framework: Framework::parse(&text("framework")?).map_err(backend)?,
        since: text("since")?,
        summary: Text::parse(&text("summary")?).map_err(backend)?,
        marking: marking(&text("marking")?, row.try_get("releasable").map_err(backend)?)?,
        version: row.try_get("version").map_err(backend)?,
        updated_at: parse_instant(&text("updated_at")?)?,
    })
}

pub(crate) async fn upsert_organisation(
    store: &SqliteStore,
    actor: &Principal,
    org: &Organisation,
) -> Result<(), StoreError> {
    may_edit_programme(actor)?;
    let mut tx = store.writer.begin().await?;
    let before = organisation(&mut tx, &org.code).await?;
    if before.as_ref() == Some(org) {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO organisations (code, name, kind, country) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (code) DO UPDATE SET name = excluded.name, kind = excluded.kind, country = excluded.country",
    )
    .bind(org.code.as_str().to_owned())
    .bind(org.name.as_str().to_owned())
    .bind(org.kind.as_str())
    .bind(org.country.as_ref().map(|c| c.as_str().to_owned()))
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    let operation = if before.is_some() { Operation::Update } else { Operation::Create };
    append(
        &mut tx,
        NewChangeEntry::about(org, Some(actor.username.as_str()), operation).before(before.as_ref()).after(org),
    )
    .await?;
    tx.commit().await
}

async fn organisation(tx: &mut sqlx::SqliteConnection, code: &OrgCode) -> Result<Option<Organisation>, StoreError> {
    let row = sqlx::query("SELECT code, name, kind, country FROM organisations WHERE code = ?1")
        .bind(code.as_str().to_owned())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
    row.as_ref().map(organisation_from_row).transpose()
}

pub(crate) async fn list_organisations(store: &SqliteStore) -> Result<Vec<Organisation>, StoreError> {
    let rows = sqlx::query("SELECT code, name, kind, country FROM organisations ORDER BY kind, code")
        .fetch_all(&store.reader)
        .await
        .map_err(db_error)?;
    rows.iter().map(organisation_from_row).collect()
}

fn organisation_from_row(row: &SqliteRow) -> Result<Organisation, StoreError> {
    let text = |name: &str| row.try_get::<String, _>(name).map_err(backend);
    Ok(Organisation {
        code: OrgCode::parse(&text("code")?).map_err(backend)?,
        name: Title::parse(&text("name")?).map_err(backend)?,
        kind: OrgKind::parse(&text("kind")?).map_err(backend)?,
        country: row
            .try_get::<Option<String>, _>("country")
            .map_err(backend)?
            .map(|c| OrgCode::parse(&c))
            .transpose()
            .map_err(backend)?,
    })
}

pub(crate) async fn upsert_area(store: &SqliteStore, actor: &Principal, area: &Area) -> Result<(), StoreError> {
    may_edit_programme(actor)?;
    let mut tx = store.writer.begin().await?;
    let before = sqlx::query("SELECT code, title FROM areas WHERE code = ?1")
        .bind(area.code.as_str().to_owned())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?
        .as_ref()
        .map(area_from_row)
        .transpose()?;
    if before.as_ref() == Some(area) {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO areas (code, title) VALUES (?1, ?2) ON CONFLICT (code) DO UPDATE SET title = excluded.title",
    )
    .bind(area.code.as_str().to_owned())
    .bind(area.title.as_str().to_owned())
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    let operation = if before.is_some() { Operation::Update } else { Operation::Create };
    append(
        &mut tx,
        NewChangeEntry::about(area, Some(actor.username.as_str()), operation).before(before.as_ref()).after(area),
    )
    .await?;
    tx.commit().await
}

pub(crate) async fn list_areas(store: &SqliteStore) -> Result<Vec<Area>, StoreError> {
    let rows =
        sqlx::query("SELECT code, title FROM areas ORDER BY code").fetch_all(&store.reader).await.map_err(db_error)?;
    rows.iter().map(area_from_row).collect()
}

fn area_from_row(row: &SqliteRow) -> Result<Area, StoreError> {
    Ok(Area {
        code: AreaCode::parse(&row.try_get::<String, _>("code").map_err(backend)?).map_err(backend)?,
        title: Title::parse(&row.try_get::<String, _>("title").map_err(backend)?).map_err(backend)?,
    })
}

/// The partnership must exist and be visible to the actor; otherwise it does not exist for them.
pub(crate) async fn ensure_visible(
    tx: &mut sqlx::SqliteConnection,
    scope: &ReadScope,
    partner: &PartnerCode,
) -> Result<(), StoreError> {
    let sql = concat!(
        "SELECT count(*) FROM partnerships p WHERE p.partner = ?5 AND ",
        visible!("partnership", "p", "partner")
    );
    let row = bind_scope(sqlx::query(sql), scope)
        .bind(partner.as_str().to_owned())
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
    if row.try_get::<i64, _>(0).map_err(backend)? == 0 {
        return Err(ValidationErrors::from(FieldError::new(
            "partnership",
            format!("there is no partnership {partner}"),
        ))
        .into());
    }
    Ok(())
}
