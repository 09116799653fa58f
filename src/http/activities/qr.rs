//! The activity's check-in QR codes: the screen's changing code, the printed posters, and
//! their payloads.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::checkin::{parse_purpose, signer};
use crate::db::activities::ActivityRow;
use crate::domain::activities::activity::Purpose;
use crate::domain::activities::checkin_token::{time_step, CheckinToken, TokenKind};
use crate::error::{ServiceError, ServiceResult};
use crate::http::access::Staff;
use crate::http::closed_sets;
use crate::http::types::timestamp;
use crate::http::{blocking, AppState};
use crate::qr;
use crate::service::activities::lifecycle;

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
        staff,
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
        staff,
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
    staff: Staff,
    activity_id: i64,
    kind: Option<&str>,
    purpose: Option<&str>,
) -> ServiceResult<QrPayload> {
    let kind = closed_sets::lookup(closed_sets::QR_KINDS, kind.unwrap_or("dynamic"))
        .ok_or_else(|| ServiceError::validation("kind", "must be dynamic or poster"))?;
    let purpose = parse_purpose(purpose)?;
    let store = state.store.clone();
    let activity =
        blocking(move || lifecycle::activity_to_run(&store, &staff, activity_id)).await?;
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
    let store = state.store.clone();
    let activity =
        blocking(move || lifecycle::activity_to_run(&store, &staff, activity_id)).await?;
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
    let audit = staff.audit(&req);
    let store = state.store.clone();
    let activity =
        blocking(move || lifecycle::replace_posters(&store, &staff, &audit, activity_id)).await?;
    let payload = qr_payload(
        &state,
        &activity,
        TokenKind::Poster,
        Purpose::CheckIn,
        state.now(),
    );
    Ok(HttpResponse::Ok().json(payload))
}
