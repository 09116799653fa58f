//! Reading the audit log.

use actix_web::{get, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::access::audit::AuditRow;
use crate::error::ServiceResult;
use crate::http::access::Staff;
use crate::http::paging::{next_cursor, page_limit, parse_cursor};
use crate::http::types::timestamp;
use crate::http::{blocking, AppState};
use crate::service::access::audit::{self, AuditFilter};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Continue after this point (the `next_cursor` of the previous page).
    #[param(pattern = "^[1-9][0-9]{0,18}$")]
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// Only actions of this actor, e.g. `staff:3`.
    pub actor: Option<String>,
    /// Only this action, e.g. `entry.reverse`.
    pub action: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 88, "at": "2026-11-23T08:00:00.000000Z", "actor": "staff:2", "action": "entry.reverse",
    "target": "entry:31", "org_path": "/1/3/", "client_ip": "10.0.0.7",
    "request_id": "0b6c8a3e-5a2f-4d2c-9d8e-1f0a7f5c2e11", "before": null,
    "after": {"id": 32, "kind": "reverse", "reverses_entry_id": 31}
}))]
pub struct AuditRecord {
    pub id: i64,
    pub at: String,
    /// Who acted, e.g. `staff:2`.
    pub actor: String,
    /// What was done: `org.create`, `org.move`, `bank.create`, `staff.create`, `staff.grant`,
    /// `staff.revoke`, `account.open`, `entry.post`, `entry.reverse`, `hold.create`,
    /// `hold.capture`, `hold.release`, `member.create`, `member.card_reissue`, `member.merge`,
    /// `member.wechat_unbind` (by the member themselves, actor `member:<id>`, or by staff).
    pub action: String,
    /// What it was done to, e.g. `entry:31`.
    pub target: String,
    /// The unit the target belongs to.
    pub org_path: String,
    pub client_ip: Option<String>,
    /// The request that made the change (also in the server log).
    pub request_id: Option<String>,
    /// The target before the change (for changes of existing things).
    pub before: Option<serde_json::Value>,
    /// The target after the change.
    pub after: Option<serde_json::Value>,
}

impl From<AuditRow> for AuditRecord {
    fn from(row: AuditRow) -> AuditRecord {
        let parse = |text: Option<String>| text.and_then(|t| serde_json::from_str(&t).ok());
        AuditRecord {
            id: row.id,
            at: timestamp(row.at),
            actor: row.actor,
            action: row.action,
            target: row.target,
            org_path: row.org_path,
            client_ip: row.client_ip,
            request_id: row.request_id,
            before: parse(row.before_json),
            after: parse(row.after_json),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    /// Newest first.
    pub items: Vec<AuditRecord>,
    pub next_cursor: Option<String>,
}

/// Read the audit log
///
/// Every staff action that changed data in the units you may audit (`auditor`, `org_admin`),
/// newest first. The log is append-only and written in the same transaction as each change.
#[utoipa::path(
    tag = "audit",
    params(AuditParams),
    security(("staff" = [])),
    responses(
        (status = 200, description = "One page of the log", body = AuditPage),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: you may not read any audit log"),
        (status = 422, description = "`validation_failed`: bad cursor or limit"),
    )
)]
#[get("/audit")]
pub async fn list_audit(
    state: web::Data<AppState>,
    staff: Staff,
    params: web::Query<AuditParams>,
) -> ServiceResult<HttpResponse> {
    let params = params.into_inner();
    let limit = page_limit(params.limit)?;
    let before_id = parse_cursor(params.cursor.as_deref())?;
    let filter = AuditFilter {
        before_id,
        actor: params.actor,
        action: params.action,
        limit,
    };
    let store = state.store.clone();
    let rows = blocking(move || audit::list_audit(&store, &staff, filter)).await?;
    let next_cursor = next_cursor(&rows, limit, |r| r.id);
    Ok(HttpResponse::Ok().json(AuditPage {
        items: rows.into_iter().map(AuditRecord::from).collect(),
        next_cursor,
    }))
}
