//! Staff accounts and their role grants.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::password::{check_password_rules, hash_password};
use crate::db;
use crate::db::access::audit;
use crate::db::access::staff::{GrantRow, StaffRow};
use crate::db::Db;
use crate::domain::access::privacy::{is_mainland_mobile, mask_phone};
use crate::domain::access::{Action, Role};
use crate::error::{ConflictCode, ServiceError, ServiceResult};
use crate::http::access::{Guard, Staff};
use crate::http::closed_sets;
use crate::http::extract::ApiJson;
use crate::http::types::{required_text, timestamp};
use crate::http::{blocking, in_write_tx, with_db, AppState};

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

fn grant_view((grant, path): (GrantRow, String)) -> GrantView {
    GrantView {
        id: grant.id,
        role: grant.role,
        org_id: grant.org_id,
        path,
        granted_by: grant.granted_by,
        created_at: timestamp(grant.created_at),
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

/// A staff member as seen by someone who manages `visible` units: grants elsewhere (another
/// village's roles of the same person) are not theirs to see.
pub(crate) fn staff_view(
    row: StaffRow,
    grants: Vec<(GrantRow, String)>,
    visible: impl Fn(&str) -> bool,
) -> StaffView {
    StaffView {
        id: row.id,
        phone: mask_phone(&row.phone),
        name: row.name,
        active: row.active,
        grants: grants
            .into_iter()
            .filter(|(_, path)| visible(path))
            .map(grant_view)
            .collect(),
    }
}

/// A staff member whose roles all lie outside the granter's units is another unit's staff: their
/// account is not the granter's to extend (nor to learn about by guessing ids). A new account
/// without any role yet is anyone's to start.
fn check_manageable(guard: &Guard, grants: &[(GrantRow, String)]) -> ServiceResult<()> {
    if grants.is_empty() || grants.iter().any(|(_, path)| guard.covers(path)) {
        Ok(())
    } else {
        Err(ServiceError::Forbidden)
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
    // A new account has no role yet; its record is filed under the creator's first managed unit.
    let filed_under = staff
        .paths_for(Action::ManageStaff)
        .into_iter()
        .next()
        .ok_or(ServiceError::Forbidden)?;
    let audit = staff.audit(&req);
    let request = body.0;
    if !is_mainland_mobile(&request.phone) {
        return Err(ServiceError::validation(
            "phone",
            "must be an 11-digit mainland-China mobile number",
        ));
    }
    let name = required_text("name", &request.name, 50)?;
    check_password_rules(&request.password).map_err(|m| ServiceError::validation("password", m))?;
    let phone = request.phone;
    let password = request.password;
    let store = state.store.clone();
    let created = blocking(move || {
        let hash = hash_password(&password)?;
        store.write(|conn| {
            let row =
                db::access::staff::create_staff(conn, &phone, &name, &hash, "staff", store.now())?;
            let view = staff_view(row, vec![], |_| true);
            audit::created(
                conn,
                &audit,
                "staff.create",
                format!("staff:{}", view.id),
                &filed_under,
                &view,
            )?;
            Ok(view)
        })
    })
    .await?;
    Ok(HttpResponse::Created().json(created))
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
    let paths = staff.paths_for(Action::ManageStaff);
    let guard = staff.guard(Action::ManageStaff);
    let listed = with_db(&state, move |conn| {
        db::access::staff::list_under(conn, &paths)
    })
    .await?;
    let views: Vec<StaffView> = listed
        .into_iter()
        .map(|(row, grants)| staff_view(row, grants, |path| guard.covers(path)))
        .collect();
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
    let role = Role::parse(&body.0.role)
        .ok_or_else(|| ServiceError::validation("role", "unknown role"))?;
    let org_id = body.0.org_id;
    if (role == Role::PlatformAdmin) != org_id.is_none() {
        return Err(ServiceError::validation(
            "org_id",
            "required for every role except platform_admin, which must omit it",
        ));
    }
    let guard = staff.guard(Action::ManageStaff);
    let actor = staff.actor().to_string();
    let audit = staff.audit(&req);
    let store = state.store.clone();
    let view = in_write_tx(&state, move |conn| {
        let target = db::access::staff::get_staff(conn, staff_id)?;
        let path = match org_id {
            Some(org_id) => db::access::orgs::get_org(conn, org_id)?.path,
            None => "/".to_string(),
        };
        guard.at(&path)?;
        let grants = db::access::staff::active_grants(conn, staff_id)?;
        check_manageable(&guard, &grants)?;
        if db::access::staff::find_active_grant(conn, staff_id, role, org_id)?.is_some() {
            // Granting what is already granted changes nothing: answer with the grants as they are.
            return Ok((staff_view(target, grants, |p| guard.covers(p)), false));
        }
        let before = staff_view(target.clone(), grants, |p| guard.covers(p));
        db::access::staff::add_grant(conn, staff_id, role, org_id, &actor, store.now())?;
        let grants = db::access::staff::active_grants(conn, staff_id)?;
        let after = staff_view(target, grants, |p| guard.covers(p));
        audit::changed(
            conn,
            &audit,
            "staff.grant",
            format!("staff:{staff_id}"),
            &path,
            &before,
            &after,
        )?;
        Ok((after, true))
    })
    .await?;
    match view {
        (view, true) => Ok(HttpResponse::Created().json(view)),
        (view, false) => Ok(HttpResponse::Ok().json(view)),
    }
}

/// Nobody may end the last active platform_admin grant: the platform would be locked out.
fn refuse_removing_the_last_admin(
    conn: &mut Db,
    staff_id: i64,
    grants: &[(GrantRow, String)],
) -> ServiceResult<()> {
    let admins = db::access::staff::active_platform_admins(conn)?;
    let keeps_another_admin_grant = grants
        .iter()
        .filter(|(grant, _)| grant.role == Role::PlatformAdmin.as_str())
        .count()
        > 1;
    if admins.iter().all(|&admin| admin == staff_id) && !keeps_another_admin_grant {
        return Err(ServiceError::conflict(
            ConflictCode::LastAdmin,
            "this is the last active platform administrator; grant the role to someone else first",
        ));
    }
    Ok(())
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
    let guard = staff.guard(Action::ManageStaff);
    let audit = staff.audit(&req);
    let store = state.store.clone();
    let view = in_write_tx(&state, move |conn| {
        let target = db::access::staff::get_staff(conn, staff_id)?;
        let (grant, path) = db::access::staff::get_grant(conn, staff_id, grant_id)?;
        guard.at(&path)?;
        let grants = db::access::staff::active_grants(conn, staff_id)?;
        if grant.role == Role::PlatformAdmin.as_str() {
            refuse_removing_the_last_admin(conn, staff_id, &grants)?;
        }
        let before = staff_view(target.clone(), grants, |p| guard.covers(p));
        db::access::staff::revoke_grant(conn, grant_id, store.now())?;
        let grants = db::access::staff::active_grants(conn, staff_id)?;
        let after = staff_view(target, grants, |p| guard.covers(p));
        audit::changed(
            conn,
            &audit,
            "staff.revoke",
            format!("staff:{staff_id}"),
            &path,
            &before,
            &after,
        )?;
        Ok(after)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}
