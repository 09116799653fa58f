//! The attendance list and its corrections before settlement.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::checkin::Attendance;
use crate::error::ServiceResult;
use crate::http::access::Staff;
use crate::http::extract::ApiJson;
use crate::http::types::parse_timestamp;
use crate::http::{blocking, AppState};
use crate::service::activities::attendance::{self, Correction};

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
    let store = state.store.clone();
    let (activity, rows) =
        blocking(move || attendance::list_attendance(&store, &staff, activity_id)).await?;
    let list = rows
        .into_iter()
        .map(|(row, name)| Attendance::of(row, &activity, Some(name)))
        .collect::<ServiceResult<Vec<_>>>()?;
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
    let correction = Correction::checked(
        activity_id,
        member_id,
        checkin_at,
        checkout_at,
        &body.0.reason,
    )?;
    let audit = staff.audit(&req);
    let store = state.store.clone();
    let (activity, row) =
        blocking(move || attendance::correct_attendance(&store, &staff, &audit, &correction))
            .await?;
    let attendance = Attendance::of(row, &activity, None)?;
    Ok(HttpResponse::Ok().json(attendance))
}
