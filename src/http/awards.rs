//! Staff awards and deductions under a rule, for one member or a batch.

use actix_web::{post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{PartialSchema, ToSchema};

use super::access::Staff;
use super::claims::Claim;
use super::extract::{request_fingerprint, ApiJson, IdempotencyKey};
use super::types::{optional_text, required_text, Entry};
use super::{in_write_tx, AppState};
use crate::db;
use crate::db::audit;
use crate::db::awards::Payment;
use crate::db::claims::{truncate, ClaimOrigin, NewClaim};
use crate::db::idempotency::{self, KeyScope, Outcome};
use crate::domain::access::Action;
use crate::domain::ledger::{Origin, MAX_MEMO_CHARS};
use crate::domain::money::Amount;
use crate::error::{ConflictCode, ServiceError, ServiceResult};

/// One transaction pays a whole grid; more is split by the client.
pub const MAX_BATCH: usize = 500;

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
        (status = 422, description = "`validation_failed`: unknown rule, points outside the range, empty or duplicate member list; `idempotency_conflict`: the key was used with a different request"),
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
    let bank_id = path.into_inner();
    let guard = staff.guard(Action::AwardPoints);
    let fingerprint = request_fingerprint(&req, &body.0);
    let request = body.0;
    let members = distinct_members(&request.member_ids)?;
    let memo = optional_text("memo", request.memo.as_deref(), MAX_MEMO_CHARS - 100)?;
    let backfill_reason = match &request.backfill {
        Some(backfill) => Some(required_text(
            "backfill.reason",
            &backfill.reason,
            MAX_MEMO_CHARS - 100,
        )?),
        None => None,
    };
    let requested_points = request.points.map(Amount::minor);
    let rule_id = request.rule_id;
    let actor = staff.actor().to_string();
    let audit = staff.audit(&req);
    let offset = state.settings.utc_offset_seconds();
    let store = state.store.clone();
    let (outcome, replay) = in_write_tx(&state, move |conn| {
        let now = store.now();
        let org_path = guard.bank(conn, bank_id)?;
        idempotency::once(
            conn,
            KeyScope::new(bank_id, &actor),
            key.0.as_deref(),
            &fingerprint,
            now,
            |conn| {
                let rule = db::rules::get_rule(conn, bank_id, rule_id).map_err(|err| {
                    err.when_not_found(|| {
                        ServiceError::validation("rule_id", "no such rule in this bank")
                    })
                })?;
                let points = rule
                    .range()?
                    .amount(requested_points)
                    .map_err(|e| ServiceError::validation("points", e.to_string()))?;
                let statement_memo = match &memo {
                    Some(memo) => format!("{}: {memo}", rule.name),
                    None => rule.name.clone(),
                };
                let needs_approval = backfill_reason.is_some() || rule.needs_second_approver;
                // One member's wallet is locked where it is paid; the global order matters only
                // when a batch takes several (and costs a round trip there alone).
                if !needs_approval && members.len() > 1 {
                    db::accounts::lock_member_wallets(conn, bank_id, &members)?;
                }
                let mut outcome = AwardOutcome {
                    status: if needs_approval {
                        "pending_approval"
                    } else {
                        "posted"
                    }
                    .into(),
                    entries: Vec::new(),
                    claims: Vec::new(),
                };
                for &member_id in &members {
                    if db::members::bank_of(conn, member_id)? != bank_id {
                        return Err(ServiceError::NotFound("member in this bank"));
                    }
                    if needs_approval {
                        if !rule.active {
                            return Err(ServiceError::conflict(
                                ConflictCode::RuleInactive,
                                format!("rule {} is no longer in use", rule.code),
                            ));
                        }
                        db::awards::require_active_member(conn, member_id)?;
                        let (origin, description) = match &backfill_reason {
                            Some(reason) => (
                                ClaimOrigin::Backfill,
                                format!("{statement_memo} (补录: {reason})"),
                            ),
                            None => (ClaimOrigin::StaffAward, statement_memo.clone()),
                        };
                        let claim = db::claims::submit(
                            conn,
                            NewClaim {
                                bank_id,
                                member_id,
                                rule_id: rule.id,
                                origin,
                                points,
                                description: truncate(&description, MAX_MEMO_CHARS),
                                evidence: &[],
                                submitted_by: &actor,
                                on_behalf_of: None,
                            },
                            now,
                        )?;
                        outcome.claims.push(Claim::from(claim));
                    } else {
                        let origin = if points < 0 {
                            Origin::Deduction
                        } else {
                            Origin::StaffAward
                        };
                        let record = db::awards::pay_under_rule(
                            conn,
                            &rule,
                            Payment {
                                bank_id,
                                member_id,
                                rule_id: Some(rule.id),
                                origin,
                                points,
                                hours: 0,
                                memo: &statement_memo,
                                reference: Some(&format!("rule:{}", rule.code)),
                                actor: &actor,
                            },
                            now,
                            offset,
                        )?;
                        outcome.entries.push(Entry::from(record));
                    }
                }
                audit::created(
                    conn,
                    &audit,
                    "award.batch",
                    format!("rule:{}", rule.id),
                    &org_path,
                    &outcome,
                )?;
                Ok(outcome)
            },
        )
    })
    .await?;
    let status = if outcome.status == "posted" { 201 } else { 202 };
    let mut response =
        HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap_or_default());
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

fn distinct_members(ids: &[i64]) -> ServiceResult<Vec<i64>> {
    if ids.is_empty() || ids.len() > MAX_BATCH {
        return Err(ServiceError::validation(
            "member_ids",
            format!("list 1–{MAX_BATCH} members"),
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (index, id) in ids.iter().enumerate() {
        if !seen.insert(*id) {
            return Err(ServiceError::validation(
                format!("member_ids[{index}]"),
                "listed twice",
            ));
        }
    }
    Ok(ids.to_vec())
}
