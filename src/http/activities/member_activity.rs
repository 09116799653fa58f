//! One activity as the mini-program shows it to a member of its bank.

use actix_web::{get, web, HttpResponse};

use crate::db;
use crate::domain::activities::activity::StoredStatus;
use crate::error::{ServiceError, ServiceResult};
use crate::http::access::MemberAuth;
use crate::http::activities::signups::MemberActivity;
use crate::http::activities::Activity;
use crate::http::{with_db, AppState};

/// One activity (member)
///
/// An activity of the member's own bank with the member's sign-up status, for the detail page of
/// the mini-program (also after it ended, e.g. to see that it was settled). Drafts and other
/// banks' activities are `not_found`.
#[utoipa::path(
    tag = "me",
    params(("activity_id" = i64, Path, description = "Activity id")),
    security(("member" = [])),
    responses(
        (status = 200, description = "The activity and my sign-up", body = MemberActivity),
        (status = 401, description = "`unauthorized`: missing or invalid member token"),
        (status = 404, description = "`not_found`: no such activity in my bank"),
    )
)]
#[get("/me/activities/{activity_id}")]
pub async fn my_activity(
    state: web::Data<AppState>,
    member: MemberAuth,
    path: web::Path<i64>,
) -> ServiceResult<HttpResponse> {
    let (member_id, activity_id) = (member.0, path.into_inner());
    let store = state.store.clone();
    let item = with_db(&state, move |conn| {
        let now = store.now();
        let row = db::activities::get_activity(conn, activity_id)?;
        let bank_id = db::members::bank_of(conn, member_id)?;
        if row.bank_id != bank_id || row.stored_status()? == StoredStatus::Draft {
            return Err(ServiceError::NotFound("activity"));
        }
        let my_signup = db::activities::my_signups(conn, member_id, &[activity_id])?
            .into_iter()
            .map(|(_, status)| status)
            .next();
        Ok(MemberActivity {
            activity: Activity::of(row, now)?,
            my_signup,
            distance_m: None,
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(item))
}
