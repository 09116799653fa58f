//! A member's own orders from the mini-program: placing one (stock set aside, points held until
//! pickup) and cancelling it before pickup.

use crate::db::idempotency::{self, KeyScope, Outcome};
use crate::db::supermarket::orders::{NewOrder, OrderFilter, OrderRecord};
use crate::db::{self, Db};
use crate::domain::shop::OrderStatus;
use crate::error::{ServiceError, ServiceResult};
use crate::service::{Idempotency, Store};

/// What the member asked for, already checked for shape (see `checked_lines`).
#[derive(Debug, Clone)]
pub struct PlaceOrderCommand {
    pub shop_id: i64,
    /// `(goods id, quantity)`, each goods once.
    pub lines: Vec<(i64, i64)>,
}

/// How a member appears as the author of their orders and the caller of their keys.
fn member_actor(member_id: i64) -> String {
    format!("member:{member_id}")
}

/// Places the member's order at a shop of their own bank: the goods are set aside and the points
/// held, in one transaction, or nothing is written. A retry with the same idempotency key
/// replays the first order. A shop of another bank is answered like a missing one.
pub fn place_my_order(
    store: &Store,
    member_id: i64,
    idempotency: &Idempotency,
    command: &PlaceOrderCommand,
    utc_offset_seconds: i64,
) -> ServiceResult<(OrderRecord, Outcome)> {
    let caller = member_actor(member_id);
    store.write(|conn| {
        let now = store.now();
        let shop = db::supermarket::shop::get_shop(conn, command.shop_id)?;
        if db::members::bank_of(conn, member_id)? != shop.bank_id {
            return Err(ServiceError::NotFound("shop"));
        }
        idempotency::once(
            conn,
            KeyScope::new(shop.bank_id, &caller),
            idempotency.key.as_deref(),
            &idempotency.fingerprint,
            now,
            |conn| {
                let new = NewOrder {
                    shop: &shop,
                    member_id,
                    lines: &command.lines,
                    placed_by: &caller,
                    on_behalf: false,
                    cash_points: 0,
                    cash_fen: 0,
                    utc_offset_seconds,
                };
                db::supermarket::orders::place(conn, new, now)
            },
        )
    })
}

/// Cancels the member's pending order: the held points and the goods are released at once.
pub fn cancel_my_order(store: &Store, member_id: i64, order_id: i64) -> ServiceResult<OrderRecord> {
    let actor = member_actor(member_id);
    store.write(|conn| {
        my_order(conn, member_id, order_id)?;
        db::supermarket::orders::cancel(conn, order_id, OrderStatus::Cancelled, &actor, store.now())
    })
}

/// One of the member's orders; anyone else's is answered like a missing one.
pub fn my_order(conn: &mut Db, member_id: i64, order_id: i64) -> ServiceResult<OrderRecord> {
    let record = db::supermarket::orders::get_order(conn, order_id)?;
    if record.order.member_id != member_id {
        return Err(ServiceError::NotFound("order"));
    }
    Ok(record)
}

/// The member's orders matching `filter`, newest first; the filter is narrowed to the member.
pub fn my_orders(
    store: &Store,
    member_id: i64,
    filter: OrderFilter,
) -> ServiceResult<Vec<OrderRecord>> {
    let filter = OrderFilter {
        member_id: Some(member_id),
        ..filter
    };
    store.read(|conn| db::supermarket::orders::list(conn, &filter))
}

pub fn get_my_order(store: &Store, member_id: i64, order_id: i64) -> ServiceResult<OrderRecord> {
    store.read(|conn| my_order(conn, member_id, order_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::testing::{points, Village};

    fn place(
        village: &Village,
        member_id: i64,
        command: &PlaceOrderCommand,
        key: Option<&str>,
    ) -> ServiceResult<(OrderRecord, Outcome)> {
        let idempotency = Idempotency {
            key: key.map(str::to_string),
            fingerprint: format!("{command:?}"),
        };
        place_my_order(&village.store, member_id, &idempotency, command, 0)
    }

    fn order_of(shop_id: i64, lines: &[(i64, i64)]) -> PlaceOrderCommand {
        PlaceOrderCommand {
            shop_id,
            lines: lines.to_vec(),
        }
    }

    #[test]
    fn a_members_order_holds_their_points_and_sets_the_goods_aside() {
        let village = Village::fresh();
        let shop = village.shop(false, 72);
        let (soap, oil) = (
            village.goods(&shop, "洗衣液 2kg", 20, 5),
            village.goods(&shop, "食用油 5L", 5, 3),
        );
        let member = village.member("王秀英");
        village.earn(member, 50);

        let (order, outcome) = place(
            &village,
            member,
            &order_of(shop.id, &[(soap, 2), (oil, 1)]),
            None,
        )
        .unwrap();

        assert_eq!(outcome, Outcome::Fresh);
        assert_eq!(order.order.status, OrderStatus::Pending.as_str());
        assert_eq!(order.order.placed_by, format!("member:{member}"));
        assert!(!order.order.on_behalf);
        assert_eq!(order.order.total_points, points(45));
        assert_eq!(order.lines.len(), 2);
        assert_eq!(village.balance(member, "POINTS"), points(50));
        assert_eq!(village.held(member), points(45));
        assert_eq!((village.stock(soap), village.stock(oil)), ((5, 2), (3, 1)));
    }

    #[test]
    fn an_order_beyond_the_available_points_takes_nothing() {
        let village = Village::fresh();
        let shop = village.shop(false, 72);
        let soap = village.goods(&shop, "洗衣液 2kg", 20, 5);
        let member = village.member("王秀英");
        village.earn(member, 50);
        place(&village, member, &order_of(shop.id, &[(soap, 2)]), None).unwrap();

        let refused = place(&village, member, &order_of(shop.id, &[(soap, 1)]), None).unwrap_err();

        assert_eq!(refused.code(), "insufficient_points");
        assert_eq!(village.held(member), points(40));
        assert_eq!(village.stock(soap), (5, 2));
    }

    #[test]
    fn a_retried_tap_under_the_same_key_replays_the_order() {
        let village = Village::fresh();
        let shop = village.shop(false, 72);
        let soap = village.goods(&shop, "洗衣液 2kg", 20, 5);
        let member = village.member("王秀英");
        village.earn(member, 50);
        let command = order_of(shop.id, &[(soap, 1)]);

        let (first, _) = place(&village, member, &command, Some("tap-1")).unwrap();
        let (again, outcome) = place(&village, member, &command, Some("tap-1")).unwrap();

        assert_eq!(outcome, Outcome::Replayed);
        assert_eq!(again.order.id, first.order.id);
        assert_eq!(again.order.pickup_code, first.order.pickup_code);
        assert_eq!(village.held(member), points(20));
        assert_eq!(village.stock(soap), (5, 1));
        let other = order_of(shop.id, &[(soap, 2)]);
        let reused = place(&village, member, &other, Some("tap-1")).unwrap_err();
        assert_eq!(reused.code(), "idempotency_conflict");
    }

    #[test]
    fn a_member_cancels_their_pending_order_and_gets_points_and_goods_back() {
        let village = Village::fresh();
        let shop = village.shop(false, 72);
        let soap = village.goods(&shop, "洗衣液 2kg", 20, 5);
        let member = village.member("王秀英");
        village.earn(member, 50);
        let (order, _) = place(&village, member, &order_of(shop.id, &[(soap, 2)]), None).unwrap();

        let cancelled = cancel_my_order(&village.store, member, order.order.id).unwrap();
        let again = cancel_my_order(&village.store, member, order.order.id).unwrap_err();

        assert_eq!(cancelled.order.status, OrderStatus::Cancelled.as_str());
        assert_eq!(cancelled.order.closed_by, Some(format!("member:{member}")));
        assert_eq!(again.code(), "order_not_pending");
        assert_eq!(village.held(member), 0);
        assert_eq!(village.stock(soap), (5, 0));
    }

    #[test]
    fn another_members_order_is_not_theirs_to_cancel() {
        let village = Village::fresh();
        let shop = village.shop(false, 72);
        let soap = village.goods(&shop, "洗衣液 2kg", 20, 5);
        let (owner, neighbour) = (village.member("王秀英"), village.member("李建国"));
        village.earn(owner, 50);
        let (order, _) = place(&village, owner, &order_of(shop.id, &[(soap, 2)]), None).unwrap();

        let refused = cancel_my_order(&village.store, neighbour, order.order.id).unwrap_err();

        assert_eq!(refused.code(), "not_found");
        assert_eq!(village.held(owner), points(40));
        assert_eq!(village.stock(soap), (5, 2));
    }

    #[test]
    fn a_shop_of_another_bank_is_answered_like_a_missing_one() {
        let village = Village::fresh();
        let shop = village.shop(false, 72);
        let soap = village.goods(&shop, "洗衣液 2kg", 20, 5);
        let stranger = village.member_of_neighbouring_bank("赵敏");

        let refused = place(&village, stranger, &order_of(shop.id, &[(soap, 1)]), None);
        let missing = place(
            &village,
            stranger,
            &order_of(shop.id + 1000, &[(soap, 1)]),
            None,
        );

        assert_eq!(refused.unwrap_err().code(), "not_found");
        assert_eq!(missing.unwrap_err().code(), "not_found");
        assert_eq!(village.stock(soap), (5, 0));
    }
}
