//! Refused scans (a fraud signal for organisers) and volunteers' appeals against them.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::activities::refusals::RefusedScanRow;
use crate::error::ServiceResult;
use crate::http::access::{MemberAuth, Staff};
use crate::http::closed_sets;
use crate::http::extract::ApiJson;
use crate::http::types::timestamp;
use crate::http::{blocking, AppState};
use crate::service::activities::appeals;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": 9, "activity_id": 12, "member_id": 42, "purpose": "check_in", "reason": "outside_geofence",
    "token": "AAzAxMTQ4NDEw3oPhTm5W1qxQ", "latitude": 30.29, "longitude": 120.16,
    "at": "2026-11-28T00:02:00.000000Z", "appeal_status": "pending", "appeal_reason": "定位漂移，我在现场",
    "appealed_at": "2026-11-28T03:00:00.000000Z", "decided_by": null, "decided_at": null, "decision_note": null
}))]
pub struct RefusedScan {
    pub id: i64,
    /// Null when the code was not one of ours.
    pub activity_id: Option<i64>,
    pub member_id: i64,
    /// `check_in` or `check_out`, when known.
    #[schema(value_type = Option<closed_sets::Purpose>)]
    pub purpose: Option<String>,
    /// The problem `code` the scan got, e.g. `token_expired`, `outside_geofence`.
    pub reason: String,
    /// What was scanned (cut to 200 characters; `card` for card scans).
    pub token: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub at: String,
    /// Null (not appealed), `pending`, `approved` or `rejected`.
    #[schema(value_type = Option<closed_sets::ClaimStatus>)]
    pub appeal_status: Option<String>,
    pub appeal_reason: Option<String>,
    pub appealed_at: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub decision_note: Option<String>,
}

impl From<RefusedScanRow> for RefusedScan {
    fn from(row: RefusedScanRow) -> RefusedScan {
        RefusedScan {
            id: row.id,
            activity_id: row.activity_id,
            member_id: row.member_id,
            purpose: row.purpose,
            reason: row.reason,
            token: row.token,
            latitude: row.latitude_e6.map(|v| v as f64 / 1e6),
            longitude: row.longitude_e6.map(|v| v as f64 / 1e6),
            at: timestamp(row.created_at),
            appeal_status: row.appeal_status,
            appeal_reason: row.appeal_reason,
            appealed_at: row.appealed_at.map(timestamp),
            decided_by: row.decided_by,
            decided_at: row.decided_at.map(timestamp),
            decision_note: row.decision_note,
        }
    }
}

fn views(rows: Vec<RefusedScanRow>) -> Vec<RefusedScan> {
    rows.into_iter().map(RefusedScan::from).collect()
}

/// Refused scans of an activity
///
/// Every refused scan with its reason, member, time and location: repeated `token_expired` or
/// `outside_geofence` from one member is the usual sign of a shared photo of the code. Newest
/// first, at most 1000.
#[utoipa::path(
    tag = "checkin",
    params(("activity_id" = i64, Path, description = "Activity id")),
    security(("staff" = [])),
    responses(
        (status = 200, description = "Refused scans", body = Vec<RefusedScan>),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: outside your scope"),
        (status = 404, description = "`not_found`: no such activity"),
    )
)]
#[get("/activities/{activity_id}/refused-scans")]
pub async fn activity_refused_scans(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
) -> ServiceResult<HttpResponse> {
    let activity_id = path.into_inner();
    let store = state.store.clone();
    let rows = blocking(move || appeals::refused_for_activity(&store, &staff, activity_id)).await?;
    Ok(HttpResponse::Ok().json(views(rows)))
}

/// My refused scans
///
/// Scans of mine that were refused (newest first, at most 200), with their appeal status.
#[utoipa::path(
    tag = "me",
    security(("member" = [])),
    responses(
        (status = 200, description = "Refused scans", body = Vec<RefusedScan>),
        (status = 401, description = "`unauthorized`: missing or invalid member token"),
    )
)]
#[get("/me/refused-scans")]
pub async fn my_refused_scans(
    state: web::Data<AppState>,
    member: MemberAuth,
) -> ServiceResult<HttpResponse> {
    let store = state.store.clone();
    let rows = blocking(move || appeals::my_refused_scans(&store, member.0)).await?;
    Ok(HttpResponse::Ok().json(views(rows)))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "定位漂移，我当时在河堤上，组织者王书记可以作证"}))]
pub struct AppealBody {
    /// 1–500 characters.
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// Appeal a refused scan
///
/// Within the appeal window (default 7 days) a volunteer can ask the organiser to accept a
/// refused scan. Approval records the check-in or check-out and pays it like any other.
#[utoipa::path(
    tag = "me",
    request_body = AppealBody,
    params(("refusal_id" = i64, Path, description = "Refused scan id")),
    security(("member" = [])),
    responses(
        (status = 200, description = "The refused scan with its pending appeal", body = RefusedScan),
        (status = 401, description = "`unauthorized`: missing or invalid member token"),
        (status = 404, description = "`not_found`: no such refused scan of yours"),
        (status = 409, description = "`appeal_not_allowed`: already appealed, the window has closed, or the code was not ours"),
        (status = 422, description = "`validation_failed`: reason missing or too long"),
    )
)]
#[post("/me/refused-scans/{refusal_id}/appeal")]
pub async fn appeal_refused_scan(
    state: web::Data<AppState>,
    member: MemberAuth,
    path: web::Path<i64>,
    body: ApiJson<AppealBody>,
) -> ServiceResult<HttpResponse> {
    let refusal_id = path.into_inner();
    let reason = body.0.reason;
    let window = state.settings.appeal_window_days * 86_400_000_000;
    let store = state.store.clone();
    let row =
        blocking(move || appeals::appeal(&store, member.0, refusal_id, &reason, window)).await?;
    Ok(HttpResponse::Ok().json(RefusedScan::from(row)))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"approve": true, "note": "本人在现场，定位误差"}))]
pub struct AppealDecision {
    pub approve: bool,
    /// Shown to the volunteer; up to 500 characters.
    #[schema(max_length = 500)]
    pub note: Option<String>,
}

/// Decide an appeal
///
/// Approval records the scan at the time it was refused (method `appeal`, audited); if the
/// activity is already settled, the attendance is paid at once with origin `appeal`.
#[utoipa::path(
    tag = "checkin",
    request_body = AppealDecision,
    params(("activity_id" = i64, Path, description = "Activity id"), ("refusal_id" = i64, Path, description = "Refused scan id")),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The decided appeal", body = RefusedScan),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: outside the units you organise"),
        (status = 404, description = "`not_found`: no such refused scan of this activity"),
        (status = 409, description = "`appeal_not_pending`: no pending appeal; `already_checked_in`/`already_checked_out`: the scan is already recorded; `already_settled`: a check-out after payment"),
        (status = 422, description = "`validation_failed`: note too long"),
    )
)]
#[post("/activities/{activity_id}/refused-scans/{refusal_id}/decision")]
pub async fn decide_appeal(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<(i64, i64)>,
    body: ApiJson<AppealDecision>,
) -> ServiceResult<HttpResponse> {
    let (activity_id, refusal_id) = path.into_inner();
    let AppealDecision { approve, note } = body.0;
    let audit = staff.audit(&req);
    let store = state.store.clone();
    let row = blocking(move || {
        let ids = (activity_id, refusal_id);
        appeals::decide_appeal(&store, &staff, &audit, ids, approve, note.as_deref())
    })
    .await?;
    Ok(HttpResponse::Ok().json(RefusedScan::from(row)))
}
