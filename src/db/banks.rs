//! Organisation units and banks (points books).

use diesel::prelude::*;

use super::schema::{accounts, banks, orgs};
use super::Db;
use crate::domain::ledger::{AccountKind, Asset};
use crate::error::{ApiError, ApiResult};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = orgs)]
pub struct OrgRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = banks)]
pub struct BankRow {
    pub id: i64,
    pub org_id: i64,
    pub name: String,
    pub created_at: i64,
}

pub fn create_org(conn: &mut Db, code: &str, name: &str, now: i64) -> ApiResult<OrgRow> {
    let exists = orgs::table
        .filter(orgs::code.eq(code))
        .count()
        .get_result::<i64>(conn)?;
    if exists > 0 {
        return Err(ApiError::AlreadyExists("an organisation with this code"));
    }
    Ok(diesel::insert_into(orgs::table)
        .values((
            orgs::code.eq(code),
            orgs::name.eq(name),
            orgs::created_at.eq(now),
        ))
        .returning(orgs::all_columns)
        .get_result(conn)?)
}

pub fn list_orgs(conn: &mut Db) -> ApiResult<Vec<OrgRow>> {
    Ok(orgs::table
        .order(orgs::id)
        .select(OrgRow::as_select())
        .load(conn)?)
}

/// Creates the bank with its system accounts (issuance, redemption, expiry, adjustment) per asset.
pub fn create_bank(conn: &mut Db, org_id: i64, name: &str, now: i64) -> ApiResult<BankRow> {
    orgs::table
        .find(org_id)
        .select(orgs::id)
        .first::<i64>(conn)
        .optional()?
        .ok_or(ApiError::NotFound("organisation"))?;
    let bank: BankRow = diesel::insert_into(banks::table)
        .values((
            banks::org_id.eq(org_id),
            banks::name.eq(name),
            banks::created_at.eq(now),
        ))
        .returning(banks::all_columns)
        .get_result(conn)?;
    for asset in Asset::ALL {
        for kind in AccountKind::SYSTEM {
            diesel::insert_into(accounts::table)
                .values((
                    accounts::bank_id.eq(bank.id),
                    accounts::asset.eq(asset.as_str()),
                    accounts::kind.eq(kind.as_str()),
                    accounts::name.eq(format!("{} {}", kind, asset)),
                    accounts::balance.eq(0),
                    accounts::held.eq(0),
                    accounts::created_at.eq(now),
                ))
                .execute(conn)?;
        }
    }
    Ok(bank)
}

pub fn list_banks(conn: &mut Db) -> ApiResult<Vec<BankRow>> {
    Ok(banks::table
        .order(banks::id)
        .limit(1000)
        .select(BankRow::as_select())
        .load(conn)?)
}

pub fn get_bank(conn: &mut Db, bank_id: i64) -> ApiResult<BankRow> {
    banks::table
        .find(bank_id)
        .select(BankRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(ApiError::NotFound("bank"))
}
