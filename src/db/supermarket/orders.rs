//! Redemption orders: placing one reserves stock and holds the member's points; fulfilling it
//! captures the hold into a `redeem` entry and takes the goods off the shelf; cancelling or
//! expiring it gives both back. Every step is one transaction with conditional updates, so an
//! order is fulfilled, cancelled or expired exactly once.

use diesel::prelude::*;
use rand::Rng;

use crate::db::ledger::holds::{self, Capture, NewHold};
use crate::db::schema::{order_lines, orders};
use crate::db::supermarket::goods::{self, GoodsRow, Movement};
use crate::db::supermarket::shop::ShopRow;
use crate::db::{lock_row, stored, sum_bigint, Db};
use crate::domain::ledger::money::Amount;
use crate::domain::ledger::Asset;
use crate::domain::rules::{period_start, Period};
use crate::domain::shop::{MovementKind, OrderStatus, RedemptionDays};
use crate::error::{ConflictCode, ServiceError, ServiceResult};

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize, serde::Deserialize)]
#[diesel(table_name = orders)]
pub struct OrderRow {
    pub id: i64,
    pub bank_id: i64,
    pub shop_id: i64,
    pub member_id: i64,
    pub status: String,
    pub total_points: i64,
    pub cash_points: i64,
    pub cash_fen: i64,
    pub hold_id: Option<i64>,
    pub entry_id: Option<i64>,
    pub pickup_code: String,
    pub placed_by: String,
    pub on_behalf: bool,
    pub expires_at: i64,
    pub closed_by: Option<String>,
    pub closed_at: Option<i64>,
    pub created_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize, serde::Deserialize)]
#[diesel(table_name = order_lines)]
pub struct LineRow {
    pub order_id: i64,
    pub goods_id: i64,
    pub quantity: i64,
    pub unit_price: i64,
    pub created_at: i64,
    pub member_id: i64,
}

/// An order with its lines and the goods' names (what an idempotent order replays).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct OrderRecord {
    pub order: OrderRow,
    pub lines: Vec<(LineRow, String)>,
}

pub struct NewOrder<'a> {
    pub shop: &'a ShopRow,
    pub member_id: i64,
    /// (goods id, quantity), each goods once.
    pub lines: &'a [(i64, i64)],
    pub placed_by: &'a str,
    pub on_behalf: bool,
    /// Points of the total paid in cash at the counter instead, and the cash taken.
    pub cash_points: i64,
    pub cash_fen: i64,
    pub utc_offset_seconds: i64,
}

/// Refuses orders on days the shop does not redeem (e.g. only on the monthly redemption day).
fn require_open(shop: &ShopRow, now: i64, offset: i64) -> ServiceResult<()> {
    if !shop.active {
        return Err(ServiceError::conflict(
            ConflictCode::ShopClosed,
            format!("{} is closed", shop.name),
        ));
    }
    let days = shop
        .redemption_days
        .as_deref()
        .and_then(RedemptionDays::parse)
        .unwrap_or_default();
    if !days.is_open(now, offset) {
        return Err(ServiceError::conflict(
            ConflictCode::NotAvailableNow,
            format!(
                "{} redeems only on day(s) {} of the month",
                shop.name,
                days.to_text().unwrap_or_default()
            ),
        ));
    }
    Ok(())
}

/// How many of a goods the member ordered this month (pending and fulfilled orders).
fn ordered_this_month(
    conn: &mut Db,
    member_id: i64,
    goods_id: i64,
    since: i64,
) -> ServiceResult<i64> {
    Ok(order_lines::table
        .inner_join(orders::table)
        .filter(order_lines::member_id.eq(member_id))
        .filter(order_lines::goods_id.eq(goods_id))
        .filter(order_lines::created_at.ge(since))
        .filter(orders::status.eq_any([
            OrderStatus::Pending.as_str(),
            OrderStatus::Fulfilled.as_str(),
        ]))
        .select(sum_bigint("order_lines.quantity"))
        .first(conn)?)
}

/// A six-digit code, unique among the shop's pending orders, for members to read out.
fn fresh_pickup_code(conn: &mut Db, shop_id: i64) -> ServiceResult<String> {
    for _ in 0..20 {
        let code = format!("{:06}", rand::thread_rng().gen_range(0..1_000_000));
        let taken = orders::table
            .filter(orders::shop_id.eq(shop_id))
            .filter(orders::status.eq(OrderStatus::Pending.as_str()))
            .filter(orders::pickup_code.eq(&code))
            .count()
            .get_result::<i64>(conn)?;
        if taken == 0 {
            return Ok(code);
        }
    }
    Err(ServiceError::Internal(anyhow::anyhow!(
        "no free pickup code in 20 tries"
    )))
}

/// Places an order: checks the shop's day, each goods' window and monthly limit, reserves stock
/// and holds the points. The member's wallet row is locked first, so one member's concurrent
/// orders take turns and monthly limits hold; goods rows are reserved in id order.
pub fn place(conn: &mut Db, new: NewOrder<'_>, now: i64) -> ServiceResult<OrderRecord> {
    let shop = new.shop;
    require_open(shop, now, new.utc_offset_seconds)?;
    crate::db::rules::awards::require_active_member(conn, new.member_id)?;
    let wallet =
        crate::db::rules::awards::member_wallet(conn, shop.bank_id, new.member_id, Asset::Points)?;
    lock_row(conn, "accounts", wallet.id)?;
    let mut lines: Vec<(i64, i64)> = new.lines.to_vec();
    lines.sort_unstable();
    let month_start = period_start(now, Period::Month, new.utc_offset_seconds);
    let mut picked: Vec<(GoodsRow, i64)> = Vec::with_capacity(lines.len());
    let mut total: i64 = 0;
    for (goods_id, quantity) in lines {
        let goods = goods::get_goods(conn, goods_id)?;
        if goods.shop_id != shop.id {
            return Err(ServiceError::NotFound("goods in this shop"));
        }
        if !goods.is_offered_at(now) {
            return Err(ServiceError::conflict(
                ConflictCode::NotAvailableNow,
                format!("{} is not offered now", goods.name),
            ));
        }
        if let Some(limit) = goods.monthly_limit {
            let already = ordered_this_month(conn, new.member_id, goods_id, month_start)?;
            if already + quantity > limit {
                return Err(ServiceError::conflict(
                    ConflictCode::LimitExceeded,
                    format!(
                        "{}: at most {limit} per member per month, {already} already ordered",
                        goods.name
                    ),
                ));
            }
        }
        goods::reserve(conn, &goods, quantity)?;
        total = goods
            .price
            .checked_mul(quantity)
            .and_then(|line| total.checked_add(line))
            .ok_or_else(|| ServiceError::validation("lines", "the order total is too large"))?;
        picked.push((goods, quantity));
    }
    if new.cash_points > total {
        return Err(ServiceError::validation(
            "cash_topup.points",
            "more than the order's total",
        ));
    }
    let expires_at = now + shop.pickup_hours * 3_600_000_000;
    let order: OrderRow = diesel::insert_into(orders::table)
        .values((
            orders::bank_id.eq(shop.bank_id),
            orders::shop_id.eq(shop.id),
            orders::member_id.eq(new.member_id),
            orders::status.eq(OrderStatus::Pending.as_str()),
            orders::total_points.eq(total),
            orders::cash_points.eq(new.cash_points),
            orders::cash_fen.eq(new.cash_fen),
            orders::pickup_code.eq(fresh_pickup_code(conn, shop.id)?),
            orders::placed_by.eq(new.placed_by),
            orders::on_behalf.eq(new.on_behalf),
            orders::expires_at.eq(expires_at),
            orders::created_at.eq(now),
        ))
        .returning(orders::all_columns)
        .get_result(conn)?;
    for (goods, quantity) in &picked {
        diesel::insert_into(order_lines::table)
            .values((
                order_lines::order_id.eq(order.id),
                order_lines::goods_id.eq(goods.id),
                order_lines::quantity.eq(quantity),
                order_lines::unit_price.eq(goods.price),
                order_lines::created_at.eq(now),
                order_lines::member_id.eq(new.member_id),
            ))
            .execute(conn)?;
    }
    let to_hold = total - new.cash_points;
    if to_hold > 0 {
        let memo = order_memo(
            &picked
                .iter()
                .map(|(g, q)| (g.name.clone(), *q))
                .collect::<Vec<_>>(),
        );
        let hold = holds::create_hold(
            conn,
            NewHold {
                account: &wallet,
                amount: Amount::from_minor(to_hold),
                memo: &memo,
                reference: Some(&format!("order:{}", order.id)),
                actor: new.placed_by,
                // Later than the order's own expiry, which releases it first.
                expires_at: expires_at + 86_400_000_000,
            },
            now,
        )
        .map_err(|err| match err {
            ServiceError::InsufficientFunds {
                available,
                requested,
                ..
            } => ServiceError::conflict(
                ConflictCode::InsufficientPoints,
                format!("the order needs {requested} points, only {available} are available"),
            ),
            other => other,
        })?;
        diesel::update(orders::table.find(order.id))
            .set(orders::hold_id.eq(hold.id))
            .execute(conn)?;
    }
    get_order(conn, order.id)
}

/// "2 × 洗衣液, 1 × 食用油": what the volunteer sees on the statement.
fn order_memo(lines: &[(String, i64)]) -> String {
    let text = lines
        .iter()
        .map(|(name, quantity)| format!("{quantity} × {name}"))
        .collect::<Vec<_>>()
        .join(", ");
    crate::db::rules::claims::truncate(
        &format!("积分超市兑换: {text}"),
        crate::domain::ledger::MAX_MEMO_CHARS,
    )
    .to_string()
}

pub fn get_order(conn: &mut Db, order_id: i64) -> ServiceResult<OrderRecord> {
    let order: OrderRow = orders::table
        .find(order_id)
        .select(OrderRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(ServiceError::NotFound("order"))?;
    let lines = order_lines::table
        .inner_join(crate::db::schema::goods::table)
        .filter(order_lines::order_id.eq(order_id))
        .order(order_lines::goods_id)
        .select((LineRow::as_select(), crate::db::schema::goods::name))
        .load(conn)?;
    Ok(OrderRecord { order, lines })
}

/// The pending order of a shop with this pickup code.
pub fn find_by_code(conn: &mut Db, shop_id: i64, code: &str) -> ServiceResult<i64> {
    orders::table
        .filter(orders::shop_id.eq(shop_id))
        .filter(orders::status.eq(OrderStatus::Pending.as_str()))
        .filter(orders::pickup_code.eq(code))
        .select(orders::id)
        .first(conn)
        .optional()?
        .ok_or(ServiceError::PickupTokenInvalid)
}

/// Moves a pending order to `to`, conditionally, or says it is no longer pending.
fn close(
    conn: &mut Db,
    order: &OrderRow,
    to: OrderStatus,
    actor: &str,
    now: i64,
) -> ServiceResult<()> {
    let mut query = diesel::update(
        orders::table
            .filter(orders::id.eq(order.id))
            .filter(orders::status.eq(OrderStatus::Pending.as_str())),
    )
    .into_boxed();
    if to == OrderStatus::Fulfilled {
        query = query.filter(orders::expires_at.gt(now));
    }
    let changed = query
        .set((
            orders::status.eq(to.as_str()),
            orders::closed_by.eq(actor),
            orders::closed_at.eq(now),
        ))
        .execute(conn)?;
    if changed == 0 {
        let current = get_order(conn, order.id)?.order;
        let status = if current.status == OrderStatus::Pending.as_str() {
            "expired"
        } else {
            &current.status
        };
        return Err(ServiceError::conflict(
            ConflictCode::OrderNotPending,
            format!("order {} is {status}", order.id),
        ));
    }
    Ok(())
}

/// Hands the goods over: captures the hold into a `redeem` entry and takes the goods off the shelf.
pub fn fulfil(conn: &mut Db, order_id: i64, actor: &str, now: i64) -> ServiceResult<OrderRecord> {
    let record = get_order(conn, order_id)?;
    let order = &record.order;
    close(conn, order, OrderStatus::Fulfilled, actor, now)?;
    if let Some(hold_id) = order.hold_id {
        let names: Vec<(String, i64)> = record
            .lines
            .iter()
            .map(|(l, n)| (n.clone(), l.quantity))
            .collect();
        let (_, entry) = holds::capture_hold(
            conn,
            Capture {
                bank_id: order.bank_id,
                hold_id,
                amount: None,
                memo: &order_memo(&names),
                actor,
            },
            now,
        )?;
        diesel::update(orders::table.find(order.id))
            .set(orders::entry_id.eq(entry.entry.id))
            .execute(conn)?;
    }
    for (line, _) in &record.lines {
        let goods = goods::get_goods(conn, line.goods_id)?;
        goods::record_movement(
            conn,
            Movement {
                goods: &goods,
                kind: MovementKind::Redemption,
                quantity: -line.quantity,
                donor_name: None,
                donor_value_fen: None,
                note: "",
                order_id: Some(order.id),
                actor,
            },
            now,
        )?;
    }
    get_order(conn, order_id)
}

/// Cancels (or expires) a pending order: the points hold is released and the goods go back.
pub fn cancel(
    conn: &mut Db,
    order_id: i64,
    to: OrderStatus,
    actor: &str,
    now: i64,
) -> ServiceResult<OrderRecord> {
    debug_assert!(matches!(to, OrderStatus::Cancelled | OrderStatus::Expired));
    let record = get_order(conn, order_id)?;
    let order = &record.order;
    close(conn, order, to, actor, now)?;
    if let Some(hold_id) = order.hold_id {
        holds::release_hold(conn, order.bank_id, hold_id, now)?;
    }
    for (line, _) in &record.lines {
        goods::unreserve(conn, line.goods_id, line.quantity)?;
    }
    get_order(conn, order_id)
}

/// Expires pending orders past their pickup deadline (the upkeep worker runs this).
pub fn expire_due(conn: &mut Db, now: i64, limit: i64) -> ServiceResult<usize> {
    let due: Vec<i64> = orders::table
        .filter(orders::status.eq(OrderStatus::Pending.as_str()))
        .filter(orders::expires_at.le(now))
        .order(orders::id)
        .limit(limit)
        .select(orders::id)
        .load(conn)?;
    for order_id in &due {
        cancel(conn, *order_id, OrderStatus::Expired, "system:expiry", now)?;
    }
    Ok(due.len())
}

pub struct OrderFilter {
    pub shop_id: Option<i64>,
    pub member_id: Option<i64>,
    pub status: Option<OrderStatus>,
    /// Closed (fulfilled/cancelled/expired) in [from, to), for the end-of-day list.
    pub closed_between: Option<(i64, i64)>,
    pub before_id: Option<i64>,
    pub limit: i64,
}

/// Newest first.
pub fn list(conn: &mut Db, filter: &OrderFilter) -> ServiceResult<Vec<OrderRecord>> {
    let mut query = orders::table.into_boxed();
    if let Some(shop_id) = filter.shop_id {
        query = query.filter(orders::shop_id.eq(shop_id));
    }
    if let Some(member_id) = filter.member_id {
        query = query.filter(orders::member_id.eq(member_id));
    }
    if let Some(status) = filter.status {
        query = query.filter(orders::status.eq(status.as_str()));
    }
    if let Some((from, to)) = filter.closed_between {
        query = query
            .filter(orders::closed_at.ge(from))
            .filter(orders::closed_at.lt(to));
    }
    if let Some(before) = filter.before_id {
        query = query.filter(orders::id.lt(before));
    }
    let ids: Vec<i64> = query
        .order(orders::id.desc())
        .limit(filter.limit)
        .select(orders::id)
        .load(conn)?;
    ids.into_iter().map(|id| get_order(conn, id)).collect()
}

pub fn status_of(order: &OrderRow) -> ServiceResult<OrderStatus> {
    stored(
        OrderStatus::parse(&order.status),
        "orders.status",
        &order.status,
    )
}
