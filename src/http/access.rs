//! The signed-in staff member and the scope checks every handler makes.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};

use super::{with_db, AppState};
use crate::auth::jwt::Claims;
use crate::clock::{Clock, SystemClock};
use crate::db::audit::AuditContext;
use crate::db::{self, Db};
use crate::domain::access::{permits, Action, Grant, Role};
use crate::error::{ServiceError, ServiceResult};

/// A signed-in staff member (bearer access token of kind `staff`).
pub struct Staff(pub Claims);

impl Staff {
    /// How this staff member appears as the cause of ledger entries and audit records.
    pub fn actor(&self) -> &str {
        &self.0.sub
    }

    pub fn id(&self) -> i64 {
        self.0
            .sub
            .strip_prefix("staff:")
            .and_then(|id| id.parse().ok())
            .unwrap_or_default()
    }

    /// Who is acting and from where, for the audit log.
    pub fn audit(&self, req: &HttpRequest) -> AuditContext {
        audit_context(self.0.sub.clone(), req)
    }

    /// A check for `action` that can travel into a database closure.
    pub fn guard(&self, action: Action) -> Guard {
        Guard {
            grants: self.0.scopes.clone(),
            action,
        }
    }

    /// The subtrees in which this staff member may do `action` (for filtering lists).
    pub fn paths_for(&self, action: Action) -> Vec<String> {
        self.0
            .scopes
            .iter()
            .filter(|g| Role::parse(&g.role).is_some_and(|role| role.allows(action)))
            .map(|g| g.path.clone())
            .collect()
    }
}

#[derive(Clone)]
pub struct Guard {
    grants: Vec<Grant>,
    action: Action,
}

impl Guard {
    /// Allows the action on the unit at `path`. Refuses with `forbidden` on the caller's own units
    /// and the units above them (their role does not allow it there), and with `not_found` on
    /// every other branch of the tree: another village's records are answered exactly like
    /// missing ones, so ids cannot be enumerated.
    pub fn at(&self, path: &str) -> ServiceResult<()> {
        if permits(&self.grants, self.action, path) {
            Ok(())
        } else if self
            .grants
            .iter()
            .any(|grant| grant.covers(path) || grant.path.starts_with(path))
        {
            Err(ServiceError::Forbidden)
        } else {
            Err(ServiceError::NotFound("record in your units"))
        }
    }

    /// Whether the action is allowed on the unit at `path`.
    pub fn covers(&self, path: &str) -> bool {
        permits(&self.grants, self.action, path)
    }

    /// Allows the action on a bank's book: the bank's unit must be inside a matching grant.
    /// Returns the unit's path (for the audit log).
    pub fn bank(&self, conn: &mut Db, bank_id: i64) -> ServiceResult<String> {
        let path = db::banks::bank_path(conn, bank_id)?;
        self.at(&path)?;
        Ok(path)
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
            let current =
                with_db(&state, move |conn| db::wechat::bound_at(conn, member_id)).await?;
            if current != Some(binding) {
                return Err(ServiceError::Unauthorized(
                    "the WeChat binding of this token was undone; sign in again",
                ));
            }
            Ok(MemberAuth(member_id))
        })
    }
}
