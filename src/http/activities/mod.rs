//! Volunteer activities (志愿活动): creation, lifecycle, and sign-up with a waiting list.

pub mod appeals;
pub mod attendance;
pub mod body;
pub mod checkin;
pub mod member_activity;
pub mod qr;
pub mod settlement;
pub mod signups;

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::activities::{ActivityFilter, ActivityRow};
use crate::domain::ledger::money::Amount;
use crate::error::ServiceResult;
use crate::http::access::Staff;
use crate::http::closed_sets;
use crate::http::extract::ApiJson;
use crate::http::paging::{next_cursor, page_limit, parse_cursor};
use crate::http::types::timestamp;
use crate::http::{blocking, AppState};
pub use crate::service::activities::activity_in_scope;
use crate::service::activities::lifecycle;
pub use body::{ActivityBody, AwardRule, Location};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AwardRuleView {
    #[schema(value_type = closed_sets::AwardMode)]
    pub mode: String,
    pub points: Amount,
    pub hours_unit_minutes: i64,
    #[schema(value_type = closed_sets::HoursRounding)]
    pub hours_rounding: String,
    pub max_hours: Amount,
    pub min_presence_percent: i64,
    #[schema(value_type = closed_sets::MissingCheckout)]
    pub missing_checkout: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Activity {
    pub id: i64,
    pub bank_id: i64,
    pub org_id: i64,
    pub rule_id: Option<i64>,
    pub title: String,
    pub description: String,
    pub category: String,
    pub address: String,
    pub location: Option<Location>,
    pub starts_at: String,
    pub ends_at: String,
    pub signup_opens_at: Option<String>,
    pub signup_closes_at: Option<String>,
    pub capacity: Option<i64>,
    pub signup_required: bool,
    pub award: AwardRuleView,
    pub grace_minutes: i64,
    pub qr_step_seconds: i64,
    /// `draft`, `published` (not started), `ongoing`, `finished` (ended, not yet settled),
    /// `settled` or `cancelled`.
    #[schema(value_type = closed_sets::ActivityStatus)]
    pub status: String,
    pub created_by: String,
    pub created_at: String,
    pub settled_at: Option<String>,
}

impl Activity {
    pub fn of(row: ActivityRow, now: i64) -> ServiceResult<Activity> {
        let status = row.status_at(now)?.as_str().to_string();
        let location = row.geofence().map(|g| Location {
            latitude: g.latitude_e6 as f64 / 1e6,
            longitude: g.longitude_e6 as f64 / 1e6,
            radius_m: g.radius_m,
        });
        Ok(Activity {
            id: row.id,
            bank_id: row.bank_id,
            org_id: row.org_id,
            rule_id: row.rule_id,
            title: row.title,
            description: row.description,
            category: row.category,
            address: row.address,
            location,
            starts_at: timestamp(row.starts_at),
            ends_at: timestamp(row.ends_at),
            signup_opens_at: row.signup_opens_at.map(timestamp),
            signup_closes_at: row.signup_closes_at.map(timestamp),
            capacity: row.capacity,
            signup_required: row.signup_required,
            award: AwardRuleView {
                mode: row.award_mode,
                points: Amount::from_minor(row.points),
                hours_unit_minutes: row.hours_unit_minutes,
                hours_rounding: row.hours_rounding,
                max_hours: Amount::from_minor(row.max_hours),
                min_presence_percent: row.min_presence_percent,
                missing_checkout: row.missing_checkout,
            },
            grace_minutes: row.grace_minutes,
            qr_step_seconds: row.qr_step_seconds,
            status,
            created_by: row.created_by,
            created_at: timestamp(row.created_at),
            settled_at: row.settled_at.map(timestamp),
        })
    }
}

/// Create an activity
///
/// Creates a draft in a unit you organise. Publish it to open sign-up and check-in.
#[utoipa::path(
    tag = "activities",
    request_body = ActivityBody,
    security(("staff" = [])),
    responses(
        (status = 201, description = "The draft activity", body = Activity),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: the unit is outside the units you organise"),
        (status = 404, description = "`not_found`: no such unit"),
        (status = 422, description = "`validation_failed`: a field is malformed (times, location, award rule, unknown rule_id, no bank covers the unit)"),
    )
)]
#[post("/activities")]
pub async fn create_activity(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    body: ApiJson<ActivityBody>,
) -> ServiceResult<HttpResponse> {
    let new = body.0.checked(&state.settings)?;
    let audit = staff.audit(&req);
    let store = state.store.clone();
    let row = blocking(move || lifecycle::create_activity(&store, &staff, &audit, &new)).await?;
    let activity = Activity::of(row, state.now())?;
    Ok(HttpResponse::Created().json(activity))
}

/// Get an activity
///
/// One activity with its schedule, place, award rule, capacity and live counts. Needs a role that
/// runs or reads activities in the activity's unit; members see activities through `/me/activities`.
#[utoipa::path(
    tag = "activities",
    params(("activity_id" = i64, Path, description = "Activity id")),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The activity", body = Activity),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: outside your scope"),
        (status = 404, description = "`not_found`: no such activity"),
    )
)]
#[get("/activities/{activity_id}")]
pub async fn get_activity(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
) -> ServiceResult<HttpResponse> {
    let activity_id = path.into_inner();
    let store = state.store.clone();
    let row = blocking(move || lifecycle::get_activity(&store, &staff, activity_id)).await?;
    let activity = Activity::of(row, state.now())?;
    Ok(HttpResponse::Ok().json(activity))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActivityListQuery {
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[1-9][0-9]{0,18}$")]
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ActivityPage {
    /// By id (creation order).
    pub items: Vec<Activity>,
    pub next_cursor: Option<String>,
}

/// List a bank's activities
///
/// Activities of the bank's units, newest first, paginated with `cursor`/`limit`; filter by status.
/// Drafts are included for staff who run activities.
#[utoipa::path(
    tag = "activities",
    params(("bank_id" = i64, Path, description = "Bank id"), ActivityListQuery),
    security(("staff" = [])),
    responses(
        (status = 200, description = "One page of activities", body = ActivityPage),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: the bank is outside your scope"),
        (status = 422, description = "`validation_failed`: bad cursor or limit"),
    )
)]
#[get("/banks/{bank_id}/activities")]
pub async fn list_activities(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
    query: web::Query<ActivityListQuery>,
) -> ServiceResult<HttpResponse> {
    let bank_id = path.into_inner();
    let filter = ActivityFilter {
        bank_id,
        statuses: vec![],
        ending_after: None,
        limit: page_limit(query.limit)?,
        after_id: parse_cursor(query.cursor.as_deref())?,
    };
    let limit = filter.limit;
    let store = state.store.clone();
    let rows = blocking(move || lifecycle::list_activities(&store, &staff, &filter)).await?;
    let next_cursor = next_cursor(&rows, limit, |row| row.id);
    let now = state.now();
    let items = rows
        .into_iter()
        .map(|row| Activity::of(row, now))
        .collect::<ServiceResult<_>>()?;
    let page = ActivityPage { items, next_cursor };
    Ok(HttpResponse::Ok().json(page))
}

/// Publish an activity
///
/// Opens sign-up and, during the activity window, check-in. Only drafts can be published.
#[utoipa::path(
    tag = "activities",
    params(("activity_id" = i64, Path, description = "Activity id")),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The published activity", body = Activity),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: outside the units you organise"),
        (status = 404, description = "`not_found`: no such activity"),
        (status = 409, description = "`invalid_transition`: it is not a draft"),
    )
)]
#[post("/activities/{activity_id}/publish")]
pub async fn publish_activity(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
) -> ServiceResult<HttpResponse> {
    let (store, audit) = (state.store.clone(), staff.audit(&req));
    let activity_id = path.into_inner();
    let row =
        blocking(move || lifecycle::publish_activity(&store, &staff, &audit, activity_id)).await?;
    Ok(HttpResponse::Ok().json(Activity::of(row, state.now())?))
}

/// Cancel an activity
///
/// Cancels a draft or a published activity that has not ended. Nobody is paid; scans are refused.
#[utoipa::path(
    tag = "activities",
    params(("activity_id" = i64, Path, description = "Activity id")),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The cancelled activity", body = Activity),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: outside the units you organise"),
        (status = 404, description = "`not_found`: no such activity"),
        (status = 409, description = "`invalid_transition`: already ended, settled or cancelled"),
    )
)]
#[post("/activities/{activity_id}/cancel")]
pub async fn cancel_activity(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
) -> ServiceResult<HttpResponse> {
    let (store, audit) = (state.store.clone(), staff.audit(&req));
    let activity_id = path.into_inner();
    let row =
        blocking(move || lifecycle::cancel_activity(&store, &staff, &audit, activity_id)).await?;
    Ok(HttpResponse::Ok().json(Activity::of(row, state.now())?))
}
