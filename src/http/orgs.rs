//! Organisation units (a minimal list until the org tree arrives).

use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::extract::{ApiJson, Staff};
use super::types::{required_text, Org};
use super::{in_write_tx, with_db, AppState};
use crate::db;
use crate::error::ApiResult;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "330102001", "name": "青山村"}))]
pub struct CreateOrg {
    /// Unique code of the unit, 1–40 characters.
    pub code: String,
    /// Display name, 1–100 characters.
    pub name: String,
}

/// Create an organisation unit
///
/// A village or community that can own a points bank.
#[utoipa::path(
    tag = "orgs",
    request_body = CreateOrg,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = Org),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 409, description = "`already_exists`: the code is taken"),
        (status = 422, description = "`validation_failed`: a field is missing or malformed"),
    )
)]
#[post("/orgs")]
pub async fn create_org(
    state: web::Data<AppState>,
    _staff: Staff,
    body: ApiJson<CreateOrg>,
) -> ApiResult<HttpResponse> {
    let code = required_text("code", &body.0.code, 40)?;
    let name = required_text("name", &body.0.name, 100)?;
    let org = in_write_tx(&state, move |conn| {
        db::banks::create_org(conn, &code, &name, db::now_micros())
    })
    .await?;
    Ok(HttpResponse::Created().json(Org::from(org)))
}

/// List organisation units
#[utoipa::path(
    tag = "orgs",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "All units", body = Vec<Org>),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
    )
)]
#[get("/orgs")]
pub async fn list_orgs(state: web::Data<AppState>, _staff: Staff) -> ApiResult<HttpResponse> {
    let orgs = with_db(&state, db::banks::list_orgs).await?;
    Ok(HttpResponse::Ok().json(orgs.into_iter().map(Org::from).collect::<Vec<_>>()))
}
