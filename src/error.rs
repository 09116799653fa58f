//! One error type for the whole API, rendered as RFC 9457 `application/problem+json`.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::domain::checkin::ScanRefusal;
use crate::domain::hold::HoldError;
use crate::domain::ledger::LedgerError;
use crate::domain::money::AmountError;
use crate::wechat::WechatError;

/// Problem `type` URIs are `urn:pointsbank:problem:<code>`; `code` repeats the last part.
pub const PROBLEM_TYPE_PREFIX: &str = "urn:pointsbank:problem:";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    Validation { field: String, message: String },
    #[error("{0}")]
    MalformedRequest(String),
    #[error("{0}")]
    Ledger(#[from] LedgerError),
    /// What was looked for is kept for the code, not the answer: a missing record and another
    /// village's record must read exactly alike, or `detail` would tell them apart.
    #[error("no such record, or it is not in your units")]
    NotFound(&'static str),
    #[error("authentication is required")]
    Unauthorized(&'static str),
    #[error("the phone number or password is wrong")]
    BadCredentials,
    #[error("you may not do this")]
    Forbidden,
    #[error("too many failed sign-ins; try again in {retry_after} seconds")]
    TooManyAttempts { retry_after: u64 },
    #[error("the refresh token is unknown, expired or signed out; sign in again")]
    InvalidRefreshToken,
    #[error("this refresh token was already used, so every session of its sign-in was ended; sign in again")]
    RefreshTokenReused,
    #[error("account {account_id} has only {available} available, {requested} are needed")]
    InsufficientFunds {
        account_id: i64,
        available: String,
        requested: String,
    },
    #[error("this Idempotency-Key was already used with a different request")]
    IdempotencyConflict,
    #[error("entry {0} has already been reversed")]
    AlreadyReversed(i64),
    #[error("entry {0} is a reversal and cannot itself be reversed")]
    NotReversible(i64),
    #[error("{0}")]
    Hold(#[from] HoldError),
    #[error("this is not a card QR code or card number of ours")]
    CardInvalid,
    #[error("this card was replaced by a newer one; use the member's current card")]
    CardRevoked,
    #[error(
        "this is not a pickup code of this shop's orders (forged, mistyped, or another shop's)"
    )]
    PickupTokenInvalid,
    #[error("{0}")]
    Wechat(#[from] crate::wechat::WechatError),
    #[error("no member has this phone number and name; ask the village committee to register you")]
    BindingRefused,
    #[error("{0} already exists")]
    AlreadyExists(&'static str),
    /// A check-in or check-out scan that was refused (and logged as a fraud signal).
    #[error("{0}")]
    Scan(#[from] ScanRefusal),
    /// The request conflicts with the current state of a record (e.g. deciding a claim twice).
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    #[error("the request body is too large")]
    PayloadTooLarge,
    #[error("this path answers only {allow}")]
    MethodNotAllowed { allow: String },
    /// The answer cannot promise that nothing was written (the database may have committed just
    /// before the connection died), so the advice is to retry with the same Idempotency-Key.
    #[error("the database is busy or unavailable; retry shortly, with the same Idempotency-Key if the request had one")]
    Unavailable,
    /// A deadlock or serialization failure: the transaction is retried a few times before the
    /// client sees `service_unavailable`.
    #[error("concurrent updates collided; retry shortly")]
    Contention,
    /// Two requests with one Idempotency-Key raced; the loser retries and replays the winner.
    #[error("idempotency race")]
    IdempotencyRace,
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

/// The body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "type": "urn:pointsbank:problem:insufficient_funds",
    "title": "Insufficient funds",
    "status": 409,
    "detail": "account 42 has only 3.00 available, 10.00 are needed",
    "code": "insufficient_funds",
    "request_id": "0b6c8a3e-5a2f-4d2c-9d8e-1f0a7f5c2e11"
}))]
pub struct Problem {
    /// `urn:pointsbank:problem:<code>`: stable, safe to switch on.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// Short human summary of the problem type (English).
    pub title: String,
    /// The HTTP status code, repeated.
    pub status: u16,
    /// What went wrong with this request, for people.
    pub detail: String,
    /// Stable machine-readable code, e.g. `insufficient_funds`.
    pub code: String,
    /// For `validation_failed`: the request field at fault (JSON pointer-like path).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The request id, also in the `X-Request-Id` header and the server log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl ApiError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::Validation {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn amount(field: &str, err: AmountError) -> ApiError {
        ApiError::validation(field, err.to_string())
    }

    /// The stable code clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Validation { .. } => "validation_failed",
            ApiError::MalformedRequest(_) => "malformed_request",
            ApiError::Ledger(LedgerError::Unbalanced(_)) => "entry_unbalanced",
            ApiError::Ledger(_) => "invalid_entry",
            ApiError::NotFound(_) => "not_found",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::BadCredentials => "invalid_credentials",
            ApiError::Forbidden => "forbidden",
            ApiError::TooManyAttempts { .. } => "too_many_attempts",
            ApiError::InvalidRefreshToken => "invalid_refresh_token",
            ApiError::RefreshTokenReused => "refresh_token_reused",
            ApiError::InsufficientFunds { .. } => "insufficient_funds",
            ApiError::IdempotencyConflict => "idempotency_conflict",
            ApiError::AlreadyReversed(_) => "already_reversed",
            ApiError::NotReversible(_) => "not_reversible",
            ApiError::Hold(HoldError::NotPending(_)) => "hold_not_pending",
            ApiError::Hold(HoldError::Expired) => "hold_expired",
            ApiError::Hold(HoldError::CaptureExceedsHold { .. }) => "capture_exceeds_hold",
            ApiError::Hold(HoldError::BadDuration) => "validation_failed",
            ApiError::AlreadyExists(_) => "already_exists",
            ApiError::Scan(refusal) => refusal.code(),
            ApiError::Conflict { code, .. } => code,
            ApiError::Wechat(WechatError::InvalidCode) => "wechat_code_invalid",
            ApiError::Wechat(WechatError::RateLimited) => "wechat_rate_limited",
            ApiError::Wechat(WechatError::Busy) => "wechat_busy",
            ApiError::Wechat(WechatError::Failed(_)) => "wechat_unavailable",
            ApiError::BindingRefused => "binding_refused",
            ApiError::CardInvalid => "card_invalid",
            ApiError::CardRevoked => "card_revoked",
            ApiError::PickupTokenInvalid => "pickup_token_invalid",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::Unavailable | ApiError::Contention | ApiError::IdempotencyRace => {
                "service_unavailable"
            }
            ApiError::Internal(_) => "internal_error",
        }
    }

    fn title(&self) -> &'static str {
        if let ApiError::Scan(refusal) = self {
            return refusal.title();
        }
        if let ApiError::Conflict { code, .. } = self {
            return conflict_title(code);
        }
        match self.code() {
            "validation_failed" => "Validation failed",
            "malformed_request" => "Malformed request",
            "entry_unbalanced" => "Entry does not balance",
            "invalid_entry" => "Invalid entry",
            "not_found" => "Not found",
            "unauthorized" => "Unauthorized",
            "invalid_credentials" => "Invalid credentials",
            "forbidden" => "Forbidden",
            "too_many_attempts" => "Too many attempts",
            "invalid_refresh_token" => "Invalid refresh token",
            "refresh_token_reused" => "Refresh token reused",
            "insufficient_funds" => "Insufficient funds",
            "idempotency_conflict" => "Idempotency key reused",
            "already_reversed" => "Already reversed",
            "not_reversible" => "Not reversible",
            "hold_not_pending" => "Hold not pending",
            "hold_expired" => "Hold expired",
            "capture_exceeds_hold" => "Capture exceeds hold",
            "already_exists" => "Already exists",
            "wechat_code_invalid" => "WeChat code invalid",
            "wechat_rate_limited" => "WeChat rate limit",
            "wechat_busy" => "WeChat busy",
            "wechat_unavailable" => "WeChat unavailable",
            "binding_refused" => "Binding refused",
            "card_invalid" => "Card invalid",
            "card_revoked" => "Card revoked",
            "pickup_token_invalid" => "Pickup code invalid",
            "payload_too_large" => "Payload too large",
            "method_not_allowed" => "Method not allowed",
            "service_unavailable" => "Service unavailable",
            _ => "Internal server error",
        }
    }

    pub fn problem(&self, request_id: Option<String>) -> Problem {
        let detail = match self {
            // Never reveal internals; the cause chain is in the log next to the request id.
            ApiError::Internal(_) => "an unexpected error occurred".to_string(),
            ApiError::Hold(HoldError::BadDuration) => {
                format!("expires_in_seconds: {self}")
            }
            other => other.to_string(),
        };
        let field = match self {
            ApiError::Validation { field, .. } => Some(field.clone()),
            ApiError::Hold(HoldError::BadDuration) => Some("expires_in_seconds".into()),
            _ => None,
        };
        Problem {
            problem_type: format!("{PROBLEM_TYPE_PREFIX}{}", self.code()),
            title: self.title().into(),
            status: self.status_code().as_u16(),
            detail,
            code: self.code().into(),
            field,
            request_id,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Validation { .. } | ApiError::Ledger(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Hold(HoldError::BadDuration | HoldError::CaptureExceedsHold { .. }) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::IdempotencyConflict => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::MalformedRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Unauthorized(_)
            | ApiError::BadCredentials
            | ApiError::InvalidRefreshToken
            | ApiError::RefreshTokenReused => StatusCode::UNAUTHORIZED,
            ApiError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::InsufficientFunds { .. }
            | ApiError::AlreadyReversed(_)
            | ApiError::NotReversible(_)
            | ApiError::Hold(_)
            | ApiError::AlreadyExists(_)
            | ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::Scan(refusal) => {
                StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::CONFLICT)
            }
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Wechat(WechatError::InvalidCode) => StatusCode::UNAUTHORIZED,
            ApiError::Wechat(WechatError::RateLimited) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Wechat(WechatError::Busy) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Wechat(WechatError::Failed(_)) => StatusCode::BAD_GATEWAY,
            ApiError::BindingRefused => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::CardInvalid => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::CardRevoked => StatusCode::GONE,
            ApiError::PickupTokenInvalid => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable | ApiError::Contention | ApiError::IdempotencyRace => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        // The request id is added by the request-id middleware, which also logs the cause.
        problem_response(self, None)
    }
}

impl ApiError {
    /// Replaces "not found" by the error the caller means by it, and lets every other error (a
    /// database failure above all) through unchanged.
    pub fn when_not_found(self, replacement: impl FnOnce() -> ApiError) -> ApiError {
        match self {
            ApiError::NotFound(_) => replacement(),
            other => other,
        }
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError::Conflict {
            code,
            detail: detail.into(),
        }
    }
}

/// Every code that `ApiError::Conflict` is used with, and its title.
pub const CONFLICT_CODES: &[(&str, &str)] = &[
    ("invalid_transition", "Not allowed in this state"),
    ("claim_not_pending", "Claim already decided"),
    ("second_approver_required", "Another person must approve"),
    ("cap_exceeded", "Rule cap reached"),
    ("rule_inactive", "Rule inactive"),
    ("proxy_not_allowed", "Proxy not allowed"),
    ("signup_closed", "Sign-up closed"),
    ("already_settled", "Already settled"),
    ("not_finished", "Activity not finished"),
    ("appeal_not_allowed", "Appeal not allowed"),
    ("appeal_not_pending", "Appeal already decided"),
    ("member_inactive", "Member not active"),
    ("insufficient_points", "Not enough points"),
    ("out_of_stock", "Out of stock"),
    ("limit_exceeded", "Monthly limit reached"),
    ("not_available_now", "Not available now"),
    ("order_not_pending", "Order not pending"),
    ("shop_closed", "Shop closed"),
    ("last_admin", "Last platform administrator"),
];

fn conflict_title(code: &str) -> &'static str {
    CONFLICT_CODES
        .iter()
        .find(|(known, _)| *known == code)
        .map_or("Conflict", |(_, title)| title)
}

pub fn problem_response(err: &ApiError, request_id: Option<String>) -> HttpResponse {
    let mut builder = HttpResponse::build(err.status_code());
    builder.content_type("application/problem+json");
    if matches!(
        err,
        ApiError::Unavailable
            | ApiError::Contention
            | ApiError::IdempotencyRace
            | ApiError::Wechat(WechatError::Busy | WechatError::RateLimited)
    ) {
        builder.insert_header((header::RETRY_AFTER, "1"));
    }
    if let ApiError::TooManyAttempts { retry_after } = err {
        builder.insert_header((header::RETRY_AFTER, retry_after.to_string()));
    }
    if let ApiError::MethodNotAllowed { allow } = err {
        builder.insert_header((header::ALLOW, allow.as_str()));
    }
    if matches!(err, ApiError::Unauthorized(_)) {
        builder.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
    }
    builder.json(err.problem(request_id))
}

impl From<crate::domain::card::CardError> for ApiError {
    fn from(err: crate::domain::card::CardError) -> ApiError {
        match err {
            crate::domain::card::CardError::Invalid => ApiError::CardInvalid,
            crate::domain::card::CardError::Revoked => ApiError::CardRevoked,
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(err: diesel::result::Error) -> ApiError {
        use diesel::result::{DatabaseErrorKind, Error};
        match err {
            Error::NotFound => ApiError::NotFound("record"),
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
                ApiError::Contention
            }
            // PostgreSQL's 40P01, which diesel does not classify: retryable like 40001.
            Error::DatabaseError(_, ref info) if info.message().contains("deadlock detected") => {
                ApiError::Contention
            }
            // The connection died under the transaction (server restart, network): the pool
            // discards it, and the client is told to retry rather than shown a 500.
            Error::BrokenTransactionManager => ApiError::Unavailable,
            Error::DatabaseError(DatabaseErrorKind::UnableToSendCommand, _) => {
                ApiError::Unavailable
            }
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => ApiError::Unavailable,
            // SQLite reports an exhausted busy_timeout as "database is locked".
            Error::DatabaseError(_, ref info) if info.message().contains("database is locked") => {
                ApiError::Unavailable
            }
            other => ApiError::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<diesel::r2d2::PoolError> for ApiError {
    fn from(_: diesel::r2d2::PoolError) -> ApiError {
        ApiError::Unavailable
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
