//! The signed-in staff member's own account: who the console or an app is acting as.

use actix_web::{get, web, HttpResponse};

use crate::db;
use crate::error::ServiceResult;
use crate::http::access::staff::{staff_view, StaffView};
use crate::http::access::Staff;
use crate::http::{with_db, AppState};

/// Who am I (staff)
///
/// The staff account the token belongs to, with all of its active grants as they are now in the
/// database (a token carries the grants of its sign-in; a change shows here at once and in the
/// token after the next refresh).
#[utoipa::path(
    tag = "staff",
    security(("staff" = [])),
    responses(
        (status = 200, description = "The signed-in staff member", body = StaffView),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
    )
)]
#[get("/staff/me")]
pub async fn who_am_i(state: web::Data<AppState>, staff: Staff) -> ServiceResult<HttpResponse> {
    let staff_id = staff.id();
    let view = with_db(&state, move |conn| {
        let row = db::access::staff::get_staff(conn, staff_id)?;
        let grants = db::access::staff::active_grants(conn, staff_id)?;
        Ok(staff_view(row, grants, |_| true))
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}
