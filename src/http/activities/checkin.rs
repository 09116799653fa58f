//! Checking in and out: members' scans of the QR codes and organisers' scans of member cards.

use actix_web::{post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::activities::attendance::AttendanceRow;
use crate::db::activities::ActivityRow;
use crate::domain::activities::activity::Purpose;
use crate::domain::activities::checkin_token::CheckinSigner;
use crate::domain::ledger::money::Amount;
use crate::domain::members::card::PresentedCard;
use crate::error::{ServiceError, ServiceResult};
use crate::http::access::{MemberAuth, Staff};
use crate::http::closed_sets;
use crate::http::extract::ApiJson;
use crate::http::types::timestamp;
use crate::http::{blocking, AppState};
use crate::service::activities::checkin::{self, MemberScan, Recorded};

pub(super) fn signer(state: &AppState) -> CheckinSigner {
    CheckinSigner::new(state.settings.card_secret.as_bytes())
        .accepting_links_to(&state.settings.qr_base_url)
}

pub(super) fn parse_purpose(text: Option<&str>) -> ServiceResult<Purpose> {
    Purpose::parse(text.unwrap_or("check_in"))
        .ok_or_else(|| ServiceError::validation("purpose", "must be check_in or check_out"))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "activity_id": 12, "member_id": 42, "member_name": "王秀英",
    "checkin_at": "2026-11-28T00:01:10.000000Z", "checkin_method": "dynamic_qr",
    "checkout_at": null, "checkout_method": null, "recorded_by": "member:42",
    "corrected_by": null, "correction_reason": null, "checkout_missing": false,
    "settled_at": null, "entry_id": null, "points": null, "hours": null,
    "expected_points": "10.00", "expected_hours": "0.00"
}))]
pub struct Attendance {
    pub activity_id: i64,
    pub member_id: i64,
    pub member_name: Option<String>,
    pub checkin_at: String,
    /// `dynamic_qr`, `poster`, `card_scan` or `appeal`.
    pub checkin_method: String,
    pub checkout_at: Option<String>,
    /// `dynamic_qr`, `poster`, `card_scan`, `appeal` or `correction`.
    pub checkout_method: Option<String>,
    /// Who recorded the check-in: `member:42` (own scan) or `staff:7` (card scan, appeal).
    pub recorded_by: String,
    pub corrected_by: Option<String>,
    pub correction_reason: Option<String>,
    /// Settled without a check-out (shown to the organiser so it can be followed up).
    pub checkout_missing: bool,
    pub settled_at: Option<String>,
    /// The award entry of the settlement (null when it paid nothing).
    pub entry_id: Option<i64>,
    /// Paid at settlement.
    pub points: Option<Amount>,
    pub hours: Option<Amount>,
    /// What settlement would pay now (before settlement; equal to the paid amounts after).
    pub expected_points: Amount,
    pub expected_hours: Amount,
}

impl Attendance {
    pub(super) fn of(
        row: AttendanceRow,
        activity: &ActivityRow,
        member_name: Option<String>,
    ) -> ServiceResult<Attendance> {
        let payout = activity.terms()?.payout(row.checkin_at, row.checkout_at);
        Ok(Attendance {
            activity_id: row.activity_id,
            member_id: row.member_id,
            member_name,
            checkin_at: timestamp(row.checkin_at),
            checkin_method: row.checkin_method,
            checkout_at: row.checkout_at.map(timestamp),
            checkout_method: row.checkout_method,
            recorded_by: row.recorded_by,
            corrected_by: row.corrected_by,
            correction_reason: row.correction_reason,
            checkout_missing: row.checkout_missing,
            settled_at: row.settled_at.map(timestamp),
            entry_id: row.settled_entry_id,
            points: row.points.map(Amount::from_minor),
            hours: row.hours.map(Amount::from_minor),
            expected_points: Amount::from_minor(row.points.unwrap_or(payout.points)),
            expected_hours: Amount::from_minor(row.hours.unwrap_or(payout.hours)),
        })
    }
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"token": "https://jfyh.example.cn/q/AAzAxMTQ4NDEw3oPhTm5W1qxQ", "latitude": 30.2741, "longitude": 120.1551}))]
pub struct CheckinBody {
    /// The scanned URL, or just the token after `/q/`.
    pub token: String,
    /// The activity whose page the volunteer scanned from, if any: a code of another activity
    /// is then refused (`token_invalid`) instead of checking in there.
    pub activity_id: Option<i64>,
    /// From `wx.getLocation`; required when the activity has a geofence.
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

const SCAN_REFUSALS: &str = "`already_checked_in`: you checked in before; `already_checked_out`: you checked out before; `not_checked_in`: a check-out code scanned before checking in; `activity_not_open`: not published, cancelled, settled, or outside the activity window and its grace period; `not_signed_up`: the activity takes signed-up volunteers only";

/// Check in or out with a scanned QR code
///
/// The mini-program sends what it scanned. The code says whether it checks in or out. Every
/// refused scan is logged with its reason (and location, if given), shown to the organiser, and
/// can be appealed from `GET /me/refused-scans`.
#[utoipa::path(
    tag = "checkin",
    request_body = CheckinBody,
    security(("member" = [])),
    responses(
        (status = 201, description = "Checked in or out", body = Attendance),
        (status = 401, description = "`unauthorized`: missing or invalid member token"),
        (status = 403, description = "`member_inactive`: your membership is suspended"),
        (status = 409, description = SCAN_REFUSALS),
        (status = 422, description = "`token_invalid`: not one of our codes, or altered; `token_expired`: an old screen code (scan the screen again); `poster_replaced`: an old poster; `location_required`: allow location access; `outside_geofence`: too far from the activity"),
    )
)]
#[post("/checkins")]
pub async fn check_in(
    state: web::Data<AppState>,
    member: MemberAuth,
    body: ApiJson<CheckinBody>,
) -> ServiceResult<HttpResponse> {
    let member_id = member.0;
    let location = match (body.0.latitude, body.0.longitude) {
        (Some(lat), Some(lon))
            if lat.is_finite() && lon.is_finite() && lat.abs() <= 90.0 && lon.abs() <= 180.0 =>
        {
            Some(((lat * 1e6).round() as i64, (lon * 1e6).round() as i64))
        }
        (None, None) => None,
        _ => {
            return Err(ServiceError::validation(
                "latitude",
                "give both latitude and longitude, within ±90/±180",
            ))
        }
    };
    let scan = MemberScan {
        token: body.0.token,
        expected_activity: body.0.activity_id,
        location,
    };
    let signer = signer(&state);
    let store = state.store.clone();
    let recorded =
        blocking(move || checkin::member_scan(&store, &signer, member_id, &scan)).await?;
    Ok(HttpResponse::Created().json(attendance_of(recorded)?))
}

fn attendance_of(recorded: Recorded) -> ServiceResult<Attendance> {
    Attendance::of(
        recorded.attendance,
        &recorded.activity,
        recorded.member_name,
    )
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"card": "8866 0000 0000 0427", "purpose": "check_in"}))]
pub struct CardScanBody {
    /// The scanned card QR content, or the typed 16-digit card number.
    #[schema(
        pattern = r"^(c\.[0-9]{1,19}\.[0-9]{1,19}\.[A-Za-z0-9_-]{16}|[0-9]{4}([ -]?[0-9]{4}){3})$"
    )]
    pub card: String,
    /// `check_in` (default) or `check_out`.
    #[schema(value_type = Option<closed_sets::Purpose>)]
    pub purpose: Option<String>,
}

/// Check a member in or out by their card
///
/// For volunteers without a smartphone: the organiser scans the member's 积分银行卡 QR code (or
/// types its number). The same window, once-only and sign-up rules apply as for a member's scan;
/// there is no geofence (the organiser is there).
#[utoipa::path(
    tag = "checkin",
    request_body = CardScanBody,
    params(("activity_id" = i64, Path, description = "Activity id")),
    security(("staff" = [])),
    responses(
        (status = 201, description = "Checked in or out", body = Attendance),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: outside the units you organise; `member_inactive`: the member is suspended"),
        (status = 404, description = "`not_found`: no such activity, or the member is not in its bank"),
        (status = 409, description = SCAN_REFUSALS),
        (status = 410, description = "`card_revoked`: an old card that was replaced"),
        (status = 422, description = "`card_invalid`: not one of our cards or a mistyped number; `validation_failed`: bad purpose"),
    )
)]
#[post("/activities/{activity_id}/card-scans")]
pub async fn card_scan(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
    body: ApiJson<CardScanBody>,
) -> ServiceResult<HttpResponse> {
    let activity_id = path.into_inner();
    let purpose = parse_purpose(body.0.purpose.as_deref())?;
    let card = PresentedCard::read(state.settings.card_secret.as_bytes(), &body.0.card)?;
    let store = state.store.clone();
    let recorded =
        blocking(move || checkin::card_scan(&store, &staff, activity_id, &card, purpose)).await?;
    Ok(HttpResponse::Created().json(attendance_of(recorded)?))
}
