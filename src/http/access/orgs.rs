//! The organisation tree.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::db::access::orgs::OrgKind;
use crate::error::{ServiceError, ServiceResult};
use crate::http::access::Staff;
use crate::http::closed_sets;
use crate::http::extract::ApiJson;
use crate::http::types::{required_text, Org};
use crate::http::{blocking, AppState};
use crate::service::access::orgs::{self, CreateOrgCommand};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "330106001001", "name": "青山村", "kind": "village", "parent_id": 2}))]
pub struct CreateOrg {
    /// Unique code of the unit, 1–40 characters (e.g. the 12-digit statistical code).
    #[schema(min_length = 1, max_length = 40)]
    pub code: String,
    /// Display name, 1–100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// `county`, `township`, `village`, `grid` or `building` (default `village`).
    #[schema(value_type = Option<closed_sets::OrgUnitKind>)]
    pub kind: Option<String>,
    /// The unit above (of a higher level). Omit only for a top-level unit (platform administrators).
    pub parent_id: Option<i64>,
}

fn parse_kind(kind: Option<&str>) -> ServiceResult<OrgKind> {
    match kind {
        None => Ok(OrgKind::Village),
        Some(text) => OrgKind::parse(text).ok_or_else(|| {
            ServiceError::validation(
                "kind",
                "must be county, township, village, grid or building",
            )
        }),
    }
}

/// Create an organisation unit
///
/// Adds a unit below `parent_id`. Needs `org_admin` on the parent (or `platform_admin`; only they
/// may create top-level units).
#[utoipa::path(
    tag = "orgs",
    request_body = CreateOrg,
    security(("staff" = [])),
    responses(
        (status = 201, description = "Created", body = Org),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: the parent is outside your scope"),
        (status = 404, description = "`not_found`: no such parent unit"),
        (status = 409, description = "`already_exists`: the code is taken"),
        (status = 422, description = "`validation_failed`: a field is missing or malformed, or the parent is not of a higher level"),
    )
)]
#[post("/orgs")]
pub async fn create_org(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    body: ApiJson<CreateOrg>,
) -> ServiceResult<HttpResponse> {
    let code = required_text("code", &body.0.code, 40)?;
    let name = required_text("name", &body.0.name, 100)?;
    let kind = parse_kind(body.0.kind.as_deref())?;
    let command = CreateOrgCommand {
        code,
        name,
        kind,
        parent_id: body.0.parent_id,
    };
    let audit = staff.audit(&req);
    let store = state.store.clone();
    let org = blocking(move || orgs::create_org(&store, &staff, &audit, &command)).await?;
    Ok(HttpResponse::Created().json(Org::from(org)))
}

/// List organisation units
///
/// The units in your scope, parents before children.
#[utoipa::path(
    tag = "orgs",
    security(("staff" = [])),
    responses(
        (status = 200, description = "The units you can see", body = Vec<Org>),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
    )
)]
#[get("/orgs")]
pub async fn list_orgs(state: web::Data<AppState>, staff: Staff) -> ServiceResult<HttpResponse> {
    let store = state.store.clone();
    let orgs = blocking(move || orgs::list_orgs(&store, &staff)).await?;
    Ok(HttpResponse::Ok().json(orgs.into_iter().map(Org::from).collect::<Vec<_>>()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"parent_id": 5}))]
pub struct MoveOrg {
    /// The new parent unit.
    pub parent_id: i64,
}

/// Move an organisation unit
///
/// Moves a unit and everything below it under another parent (e.g. a grid reassigned to another
/// village). Its id, banks, accounts and history stay as they are. Needs `org_admin` over both the
/// unit and the new parent.
#[utoipa::path(
    tag = "orgs",
    request_body = MoveOrg,
    params(("org_id" = i64, Path, description = "The unit to move")),
    security(("staff" = [])),
    responses(
        (status = 200, description = "Moved", body = Org),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: the unit or the new parent is outside your scope"),
        (status = 404, description = "`not_found`: no such unit"),
        (status = 422, description = "`validation_failed`: the new parent is below the unit or not of a higher level"),
    )
)]
#[post("/orgs/{org_id}/move")]
pub async fn move_org(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
    body: ApiJson<MoveOrg>,
) -> ServiceResult<HttpResponse> {
    let org_id = path.into_inner();
    let parent_id = body.0.parent_id;
    let audit = staff.audit(&req);
    let store = state.store.clone();
    let org = blocking(move || orgs::move_org(&store, &staff, &audit, org_id, parent_id)).await?;
    Ok(HttpResponse::Ok().json(Org::from(org)))
}

/// Get an organisation unit
///
/// One unit (county, township, village, grid or building) with its path in the tree. Units
/// outside your scope are `not_found`, like missing ones.
#[utoipa::path(
    tag = "orgs",
    params(("org_id" = i64, Path, description = "Unit id")),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The unit", body = Org),
        (status = 404, description = "`not_found`: no such unit in your scope"),
    )
)]
#[get("/orgs/{org_id}")]
pub async fn get_org(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
) -> ServiceResult<HttpResponse> {
    let org_id = path.into_inner();
    let store = state.store.clone();
    let org = blocking(move || orgs::get_org(&store, &staff, org_id)).await?;
    Ok(HttpResponse::Ok().json(Org::from(org)))
}
