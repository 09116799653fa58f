//! Holds: reserve points now, capture or release them later (redemption orders use these).

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::ledger::hold::check_duration;
use crate::domain::ledger::money::Amount;
use crate::domain::ledger::{MAX_MEMO_CHARS, MAX_REFERENCE_CHARS};
use crate::error::{ServiceError, ServiceResult};
use crate::http::access::Staff;
use crate::http::extract::{request_fingerprint, ApiJson, IdempotencyKey};
use crate::http::ledger::entries::created;
use crate::http::types::{optional_text, required_text, Capture, Entry, Hold};
use crate::http::{blocking, AppState};
use crate::service::ledger::holds::{self, CaptureHoldCommand, CreateHoldCommand};
use crate::service::Idempotency;

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"account_id": 9, "amount": "30.00", "memo": "order 7: 2 × 洗衣液", "reference": "order:7", "expires_in_seconds": 604800}))]
pub struct CreateHold {
    /// A `POINTS` member wallet of this bank (service hours are never redeemed).
    pub account_id: i64,
    /// Positive amount to reserve.
    pub amount: Amount,
    /// 1–500 characters.
    #[schema(min_length = 1, max_length = 500)]
    pub memo: String,
    /// Up to 200 characters, e.g. `order:7`.
    pub reference: Option<String>,
    /// Seconds until the hold expires on its own (1 to 7776000; default from `PB_DEFAULT_HOLD_SECONDS`).
    #[schema(minimum = 1, maximum = 7776000)]
    pub expires_in_seconds: Option<i64>,
}

/// Place a hold
///
/// Reserves points on a member wallet: `available` drops at once, `balance` only when the hold
/// is captured. Refused with `insufficient_funds` when the available balance is too small.
#[utoipa::path(
    tag = "holds",
    request_body = CreateHold,
    params(
        ("bank_id" = i64, Path, description = "Bank id"),
        ("Idempotency-Key" = Option<String>, Header, description = "1–200 visible ASCII characters, unique per request"),
    ),
    security(("staff" = [])),
    responses(
        (status = 201, description = "The pending hold", body = Hold,
            headers(("Idempotent-Replayed" = String, description = "`true` when this is the stored result of an earlier request with the same `Idempotency-Key`"))),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 404, description = "`not_found`: no such bank or account"),
        (status = 409, description = "`insufficient_funds`: the wallet's available balance is too small"),
        (status = 422, description = "`validation_failed`: a field is malformed; `idempotency_conflict`: the key was used with a different request; `idempotency_replay_unavailable`: the key's first request took effect under an older version whose answer cannot be replayed (read the resource)"),
    )
)]
#[post("/banks/{bank_id}/holds")]
pub async fn create_hold(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
    key: IdempotencyKey,
    body: ApiJson<CreateHold>,
) -> ServiceResult<HttpResponse> {
    let idempotency = Idempotency {
        key: key.0,
        fingerprint: request_fingerprint(&req, &body.0),
    };
    let request = body.0;
    if !request.amount.is_positive() {
        return Err(ServiceError::validation(
            "amount",
            "must be greater than zero",
        ));
    }
    let memo = required_text("memo", &request.memo, MAX_MEMO_CHARS)?;
    let reference = optional_text(
        "reference",
        request.reference.as_deref(),
        MAX_REFERENCE_CHARS,
    )?;
    let command = CreateHoldCommand {
        bank_id: path.into_inner(),
        account_id: request.account_id,
        amount: request.amount,
        memo,
        reference,
        expires_in_seconds: check_duration(
            request
                .expires_in_seconds
                .unwrap_or(state.settings.default_hold_seconds),
        )?,
    };
    let audit = staff.audit(&req);
    let store = state.store.clone();
    let (hold, outcome) =
        blocking(move || holds::create_hold(&store, &staff, &audit, &idempotency, &command))
            .await?;
    Ok(created(Hold::from(hold), outcome))
}

/// Get a hold
///
/// One hold: the wallet, the amount still reserved, its status (`pending`, `captured`, `released`,
/// `expired`) and its deadline.
#[utoipa::path(
    tag = "holds",
    params(("bank_id" = i64, Path, description = "Bank id"), ("hold_id" = i64, Path, description = "Hold id")),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The hold", body = Hold),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 404, description = "`not_found`: no such hold in this bank"),
    )
)]
#[get("/banks/{bank_id}/holds/{hold_id}")]
pub async fn get_hold(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<(i64, i64)>,
) -> ServiceResult<HttpResponse> {
    let (bank_id, hold_id) = path.into_inner();
    let store = state.store.clone();
    let hold = blocking(move || holds::get_hold(&store, &staff, bank_id, hold_id)).await?;
    Ok(HttpResponse::Ok().json(Hold::from(hold)))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"memo": "积分超市兑换：2 × 洗衣液"}))]
pub struct CaptureHold {
    /// How much to capture, at most the hold's amount (default: all of it). The rest is released.
    pub amount: Option<Amount>,
    /// 1–500 characters, shown on the member's statement.
    #[schema(min_length = 1, max_length = 500)]
    pub memo: String,
}

/// Capture a hold
///
/// Turns a pending hold into a `redeem` entry from the wallet to the bank's redemption account.
/// A hold is captured or released exactly once, whatever the number of concurrent attempts.
#[utoipa::path(
    tag = "holds",
    request_body = CaptureHold,
    params(
        ("bank_id" = i64, Path, description = "Bank id"),
        ("hold_id" = i64, Path, description = "Hold id"),
        ("Idempotency-Key" = Option<String>, Header, description = "1–200 visible ASCII characters, unique per request"),
    ),
    security(("staff" = [])),
    responses(
        (status = 201, description = "Captured: the hold and its redeem entry", body = Capture,
            headers(("Idempotent-Replayed" = String, description = "`true` when this is the stored result of an earlier request with the same `Idempotency-Key`"))),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 404, description = "`not_found`: no such hold in this bank"),
        (status = 409, description = "`hold_not_pending`: already captured, released or expired; `hold_expired`: past its deadline"),
        (status = 422, description = "`capture_exceeds_hold`: more than the hold reserves; `validation_failed`: a field is malformed; `idempotency_conflict`: the key was used with a different request; `idempotency_replay_unavailable`: the key's first request took effect under an older version whose answer cannot be replayed (read the resource)"),
    )
)]
#[post("/banks/{bank_id}/holds/{hold_id}/capture")]
pub async fn capture_hold(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<(i64, i64)>,
    key: IdempotencyKey,
    body: ApiJson<CaptureHold>,
) -> ServiceResult<HttpResponse> {
    let (bank_id, hold_id) = path.into_inner();
    let idempotency = Idempotency {
        key: key.0,
        fingerprint: request_fingerprint(&req, &body.0),
    };
    let memo = required_text("memo", &body.0.memo, MAX_MEMO_CHARS)?;
    let amount = body.0.amount;
    if amount.is_some_and(|a| !a.is_positive()) {
        return Err(ServiceError::validation(
            "amount",
            "must be greater than zero",
        ));
    }
    let command = CaptureHoldCommand {
        bank_id,
        hold_id,
        amount,
        memo,
    };
    let audit = staff.audit(&req);
    let store = state.store.clone();
    let (captured, outcome) =
        blocking(move || holds::capture_hold(&store, &staff, &audit, &idempotency, &command))
            .await?;
    let view = Capture {
        hold: Hold::from(captured.hold),
        entry: Entry::from(captured.entry),
    };
    Ok(created(view, outcome))
}

/// Release a hold
///
/// Gives the reserved points back to the wallet (e.g. an order was cancelled). A hold already past
/// its deadline ends as `expired` instead. Releasing twice is refused with `hold_not_pending`.
#[utoipa::path(
    tag = "holds",
    params(("bank_id" = i64, Path, description = "Bank id"), ("hold_id" = i64, Path, description = "Hold id")),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The released hold", body = Hold),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 404, description = "`not_found`: no such hold in this bank"),
        (status = 409, description = "`hold_not_pending`: already captured, released or expired"),
    )
)]
#[post("/banks/{bank_id}/holds/{hold_id}/release")]
pub async fn release_hold(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<(i64, i64)>,
) -> ServiceResult<HttpResponse> {
    let (bank_id, hold_id) = path.into_inner();
    let audit = staff.audit(&req);
    let store = state.store.clone();
    let hold =
        blocking(move || holds::release_hold(&store, &staff, &audit, bank_id, hold_id)).await?;
    Ok(HttpResponse::Ok().json(Hold::from(hold)))
}
