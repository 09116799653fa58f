//! The organisation tree: org admins add units below their own and move whole branches; every
//! staff member sees the units of their grants and everything below.

use crate::db;
use crate::db::access::audit::{self, AuditContext};
use crate::db::access::orgs::{NewOrg, OrgKind, OrgRow};
use crate::domain::access::Action;
use crate::error::ServiceResult;
use crate::service::access::Staff;
use crate::service::Store;

/// A new unit, its fields already checked for length.
#[derive(Debug, Clone)]
pub struct CreateOrgCommand {
    pub code: String,
    pub name: String,
    pub kind: OrgKind,
    /// `None` for a top-level unit, which only platform administrators may create.
    pub parent_id: Option<i64>,
}

/// Adds a unit below its parent (needs `org_admin` there).
pub fn create_org(
    store: &Store,
    staff: &Staff,
    audit: &AuditContext,
    command: &CreateOrgCommand,
) -> ServiceResult<OrgRow> {
    let guard = staff.guard(Action::ManageOrgs);
    store.write(|conn| {
        let parent = command
            .parent_id
            .map(|id| db::access::orgs::get_org(conn, id))
            .transpose()?;
        guard.at(parent.as_ref().map_or("/", |p| p.path.as_str()))?;
        let new = NewOrg {
            code: &command.code,
            name: &command.name,
            kind: command.kind,
            parent: parent.as_ref(),
        };
        let org = db::access::orgs::create_org(conn, new, store.now())?;
        let target = format!("org:{}", org.id);
        audit::created(conn, audit, "org.create", target, &org.path, &org)?;
        Ok(org)
    })
}

/// Moves a unit with everything below it under another parent; needs `org_admin` over both.
pub fn move_org(
    store: &Store,
    staff: &Staff,
    audit: &AuditContext,
    org_id: i64,
    parent_id: i64,
) -> ServiceResult<OrgRow> {
    let guard = staff.guard(Action::ManageOrgs);
    store.write(|conn| {
        let org = db::access::orgs::get_org(conn, org_id)?;
        let parent = db::access::orgs::get_org(conn, parent_id)?;
        guard.at(&org.path)?;
        guard.at(&parent.path)?;
        let moved = db::access::orgs::move_org(conn, &org, &parent)?;
        let target = format!("org:{org_id}");
        audit::changed(conn, audit, "org.move", target, &moved.path, &org, &moved)?;
        Ok(moved)
    })
}

/// The units in the staff member's scope, parents before children.
pub fn list_orgs(store: &Store, staff: &Staff) -> ServiceResult<Vec<OrgRow>> {
    let paths = staff.paths_for(Action::ReadLedger);
    store.read(|conn| db::access::orgs::list_under(conn, &paths))
}

/// One unit; those outside the staff member's scope are `not_found`, like missing ones.
pub fn get_org(store: &Store, staff: &Staff, org_id: i64) -> ServiceResult<OrgRow> {
    let guard = staff.guard(Action::ReadLedger);
    store.read(|conn| {
        let org = db::access::orgs::get_org(conn, org_id)?;
        guard.at(&org.path)?;
        Ok(org)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access::Role;
    use crate::error::ServiceError;
    use crate::service::testing::Village;

    fn grid(code: &str, parent_id: i64) -> CreateOrgCommand {
        CreateOrgCommand {
            code: code.into(),
            name: format!("网格{code}"),
            kind: OrgKind::Grid,
            parent_id: Some(parent_id),
        }
    }

    #[test]
    fn an_org_admin_adds_a_grid_below_the_village_and_sees_it() {
        let village = Village::fresh();
        let admin = village.staff(1, Role::OrgAdmin);
        let grid = create_org(
            &village.store,
            &admin,
            &village.audit(&admin),
            &grid("G1", village.org.id),
        )
        .expect("created");
        assert_eq!(grid.path, format!("{}{}/", village.org.path, grid.id));
        let seen: Vec<i64> = list_orgs(&village.store, &admin)
            .expect("list")
            .iter()
            .map(|o| o.id)
            .collect();
        assert_eq!(seen, [village.org.id, grid.id]);
        assert_eq!(village.audited(&format!("org:{}", grid.id)), ["org.create"]);
    }

    #[test]
    fn only_a_platform_admin_creates_a_top_level_unit() {
        let village = Village::fresh();
        let admin = village.staff(1, Role::OrgAdmin);
        let county = CreateOrgCommand {
            code: "330106".into(),
            name: "西湖区".into(),
            kind: OrgKind::County,
            parent_id: None,
        };
        let refused = create_org(&village.store, &admin, &village.audit(&admin), &county);
        assert!(
            matches!(refused, Err(ServiceError::Forbidden)),
            "{refused:?}"
        );
    }

    #[test]
    fn a_grid_moves_between_two_grids_only_under_a_higher_level() {
        let village = Village::fresh();
        let admin = village.staff(1, Role::OrgAdmin);
        let audit = village.audit(&admin);
        let first =
            create_org(&village.store, &admin, &audit, &grid("G1", village.org.id)).expect("g1");
        let second =
            create_org(&village.store, &admin, &audit, &grid("G2", village.org.id)).expect("g2");
        let refused = move_org(&village.store, &admin, &audit, second.id, first.id);
        assert!(
            matches!(refused, Err(ServiceError::Validation { .. })),
            "{refused:?}"
        );
        assert_eq!(
            get_org(&village.store, &admin, second.id)
                .expect("read")
                .parent_id,
            Some(village.org.id)
        );
    }

    #[test]
    fn a_grid_admin_sees_the_grid_but_not_the_village_above_it() {
        let village = Village::fresh();
        let admin = village.staff(1, Role::OrgAdmin);
        let grid = create_org(
            &village.store,
            &admin,
            &village.audit(&admin),
            &grid("G1", village.org.id),
        )
        .expect("grid");
        let grid_admin = Staff(crate::auth::jwt::Claims {
            scopes: vec![crate::domain::access::Grant {
                role: "org_admin".into(),
                path: grid.path.clone(),
            }],
            ..admin.0.clone()
        });
        assert!(get_org(&village.store, &grid_admin, grid.id).is_ok());
        let above = get_org(&village.store, &grid_admin, village.org.id);
        assert!(matches!(above, Err(ServiceError::Forbidden)), "{above:?}");
    }
}
