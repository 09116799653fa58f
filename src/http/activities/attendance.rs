//! The attendance list and its corrections before settlement.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::checkin::Attendance;
use crate::db::{self, access::audit};
use crate::domain::access::Action;
use crate::error::{ServiceError, ServiceResult};
use crate::http::access::Staff;
use crate::http::activities::activity_in_scope;
use crate::http::extract::ApiJson;
use crate::http::types::{parse_timestamp, required_text};
use crate::http::{in_write_tx, with_db, AppState};

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
        db::activities::attendance::list_attendance(conn, activity_id)?
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
        let (before, after) = db::activities::attendance::correct(
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
