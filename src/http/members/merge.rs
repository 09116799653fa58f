//! Merging a member registered twice into the other record.

use actix_web::{post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ServiceResult;
use crate::http::access::Staff;
use crate::http::extract::ApiJson;
use crate::http::members::{Member, MemberDetail};
use crate::http::{blocking, AppState};
use crate::service::members::merge;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"into_member_id": 42}))]
pub struct MergeMembers {
    /// The surviving record of the same person.
    pub into_member_id: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MergeResult {
    /// The merged (now `left`) record.
    pub merged: Member,
    /// The surviving record with its new balances.
    pub into: MemberDetail,
    /// The `transfer` entries that moved the balances.
    pub entry_ids: Vec<i64>,
}

/// Merge a duplicate member
///
/// When one person was registered twice: moves every balance of `member_id` to `into_member_id`
/// by `transfer` entries, moves the WeChat binding if the survivor has none, and marks the
/// duplicate `left` (its history stays readable). Needs `org_admin` over both members. Refused
/// while the duplicate has pending holds, or when the two keep points in different banks.
#[utoipa::path(
    tag = "members",
    request_body = MergeMembers,
    params(("member_id" = i64, Path, description = "The duplicate record to merge away")),
    security(("staff" = [])),
    responses(
        (status = 200, description = "Merged", body = MergeResult),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: a member is outside your scope"),
        (status = 404, description = "`not_found`: no such member"),
        (status = 422, description = "`validation_failed`: same member, already merged, pending holds, or different banks"),
    )
)]
#[post("/members/{member_id}/merge")]
pub async fn merge_members(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
    body: ApiJson<MergeMembers>,
) -> ServiceResult<HttpResponse> {
    let (member_id, into_id) = (path.into_inner(), body.0.into_member_id);
    let audit = staff.audit(&req);
    let store = state.store.clone();
    let merged =
        blocking(move || merge::merge_members(&store, &staff, &audit, member_id, into_id)).await?;
    Ok(HttpResponse::Ok().json(MergeResult {
        merged: Member::from(merged.merged),
        into: MemberDetail::from(merged.into),
        entry_ids: merged.entry_ids,
    }))
}
