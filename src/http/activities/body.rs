//! The body of a new activity, as an organiser's form or app sends it, and its reading into a
//! checked `NewActivity` (`domain::activities::activity_plan` decides what is valid).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::activities::NewActivity;
use crate::domain::activities::activity_plan::{plan, ActivityRequest, AwardRequest};
use crate::domain::ledger::money::Amount;
use crate::error::{ServiceError, ServiceResult};
use crate::http::closed_sets;
use crate::http::types::{optional_text, parse_timestamp, required_text};

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
    pub fn checked(&self, settings: &crate::config::Settings) -> ServiceResult<NewActivity> {
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
