//! QR check-in and check-out: the activity's QR codes, members' scans, staff scans of member
//! cards, the attendance list and its corrections, and settlement.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::access::{MemberAuth, Staff};
use super::activities::activity_in_scope;
use super::closed_sets;
use super::extract::ApiJson;
use super::types::{parse_timestamp, required_text, timestamp};
use super::{blocking, in_write_tx, with_db, AppState};
use crate::db::activities::ActivityRow;
use crate::db::attendance::AttendanceRow;
use crate::db::{self, audit};
use crate::domain::access::Action;
use crate::domain::activity::Purpose;
use crate::domain::card::PresentedCard;
use crate::domain::checkin_token::{time_step, CheckinSigner, CheckinToken, TokenKind};
use crate::domain::money::Amount;
use crate::error::{ServiceError, ServiceResult};
use crate::qr;
use crate::service::activities::checkin::{self, MemberScan, Recorded};
use crate::service::activities::settlement;

fn signer(state: &AppState) -> CheckinSigner {
    CheckinSigner::new(state.settings.card_secret.as_bytes())
        .accepting_links_to(&state.settings.qr_base_url)
}

fn parse_purpose(text: Option<&str>) -> ServiceResult<Purpose> {
    Purpose::parse(text.unwrap_or("check_in"))
        .ok_or_else(|| ServiceError::validation("purpose", "must be check_in or check_out"))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QrQuery {
    /// `dynamic` (default: for a screen, changes every `qr_step_seconds`) or `poster` (for print,
    /// valid for the whole activity window until posters are replaced).
    #[param(value_type = Option<closed_sets::QrKind>)]
    pub kind: Option<String>,
    /// `check_in` (default) or `check_out`.
    #[param(value_type = Option<closed_sets::Purpose>)]
    pub purpose: Option<String>,
    /// `png` (default) or `svg`. The payload alone is `GET /activities/{activity_id}/qr/payload`.
    #[param(value_type = Option<closed_sets::PictureFormat>)]
    pub format: Option<String>,
    /// Minimum edge in pixels, 64–2048 (default 512).
    #[param(minimum = 64, maximum = 2048)]
    pub size: Option<u32>,
    /// Error correction: `L`, `M` (default), `Q`, `H`.
    #[param(value_type = Option<closed_sets::QrEcLevel>)]
    pub ec: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QrPayloadQuery {
    /// `dynamic` (default: for a screen, changes every `qr_step_seconds`) or `poster` (for print,
    /// valid for the whole activity window until posters are replaced).
    #[param(value_type = Option<closed_sets::QrKind>)]
    pub kind: Option<String>,
    /// `check_in` (default) or `check_out`.
    #[param(value_type = Option<closed_sets::Purpose>)]
    pub purpose: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "kind": "dynamic", "purpose": "check_in", "url": "https://jfyh.example.cn/q/AAzAxMTQ4NDEw3oPhTm5W1qxQ",
    "token": "AAzAxMTQ4NDEw3oPhTm5W1qxQ", "valid_until": "2026-11-28T00:00:40.000000Z", "refresh_after_seconds": 20
}))]
pub struct QrPayload {
    #[schema(value_type = closed_sets::QrKind)]
    pub kind: String,
    #[schema(value_type = closed_sets::Purpose)]
    pub purpose: String,
    /// What the QR code encodes. Register its prefix in the mini-program's "scan a QR code to open"
    /// settings so that WeChat's own scanner opens the mini-program; the mini-program then sends
    /// the URL (or just the token) to `POST /checkins`.
    pub url: String,
    pub token: String,
    /// Dynamic codes: the last moment a scan of this code is accepted. Posters: null.
    pub valid_until: Option<String>,
    /// Dynamic codes: fetch a new code after this many seconds.
    pub refresh_after_seconds: Option<i64>,
}

fn qr_payload(
    state: &AppState,
    activity: &ActivityRow,
    kind: TokenKind,
    purpose: Purpose,
    now: i64,
) -> QrPayload {
    let (counter, valid_until, refresh) = match kind {
        TokenKind::Dynamic => {
            let step = time_step(now, activity.qr_step_seconds);
            // Accepted in its own step and the next one.
            let until = (step as i64 + 2) * activity.qr_step_seconds * 1_000_000 - 1;
            (step, Some(timestamp(until)), Some(activity.qr_step_seconds))
        }
        TokenKind::Poster => (activity.poster_version as u64, None, None),
    };
    let token = signer(state).sign(CheckinToken {
        kind,
        purpose,
        activity_id: activity.id,
        counter,
    });
    QrPayload {
        kind: match kind {
            TokenKind::Dynamic => "dynamic",
            TokenKind::Poster => "poster",
        }
        .into(),
        purpose: purpose.as_str().into(),
        url: format!("{}/q/{token}", state.settings.qr_base_url),
        token,
        valid_until,
        refresh_after_seconds: refresh,
    }
}

/// Get the activity's check-in QR code
///
/// For the organiser's screen (`kind=dynamic`: fetch a new one every `refresh_after_seconds` of
/// its payload; a photo of an old code is refused as `token_expired`) or a printed poster
/// (`kind=poster`). The code holds a short signed URL of under 80 characters, so it scans across a
/// room or from A4 paper. `GET /activities/{activity_id}/qr/payload` gives what it encodes.
#[utoipa::path(
    tag = "checkin",
    params(("activity_id" = i64, Path, description = "Activity id"), QrQuery),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The code as `image/png` (default) or `image/svg+xml` (`format=svg`)", content(
            (Vec<u8> = "image/png"),
            (String = "image/svg+xml"),
        )),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: outside the units you organise"),
        (status = 404, description = "`not_found`: no such activity"),
        (status = 422, description = "`validation_failed`: bad kind, purpose, format, size or ec"),
    )
)]
#[get("/activities/{activity_id}/qr")]
pub async fn activity_qr(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
    query: web::Query<QrQuery>,
) -> ServiceResult<HttpResponse> {
    let format = closed_sets::lookup(
        closed_sets::PICTURE_FORMATS,
        query.format.as_deref().unwrap_or("png"),
    )
    .ok_or_else(|| ServiceError::validation("format", "must be png or svg"))?;
    let level = qr::ec_level(query.ec.as_deref())?;
    let size = query.size.unwrap_or(512);
    let payload = current_qr_payload(
        &state,
        &staff,
        path.into_inner(),
        query.kind.as_deref(),
        query.purpose.as_deref(),
    )
    .await?;
    let bytes = qr::render(&payload.url, format, size, level)?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .content_type(format.media_type())
        .body(bytes))
}

/// What the activity's check-in QR code encodes
///
/// The payload of the code `GET /activities/{activity_id}/qr` draws, for a screen that draws the
/// code itself: the URL, the bare token and (dynamic codes) until when a scan is accepted and when
/// to fetch the next one.
#[utoipa::path(
    tag = "checkin",
    params(("activity_id" = i64, Path, description = "Activity id"), QrPayloadQuery),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The code's payload", body = QrPayload),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: outside the units you organise"),
        (status = 404, description = "`not_found`: no such activity"),
        (status = 422, description = "`validation_failed`: bad kind or purpose"),
    )
)]
#[get("/activities/{activity_id}/qr/payload")]
pub async fn activity_qr_payload(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
    query: web::Query<QrPayloadQuery>,
) -> ServiceResult<HttpResponse> {
    let payload = current_qr_payload(
        &state,
        &staff,
        path.into_inner(),
        query.kind.as_deref(),
        query.purpose.as_deref(),
    )
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(payload))
}

async fn current_qr_payload(
    state: &web::Data<AppState>,
    staff: &Staff,
    activity_id: i64,
    kind: Option<&str>,
    purpose: Option<&str>,
) -> ServiceResult<QrPayload> {
    let kind = closed_sets::lookup(closed_sets::QR_KINDS, kind.unwrap_or("dynamic"))
        .ok_or_else(|| ServiceError::validation("kind", "must be dynamic or poster"))?;
    let purpose = parse_purpose(purpose)?;
    let guard = staff.guard(Action::RunActivities);
    let activity = with_db(state, move |conn| {
        Ok(activity_in_scope(conn, &guard, activity_id)?.0)
    })
    .await?;
    Ok(qr_payload(state, &activity, kind, purpose, state.now()))
}

/// Print the activity's poster
///
/// One A4 page (SVG) with the title, time and place and the two poster QR codes (签到 and 签退),
/// for the village notice board. Times are in the banks' local time (`PB_UTC_OFFSET_HOURS`).
#[utoipa::path(
    tag = "checkin",
    params(("activity_id" = i64, Path, description = "Activity id")),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The poster", content((String = "image/svg+xml"))),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: outside the units you organise"),
        (status = 404, description = "`not_found`: no such activity"),
    )
)]
#[get("/activities/{activity_id}/poster.svg")]
pub async fn activity_poster(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
) -> ServiceResult<HttpResponse> {
    let activity_id = path.into_inner();
    let guard = staff.guard(Action::RunActivities);
    let activity = with_db(&state, move |conn| {
        Ok(activity_in_scope(conn, &guard, activity_id)?.0)
    })
    .await?;
    let now = state.now();
    let in_code = qr_payload(&state, &activity, TokenKind::Poster, Purpose::CheckIn, now);
    let out_code = qr_payload(&state, &activity, TokenKind::Poster, Purpose::CheckOut, now);
    let offset = state.settings.utc_offset_seconds();
    let local = |micros: i64, pattern: &str| {
        chrono::DateTime::from_timestamp_micros(micros)
            .unwrap_or_default()
            .with_timezone(
                &chrono::FixedOffset::east_opt(offset as i32)
                    .unwrap_or(chrono::FixedOffset::east_opt(0).expect("UTC")),
            )
            .format(pattern)
            .to_string()
    };
    let when = format!(
        "{}–{}",
        local(activity.starts_at, "%Y-%m-%d %H:%M"),
        local(activity.ends_at, "%m-%d %H:%M")
    );
    let svg = crate::sheet::render_poster(&crate::sheet::Poster {
        title: &activity.title,
        when: &when,
        address: &activity.address,
        check_in_url: &in_code.url,
        check_out_url: &out_code.url,
    })?;
    Ok(HttpResponse::Ok().content_type("image/svg+xml").body(svg))
}

/// Replace the activity's posters
///
/// Voids every printed poster QR of the activity (e.g. a photo of it is being shared); print
/// the new one from `GET /activities/{id}/qr?kind=poster`. Scans of old posters are refused as
/// `poster_replaced`.
#[utoipa::path(
    tag = "checkin",
    params(("activity_id" = i64, Path, description = "Activity id")),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The new poster payload (check-in)", body = QrPayload),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: outside the units you organise"),
        (status = 404, description = "`not_found`: no such activity"),
    )
)]
#[post("/activities/{activity_id}/posters/replace")]
pub async fn replace_posters(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
) -> ServiceResult<HttpResponse> {
    let activity_id = path.into_inner();
    let guard = staff.guard(Action::RunActivities);
    let audit = staff.audit(&req);
    let activity = in_write_tx(&state, move |conn| {
        let (before, path) = activity_in_scope(conn, &guard, activity_id)?;
        let after = db::activities::replace_posters(conn, activity_id)?;
        audit::changed(
            conn,
            &audit,
            "activity.replace_posters",
            format!("activity:{activity_id}"),
            &path,
            &before.poster_version,
            &after.poster_version,
        )?;
        Ok(after)
    })
    .await?;
    let payload = qr_payload(
        &state,
        &activity,
        TokenKind::Poster,
        Purpose::CheckIn,
        state.now(),
    );
    Ok(HttpResponse::Ok().json(payload))
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
    fn of(
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

/// The attendance list
///
/// Everyone who checked in, with times, methods, what settlement pays (or paid) and flags for
/// forgotten check-outs.
#[utoipa::path(
    tag = "checkin",
    params(("activity_id" = i64, Path, description = "Activity id")),
    security(("staff" = [])),
    responses(
        (status = 200, description = "Attendance by check-in time", body = Vec<Attendance>),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: outside your scope"),
        (status = 404, description = "`not_found`: no such activity"),
    )
)]
#[get("/activities/{activity_id}/attendance")]
pub async fn list_attendance(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
) -> ServiceResult<HttpResponse> {
    let activity_id = path.into_inner();
    let guard = staff.guard(Action::ReadLedger);
    let list = with_db(&state, move |conn| {
        let (activity, _) = activity_in_scope(conn, &guard, activity_id)?;
        db::attendance::list_attendance(conn, activity_id)?
            .into_iter()
            .map(|(row, name)| Attendance::of(row, &activity, Some(name)))
            .collect::<ServiceResult<Vec<_>>>()
    })
    .await?;
    Ok(HttpResponse::Ok().json(list))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"checkout_at": "2026-11-28T10:00:00+08:00", "reason": "手机没电，组织者确认在场到结束"}))]
pub struct CorrectionBody {
    /// New check-in time (RFC 3339).
    pub checkin_at: Option<String>,
    /// New check-out time (RFC 3339), e.g. for a forgotten check-out.
    pub checkout_at: Option<String>,
    /// Why; 1–500 characters, kept in the attendance and the audit log.
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// Correct an attendance
///
/// Changes check-in or check-out times before settlement, with a reason (audited). After
/// settlement the points are in the book: reverse the entry and award again instead.
#[utoipa::path(
    tag = "checkin",
    request_body = CorrectionBody,
    params(("activity_id" = i64, Path, description = "Activity id"), ("member_id" = i64, Path, description = "Member id")),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The corrected attendance", body = Attendance),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: outside the units you organise"),
        (status = 404, description = "`not_found`: no such activity or attendance"),
        (status = 409, description = "`already_settled`: the attendance was already paid"),
        (status = 422, description = "`validation_failed`: missing reason, bad time, check-out before check-in"),
    )
)]
#[post("/activities/{activity_id}/attendance/{member_id}/correction")]
pub async fn correct_attendance(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<(i64, i64)>,
    body: ApiJson<CorrectionBody>,
) -> ServiceResult<HttpResponse> {
    let (activity_id, member_id) = path.into_inner();
    let checkin_at = body
        .0
        .checkin_at
        .as_deref()
        .map(|t| parse_timestamp("checkin_at", t))
        .transpose()?;
    let checkout_at = body
        .0
        .checkout_at
        .as_deref()
        .map(|t| parse_timestamp("checkout_at", t))
        .transpose()?;
    if checkin_at.is_none() && checkout_at.is_none() {
        return Err(ServiceError::validation(
            "checkout_at",
            "give checkin_at, checkout_at or both",
        ));
    }
    let reason = required_text("reason", &body.0.reason, 500)?;
    let guard = staff.guard(Action::RunActivities);
    let actor = staff.actor().to_string();
    let audit = staff.audit(&req);
    let attendance = in_write_tx(&state, move |conn| {
        let (activity, path) = activity_in_scope(conn, &guard, activity_id)?;
        let (before, after) = db::attendance::correct(
            conn,
            activity_id,
            member_id,
            checkin_at,
            checkout_at,
            &actor,
            &reason,
        )?;
        let (before, after) = (
            Attendance::of(before, &activity, None)?,
            Attendance::of(after, &activity, None)?,
        );
        audit::changed(
            conn,
            &audit,
            "attendance.correct",
            format!("activity:{activity_id}:member:{member_id}"),
            &path,
            &before,
            &after,
        )?;
        Ok(after)
    })
    .await?;
    Ok(HttpResponse::Ok().json(attendance))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"activity_id": 12, "status": "settled", "settled": 37, "points": "370.00", "hours": "74.00"}))]
pub struct Settlement {
    pub activity_id: i64,
    /// `settled` once every attendance is paid.
    pub status: String,
    /// Attendances paid (all of them, over every settlement run).
    pub settled: i64,
    /// Totals paid for the activity.
    pub points: Amount,
    pub hours: Amount,
}

impl From<settlement::Totals> for Settlement {
    fn from(totals: settlement::Totals) -> Settlement {
        Settlement {
            activity_id: totals.activity_id,
            status: totals.status,
            settled: totals.settled,
            points: totals.points,
            hours: totals.hours,
        }
    }
}

/// Settle an activity
///
/// Pays every attendee once: one award entry each (points by the activity's rule, hours by
/// verified presence), booked under the activity's rule with origin `checkin`. Runs in short
/// batches; running it again (or after a crash) pays only who is still unpaid, never anyone
/// twice. Finished activities are also settled automatically after their grace period.
#[utoipa::path(
    tag = "checkin",
    params(("activity_id" = i64, Path, description = "Activity id")),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The settlement totals", body = Settlement),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: outside the units you organise"),
        (status = 404, description = "`not_found`: no such activity"),
        (status = 409, description = "`not_finished`: the activity has not ended or its grace period is running; `invalid_transition`: a draft or cancelled activity"),
    )
)]
#[post("/activities/{activity_id}/settlement")]
pub async fn settle_activity(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
) -> ServiceResult<HttpResponse> {
    let activity_id = path.into_inner();
    let audit = staff.audit(&req);
    let store = state.store.clone();
    let totals =
        blocking(move || settlement::settle_activity(&store, &staff, &audit, activity_id)).await?;
    Ok(HttpResponse::Ok().json(Settlement::from(totals)))
}
