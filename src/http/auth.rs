//! Staff sign-in.

use actix_web::{post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::ApiJson;
use super::{with_db, AppState};
use crate::auth::password::{dummy_hash, verify_password};
use crate::db;
use crate::error::{ApiError, ApiResult};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"phone": "13800000001", "password": "change-me-please"}))]
pub struct LoginRequest {
    pub phone: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"access_token": "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIn0…", "token_type": "Bearer", "expires_in": 900}))]
pub struct TokenResponse {
    /// Send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: i64,
}

/// Sign in as staff
///
/// Exchanges a staff phone number and password for a short-lived bearer access token.
/// A wrong phone and a wrong password give the same answer, in the same time.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 401, description = "`invalid_credentials`: the phone number or password is wrong"),
        (status = 422, description = "`validation_failed`: a field is missing or malformed"),
    )
)]
#[post("/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    body: ApiJson<LoginRequest>,
) -> ApiResult<HttpResponse> {
    let LoginRequest { phone, password } = body.0;
    if phone.len() > 32 || password.len() > 256 {
        return Err(ApiError::BadCredentials);
    }
    let (staff, scopes) = with_db(&state, move |conn| {
        let staff = db::staff::find_by_phone(conn, &phone)?;
        // Hashing is deliberately slow; it runs here, on the blocking pool.
        let hash = staff
            .as_ref()
            .map(|s| s.password_hash.as_str())
            .unwrap_or(dummy_hash());
        let password_ok = verify_password(&password, hash);
        match staff.filter(|s| password_ok && s.active) {
            Some(staff) => {
                let scopes = db::staff::scopes(conn, staff.id)?;
                Ok(Some((staff, scopes)))
            }
            None => Ok(None),
        }
    })
    .await?
    .ok_or(ApiError::BadCredentials)?;
    let now = chrono::Utc::now().timestamp();
    let token = state
        .keys
        .issue(format!("staff:{}", staff.id), "staff", scopes, now)?;
    Ok(HttpResponse::Ok().json(TokenResponse {
        access_token: token,
        token_type: "Bearer".into(),
        expires_in: state.keys.ttl_seconds,
    }))
}
