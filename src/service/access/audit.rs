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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::access::audit::created;
    use crate::db::access::orgs::OrgKind;
    use crate::domain::access::Role;
    use crate::error::ServiceError;
    use crate::service::testing::Village;

    fn everything() -> AuditFilter {
        AuditFilter {
            limit: 50,
            ..AuditFilter::default()
        }
    }

    #[test]
    fn the_audit_list_shows_only_rows_of_the_readers_units() {
        let village = Village::fresh();
        let neighbour = village.unit("330106001009", "绿水村", OrgKind::Village, None);
        let admin = village.staff(1, Role::OrgAdmin);
        let context = village.audit(&admin);
        village
            .store
            .write(|c| {
                created(
                    c,
                    &context,
                    "test.here",
                    "t:1".into(),
                    &village.org.path,
                    &1,
                )?;
                created(c, &context, "test.there", "t:2".into(), &neighbour.path, &2)
            })
            .expect("audit rows");

        let auditor = village.staff(3, Role::Auditor);
        let rows = list_audit(&village.store, &auditor, everything()).expect("list");

        let targets: Vec<&str> = rows.iter().map(|r| r.target.as_str()).collect();
        assert!(targets.contains(&"t:1"), "{targets:?}");
        assert!(!targets.contains(&"t:2"), "{targets:?}");
    }

    #[test]
    fn a_clerk_who_may_audit_no_unit_is_forbidden() {
        let village = Village::fresh();
        let clerk = village.staff(2, Role::Clerk);
        let refused = list_audit(&village.store, &clerk, everything());
        assert!(
            matches!(refused, Err(ServiceError::Forbidden)),
            "{refused:?}"
        );
    }
}
