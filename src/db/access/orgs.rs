//! The organisation tree: county → township/street → village/community → grid → building.

use diesel::prelude::*;

use crate::db::schema::orgs;
use crate::db::{stored, Db};
use crate::domain::access::child_path;
use crate::domain::ledger::string_enum;
use crate::error::{ServiceError, ServiceResult};

string_enum! {
    /// The level of a unit in the tree.
    OrgKind {
        County => "county",
        Township => "township",
        Village => "village",
        Grid => "grid",
        Building => "building",
    }
}

impl OrgKind {
    /// Depth in the tree: a unit's parent must be of a smaller depth.
    fn depth(self) -> u8 {
        match self {
            OrgKind::County => 0,
            OrgKind::Township => 1,
            OrgKind::Village => 2,
            OrgKind::Grid => 3,
            OrgKind::Building => 4,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = orgs)]
pub struct OrgRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub created_at: i64,
    pub kind: String,
    pub parent_id: Option<i64>,
    pub path: String,
}

impl OrgRow {
    pub fn org_kind(&self) -> ServiceResult<OrgKind> {
        stored(OrgKind::parse(&self.kind), "orgs.kind", &self.kind)
    }
}

pub struct NewOrg<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub kind: OrgKind,
    pub parent: Option<&'a OrgRow>,
}

pub fn get_org(conn: &mut Db, org_id: i64) -> ServiceResult<OrgRow> {
    orgs::table
        .find(org_id)
        .select(OrgRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(ServiceError::NotFound("organisation"))
}

fn check_parent(kind: OrgKind, parent: Option<&OrgRow>) -> ServiceResult<()> {
    if let Some(parent) = parent {
        if parent.org_kind()?.depth() >= kind.depth() {
            return Err(ServiceError::validation(
                "parent_id",
                format!("a {} cannot be placed under a {}", kind, parent.kind),
            ));
        }
    }
    Ok(())
}

pub fn create_org(conn: &mut Db, new: NewOrg<'_>, now: i64) -> ServiceResult<OrgRow> {
    check_parent(new.kind, new.parent)?;
    let taken = orgs::table
        .filter(orgs::code.eq(new.code))
        .count()
        .get_result::<i64>(conn)?;
    if taken > 0 {
        return Err(ServiceError::AlreadyExists(
            "an organisation with this code",
        ));
    }
    let id: i64 = diesel::insert_into(orgs::table)
        .values((
            orgs::code.eq(new.code),
            orgs::name.eq(new.name),
            orgs::kind.eq(new.kind.as_str()),
            orgs::parent_id.eq(new.parent.map(|p| p.id)),
            orgs::path.eq(""),
            orgs::created_at.eq(now),
        ))
        .returning(orgs::id)
        .get_result(conn)?;
    // The path contains the unit's own id, known only after the insert.
    diesel::update(orgs::table.find(id))
        .set(orgs::path.eq(child_path(new.parent.map(|p| p.path.as_str()), id)))
        .execute(conn)?;
    get_org(conn, id)
}

/// Units at or below any of `paths`, in path order (parents before children).
pub fn list_under(conn: &mut Db, paths: &[String]) -> ServiceResult<Vec<OrgRow>> {
    let rows: Vec<OrgRow> = orgs::table
        .order((orgs::path, orgs::id))
        .limit(5000)
        .select(OrgRow::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|org| paths.iter().any(|p| org.path.starts_with(p.as_str())))
        .collect())
}

/// Moves a unit (with its subtree) under a new parent. Ids never change, so every entry,
/// account and grant keeps pointing at the same unit; only paths are rewritten.
pub fn move_org(conn: &mut Db, org: &OrgRow, new_parent: &OrgRow) -> ServiceResult<OrgRow> {
    if new_parent.path.starts_with(&org.path) {
        return Err(ServiceError::validation(
            "parent_id",
            "a unit cannot move below itself",
        ));
    }
    check_parent(org.org_kind()?, Some(new_parent))?;
    let new_path = child_path(Some(&new_parent.path), org.id);
    let subtree: Vec<(i64, String)> = orgs::table
        .filter(orgs::path.like(format!("{}%", org.path)))
        .select((orgs::id, orgs::path))
        .load(conn)?;
    for (id, path) in subtree {
        let rewritten = format!("{new_path}{}", &path[org.path.len()..]);
        diesel::update(orgs::table.find(id))
            .set(orgs::path.eq(rewritten))
            .execute(conn)?;
    }
    diesel::update(orgs::table.find(org.id))
        .set(orgs::parent_id.eq(new_parent.id))
        .execute(conn)?;
    get_org(conn, org.id)
}
