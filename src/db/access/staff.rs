//! Staff accounts and their role grants.

use diesel::prelude::*;

use crate::db::schema::{orgs, role_grants, staff};
use crate::db::Db;
use crate::domain::access::{Grant, Role};
use crate::error::{ServiceError, ServiceResult};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = staff)]
pub struct StaffRow {
    pub id: i64,
    pub phone: String,
    pub name: String,
    pub password_hash: String,
    pub role: String,
    pub active: bool,
    pub created_at: i64,
}

pub fn create_staff(
    conn: &mut Db,
    phone: &str,
    name: &str,
    password_hash: &str,
    role: &str,
    now: i64,
) -> ServiceResult<StaffRow> {
    let taken = staff::table
        .filter(staff::phone.eq(phone))
        .count()
        .get_result::<i64>(conn)?;
    if taken > 0 {
        return Err(ServiceError::AlreadyExists(
            "a staff account with this phone",
        ));
    }
    Ok(diesel::insert_into(staff::table)
        .values((
            staff::phone.eq(phone),
            staff::name.eq(name),
            staff::password_hash.eq(password_hash),
            staff::role.eq(role),
            staff::active.eq(true),
            staff::created_at.eq(now),
        ))
        .returning(staff::all_columns)
        .get_result(conn)?)
}

pub fn find_by_phone(conn: &mut Db, phone: &str) -> ServiceResult<Option<StaffRow>> {
    Ok(staff::table
        .filter(staff::phone.eq(phone))
        .select(StaffRow::as_select())
        .first(conn)
        .optional()?)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = role_grants)]
pub struct GrantRow {
    pub id: i64,
    pub staff_id: i64,
    pub role: String,
    pub org_id: Option<i64>,
    pub granted_by: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// A staff member's active grants with the paths they cover (`/` for platform administrators).
pub fn active_grants(conn: &mut Db, staff_id: i64) -> ServiceResult<Vec<(GrantRow, String)>> {
    let rows: Vec<(GrantRow, Option<String>)> = role_grants::table
        .left_join(orgs::table)
        .filter(role_grants::staff_id.eq(staff_id))
        .filter(role_grants::revoked_at.is_null())
        .order(role_grants::id)
        .select((GrantRow::as_select(), orgs::path.nullable()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(grant, path)| (grant, path.unwrap_or_else(|| "/".to_string())))
        .collect())
}

pub fn scopes(conn: &mut Db, staff_id: i64) -> ServiceResult<Vec<Grant>> {
    Ok(active_grants(conn, staff_id)?
        .into_iter()
        .map(|(grant, path)| Grant {
            role: grant.role,
            path,
        })
        .collect())
}

pub fn add_grant(
    conn: &mut Db,
    staff_id: i64,
    role: Role,
    org_id: Option<i64>,
    granted_by: &str,
    now: i64,
) -> ServiceResult<GrantRow> {
    Ok(diesel::insert_into(role_grants::table)
        .values((
            role_grants::staff_id.eq(staff_id),
            role_grants::role.eq(role.as_str()),
            role_grants::org_id.eq(org_id),
            role_grants::granted_by.eq(granted_by),
            role_grants::created_at.eq(now),
        ))
        .returning(role_grants::all_columns)
        .get_result(conn)?)
}

/// The staff member's active grant of exactly this role on exactly this unit, if any.
pub fn find_active_grant(
    conn: &mut Db,
    staff_id: i64,
    role: Role,
    org_id: Option<i64>,
) -> ServiceResult<Option<GrantRow>> {
    let mut query = role_grants::table
        .filter(role_grants::staff_id.eq(staff_id))
        .filter(role_grants::role.eq(role.as_str()))
        .filter(role_grants::revoked_at.is_null())
        .select(GrantRow::as_select())
        .into_boxed();
    query = match org_id {
        Some(org_id) => query.filter(role_grants::org_id.eq(org_id)),
        None => query.filter(role_grants::org_id.is_null()),
    };
    Ok(query.first(conn).optional()?)
}

/// The staff ids holding an active platform_admin grant on an active account. On PostgreSQL the
/// grants are locked (in id order), so two administrators revoking each other at once take turns
/// and the second sees the first's revocation.
pub fn active_platform_admins(conn: &mut Db) -> ServiceResult<Vec<i64>> {
    let admin_grants = role_grants::table
        .inner_join(staff::table)
        .filter(role_grants::role.eq(Role::PlatformAdmin.as_str()))
        .filter(role_grants::revoked_at.is_null())
        .filter(staff::active.eq(true))
        .order(role_grants::id)
        .select(role_grants::staff_id);
    let mut holders: Vec<i64> = match conn {
        Db::Pg(pg) => admin_grants.for_update().load(pg)?,
        Db::Sqlite(_) => admin_grants.load(conn)?,
    };
    holders.sort_unstable();
    holders.dedup();
    Ok(holders)
}

pub fn get_grant(conn: &mut Db, staff_id: i64, grant_id: i64) -> ServiceResult<(GrantRow, String)> {
    active_grants(conn, staff_id)?
        .into_iter()
        .find(|(grant, _)| grant.id == grant_id)
        .ok_or(ServiceError::NotFound("grant"))
}

pub fn revoke_grant(conn: &mut Db, grant_id: i64, now: i64) -> ServiceResult<()> {
    diesel::update(
        role_grants::table
            .filter(role_grants::id.eq(grant_id))
            .filter(role_grants::revoked_at.is_null()),
    )
    .set(role_grants::revoked_at.eq(now))
    .execute(conn)?;
    Ok(())
}

pub fn get_staff(conn: &mut Db, staff_id: i64) -> ServiceResult<StaffRow> {
    staff::table
        .find(staff_id)
        .select(StaffRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(ServiceError::NotFound("staff member"))
}

/// A staff member with their active grants and the paths those cover.
pub type StaffWithGrants = (StaffRow, Vec<(GrantRow, String)>);

/// Staff with at least one active grant at or below one of `paths`.
pub fn list_under(conn: &mut Db, paths: &[String]) -> ServiceResult<Vec<StaffWithGrants>> {
    let everyone: Vec<StaffRow> = staff::table
        .order(staff::id)
        .limit(5000)
        .select(StaffRow::as_select())
        .load(conn)?;
    let mut listed = Vec::new();
    for person in everyone {
        let grants = active_grants(conn, person.id)?;
        if grants
            .iter()
            .any(|(_, path)| paths.iter().any(|p| path.starts_with(p.as_str())))
        {
            listed.push((person, grants));
        }
    }
    Ok(listed)
}
