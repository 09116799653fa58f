//! Staff accounts and their role grants. Org admins create accounts and grant roles on their own
//! units; a staff member whose roles all lie elsewhere is another unit's to manage.

use serde::Serialize;

use crate::auth::password::{check_password_rules, hash_password};
use crate::db::access::audit::{self, AuditContext};
use crate::db::access::staff::{GrantRow, StaffRow};
use crate::db::{self, Db};
use crate::domain::access::privacy::{is_mainland_mobile, mask_phone};
use crate::domain::access::{Action, Role};
use crate::error::{ConflictCode, ServiceError, ServiceResult};
use crate::service::access::{Guard, Staff};
use crate::service::Store;

/// One active grant with the path it covers (`/` for platform administrators).
#[derive(Debug, Clone, Serialize)]
pub struct GrantRecord {
    pub id: i64,
    pub role: String,
    pub org_id: Option<i64>,
    pub path: String,
    pub granted_by: String,
    pub created_at: i64,
}

/// A staff account as its managers see it: phone masked, no password hash, and only the grants
/// on units the reader manages (another village's roles of the same person are not theirs).
#[derive(Debug, Clone, Serialize)]
pub struct StaffRecord {
    pub id: i64,
    pub phone: String,
    pub name: String,
    pub active: bool,
    pub grants: Vec<GrantRecord>,
}

impl StaffRecord {
    fn of(row: StaffRow, grants: Vec<(GrantRow, String)>, visible: impl Fn(&str) -> bool) -> Self {
        StaffRecord {
            id: row.id,
            phone: mask_phone(&row.phone),
            name: row.name,
            active: row.active,
            grants: grants
                .into_iter()
                .filter(|(_, path)| visible(path))
                .map(|(grant, path)| GrantRecord {
                    id: grant.id,
                    role: grant.role,
                    org_id: grant.org_id,
                    path,
                    granted_by: grant.granted_by,
                    created_at: grant.created_at,
                })
                .collect(),
        }
    }
}

fn load(conn: &mut Db, staff_id: i64, guard: &Guard) -> ServiceResult<StaffRecord> {
    let row = db::access::staff::get_staff(conn, staff_id)?;
    let grants = db::access::staff::active_grants(conn, staff_id)?;
    Ok(StaffRecord::of(row, grants, |path| guard.covers(path)))
}

/// A new account, checked: a mainland mobile number, a name, a password that meets the rules.
pub struct NewStaffCommand {
    phone: String,
    name: String,
    password: String,
}

impl NewStaffCommand {
    pub fn checked(phone: String, name: String, password: String) -> ServiceResult<Self> {
        if !is_mainland_mobile(&phone) {
            return Err(ServiceError::validation(
                "phone",
                "must be an 11-digit mainland-China mobile number",
            ));
        }
        let name = crate::domain::text::required_text("name", &name, 50)?;
        check_password_rules(&password).map_err(|m| ServiceError::validation("password", m))?;
        Ok(NewStaffCommand {
            phone,
            name,
            password,
        })
    }
}

/// Creates an account without any role (grant one next). Needs `org_admin` somewhere; the audit
/// record is filed under the creator's first managed unit. The password is hashed before the
/// write transaction, so the writer turn is not held during argon2.
pub fn create_staff(
    store: &Store,
    staff: &Staff,
    audit: &AuditContext,
    command: &NewStaffCommand,
) -> ServiceResult<StaffRecord> {
    let filed_under = staff
        .paths_for(Action::ManageStaff)
        .into_iter()
        .next()
        .ok_or(ServiceError::Forbidden)?;
    let hash = hash_password(&command.password)?;
    store.write(|conn| {
        let row = db::access::staff::create_staff(
            conn,
            &command.phone,
            &command.name,
            &hash,
            "staff",
            store.now(),
        )?;
        let record = StaffRecord::of(row, vec![], |_| true);
        let target = format!("staff:{}", record.id);
        audit::created(conn, audit, "staff.create", target, &filed_under, &record)?;
        Ok(record)
    })
}

/// The staff with a grant in the reader's units, each with the grants the reader may see.
pub fn list_staff(store: &Store, staff: &Staff) -> ServiceResult<Vec<StaffRecord>> {
    let paths = staff.paths_for(Action::ManageStaff);
    let guard = staff.guard(Action::ManageStaff);
    let listed = store.read(|conn| db::access::staff::list_under(conn, &paths))?;
    Ok(listed
        .into_iter()
        .map(|(row, grants)| StaffRecord::of(row, grants, |path| guard.covers(path)))
        .collect())
}

/// The signed-in staff member's own account with all of their grants.
pub fn who_am_i(store: &Store, staff: &Staff) -> ServiceResult<StaffRecord> {
    let staff_id = staff.id();
    store.read(|conn| {
        let row = db::access::staff::get_staff(conn, staff_id)?;
        let grants = db::access::staff::active_grants(conn, staff_id)?;
        Ok(StaffRecord::of(row, grants, |_| true))
    })
}

/// A role on a unit (`org_id`), or platform administration (no unit).
pub struct GrantCommand {
    role: Role,
    org_id: Option<i64>,
}

impl GrantCommand {
    pub fn checked(role: &str, org_id: Option<i64>) -> ServiceResult<Self> {
        let role =
            Role::parse(role).ok_or_else(|| ServiceError::validation("role", "unknown role"))?;
        if (role == Role::PlatformAdmin) != org_id.is_none() {
            return Err(ServiceError::validation(
                "org_id",
                "required for every role except platform_admin, which must omit it",
            ));
        }
        Ok(GrantCommand { role, org_id })
    }
}

/// Whether a grant changed anything: granting what is already granted answers with the grants
/// as they are.
pub struct Granted {
    pub staff: StaffRecord,
    pub created: bool,
}

/// A staff member whose roles all lie outside the granter's units is another unit's staff: their
/// account is not the granter's to extend. A new account without any role is anyone's to start.
fn check_manageable(guard: &Guard, grants: &[(GrantRow, String)]) -> ServiceResult<()> {
    if grants.is_empty() || grants.iter().any(|(_, path)| guard.covers(path)) {
        Ok(())
    } else {
        Err(ServiceError::Forbidden)
    }
}

pub fn grant_role(
    store: &Store,
    staff: &Staff,
    audit: &AuditContext,
    staff_id: i64,
    command: &GrantCommand,
) -> ServiceResult<Granted> {
    let guard = staff.guard(Action::ManageStaff);
    store.write(|conn| {
        let row = db::access::staff::get_staff(conn, staff_id)?;
        let path = match command.org_id {
            Some(org_id) => db::access::orgs::get_org(conn, org_id)?.path,
            None => "/".to_string(),
        };
        guard.at(&path)?;
        let grants = db::access::staff::active_grants(conn, staff_id)?;
        check_manageable(&guard, &grants)?;
        let before = StaffRecord::of(row, grants, |p| guard.covers(p));
        let (role, org_id) = (command.role, command.org_id);
        if db::access::staff::find_active_grant(conn, staff_id, role, org_id)?.is_some() {
            return Ok(Granted {
                staff: before,
                created: false,
            });
        }
        db::access::staff::add_grant(conn, staff_id, role, org_id, staff.actor(), store.now())?;
        let after = load(conn, staff_id, &guard)?;
        let target = format!("staff:{staff_id}");
        audit::changed(conn, audit, "staff.grant", target, &path, &before, &after)?;
        Ok(Granted {
            staff: after,
            created: true,
        })
    })
}

/// Ends a grant. The last active platform administrator keeps theirs (`last_admin`).
pub fn revoke_role(
    store: &Store,
    staff: &Staff,
    audit: &AuditContext,
    staff_id: i64,
    grant_id: i64,
) -> ServiceResult<StaffRecord> {
    let guard = staff.guard(Action::ManageStaff);
    store.write(|conn| {
        let row = db::access::staff::get_staff(conn, staff_id)?;
        let (grant, path) = db::access::staff::get_grant(conn, staff_id, grant_id)?;
        guard.at(&path)?;
        let grants = db::access::staff::active_grants(conn, staff_id)?;
        if grant.role == Role::PlatformAdmin.as_str() {
            refuse_removing_the_last_admin(conn, staff_id, &grants)?;
        }
        let before = StaffRecord::of(row, grants, |p| guard.covers(p));
        db::access::staff::revoke_grant(conn, grant_id, store.now())?;
        let after = load(conn, staff_id, &guard)?;
        let target = format!("staff:{staff_id}");
        audit::changed(conn, audit, "staff.revoke", target, &path, &before, &after)?;
        Ok(after)
    })
}

/// Nobody may end the last active platform_admin grant: the platform would be locked out.
fn refuse_removing_the_last_admin(
    conn: &mut Db,
    staff_id: i64,
    grants: &[(GrantRow, String)],
) -> ServiceResult<()> {
    let admins = db::access::staff::active_platform_admins(conn)?;
    let keeps_another_admin_grant = grants
        .iter()
        .filter(|(grant, _)| grant.role == Role::PlatformAdmin.as_str())
        .count()
        > 1;
    if admins.iter().all(|&admin| admin == staff_id) && !keeps_another_admin_grant {
        return Err(ServiceError::conflict(
            ConflictCode::LastAdmin,
            "this is the last active platform administrator; grant the role to someone else first",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::access::audit::AuditQuery;
    use crate::domain::access::Grant;
    use crate::service::testing::Village;

    fn new_clerk(phone: &str) -> NewStaffCommand {
        NewStaffCommand::checked(
            phone.into(),
            " 李会计 ".into(),
            "a-long-initial-password".into(),
        )
        .expect("valid")
    }

    fn platform_admin(village: &Village) -> Staff {
        let mut admin = village.staff(90, Role::PlatformAdmin);
        admin.0.scopes = vec![Grant {
            role: Role::PlatformAdmin.as_str().into(),
            path: "/".into(),
        }];
        admin
    }

    fn org_id_of(staff: &Staff) -> i64 {
        let path = &staff.0.scopes[0].path;
        path.trim_end_matches('/')
            .rsplit('/')
            .next()
            .and_then(|id| id.parse().ok())
            .expect("id")
    }

    #[test]
    fn a_new_account_starts_without_roles_and_its_audit_record_holds_no_secret() {
        let village = Village::fresh();
        let admin = village.staff(1, Role::OrgAdmin);
        let created = create_staff(
            &village.store,
            &admin,
            &village.audit(&admin),
            &new_clerk("13800000009"),
        )
        .expect("created");
        assert_eq!(
            (created.phone.as_str(), created.name.as_str()),
            ("138****0009", "李会计")
        );
        assert!(created.grants.is_empty());
        let query = AuditQuery {
            paths: vec!["/".into()],
            before_id: None,
            actor: None,
            action: None,
            limit: 10,
        };
        let rows = village
            .store
            .read(|c| db::access::audit::list(c, &query))
            .expect("audit");
        let after = rows[0].after_json.clone().unwrap_or_default();
        assert!(
            !after.contains("13800000009") && !after.contains("argon2"),
            "{after}"
        );
    }

    #[test]
    fn a_bad_phone_or_a_short_password_is_refused_before_anything_is_written() {
        let phone = NewStaffCommand::checked(
            "1380000".into(),
            "李".into(),
            "a-long-initial-password".into(),
        );
        assert_eq!(phone.err().map(|e| e.code()), Some("validation_failed"));
        let password = NewStaffCommand::checked("13800000009".into(), "李".into(), "short".into());
        assert_eq!(password.err().map(|e| e.code()), Some("validation_failed"));
    }

    #[test]
    fn granting_a_role_twice_changes_nothing_the_second_time() {
        let village = Village::fresh();
        let admin = village.staff(1, Role::OrgAdmin);
        let audit = village.audit(&admin);
        let clerk =
            create_staff(&village.store, &admin, &audit, &new_clerk("13800000009")).expect("staff");
        let command = GrantCommand::checked("clerk", Some(village.org.id)).expect("grant");
        let first = grant_role(&village.store, &admin, &audit, clerk.id, &command).expect("first");
        let second =
            grant_role(&village.store, &admin, &audit, clerk.id, &command).expect("second");
        assert!(first.created && !second.created);
        assert_eq!(second.staff.grants.len(), 1);
        assert_eq!(
            village.audited(&format!("staff:{}", clerk.id)),
            ["staff.create", "staff.grant"]
        );
    }

    #[test]
    fn an_org_admin_cannot_extend_staff_whose_roles_all_lie_in_another_village() {
        let village = Village::fresh();
        let root = platform_admin(&village);
        let audit = village.audit(&root);
        let neighbour = org_id_of(&village.neighbouring_clerk(5));
        let theirs =
            create_staff(&village.store, &root, &audit, &new_clerk("13800000009")).expect("staff");
        let there = GrantCommand::checked("clerk", Some(neighbour)).expect("grant");
        grant_role(&village.store, &root, &audit, theirs.id, &there).expect("granted there");
        let admin = village.staff(1, Role::OrgAdmin);
        let here = GrantCommand::checked("organiser", Some(village.org.id)).expect("grant");
        let refused = grant_role(
            &village.store,
            &admin,
            &village.audit(&admin),
            theirs.id,
            &here,
        );
        assert_eq!(refused.err().map(|e| e.code()), Some("forbidden"));
    }

    #[test]
    fn the_last_platform_administrator_keeps_the_role() {
        let village = Village::fresh();
        let root = platform_admin(&village);
        let audit = village.audit(&root);
        let only =
            create_staff(&village.store, &root, &audit, &new_clerk("13800000009")).expect("staff");
        let admin = GrantCommand::checked("platform_admin", None).expect("grant");
        let granted = grant_role(&village.store, &root, &audit, only.id, &admin).expect("granted");
        let grant_id = granted.staff.grants[0].id;
        let refused = revoke_role(&village.store, &root, &audit, only.id, grant_id);
        assert_eq!(refused.err().map(|e| e.code()), Some("last_admin"));
    }
}
