//! Staff awards and deductions under a rule, for one member or a batch.

use actix_web::http::StatusCode;
use actix_web::{post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{PartialSchema, ToSchema};

use crate::db::idempotency::Outcome;
use crate::domain::ledger::money::Amount;
use crate::domain::ledger::MAX_MEMO_CHARS;
use crate::error::ServiceResult;
use crate::http::access::Staff;
use crate::http::extract::{request_fingerprint, ApiJson, IdempotencyKey};
use crate::http::rules::claims::Claim;
use crate::http::types::{optional_text, required_text, Entry};
use crate::http::{blocking, AppState};
use crate::service::rules::awards::{self, distinct_members, AwardCommand, Awarded, MAX_BATCH};
use crate::service::Idempotency;

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "rule_id": 5, "member_ids": [42, 43, 44], "points": null,
    "memo": "11月环境卫生评比：庭院整洁", "backfill": null
}))]
pub struct AwardBody {
    /// A rule of this bank. Its sign decides: positive rules award, negative rules deduct.
    pub rule_id: i64,
    /// 1–500 distinct members of this bank: everyone gets the same amount, each in their own entry.
    #[schema(schema_with = member_ids_schema)]
    pub member_ids: Vec<i64>,
    /// Default: the rule's default points; otherwise within the rule's range (negative for deductions).
    pub points: Option<Amount>,
    /// Shown on each member's statement after the rule's name; up to 400 characters.
    #[schema(max_length = 400)]
    pub memo: Option<String>,
    /// A back-filled record (补录) of something that happened earlier: always waits for approval.
    pub backfill: Option<Backfill>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Backfill {
    /// Why it is recorded late; 1–400 characters.
    #[schema(min_length = 1, max_length = 400)]
    pub reason: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"status": "posted", "entries": [], "claims": []}))]
pub struct AwardOutcome {
    /// `posted` (201: the entries are in the book) or `pending_approval` (202: one pending
    /// request per member, see the claims queue).
    pub status: String,
    pub entries: Vec<Entry>,
    pub claims: Vec<Claim>,
}

/// Award or deduct points under a rule
///
/// Pays every listed member the rule's points (or `points`, within the rule's range) as one
/// entry each, all in one transaction: if any member cannot be paid (cap reached, not in this
/// bank, a deduction larger than their points), nothing is written. Rules that need a second
/// approver, and back-filled records (补录), create pending requests instead (202) that another
/// staff member approves. Send an `Idempotency-Key` so that a retry cannot pay twice.
#[utoipa::path(
    tag = "awards",
    request_body = AwardBody,
    params(
        ("bank_id" = i64, Path, description = "Bank id"),
        ("Idempotency-Key" = Option<String>, Header, description = "1–200 visible ASCII characters, unique per request"),
    ),
    security(("staff" = [])),
    responses(
        (status = 201, description = "Posted: one entry per member", body = AwardOutcome,
            headers(("Idempotent-Replayed" = String, description = "`true` when this is the stored result of an earlier request with the same `Idempotency-Key`"))),
        (status = 202, description = "Waiting for a second approver: one pending request per member", body = AwardOutcome,
            headers(("Idempotent-Replayed" = String, description = "`true` when this is the stored result of an earlier request with the same `Idempotency-Key`"))),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: only org admins of the bank's unit award points"),
        (status = 404, description = "`not_found`: no such bank, or a member is not in this bank"),
        (status = 409, description = "`cap_exceeded`: a member reached the rule's cap; `rule_inactive`; `member_inactive`; `insufficient_funds`: a deduction exceeds a member's points"),
        (status = 422, description = "`validation_failed`: unknown rule, points outside the range, empty or duplicate member list; `idempotency_conflict`: the key was used with a different request; `idempotency_replay_unavailable`: the key's first request took effect under an older version whose answer cannot be replayed (read the resource)"),
    )
)]
#[post("/banks/{bank_id}/awards")]
pub async fn award_points(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
    key: IdempotencyKey,
    body: ApiJson<AwardBody>,
) -> ServiceResult<HttpResponse> {
    let idempotency = Idempotency {
        key: key.0,
        fingerprint: request_fingerprint(&req, &body.0),
    };
    let request = body.0;
    let command = AwardCommand {
        bank_id: path.into_inner(),
        rule_id: request.rule_id,
        member_ids: distinct_members(&request.member_ids)?,
        points: request.points.map(Amount::minor),
        memo: optional_text("memo", request.memo.as_deref(), MAX_MEMO_CHARS - 100)?,
        backfill_reason: match &request.backfill {
            Some(backfill) => Some(required_text(
                "backfill.reason",
                &backfill.reason,
                MAX_MEMO_CHARS - 100,
            )?),
            None => None,
        },
    };
    let audit = staff.audit(&req);
    let offset = state.settings.utc_offset_seconds();
    let store = state.store.clone();
    let (awarded, replay) = blocking(move || {
        awards::award_points(&store, &staff, &audit, &idempotency, &command, offset)
    })
    .await?;
    let (status, outcome) = match awarded {
        Awarded::Posted { entries } => (
            StatusCode::CREATED,
            AwardOutcome {
                status: "posted".into(),
                entries: entries.into_iter().map(Entry::from).collect(),
                claims: Vec::new(),
            },
        ),
        Awarded::PendingApproval { claims } => (
            StatusCode::ACCEPTED,
            AwardOutcome {
                status: "pending_approval".into(),
                entries: Vec::new(),
                claims: claims.into_iter().map(Claim::from).collect(),
            },
        ),
    };
    let mut response = HttpResponse::build(status);
    if replay == Outcome::Replayed {
        response.insert_header(("Idempotent-Replayed", "true"));
    }
    Ok(response.json(outcome))
}

/// The contract of `member_ids`: what `distinct_members` accepts.
fn member_ids_schema() -> utoipa::openapi::schema::Array {
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(i64::schema())
        .min_items(Some(1))
        .max_items(Some(MAX_BATCH))
        .unique_items(true)
        .description(Some(
            "1–500 distinct members of this bank: everyone gets the same amount, each in their own entry.",
        ))
        .build()
}
