//! Goods of the shops, and the append-only stock log that the cached stock follows.

use diesel::prelude::*;

use crate::db::schema::{goods, stock_movements};
use crate::db::supermarket::shop::ShopRow;
use crate::db::{sum_bigint, Db};
use crate::domain::shop::MovementKind;
use crate::error::{ConflictCode, ServiceError, ServiceResult};

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize, serde::Deserialize)]
#[diesel(table_name = goods)]
pub struct GoodsRow {
    pub id: i64,
    pub shop_id: i64,
    pub bank_id: i64,
    pub name: String,
    pub description: String,
    pub image_url: Option<String>,
    pub category: String,
    pub price: i64,
    pub stock: i64,
    pub reserved: i64,
    pub monthly_limit: Option<i64>,
    pub available_from: Option<i64>,
    pub available_until: Option<i64>,
    pub low_stock_threshold: i64,
    pub active: bool,
    pub created_at: i64,
}

impl GoodsRow {
    /// What members can still order.
    pub fn available(&self) -> i64 {
        self.stock - self.reserved
    }

    pub fn is_offered_at(&self, now: i64) -> bool {
        self.active
            && self.available_from.is_none_or(|from| now >= from)
            && self.available_until.is_none_or(|until| now < until)
    }
}

#[derive(Debug, Clone)]
pub struct GoodsFields {
    pub name: String,
    pub description: String,
    pub image_url: Option<String>,
    pub category: String,
    pub price: i64,
    pub monthly_limit: Option<i64>,
    pub available_from: Option<i64>,
    pub available_until: Option<i64>,
    pub low_stock_threshold: i64,
    pub active: bool,
}

pub fn create_goods(
    conn: &mut Db,
    shop: &ShopRow,
    fields: &GoodsFields,
    now: i64,
) -> ServiceResult<GoodsRow> {
    Ok(diesel::insert_into(goods::table)
        .values((
            goods::shop_id.eq(shop.id),
            goods::bank_id.eq(shop.bank_id),
            goods::name.eq(&fields.name),
            goods::description.eq(&fields.description),
            goods::image_url.eq(&fields.image_url),
            goods::category.eq(&fields.category),
            goods::price.eq(fields.price),
            goods::monthly_limit.eq(fields.monthly_limit),
            goods::available_from.eq(fields.available_from),
            goods::available_until.eq(fields.available_until),
            goods::low_stock_threshold.eq(fields.low_stock_threshold),
            goods::active.eq(fields.active),
            goods::created_at.eq(now),
        ))
        .returning(goods::all_columns)
        .get_result(conn)?)
}

/// Changes everything but stock (which only moves through the stock log).
pub fn update_goods(conn: &mut Db, goods_id: i64, fields: &GoodsFields) -> ServiceResult<GoodsRow> {
    Ok(diesel::update(goods::table.find(goods_id))
        .set((
            goods::name.eq(&fields.name),
            goods::description.eq(&fields.description),
            goods::image_url.eq(&fields.image_url),
            goods::category.eq(&fields.category),
            goods::price.eq(fields.price),
            goods::monthly_limit.eq(fields.monthly_limit),
            goods::available_from.eq(fields.available_from),
            goods::available_until.eq(fields.available_until),
            goods::low_stock_threshold.eq(fields.low_stock_threshold),
            goods::active.eq(fields.active),
        ))
        .returning(goods::all_columns)
        .get_result(conn)?)
}

pub fn get_goods(conn: &mut Db, goods_id: i64) -> ServiceResult<GoodsRow> {
    goods::table
        .find(goods_id)
        .select(GoodsRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(ServiceError::NotFound("goods"))
}

pub fn list_goods(conn: &mut Db, shop_id: i64, active_only: bool) -> ServiceResult<Vec<GoodsRow>> {
    let mut query = goods::table.filter(goods::shop_id.eq(shop_id)).into_boxed();
    if active_only {
        query = query.filter(goods::active.eq(true));
    }
    Ok(query
        .order((goods::category, goods::id))
        .select(GoodsRow::as_select())
        .load(conn)?)
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize, serde::Deserialize)]
#[diesel(table_name = stock_movements)]
pub struct MovementRow {
    pub id: i64,
    pub goods_id: i64,
    pub shop_id: i64,
    pub kind: String,
    pub quantity: i64,
    pub donor_name: Option<String>,
    pub donor_value_fen: Option<i64>,
    pub note: String,
    pub order_id: Option<i64>,
    pub actor: String,
    pub created_at: i64,
}

pub struct Movement<'a> {
    pub goods: &'a GoodsRow,
    pub kind: MovementKind,
    pub quantity: i64,
    pub donor_name: Option<&'a str>,
    pub donor_value_fen: Option<i64>,
    pub note: &'a str,
    pub order_id: Option<i64>,
    pub actor: &'a str,
}

/// Appends a stock movement and moves the cached stock with it. Stock never drops below what
/// is on the shelf for pending orders: a write-off of reserved goods is refused.
pub fn record_movement(
    conn: &mut Db,
    movement: Movement<'_>,
    now: i64,
) -> ServiceResult<MovementRow> {
    let goods_id = movement.goods.id;
    let quantity = movement.quantity;
    let changed = if movement.kind == MovementKind::Redemption {
        // Goods handed over leave the shelf and their reservation together.
        diesel::update(
            goods::table
                .filter(goods::id.eq(goods_id))
                .filter(goods::reserved.ge(-quantity)),
        )
        .set((
            goods::stock.eq(goods::stock + quantity),
            goods::reserved.eq(goods::reserved + quantity),
        ))
        .execute(conn)?
    } else {
        diesel::update(
            goods::table
                .filter(goods::id.eq(goods_id))
                .filter((goods::stock + quantity).ge(goods::reserved)),
        )
        .set(goods::stock.eq(goods::stock + quantity))
        .execute(conn)?
    };
    if changed == 0 {
        let current = get_goods(conn, goods_id)?;
        return Err(ServiceError::conflict(
            ConflictCode::OutOfStock,
            format!(
                "{} has {} in stock, {} of them reserved for pending orders",
                current.name, current.stock, current.reserved
            ),
        ));
    }
    Ok(diesel::insert_into(stock_movements::table)
        .values((
            stock_movements::goods_id.eq(goods_id),
            stock_movements::shop_id.eq(movement.goods.shop_id),
            stock_movements::kind.eq(movement.kind.as_str()),
            stock_movements::quantity.eq(quantity),
            stock_movements::donor_name.eq(movement.donor_name),
            stock_movements::donor_value_fen.eq(movement.donor_value_fen),
            stock_movements::note.eq(movement.note),
            stock_movements::order_id.eq(movement.order_id),
            stock_movements::actor.eq(movement.actor),
            stock_movements::created_at.eq(now),
        ))
        .returning(stock_movements::all_columns)
        .get_result(conn)?)
}

/// Reserves `quantity` for a pending order, if that many are unreserved.
pub fn reserve(conn: &mut Db, goods: &GoodsRow, quantity: i64) -> ServiceResult<()> {
    let changed = diesel::update(
        goods::table
            .filter(goods::id.eq(goods.id))
            .filter((goods::stock - goods::reserved).ge(quantity)),
    )
    .set(goods::reserved.eq(goods::reserved + quantity))
    .execute(conn)?;
    if changed == 0 {
        return Err(ServiceError::conflict(
            ConflictCode::OutOfStock,
            format!("not enough {} left", goods.name),
        ));
    }
    Ok(())
}

/// Returns a cancelled or expired order's reservation.
pub fn unreserve(conn: &mut Db, goods_id: i64, quantity: i64) -> ServiceResult<()> {
    diesel::update(goods::table.filter(goods::id.eq(goods_id)))
        .set(goods::reserved.eq(goods::reserved - quantity))
        .execute(conn)?;
    Ok(())
}

/// Newest first. `kind` filters, e.g. donations for the thank-you list.
pub fn list_movements(
    conn: &mut Db,
    shop_id: i64,
    goods_id: Option<i64>,
    kind: Option<MovementKind>,
    limit: i64,
) -> ServiceResult<Vec<MovementRow>> {
    let mut query = stock_movements::table
        .filter(stock_movements::shop_id.eq(shop_id))
        .into_boxed();
    if let Some(goods_id) = goods_id {
        query = query.filter(stock_movements::goods_id.eq(goods_id));
    }
    if let Some(kind) = kind {
        query = query.filter(stock_movements::kind.eq(kind.as_str()));
    }
    Ok(query
        .order(stock_movements::id.desc())
        .limit(limit)
        .select(MovementRow::as_select())
        .load(conn)?)
}

/// The stock that the movement log adds up to (the cached `stock` must equal it).
pub fn logged_stock(conn: &mut Db, goods_id: i64) -> ServiceResult<i64> {
    Ok(stock_movements::table
        .filter(stock_movements::goods_id.eq(goods_id))
        .select(sum_bigint("quantity"))
        .first(conn)?)
}

/// Every goods of a bank with its cached and logged stock and its pending reservations.
pub fn stock_states(
    conn: &mut Db,
    bank_id: i64,
) -> ServiceResult<Vec<crate::domain::ledger::verify::StockState>> {
    use crate::db::schema::{order_lines, orders};
    let rows: Vec<(i64, i64, i64)> = goods::table
        .filter(goods::bank_id.eq(bank_id))
        .order(goods::id)
        .select((goods::id, goods::stock, goods::reserved))
        .load(conn)?;
    let logged: std::collections::HashMap<i64, i64> = stock_movements::table
        .inner_join(goods::table)
        .filter(goods::bank_id.eq(bank_id))
        .group_by(stock_movements::goods_id)
        .select((
            stock_movements::goods_id,
            sum_bigint("stock_movements.quantity"),
        ))
        .load::<(i64, i64)>(conn)?
        .into_iter()
        .collect();
    let pending: std::collections::HashMap<i64, i64> = order_lines::table
        .inner_join(orders::table)
        .filter(orders::bank_id.eq(bank_id))
        .filter(orders::status.eq("pending"))
        .group_by(order_lines::goods_id)
        .select((order_lines::goods_id, sum_bigint("order_lines.quantity")))
        .load::<(i64, i64)>(conn)?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .map(
            |(goods_id, stock, reserved)| crate::domain::ledger::verify::StockState {
                goods_id,
                stock,
                logged: logged.get(&goods_id).copied().unwrap_or(0),
                reserved,
                pending: pending.get(&goods_id).copied().unwrap_or(0),
            },
        )
        .collect())
}
