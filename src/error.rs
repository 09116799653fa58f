//! The service's one error type, with a stable code per kind of failure. It knows nothing of
//! HTTP: `http::problem` renders it as RFC 9457 `application/problem+json`.

use crate::domain::activities::checkin::ScanRefusal;
use crate::domain::ledger::hold::HoldError;
use crate::domain::ledger::money::AmountError;
use crate::domain::ledger::{string_enum, LedgerError};
use crate::wechat::WechatError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
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
    #[error("the first request under this Idempotency-Key was carried out by an earlier version of the service, whose answer cannot be replayed; it took effect once: read the resource instead of retrying")]
    IdempotencyReplayUnavailable,
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
    Conflict { code: ConflictCode, detail: String },
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

string_enum! {
    /// Why a request conflicts with the current state of a record (HTTP 409). An enum, so that a
    /// misspelt code does not compile.
    ConflictCode {
        InvalidTransition => "invalid_transition",
        ClaimNotPending => "claim_not_pending",
        SecondApproverRequired => "second_approver_required",
        CapExceeded => "cap_exceeded",
        RuleInactive => "rule_inactive",
        ProxyNotAllowed => "proxy_not_allowed",
        SignupClosed => "signup_closed",
        AlreadySettled => "already_settled",
        NotFinished => "not_finished",
        AppealNotAllowed => "appeal_not_allowed",
        AppealNotPending => "appeal_not_pending",
        MemberInactive => "member_inactive",
        InsufficientPoints => "insufficient_points",
        OutOfStock => "out_of_stock",
        LimitExceeded => "limit_exceeded",
        NotAvailableNow => "not_available_now",
        OrderNotPending => "order_not_pending",
        ShopClosed => "shop_closed",
        LastAdmin => "last_admin",
    }
}

impl ConflictCode {
    pub fn title(self) -> &'static str {
        match self {
            ConflictCode::InvalidTransition => "Not allowed in this state",
            ConflictCode::ClaimNotPending => "Claim already decided",
            ConflictCode::SecondApproverRequired => "Another person must approve",
            ConflictCode::CapExceeded => "Rule cap reached",
            ConflictCode::RuleInactive => "Rule inactive",
            ConflictCode::ProxyNotAllowed => "Proxy not allowed",
            ConflictCode::SignupClosed => "Sign-up closed",
            ConflictCode::AlreadySettled => "Already settled",
            ConflictCode::NotFinished => "Activity not finished",
            ConflictCode::AppealNotAllowed => "Appeal not allowed",
            ConflictCode::AppealNotPending => "Appeal already decided",
            ConflictCode::MemberInactive => "Member not active",
            ConflictCode::InsufficientPoints => "Not enough points",
            ConflictCode::OutOfStock => "Out of stock",
            ConflictCode::LimitExceeded => "Monthly limit reached",
            ConflictCode::NotAvailableNow => "Not available now",
            ConflictCode::OrderNotPending => "Order not pending",
            ConflictCode::ShopClosed => "Shop closed",
            ConflictCode::LastAdmin => "Last platform administrator",
        }
    }
}

impl ServiceError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> ServiceError {
        ServiceError::Validation {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn amount(field: &str, err: AmountError) -> ServiceError {
        ServiceError::validation(field, err.to_string())
    }

    pub fn conflict(code: ConflictCode, detail: impl Into<String>) -> ServiceError {
        ServiceError::Conflict {
            code,
            detail: detail.into(),
        }
    }

    /// Replaces "not found" by the error the caller means by it, and lets every other error (a
    /// database failure above all) through unchanged.
    pub fn when_not_found(self, replacement: impl FnOnce() -> ServiceError) -> ServiceError {
        match self {
            ServiceError::NotFound(_) => replacement(),
            other => other,
        }
    }

    /// The stable code clients switch on, and its short English title.
    pub fn code_and_title(&self) -> (&'static str, &'static str) {
        match self {
            ServiceError::Validation { .. } | ServiceError::Hold(HoldError::BadDuration) => {
                ("validation_failed", "Validation failed")
            }
            ServiceError::MalformedRequest(_) => ("malformed_request", "Malformed request"),
            ServiceError::Ledger(LedgerError::Unbalanced(_)) => {
                ("entry_unbalanced", "Entry does not balance")
            }
            ServiceError::Ledger(_) => ("invalid_entry", "Invalid entry"),
            ServiceError::NotFound(_) => ("not_found", "Not found"),
            ServiceError::Unauthorized(_) => ("unauthorized", "Unauthorized"),
            ServiceError::BadCredentials => ("invalid_credentials", "Invalid credentials"),
            ServiceError::Forbidden => ("forbidden", "Forbidden"),
            ServiceError::TooManyAttempts { .. } => ("too_many_attempts", "Too many attempts"),
            ServiceError::InvalidRefreshToken => ("invalid_refresh_token", "Invalid refresh token"),
            ServiceError::RefreshTokenReused => ("refresh_token_reused", "Refresh token reused"),
            ServiceError::InsufficientFunds { .. } => ("insufficient_funds", "Insufficient funds"),
            ServiceError::IdempotencyConflict => ("idempotency_conflict", "Idempotency key reused"),
            ServiceError::IdempotencyReplayUnavailable => (
                "idempotency_replay_unavailable",
                "Idempotent replay unavailable",
            ),
            ServiceError::AlreadyReversed(_) => ("already_reversed", "Already reversed"),
            ServiceError::NotReversible(_) => ("not_reversible", "Not reversible"),
            ServiceError::Hold(HoldError::NotPending(_)) => {
                ("hold_not_pending", "Hold not pending")
            }
            ServiceError::Hold(HoldError::Expired) => ("hold_expired", "Hold expired"),
            ServiceError::Hold(HoldError::CaptureExceedsHold { .. }) => {
                ("capture_exceeds_hold", "Capture exceeds hold")
            }
            ServiceError::AlreadyExists(_) => ("already_exists", "Already exists"),
            ServiceError::Scan(refusal) => (refusal.code(), refusal.title()),
            ServiceError::Conflict { code, .. } => (code.as_str(), code.title()),
            ServiceError::Wechat(WechatError::InvalidCode) => {
                ("wechat_code_invalid", "WeChat code invalid")
            }
            ServiceError::Wechat(WechatError::RateLimited) => {
                ("wechat_rate_limited", "WeChat rate limit")
            }
            ServiceError::Wechat(WechatError::Busy) => ("wechat_busy", "WeChat busy"),
            ServiceError::Wechat(WechatError::Failed(_)) => {
                ("wechat_unavailable", "WeChat unavailable")
            }
            ServiceError::BindingRefused => ("binding_refused", "Binding refused"),
            ServiceError::CardInvalid => ("card_invalid", "Card invalid"),
            ServiceError::CardRevoked => ("card_revoked", "Card revoked"),
            ServiceError::PickupTokenInvalid => ("pickup_token_invalid", "Pickup code invalid"),
            ServiceError::PayloadTooLarge => ("payload_too_large", "Payload too large"),
            ServiceError::MethodNotAllowed { .. } => ("method_not_allowed", "Method not allowed"),
            ServiceError::Unavailable
            | ServiceError::Contention
            | ServiceError::IdempotencyRace => ("service_unavailable", "Service unavailable"),
            ServiceError::Internal(_) => ("internal_error", "Internal server error"),
        }
    }

    /// The stable code clients switch on.
    pub fn code(&self) -> &'static str {
        self.code_and_title().0
    }

    /// The request field at fault, for `validation_failed`.
    pub fn field(&self) -> Option<&str> {
        match self {
            ServiceError::Validation { field, .. } => Some(field),
            ServiceError::Hold(HoldError::BadDuration) => Some("expires_in_seconds"),
            _ => None,
        }
    }

    /// What went wrong, for people. Internals are never revealed: the cause chain is in the log
    /// next to the request id.
    pub fn detail(&self) -> String {
        match self {
            ServiceError::Internal(_) => "an unexpected error occurred".to_string(),
            ServiceError::Hold(HoldError::BadDuration) => format!("expires_in_seconds: {self}"),
            other => other.to_string(),
        }
    }
}

impl From<crate::domain::members::card::CardError> for ServiceError {
    fn from(err: crate::domain::members::card::CardError) -> ServiceError {
        match err {
            crate::domain::members::card::CardError::Invalid => ServiceError::CardInvalid,
            crate::domain::members::card::CardError::Revoked => ServiceError::CardRevoked,
        }
    }
}

impl From<diesel::result::Error> for ServiceError {
    fn from(err: diesel::result::Error) -> ServiceError {
        use diesel::result::{DatabaseErrorKind, Error};
        match err {
            Error::NotFound => ServiceError::NotFound("record"),
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
                ServiceError::Contention
            }
            // PostgreSQL's 40P01, which diesel does not classify: retryable like 40001.
            Error::DatabaseError(_, ref info) if info.message().contains("deadlock detected") => {
                ServiceError::Contention
            }
            // The connection died under the transaction (server restart, network): the pool
            // discards it, and the client is told to retry rather than shown a 500.
            Error::BrokenTransactionManager => ServiceError::Unavailable,
            Error::DatabaseError(DatabaseErrorKind::UnableToSendCommand, _) => {
                ServiceError::Unavailable
            }
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => {
                ServiceError::Unavailable
            }
            // SQLite reports an exhausted busy_timeout as "database is locked".
            Error::DatabaseError(_, ref info) if info.message().contains("database is locked") => {
                ServiceError::Unavailable
            }
            other => ServiceError::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<diesel::r2d2::PoolError> for ServiceError {
    fn from(_: diesel::r2d2::PoolError) -> ServiceError {
        ServiceError::Unavailable
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;
