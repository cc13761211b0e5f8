//! Maintaining the releasability table the visibility rule reads.

use eprime_domain::OrgCode;
use eprime_store::StoreError;
use sqlx::SqliteConnection;

use crate::codec::db_error;

/// Replaces the releasability list of one record (inside the caller's transaction).
pub(crate) async fn replace(
    tx: &mut SqliteConnection,
    entity_type: &'static str,
    entity_id: &str,
    orgs: &[OrgCode],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM releasability WHERE entity_type = ?1 AND entity_id = ?2")
        .bind(entity_type)
        .bind(entity_id.to_owned())
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    for org in orgs {
        sqlx::query("INSERT INTO releasability (entity_type, entity_id, org) VALUES (?1, ?2, ?3)")
            .bind(entity_type)
            .bind(entity_id.to_owned())
            .bind(org.as_str().to_owned())
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
    }
    Ok(())
}
