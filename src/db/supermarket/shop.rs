//! Shops of the points supermarket: one per unit and bank, with its redemption days, pickup
//! window and cash top-up setting. Their goods and stock log are in `goods.rs`.

use diesel::prelude::*;

use crate::db::schema::{orgs, shops};
use crate::db::Db;
use crate::error::{ServiceError, ServiceResult};

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize, serde::Deserialize)]
#[diesel(table_name = shops)]
pub struct ShopRow {
    pub id: i64,
    pub bank_id: i64,
    pub org_id: i64,
    pub name: String,
    pub address: String,
    pub redemption_days: Option<String>,
    pub allows_cash_topup: bool,
    pub pickup_hours: i64,
    pub active: bool,
    pub created_at: i64,
}

pub struct NewShop<'a> {
    pub bank_id: i64,
    pub org_id: i64,
    pub name: &'a str,
    pub address: &'a str,
    pub redemption_days: Option<String>,
    pub allows_cash_topup: bool,
    pub pickup_hours: i64,
}

pub fn create_shop(conn: &mut Db, new: NewShop<'_>, now: i64) -> ServiceResult<ShopRow> {
    Ok(diesel::insert_into(shops::table)
        .values((
            shops::bank_id.eq(new.bank_id),
            shops::org_id.eq(new.org_id),
            shops::name.eq(new.name),
            shops::address.eq(new.address),
            shops::redemption_days.eq(new.redemption_days),
            shops::allows_cash_topup.eq(new.allows_cash_topup),
            shops::pickup_hours.eq(new.pickup_hours),
            shops::created_at.eq(now),
        ))
        .returning(shops::all_columns)
        .get_result(conn)?)
}

pub fn get_shop(conn: &mut Db, shop_id: i64) -> ServiceResult<ShopRow> {
    shops::table
        .find(shop_id)
        .select(ShopRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(ServiceError::NotFound("shop"))
}

pub fn list_shops(conn: &mut Db, bank_id: i64) -> ServiceResult<Vec<ShopRow>> {
    Ok(shops::table
        .filter(shops::bank_id.eq(bank_id))
        .order(shops::id)
        .select(ShopRow::as_select())
        .load(conn)?)
}

/// Everything a shop was opened with but its unit and bank (fixed for good, since its goods and
/// orders belong to that bank), and whether it takes orders at all.
pub struct ShopChanges<'a> {
    pub name: &'a str,
    pub address: &'a str,
    pub redemption_days: Option<String>,
    pub allows_cash_topup: bool,
    pub pickup_hours: i64,
    pub active: bool,
}

/// Replaces the shop's settings. Pending orders keep the pickup deadline they were placed with.
pub fn update_shop(
    conn: &mut Db,
    shop_id: i64,
    changes: &ShopChanges<'_>,
) -> ServiceResult<ShopRow> {
    diesel::update(shops::table.find(shop_id))
        .set((
            shops::name.eq(changes.name),
            shops::address.eq(changes.address),
            shops::redemption_days.eq(&changes.redemption_days),
            shops::allows_cash_topup.eq(changes.allows_cash_topup),
            shops::pickup_hours.eq(changes.pickup_hours),
            shops::active.eq(changes.active),
        ))
        .returning(shops::all_columns)
        .get_result(conn)
        .optional()?
        .ok_or(ServiceError::NotFound("shop"))
}

/// Shops whose unit is at or below one of `paths`, by id, starting after the shop `after`.
pub fn list_under(
    conn: &mut Db,
    paths: &[String],
    after: Option<i64>,
    limit: i64,
) -> ServiceResult<Vec<ShopRow>> {
    let mut found = Vec::new();
    let mut cursor = after.unwrap_or(0);
    while !paths.is_empty() && (found.len() as i64) < limit {
        let page: Vec<(ShopRow, String)> = shops::table
            .inner_join(orgs::table)
            .filter(shops::id.gt(cursor))
            .order(shops::id)
            .limit(500)
            .select((ShopRow::as_select(), orgs::path))
            .load(conn)?;
        let Some((last, _)) = page.last() else { break };
        cursor = last.id;
        found.extend(
            page.into_iter()
                .filter(|(_, path)| paths.iter().any(|p| path.starts_with(p.as_str())))
                .map(|(shop, _)| shop),
        );
    }
    found.truncate(limit as usize);
    Ok(found)
}
