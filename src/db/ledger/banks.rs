//! Banks (points books), each owned by an organisation unit.

use diesel::prelude::*;

use crate::db::schema::{accounts, banks, orgs};
use crate::db::Db;
use crate::domain::ledger::{AccountKind, Asset};
use crate::error::{ServiceError, ServiceResult};

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize, serde::Deserialize)]
#[diesel(table_name = banks)]
pub struct BankRow {
    pub id: i64,
    pub org_id: i64,
    pub name: String,
    pub created_at: i64,
}

/// Creates the bank with its system accounts (issuance, redemption, expiry, adjustment) per asset.
pub fn create_bank(conn: &mut Db, org_id: i64, name: &str, now: i64) -> ServiceResult<BankRow> {
    orgs::table
        .find(org_id)
        .select(orgs::id)
        .first::<i64>(conn)
        .optional()?
        .ok_or(ServiceError::NotFound("organisation"))?;
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

/// Every bank (for the command line).
pub fn list_banks(conn: &mut Db) -> ServiceResult<Vec<BankRow>> {
    Ok(banks::table
        .order(banks::id)
        .limit(1000)
        .select(BankRow::as_select())
        .load(conn)?)
}

pub fn get_bank(conn: &mut Db, bank_id: i64) -> ServiceResult<BankRow> {
    banks::table
        .find(bank_id)
        .select(BankRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(ServiceError::NotFound("bank"))
}

/// The materialised path of the unit that owns the bank: what access checks compare against.
pub fn bank_path(conn: &mut Db, bank_id: i64) -> ServiceResult<String> {
    banks::table
        .inner_join(orgs::table)
        .filter(banks::id.eq(bank_id))
        .select(orgs::path)
        .first(conn)
        .optional()?
        .ok_or(ServiceError::NotFound("bank"))
}

/// Banks owned by units at or below any of `paths`.
pub fn list_banks_under(conn: &mut Db, paths: &[String]) -> ServiceResult<Vec<BankRow>> {
    let rows: Vec<(BankRow, String)> = banks::table
        .inner_join(orgs::table)
        .order(banks::id)
        .limit(1000)
        .select((BankRow::as_select(), orgs::path))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|(_, path)| paths.iter().any(|p| path.starts_with(p.as_str())))
        .map(|(bank, _)| bank)
        .collect())
}
