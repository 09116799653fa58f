//! The signed-in staff member and the scope checks every handler makes.

pub mod audit;
pub mod auth;
pub mod member_sessions;
pub mod orgs;
pub mod staff;
pub mod staff_me;
pub mod wechat;

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};

use crate::auth::jwt::Claims;
use crate::clock::{Clock, SystemClock};
use crate::db;
use crate::db::access::audit::AuditContext;
use crate::error::ServiceError;
use crate::http::{with_db, AppState};

pub use crate::service::access::{Guard, Staff};

impl Staff {
    /// Who is acting and from where, for the audit log.
    pub fn audit(&self, req: &HttpRequest) -> AuditContext {
        audit_context(self.0.sub.clone(), req)
    }
}

impl FromRequest for Staff {
    type Error = ServiceError;
    type Future = std::future::Ready<Result<Self, ServiceError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(staff_from(req))
    }
}

fn staff_from(req: &HttpRequest) -> Result<Staff, ServiceError> {
    let claims = verified_claims(req)?;
    if claims.kind != "staff" {
        return Err(ServiceError::Forbidden);
    }
    Ok(Staff(claims))
}

/// The claims of a valid bearer token of either kind.
fn verified_claims(req: &HttpRequest) -> Result<Claims, ServiceError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("app state missing")))?;
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .ok_or(ServiceError::Unauthorized("missing bearer token"))?;
    let token = header
        .to_str()
        .ok()
        .and_then(bearer_token)
        .ok_or(ServiceError::Unauthorized("malformed Authorization header"))?;
    let claims = state
        .keys
        .verify(token.trim())
        .ok_or(ServiceError::Unauthorized("invalid or expired token"))?;
    Ok(claims)
}

/// The token of `Bearer <token>`. The scheme is case-insensitive (RFC 9110 §11.1), so
/// `bearer …` and `BEARER …` work too.
fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token)
}

/// The request id, put in the request's extensions by the request-id middleware.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

fn audit_context(actor: String, req: &HttpRequest) -> AuditContext {
    let at = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.now())
        .unwrap_or_else(|| SystemClock.now_micros());
    AuditContext {
        actor,
        at,
        client_ip: req.peer_addr().map(|a| a.ip().to_string()),
        request_id: req.extensions().get::<RequestId>().map(|id| id.0.clone()),
    }
}

/// A signed-in member (bearer access token of kind `member`, from WeChat sign-in). The token is
/// held against the WeChat binding it was issued for: once that binding is undone (or replaced),
/// the token stops working, before it expires.
pub struct MemberAuth(pub i64);

impl MemberAuth {
    /// The member acting on their own record, for the audit log.
    pub fn audit(&self, req: &HttpRequest) -> AuditContext {
        audit_context(format!("member:{}", self.0), req)
    }
}

/// The member id and binding time a member token names.
fn member_claims(claims: Claims) -> Result<(i64, i64), ServiceError> {
    if claims.kind != "member" {
        return Err(ServiceError::Forbidden);
    }
    let member_id = claims
        .sub
        .strip_prefix("member:")
        .and_then(|id| id.parse().ok())
        .ok_or(ServiceError::Unauthorized("invalid member token"))?;
    let binding = claims
        .binding
        .ok_or(ServiceError::Unauthorized("member token without a binding"))?;
    Ok((member_id, binding))
}

impl FromRequest for MemberAuth {
    type Error = ServiceError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ServiceError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let claimed = verified_claims(req).and_then(member_claims);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let (member_id, binding) = claimed?;
            let state = state
                .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("app state missing")))?;
            let current = with_db(&state, move |conn| {
                db::access::wechat::bound_at(conn, member_id)
            })
            .await?;
            if current != Some(binding) {
                return Err(ServiceError::Unauthorized(
                    "the WeChat binding of this token was undone; sign in again",
                ));
            }
            Ok(MemberAuth(member_id))
        })
    }
}
