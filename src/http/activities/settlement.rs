//! Settling an activity: every attendee paid once.

use actix_web::{post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::ledger::money::Amount;
use crate::error::ServiceResult;
use crate::http::access::Staff;
use crate::http::{blocking, AppState};
use crate::service::activities::settlement;

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
