//! Signing up for activities (with a waiting list), on one's own or through staff on behalf of a
//! member without a phone, and the list of activities a volunteer can join.

use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::activities::SignupRow;
use crate::error::{ServiceError, ServiceResult};
use crate::http::access::{MemberAuth, Staff};
use crate::http::activities::Activity;
use crate::http::extract::ApiJson;
use crate::http::types::timestamp;
use crate::http::{blocking, AppState};
use crate::service::activities::signups::{self, Nearness};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "activity_id": 12, "member_id": 42, "member_name": "王秀英", "status": "confirmed",
    "proxied_by": null, "created_at": "2026-11-23T08:00:00.000000Z", "updated_at": "2026-11-23T08:00:00.000000Z"
}))]
pub struct Signup {
    pub activity_id: i64,
    pub member_id: i64,
    pub member_name: Option<String>,
    /// `confirmed`, `waitlisted` (moves up automatically when a place frees) or `cancelled`.
    pub status: String,
    /// Set when staff signed the member up on their behalf.
    pub proxied_by: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl Signup {
    fn of(row: SignupRow, member_name: Option<String>) -> Signup {
        Signup {
            activity_id: row.activity_id,
            member_id: row.member_id,
            member_name,
            status: row.status,
            proxied_by: row.proxied_by,
            created_at: timestamp(row.created_at),
            updated_at: timestamp(row.updated_at),
        }
    }
}

const SIGNUP_ERRORS: &str = "`signup_closed`: not published, already started, or outside the sign-up window; `member_inactive`: membership suspended";

/// Sign up for an activity
///
/// Takes a place, or a place on the waiting list when the activity is full (`status`
/// says which). Signing up twice returns the existing sign-up.
#[utoipa::path(
    tag = "activities",
    params(("activity_id" = i64, Path, description = "Activity id")),
    security(("member" = [])),
    responses(
        (status = 200, description = "Your sign-up", body = Signup),
        (status = 401, description = "`unauthorized`: missing or invalid member token"),
        (status = 404, description = "`not_found`: no such activity in your bank"),
        (status = 409, description = SIGNUP_ERRORS),
    )
)]
#[post("/me/activities/{activity_id}/signup")]
pub async fn sign_me_up(
    state: web::Data<AppState>,
    member: MemberAuth,
    path: web::Path<i64>,
) -> ServiceResult<HttpResponse> {
    let activity_id = path.into_inner();
    let store = state.store.clone();
    let signup = blocking(move || signups::sign_me_up(&store, member.0, activity_id)).await?;
    Ok(HttpResponse::Ok().json(Signup::of(signup, None)))
}

/// Cancel my sign-up
///
/// Frees the place; the longest-waiting member on the waiting list gets it.
#[utoipa::path(
    tag = "activities",
    params(("activity_id" = i64, Path, description = "Activity id")),
    security(("member" = [])),
    responses(
        (status = 200, description = "The cancelled sign-up", body = Signup),
        (status = 401, description = "`unauthorized`: missing or invalid member token"),
        (status = 404, description = "`not_found`: you are not signed up"),
    )
)]
#[delete("/me/activities/{activity_id}/signup")]
pub async fn cancel_my_signup(
    state: web::Data<AppState>,
    member: MemberAuth,
    path: web::Path<i64>,
) -> ServiceResult<HttpResponse> {
    let activity_id = path.into_inner();
    let store = state.store.clone();
    let signup = blocking(move || signups::cancel_my_signup(&store, member.0, activity_id)).await?;
    Ok(HttpResponse::Ok().json(Signup::of(signup, None)))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"member_id": 42}))]
pub struct ProxySignup {
    /// A member whose record allows proxies (`allow_proxy`).
    pub member_id: i64,
}

/// Sign a member up on their behalf
///
/// For members without a smartphone. Recorded as "by `proxied_by` on behalf of the member".
#[utoipa::path(
    tag = "activities",
    request_body = ProxySignup,
    params(("activity_id" = i64, Path, description = "Activity id")),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The member's sign-up", body = Signup),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: the activity or member is outside your scope"),
        (status = 404, description = "`not_found`: no such activity or member"),
        (status = 409, description = "`proxy_not_allowed`: the member's record does not allow proxies; `signup_closed`; `member_inactive`"),
    )
)]
#[post("/activities/{activity_id}/signups")]
pub async fn sign_up_member(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
    body: ApiJson<ProxySignup>,
) -> ServiceResult<HttpResponse> {
    let activity_id = path.into_inner();
    let member_id = body.0.member_id;
    let audit = staff.audit(&req);
    let store = state.store.clone();
    let proxied =
        blocking(move || signups::sign_up_member(&store, &staff, &audit, activity_id, member_id))
            .await?;
    let signup = Signup::of(proxied.signup, Some(proxied.member_name));
    Ok(HttpResponse::Ok().json(signup))
}

/// List sign-ups
///
/// Everyone signed up for the activity, confirmed first and then the waiting list in the order they
/// joined, with who signed them up (themselves or a grid worker on their behalf).
#[utoipa::path(
    tag = "activities",
    params(("activity_id" = i64, Path, description = "Activity id")),
    security(("staff" = [])),
    responses(
        (status = 200, description = "Sign-ups: confirmed, then cancelled, then waitlisted, each in order of joining", body = Vec<Signup>),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: outside your scope"),
        (status = 404, description = "`not_found`: no such activity"),
    )
)]
#[get("/activities/{activity_id}/signups")]
pub async fn list_signups(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
) -> ServiceResult<HttpResponse> {
    let activity_id = path.into_inner();
    let store = state.store.clone();
    let signups = blocking(move || signups::list_signups(&store, &staff, activity_id)).await?;
    let body: Vec<Signup> = signups
        .into_iter()
        .map(|(row, name)| Signup::of(row, Some(name)))
        .collect();
    Ok(HttpResponse::Ok().json(body))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NearQuery {
    /// With `longitude`: sort by distance from here and report `distance_m`.
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// With a location: only activities within this many metres (default: no limit).
    pub within_m: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MemberActivity {
    #[serde(flatten)]
    pub activity: Activity,
    /// `confirmed`, `waitlisted`, `cancelled`, or null when not signed up.
    pub my_signup: Option<String>,
    /// Metres from the given location, when both are known.
    pub distance_m: Option<i64>,
}

/// Activities I can join
///
/// Published activities of my bank that have not ended (at most 200): soonest first, or
/// nearest first when a location is given.
#[utoipa::path(
    tag = "me",
    params(NearQuery),
    security(("member" = [])),
    responses(
        (status = 200, description = "Activities", body = Vec<MemberActivity>),
        (status = 401, description = "`unauthorized`: missing or invalid member token"),
        (status = 422, description = "`validation_failed`: latitude without longitude"),
    )
)]
#[get("/me/activities")]
pub async fn my_activities(
    state: web::Data<AppState>,
    member: MemberAuth,
    query: web::Query<NearQuery>,
) -> ServiceResult<HttpResponse> {
    let here = match (query.latitude, query.longitude) {
        (Some(lat), Some(lon)) if lat.is_finite() && lon.is_finite() => {
            Some(((lat * 1e6).round() as i64, (lon * 1e6).round() as i64))
        }
        (None, None) => None,
        _ => {
            return Err(ServiceError::validation(
                "latitude",
                "give both latitude and longitude",
            ))
        }
    };
    let nearness = Nearness {
        here,
        within_m: query.within_m,
    };
    let store = state.store.clone();
    let nearby = blocking(move || signups::my_activities(&store, member.0, nearness)).await?;
    let now = state.now();
    let items = nearby
        .into_iter()
        .map(|item| {
            Ok(MemberActivity {
                activity: Activity::of(item.activity, now)?,
                my_signup: item.my_signup,
                distance_m: item.distance_m,
            })
        })
        .collect::<ServiceResult<Vec<_>>>()?;
    Ok(HttpResponse::Ok().json(items))
}
