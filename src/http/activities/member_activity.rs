//! One activity as the mini-program shows it to a member of its bank.

use actix_web::{get, web, HttpResponse};

use crate::error::ServiceResult;
use crate::http::access::MemberAuth;
use crate::http::activities::signups::MemberActivity;
use crate::http::activities::Activity;
use crate::http::{blocking, AppState};
use crate::service::activities::signups;

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
    let found = blocking(move || signups::my_activity(&store, member_id, activity_id)).await?;
    let item = MemberActivity {
        activity: Activity::of(found.activity, state.now())?,
        my_signup: found.my_signup,
        distance_m: found.distance_m,
    };
    Ok(HttpResponse::Ok().json(item))
}
