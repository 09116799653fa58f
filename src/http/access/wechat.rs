//! Volunteers sign in from the WeChat mini-program.

use actix_web::{delete, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ServiceError, ServiceResult};
use crate::http::access::{MemberAuth, Staff};
use crate::http::extract::ApiJson;
use crate::http::{blocking, AppState};
use crate::service::access::wechat::{self as service_wechat, MemberSignIn, WechatSignIn};
use crate::wechat::{code_to_session, WechatConfig};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "0a3Xk2000Fq8oQ1Yd2400sR1Xk2Xk20h"}))]
pub struct WechatLogin {
    /// The `code` from `wx.login()` in the mini-program (valid once, for five minutes).
    pub code: String,
}

/// The answer to a WeChat sign-in: signed in, or a binding is needed first. Switch on `status`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
#[schema(discriminator(property_name = "status", mapping(
    ("signed_in" = "#/components/schemas/SignedIn"),
    ("binding_required" = "#/components/schemas/BindingRequired"),
)))]
pub enum MemberSession {
    /// This WeChat user is a member: use `access_token`.
    SignedIn(SignedIn),
    /// This WeChat user is not linked to a member yet: call `/auth/wechat/bind` with
    /// `binding_ticket`, once, to link them to the member record.
    BindingRequired(BindingRequired),
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "signed_in", "member_id": 42, "access_token": "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIn0…", "expires_in": 900, "refresh_token": "mrt_5f0c…", "refresh_expires_in": 2592000}))]
pub struct SignedIn {
    pub status: SignedInStatus,
    pub member_id: i64,
    /// Member access token for `/api/v1/me…`. When it expires, exchange `refresh_token` at
    /// `/auth/wechat/refresh` (or call `wx.login` and `/auth/wechat` again). It stops working at
    /// once when the WeChat binding is undone.
    pub access_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Single use: `/auth/wechat/refresh` returns new tokens and a new refresh token. Keep it in
    /// the mini-program's storage, never in a URL. Ends when the WeChat binding is undone.
    pub refresh_token: String,
    /// Seconds until the refresh token expires.
    pub refresh_expires_in: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "binding_required", "binding_ticket": "wbt_3b1f…"}))]
pub struct BindingRequired {
    pub status: BindingRequiredStatus,
    /// Valid for 10 minutes, once.
    pub binding_ticket: String,
}

/// `SignedIn.status`: always `signed_in`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SignedInStatus {
    SignedIn,
}

/// `BindingRequired.status`: always `binding_required`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BindingRequiredStatus {
    BindingRequired,
}

/// A signed-in member's answer: an access token for the binding made at `bound_at`, and the
/// refresh token of the session (issued in the same transaction as the sign-in).
pub fn signed_in(state: &AppState, session: MemberSignIn) -> ServiceResult<MemberSession> {
    let MemberSignIn {
        member_id,
        bound_at,
        refresh,
    } = session;
    let now = chrono::Utc::now().timestamp();
    let token = state.keys.issue_member(member_id, bound_at, now)?;
    Ok(MemberSession::SignedIn(SignedIn {
        status: SignedInStatus::SignedIn,
        member_id,
        access_token: token,
        expires_in: state.keys.ttl_seconds,
        refresh_expires_in: (refresh.expires_at - state.now()) / 1_000_000,
        refresh_token: refresh.token,
    }))
}

/// Lifetime of a member session, as for staff (`PB_REFRESH_TOKEN_TTL_DAYS`).
pub fn refresh_ttl(state: &AppState) -> i64 {
    state.settings.refresh_token_ttl_days * 86_400 * 1_000_000
}

/// Sign in with WeChat
///
/// Exchanges a `wx.login` code for the user's openid at WeChat (`jscode2session`). If this WeChat
/// user is bound to a member, returns a member access token and the refresh token of a new
/// session; otherwise a binding ticket.
#[utoipa::path(
    tag = "auth",
    request_body = WechatLogin,
    responses(
        (status = 200, description = "Signed in, or binding required", body = MemberSession),
        (status = 401, description = "`wechat_code_invalid`: the code is invalid or was already used (WeChat errcode 40029); call wx.login again"),
        (status = 422, description = "`validation_failed`: the code is missing"),
        (status = 429, description = "`wechat_rate_limited`: WeChat limits this user (errcode 45011); retry after `Retry-After`"),
        (status = 502, description = "`wechat_unavailable`: WeChat could not be reached or answered an error"),
        (status = 503, description = "`wechat_busy`: WeChat is busy (errcode -1); retry after `Retry-After`"),
    )
)]
#[post("/auth/wechat")]
pub async fn wechat_login(
    state: web::Data<AppState>,
    body: ApiJson<WechatLogin>,
) -> ServiceResult<HttpResponse> {
    let code = body.0.code;
    if code.is_empty() || code.len() > 128 {
        return Err(ServiceError::validation(
            "code",
            "must be the code from wx.login()",
        ));
    }
    let config = WechatConfig {
        api_base: state.settings.wechat_api_base.clone(),
        appid: state.settings.wechat_appid.clone(),
        secret: state.settings.wechat_secret.clone(),
    };
    let session = code_to_session(&config, &code).await?;
    let ttl = refresh_ttl(&state);
    let store = state.store.clone();
    let outcome = blocking(move || service_wechat::sign_in(&store, &session, ttl)).await?;
    let reply = match outcome {
        WechatSignIn::SignedIn(session) => signed_in(&state, session)?,
        WechatSignIn::BindingRequired { ticket } => {
            MemberSession::BindingRequired(BindingRequired {
                status: BindingRequiredStatus::BindingRequired,
                binding_ticket: ticket,
            })
        }
    };
    Ok(HttpResponse::Ok().json(reply))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"binding_ticket": "wt_9c1e…", "phone": "13812341234", "name": "王秀英"}))]
pub struct WechatBind {
    pub binding_ticket: String,
    /// The phone number the village registered for the member.
    pub phone: String,
    /// The member's name as registered.
    pub name: String,
}

/// Link WeChat to a member
///
/// Binds the WeChat user of a `binding_ticket` to the member registered with this phone number and
/// name, then signs in. Each member and each WeChat user can be bound once; the member
/// (`DELETE /me/wechat`) or the village's administrator (`DELETE /members/{member_id}/wechat`) can
/// undo a binding, after which the next sign-in asks for a binding again.
#[utoipa::path(
    tag = "auth",
    request_body = WechatBind,
    responses(
        (status = 200, description = "Bound and signed in", body = MemberSession),
        (status = 401, description = "`unauthorized`: the ticket is unknown, used or expired"),
        (status = 409, description = "`already_exists`: this member or this WeChat user is already bound"),
        (status = 422, description = "`binding_refused`: no active member with this phone and name; `validation_failed`: a field is missing"),
    )
)]
#[post("/auth/wechat/bind")]
pub async fn wechat_bind(
    state: web::Data<AppState>,
    body: ApiJson<WechatBind>,
) -> ServiceResult<HttpResponse> {
    let WechatBind {
        binding_ticket,
        phone,
        name,
    } = body.0;
    let ttl = refresh_ttl(&state);
    let store = state.store.clone();
    let session =
        blocking(move || service_wechat::bind(&store, &binding_ticket, &phone, &name, ttl)).await?;
    Ok(HttpResponse::Ok().json(signed_in(&state, session)?))
}

/// Unlink my WeChat
///
/// Unlinks the signed-in member's WeChat user, e.g. before giving a phone away, and ends every
/// session (refresh token) of the member. Member access tokens are checked against the binding
/// they were issued for, so this token and every other one of the binding stop working at once. The next `POST /auth/wechat` from that WeChat user answers
/// `binding_required` again. The member's record, card and points stay as they are.
#[utoipa::path(
    tag = "me",
    security(("member" = [])),
    responses(
        (status = 204, description = "Unlinked; discard the access token"),
        (status = 401, description = "`unauthorized`: missing or invalid member token, or the binding was already undone"),
        (status = 403, description = "`forbidden`: a staff token, not a member token"),
    )
)]
#[delete("/me/wechat")]
pub async fn unbind_my_wechat(
    req: HttpRequest,
    state: web::Data<AppState>,
    member: MemberAuth,
) -> ServiceResult<HttpResponse> {
    let (store, audit) = (state.store.clone(), member.audit(&req));
    blocking(move || service_wechat::unbind_mine(&store, member.0, &audit)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Undo a member's WeChat binding
///
/// For a lost phone or a binding made by the wrong person: unlinks the member's WeChat user. Its
/// next `POST /auth/wechat` answers `binding_required` again (binding needs the registered phone
/// and name), the member's sessions (refresh tokens) end, and the member access tokens issued for
/// the old binding stop working at once (every member request checks the binding its token was
/// issued for). The member's record, card and
/// points stay as they are. Needs `org_admin` over the member's unit; audited as
/// `member.wechat_unbind` with before and after.
#[utoipa::path(
    tag = "members",
    params(("member_id" = i64, Path, description = "Member id")),
    security(("staff" = [])),
    responses(
        (status = 204, description = "Unlinked"),
        (status = 401, description = "`unauthorized`: missing or invalid bearer token"),
        (status = 403, description = "`forbidden`: the member's unit is outside your scope, or your role there is not org_admin"),
        (status = 404, description = "`not_found`: no such member, or the member has no WeChat binding"),
    )
)]
#[delete("/members/{member_id}/wechat")]
pub async fn unbind_member_wechat(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<i64>,
) -> ServiceResult<HttpResponse> {
    let (store, audit, member_id) = (state.store.clone(), staff.audit(&req), path.into_inner());
    blocking(move || service_wechat::unbind_member(&store, &staff, &audit, member_id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
