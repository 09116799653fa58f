//! Volunteers sign in from the WeChat mini-program.

use actix_web::{post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::ApiJson;
use super::{in_write_tx, AppState};
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::wechat::{code_to_session, WechatConfig};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "0a3Xk2000Fq8oQ1Yd2400sR1Xk2Xk20h"}))]
pub struct WechatLogin {
    /// The `code` from `wx.login()` in the mini-program (valid once, for five minutes).
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "signed_in", "member_id": 42, "access_token": "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIn0…", "expires_in": 900, "binding_ticket": null}))]
pub struct MemberSession {
    /// `signed_in` (use `access_token`) or `binding_required` (call `/auth/wechat/bind` with
    /// `binding_ticket`, once, to link this WeChat user to the member record).
    pub status: String,
    pub member_id: Option<i64>,
    /// Member access token for `/api/v1/me…`. When it expires, call `wx.login` and this endpoint again.
    pub access_token: Option<String>,
    pub expires_in: Option<i64>,
    /// Valid for 10 minutes, once.
    pub binding_ticket: Option<String>,
}

fn signed_in(state: &AppState, member_id: i64) -> ApiResult<MemberSession> {
    let now = chrono::Utc::now().timestamp();
    let token = state
        .keys
        .issue(format!("member:{member_id}"), "member", vec![], now)?;
    Ok(MemberSession {
        status: "signed_in".into(),
        member_id: Some(member_id),
        access_token: Some(token),
        expires_in: Some(state.keys.ttl_seconds),
        binding_ticket: None,
    })
}

/// Sign in with WeChat
///
/// Exchanges a `wx.login` code for the user's openid at WeChat (`jscode2session`). If this WeChat
/// user is bound to a member, returns a member access token; otherwise a binding ticket.
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
) -> ApiResult<HttpResponse> {
    let code = body.0.code;
    if code.is_empty() || code.len() > 128 {
        return Err(ApiError::validation(
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
    let outcome = in_write_tx(&state, move |conn| {
        match db::wechat::member_of(conn, &session.openid)? {
            Some(member_id) => Ok(Ok(member_id)),
            None => Ok(Err(db::wechat::issue_ticket(
                conn,
                &session,
                db::now_micros(),
            )?)),
        }
    })
    .await?;
    let reply = match outcome {
        Ok(member_id) => signed_in(&state, member_id)?,
        Err(ticket) => MemberSession {
            status: "binding_required".into(),
            member_id: None,
            access_token: None,
            expires_in: None,
            binding_ticket: Some(ticket),
        },
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
/// name, then signs in. Each member and each WeChat user can be bound once; the village committee
/// can undo a wrong binding.
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
) -> ApiResult<HttpResponse> {
    let WechatBind {
        binding_ticket,
        phone,
        name,
    } = body.0;
    let name = name.trim().to_string();
    let member_id = in_write_tx(&state, move |conn| {
        db::wechat::bind(conn, &binding_ticket, phone.trim(), &name, db::now_micros())
    })
    .await?;
    Ok(HttpResponse::Ok().json(signed_in(&state, member_id)?))
}
