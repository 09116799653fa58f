//! Claims (申报) and the approval queue: members ask for points with evidence, grid workers ask
//! on behalf of members without a phone, and a second person approves or rejects.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::rules::claims::{ClaimFilter, ClaimRow};
use crate::domain::ledger::money::Amount;
use crate::error::{ServiceError, ServiceResult};
use crate::http::access::{MemberAuth, Staff};
use crate::http::closed_sets;
use crate::http::extract::ApiJson;
use crate::http::paging::{next_cursor, page_limit, parse_cursor};
use crate::http::types::{optional_text, required_text, timestamp, Entry};
use crate::http::{blocking, AppState};
use crate::service::rules::claim_lists;
use crate::service::rules::claims::{self, ClaimCommand, DecideClaim, MAX_DESCRIPTION_CHARS};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": 12, "bank_id": 1, "member_id": 42, "rule_id": 3, "origin": "claim", "points": "5.00",
    "description": "11月20日帮助孤寡老人打扫院子", "evidence": ["https://img.example.cn/a.jpg"],
    "submitted_by": "member:42", "on_behalf_of": null, "status": "pending",
    "decided_by": null, "decided_at": null, "decision_note": null, "entry_id": null,
    "created_at": "2026-11-23T08:00:00.000000Z"
}))]
pub struct Claim {
    pub id: i64,
    pub bank_id: i64,
    pub member_id: i64,
    pub rule_id: i64,
    /// `claim` (申报 by a member or a grid worker for one), `backfill` (补录 by staff) or
    /// `staff_award` (an award under a rule that needs a second approver).
    #[schema(value_type = closed_sets::ClaimOrigin)]
    pub origin: String,
    pub points: Amount,
    pub description: String,
    pub evidence: Vec<String>,
    /// Who submitted it: `member:42` or `staff:7`.
    pub submitted_by: String,
    /// Set when staff submitted it on behalf of the member ("by `submitted_by` on behalf of").
    pub on_behalf_of: Option<i64>,
    /// `pending`, `approved` or `rejected`.
    #[schema(value_type = closed_sets::ClaimStatus)]
    pub status: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub decision_note: Option<String>,
    /// The entry posted on approval.
    pub entry_id: Option<i64>,
    pub created_at: String,
}

impl From<ClaimRow> for Claim {
    fn from(row: ClaimRow) -> Claim {
        Claim {
            id: row.id,
            bank_id: row.bank_id,
            member_id: row.member_id,
            rule_id: row.rule_id,
            origin: row.origin,
            points: Amount::from_minor(row.points),
            description: row.description,
            evidence: serde_json::from_str(&row.evidence).unwrap_or_default(),
            submitted_by: row.submitted_by,
            on_behalf_of: row.on_behalf_of,
            status: row.status,
            decided_by: row.decided_by,
            decided_at: row.decided_at.map(timestamp),
            decision_note: row.decision_note,
            entry_id: row.entry_id,
            created_at: timestamp(row.created_at),
        }
    }
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "rule_id": 3, "points": null, "description": "11月20日帮助孤寡老人打扫院子",
    "evidence": ["https://img.example.cn/a.jpg"]
}))]
pub struct ClaimBody {
    /// A rule of the member's bank.
    pub rule_id: i64,
    /// Default: the rule's default points; otherwise within the rule's range.
    pub points: Option<Amount>,
    /// What was done, when and where; 1–500 characters.
    #[schema(min_length = 1, max_length = 500)]
    pub description: String,
    /// Up to 9 http(s) links to photos or documents (upload them first, e.g. to WeChat cloud storage).
    #[serde(default)]
    #[schema(max_items = 9)]
    pub evidence: Vec<String>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "member_id": 42, "rule_id": 3, "points": null,
    "description": "代老人申报：11月20日清理河道垃圾", "evidence": []
}))]
pub struct ProxyClaimBody {
    /// The member the claim is for; their record must allow proxies (`allow_proxy`).
    pub member_id: i64,
    pub rule_id: i64,
    pub points: Option<Amount>,
    #[schema(min_length = 1, max_length = 500)]
    pub description: String,
    #[serde(default)]
    #[schema(max_items = 9)]
    pub evidence: Vec<String>,
}

/// The claim as the service takes it: the description is checked here, the links there.
fn claim_command(
    rule_id: i64,
    points: Option<Amount>,
    description: &str,
    evidence: &[String],
) -> ServiceResult<ClaimCommand> {
    let description = required_text("description", description, MAX_DESCRIPTION_CHARS)?;
    ClaimCommand::checked(
        rule_id,
        points.map(Amount::minor),
        description,
        evidence.to_vec(),
    )
}

/// Submit a claim (申报)
///
/// A volunteer asks for points under one of their bank's rules, with a description and
/// evidence links. Village staff approve or reject it; approval posts the points, shown on the
/// statement with origin `claim`.
#[utoipa::path(
    tag = "claims",
    request_body = ClaimBody,
    security(("member" = [])),
    responses(
        (status = 201, description = "The pending claim", body = Claim),
        (status = 401, description = "`unauthorized`: missing or invalid member token"),
        (status = 403, description = "`forbidden`: not a member token"),
        (status = 409, description = "`rule_inactive`: the rule takes no new awards; `member_inactive`: your membership is suspended"),
        (status = 422, description = "`validation_failed`: unknown rule, points outside the rule's range, bad evidence link"),
    )
)]
#[post("/me/claims")]
pub async fn submit_my_claim(
    state: web::Data<AppState>,
    member: MemberAuth,
    body: ApiJson<ClaimBody>,
) -> ServiceResult<HttpResponse> {
    let member_id = member.0;
    let command = claim_command(
        body.0.rule_id,
        body.0.points,
        &body.0.description,
        &body.0.evidence,
    )?;
    let store = state.store.clone();
    let claim = blocking(move || claims::submit_my_claim(&store, member_id, &command)).await?;
    Ok(HttpResponse::Created().json(Claim::from(claim)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClaimListQuery {
    /// `pending`, `approved` or `rejected` (default: all).
    #[param(value_type = Option<closed_sets::ClaimStatus>)]
    pub status: Option<String>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[1-9][0-9]{0,18}$")]
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ClaimPage {
    /// Newest first.
    pub items: Vec<Claim>,
    pub next_cursor: Option<String>,
}

fn claim_filter(query: &ClaimListQuery) -> ServiceResult<ClaimFilter> {
    if let Some(status) = &query.status {
        if closed_sets::lookup(closed_sets::CLAIM_STATUSES, status).is_none() {
            return Err(ServiceError::validation(
                "status",
                "must be pending, approved or rejected",
            ));
        }
    }
    Ok(ClaimFilter {
        bank_id: None,
        member_id: None,
        status: query.status.clone(),
        before_id: parse_cursor(query.cursor.as_deref())?,
        limit: page_limit(query.limit)?,
    })
}

fn claim_page(rows: Vec<ClaimRow>, limit: i64) -> ClaimPage {
    let next_cursor = next_cursor(&rows, limit, |row| row.id);
    ClaimPage {
        items: rows.into_iter().map(Claim::from).collect(),
        next_cursor,
    }
}

/// My claims
///
/// The signed-in member's own claims (申报), newest first, with their status and the reviewer's
/// reason when rejected.
#[utoipa::path(
    tag = "claims",
    params(ClaimListQuery),
    security(("member" = [])),
    responses(
        (status = 200, description = "Your claims, newest first", body = ClaimPage),
        (status = 401, description = "`unauthorized`: missing or invalid member token"),
        (status = 422, description = "`validation_failed`: bad status, cursor or limit"),
    )
)]
#[get("/me/claims")]
pub async fn list_my_claims(
    state: web::Data<AppState>,
    member: MemberAuth,
    query: web::Query<ClaimListQuery>,
) -> ServiceResult<HttpResponse> {
    let filter = claim_filter(&query)?;
    let limit = filter.limit;
    let store = state.store.clone();
    let rows = blocking(move || claim_lists::my_claims(&store, member.0, filter)).await?;
    Ok(HttpResponse::Ok().json(claim_page(rows, limit)))
}

/// Submit a claim on a member's behalf
///
/// For volunteers without a smartphone: a grid worker (organiser) or admin files the claim
/// for them. The member's record must allow proxies; the claim records "by `submitted_by` on
/// behalf of `on_behalf_of`", and the submitter can never approve it.
#[utoipa::path(
    tag = "claims",
    request_body = ProxyClaimBody,
    params(("bank_id" = i64, Path, description = "Bank id")),
    security(("staff" = [])),
    responses(
        (status = 201, description = "The pending claim", body = Claim),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: the bank or member is outside your scope"),
        (status = 404, description = "`not_found`: no such bank or member"),
        (status = 409, description = "`proxy_not_allowed`: the member's record does not allow proxies; `rule_inactive`; `member_inactive`"),
        (status = 422, description = "`validation_failed`: unknown rule, points outside the rule's range, bad evidence link"),
    )
)]
#[post("/banks/{bank_id}/claims")]
pub async fn submit_proxy_claim(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
    body: ApiJson<ProxyClaimBody>,
) -> ServiceResult<HttpResponse> {
    let bank_id = path.into_inner();
    let member_id = body.0.member_id;
    let command = claim_command(
        body.0.rule_id,
        body.0.points,
        &body.0.description,
        &body.0.evidence,
    )?;
    let audit = staff.audit(&req);
    let store = state.store.clone();
    let claim = blocking(move || {
        claims::submit_for_member(&store, &staff, &audit, bank_id, member_id, &command)
    })
    .await?;
    Ok(HttpResponse::Created().json(Claim::from(claim)))
}

/// List claims and pending awards
///
/// The approval queue of a bank: members' claims, back-filled records and awards waiting for
/// a second approver. Filter by `status=pending` for the queue.
#[utoipa::path(
    tag = "claims",
    params(("bank_id" = i64, Path, description = "Bank id"), ClaimListQuery),
    security(("staff" = [])),
    responses(
        (status = 200, description = "Claims, newest first", body = ClaimPage),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: the bank is outside your scope"),
        (status = 404, description = "`not_found`: no such bank"),
        (status = 422, description = "`validation_failed`: bad status, cursor or limit"),
    )
)]
#[get("/banks/{bank_id}/claims")]
pub async fn list_claims(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
    query: web::Query<ClaimListQuery>,
) -> ServiceResult<HttpResponse> {
    let bank_id = path.into_inner();
    let filter = claim_filter(&query)?;
    let limit = filter.limit;
    let store = state.store.clone();
    let rows = blocking(move || claim_lists::bank_claims(&store, &staff, bank_id, filter)).await?;
    Ok(HttpResponse::Ok().json(claim_page(rows, limit)))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"approve": true, "note": "照片属实"}))]
pub struct DecisionBody {
    /// `true` posts the points; `false` rejects the claim.
    pub approve: bool,
    /// Shown to the member; up to 500 characters.
    #[schema(max_length = 500)]
    pub note: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DecidedClaim {
    pub claim: Claim,
    /// The entry posted on approval.
    pub entry: Option<Entry>,
}

/// Approve or reject a claim
///
/// Decides a pending claim, back-filled record or award. Someone other than the submitter must
/// decide. Approval posts the points in the same transaction (within the rule's caps); a claim
/// is decided once, even if two approvers click at the same moment.
#[utoipa::path(
    tag = "claims",
    request_body = DecisionBody,
    params(("bank_id" = i64, Path, description = "Bank id"), ("claim_id" = i64, Path, description = "Claim id")),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The decided claim and, if approved, its entry", body = DecidedClaim),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: only org admins of the bank's unit decide claims"),
        (status = 404, description = "`not_found`: no such claim in this bank"),
        (status = 409, description = "`claim_not_pending`: already decided; `second_approver_required`: you submitted it; `cap_exceeded`: the member reached the rule's cap; `rule_inactive`; `member_inactive`; `insufficient_funds`: a deduction exceeds the member's points"),
        (status = 422, description = "`validation_failed`: note too long"),
    )
)]
#[post("/banks/{bank_id}/claims/{claim_id}/decision")]
pub async fn decide_claim(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<(i64, i64)>,
    body: ApiJson<DecisionBody>,
) -> ServiceResult<HttpResponse> {
    let (bank_id, claim_id) = path.into_inner();
    let approve = body.0.approve;
    let note = optional_text("note", body.0.note.as_deref(), MAX_DESCRIPTION_CHARS)?;
    let audit = staff.audit(&req);
    let offset = state.settings.utc_offset_seconds();
    let store = state.store.clone();
    let command = DecideClaim {
        bank_id,
        claim_id,
        approve,
        note,
    };
    let (claim, entry) =
        blocking(move || claims::decide_claim(&store, &staff, &audit, &command, offset)).await?;
    let decided = DecidedClaim {
        claim: Claim::from(claim),
        entry: entry.map(Entry::from),
    };
    Ok(HttpResponse::Ok().json(decided))
}
