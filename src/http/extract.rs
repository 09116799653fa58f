//! Extractors that speak our error language: bad JSON, paths and queries become problems.

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use crate::error::ServiceError;

/// A JSON body. Errors name the failing field, e.g. `postings[1].amount`.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = ServiceError;
    type Future = LocalBoxFuture<'static, Result<Self, ServiceError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json = req
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/json")
            })
            .unwrap_or(false);
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !is_json {
                return Err(ServiceError::MalformedRequest(
                    "the body must be JSON with Content-Type: application/json".into(),
                ));
            }
            let bytes = body.await.map_err(|err| {
                if err.as_response_error().status_code()
                    == actix_web::http::StatusCode::PAYLOAD_TOO_LARGE
                {
                    ServiceError::PayloadTooLarge
                } else {
                    ServiceError::MalformedRequest(format!("could not read the body: {err}"))
                }
            })?;
            let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
            serde_path_to_error::deserialize(&mut deserializer)
                .map(ApiJson)
                .map_err(|err| {
                    let path = err.path().to_string();
                    let inner = err.into_inner();
                    if inner.is_data() {
                        let field = if path == "." {
                            "body".to_string()
                        } else {
                            path
                        };
                        ServiceError::validation(field, without_position(&inner.to_string()))
                    } else {
                        ServiceError::MalformedRequest(format!(
                            "the body is not valid JSON: {inner}"
                        ))
                    }
                })
        })
    }
}

/// serde_json appends " at line 1 column 42"; the field path already says where.
fn without_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(cut) => message[..cut].to_string(),
        None => message.to_string(),
    }
}

/// The optional `Idempotency-Key` header: 1–200 visible ASCII characters (a UUID is ideal).
pub struct IdempotencyKey(pub Option<String>);

/// `IdempotencyKey` as the contract states it.
pub const IDEMPOTENCY_KEY_PATTERN: &str = "^[!-~]{1,200}$";

impl FromRequest for IdempotencyKey {
    type Error = ServiceError;
    type Future = std::future::Ready<Result<Self, ServiceError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let parsed = match req.headers().get("Idempotency-Key") {
            None => Ok(IdempotencyKey(None)),
            Some(value) => match value.to_str() {
                Ok(text)
                    if (1..=200).contains(&text.len())
                        && text.bytes().all(|b| b.is_ascii_graphic()) =>
                {
                    Ok(IdempotencyKey(Some(text.to_string())))
                }
                _ => Err(ServiceError::validation(
                    "Idempotency-Key",
                    "must be 1 to 200 visible ASCII characters, e.g. a UUID",
                )),
            },
        };
        std::future::ready(parsed)
    }
}

/// The fingerprint a retry must match: method, path and the canonical re-serialised body.
pub fn request_fingerprint<T: serde::Serialize>(req: &HttpRequest, body: &T) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(req.method().as_str().as_bytes());
    hasher.update(b" ");
    hasher.update(req.path().as_bytes());
    hasher.update(b"\n");
    hasher.update(serde_json::to_vec(body).unwrap_or_default());
    hex::encode(hasher.finalize())
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, req| {
        crate::http::fallback::wrong_method_behind_a_parameter(req)
            .unwrap_or_else(|| {
                ServiceError::validation("path", format!("invalid path parameter: {err}"))
            })
            .into()
    })
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _| {
        ServiceError::validation("query", format!("invalid query string: {err}")).into()
    })
}
