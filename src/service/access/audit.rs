//! Reading the audit log: only the rows about units the reader may audit.

use crate::db;
use crate::db::access::audit::{AuditQuery, AuditRow};
use crate::domain::access::Action;
use crate::error::ServiceResult;
use crate::service::access::Staff;
use crate::service::Store;

/// What the reader asks of the log; their scope is added from their grants.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only rows older than this id (the cursor).
    pub before_id: Option<i64>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub limit: i64,
}

/// One page of the log, newest first. `forbidden` for a staff member who may audit no unit.
pub fn list_audit(
    store: &Store,
    staff: &Staff,
    filter: AuditFilter,
) -> ServiceResult<Vec<AuditRow>> {
    let query = AuditQuery {
        paths: staff.paths_for(Action::ReadAudit),
        before_id: filter.before_id,
        actor: filter.actor,
        action: filter.action,
        limit: filter.limit,
    };
    store.read(|conn| db::access::audit::list(conn, &query))
}
