//! Journal entries: post, read, reverse.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::idempotency::Outcome;
use crate::domain::ledger::money::Amount;
use crate::domain::ledger::{MAX_MEMO_CHARS, MAX_REFERENCE_CHARS};
use crate::error::ServiceResult;
use crate::http::access::Staff;
use crate::http::closed_sets;
use crate::http::extract::{request_fingerprint, ApiJson, IdempotencyKey};
use crate::http::types::{optional_text, required_text, Entry};
use crate::http::{blocking, AppState};
use crate::service::ledger::entries::{self, PostEntryCommand, ReverseEntryCommand};
use crate::service::Idempotency;

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostingLine {
    pub account_id: i64,
    /// Non-zero. Positive raises the account's balance, negative lowers it.
    pub amount: Amount,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "kind": "award",
    "memo": "防溺水巡河 2 小时",
    "reference": "activity:12",
    "postings": [
        {"account_id": 1, "amount": "-10.00"},
        {"account_id": 9, "amount": "10.00"}
    ]
}))]
pub struct PostEntry {
    /// `award` (issuance → members), `deduct` (members → issuance/adjustment), `transfer`
    /// (member → member), `expire` (members → expiry) or `adjust` (any accounts).
    #[schema(value_type = closed_sets::PostableEntryKind)]
    pub kind: String,
    /// Why, in words the volunteer will read on the statement; 1–500 characters.
    #[schema(min_length = 1, max_length = 500)]
    pub memo: String,
    /// What caused it, up to 200 characters, e.g. `activity:12`.
    #[schema(max_length = 200)]
    pub reference: Option<String>,
    /// 2–500 lines; per asset they must sum to zero.
    #[schema(min_items = 2, max_items = 500)]
    pub postings: Vec<PostingLine>,
}

/// Post an entry
///
/// Moves points between accounts of one bank as one double-entry journal entry. Member wallets
/// never go below zero: a debit larger than the available balance is refused and nothing is
/// written. Send an `Idempotency-Key` (e.g. a UUID) so that a retry after a timeout cannot pay
/// twice: a retry with the same key and body returns the original entry (with the header
/// `Idempotent-Replayed: true`); the same key with another body is refused.
#[utoipa::path(
    tag = "entries",
    request_body = PostEntry,
    params(
        ("bank_id" = i64, Path, description = "Bank id"),
        ("Idempotency-Key" = Option<String>, Header, description = "1–200 visible ASCII characters, unique per request; remembered for 7 days"),
    ),
    security(("staff" = [])),
    responses(
        (status = 201, description = "Posted (or replayed)", body = Entry,
            headers(("Idempotent-Replayed" = String, description = "`true` when this is the stored result of an earlier request with the same `Idempotency-Key`"))),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 404, description = "`not_found`: no such bank"),
        (status = 409, description = "`insufficient_funds`: a member wallet lacks the available points"),
        (status = 422, description = "`validation_failed`: a field is malformed; `entry_unbalanced`: postings do not sum to zero per asset; `invalid_entry`: the postings do not fit the kind; `idempotency_conflict`: the key was used with a different request; `idempotency_replay_unavailable`: the key's first request took effect under an older version whose answer cannot be replayed (read the resource)"),
    )
)]
#[post("/banks/{bank_id}/entries")]
pub async fn post_entry(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
    key: IdempotencyKey,
    body: ApiJson<PostEntry>,
) -> ServiceResult<HttpResponse> {
    let idempotency = Idempotency {
        key: key.0,
        fingerprint: request_fingerprint(&req, &body.0),
    };
    let request = body.0;
    let kind = entries::postable_kind(&request.kind)?;
    let memo = required_text("memo", &request.memo, MAX_MEMO_CHARS)?;
    let reference = optional_text(
        "reference",
        request.reference.as_deref(),
        MAX_REFERENCE_CHARS,
    )?;
    let lines: Vec<(i64, Amount)> = request
        .postings
        .iter()
        .map(|line| (line.account_id, line.amount))
        .collect();
    let command = PostEntryCommand {
        bank_id: path.into_inner(),
        kind,
        memo,
        reference,
        postings: entries::checked_postings(&lines)?,
    };
    let audit = staff.audit(&req);
    let store = state.store.clone();
    let (record, outcome) =
        blocking(move || entries::post_entry(&store, &staff, &audit, &idempotency, &command))
            .await?;
    Ok(created(Entry::from(record), outcome))
}

/// 201 with the entry; a replay says so in `Idempotent-Replayed`.
pub fn created<T: Serialize>(body: T, outcome: Outcome) -> HttpResponse {
    let mut response = HttpResponse::Created();
    if outcome == Outcome::Replayed {
        response.insert_header(("Idempotent-Replayed", "true"));
    }
    response.json(body)
}

/// Get an entry
///
/// One journal entry with its postings (each with the wallet balance after it), its rule and origin,
/// and the entry that reversed it, if any.
#[utoipa::path(
    tag = "entries",
    params(("bank_id" = i64, Path, description = "Bank id"), ("entry_id" = i64, Path, description = "Entry id")),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The entry with its postings", body = Entry),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 404, description = "`not_found`: no such entry in this bank"),
    )
)]
#[get("/banks/{bank_id}/entries/{entry_id}")]
pub async fn get_entry(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<(i64, i64)>,
) -> ServiceResult<HttpResponse> {
    let (bank_id, entry_id) = path.into_inner();
    let store = state.store.clone();
    let record = blocking(move || entries::get_entry(&store, &staff, bank_id, entry_id)).await?;
    Ok(HttpResponse::Ok().json(Entry::from(record)))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"memo": "录入错误：重复发放"}))]
pub struct ReverseEntry {
    /// Why the entry is undone; 1–500 characters, shown on the statement.
    #[schema(min_length = 1, max_length = 500)]
    pub memo: String,
}

/// Reverse an entry
///
/// Undoes an entry by posting its exact opposite as a `reverse` entry that points at it. The
/// original stays in the book. An entry can be reversed once; a reversal cannot be reversed.
/// Refused with `insufficient_funds` if a member has already spent the points.
#[utoipa::path(
    tag = "entries",
    request_body = ReverseEntry,
    params(
        ("bank_id" = i64, Path, description = "Bank id"),
        ("entry_id" = i64, Path, description = "The entry to reverse"),
        ("Idempotency-Key" = Option<String>, Header, description = "1–200 visible ASCII characters, unique per request"),
    ),
    security(("staff" = [])),
    responses(
        (status = 201, description = "The reversal entry", body = Entry,
            headers(("Idempotent-Replayed" = String, description = "`true` when this is the stored result of an earlier request with the same `Idempotency-Key`"))),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 404, description = "`not_found`: no such entry in this bank"),
        (status = 409, description = "`already_reversed`: the entry was reversed before; `not_reversible`: it is itself a reversal; `insufficient_funds`: a member has spent the points"),
        (status = 422, description = "`validation_failed`: memo missing; `idempotency_conflict`: the key was used with a different request; `idempotency_replay_unavailable`: the key's first request took effect under an older version whose answer cannot be replayed (read the resource)"),
    )
)]
#[post("/banks/{bank_id}/entries/{entry_id}/reversal")]
pub async fn reverse_entry(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<(i64, i64)>,
    key: IdempotencyKey,
    body: ApiJson<ReverseEntry>,
) -> ServiceResult<HttpResponse> {
    let (bank_id, entry_id) = path.into_inner();
    let idempotency = Idempotency {
        key: key.0,
        fingerprint: request_fingerprint(&req, &body.0),
    };
    let command = ReverseEntryCommand {
        bank_id,
        entry_id,
        memo: required_text("memo", &body.0.memo, MAX_MEMO_CHARS)?,
    };
    let audit = staff.audit(&req);
    let store = state.store.clone();
    let (record, outcome) =
        blocking(move || entries::reverse_entry(&store, &staff, &audit, &idempotency, &command))
            .await?;
    Ok(created(Entry::from(record), outcome))
}
