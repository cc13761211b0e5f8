//! Partnerships and the public reference data (organisations, areas of cooperation).

use eprime_domain::access::may_edit_programme;
use eprime_domain::{
    Area, AreaCode, FieldError, Framework, Marking, OrgCode, OrgKind, Organisation, PartnerCode, Partnership,
    Principal, ReadScope, Text, Title, ValidationErrors,
};
use eprime_store::{NewChangeEntry, NewPartnership, Operation, StoreError};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};

use crate::changelog::append;
use crate::codec::{backend, db_error, is_unique_violation, marking, now};
use crate::scope::{bind_scope, visible};

macro_rules! partnership_select {
    () => {
        concat!(
            "SELECT p.partner, p.name, p.framework, p.since, p.summary, p.marking, p.version, p.updated_at,",
            " ARRAY(SELECT org FROM releasability",
            "   WHERE entity_type = 'partnership' AND entity_id = p.partner) AS releasable",
            " FROM partnerships p WHERE ",
            visible!("partnership", "p", "partner")
        )
    };
}

pub(crate) async fn create(pool: &PgPool, actor: &Principal, new: NewPartnership) -> Result<Partnership, StoreError> {
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
    let mut tx = pool.begin().await.map_err(db_error)?;
    sqlx::query(
        "INSERT INTO partnerships (partner, name, framework, since, summary, marking, version, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7)",
    )
    .bind(code.clone())
    .bind(partnership.name.as_str().to_owned())
    .bind(partnership.framework.as_str())
    .bind(partnership.since.clone())
    .bind(partnership.summary.as_str().to_owned())
    .bind(partnership.marking.classification.as_str())
    .bind(at)
    .execute(&mut *tx)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::Conflict(format!("partnership {code} already exists"))
        } else {
            db_error(e)
        }
    })?;
    crate::releasability::replace(&mut tx, "partnership", &code, partnership.marking.releasable_list()).await?;
    append(
        &mut tx,
        NewChangeEntry::about(&partnership, Some(actor.username.as_str()), Operation::Create).after(&partnership),
    )
    .await?;
    tx.commit().await.map_err(db_error)?;
    Ok(partnership)
}

pub(crate) async fn list(pool: &PgPool, scope: &ReadScope) -> Result<Vec<Partnership>, StoreError> {
    let sql = concat!(partnership_select!(), " ORDER BY p.partner COLLATE \"C\"");
    let rows = bind_scope(sqlx::query(sql), scope).fetch_all(pool).await.map_err(db_error)?;
    rows.iter().map(from_row).collect()
}

pub(crate) async fn get(
    pool: &PgPool,
    scope: &ReadScope,
    partner: &PartnerCode,
) -> Result<Option<Partnership>, StoreError> {
    let sql = concat!(partnership_select!(), " AND p.partner = $5");
    let row = bind_scope(sqlx::query(sql), scope)
        .bind(partner.as_str().to_owned())
        .fetch_optional(pool)
        .await
        .map_err(db_error)?;
    row.as_ref().map(from_row).transpose()
}

fn from_row(row: &PgRow) -> Result<Partnership, StoreError> {
    let text = |name: &str| row.try_get::<String, _>(name).map_err(backend);
    Ok(Partnership {
        partner: PartnerCode::parse(&text("partner")?).map_err(backend)?,
        name: Title::parse(&text("name")?).map_err(backend)?,
        framework: Framework::parse(&text("framework")?).map_err(backend)?,
        since: text("since")?,
        summary: Text::parse(&text("summary")?).map_err(backend)?,
        marking: marking(&text("marking")?, row.try_get("releasable").map_err(backend)?)?,
        version: row.try_get("version").map_err(backend)?,
        updated_at: row.try_get("updated_at").map_err(backend)?,
    })
}

/// Creates or changes an organisation. Concurrent upserts of one code are safe: the insert
/// either creates the row or finds it taken, and a change locks the existing row before reading
/// what it was, so the change log's `before` is always the state the change replaced.
pub(crate) async fn upsert_organisation(
    pool: &PgPool,
    actor: &Principal,
    org: &Organisation,
) -> Result<(), StoreError> {
    may_edit_programme(actor)?;
    let mut tx = pool.begin().await.map_err(db_error)?;
    let inserted = sqlx::query(
        "INSERT INTO organisations (code, name, kind, country) VALUES ($1, $2, $3, $4) ON CONFLICT (code) DO NOTHING",
    )
    .bind(org.code.as_str().to_owned())
    .bind(org.name.as_str().to_owned())
    .bind(org.kind.as_str())
    .bind(org.country.as_ref().map(|c| c.as_str().to_owned()))
    .execute(&mut *tx)
    .await
    .map_err(db_error)?
    .rows_affected()
        == 1;
    let before = if inserted {
        None
    } else {
        let before = locked_organisation(&mut tx, &org.code).await?;
        if before.as_ref() == Some(org) {
            // Nothing to change, nothing to log (the transaction rolls back on drop).
            return Ok(());
        }
        sqlx::query("UPDATE organisations SET name = $2, kind = $3, country = $4 WHERE code = $1")
            .bind(org.code.as_str().to_owned())
            .bind(org.name.as_str().to_owned())
            .bind(org.kind.as_str())
            .bind(org.country.as_ref().map(|c| c.as_str().to_owned()))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        before
    };
    let operation = if before.is_some() { Operation::Update } else { Operation::Create };
    append(
        &mut tx,
        NewChangeEntry::about(org, Some(actor.username.as_str()), operation).before(before.as_ref()).after(org),
    )
    .await?;
    tx.commit().await.map_err(db_error)
}

async fn locked_organisation(tx: &mut PgConnection, code: &OrgCode) -> Result<Option<Organisation>, StoreError> {
    let row = sqlx::query("SELECT code, name, kind, country FROM organisations WHERE code = $1 FOR NO KEY UPDATE")
        .bind(code.as_str().to_owned())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
    row.as_ref().map(organisation_from_row).transpose()
}

pub(crate) async fn list_organisations(pool: &PgPool) -> Result<Vec<Organisation>, StoreError> {
    let rows = sqlx::query(
        "SELECT code, name, kind, country FROM organisations ORDER BY kind COLLATE \"C\", code COLLATE \"C\"",
    )
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    rows.iter().map(organisation_from_row).collect()
}

fn organisation_from_row(row: &PgRow) -> Result<Organisation, StoreError> {
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

/// Creates or changes an area of cooperation, safe under concurrency as `upsert_organisation`.
pub(crate) async fn upsert_area(pool: &PgPool, actor: &Principal, area: &Area) -> Result<(), StoreError> {
    may_edit_programme(actor)?;
    let mut tx = pool.begin().await.map_err(db_error)?;
    let inserted = sqlx::query("INSERT INTO areas (code, title) VALUES ($1, $2) ON CONFLICT (code) DO NOTHING")
        .bind(area.code.as_str().to_owned())
        .bind(area.title.as_str().to_owned())
        .execute(&mut *tx)
        .await
        .map_err(db_error)?
        .rows_affected()
        == 1;
    let before = if inserted {
        None
    } else {
        let before = sqlx::query("SELECT code, title FROM areas WHERE code = $1 FOR NO KEY UPDATE")
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
        sqlx::query("UPDATE areas SET title = $2 WHERE code = $1")
            .bind(area.code.as_str().to_owned())
            .bind(area.title.as_str().to_owned())
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        before
    };
    let operation = if before.is_some() { Operation::Update } else { Operation::Create };
    append(
        &mut tx,
        NewChangeEntry::about(area, Some(actor.username.as_str()), operation).before(before.as_ref()).after(area),
    )
    .await?;
    tx.commit().await.map_err(db_error)
}

pub(crate) async fn list_areas(pool: &PgPool) -> Result<Vec<Area>, StoreError> {
    let rows = sqlx::query("SELECT code, title FROM areas ORDER BY code COLLATE \"C\"")
        .fetch_all(pool)
        .await
        .map_err(db_error)?;
    rows.iter().map(area_from_row).collect()
}

fn area_from_row(row: &PgRow) -> Result<Area, StoreError> {
    Ok(Area {
        code: AreaCode::parse(&row.try_get::<String, _>("code").map_err(backend)?).map_err(backend)?,
        title: Title::parse(&row.try_get::<String, _>("title").map_err(backend)?).map_err(backend)?,
    })
}

/// The partnership must exist and be visible to the actor; otherwise it does not exist for them.
pub(crate) async fn ensure_visible(
    tx: &mut PgConnection,
    scope: &ReadScope,
    partner: &PartnerCode,
) -> Result<(), StoreError> {
    let sql = concat!(
        "SELECT EXISTS (SELECT 1 FROM partnerships p WHERE p.partner = $5 AND ",
        visible!("partnership", "p", "partner"),
        ")"
    );
    let row = bind_scope(sqlx::query(sql), scope)
        .bind(partner.as_str().to_owned())
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
    if !row.try_get::<bool, _>(0).map_err(backend)? {
        return Err(ValidationErrors::from(FieldError::new(
            "partnership",
            format!("there is no partnership {partner}"),
        ))
        .into());
    }
    Ok(())
}
