//! The acting principal: a signed-in staff member and the scope checks every use-case makes.

pub mod audit;
pub mod orgs;
pub mod sessions;
pub mod staff;
pub mod wechat;

use crate::auth::jwt::Claims;
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

    /// Allows the action on the organisation unit `org_id` (an activity's, a shop's). Returns the
    /// unit's path (for the audit log).
    pub fn org(&self, conn: &mut Db, org_id: i64) -> ServiceResult<String> {
        let path = db::access::orgs::get_org(conn, org_id)?.path;
        self.at(&path)?;
        Ok(path)
    }

    /// Allows the action on a bank's book: the bank's unit must be inside a matching grant.
    /// Returns the unit's path (for the audit log).
    pub fn bank(&self, conn: &mut Db, bank_id: i64) -> ServiceResult<String> {
        let path = db::ledger::banks::bank_path(conn, bank_id)?;
        self.at(&path)?;
        Ok(path)
    }
}
