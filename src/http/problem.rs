//! Service errors as HTTP answers: RFC 9457 `application/problem+json`, with the status and the
//! headers (`Retry-After`, `Allow`, `WWW-Authenticate`) each kind of failure calls for.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::domain::ledger::hold::HoldError;
use crate::error::ServiceError;
use crate::wechat::WechatError;

/// Problem `type` URIs are `urn:pointsbank:problem:<code>`; `code` repeats the last part.
pub const PROBLEM_TYPE_PREFIX: &str = "urn:pointsbank:problem:";

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

impl Problem {
    pub fn of(err: &ServiceError, request_id: Option<String>) -> Problem {
        let (code, title) = err.code_and_title();
        Problem {
            problem_type: format!("{PROBLEM_TYPE_PREFIX}{code}"),
            title: title.into(),
            status: err.status_code().as_u16(),
            detail: err.detail(),
            code: code.into(),
            field: err.field().map(str::to_string),
            request_id,
        }
    }
}

impl ResponseError for ServiceError {
    fn status_code(&self) -> StatusCode {
        match self {
            ServiceError::Validation { .. } | ServiceError::Ledger(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ServiceError::Hold(HoldError::BadDuration | HoldError::CaptureExceedsHold { .. }) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ServiceError::IdempotencyConflict | ServiceError::IdempotencyReplayUnavailable => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ServiceError::MalformedRequest(_) => StatusCode::BAD_REQUEST,
            ServiceError::NotFound(_) => StatusCode::NOT_FOUND,
            ServiceError::Unauthorized(_)
            | ServiceError::BadCredentials
            | ServiceError::InvalidRefreshToken
            | ServiceError::RefreshTokenReused => StatusCode::UNAUTHORIZED,
            ServiceError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            ServiceError::Forbidden => StatusCode::FORBIDDEN,
            ServiceError::InsufficientFunds { .. }
            | ServiceError::AlreadyReversed(_)
            | ServiceError::NotReversible(_)
            | ServiceError::Hold(_)
            | ServiceError::AlreadyExists(_)
            | ServiceError::Conflict { .. } => StatusCode::CONFLICT,
            ServiceError::Scan(refusal) => {
                StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::CONFLICT)
            }
            ServiceError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ServiceError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ServiceError::Wechat(WechatError::InvalidCode) => StatusCode::UNAUTHORIZED,
            ServiceError::Wechat(WechatError::RateLimited) => StatusCode::TOO_MANY_REQUESTS,
            ServiceError::Wechat(WechatError::Busy) => StatusCode::SERVICE_UNAVAILABLE,
            ServiceError::Wechat(WechatError::Failed(_)) => StatusCode::BAD_GATEWAY,
            ServiceError::BindingRefused => StatusCode::UNPROCESSABLE_ENTITY,
            ServiceError::CardInvalid => StatusCode::UNPROCESSABLE_ENTITY,
            ServiceError::CardRevoked => StatusCode::GONE,
            ServiceError::PickupTokenInvalid => StatusCode::UNPROCESSABLE_ENTITY,
            ServiceError::Unavailable
            | ServiceError::Contention
            | ServiceError::IdempotencyRace => StatusCode::SERVICE_UNAVAILABLE,
            ServiceError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        // The request id is added by the request-id middleware, which also logs the cause.
        problem_response(self, None)
    }
}

pub fn problem_response(err: &ServiceError, request_id: Option<String>) -> HttpResponse {
    let mut builder = HttpResponse::build(err.status_code());
    builder.content_type("application/problem+json");
    if matches!(
        err,
        ServiceError::Unavailable
            | ServiceError::Contention
            | ServiceError::IdempotencyRace
            | ServiceError::Wechat(WechatError::Busy | WechatError::RateLimited)
    ) {
        builder.insert_header((header::RETRY_AFTER, "1"));
    }
    if let ServiceError::TooManyAttempts { retry_after } = err {
        builder.insert_header((header::RETRY_AFTER, retry_after.to_string()));
    }
    if let ServiceError::MethodNotAllowed { allow } = err {
        builder.insert_header((header::ALLOW, allow.as_str()));
    }
    if matches!(err, ServiceError::Unauthorized(_)) {
        builder.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
    }
    builder.json(Problem::of(err, request_id))
}
