//! Members' mini-program sessions: refresh without another `wx.login`, and sign out.

use actix_web::{post, web, HttpResponse};

use crate::db::access::refresh_sessions::{Holder, SessionKind};
use crate::error::{ServiceError, ServiceResult};
use crate::http::access::auth::RefreshRequest;
use crate::http::access::wechat::{refresh_ttl, signed_in, MemberSession};
use crate::http::extract::ApiJson;
use crate::http::{blocking, AppState};
use crate::service::access::sessions;
use crate::service::access::wechat::MemberSignIn;

/// Refresh a member's tokens
///
/// Spends a member refresh token (from `/auth/wechat` or `/auth/wechat/bind`) and returns a new
/// member access token and a new refresh token, so the mini-program need not call `wx.login`
/// every time the access token expires. A refresh token works once: presenting a spent one means
/// it was copied, so the whole session ends (`refresh_token_reused`). A session also ends when the
/// member's WeChat binding is undone. Access tokens already issued are not revoked by a reuse;
/// they expire after `expires_in` seconds (or at once, when the binding is undone).
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New tokens", body = MemberSession),
        (status = 401, description = "`invalid_refresh_token`: unknown, expired, signed out, or its WeChat binding was undone; `refresh_token_reused`: already spent, the session is now ended"),
        (status = 422, description = "`validation_failed`: the field is missing"),
    )
)]
#[post("/auth/wechat/refresh")]
pub async fn refresh_member_session(
    state: web::Data<AppState>,
    body: ApiJson<RefreshRequest>,
) -> ServiceResult<HttpResponse> {
    let token = body.0.refresh_token;
    let ttl = refresh_ttl(&state);
    let store = state.store.clone();
    let (holder, next) =
        blocking(move || sessions::refresh(&store, SessionKind::Member, &token, ttl)).await?;
    let Holder::Member { member_id, binding } = holder else {
        return Err(ServiceError::InvalidRefreshToken);
    };
    let session = MemberSignIn {
        member_id,
        bound_at: binding,
        refresh: next,
    };
    Ok(HttpResponse::Ok().json(signed_in(&state, session)?))
}

/// Sign a member out
///
/// Ends the mini-program session the refresh token belongs to (every refresh token of that
/// sign-in). The access token stays valid until it expires (at most `expires_in` seconds);
/// discard it. To end every session and unlink WeChat, use `DELETE /me/wechat`.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 204, description = "Signed out (also for unknown tokens)"),
        (status = 422, description = "`validation_failed`: the field is missing"),
    )
)]
#[post("/auth/wechat/logout")]
pub async fn member_logout(
    state: web::Data<AppState>,
    body: ApiJson<RefreshRequest>,
) -> ServiceResult<HttpResponse> {
    let token = body.0.refresh_token;
    let store = state.store.clone();
    blocking(move || sessions::sign_out(&store, SessionKind::Member, &token)).await?;
    Ok(HttpResponse::NoContent().finish())
}
