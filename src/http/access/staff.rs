//! Staff accounts and their role grants.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ServiceResult;
use crate::http::access::Staff;
use crate::http::closed_sets;
use crate::http::extract::ApiJson;
use crate::http::types::timestamp;
use crate::http::{blocking, AppState};
use crate::service::access::staff::{
    self as service_staff, GrantCommand, GrantRecord, NewStaffCommand, StaffRecord,
};

#[derive(Debug, Serialize, ToSchema)]
pub struct GrantView {
    pub id: i64,
    /// `platform_admin`, `org_admin`, `organiser`, `clerk` or `auditor`.
    #[schema(value_type = closed_sets::Role)]
    pub role: String,
    /// The unit the role covers (with everything below it); null for platform administrators.
    pub org_id: Option<i64>,
    /// The unit's path, e.g. `/1/2/`; `/` for platform administrators.
    pub path: String,
    pub granted_by: String,
    pub created_at: String,
}

impl From<GrantRecord> for GrantView {
    fn from(grant: GrantRecord) -> Self {
        GrantView {
            id: grant.id,
            role: grant.role,
            org_id: grant.org_id,
            path: grant.path,
            granted_by: grant.granted_by,
            created_at: timestamp(grant.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 4, "phone": "138****0004", "name": "青山村超市店员", "active": true,
    "grants": [{"id": 5, "role": "clerk", "org_id": 3, "path": "/1/3/", "granted_by": "staff:2", "created_at": "2026-11-23T08:00:00.000000Z"}]
}))]
pub struct StaffView {
    pub id: i64,
    /// Masked (`138****1234`).
    pub phone: String,
    pub name: String,
    pub active: bool,
    /// Active grants.
    pub grants: Vec<GrantView>,
}

impl From<StaffRecord> for StaffView {
    fn from(record: StaffRecord) -> Self {
        StaffView {
            id: record.id,
            phone: record.phone,
            name: record.name,
            active: record.active,
            grants: record.grants.into_iter().map(GrantView::from).collect(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"phone": "13800000009", "name": "李会计", "password": "a-long-initial-password"}))]
pub struct CreateStaff {
    /// Mainland-China mobile number (11 digits); the sign-in name.
    pub phone: String,
    /// 1–50 characters.
    #[schema(min_length = 1, max_length = 50)]
    pub name: String,
    /// Initial password, 8–128 characters.
    pub password: String,
}

/// Create a staff account
///
/// The new account has no role until one is granted. Needs `org_admin` somewhere.
#[utoipa::path(
    tag = "staff",
    request_body = CreateStaff,
    security(("staff" = [])),
    responses(
        (status = 201, description = "Created", body = StaffView),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: you manage no staff"),
        (status = 409, description = "`already_exists`: the phone number has an account"),
        (status = 422, description = "`validation_failed`: a field is missing or malformed"),
    )
)]
#[post("/staff")]
pub async fn create_staff(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    body: ApiJson<CreateStaff>,
) -> ServiceResult<HttpResponse> {
    let request = body.0;
    let command = NewStaffCommand::checked(request.phone, request.name, request.password)?;
    let audit = staff.audit(&req);
    let store = state.store.clone();
    let created =
        blocking(move || service_staff::create_staff(&store, &staff, &audit, &command)).await?;
    Ok(HttpResponse::Created().json(StaffView::from(created)))
}

/// List staff
///
/// Staff holding a role in the units you manage, each with only the grants inside those units
/// (the same person's roles elsewhere are not shown). Empty for roles that manage no staff.
#[utoipa::path(
    tag = "staff",
    security(("staff" = [])),
    responses(
        (status = 200, description = "Staff with their grants", body = Vec<StaffView>),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
    )
)]
#[get("/staff")]
pub async fn list_staff(state: web::Data<AppState>, staff: Staff) -> ServiceResult<HttpResponse> {
    let store = state.store.clone();
    let listed = blocking(move || service_staff::list_staff(&store, &staff)).await?;
    let views: Vec<StaffView> = listed.into_iter().map(StaffView::from).collect();
    Ok(HttpResponse::Ok().json(views))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"role": "clerk", "org_id": 3}))]
pub struct GrantRole {
    /// `org_admin`, `organiser`, `clerk`, `auditor` (or `platform_admin`, by platform administrators only).
    #[schema(value_type = closed_sets::Role)]
    pub role: String,
    /// The unit the role covers, with everything below it. Omit for `platform_admin`.
    pub org_id: Option<i64>,
}

/// Grant a role
///
/// Gives a staff member a role on a unit and everything below it. Needs `org_admin` over that
/// unit, and the staff member must be new (no role yet) or already hold a role in your units:
/// another unit's staff are that unit's to manage. The answer shows only the grants in your
/// units. Takes effect at the staff member's next sign-in (access tokens carry their grants).
/// Granting a role the staff member already holds on that unit changes nothing and answers 200
/// with their grants as they are (safe to retry).
#[utoipa::path(
    tag = "staff",
    request_body = GrantRole,
    params(("staff_id" = i64, Path, description = "Staff id")),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The grant already existed; nothing changed", body = StaffView),
        (status = 201, description = "The staff member with the new grant", body = StaffView),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: the unit is outside your scope, or the staff member holds roles only outside it"),
        (status = 404, description = "`not_found`: no such staff member or unit"),
        (status = 422, description = "`validation_failed`: unknown role, or org_id missing/present where it must not be"),
    )
)]
#[post("/staff/{staff_id}/grants")]
pub async fn grant_role(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
    body: ApiJson<GrantRole>,
) -> ServiceResult<HttpResponse> {
    let staff_id = path.into_inner();
    let command = GrantCommand::checked(&body.0.role, body.0.org_id)?;
    let audit = staff.audit(&req);
    let store = state.store.clone();
    let granted =
        blocking(move || service_staff::grant_role(&store, &staff, &audit, staff_id, &command))
            .await?;
    let view = StaffView::from(granted.staff);
    if granted.created {
        Ok(HttpResponse::Created().json(view))
    } else {
        Ok(HttpResponse::Ok().json(view))
    }
}

/// Revoke a role
///
/// Ends a grant. Needs `org_admin` over the unit the grant covers; the answer shows only the grants
/// in your units. Access tokens already issued
/// keep working until they expire (`PB_ACCESS_TOKEN_TTL_SECONDS`, 15 minutes by default).
#[utoipa::path(
    tag = "staff",
    params(("staff_id" = i64, Path, description = "Staff id"), ("grant_id" = i64, Path, description = "Grant id")),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The staff member without the grant", body = StaffView),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: the grant's unit is outside your scope"),
        (status = 409, description = "`last_admin`: this is the last active platform administrator's grant"),
        (status = 404, description = "`not_found`: no such active grant"),
    )
)]
#[post("/staff/{staff_id}/grants/{grant_id}/revoke")]
pub async fn revoke_role(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<(i64, i64)>,
) -> ServiceResult<HttpResponse> {
    let (staff_id, grant_id) = path.into_inner();
    let audit = staff.audit(&req);
    let store = state.store.clone();
    let view =
        blocking(move || service_staff::revoke_role(&store, &staff, &audit, staff_id, grant_id))
            .await?;
    Ok(HttpResponse::Ok().json(StaffView::from(view)))
}
