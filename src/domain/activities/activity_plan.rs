//! The rules an activity's plan must keep before it is created: a window of at most a week,
//! sign-up closing after it opens, a geofence on the globe, payouts within bounds, and the
//! defaults for whatever the organiser left out.

use crate::domain::activities::activity::{
    AwardMode, AwardTerms, Geofence, HoursRounding, MissingCheckout,
};
use crate::domain::ledger::money::MINOR_PER_UNIT;

const MICROS_PER_HOUR: i64 = 3_600_000_000;
pub const MAX_DURATION_HOURS: i64 = 24 * 7;
/// The most points an activity pays (fixed, or per hour).
pub const MAX_POINTS: i64 = 10_000 * MINOR_PER_UNIT;

/// An activity as asked for, its times already read (µs since the epoch); enumerations as sent.
#[derive(Debug, Clone)]
pub struct ActivityRequest {
    pub starts_at: i64,
    pub ends_at: i64,
    pub signup_opens_at: Option<i64>,
    pub signup_closes_at: Option<i64>,
    pub capacity: Option<i64>,
    /// Latitude and longitude in degrees, radius in metres.
    pub location: Option<(f64, f64, i64)>,
    pub award: AwardRequest,
    pub grace_minutes: i64,
    pub qr_step_seconds: i64,
}

#[derive(Debug, Clone)]
pub struct AwardRequest {
    pub mode: String,
    /// Minor units.
    pub points: i64,
    pub hours_unit_minutes: Option<i64>,
    pub hours_rounding: Option<String>,
    /// Minor units of HOURS.
    pub max_hours: Option<i64>,
    pub min_presence_percent: Option<i64>,
    pub missing_checkout: Option<String>,
}

/// The checked plan, with every default filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityPlan {
    pub starts_at: i64,
    pub ends_at: i64,
    pub signup_opens_at: Option<i64>,
    pub signup_closes_at: Option<i64>,
    pub capacity: Option<i64>,
    pub geofence: Option<Geofence>,
    pub terms: AwardTerms,
    pub grace_minutes: i64,
    pub qr_step_seconds: i64,
}

/// Which field of the request is wrong, and why (the API's `validation_failed`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

fn invalid(field: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        field,
        message: message.into(),
    }
}

fn in_range(field: &'static str, value: i64, min: i64, max: i64) -> Result<i64, FieldError> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(invalid(field, format!("must be between {min} and {max}")))
    }
}

fn one_of<T>(
    field: &'static str,
    text: Option<&str>,
    default: T,
    parse: fn(&str) -> Option<T>,
    allowed: &str,
) -> Result<T, FieldError> {
    match text {
        None => Ok(default),
        Some(text) => parse(text).ok_or_else(|| invalid(field, format!("must be {allowed}"))),
    }
}

/// Checks the request field by field, in the order the API documents them.
pub fn plan(request: &ActivityRequest) -> Result<ActivityPlan, FieldError> {
    let (starts_at, ends_at) = (request.starts_at, request.ends_at);
    if ends_at <= starts_at || ends_at - starts_at > MAX_DURATION_HOURS * MICROS_PER_HOUR {
        return Err(invalid(
            "ends_at",
            "must be after starts_at, at most 7 days later",
        ));
    }
    if let (Some(opens), Some(closes)) = (request.signup_opens_at, request.signup_closes_at) {
        if closes <= opens {
            return Err(invalid("signup_closes_at", "must be after signup_opens_at"));
        }
    }
    let capacity = request
        .capacity
        .map(|c| in_range("capacity", c, 1, 100_000))
        .transpose()?;
    let geofence = request
        .location
        .map(|(latitude, longitude, radius_m)| {
            let on_the_globe = latitude.is_finite()
                && longitude.is_finite()
                && latitude.abs() <= 90.0
                && longitude.abs() <= 180.0;
            if !on_the_globe {
                return Err(invalid(
                    "location",
                    "latitude must be within ±90, longitude within ±180",
                ));
            }
            Ok(Geofence {
                latitude_e6: (latitude * 1e6).round() as i64,
                longitude_e6: (longitude * 1e6).round() as i64,
                radius_m: in_range("location.radius_m", radius_m, 10, 50_000)?,
            })
        })
        .transpose()?;
    let terms = award_terms(&request.award, starts_at, ends_at)?;
    Ok(ActivityPlan {
        starts_at,
        ends_at,
        signup_opens_at: request.signup_opens_at,
        // Sign-up stays open until the start unless the organiser says otherwise.
        signup_closes_at: request.signup_closes_at.or(Some(starts_at)),
        capacity,
        geofence,
        terms,
        grace_minutes: in_range("grace_minutes", request.grace_minutes, 0, 1440)?,
        qr_step_seconds: in_range("qr_step_seconds", request.qr_step_seconds, 5, 300)?,
    })
}

fn award_terms(
    award: &AwardRequest,
    starts_at: i64,
    ends_at: i64,
) -> Result<AwardTerms, FieldError> {
    let mode = one_of(
        "award.mode",
        Some(&award.mode),
        AwardMode::Fixed,
        AwardMode::parse,
        "fixed or per_hour",
    )?;
    if !(0..=MAX_POINTS).contains(&award.points) {
        return Err(invalid("award.points", "must be between 0 and 10000"));
    }
    let max_hours = match award.max_hours {
        Some(hours) if hours <= 0 => return Err(invalid("award.max_hours", "must be positive")),
        Some(hours) => hours,
        // The whole activity, in minor units of HOURS.
        None => (ends_at - starts_at) * MINOR_PER_UNIT / MICROS_PER_HOUR,
    };
    Ok(AwardTerms {
        starts_at,
        ends_at,
        mode,
        points: award.points,
        hours_unit_minutes: in_range(
            "award.hours_unit_minutes",
            award.hours_unit_minutes.unwrap_or(30),
            1,
            240,
        )?,
        rounding: one_of(
            "award.hours_rounding",
            award.hours_rounding.as_deref(),
            HoursRounding::Down,
            HoursRounding::parse,
            "down, nearest or up",
        )?,
        max_hours,
        min_presence_percent: in_range(
            "award.min_presence_percent",
            award.min_presence_percent.unwrap_or(60),
            0,
            100,
        )?,
        missing_checkout: one_of(
            "award.missing_checkout",
            award.missing_checkout.as_deref(),
            MissingCheckout::NoHours,
            MissingCheckout::parse,
            "no_hours or until_end",
        )?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = MICROS_PER_HOUR;

    fn request() -> ActivityRequest {
        ActivityRequest {
            starts_at: 100 * HOUR,
            ends_at: 102 * HOUR,
            signup_opens_at: None,
            signup_closes_at: None,
            capacity: None,
            location: None,
            award: AwardRequest {
                mode: "per_hour".into(),
                points: 5 * MINOR_PER_UNIT,
                hours_unit_minutes: None,
                hours_rounding: None,
                max_hours: None,
                min_presence_percent: None,
                missing_checkout: None,
            },
            grace_minutes: 30,
            qr_step_seconds: 20,
        }
    }

    fn refusal(request: ActivityRequest) -> &'static str {
        plan(&request).unwrap_err().field
    }

    #[test]
    fn what_the_organiser_leaves_out_takes_the_defaults() {
        let plan = plan(&request()).unwrap();
        assert_eq!(
            plan.signup_closes_at,
            Some(100 * HOUR),
            "sign-up closes at the start"
        );
        assert_eq!(
            plan.terms.max_hours,
            2 * MINOR_PER_UNIT,
            "at most the activity's length"
        );
        assert_eq!(
            (
                plan.terms.hours_unit_minutes,
                plan.terms.min_presence_percent
            ),
            (30, 60)
        );
        assert_eq!(plan.terms.rounding, HoursRounding::Down);
        assert_eq!(plan.terms.missing_checkout, MissingCheckout::NoHours);
    }

    #[test]
    fn an_activity_ends_after_it_starts_and_lasts_at_most_a_week() {
        let mut backwards = request();
        backwards.ends_at = backwards.starts_at;
        assert_eq!(refusal(backwards), "ends_at");
        let mut too_long = request();
        too_long.ends_at = too_long.starts_at + (MAX_DURATION_HOURS + 1) * HOUR;
        assert_eq!(refusal(too_long), "ends_at");
    }

    #[test]
    fn each_bound_names_its_field() {
        let mut r = request();
        r.signup_opens_at = Some(50 * HOUR);
        r.signup_closes_at = Some(40 * HOUR);
        assert_eq!(refusal(r), "signup_closes_at");
        let mut r = request();
        r.location = Some((91.0, 120.0, 100));
        assert_eq!(refusal(r), "location");
        let mut r = request();
        r.location = Some((30.0, 120.0, 5));
        assert_eq!(refusal(r), "location.radius_m");
        let mut r = request();
        r.award.mode = "per_day".into();
        assert_eq!(refusal(r), "award.mode");
        let mut r = request();
        r.award.points = MAX_POINTS + 1;
        assert_eq!(refusal(r), "award.points");
        let mut r = request();
        r.award.max_hours = Some(0);
        assert_eq!(refusal(r), "award.max_hours");
        let mut r = request();
        r.qr_step_seconds = 4;
        assert_eq!(refusal(r), "qr_step_seconds");
    }

    #[test]
    fn a_geofence_is_kept_in_micro_degrees() {
        let mut r = request();
        r.location = Some((30.274_1, 120.155_1, 300));
        let fence = plan(&r).unwrap().geofence.unwrap();
        assert_eq!(
            (fence.latitude_e6, fence.longitude_e6, fence.radius_m),
            (30_274_100, 120_155_100, 300)
        );
    }
}
