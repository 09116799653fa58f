//! The counter's lists of a shop's orders: the pending list and the end-of-day list (日结).

use crate::db;
use crate::db::supermarket::orders::{OrderFilter, OrderRecord};
use crate::domain::access::Action;
use crate::domain::shop::OrderStatus;
use crate::error::ServiceResult;
use crate::service::access::Staff;
use crate::service::supermarket::shop_in_scope;
use crate::service::Store;

/// Most orders one day's list holds; a village shop fulfils far fewer in a day.
const MAX_ORDERS_PER_DAY: i64 = 10_000;

/// The shop's orders matching `filter`, newest first; the filter is narrowed to the shop.
pub fn shop_orders(
    store: &Store,
    staff: &Staff,
    shop_id: i64,
    filter: OrderFilter,
) -> ServiceResult<Vec<OrderRecord>> {
    let guard = staff.guard(Action::ReadLedger);
    let filter = OrderFilter {
        shop_id: Some(shop_id),
        ..filter
    };
    store.read(|conn| {
        shop_in_scope(conn, &guard, shop_id)?;
        db::supermarket::orders::list(conn, &filter)
    })
}

/// The orders the shop handed over between `from` and `to` (microseconds, `to` excluded).
pub fn fulfilled_between(
    store: &Store,
    staff: &Staff,
    shop_id: i64,
    (from, to): (i64, i64),
) -> ServiceResult<Vec<OrderRecord>> {
    let filter = OrderFilter {
        shop_id: Some(shop_id),
        member_id: None,
        status: Some(OrderStatus::Fulfilled),
        closed_between: Some((from, to)),
        before_id: None,
        limit: MAX_ORDERS_PER_DAY,
    };
    shop_orders(store, staff, shop_id, filter)
}
