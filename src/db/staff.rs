//! Staff accounts (the administrators of this issue; roles and scopes grow in the access issue).

use diesel::prelude::*;

use super::schema::staff;
use super::Db;
use crate::error::{ApiError, ApiResult};

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
) -> ApiResult<StaffRow> {
    let taken = staff::table
        .filter(staff::phone.eq(phone))
        .count()
        .get_result::<i64>(conn)?;
    if taken > 0 {
        return Err(ApiError::AlreadyExists("a staff account with this phone"));
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

pub fn find_by_phone(conn: &mut Db, phone: &str) -> ApiResult<Option<StaffRow>> {
    Ok(staff::table
        .filter(staff::phone.eq(phone))
        .select(StaffRow::as_select())
        .first(conn)
        .optional()?)
}
