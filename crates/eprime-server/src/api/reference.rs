//! Reference data: organisations and areas of cooperation (public).

use axum::Json;
use axum::extract::State;
use eprime_domain::{Area, Organisation};

use crate::AppState;
use crate::problem::ApiResult;

/// Every organisation: NATO bodies, Allies, partners and providers.
#[utoipa::path(get, path = "/api/v1/organisations", tag = "reference",
    responses((status = 200, description = "All organisations", body = Vec<Organisation>)))]
pub async fn organisations(State(state): State<AppState>) -> ApiResult<Json<Vec<Organisation>>> {
    Ok(Json(state.store.list_organisations().await?))
}

/// The Areas of Cooperation of the Partnership Cooperation Menu.
#[utoipa::path(get, path = "/api/v1/areas", tag = "reference",
    responses((status = 200, description = "All areas of cooperation", body = Vec<Area>)))]
pub async fn areas(State(state): State<AppState>) -> ApiResult<Json<Vec<Area>>> {
    Ok(Json(state.store.list_areas().await?))
}
