//! Staff sign-in sessions: sign in, refresh, sign out, change password.

use actix_web::{post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::password::{check_password_rules, dummy_hash, hash_password, verify_password};
use crate::db::access::refresh_sessions::{self, Holder, IssuedRefresh, SessionKind};
use crate::db::access::sessions::{self, AttemptLimit};
use crate::db::{self, Db};
use crate::error::{ServiceError, ServiceResult};
use crate::http::access::Staff;
use crate::http::extract::ApiJson;
use crate::http::{blocking, AppState};
use crate::service::access::sessions as service_sessions;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"phone": "13800000001", "password": "change-me-please"}))]
pub struct LoginRequest {
    pub phone: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "access_token": "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIn0…", "token_type": "Bearer", "expires_in": 900,
    "refresh_token": "rt_5f0c…", "refresh_expires_in": 2592000
}))]
pub struct TokenResponse {
    /// Send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Exchange at `POST /api/v1/auth/refresh` for new tokens. Single use: each refresh returns a
    /// new one. Keep it secret; never put it in a URL.
    pub refresh_token: String,
    /// Seconds until the refresh token expires.
    pub refresh_expires_in: i64,
}

/// Sign in as staff
///
/// Exchanges a staff phone number and password for a short-lived access token and a refresh
/// token. A wrong phone and a wrong password give the same answer, in the same time. After too many
/// failures for one phone number or from one address the answer is 429 with `Retry-After`.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 401, description = "`invalid_credentials`: the phone number or password is wrong"),
        (status = 422, description = "`validation_failed`: a field is missing or malformed"),
        (status = 429, description = "`too_many_attempts`: too many failed sign-ins; retry after `Retry-After` seconds"),
    )
)]
#[post("/auth/login")]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: ApiJson<LoginRequest>,
) -> ServiceResult<HttpResponse> {
    let LoginRequest { phone, password } = body.0;
    if phone.len() > 32 || password.len() > 256 {
        return Err(ServiceError::BadCredentials);
    }
    let client = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let subjects = [format!("phone:{phone}"), format!("ip:{client}")];
    let settings = state.settings.clone();
    let keys = state.keys.clone();
    let refresh_ttl = settings.refresh_token_ttl_days * 86_400 * 1_000_000;
    let store = state.store.clone();
    let signed_in = blocking(move || {
        let now = store.now();
        let limits = [
            AttemptLimit {
                subject: &subjects[0],
                max_failures: settings.login_max_failures_per_phone,
            },
            AttemptLimit {
                subject: &subjects[1],
                max_failures: settings.login_max_failures_per_ip,
            },
        ];
        let window = settings.login_failure_window_seconds * 1_000_000;
        // The attempt is committed before the password is checked, so it counts even if this
        // request never finishes.
        let attempts = store.write(|conn| sessions::claim_attempt(conn, &limits, now, window))?;
        let staff = store.read(|conn| db::access::staff::find_by_phone(conn, &phone))?;
        // Hashing is deliberately slow; it runs here, on the blocking pool, outside any transaction.
        let hash = staff
            .as_ref()
            .map(|s| s.password_hash.as_str())
            .unwrap_or(dummy_hash());
        let password_ok = verify_password(&password, hash);
        let Some(staff) = staff.filter(|s| password_ok && s.active) else {
            // The claimed attempts stay: they are this failure.
            return Ok(None);
        };
        store.write(|conn| {
            sessions::forgive_attempts(conn, &attempts)?;
            sessions::clear_failures(conn, &subjects[0])?;
            let holder = Holder::Staff { staff_id: staff.id };
            let refresh = refresh_sessions::issue(conn, holder, None, now, refresh_ttl)?;
            Ok(Some(tokens(conn, &keys, staff.id, refresh)?))
        })
    })
    .await?;
    let issued = signed_in.ok_or(ServiceError::BadCredentials)?;
    Ok(HttpResponse::Ok().json(issued.respond(&state)))
}

/// What a signed-in session needs to answer: the access token and the refresh token.
struct Issued {
    access_token: String,
    refresh: IssuedRefresh,
}

impl Issued {
    fn respond(self, state: &AppState) -> TokenResponse {
        TokenResponse {
            access_token: self.access_token,
            token_type: "Bearer".into(),
            expires_in: state.keys.ttl_seconds,
            refresh_expires_in: (self.refresh.expires_at - state.now()) / 1_000_000,
            refresh_token: self.refresh.token,
        }
    }
}

/// An access token carrying the staff member's current grants.
fn tokens(
    conn: &mut Db,
    keys: &crate::auth::jwt::TokenKeys,
    staff_id: i64,
    refresh: IssuedRefresh,
) -> ServiceResult<Issued> {
    let scopes = db::access::staff::scopes(conn, staff_id)?;
    let now = chrono::Utc::now().timestamp();
    let access_token = keys.issue(format!("staff:{staff_id}"), "staff", scopes, now)?;
    Ok(Issued {
        access_token,
        refresh,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"refresh_token": "rt_5f0c…"}))]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// Refresh the tokens
///
/// Spends a refresh token and returns a new access token (with the staff member's current roles)
/// and a new refresh token. A refresh token works once: presenting a spent one means it was
/// copied, so every session of that sign-in ends (`refresh_token_reused`).
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New tokens", body = TokenResponse),
        (status = 401, description = "`invalid_refresh_token`: unknown, expired or signed out; `refresh_token_reused`: already spent, the session family is now revoked"),
        (status = 422, description = "`validation_failed`: the field is missing"),
    )
)]
#[post("/auth/refresh")]
pub async fn refresh_session(
    state: web::Data<AppState>,
    body: ApiJson<RefreshRequest>,
) -> ServiceResult<HttpResponse> {
    let token = body.0.refresh_token;
    let keys = state.keys.clone();
    let ttl = state.settings.refresh_token_ttl_days * 86_400 * 1_000_000;
    let store = state.store.clone();
    let issued = blocking(move || {
        let (holder, next) = service_sessions::refresh(&store, SessionKind::Staff, &token, ttl)?;
        let Holder::Staff { staff_id } = holder else {
            return Err(ServiceError::InvalidRefreshToken);
        };
        store.read(|conn| tokens(conn, &keys, staff_id, next))
    })
    .await?;
    Ok(HttpResponse::Ok().json(issued.respond(&state)))
}

/// Sign out
///
/// Ends the session the refresh token belongs to (every token of that sign-in). The access token
/// stays valid until it expires (at most `expires_in` seconds); discard it.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 204, description = "Signed out (also for unknown tokens)"),
        (status = 422, description = "`validation_failed`: the field is missing"),
    )
)]
#[post("/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    body: ApiJson<RefreshRequest>,
) -> ServiceResult<HttpResponse> {
    let token = body.0.refresh_token;
    let store = state.store.clone();
    blocking(move || service_sessions::sign_out(&store, SessionKind::Staff, &token)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"current_password": "change-me-please", "new_password": "a-much-better-passphrase"}))]
pub struct ChangePassword {
    pub current_password: String,
    /// 8–128 characters.
    pub new_password: String,
}

/// Change my password
///
/// Changes the signed-in staff member's password and ends all their sessions (refresh tokens).
#[utoipa::path(
    tag = "auth",
    request_body = ChangePassword,
    security(("staff" = [])),
    responses(
        (status = 204, description = "Changed; sign in again with the new password"),
        (status = 401, description = "`invalid_credentials`: the current password is wrong; `unauthorized`: missing or invalid bearer token"),
        (status = 422, description = "`validation_failed`: the new password is too short or too long"),
    )
)]
#[post("/auth/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    staff: Staff,
    body: ApiJson<ChangePassword>,
) -> ServiceResult<HttpResponse> {
    let ChangePassword {
        current_password,
        new_password,
    } = body.0;
    check_password_rules(&new_password).map_err(|m| ServiceError::validation("new_password", m))?;
    let staff_id = staff.id();
    let store = state.store.clone();
    blocking(move || {
        let current = store.read(|conn| db::access::staff::get_staff(conn, staff_id))?;
        if !verify_password(&current_password, &current.password_hash) {
            return Err(ServiceError::BadCredentials);
        }
        let hash = hash_password(&new_password)?;
        store.write(|conn| {
            sessions::set_password(conn, staff_id, &hash)?;
            refresh_sessions::revoke_all_of_staff(conn, staff_id, store.now())
        })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
