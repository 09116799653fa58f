//! The signed-in staff member's own account: who the console or an app is acting as.

use actix_web::{get, web, HttpResponse};

use crate::error::ServiceResult;
use crate::http::access::staff::StaffView;
use crate::http::access::Staff;
use crate::http::{blocking, AppState};
use crate::service::access::staff as service_staff;

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
    let store = state.store.clone();
    let view = blocking(move || service_staff::who_am_i(&store, &staff)).await?;
    Ok(HttpResponse::Ok().json(StaffView::from(view)))
}
