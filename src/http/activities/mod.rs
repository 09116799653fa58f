//! Volunteer activities (志愿活动): creation, lifecycle, and sign-up with a waiting list.

pub mod appeals;
pub mod attendance;
pub mod checkin;
pub mod member_activity;
pub mod qr;
pub mod settlement;
pub mod signups;

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::activities::{ActivityFilter, ActivityRow, NewActivity};
use crate::domain::activities::activity_plan::{plan, ActivityRequest, AwardRequest};
use crate::domain::ledger::money::Amount;
use crate::error::{ServiceError, ServiceResult};
use crate::http::access::Staff;
use crate::http::closed_sets;
use crate::http::extract::ApiJson;
use crate::http::paging::{next_cursor, page_limit, parse_cursor};
use crate::http::types::{optional_text, parse_timestamp, required_text, timestamp};
use crate::http::{blocking, AppState};
pub use crate::service::activities::activity_in_scope;
use crate::service::activities::lifecycle;

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Location {
    /// WGS-84 / GCJ-02 latitude in degrees (use the same datum as the mini-program's `wx.getLocation`).
    pub latitude: f64,
    pub longitude: f64,
    /// Scans must come from within this many metres (10–50000). Omit `location` for no geofence.
    #[schema(minimum = 10, maximum = 50000)]
    pub radius_m: i64,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AwardRule {
    /// `fixed`: `points` for attending; `per_hour`: `points` per credited hour.
    #[schema(value_type = closed_sets::AwardMode)]
    pub mode: String,
    /// Fixed points, or points per hour. May be 0 for an hours-only activity.
    pub points: Amount,
    /// Hours are credited in steps of this many minutes (default 30).
    #[schema(minimum = 1, maximum = 240)]
    pub hours_unit_minutes: Option<i64>,
    /// `down` (default), `nearest` or `up`, to the step.
    #[schema(value_type = Option<closed_sets::HoursRounding>)]
    pub hours_rounding: Option<String>,
    /// Most hours credited (default: the activity's duration).
    pub max_hours: Option<Amount>,
    /// Presence below this share of the activity's duration earns nothing (default 60).
    #[schema(minimum = 0, maximum = 100)]
    pub min_presence_percent: Option<i64>,
    /// A check-in without check-out: `no_hours` (default; fixed points only, no hours) or
    /// `until_end` (counted as present until the end). Either way it is flagged `checkout_missing`.
    #[schema(value_type = Option<closed_sets::MissingCheckout>)]
    pub missing_checkout: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "org_id": 3, "rule_id": 5, "title": "周末防溺水巡河", "description": "沿青山河巡查，劝导野泳。",
    "category": "防溺水", "address": "青山村河堤北段",
    "location": {"latitude": 30.2741, "longitude": 120.1551, "radius_m": 300},
    "starts_at": "2026-11-28T08:00:00+08:00", "ends_at": "2026-11-28T10:00:00+08:00",
    "signup_closes_at": "2026-11-27T20:00:00+08:00", "capacity": 20, "signup_required": false,
    "award": {"mode": "per_hour", "points": "5", "hours_unit_minutes": 30, "hours_rounding": "down",
              "max_hours": "2", "min_presence_percent": 60, "missing_checkout": "no_hours"},
    "grace_minutes": 30, "qr_step_seconds": 20
}))]
pub struct ActivityBody {
    /// The unit running it (a village or grid); its bank pays the points.
    pub org_id: i64,
    /// The points rule the awards are booked under (for reports by category); optional.
    pub rule_id: Option<i64>,
    /// 1–100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub title: String,
    /// Up to 2000 characters.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub description: String,
    /// Free text, e.g. 疫情防控, 防溺水, 反诈宣传, 环境整治; up to 40 characters.
    #[schema(min_length = 1, max_length = 40)]
    pub category: String,
    /// Up to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub address: String,
    /// Where it happens; with it, scans of the activity QR must come from within `radius_m`.
    pub location: Option<Location>,
    /// RFC 3339.
    pub starts_at: String,
    /// After `starts_at`, at most 7 days later.
    pub ends_at: String,
    pub signup_opens_at: Option<String>,
    /// Default: sign-up stays open until the start.
    pub signup_closes_at: Option<String>,
    /// Confirmed places; later sign-ups join the waiting list. Omit for no limit.
    #[schema(minimum = 1, maximum = 100000)]
    pub capacity: Option<i64>,
    /// Only members with a confirmed place may check in (default false: walk-ins welcome).
    #[serde(default)]
    pub signup_required: bool,
    pub award: AwardRule,
    /// Scans are accepted this long before the start and after the end (default from settings, 30).
    #[schema(minimum = 0, maximum = 1440)]
    pub grace_minutes: Option<i64>,
    /// How often the screen QR changes, 5–300 seconds (default from settings, 20).
    #[schema(minimum = 5, maximum = 300)]
    pub qr_step_seconds: Option<i64>,
}

fn optional_time(field: &str, text: Option<&str>) -> ServiceResult<Option<i64>> {
    text.map(|t| parse_timestamp(field, t)).transpose()
}

impl ActivityBody {
    /// Reads the request's texts and times; `domain::activities::activity_plan` checks the rest.
    fn checked(&self, settings: &crate::config::Settings) -> ServiceResult<NewActivity> {
        let title = required_text("title", &self.title, 100)?;
        let description =
            optional_text("description", Some(&self.description), 2000)?.unwrap_or_default();
        let category = required_text("category", &self.category, 40)?;
        let address = required_text("address", &self.address, 200)?;
        let award = &self.award;
        let request = ActivityRequest {
            starts_at: parse_timestamp("starts_at", &self.starts_at)?,
            ends_at: parse_timestamp("ends_at", &self.ends_at)?,
            signup_opens_at: optional_time("signup_opens_at", self.signup_opens_at.as_deref())?,
            signup_closes_at: optional_time("signup_closes_at", self.signup_closes_at.as_deref())?,
            capacity: self.capacity,
            location: self.location.map(|l| (l.latitude, l.longitude, l.radius_m)),
            award: AwardRequest {
                mode: award.mode.clone(),
                points: award.points.minor(),
                hours_unit_minutes: award.hours_unit_minutes,
                hours_rounding: award.hours_rounding.clone(),
                max_hours: award.max_hours.map(Amount::minor),
                min_presence_percent: award.min_presence_percent,
                missing_checkout: award.missing_checkout.clone(),
            },
            grace_minutes: self.grace_minutes.unwrap_or(settings.scan_grace_minutes),
            qr_step_seconds: self.qr_step_seconds.unwrap_or(settings.qr_step_seconds),
        };
        let plan = plan(&request).map_err(|e| ServiceError::validation(e.field, e.message))?;
        Ok(NewActivity {
            org_id: self.org_id,
            rule_id: self.rule_id,
            title,
            description,
            category,
            address,
            geofence: plan.geofence,
            starts_at: plan.starts_at,
            ends_at: plan.ends_at,
            signup_opens_at: plan.signup_opens_at,
            signup_closes_at: plan.signup_closes_at,
            capacity: plan.capacity,
            signup_required: self.signup_required,
            terms: plan.terms,
            grace_minutes: plan.grace_minutes,
            qr_step_seconds: plan.qr_step_seconds,
        })
    }
}

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
