//! Maintaining the releasability table the visibility rule reads.

use eprime_domain::OrgCode;
use eprime_store::StoreError;
use sqlx::PgConnection;

use crate::codec::db_error;

/// Replaces the releasability list of one record (inside the caller's transaction), in two
/// statements however long the list.
pub(crate) async fn replace(
    tx: &mut PgConnection,
    entity_type: &'static str,
    entity_id: &str,
    orgs: &[OrgCode],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM releasability WHERE entity_type = $1 AND entity_id = $2")
        .bind(entity_type)
        .bind(entity_id.to_owned())
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    if orgs.is_empty() {
        return Ok(());
    }
    let orgs: Vec<String> = orgs.iter().map(|o| o.as_str().to_owned()).collect();
    sqlx::query("INSERT INTO releasability (entity_type, entity_id, org) SELECT $1, $2, unnest($3::text[])")
        .bind(entity_type)
        .bind(entity_id.to_owned())
        .bind(orgs)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    Ok(())
}
